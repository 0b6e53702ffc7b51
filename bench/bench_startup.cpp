// bench_startup — what a cache costs a compiler's process start: startup_probe (a tiny
// compiler: register types, map the cache, look one table up, bind it, resolve one
// call, exit) timed as a whole process, fork + exec + exit, beside the same process
// with no cache and a process that exits at once.
//
// Caches, prepared before anything is timed, with N = 10, 1,000, 100,000 tables
// (--jdc_scale=small: 10 and 1,000): a pack of N tiny arenas (bench_caches.hpp), and a
// store holding that pack (LocalStore: index + packs/). The probe looks key_for(N / 2)
// up. The page cache is warm (every file was just written): this is a compiler's
// second start, not a cold boot.
//
// Benchmarks (wall-clock time of one process, spawn to reaped, set as manual time: the
// mean of the repetition's runs; counters wall_median_us and child_cpu_median_us, the
// medians of the runs' wall-clock time and of the child's user + system CPU time, from
// wait4):
//   BM_StartupExit          startup_probe --mode=exit: exec, dynamic linking, exit
//   BM_StartupNoCache       --mode=none: the same model built, the call resolved with
//                           the reference resolver (no cache)
//   BM_StartupPack/N        --mode=pack: MappedPack::open + find + verify + bind + lookup
//   BM_StartupStore/N       --mode=store: LocalStore::open + get + bind + lookup
// Every configuration is run once with --check (the cached answer must equal the
// reference resolver's) before timing; the binary exits with status 1 when a probe
// fails.
//
// Options besides Google Benchmark's:
//   --jdc_scale=small   caches of 10 and 1,000 tables only (bench/run.sh --smoke)
//   --jdc_runs=R        processes per repetition (default 40)
//   --jdc_probe=PATH    the probe (default: startup_probe beside this binary)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include "bench_caches.hpp"
#include "bench_support.hpp"
#include "bench_tables.hpp"

extern char** environ;

namespace {

using namespace jdc;
using namespace jdc::bench;
namespace fs = std::filesystem;

struct ProbeRun {
    bool ok = false;
    double wall_seconds = 0;
    double child_cpu_seconds = 0;
    std::string failure;
};

// Spawns the probe with stdout on /dev/null and waits for it.
ProbeRun run_probe(const std::string& probe, const std::vector<std::string>& args) {
    ProbeRun run;
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(probe.c_str()));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    const auto t0 = std::chrono::steady_clock::now();
    pid_t pid = 0;
    const int spawned = ::posix_spawn(&pid, probe.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) {
        run.failure = "cannot start " + probe + ": " + std::strerror(spawned);
        return run;
    }
    int status = 0;
    struct rusage usage {};
    if (::wait4(pid, &status, 0, &usage) != pid) {
        run.failure = "wait4 failed";
        return run;
    }
    run.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto seconds = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6; };
    run.child_cpu_seconds = seconds(usage.ru_utime) + seconds(usage.ru_stime);
    run.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!run.ok) run.failure = "the probe failed (status " + std::to_string(status) + "): " + probe;
    return run;
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const std::size_t mid = v.size() / 2;
    return v.size() % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

void BM_Startup(benchmark::State& state, const std::string& probe, const std::vector<std::string>& args) {
    std::vector<double> wall, cpu;
    for (auto _ : state) {
        const ProbeRun run = run_probe(probe, args);
        if (!run.ok) return fail(state, run.failure);
        state.SetIterationTime(run.wall_seconds);
        wall.push_back(run.wall_seconds);
        cpu.push_back(run.child_cpu_seconds);
    }
    // The manual time is the mean of the runs; a burst of other work on the machine
    // moves a mean more than a median, so the medians are counters of their own.
    state.counters["wall_median_us"] = median(wall) * 1e6;
    state.counters["child_cpu_median_us"] = median(cpu) * 1e6;
}

struct Cache {
    std::uint64_t tables = 0;
    fs::path pack;
    fs::path store;
};

std::optional<std::string> make_cache(Cache& c, std::uint64_t tables, const TinyArenas& arenas, const fs::path& dir) {
    c.tables = tables;
    c.pack = dir / ("pack-" + std::to_string(tables) + ".jdcp");
    c.store = dir / ("store-" + std::to_string(tables));
    if (auto e = write_tiny_pack(c.pack, tables, arenas)) return e;
    return make_store_from_pack(c.store, c.pack, tables);
}

std::string probe_beside_this_binary() {
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    return ec ? std::string("startup_probe") : (self.parent_path() / "startup_probe").string();
}

}  // namespace

int main(int argc, char** argv) {
    jdc::bench::settle_malloc();
    benchmark::Initialize(&argc, argv);
    bool small_scale = false;
    long runs = 40;
    std::string probe = probe_beside_this_binary();
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--jdc_scale=small") {
            small_scale = true;
        } else if (arg.rfind("--jdc_runs=", 0) == 0) {
            runs = std::strtol(arg.c_str() + 11, nullptr, 10);
            if (runs <= 0) {
                std::fprintf(stderr, "bench_startup: --jdc_runs takes a positive number\n");
                return 1;
            }
        } else if (arg.rfind("--jdc_probe=", 0) == 0) {
            probe = arg.substr(12);
        } else if (arg != "--jdc_scale=full") {
            std::fprintf(stderr, "bench_startup: unrecognized argument '%s'\n", argv[i]);
            return 1;
        }
    }
    const TempDir dir("jdc-bench-startup");
    if (!dir.ok()) return 1;
    TinyArenas arenas;
    std::vector<Cache> caches;
    const std::vector<std::uint64_t> sizes = small_scale ? std::vector<std::uint64_t>{10, 1'000}
                                                         : std::vector<std::uint64_t>{10, 1'000, 100'000};
    auto error = make_tiny_arenas(arenas);
    for (std::uint64_t n : sizes) {
        if (error) break;
        caches.emplace_back();
        error = make_cache(caches.back(), n, arenas, dir.path());
    }
    if (error) {
        std::fprintf(stderr, "bench_startup: setup failed: %s\n", error->c_str());
        return 1;
    }

    // name -> probe arguments; every one must run cleanly, and agree with the reference.
    std::vector<std::pair<std::string, std::vector<std::string>>> configs = {
        {"BM_StartupExit", {"--mode=exit"}},
        {"BM_StartupNoCache", {"--mode=none", "--key=5"}},
    };
    for (const Cache& c : caches) {
        const std::string key = "--key=" + std::to_string(c.tables / 2);
        configs.push_back({"BM_StartupPack/" + std::to_string(c.tables), {"--mode=pack", "--cache=" + c.pack.string(), key}});
        configs.push_back({"BM_StartupStore/" + std::to_string(c.tables), {"--mode=store", "--cache=" + c.store.string(), key}});
    }
    for (const auto& [name, args] : configs) {
        std::vector<std::string> checked = args;
        checked.push_back("--check");
        if (const ProbeRun run = run_probe(probe, checked); !run.ok) {
            std::fprintf(stderr, "bench_startup: %s: %s\n", name.c_str(), run.failure.c_str());
            return 1;
        }
    }
    for (const auto& [name, args] : configs) {
        const std::vector<std::string> a = args;
        benchmark::RegisterBenchmark(name.c_str(), [probe, a](benchmark::State& s) { BM_Startup(s, probe, a); })
            ->UseManualTime()
            ->Iterations(runs)
            ->Unit(benchmark::kMicrosecond);
    }
    const int status = run_benchmarks("bench_startup");
    benchmark::Shutdown();
    return status;
}
