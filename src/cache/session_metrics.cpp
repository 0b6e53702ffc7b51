#include "cache/session_metrics.hpp"

#include <algorithm>

#include "util/clock.hpp"

namespace jdc::detail {

void SessionMetrics::start() {
    std::lock_guard<std::mutex> guard(mutex_);
    session_ = {};
    in_session_ = true;
    started_ns_ = wall_clock_ns();
    ended_ns_ = 0;
    causes_.clear();
    other_cause_misses_ = 0;
    missed_tables_.clear();
    missed_tables_omitted_ = false;
}

bool SessionMetrics::end() {
    std::lock_guard<std::mutex> guard(mutex_);
    const bool was = in_session_;
    in_session_ = false;
    if (was) ended_ns_ = wall_clock_ns();
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

void SessionMetrics::count_miss(MissReason reason, std::uint64_t build_ns, std::string_view table, std::string_view detail) {
    std::lock_guard<std::mutex> guard(mutex_);
    ++session_.lookups;
    ++session_.misses;
    ++session_.misses_by_reason[static_cast<std::size_t>(reason)];
    session_.build_ns += build_ns;
    // What changed is worth keeping where it names an input that changes again and
    // again (a file, a type, a compiler); a damaged or stale entry's detail is an
    // error message, different every time.
    const bool names_input =
        reason == MissReason::source_changed || reason == MissReason::type_changed || reason == MissReason::compiler_changed;
    if (!names_input) detail = {};
    auto cause = causes_.find({reason, std::string(detail)});
    if (cause != causes_.end()) ++cause->second;
    else if (causes_.size() < kMaxMissCausesPerSession) causes_.emplace(std::pair{reason, std::string(detail)}, 1);
    else ++other_cause_misses_;
    if (missed_tables_omitted_) return;
    if (missed_tables_.size() == kMaxMissedTablesPerSession) {
        missed_tables_.clear();
        missed_tables_.shrink_to_fit();
        missed_tables_omitted_ = true;
        return;
    }
    missed_tables_.emplace_back(table);
}

CacheMetrics SessionMetrics::session() const {
    std::lock_guard<std::mutex> guard(mutex_);
    return session_;
}

SessionRecord SessionMetrics::record() const {
    std::lock_guard<std::mutex> guard(mutex_);
    SessionRecord r;
    r.metrics = session_;
    r.started_ns = started_ns_;
    r.ended_ns = in_session_ || ended_ns_ == 0 ? wall_clock_ns() : ended_ns_;
    for (const auto& [cause, misses] : causes_) r.causes.push_back({cause.first, cause.second, misses});
    std::stable_sort(r.causes.begin(), r.causes.end(), [](const MissCause& a, const MissCause& b) { return a.misses > b.misses; });
    r.other_cause_misses = other_cause_misses_;
    r.missed_tables = missed_tables_;
    std::sort(r.missed_tables.begin(), r.missed_tables.end());
    r.missed_tables.erase(std::unique(r.missed_tables.begin(), r.missed_tables.end()), r.missed_tables.end());
    r.missed_tables_omitted = missed_tables_omitted_;
    return r;
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
