#include "tools/cache_survey.hpp"

#include <algorithm>

#include "cache/metrics_report.hpp"

namespace jdc::tools {

Result<CacheSurvey> survey_cache(const LocalStore& store) {
    CacheSurvey s;
    s.directory = store.root();
    s.stats = store.stats();
    auto listing = store.list_files();
    if (!listing) return tl::unexpected(listing.error());
    s.listing = std::move(*listing);
    for (const IndexEntry& e : store.entries()) {
        ++(e.location == EntryLocation::loose ? s.loose_entries : s.packed_entries);
        if (s.oldest_ns == 0 || e.created_ns < s.oldest_ns) s.oldest_ns = e.created_ns;
        s.newest_ns = std::max(s.newest_ns, e.created_ns);
    }
    s.recorded = read_recorded_metrics(s.directory);
    s.zeroed_at_ns = detail::recorded_metrics_zeroed_at(s.directory);
    return s;
}

}  // namespace jdc::tools
