// Test support: running part of a test in a forked child and reading how it ended.
//
// Catch2 assertions must not run in a child (the parent owns the report), so a child
// body returns an exit code; the parent checks it. A child never returns into the
// test runner: it leaves with _exit, skipping atexit handlers and static destructors
// that belong to the parent.
#pragma once

#include <csignal>
#include <cstdlib>
#include <string>
#include <utility>

#include <grp.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace jdc::testing {

struct ChildOutcome {
    bool exited = false;
    int exit_code = -1;
    int signal = 0;  // the signal that ended it, when it did not exit

    bool ok() const noexcept { return exited && exit_code == 0; }
    std::string describe() const {
        return exited ? "exited with " + std::to_string(exit_code) : "killed by signal " + std::to_string(signal);
    }
};

inline ChildOutcome wait_for(pid_t pid) {
    int status = 0;
    ChildOutcome out;
    if (::waitpid(pid, &status, 0) != pid) return out;
    if (WIFEXITED(status)) {
        out.exited = true;
        out.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        out.signal = WTERMSIG(status);
    }
    return out;
}

// Forks; the child runs body() (returning an int exit code) and _exits with it.
template <class Body>
pid_t spawn(Body&& body) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        int code = 99;
        try {
            code = std::forward<Body>(body)();
        } catch (...) {
            code = 98;
        }
        ::_exit(code);
    }
    return pid;
}

template <class Body>
ChildOutcome run_in_child(Body&& body) {
    const pid_t pid = spawn(std::forward<Body>(body));
    if (pid < 0) return {};
    return wait_for(pid);
}

// The uid and gid of `nobody` on Debian: an unprivileged user, for permission tests
// run as root (root ignores file modes).
inline constexpr uid_t kNobody = 65534;

// In a child: become `nobody` when running as root (else stay: modes already apply).
// False if that failed.
inline bool drop_root() {
    if (::geteuid() != 0) return true;
    // Supplementary groups first (root's would stay otherwise), then gid, then uid.
    return ::setgroups(0, nullptr) == 0 && ::setgid(kNobody) == 0 && ::setuid(kNobody) == 0 && ::geteuid() == kNobody;
}

}  // namespace jdc::testing
