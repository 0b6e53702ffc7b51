// jdc (internal) — starting jdc-compactor in the background, as BuildCacheManager
// does at the end of a build session when compaction is due (compaction_due).
//
// Cache layer. The compactor is its own process so that a compiler never waits for
// it: the launcher runs `jdc-compactor --dir ROOT --once --detach --low-priority`,
// which forks, lets its child leave the session (setsid), lowers its priority (nice
// 19, idle I/O class) and compacts, and exits at once; the launcher reaps that first
// process, so no zombie is left behind whatever the compiler does next. At most one
// compactor runs per cache: the launcher does not start one while `compactor.lock`
// is held, and a compactor that finds it held exits. It may be killed at any moment
// (compactor.hpp).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "cache/cache_log.hpp"
#include "jdc/cache_config.hpp"
#include "jdc/error.hpp"
#include "jdc/local_store.hpp"

namespace jdc {

// The jdc-compactor to run: `configured` when not empty (it must be executable), else
// `jdc-compactor` in the directory of the running program, else the first one on PATH.
// nullopt when there is none.
std::optional<std::filesystem::path> find_compactor_executable(const std::filesystem::path& configured);

enum class LaunchOutcome : std::uint8_t {
    started,          // a detached compactor is running
    already_running,  // another process holds the cache's compactor.lock
    not_found,        // no executable (see find_compactor_executable)
};

struct CompactorLaunch {
    LaunchOutcome outcome;
    std::filesystem::path executable;  // what was (or would have been) run
};

// Starts a detached compactor on the cache at `cache_root` unless one is running.
// Its output goes to /dev/null unless `inherit_stderr`. Errors: io (spawn failed, or the
// program exited with a failure status before detaching).
Result<CompactorLaunch> launch_compactor(const std::filesystem::path& cache_root, const std::filesystem::path& configured_executable,
                                         bool inherit_stderr);

// Why the cache at `store` wants compacting, or nullopt: (1) at least `file_threshold`
// small loose entries (under 64 KiB: larger ones may be compressed files, which stay
// loose) and packs (each build session with misses writes one), which the compactor
// merges; (2) dead bytes (evicted or superseded copies) over a quarter of the packs'
// bytes (CompactionOptions::max_dead_percent), which only a rewrite returns to the
// disk; (3) the directory over its size limit. Never when `file_threshold` is 0.
// O(index capacity + packs); reads no arena. `fixed_bytes`: the store's
// budget().fixed_bytes when the caller has just measured it (a walk of the directory
// fewer), else measured here when needed.
std::optional<std::string> compaction_due(const LocalStore& store, std::uint64_t file_threshold,
                                          std::optional<std::uint64_t> fixed_bytes = std::nullopt);

// At the end of a build session: when compaction_due(store, config.compact_threshold,
// fixed_bytes) says so, starts the compactor beside the compiler, which does not wait
// for it. What happened is logged; a compactor that cannot be started is not an error.
void start_compactor_if_due(const LocalStore& store, const CacheConfig& config, const detail::CacheLog& log,
                            std::optional<std::uint64_t> fixed_bytes = std::nullopt);

}  // namespace jdc
