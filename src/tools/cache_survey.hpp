// What `jdc stats` reports, in every form (text, JSON, Prometheus): the store's index
// and files, and the build sessions' metrics recorded in the cache directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

#include "jdc/cache_records.hpp"
#include "jdc/local_store.hpp"

namespace jdc::tools {

struct CacheSurvey {
    std::filesystem::path directory;
    StoreStats stats;
    StoreListing listing;
    std::uint64_t loose_entries = 0, packed_entries = 0;
    std::uint64_t oldest_ns = 0, newest_ns = 0;  // by creation time; 0 without entries
    std::optional<RecordedMetrics> recorded;     // stats.json
    std::uint64_t zeroed_at_ns = 0;              // when `jdc stats --zero` last ran; 0: never
};

// Errors: io (listing the files).
Result<CacheSurvey> survey_cache(const LocalStore& store);

}  // namespace jdc::tools
