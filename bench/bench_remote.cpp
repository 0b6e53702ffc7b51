// bench_remote — the remote tier (Redis) against local hits, on loopback.
//
// The binary starts its own redis-server (tests/support/redis_server.hpp: a free
// loopback port and a unix socket in a temp dir, no persistence) and keeps the local
// stores in a temp dir under /dev/shm (tmpfs; /tmp when there is none); both are
// removed at exit. tmpfs, because creating files on this VM's ext4 costs 0.1-1 ms with
// a spread of +-90 % (bench/RESULTS.md, BM_StorePut/tmp), which would hide what the
// remote adds to a miss or a remote hit; local hits read from the page cache either
// way. Tables are bench_arena's size classes (seed 20261124): small 8, medium 64,
// large 1,000 entries.
//
// Benchmarks (<via> is tcp or unix, <size> small, medium or large):
//   Round trip:
//     BM_RemotePing/<via>              PING: the floor of every remote operation
//   One arena, storage layer:
//     BM_LocalGet/<size>               LocalStore::get: index + open + read + verify (a local hit)
//     BM_RemoteGet/<via>/<size>        RemoteStore::get: GETRANGE round trip, the value read straight into its buffer, + verify (a remote hit)
//     BM_RemotePut/<via>/<size>        RemoteStore::put: verify + SET round trip (one write at a time)
//     BM_RemotePutBatch/<via>/<size>   RemoteStore::put_batch: pipelined SETs in one round trip, as
//                                      many as the manager's write-behind batches hold (64, or fewer
//                                      to stay within kRemoteBatchBytes; counter entries); time per batch
//   Through the build cache manager (what a compiler sees):
//     BM_ManagerLocalHit/<size>        getOrBuildDispatchTable served by the local store
//     BM_ManagerRemoteHit/<via>/<size> served by the remote: local miss + fetch + verify + bind +
//                                      write-back to the local store (the local entry is removed,
//                                      outside the timing, before every iteration)
//     BM_ManagerMiss/<where>/<size>    a miss: key + build_arena of a prebuilt table + local put
//                                      (+ the remote fetch that misses and the queued remote write
//                                      when <where> is tcp or unix; local: no remote). Fixed 256
//                                      iterations, each a new key (new file, new Redis key): one full
//                                      write-behind batch, sent by the 256th miss.
// Counters: bytes (arena size); bytes_per_second and items_per_second are the throughput.
//
// The binary exits with status 1 when a fixture cannot be built (e.g. no redis-server)
// or a benchmark meets an error.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "jdc/arena_builder.hpp"
#include "jdc/build_cache_manager.hpp"
#include "jdc/local_store.hpp"
#include "jdc/remote_store.hpp"
#include "cache/remote_tier.hpp"
#include "support/random_model.hpp"
#include "support/redis_server.hpp"

namespace {

using namespace jdc;
namespace fs = std::filesystem;

constexpr std::uint64_t kModelSeed = 20261124;  // as bench_arena and bench_store
constexpr std::int64_t kMissIterations = 256;  // detail::kRemoteBatchEntries: one batch per run
constexpr std::size_t kPutBatch = 64;
const BuildIdentity kIdentity{"bench_remote", 1};

bool g_failed = false;

void fail(benchmark::State& state, const std::string& why) {
    g_failed = true;
    state.SkipWithError(why.c_str());
}

struct SizedTable {
    std::string size_name;
    testing::RandomModel model;
    TableInputs inputs;
    CacheKey key;  // the manager's key for `inputs`
    std::vector<std::byte> arena;
};

struct Transport {
    std::string name;  // tcp, unix
    std::string url;
    std::unique_ptr<RemoteStore> store;
};

// A directory under /dev/shm (or /tmp), removed with everything in it.
struct ScratchDir {
    fs::path path;
    ScratchDir() {
        for (const char* base : {"/dev/shm", "/tmp"}) {
            std::string tmpl = std::string(base) + "/jdc-bench-remote-XXXXXX";
            if (::mkdtemp(tmpl.data()) != nullptr) {
                path = tmpl;
                return;
            }
        }
        throw std::runtime_error("cannot create a directory under /dev/shm or /tmp");
    }
    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
};

struct Fixtures {
    std::unique_ptr<testing::RedisServer> server;
    ScratchDir dir;
    std::vector<std::unique_ptr<SizedTable>> tables;
    std::vector<Transport> transports;
    std::optional<LocalStore> local;
    std::unique_ptr<BuildCacheManager> local_manager;  // every table stored locally
    // One manager per transport for remote hits, and one per <where> for misses.
    std::vector<std::pair<std::string, std::unique_ptr<BuildCacheManager>>> remote_managers;
    std::vector<std::pair<std::string, std::unique_ptr<BuildCacheManager>>> miss_managers;
};

TableBuilder builder_of(const SizedTable& t) {
    const DispatchTable table = t.model.table;
    return [table](const TableInputs&, const TypeRegistry&) -> Result<BuiltTable> { return BuiltTable{table, {}}; };
}

TableBuilder no_builder() {
    return [](const TableInputs& in, const TypeRegistry&) -> Result<BuiltTable> {
        return make_error(ErrorCode::invalid_argument, "unexpected miss for " + in.name);
    };
}

Result<std::unique_ptr<BuildCacheManager>> make_manager(const fs::path& dir, const std::string& remote_url) {
    CacheConfig c;
    c.cache_directory = dir;
    c.max_cache_size_bytes = std::uint64_t{4} << 30;
    c.remote_url = remote_url;
    // Each remote hit is written to the local store at once, as it was measured before
    // write-behind existed, so that a timed iteration can remove it again.
    c.write_through = true;
    auto m = BuildCacheManager::create(c, kIdentity);
    if (!m) return tl::unexpected(m.error());
    auto owned = std::make_unique<BuildCacheManager>(std::move(*m));
    if (auto ok = owned->startBuildSession(); !ok) return tl::unexpected(ok.error());
    return owned;
}

// ---------------------------------------------------------------------------------

void set_size_counters(benchmark::State& state, const SizedTable& t) {
    state.counters["bytes"] = static_cast<double>(t.arena.size());
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * t.arena.size()));
    state.SetItemsProcessed(state.iterations());
}

void BM_RemotePing(benchmark::State& state, Transport* via) {
    for (auto _ : state)
        if (auto ok = via->store->ping(); !ok) return fail(state, ok.error().message);
}

void BM_LocalGet(benchmark::State& state, LocalStore* local, const SizedTable* t) {
    for (auto _ : state) {
        auto got = local->get(t->key);
        if (!got) return fail(state, got.error().message);
        std::uint32_t entries = got->view().entry_count();
        benchmark::DoNotOptimize(entries);
    }
    set_size_counters(state, *t);
}

void BM_RemoteGet(benchmark::State& state, Transport* via, const SizedTable* t) {
    for (auto _ : state) {
        auto got = via->store->get(t->key);
        if (!got) return fail(state, got.error().message);
        std::uint32_t entries = got->view().entry_count();
        benchmark::DoNotOptimize(entries);
    }
    set_size_counters(state, *t);
}

void BM_RemotePut(benchmark::State& state, Transport* via, const SizedTable* t) {
    for (auto _ : state)
        if (auto ok = via->store->put({t->key, t->arena, 0}); !ok) return fail(state, ok.error().message);
    set_size_counters(state, *t);
}

void BM_RemotePutBatch(benchmark::State& state, Transport* via, const SizedTable* t) {
    // As the manager's write-behind batches: at most kPutBatch entries and kRemoteBatchBytes.
    const std::size_t entries = std::clamp<std::size_t>(detail::kRemoteBatchBytes / t->arena.size(), 1, kPutBatch);
    std::vector<PutRequest> batch;
    for (std::size_t i = 0; i < entries; ++i) batch.push_back({{t->key.hi, t->key.lo ^ (i + 1)}, t->arena, 0});
    for (auto _ : state)
        if (auto ok = via->store->put_batch(batch); !ok) return fail(state, ok.error().message);
    state.counters["bytes"] = static_cast<double>(t->arena.size());
    state.counters["entries"] = static_cast<double>(entries);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * entries * t->arena.size()));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * entries));
}

void BM_ManagerLocalHit(benchmark::State& state, BuildCacheManager* m, const SizedTable* t) {
    const TableBuilder builder = no_builder();
    for (auto _ : state) {
        auto table = m->getOrBuildDispatchTable(t->inputs, t->model.registry, builder);
        if (!table) return fail(state, table.error().message);
        if (table->origin() != TableOrigin::cache) return fail(state, "not a local hit");
        std::uint32_t entries = table->view().entry_count();
        benchmark::DoNotOptimize(entries);
    }
    set_size_counters(state, *t);
}

void BM_ManagerRemoteHit(benchmark::State& state, BuildCacheManager* m, const SizedTable* t) {
    const TableBuilder builder = no_builder();
    for (auto _ : state) {
        state.PauseTiming();
        const bool removed = m->store()->remove(t->key).value_or(false);
        state.ResumeTiming();
        if (!removed) return fail(state, "the local entry was not there to remove");
        auto table = m->getOrBuildDispatchTable(t->inputs, t->model.registry, builder);
        if (!table) return fail(state, table.error().message);
        if (table->origin() != TableOrigin::remote) return fail(state, "not a remote hit");
        std::uint32_t entries = table->view().entry_count();
        benchmark::DoNotOptimize(entries);
    }
    set_size_counters(state, *t);
    const CacheMetrics metrics = m->session_metrics();
    if (metrics.remote_errors + metrics.remote_timeouts != 0) fail(state, "the remote failed during the benchmark");
}

void BM_ManagerMiss(benchmark::State& state, BuildCacheManager* m, const SizedTable* t) {
    const TableBuilder builder = builder_of(*t);
    TableInputs inputs = t->inputs;
    static std::uint64_t next_source = 1'000'000;  // a new key per iteration, across all runs
    for (auto _ : state) {
        inputs.sources[0].content_hash = {next_source++, 42};
        auto table = m->getOrBuildDispatchTable(inputs, t->model.registry, builder);
        if (!table) return fail(state, table.error().message);
        if (table->origin() != TableOrigin::built) return fail(state, "not a miss");
    }
    set_size_counters(state, *t);
    const CacheMetrics metrics = m->session_metrics();
    if (metrics.remote_errors + metrics.remote_timeouts != 0) fail(state, "the remote failed during the benchmark");
}

// ---------------------------------------------------------------------------------

template <class Fn>
void add(const std::string& name, Fn fn, std::int64_t iterations = 0) {
    auto* b = benchmark::RegisterBenchmark(name.c_str(), fn)->Unit(benchmark::kMicrosecond);
    if (iterations > 0) b->Iterations(iterations);
}

std::optional<std::string> make_fixtures(Fixtures& fx) {
    try {
        fx.server = std::make_unique<testing::RedisServer>();
    } catch (const std::exception& e) {
        return std::string(e.what());
    }
    const std::pair<const char*, testing::RandomModelOptions> sizes[] = {
        {"small", testing::small_table_options()},
        {"medium", testing::medium_table_options()},
        {"large", testing::large_table_options()},
    };
    auto local_manager = make_manager(fx.dir.path / "local", "");
    if (!local_manager) return "local manager: " + local_manager.error().message;
    fx.local_manager = std::move(*local_manager);
    for (const auto& [name, options] : sizes) {
        auto t = std::make_unique<SizedTable>();
        t->size_name = name;
        t->model = testing::make_random_model(kModelSeed, options);
        t->inputs.name = std::string("bench::") + name;
        t->inputs.signature = t->model.table.signature;
        t->inputs.sources = {{"src/" + std::string(name) + ".jn", {1, 2}}};
        t->inputs.methods = method_inputs(t->model.table);
        t->key = fx.local_manager->cache_key(t->inputs, t->model.registry);
        auto first = fx.local_manager->getOrBuildDispatchTable(t->inputs, t->model.registry, builder_of(*t));
        if (!first) return "first lookup of " + t->size_name + ": " + first.error().message;
        t->arena.assign(first->view().bytes().begin(), first->view().bytes().end());
        fx.tables.push_back(std::move(t));
    }
    // The storage-level local store is the local manager's own directory.
    auto local = LocalStore::open(fx.dir.path / "local");
    if (!local) return "local store: " + local.error().message;
    fx.local.emplace(std::move(*local));

    for (const auto& [name, url] : {std::pair<std::string, std::string>{"tcp", fx.server->url()}, {"unix", fx.server->unix_url()}}) {
        auto endpoint = parse_remote_url(url);
        if (!endpoint) return endpoint.error().message;
        auto store = RemoteStore::connect(*endpoint);
        if (!store) return store.error().message;
        Transport via{name, url, std::make_unique<RemoteStore>(std::move(*store))};
        for (const auto& t : fx.tables)
            if (auto ok = via.store->put({t->key, t->arena, 0}); !ok) return ok.error().message;
        auto hit_manager = make_manager(fx.dir.path / ("remote-hit-" + name), url);
        if (!hit_manager) return "remote manager: " + hit_manager.error().message;
        // A first remote hit fills the local store, so that every timed iteration
        // starts by removing an entry that is there.
        for (const auto& t : fx.tables) {
            auto first = (*hit_manager)->getOrBuildDispatchTable(t->inputs, t->model.registry, no_builder());
            if (!first || first->origin() != TableOrigin::remote) return "first remote hit of " + t->size_name + " failed";
        }
        fx.remote_managers.emplace_back(name, std::move(*hit_manager));
        auto miss_manager = make_manager(fx.dir.path / ("miss-" + name), url);
        if (!miss_manager) return "miss manager: " + miss_manager.error().message;
        fx.miss_managers.emplace_back(name, std::move(*miss_manager));
        fx.transports.push_back(std::move(via));
    }
    auto local_miss = make_manager(fx.dir.path / "miss-local", "");
    if (!local_miss) return "miss manager: " + local_miss.error().message;
    fx.miss_managers.emplace(fx.miss_managers.begin(), "local", std::move(*local_miss));
    return std::nullopt;
}

void register_all(Fixtures& fx) {
    for (auto& via : fx.transports) {
        Transport* v = &via;
        add("BM_RemotePing/" + via.name, [=](benchmark::State& s) { BM_RemotePing(s, v); });
    }
    LocalStore* local = &*fx.local;
    for (const auto& t : fx.tables) {
        const SizedTable* p = t.get();
        add("BM_LocalGet/" + p->size_name, [=](benchmark::State& s) { BM_LocalGet(s, local, p); });
    }
    for (auto& via : fx.transports)
        for (const auto& t : fx.tables) {
            Transport* v = &via;
            const SizedTable* p = t.get();
            add("BM_RemoteGet/" + via.name + "/" + p->size_name, [=](benchmark::State& s) { BM_RemoteGet(s, v, p); });
        }
    for (auto& via : fx.transports)
        for (const auto& t : fx.tables) {
            Transport* v = &via;
            const SizedTable* p = t.get();
            add("BM_RemotePut/" + via.name + "/" + p->size_name, [=](benchmark::State& s) { BM_RemotePut(s, v, p); });
        }
    for (auto& via : fx.transports)
        for (const auto& t : fx.tables) {
            Transport* v = &via;
            const SizedTable* p = t.get();
            add("BM_RemotePutBatch/" + via.name + "/" + p->size_name, [=](benchmark::State& s) { BM_RemotePutBatch(s, v, p); });
        }
    BuildCacheManager* lm = fx.local_manager.get();
    for (const auto& t : fx.tables) {
        const SizedTable* p = t.get();
        add("BM_ManagerLocalHit/" + p->size_name, [=](benchmark::State& s) { BM_ManagerLocalHit(s, lm, p); });
    }
    for (auto& [name, manager] : fx.remote_managers)
        for (const auto& t : fx.tables) {
            BuildCacheManager* m = manager.get();
            const SizedTable* p = t.get();
            add("BM_ManagerRemoteHit/" + name + "/" + p->size_name, [=](benchmark::State& s) { BM_ManagerRemoteHit(s, m, p); });
        }
    for (auto& [name, manager] : fx.miss_managers)
        for (const auto& t : fx.tables) {
            BuildCacheManager* m = manager.get();
            const SizedTable* p = t.get();
            add("BM_ManagerMiss/" + name + "/" + p->size_name, [=](benchmark::State& s) { BM_ManagerMiss(s, m, p); }, kMissIterations);
        }
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (argc > 1) {
        std::fprintf(stderr, "bench_remote: unrecognized argument '%s'\n", argv[1]);
        return 1;
    }
    const auto t0 = std::chrono::steady_clock::now();
    std::unique_ptr<Fixtures> fx;
    try {
        fx = std::make_unique<Fixtures>();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_remote: %s\n", e.what());
        return 1;
    }
    if (auto e = make_fixtures(*fx)) {
        std::fprintf(stderr, "bench_remote: cannot build the fixtures: %s\n", e->c_str());
        return 1;
    }
    std::fprintf(stderr, "bench_remote: redis-server on 127.0.0.1:%u and %s; local stores in %s; arenas of %zu / %zu / %zu B (%.1f s)\n",
                 static_cast<unsigned>(fx->server->port()), fx->server->socket_path().c_str(), fx->dir.path.c_str(), fx->tables[0]->arena.size(),
                 fx->tables[1]->arena.size(), fx->tables[2]->arena.size(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    register_all(*fx);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return g_failed ? 1 : 0;
}
