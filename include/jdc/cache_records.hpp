// jdc — what build cache managers recorded in a cache directory, read back for tools
// (`jdc stats`, `jdc explain`).
//
// Cache layer. Both files are derived data, written by BuildCacheManager: a missing
// or unparsable file reads as nullopt, never as an error.
//   stats.json   lifetime totals and the last session's metrics, merged by every
//                manager at the end of its session
//   inputs.jdcl  one line per stored table: what it was stored with, and why it had
//                to be built (the inputs log: its lines are described in
//                src/cache/inputs_log.hpp, its records in src/cache/miss_record.hpp)
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jdc/cache_key.hpp"
#include "jdc/cache_metrics.hpp"
#include "jdc/export.hpp"

namespace jdc {

// stats.json.
struct RecordedMetrics {
    CacheMetrics lifetime;
    CacheMetrics last_session;
    std::uint64_t mean_build_ns = 0;
};
JDC_API std::optional<RecordedMetrics> read_recorded_metrics(const std::filesystem::path& cache_directory);

// One record of inputs.jdcl: what the table of one name was last stored with, and
// why it had to be built (the miss that stored it).
struct RecordedInputs {
    std::filesystem::path file;
    std::string name;
    CacheKey key;
    int version = 0;  // of the record; 0: written by an older jdc (then only the key and name are known)
    std::string compiler_version;
    std::string config_hash;  // 16 hex digits, as recorded
    std::string signature;    // "collide(Shape, Shape) -> bool"
    struct Domain {
        std::string type;      // the declared parameter type
        std::string digest;    // 16 hex digits
        std::uint64_t size = 0;
    };
    std::vector<Domain> domains;  // one per parameter
    bool methods_known = true;
    struct Method {
        std::string text;  // "area(Circle) -> f64"
        std::string module, file;
        std::uint64_t line = 0, column = 0;
    };
    std::vector<Method> methods;
    std::vector<std::pair<std::string, std::string>> sources;  // path -> content hash (32 hex)
    std::uint64_t build_ns = 0;
    std::uint64_t recorded_at_ns = 0;  // Unix ns; 0 for a table not built here (a remote hit)
    std::string miss_reason;           // to_string(MissReason); empty for a remote hit
    std::string miss_detail;           // what changed since the previous build of the table, in words
};
// The latest record whose key is `key` (a scan of the log: fine for a tool).
JDC_API std::optional<RecordedInputs> find_recorded_inputs(const std::filesystem::path& cache_directory, const CacheKey& key);
// The latest record of the table named `name`.
JDC_API std::optional<RecordedInputs> find_recorded_inputs(const std::filesystem::path& cache_directory, std::string_view name);

}  // namespace jdc
