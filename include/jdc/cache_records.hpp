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
    std::string compiler_version;
    std::string config_hash;  // 16 hex digits, as recorded
    std::string signature;    // 16 hex digits
    std::vector<std::pair<std::string, std::string>> sources;  // path -> content hash (32 hex)
    std::vector<std::pair<std::string, std::string>> types;    // type name -> structural hash (16 hex), small domains only
    std::uint64_t build_ns = 0;
    std::uint64_t recorded_at_ns = 0;  // Unix ns; 0 in records that predate the field
    std::string miss_reason;           // to_string(MissReason); empty in records that predate it
    std::string miss_detail;
};
// The latest record whose key is `key` (a scan of the log: fine for a tool).
JDC_API std::optional<RecordedInputs> find_recorded_inputs(const std::filesystem::path& cache_directory, const CacheKey& key);

}  // namespace jdc
