// jdc (internal) — what a build session does for the cache around its own work:
// predictive loading at its start, and at its end the read history, the inputs log
// within its share of the size limit, eviction when the session's files pushed the
// directory over its limit, and the background compactor when compaction is due.
//
// Cache layer. None of it can fail a build: what goes wrong is logged and left for
// the next session.
#pragma once

#include <mutex>
#include <vector>

#include "cache/cache_log.hpp"
#include "jdc/cache_config.hpp"
#include "jdc/cache_key.hpp"
#include "jdc/local_store.hpp"

namespace jdc::detail {

// The inputs log may take this share of the size limit (the rest of the cache's
// files are bounded by the index: the read history holds only indexed keys, the
// dependency state one record per source file, stats.json a few hundred bytes).
inline constexpr std::uint64_t kInputsLogShareDivisor = 8;

// The keys a session asked for, in the order it asked (repeats kept; the history
// keeps each key once). Thread-safe: lookups run on many threads.
class SessionReads {
public:
    void record(const CacheKey& key);
    std::vector<CacheKey> take();

private:
    std::mutex mutex_;
    std::vector<CacheKey> keys_;
};

// At a session's start, with config.prefetch: LocalStore::prefetch of the read history.
void prefetch_recorded_reads(LocalStore& store, const CacheConfig& config, const CacheLog& log);

// At a session's end, once its tables and files are written: saves the read history
// (this session's keys first, then the previous history's, only keys still indexed),
// trims the inputs log to its share of the limit, evicts if the directory's files
// put it over its limit, then starts the compactor if it is due.
void finish_session_upkeep(LocalStore& store, const CacheConfig& config, std::vector<CacheKey> reads, const CacheLog& log);

}  // namespace jdc::detail
