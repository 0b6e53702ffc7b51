// jdc — why a lookup in the build cache missed, as counted in the metrics and
// explained by BuildCacheManager::explain and `jdc explain`.
//
// Cache layer. A miss is explained by comparing the inputs recorded when a table of
// the same name was last stored (the inputs log, inputs.jdcl) with the inputs now:
// the first input that differs, in the order of MissReason below, is the reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "jdc/cache_key.hpp"
#include "jdc/export.hpp"

namespace jdc {

// Values index CacheMetrics::misses_by_reason; to_string() names them in reports and
// in stats.json, so their names are part of that file's format.
enum class MissReason : std::uint8_t {
    never_seen,         // no table of this name was ever stored
    source_changed,     // a source file (or one it imports) changed
    type_changed,       // a type definition the table depends on changed
    signature_changed,  // the generic function's declared signature changed
    config_changed,     // build flags / optimization settings changed
    compiler_changed,   // compiler version changed
    evicted,            // same inputs as last time, but the entry was evicted
    corrupt,            // the stored entry failed verification and was dropped
    stale,              // the stored entry no longer binds to the registry
    disabled,           // caching is off (JANUS_CACHE_DISABLE)
};
inline constexpr std::size_t kMissReasonCount = 10;
JDC_API std::string_view to_string(MissReason reason) noexcept;
// The reason's name in JSON and metrics: the enumerator's, snake_case ("source_changed").
JDC_API std::string_view json_name(MissReason reason) noexcept;

// What a lookup with given inputs would do, and why it would miss.
struct Explanation {
    bool hit = false;
    MissReason reason = MissReason::never_seen;
    std::string detail;  // e.g. "src/shapes.jn" or "type 'Circle'"
    CacheKey key;
};

}  // namespace jdc
