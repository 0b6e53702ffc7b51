#include "cache/session_metrics.hpp"

namespace jdc::detail {

void SessionMetrics::start() {
    std::lock_guard<std::mutex> guard(mutex_);
    session_ = {};
    in_session_ = true;
}

bool SessionMetrics::end() {
    std::lock_guard<std::mutex> guard(mutex_);
    const bool was = in_session_;
    in_session_ = false;
    return was;
}

void SessionMetrics::set_lifetime(const CacheMetrics& lifetime, std::uint64_t mean_build_ns) {
    std::lock_guard<std::mutex> guard(mutex_);
    lifetime_before_ = lifetime;
    mean_build_ns_ = mean_build_ns;
}

void SessionMetrics::count_hit(std::uint64_t load_ns, std::uint64_t bytes_read) {
    std::lock_guard<std::mutex> guard(mutex_);
    ++session_.lookups;
    ++session_.hits;
    session_.load_ns += load_ns;
    session_.bytes_read += bytes_read;
}

void SessionMetrics::count_miss(MissReason reason, std::uint64_t build_ns) {
    std::lock_guard<std::mutex> guard(mutex_);
    ++session_.lookups;
    ++session_.misses;
    ++session_.misses_by_reason[static_cast<std::size_t>(reason)];
    session_.build_ns += build_ns;
}

CacheMetrics SessionMetrics::session() const {
    std::lock_guard<std::mutex> guard(mutex_);
    return session_;
}

CacheMetrics SessionMetrics::lifetime() const {
    std::lock_guard<std::mutex> guard(mutex_);
    CacheMetrics m = lifetime_before_;
    if (in_session_) m += session_;
    return m;
}

std::uint64_t SessionMetrics::mean_build_ns() const {
    std::lock_guard<std::mutex> guard(mutex_);
    return mean_build_ns_;
}

}  // namespace jdc::detail
