#include "cache/compactor_launch.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
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
                            const_cast<char*>("--once"), const_cast<char*>("--detach"), nullptr};
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

void start_compactor_if_due(const LocalStore& store, const CacheConfig& config, const detail::CacheLog& log) {
    if (config.compact_threshold == 0) return;
    const std::uint64_t files = store.loose_entry_count() + store.stats().pack_count;
    if (files < config.compact_threshold) return;
    auto launched = launch_compactor(store.root(), config.compactor_path, config.verbose);
    if (!launched) log("cannot start the compactor: " + launched.error().message);
    else if (launched->outcome == LaunchOutcome::started)
        log("started " + launched->executable.string() + " in the background (" + std::to_string(files) + " loose entries and packs)");
    else if (launched->outcome == LaunchOutcome::not_found)
        log("cannot start the compactor: no executable '" + launched->executable.string() + "' (JANUS_CACHE_COMPACTOR)");
}

}  // namespace jdc
