#include "cache/compactor_launch.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jdc/compactor.hpp"
#include "storage/store_lock.hpp"

extern char** environ;

namespace jdc {
namespace fs = std::filesystem;

namespace {

constexpr const char* kCompactorName = "jdc-compactor";

bool is_executable_file(const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

std::optional<fs::path> beside_this_program() {
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (ec) return std::nullopt;
    const fs::path candidate = self.parent_path() / kCompactorName;
    if (is_executable_file(candidate)) return candidate;
    return std::nullopt;
}

std::optional<fs::path> on_path() {
    const char* path = std::getenv("PATH");
    if (path == nullptr) return std::nullopt;
    std::string_view rest(path);
    while (!rest.empty()) {
        const std::size_t colon = rest.find(':');
        const std::string_view dir = rest.substr(0, colon);
        const fs::path candidate = fs::path(dir.empty() ? "." : std::string(dir)) / kCompactorName;
        if (is_executable_file(candidate)) return candidate;
        if (colon == std::string_view::npos) break;
        rest.remove_prefix(colon + 1);
    }
    return std::nullopt;
}

// A compactor holds compactor.lock for its whole run; probing it takes the lock only
// if free and gives it back at once.
Result<bool> compactor_running(const fs::path& cache_root) {
    auto lock = StoreLock::for_file(compactor_lock_path(cache_root));
    if (!lock) return tl::unexpected(lock.error());
    ScopedStoreLock probe(**lock, ScopedStoreLock::Mode::try_only);
    if (!probe.owns() && !probe.failure().empty())
        return make_error(ErrorCode::io, "cannot lock '" + compactor_lock_path(cache_root).string() + "': " + probe.failure());
    return !probe.owns();
}

}  // namespace

std::optional<fs::path> find_compactor_executable(const fs::path& configured) {
    if (!configured.empty()) {
        if (is_executable_file(configured)) return configured;
        return std::nullopt;
    }
    if (auto beside = beside_this_program()) return beside;
    return on_path();
}

Result<CompactorLaunch> launch_compactor(const fs::path& cache_root, const fs::path& configured_executable, bool inherit_stderr) {
    const auto executable = find_compactor_executable(configured_executable);
    if (!executable) return CompactorLaunch{LaunchOutcome::not_found, configured_executable.empty() ? fs::path(kCompactorName) : configured_executable};
    auto running = compactor_running(cache_root);
    if (!running) return tl::unexpected(running.error());
    if (*running) return CompactorLaunch{LaunchOutcome::already_running, *executable};

    const std::string exe = executable->string(), root = cache_root.string();
    std::vector<char*> argv{const_cast<char*>(exe.c_str()), const_cast<char*>("--dir"), const_cast<char*>(root.c_str()),
                            const_cast<char*>("--once"), const_cast<char*>("--detach"), const_cast<char*>("--low-priority"), nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    if (!inherit_stderr) posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    const int err = ::posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (err != 0) return make_error(ErrorCode::io, "cannot start '" + exe + "': " + std::strerror(err));

    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return make_error(ErrorCode::io, "'" + exe + "' failed to start in the background (status " + std::to_string(status) + ")");
    return CompactorLaunch{LaunchOutcome::started, *executable};
}

std::optional<std::string> compaction_due(const LocalStore& store, std::uint64_t file_threshold, std::optional<std::uint64_t> fixed_bytes) {
    if (file_threshold == 0) return std::nullopt;
    // Loose entries from this size on may be compressed files, which stay loose.
    const std::uint64_t small = CompressionPolicy::for_storage().min_size;
    std::uint64_t small_loose = 0, loose_bytes = 0, packed_entries = 0, packed_bytes = 0;
    for (const IndexEntry& e : store.entries()) {
        if (e.location == EntryLocation::loose) {
            loose_bytes += e.size;
            if (e.size < small) ++small_loose;
        } else {
            ++packed_entries;
            packed_bytes += e.size;
        }
    }
    std::uint64_t packs = 0, pack_bytes = 0;
    std::error_code ec;
    for (fs::directory_iterator it(store.packs_directory(), ec), end; !ec && it != end; it.increment(ec)) {
        struct stat st {};
        if (it->path().extension() != ".jdcp" || ::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        ++packs;
        pack_bytes += static_cast<std::uint64_t>(st.st_size);
    }
    if (small_loose + packs >= file_threshold)
        return std::to_string(small_loose) + " small loose entries and " + std::to_string(packs) + " packs (threshold " +
               std::to_string(file_threshold) + ")";
    // What the live entries need in packs, at most (kPackBytesPerEntry over-counts the
    // slots and key copies): the rest of the packs' bytes is dead.
    const std::uint64_t live = packed_bytes + packed_entries * kPackBytesPerEntry;
    const std::uint64_t dead = pack_bytes > live ? pack_bytes - live : 0;
    if (dead * 100 > pack_bytes * CompactionOptions{}.max_dead_percent)
        return std::to_string(dead) + " of the packs' " + std::to_string(pack_bytes) + " bytes are evicted or superseded copies";
    const std::uint64_t on_disk = (fixed_bytes ? *fixed_bytes : store.budget().fixed_bytes) + pack_bytes + loose_bytes;
    if (on_disk > store.options().max_size_bytes)
        return "the directory takes " + std::to_string(on_disk) + " bytes, over its limit of " + std::to_string(store.options().max_size_bytes);
    return std::nullopt;
}

void start_compactor_if_due(const LocalStore& store, const CacheConfig& config, const detail::CacheLog& log,
                            std::optional<std::uint64_t> fixed_bytes) {
    const auto due = compaction_due(store, config.compact_threshold, fixed_bytes);
    if (!due) return;
    auto launched = launch_compactor(store.root(), config.compactor_path, config.verbose);
    if (!launched) log("cannot start the compactor: " + launched.error().message);
    else if (launched->outcome == LaunchOutcome::started)
        log("started " + launched->executable.string() + " in the background: " + *due);
    else if (launched->outcome == LaunchOutcome::not_found)
        log("cannot start the compactor: no executable '" + launched->executable.string() + "' (JANUS_CACHE_COMPACTOR)");
}

}  // namespace jdc
