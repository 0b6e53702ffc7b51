// jdc — the build cache's counters: of one build session, or summed over many.
//
// Cache layer. BuildCacheManager::session_metrics() and lifetime_metrics() return
// them, the build report prints them, and stats.json in the cache directory keeps the
// lifetime totals and the last session's (read back by read_recorded_metrics in
// cache_records.hpp, for `jdc stats`).
#pragma once

#include <array>
#include <cstdint>

#include "jdc/export.hpp"
#include "jdc/miss_reason.hpp"

namespace jdc {

struct JDC_API CacheMetrics {
    std::uint64_t lookups = 0, hits = 0, misses = 0;
    std::array<std::uint64_t, kMissReasonCount> misses_by_reason{};
    std::uint64_t build_ns = 0;  // time in builders (misses)
    std::uint64_t load_ns = 0;   // time serving hits (lookup, verify, bind)
    std::uint64_t bytes_read = 0, bytes_written = 0;
    std::uint64_t evictions = 0, corrupt_drops = 0, stale_drops = 0, store_errors = 0;
    // Writes of derived data that failed (stats.json, the dependency state, the inputs
    // log): best-effort, never a reason to fail a build; counted and logged.
    std::uint64_t derived_errors = 0;
    // The remote tier (all zero without one). A remote hit also counts in `hits`, its
    // time in load_ns. Rejects: values that failed verification, the size cap or the
    // name check, never used. Errors and timeouts each switched the remote off.
    std::uint64_t remote_hits = 0, remote_misses = 0, remote_rejects = 0;
    std::uint64_t remote_errors = 0, remote_timeouts = 0;
    std::uint64_t remote_writes = 0, remote_bytes_in = 0, remote_bytes_out = 0;
    std::uint64_t remote_ns = 0;  // time spent waiting for the remote (fetches and writes)

    double hit_ratio() const noexcept { return lookups == 0 ? 0.0 : double(hits) / double(lookups); }
    // Hits times the mean build time measured on misses, minus the time hits took.
    // `fallback_build_ns` is used when there were no misses to measure.
    std::int64_t time_saved_ns(std::uint64_t fallback_build_ns) const noexcept;
    CacheMetrics& operator+=(const CacheMetrics& o) noexcept;
};

}  // namespace jdc
