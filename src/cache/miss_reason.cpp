#include "jdc/miss_reason.hpp"

namespace jdc {

// These names are keys of stats.json's "misses_by_reason": changing one loses its count
// in the files already written.
std::string_view to_string(MissReason reason) noexcept {
    switch (reason) {
        case MissReason::never_seen: return "never seen";
        case MissReason::source_changed: return "source changed";
        case MissReason::type_changed: return "type changed";
        case MissReason::signature_changed: return "signature changed";
        case MissReason::config_changed: return "config changed";
        case MissReason::compiler_changed: return "compiler version changed";
        case MissReason::evicted: return "evicted";
        case MissReason::corrupt: return "corrupt";
        case MissReason::stale: return "stale";
        case MissReason::disabled: return "cache disabled";
        case MissReason::methods_changed: return "methods changed";
    }
    return "unknown";
}

// The names of every JSON output (stats.json, reports, `jdc ... --json`, history.jsonl)
// and of Prometheus labels: stable identifiers, unlike to_string's words.
std::string_view json_name(MissReason reason) noexcept {
    switch (reason) {
        case MissReason::never_seen: return "never_seen";
        case MissReason::source_changed: return "source_changed";
        case MissReason::type_changed: return "type_changed";
        case MissReason::signature_changed: return "signature_changed";
        case MissReason::config_changed: return "config_changed";
        case MissReason::compiler_changed: return "compiler_changed";
        case MissReason::evicted: return "evicted";
        case MissReason::corrupt: return "corrupt";
        case MissReason::stale: return "stale";
        case MissReason::disabled: return "disabled";
        case MissReason::methods_changed: return "methods_changed";
    }
    return "unknown";
}

}  // namespace jdc
