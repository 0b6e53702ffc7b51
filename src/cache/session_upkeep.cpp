#include "cache/session_upkeep.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>

#include "cache/compactor_launch.hpp"
#include "cache/inputs_log.hpp"
#include "storage/read_history.hpp"
#include "util/clock.hpp"
#include "util/report_format.hpp"

namespace jdc::detail {

void SessionReads::record(const CacheKey& key) {
    std::lock_guard<std::mutex> guard(mutex_);
    // A session that asks for more keys than a history holds gains nothing from the rest.
    if (keys_.size() < kReadHistoryMaxKeys) keys_.push_back(key);
}

std::vector<CacheKey> SessionReads::take() {
    std::lock_guard<std::mutex> guard(mutex_);
    return std::exchange(keys_, {});
}

void prefetch_recorded_reads(LocalStore& store, const CacheConfig& config, const CacheLog& log) {
    if (!config.prefetch) return;
    const std::vector<CacheKey> history = load_read_history(store.root());
    const std::uint64_t start = steady_ns();
    const PrefetchReport r = store.prefetch(history);
    if (log.on() && !history.empty())
        log("prefetch: " + std::to_string(r.entries) + " of the " + std::to_string(history.size()) + " tables the last sessions read (" +
            format_bytes(r.bytes) + " in " + std::to_string(r.ranges) + " ranges; " + std::to_string(r.not_packed) +
            " loose or gone) asked of the kernel in " + format_duration_ns(steady_ns() - start));
}

void finish_session_upkeep(LocalStore& store, const CacheConfig& config, std::vector<CacheKey> reads, const CacheLog& log) {
    const auto indexed = [&](const CacheKey& k) { return store.find(k).has_value(); };
    const std::vector<CacheKey> previous = load_read_history(store.root());
    const std::vector<CacheKey> history = merge_read_history(reads, previous, indexed);
    // A build that read the tables the last one read leaves the file as it is
    // (written_at_ns says when the list last changed): with several threads, the order
    // of a session's reads varies from build to build anyway.
    const auto same_keys = [&] {
        if (history.size() != previous.size()) return false;
        if (history == previous) return true;
        const std::unordered_set<CacheKey, CacheKeyHash> before(previous.begin(), previous.end());  // both lists hold each key once
        return std::all_of(history.begin(), history.end(), [&](const CacheKey& k) { return before.count(k) != 0; });
    };
    if (!same_keys())
        if (auto saved = save_read_history(store.root(), store.temp_directory(), history, wall_clock_ns()); !saved)
            log("cannot save the read history: " + saved.error().message);

    const std::uint64_t limit = store.options().max_size_bytes;
    auto trimmed = InputsLog::trim(store.root(), limit / kInputsLogShareDivisor, [&](std::string_view key_hex) {
        const auto key = CacheKey::from_hex(key_hex);
        return key && indexed(*key);
    });
    if (!trimmed) log("cannot trim the inputs log: " + trimmed.error().message);
    else if (*trimmed) log("trimmed the inputs log to an eighth of the size limit (" + format_bytes(limit / kInputsLogShareDivisor) + ")");

    // The session's own files (stats, dependency state, history, inputs log) count too.
    std::optional<std::uint64_t> fixed_bytes;  // measured once, for eviction and the compactor's due check
    if (store.options().automatic_maintenance) {
        const SizeBudget budget = store.budget();
        fixed_bytes = budget.fixed_bytes;
        if (budget.total() > limit) {
            if (auto evicted = store.evict(); !evicted) log("cannot evict: " + evicted.error().message);
            fixed_bytes.reset();  // eviction changed the directory
        }
    }
    start_compactor_if_due(store, config, log, fixed_bytes);
}

}  // namespace jdc::detail
