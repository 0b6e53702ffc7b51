#include "jdc/cache_metrics.hpp"

namespace jdc {

std::int64_t CacheMetrics::time_saved_ns(std::uint64_t fallback_build_ns) const noexcept {
    const double mean_build = misses > 0 && build_ns > 0 ? double(build_ns) / double(misses) : double(fallback_build_ns);
    return static_cast<std::int64_t>(double(hits) * mean_build) - static_cast<std::int64_t>(load_ns);
}

CacheMetrics& CacheMetrics::operator+=(const CacheMetrics& o) noexcept {
    lookups += o.lookups;
    hits += o.hits;
    misses += o.misses;
    for (std::size_t i = 0; i < kMissReasonCount; ++i) misses_by_reason[i] += o.misses_by_reason[i];
    build_ns += o.build_ns;
    load_ns += o.load_ns;
    bytes_read += o.bytes_read;
    bytes_written += o.bytes_written;
    evictions += o.evictions;
    corrupt_drops += o.corrupt_drops;
    stale_drops += o.stale_drops;
    store_errors += o.store_errors;
    derived_errors += o.derived_errors;
    remote_hits += o.remote_hits;
    remote_misses += o.remote_misses;
    remote_rejects += o.remote_rejects;
    remote_errors += o.remote_errors;
    remote_timeouts += o.remote_timeouts;
    remote_writes += o.remote_writes;
    remote_bytes_in += o.remote_bytes_in;
    remote_bytes_out += o.remote_bytes_out;
    remote_ns += o.remote_ns;
    return *this;
}

}  // namespace jdc
