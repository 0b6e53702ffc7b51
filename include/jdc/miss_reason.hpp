// jdc — why a lookup in the build cache missed, as counted in the metrics and
// explained by BuildCacheManager::explain and `jdc explain`.
//
// Cache layer. A miss is explained by comparing the inputs recorded when a table of
// the same name was last stored (the inputs log, inputs.jdcl) with the inputs now
// (src/cache/miss_explanation.hpp gives the order in which they are compared).
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
    source_changed,     // a source file the table depends on by its bytes changed (TableInputs::sources)
    type_changed,       // a declared parameter's domain changed: a type gained, lost or redefined
    signature_changed,  // the generic function's declared signature changed
    config_changed,     // build flags / optimization settings changed
    compiler_changed,   // compiler version changed
    evicted,            // same inputs as last time, but the entry was evicted
    corrupt,            // the stored entry failed verification and was dropped
    stale,              // the stored entry no longer binds to the registry
    disabled,           // caching is off (JANUS_CACHE_DISABLE)
    methods_changed,    // a method added, removed, or moved (another module, line or column)
};
inline constexpr std::size_t kMissReasonCount = 11;
JDC_API std::string_view to_string(MissReason reason) noexcept;
// The reason's name in JSON and metrics: the enumerator's, snake_case ("source_changed").
JDC_API std::string_view json_name(MissReason reason) noexcept;

// What a lookup with given inputs would do, and why it would miss.
struct Explanation {
    bool hit = false;
    MissReason reason = MissReason::never_seen;
    std::string detail;  // e.g. "`Circle` gained subtype `Disk`"
    CacheKey key;
};

}  // namespace jdc
