// jdc-compactor — the compactor as its own process (include/jdc/compactor.hpp).
//
//   jdc-compactor --dir D --once      one compaction, then exit (what the build cache
//                                     manager starts, with --detach)
//   jdc-compactor --dir D             compact, then again every --interval seconds,
//                                     until SIGINT or SIGTERM
//
// With --detach the program forks: the first process exits 0 at once (after checking
// the directory, so a launcher still sees a bad one as a failure) and the child,
// in a session of its own, compacts. With --low-priority it runs at the lowest CPU
// priority (nice 19) and in the idle I/O class (it gets the disk when nobody else
// wants it), as the build cache manager starts it. A compactor that finds another
// one running on the same cache does nothing and exits 0. It may be killed at any
// moment; the next run finishes the work.
// Exit codes: 0 done (or nothing to do), 2 usage or I/O error.
// --json prints each compaction's report as one JSON document per line (jdc optimize
// --json's keys).
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <csignal>
#include <iostream>
#include <thread>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "jdc/compactor.hpp"
#include "tools/tool_support.hpp"
#include "util/json_text.hpp"

namespace {

using namespace jdc::tools;

std::atomic<bool> g_stop{false};

void request_stop(int) { g_stop.store(true); }

// Returns false in the process that is to exit now (the parent).
bool detach_or_exit(int& exit_code) {
    const pid_t pid = ::fork();
    if (pid < 0) {
        std::cerr << "jdc-compactor: cannot fork: " << std::strerror(errno) << "\n";
        exit_code = kExitUsage;
        return false;
    }
    if (pid > 0) {
        exit_code = kExitOk;
        return false;
    }
    ::setsid();  // no longer in the compiler's session: its terminal's signals do not reach us
    return true;
}

// nice 19 and the idle I/O class (ioprio_set(2), which glibc does not wrap). Best
// effort: where either is refused, the compactor runs as it is.
void lower_priority() {
    (void)::setpriority(PRIO_PROCESS, 0, 19);
    constexpr int kWhoProcess = 1, kClassIdle = 3, kClassShift = 13;  // linux/ioprio.h
    (void)::syscall(SYS_ioprio_set, kWhoProcess, 0, kClassIdle << kClassShift);
}

int compact_once(jdc::LocalStore& store, bool quiet, bool as_json) {
    jdc::CompactionOptions options;
    options.lock_mode = jdc::CompactorLockMode::try_only;
    auto report = jdc::compact_store(store, options);
    if (!report) {
        std::cerr << "jdc-compactor: " << report.error().message << "\n";
        return kExitUsage;
    }
    if (quiet) return kExitOk;
    if (as_json) {
        auto body = compaction_report_json(*report);
        body["cache_directory"] = store.root().string();
        // One line per run: a long-running compactor's output is a JSON Lines stream.
        std::cout << jdc::detail::dump_json(json_document(std::move(body))) << std::endl;
    } else {
        print_compaction_report(std::cout, *report);
    }
    return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"jdc-compactor: packs, merges and re-optimizes the arenas of a jdc cache directory while compilers use it",
                 "jdc-compactor"};
    app.set_version_flag("--version", version_line("jdc-compactor"));
    std::string dir_option;
    bool once = false, detach = false, quiet = false, low_priority = false, as_json = false;
    unsigned interval_seconds = 60;
    app.add_option("--dir", dir_option,
                   "Cache directory (default: JANUS_CACHE_DIR, else the nearest .janus_cache/ from the working directory up)");
    app.add_flag("--once", once, "Compact once and exit");
    app.add_option("--interval", interval_seconds, "Seconds between compactions without --once")
        ->capture_default_str()
        ->check(CLI::Range(1u, 86400u));
    app.add_flag("--detach", detach, "Run in the background: return at once, compact in a detached child");
    app.add_flag("--low-priority", low_priority, "Run at nice 19 in the idle I/O class (how builds start it)");
    app.add_flag("-q,--quiet", quiet, "Print nothing but errors");
    app.add_flag("--json", as_json, "Print each compaction's report as one line of JSON");
    if (auto rc = parse_command_line(app, argc, argv)) return *rc;

    auto config = tool_config(dir_option);
    if (!config) {
        std::cerr << "jdc-compactor: " << config.error().message << "\n";
        return kExitUsage;
    }
    if (auto r = require_cache_directory(*config); !r) {
        std::cerr << "jdc-compactor: " << r.error().message << "\n";
        return kExitUsage;
    }
    int exit_code = kExitOk;
    if (detach && !detach_or_exit(exit_code)) return exit_code;
    if (low_priority) lower_priority();

    auto store = open_cache_for_tool(*config);
    if (!store) {
        std::cerr << "jdc-compactor: " << store.error().message << "\n";
        return kExitUsage;
    }
    if (once) return compact_once(*store, quiet, as_json);

    std::signal(SIGINT, request_stop);
    std::signal(SIGTERM, request_stop);
    while (!g_stop.load()) {
        if (int rc = compact_once(*store, quiet, as_json); rc != kExitOk) return rc;
        for (unsigned waited = 0; waited < interval_seconds * 10 && !g_stop.load(); ++waited)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return kExitOk;
}
