// jdc (internal) — cache metrics as people and programs read them: the build report
// (text and JSON) and stats.json, the totals kept in the cache directory.
//
// Cache layer. The remote tier's counters are reported here with the rest: in the
// text report as two lines, in JSON as a "remote" object, and in stats.json as a
// "remote" object in each totals object once there are any (older files have none:
// they read as zero). stats.json is derived data: unreadable means "no totals yet".
//
// stats.json: {"schema_version": 2, "lifetime": M, "last_session": M, "mean_build_ns": n,
//   ["zeroed_at_ns": n]} where M is
//   {"lookups", "hits", "misses", "misses_by_reason" {json_name(MissReason): n},
//    "hit_ratio", "build_ns", "load_ns", "bytes_read", "bytes_written", "evictions",
//    "corrupt_drops", "stale_drops", "store_errors", "derived_errors", ["remote": R]}
//   and R is {"hits", "misses", "rejects", "errors", "timeouts", "writes", "bytes_in",
//   "bytes_out", "ns"}. Every manager merges its session into it under stats.lock.
//   Files without a schema_version (1) named reasons by to_string ("source changed"):
//   they are still read.
//
// history.jsonl: one SessionRecord per line, appended at the end of every session
// under stats.lock (format-spec/cache-directory-v1.md, section 4). Bounded: when it
// holds more than 2 x kHistorySessions lines it is rewritten with the last
// kHistorySessions. A line that does not parse (a writer killed mid-line) is skipped.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cache/session_metrics.hpp"
#include "jdc/cache_metrics.hpp"
#include "jdc/cache_records.hpp"
#include "jdc/local_store.hpp"

namespace jdc::detail {

// The version of every JSON document the library and the tools write for programs
// (reports, stats.json, history lines, `jdc ... --json`): raised when a key changes
// meaning or goes away, not when one is added.
inline constexpr int kJsonSchemaVersion = 2;
// Sessions history.jsonl keeps (at least, and at most twice as many).
inline constexpr std::size_t kHistorySessions = 100;

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

// Adds the session to the totals in <cache_directory>/stats.json (zero when it is
// missing or unreadable), records it as the last session, appends it to
// history.jsonl, and returns the new totals. Under <cache_directory>/stats.lock,
// since other processes end sessions too; stats.json is staged in tmp/ and renamed
// into place. Errors: io (stats.json; the history is derived data: a failure to
// append to it is not an error).
Result<RecordedMetrics> add_session_to_stats(const std::filesystem::path& cache_directory, const SessionRecord& session);

// Sets the totals of stats.json to zero (`jdc stats --zero`), keeping the mean build
// time (time saved is estimated from it) and noting when. The history is kept: it is
// a record of sessions, not a counter. Errors: io.
Result<void> zero_recorded_metrics(const std::filesystem::path& cache_directory);

// The counters as JSON objects: keys snake_case, misses_by_reason by json_name.
nlohmann::json metrics_json(const CacheMetrics& m);
nlohmann::json remote_metrics_json(const CacheMetrics& m);

// history.jsonl, oldest first: at most `last` sessions (the newest). A missing file
// is an empty history.
std::vector<SessionRecord> read_session_history(const std::filesystem::path& cache_directory, std::size_t last = kHistorySessions);
nlohmann::json session_record_json(const SessionRecord& r);
std::optional<SessionRecord> session_record_from_json(const nlohmann::json& j);

// When stats.json's totals were last zeroed (Unix ns); 0 when never.
std::uint64_t recorded_metrics_zeroed_at(const std::filesystem::path& cache_directory);

}  // namespace jdc::detail
