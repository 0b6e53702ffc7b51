// jdc (internal) — cache metrics as people and programs read them: the build report
// (text and JSON) and stats.json, the totals kept in the cache directory.
//
// Cache layer. The remote tier's counters are reported here with the rest: in the
// text report as two lines, in JSON as a "remote" object, and in stats.json as a
// "remote" object in each totals object once there are any (older files have none:
// they read as zero). stats.json is derived data: unreadable means "no totals yet".
//
// stats.json: {"lifetime": M, "last_session": M, "mean_build_ns": n} where M is
//   {"lookups", "hits", "misses", "misses_by_reason" {to_string(MissReason): n},
//    "hit_ratio", "build_ns", "load_ns", "bytes_read", "bytes_written", "evictions",
//    "corrupt_drops", "stale_drops", "store_errors", "derived_errors", ["remote": R]}
//   and R is {"hits", "misses", "rejects", "errors", "timeouts", "writes", "bytes_in",
//   "bytes_out", "ns"}. Every manager merges its session into it under stats.lock.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "jdc/cache_metrics.hpp"
#include "jdc/cache_records.hpp"
#include "jdc/local_store.hpp"

namespace jdc::detail {

// What a build report shows besides the metrics.
struct ReportContext {
    CacheMetrics session;
    CacheMetrics lifetime;
    std::uint64_t fallback_build_ns = 0;  // time_saved_ns() when the session built nothing
    bool enabled = true;
    std::string disabled_by;              // when not enabled: who turned caching off, if known
    std::string unusable_reason;          // when not enabled: why the cache directory could not be used at all
    std::string read_only_reason;         // when enabled but nothing is written: why
    std::filesystem::path directory;
    std::optional<StoreStats> store;      // when enabled
    struct Remote {
        std::string endpoint;    // RemoteEndpoint::describe(): no password
        bool read_only = false;
        std::string off_reason;  // empty while on
    };
    std::optional<Remote> remote;         // when one is configured
};

// BuildCacheManager::generateBuildReport's text and build_report_json's object.
void write_build_report(std::ostream& out, const ReportContext& report);
std::string build_report_json(const ReportContext& report);

// Adds `session` to the totals in <cache_directory>/stats.json (zero when it is
// missing or unreadable), records it as the last session, and returns the new
// totals. Under <cache_directory>/stats.lock, since other processes end sessions
// too; the file is staged in tmp/ and renamed into place. Errors: io.
Result<RecordedMetrics> add_session_to_stats(const std::filesystem::path& cache_directory, const CacheMetrics& session);

}  // namespace jdc::detail
