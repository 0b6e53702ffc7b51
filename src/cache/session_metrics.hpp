// jdc (internal) — the counters of the running build session, and the lifetime totals
// they are added to.
//
// Cache layer. Every part of the cache layer that sees an event counts it here: the
// manager (hits, misses, drops), the write-behind queue (bytes written, store errors)
// and the remote tier (its own counters). Thread-safe: lookups run on many threads.
#pragma once

#include <cstdint>
#include <mutex>

#include "jdc/cache_metrics.hpp"

namespace jdc::detail {

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
    void count_miss(MissReason reason, std::uint64_t build_ns);
    // Any other change, under the same lock.
    template <class Change>
    void update(Change&& change) {
        std::lock_guard<std::mutex> guard(mutex_);
        change(session_);
    }

    CacheMetrics session() const;
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
};

}  // namespace jdc::detail
