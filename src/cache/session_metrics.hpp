// jdc (internal) — the counters of the running build session, and the lifetime totals
// they are added to.
//
// Cache layer. Every part of the cache layer that sees an event counts it here: the
// manager (hits, misses, drops), the write-behind queue (bytes written, store errors)
// and the remote tier (its own counters). Thread-safe: lookups run on many threads.
//
// Besides the counters, a session notes what its misses were about (SessionRecord):
// which tables missed and the causes (reason and detail, e.g. "source_changed" of
// "src/core/math.jn"). Both are bounded, so that a cold build of 10,000 tables keeps a
// few kilobytes: the history of sessions (metrics_report.hpp) is for the misses that
// recur in incremental builds, where they are few.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jdc/cache_metrics.hpp"

namespace jdc::detail {

// Tables named per session at most: above this the session rebuilt so much (a cold
// build, a change everything depends on) that which tables missed says nothing.
inline constexpr std::size_t kMaxMissedTablesPerSession = 64;
// Distinct causes (reason, detail) per session at most; the rest are counted together.
inline constexpr std::size_t kMaxMissCausesPerSession = 32;

struct MissCause {
    MissReason reason = MissReason::never_seen;
    std::string detail;  // what changed, as the miss explanation says it; may be empty
    std::uint64_t misses = 0;
};

// One build session, as history.jsonl keeps it.
struct SessionRecord {
    CacheMetrics metrics;
    std::uint64_t started_ns = 0, ended_ns = 0;  // Unix ns
    std::vector<MissCause> causes;               // most misses first
    std::uint64_t other_cause_misses = 0;        // misses whose cause did not fit in `causes`
    std::vector<std::string> missed_tables;      // sorted; empty when more than kMaxMissedTablesPerSession missed
    bool missed_tables_omitted = false;          // more tables missed than are named
};

class SessionMetrics {
public:
    // A new session: its counters start at zero.
    void start();
    // Ends the session; false when none was started.
    bool end();
    // The totals recorded in the cache directory, without the running session, and the
    // mean build time recorded with them: read when a session starts, and again when
    // it ends (with that session added).
    void set_lifetime(const CacheMetrics& lifetime, std::uint64_t mean_build_ns);

    void count_hit(std::uint64_t load_ns, std::uint64_t bytes_read = 0);
    // A miss of the table `table`, built in `build_ns`; `detail` says what changed.
    void count_miss(MissReason reason, std::uint64_t build_ns, std::string_view table, std::string_view detail);
    // Any other change, under the same lock.
    template <class Change>
    void update(Change&& change) {
        std::lock_guard<std::mutex> guard(mutex_);
        change(session_);
    }

    CacheMetrics session() const;
    // The session with what its misses were about, ended now if it still runs.
    SessionRecord record() const;
    // The persisted totals, with this session added while it runs.
    CacheMetrics lifetime() const;
    // The mean build time of earlier sessions: time_saved_ns()'s fallback.
    std::uint64_t mean_build_ns() const;

private:
    mutable std::mutex mutex_;
    CacheMetrics session_;
    CacheMetrics lifetime_before_;  // persisted totals when the session started
    std::uint64_t mean_build_ns_ = 0;
    bool in_session_ = false;
    std::uint64_t started_ns_ = 0, ended_ns_ = 0;
    std::map<std::pair<MissReason, std::string>, std::uint64_t> causes_;
    std::uint64_t other_cause_misses_ = 0;
    std::vector<std::string> missed_tables_;
    bool missed_tables_omitted_ = false;
};

}  // namespace jdc::detail
