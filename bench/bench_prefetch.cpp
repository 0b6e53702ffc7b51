// bench_prefetch — predictive loading: what a warm build's lookups cost after the page
// cache lost the cache's files, with and without LocalStore::prefetch of the read
// history, beside the same build with a hot page cache.
//
// Fixture (built once, in a directory on a real filesystem: --jdc_dir, default the
// current directory; tmpfs keeps its files in memory and would measure nothing): a
// store of N entries (tests/support/arena_samples.hpp's arena_for(n, 4)), and a read
// history of a "build" that reads a random half of them in a random order; the store
// is compacted, so its pack follows that order (as after the sessions that wrote it).
//
// Benchmarks (each iteration is one warm build: open the store, get every key of the
// history, in order, through AccessMode::serve; manual time, the page cache handling
// before it untimed):
//   BM_WarmBuild/hot/N               the page cache holds the files
//   BM_WarmBuild/dropped/N           every file of the cache dropped from the page cache
//                                    first (fdatasync + posix_fadvise(POSIX_FADV_DONTNEED))
//   BM_WarmBuild/dropped_prefetch/N  the same, then LocalStore::prefetch(history) right
//                                    after open, as a build session's start does
// Counters: entries (read per build), pack_bytes.
// Reading the figure: dropped_prefetch / hot is what a warm build after a cold boot
// costs; dropped / hot without prefetch. Only the kernel decides whether readahead
// happens (a filesystem with no readahead, or a page cache that drops nothing, shows
// no difference).
//
// Options (besides Google Benchmark's):
//   --jdc_entries=N   entries in the store (default 4000)
//   --jdc_dir=DIR     where the fixture's temporary directory is made (default .)
//
// Exits with status 1 when the fixture cannot be built or a benchmark reports an error.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include "jdc/compactor.hpp"
#include "jdc/local_store.hpp"
#include "bench_caches.hpp"
#include "bench_support.hpp"
#include "storage/read_history.hpp"
#include "support/arena_samples.hpp"

namespace {

using namespace jdc;
namespace fs = std::filesystem;
using jdc::bench::fail;

struct Fixture {
    fs::path root;
    std::uint64_t entries = 0;
    std::vector<CacheKey> history;  // what the "build" reads, in order
    std::uint64_t pack_bytes = 0;
};

std::optional<std::string> make_fixture(Fixture& fx) {
    auto store = LocalStore::open(fx.root, jdc::bench::roomy_unmaintained_store_options());
    if (!store) return "open " + fx.root.string() + ": " + store.error().message;
    std::vector<std::vector<std::byte>> arenas;
    arenas.reserve(fx.entries);
    std::vector<PutRequest> puts;
    for (std::uint64_t n = 0; n < fx.entries; ++n) {
        arenas.push_back(testing::arena_for(n, 4));
        if (arenas.back().empty()) return "arena_for(" + std::to_string(n) + ") failed";
        puts.push_back({testing::key_for(n), arenas.back()});
    }
    if (auto r = store->put_packed(puts); !r) return "put_packed: " + r.error().message;
    std::vector<std::uint64_t> order(fx.entries);
    for (std::uint64_t n = 0; n < fx.entries; ++n) order[n] = n;
    std::mt19937_64 rng(17);
    std::shuffle(order.begin(), order.end(), rng);
    order.resize(std::max<std::uint64_t>(1, fx.entries / 2));
    for (std::uint64_t n : order) fx.history.push_back(testing::key_for(n));
    if (auto r = save_read_history(fx.root, store->temp_directory(), fx.history, 1); !r) return "save_read_history: " + r.error().message;
    CompactionOptions all;
    all.rewrite_all = true;
    auto report = compact_store(*store, all);
    if (!report) return "compact_store: " + report.error().message;
    if (!report->in_read_order) return "the compactor did not follow the read history";
    fx.pack_bytes = report->bytes_after;
    return std::nullopt;
}

// Writes back and drops from the page cache every file below `root`.
std::optional<std::string> drop_page_cache(const fs::path& root) {
    std::error_code ec;
    for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
        if (!it->is_regular_file()) continue;
        const int fd = ::open(it->path().c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return "open " + it->path().string();
        (void)::fdatasync(fd);
        const int r = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        ::close(fd);
        if (r != 0) return "posix_fadvise(DONTNEED) on " + it->path().string() + " failed";
    }
    if (ec) return "cannot list " + root.string() + ": " + ec.message();
    return std::nullopt;
}

enum class Cache { hot, dropped, dropped_prefetch };

void warm_build(benchmark::State& state, const Fixture& fx, Cache cache) {
    for (auto _ : state) {
        if (cache != Cache::hot)
            if (auto e = drop_page_cache(fx.root)) return fail(state, *e);
        const auto start = std::chrono::steady_clock::now();
        {
            auto store = LocalStore::open(fx.root, jdc::bench::roomy_unmaintained_store_options());
            if (!store) return fail(state, store.error().message);
            if (cache == Cache::dropped_prefetch) benchmark::DoNotOptimize(store->prefetch(fx.history).entries);
            for (const CacheKey& key : fx.history) {
                auto got = store->get(key);
                if (!got) return fail(state, "a history key missed: " + got.error().message);
                benchmark::DoNotOptimize(got->view().bytes().data());
            }
        }
        state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    state.counters["entries"] = static_cast<double>(fx.history.size());
    state.counters["pack_bytes"] = static_cast<double>(fx.pack_bytes);
}

}  // namespace

int main(int argc, char** argv) {
    jdc::bench::settle_malloc();
    benchmark::Initialize(&argc, argv);
    Fixture fx;
    fx.entries = 4000;
    fs::path parent = ".";
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg.rfind("--jdc_entries=", 0) == 0) {
            fx.entries = std::strtoull(arg.c_str() + 14, nullptr, 10);
            if (fx.entries == 0) {
                std::fprintf(stderr, "bench_prefetch: --jdc_entries wants a positive count\n");
                return 1;
            }
        } else if (arg.rfind("--jdc_dir=", 0) == 0 && arg.size() > 10) {
            parent = arg.substr(10);
        } else {
            std::fprintf(stderr, "bench_prefetch: unrecognized argument '%s'\n", argv[i]);
            return 1;
        }
    }
    std::string dir_template = (parent / "jdc-bench-prefetch-XXXXXX").string();
    if (::mkdtemp(dir_template.data()) == nullptr) {
        std::perror(("bench_prefetch: mkdtemp in " + parent.string()).c_str());
        return 1;
    }
    const fs::path dir = dir_template;
    fx.root = dir / "cache";
    int status = 0;
    if (auto error = make_fixture(fx)) {
        std::fprintf(stderr, "bench_prefetch: setup failed: %s\n", error->c_str());
        status = 1;
    } else {
        const std::string n = "/" + std::to_string(fx.entries);
        for (auto [name, cache] : {std::pair{"hot", Cache::hot}, std::pair{"dropped", Cache::dropped},
                                   std::pair{"dropped_prefetch", Cache::dropped_prefetch}}) {
            benchmark::RegisterBenchmark(("BM_WarmBuild/" + std::string(name) + n).c_str(),
                                         [&fx, cache = cache](benchmark::State& s) { warm_build(s, fx, cache); })
                ->UseManualTime()
                ->Unit(benchmark::kMillisecond);
        }
        status = jdc::bench::run_benchmarks("bench_prefetch");
    }
    benchmark::Shutdown();
    std::error_code ec;
    fs::remove_all(dir, ec);
    return status;
}
