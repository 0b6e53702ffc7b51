// bench_compaction — what the compactor gains and costs on a generated cache of loose
// arenas (default 2,000; tests/support/arena_samples.hpp's arena_for(n, 4), distinct
// per entry): bytes and lookup speed before and after, and the run itself.
//
// Fixtures (built once, before any benchmark, in a temp dir under /tmp, removed at exit):
// two identical stores of N loose entries; the second is compacted once (that run's
// report is printed: bytes before/after, on-disk bytes, time, time holding the lock).
//
// Benchmarks (N = entries):
//   BM_GetLoose/N      LocalStore::get of the loose store's entries, cycling over all keys
//   BM_GetPacked/N     the same keys from the compacted store (one pack)
//   BM_OpenLoose/N     LocalStore::open + ~LocalStore of the loose store
//   BM_OpenPacked/N    the same for the compacted store (maps its pack)
//   BM_Compact/N       compact_store of a fresh loose store (one iteration per repetition:
//                      the store is rebuilt, untimed, before each)
// Counters: entries; for BM_Compact bytes_before/after (file sizes), disk_before/after
// (allocated blocks), lock_ms (the commit's time under the store lock).
//
// Options of this binary (besides Google Benchmark's):
//   --jdc_entries=N   entries per store (default 2000)
//
// Exits with status 1 when a fixture cannot be built or a benchmark reports an error.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "jdc/compactor.hpp"
#include "jdc/local_store.hpp"
#include "bench_caches.hpp"
#include "bench_support.hpp"
#include "support/arena_samples.hpp"

namespace {

using namespace jdc;
namespace fs = std::filesystem;

constexpr std::uint32_t kImplementations = 4;
using jdc::bench::fail;

struct Fixture {
    fs::path dir;
    std::uint64_t entries = 0;
    std::vector<std::vector<std::byte>> arenas;
    fs::path loose_root, packed_root;
    CompactionReport first_run;
};

std::optional<std::string> fill(const fs::path& root, const Fixture& fx) {
    auto store = LocalStore::open(root, jdc::bench::roomy_unmaintained_store_options());
    if (!store) return "open " + root.string() + ": " + store.error().message;
    std::vector<PutRequest> puts;
    for (std::uint64_t n = 0; n < fx.entries; ++n) puts.push_back({testing::key_for(n), fx.arenas[n]});
    if (auto r = store->put_batch(puts); !r) return "put_batch: " + r.error().message;
    return std::nullopt;
}

std::optional<std::string> make_fixture(Fixture& fx) {
    for (std::uint64_t n = 0; n < fx.entries; ++n) {
        fx.arenas.push_back(testing::arena_for(n, kImplementations));
        if (fx.arenas.back().empty()) return "arena_for(" + std::to_string(n) + ") failed";
    }
    fx.loose_root = fx.dir / "loose";
    fx.packed_root = fx.dir / "packed";
    if (auto e = fill(fx.loose_root, fx)) return e;
    if (auto e = fill(fx.packed_root, fx)) return e;
    auto store = LocalStore::open(fx.packed_root, jdc::bench::roomy_unmaintained_store_options());
    if (!store) return store.error().message;
    auto report = compact_store(*store);
    if (!report) return "compact_store: " + report.error().message;
    if (report->entries_packed != fx.entries) return "the compactor packed " + std::to_string(report->entries_packed) + " entries";
    fx.first_run = *report;
    return std::nullopt;
}

void get_all(benchmark::State& state, const fs::path& root, const Fixture& fx, EntryLocation want) {
    auto store = LocalStore::open(root, jdc::bench::roomy_unmaintained_store_options());
    if (!store) return fail(state, store.error().message);
    std::uint64_t n = 0;
    for (auto _ : state) {
        auto got = store->get(testing::key_for(n));
        if (!got || got->location() != want || got->view().bytes().size() != fx.arenas[n].size())
            return fail(state, "entry " + std::to_string(n) + " not served as expected");
        benchmark::DoNotOptimize(got->view().bytes().data());
        n = n + 1 == fx.entries ? 0 : n + 1;
    }
    state.counters["entries"] = static_cast<double>(fx.entries);
}

void open_store(benchmark::State& state, const fs::path& root, const Fixture& fx) {
    for (auto _ : state) {
        auto store = LocalStore::open(root, jdc::bench::roomy_unmaintained_store_options());
        if (!store) return fail(state, store.error().message);
        benchmark::DoNotOptimize(store->stats().index.live_count);
    }
    state.counters["entries"] = static_cast<double>(fx.entries);
}

void compact(benchmark::State& state, const Fixture& fx) {
    int run = 0;
    CompactionReport last;
    for (auto _ : state) {
        state.PauseTiming();
        const fs::path root = fx.dir / ("compact-" + std::to_string(run++));
        if (auto e = fill(root, fx)) return fail(state, *e);
        auto store = LocalStore::open(root, jdc::bench::roomy_unmaintained_store_options());
        if (!store) return fail(state, store.error().message);
        state.ResumeTiming();
        auto report = compact_store(*store);
        state.PauseTiming();
        if (!report || report->entries_packed != fx.entries) return fail(state, "compaction failed");
        last = *report;
        std::error_code ec;
        fs::remove_all(root, ec);
        state.ResumeTiming();
    }
    state.counters["entries"] = static_cast<double>(fx.entries);
    state.counters["bytes_before"] = static_cast<double>(last.bytes_before);
    state.counters["bytes_after"] = static_cast<double>(last.bytes_after);
    state.counters["disk_before"] = static_cast<double>(last.disk_bytes_before);
    state.counters["disk_after"] = static_cast<double>(last.disk_bytes_after);
    state.counters["lock_ms"] = static_cast<double>(last.lock_held_ns) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    Fixture fx;
    fx.entries = 2000;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg.rfind("--jdc_entries=", 0) == 0) {
            fx.entries = std::strtoull(arg.c_str() + 14, nullptr, 10);
            if (fx.entries == 0) {
                std::fprintf(stderr, "bench_compaction: --jdc_entries wants a positive count\n");
                return 1;
            }
        } else {
            std::fprintf(stderr, "bench_compaction: unrecognized argument '%s'\n", argv[i]);
            return 1;
        }
    }
    char dir_template[] = "/tmp/jdc-bench-compaction-XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) {
        std::perror("mkdtemp");
        return 1;
    }
    fx.dir = dir_template;
    int status = 0;
    if (auto error = make_fixture(fx)) {
        std::fprintf(stderr, "bench_compaction: setup failed: %s\n", error->c_str());
        status = 1;
    } else {
        const CompactionReport& r = fx.first_run;
        std::fprintf(stderr,
                     "bench_compaction: %llu loose entries: %llu -> %llu bytes (files), %llu -> %llu bytes on disk; "
                     "compaction %.1f ms, store lock held %.1f ms\n",
                     static_cast<unsigned long long>(fx.entries), static_cast<unsigned long long>(r.bytes_before),
                     static_cast<unsigned long long>(r.bytes_after), static_cast<unsigned long long>(r.disk_bytes_before),
                     static_cast<unsigned long long>(r.disk_bytes_after), r.duration_ns / 1e6, r.lock_held_ns / 1e6);
        const std::string n = "/" + std::to_string(fx.entries);
        benchmark::RegisterBenchmark(("BM_GetLoose" + n).c_str(), [&](benchmark::State& s) { get_all(s, fx.loose_root, fx, EntryLocation::loose); });
        benchmark::RegisterBenchmark(("BM_GetPacked" + n).c_str(), [&](benchmark::State& s) { get_all(s, fx.packed_root, fx, EntryLocation::packed); });
        benchmark::RegisterBenchmark(("BM_OpenLoose" + n).c_str(), [&](benchmark::State& s) { open_store(s, fx.loose_root, fx); });
        benchmark::RegisterBenchmark(("BM_OpenPacked" + n).c_str(), [&](benchmark::State& s) { open_store(s, fx.packed_root, fx); });
        benchmark::RegisterBenchmark(("BM_Compact" + n).c_str(), [&](benchmark::State& s) { compact(s, fx); })
            ->Iterations(1)
            ->Unit(benchmark::kMillisecond);
        status = jdc::bench::run_benchmarks("bench_compaction");
    }
    benchmark::Shutdown();
    std::error_code ec;
    fs::remove_all(fx.dir, ec);
    return status;
}
