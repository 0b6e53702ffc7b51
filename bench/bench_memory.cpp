// bench_memory — heap bytes and allocations per loaded table, counted, not estimated:
// this binary replaces the global operator new and delete (every form) with counting
// versions, so everything C++ allocates on a load path is seen, in jdc, in the peers'
// libraries (protobuf, Cap'n Proto's kj, FlatBuffers) and in the standard library.
// What C code calls malloc for directly is not counted; nothing on these paths does
// (glibc's own buffers aside). File mappings are not heap and are not counted.
//
// Tables: the seed's size classes (small, medium, large; bench_tables.hpp fixtures).
// Per load, three counters (averages over the benchmark's iterations; a load is the
// same every time, so the average is the count):
//   heap_allocs      operator new calls during the load (and the release of its result)
//   heap_bytes       bytes those calls asked for
//   retained_bytes   bytes still allocated while the loaded table is held, ready for
//                    lookups: what holding the table costs (a read buffer, a type map,
//                    parsed objects)
// Benchmarks ("<benchmark>/<size>"):
//   BM_MemJdcLoad            ArenaView::open + BoundArena::bind over bytes in memory
//   BM_MemLoadedArenaRead    LoadedArena::open(read) + bind (owns a copy of the file)
//   BM_MemLoadedArenaMap     LoadedArena::open(map) + bind
//   BM_MemPackLookup         MappedPack::find + ArenaView::open + bind (the pack opened once)
//   BM_MemPackOpen/3         MappedPack::open + close of the pack of the three tables
//   BM_MemStoreGet           LocalStore::get of a loose entry + bind
//   BM_MemStoreGetPacked     LocalStore::get of a packed entry + bind
//   BM_MemManagerHit         BuildCacheManager::getOrBuildDispatchTable on a hit (bound)
//   BM_Mem<P>Load            each peer's load (verify + fixup) over bytes in memory
//   BM_MemFbVerifyInPlace    FlatBuffers' Verifier + its root accessor, no fixup
//   BM_Mem<P>LoadFile        read the file + the peer's load; FlatBuffers and Cap'n Proto
//                            keep the buffer (they read in place), protobuf drops it
//                            once parsed
// Timings in the JSON are not meaningful here (counting costs time) and are not reported.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include <benchmark/benchmark.h>

#include "jdc/arena_view.hpp"
#include "jdc/detail/atomic_file.hpp"
#include "jdc/build_cache_manager.hpp"
#include "jdc/local_store.hpp"
#include "jdc/detail/mapped_pack.hpp"
#include "jdc/pack.hpp"
#include "bench_caches.hpp"
#include "bench_support.hpp"
#include "bench_tables.hpp"
#include "support/arena_samples.hpp"

// --- the counting allocator -------------------------------------------------------
// Each block carries its size in a header in front of it, so delete knows what it
// frees. The header is a whole alignment unit, so the block stays aligned.

namespace {

struct HeapCounts {
    std::atomic<std::uint64_t> allocs{0};
    std::atomic<std::uint64_t> bytes{0};
    std::atomic<std::int64_t> live{0};
};
HeapCounts g_heap;

constexpr std::size_t kHeader = alignof(std::max_align_t);

void* counted_new(std::size_t size, std::size_t align) {
    const std::size_t header = align > kHeader ? align : kHeader;
    const std::size_t total = header + (size == 0 ? 1 : size);
    void* raw = align > kHeader ? std::aligned_alloc(align, (total + align - 1) / align * align) : std::malloc(total);
    if (raw == nullptr) return nullptr;
    auto* block = static_cast<std::byte*>(raw) + header;
    *reinterpret_cast<std::size_t*>(block - sizeof(std::size_t)) = size;
    g_heap.allocs.fetch_add(1, std::memory_order_relaxed);
    g_heap.bytes.fetch_add(size, std::memory_order_relaxed);
    g_heap.live.fetch_add(static_cast<std::int64_t>(size), std::memory_order_relaxed);
    return block;
}

void counted_delete(void* p, std::size_t align) noexcept {
    if (p == nullptr) return;
    const std::size_t header = align > kHeader ? align : kHeader;
    auto* block = static_cast<std::byte*>(p);
    const std::size_t size = *reinterpret_cast<std::size_t*>(block - sizeof(std::size_t));
    g_heap.live.fetch_sub(static_cast<std::int64_t>(size), std::memory_order_relaxed);
    std::free(block - header);
}

void* new_or_throw(std::size_t size, std::size_t align) {
    void* p = counted_new(size, align);
    if (p == nullptr) throw std::bad_alloc();
    return p;
}

constexpr std::size_t kPlain = kHeader;  // operators without an alignment argument

}  // namespace

void* operator new(std::size_t n) { return new_or_throw(n, kPlain); }
void* operator new[](std::size_t n) { return new_or_throw(n, kPlain); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_new(n, kPlain); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_new(n, kPlain); }
void* operator new(std::size_t n, std::align_val_t a) { return new_or_throw(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return new_or_throw(n, static_cast<std::size_t>(a)); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return counted_new(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    return counted_new(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { counted_delete(p, kPlain); }
void operator delete[](void* p) noexcept { counted_delete(p, kPlain); }
void operator delete(void* p, std::size_t) noexcept { counted_delete(p, kPlain); }
void operator delete[](void* p, std::size_t) noexcept { counted_delete(p, kPlain); }
void operator delete(void* p, const std::nothrow_t&) noexcept { counted_delete(p, kPlain); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { counted_delete(p, kPlain); }
void operator delete(void* p, std::align_val_t a) noexcept { counted_delete(p, static_cast<std::size_t>(a)); }
void operator delete[](void* p, std::align_val_t a) noexcept { counted_delete(p, static_cast<std::size_t>(a)); }
void operator delete(void* p, std::size_t, std::align_val_t a) noexcept { counted_delete(p, static_cast<std::size_t>(a)); }
void operator delete[](void* p, std::size_t, std::align_val_t a) noexcept { counted_delete(p, static_cast<std::size_t>(a)); }
void operator delete(void* p, std::align_val_t a, const std::nothrow_t&) noexcept {
    counted_delete(p, static_cast<std::size_t>(a));
}
void operator delete[](void* p, std::align_val_t a, const std::nothrow_t&) noexcept {
    counted_delete(p, static_cast<std::size_t>(a));
}

namespace {

using namespace jdc;
using namespace jdc::bench;
namespace fs = std::filesystem;

struct Snapshot {
    std::uint64_t allocs;
    std::uint64_t bytes;
    std::int64_t live;
};
Snapshot snapshot() {
    return {g_heap.allocs.load(std::memory_order_relaxed), g_heap.bytes.load(std::memory_order_relaxed),
            g_heap.live.load(std::memory_order_relaxed)};
}

// Runs `load(hold)` once per iteration. `load` loads a table and, while the loaded table
// is alive, calls hold(); it returns an empty string on success, else the failure.
// The counters are per load.
template <class Load>
void count_heap(benchmark::State& state, Load&& load) {
    std::uint64_t allocs = 0, bytes = 0;
    std::int64_t retained = 0;
    for (auto _ : state) {
        const Snapshot before = snapshot();
        const std::string failure = load([&] { retained += snapshot().live - before.live; });
        if (!failure.empty()) return fail(state, failure);
        const Snapshot after = snapshot();
        allocs += after.allocs - before.allocs;
        bytes += after.bytes - before.bytes;
    }
    using benchmark::Counter;
    state.counters["heap_allocs"] = Counter(static_cast<double>(allocs), Counter::kAvgIterations);
    state.counters["heap_bytes"] = Counter(static_cast<double>(bytes), Counter::kAvgIterations);
    state.counters["retained_bytes"] = Counter(static_cast<double>(retained), Counter::kAvgIterations);
}

// Binds a view and holds the bound table.
template <class Hold>
std::string bind_and_hold(const ArenaView& view, const TypeRegistry& registry, Hold& hold) {
    auto bound = BoundArena::bind(view, registry);
    if (!bound) return bound.error().message;
    benchmark::DoNotOptimize(bound);
    hold();
    return {};
}

struct Fixtures {
    TableFixtures tables;
    fs::path pack_path;
    std::unique_ptr<MappedPack> pack;
    std::unique_ptr<LocalStore> loose_store;   // the three tables as loose files
    std::unique_ptr<LocalStore> packed_store;  // the three tables in one pack
    ManagerFixture manager;
};

void register_jdc(Fixtures& f) {
    MappedPack* pack = f.pack.get();
    LocalStore* loose = f.loose_store.get();
    LocalStore* packed = f.packed_store.get();
    register_tables("BM_MemJdcLoad", f.tables, [](benchmark::State& s, const TableFixture* fx) {
        count_heap(s, [&](auto&& hold) -> std::string {
            auto view = ArenaView::open(fx->arena);
            return view ? bind_and_hold(*view, fx->model.registry, hold) : view.error().message;
        });
    });
    for (const LoadMode mode : {LoadMode::read, LoadMode::map})
        register_tables(mode == LoadMode::read ? "BM_MemLoadedArenaRead" : "BM_MemLoadedArenaMap", f.tables,
                        [mode](benchmark::State& s, const TableFixture* fx) {
                            count_heap(s, [&](auto&& hold) -> std::string {
                                auto loaded = LoadedArena::open(fx->arena_path, mode);
                                return loaded ? bind_and_hold(loaded->view(), fx->model.registry, hold)
                                              : loaded.error().message;
                            });
                        });
    std::size_t k = 0;
    for (const auto& fx : f.tables) {
        const TableFixture* t = fx.get();
        const CacheKey key = testing::key_for(k++);
        auto add = [&](const std::string& name, auto fn) {
            benchmark::RegisterBenchmark((name + "/" + t->label).c_str(), fn)->Unit(benchmark::kMicrosecond);
        };
        add("BM_MemPackLookup", [=](benchmark::State& s) {
            count_heap(s, [&](auto&& hold) -> std::string {
                auto found = pack->find(key);
                if (!found || !*found) return "the pack does not hold the table";
                auto view = ArenaView::open(**found);
                return view ? bind_and_hold(*view, t->model.registry, hold) : view.error().message;
            });
        });
        for (LocalStore* store : {loose, packed})
            add(store == loose ? "BM_MemStoreGet" : "BM_MemStoreGetPacked", [=](benchmark::State& s) {
                count_heap(s, [&](auto&& hold) -> std::string {
                    auto got = store->get(key);
                    return got ? bind_and_hold(got->view(), t->model.registry, hold) : got.error().message;
                });
            });
    }
    const fs::path pack_path = f.pack_path;
    benchmark::RegisterBenchmark("BM_MemPackOpen/3", [=](benchmark::State& s) {
        count_heap(s, [&](auto&& hold) -> std::string {
            auto opened = MappedPack::open(pack_path);
            if (!opened) return opened.error().message;
            hold();
            return {};
        });
    })->Unit(benchmark::kMicrosecond);
    BuildCacheManager* manager = f.manager.manager.get();
    for (const auto& m : f.manager.tables) {
        const ManagedTable* t = m.get();
        benchmark::RegisterBenchmark(("BM_MemManagerHit/" + t->size_name).c_str(), [=](benchmark::State& s) {
            const TableBuilder no_build = [](const TableInputs& in, const TypeRegistry&) -> Result<BuiltTable> {
                return make_error(ErrorCode::invalid_argument, "unexpected miss for " + in.name);
            };
            count_heap(s, [&](auto&& hold) -> std::string {
                auto table = manager->getOrBuildDispatchTable(t->inputs, t->model.registry, no_build);
                if (!table) return table.error().message;
                if (table->origin() != TableOrigin::cache) return "not a hit";
                hold();
                return {};
            });
        })->Unit(benchmark::kMicrosecond);
    }
}

template <class P>
void register_peer(const TableFixtures& tables) {
    const std::string n = std::string("BM_Mem") + P::kName;
    register_tables(n + "Load", tables, [](benchmark::State& s, const TableFixture* fx) {
        count_heap(s, [&](auto&& hold) -> std::string {
            typename P::Bound bound;
            if (!bound.load(fx->peer<P>().span(), fx->model.registry, IndexChecks::skip)) return "load failed";
            hold();
            return {};
        });
    });
    if constexpr (std::is_same_v<P, FbPeer>) {
        // FlatBuffers as its documentation uses it: the Verifier, then accessors that
        // read the buffer in place (type ids compared through the buffer on each
        // lookup instead of a map to live ids).
        register_tables("BM_MemFbVerifyInPlace", tables, [](benchmark::State& s, const TableFixture* fx) {
            count_heap(s, [&](auto&& hold) -> std::string {
                if (!FbPeer::verify(fx->peer<FbPeer>().span())) return "verify failed";
                benchmark::DoNotOptimize(FbPeer::root_entries(fx->peer<FbPeer>().span()));
                hold();
                return {};
            });
        });
    }
    register_tables(n + "LoadFile", tables, [](benchmark::State& s, const TableFixture* fx) {
        const std::string path = fx->peer_path<P>().string();
        count_heap(s, [&](auto&& hold) -> std::string {
            std::vector<std::uint8_t> buffer;
            if (!read_whole_file(path.c_str(), buffer)) return "cannot read " + path;
            typename P::Bound bound;
            if (!bound.load(buffer, fx->model.registry, IndexChecks::skip)) return "load failed";
            if constexpr (std::is_same_v<P, PbPeer>) std::vector<std::uint8_t>().swap(buffer);  // parsed: not needed
            hold();
            return {};
        });
    });
}

std::optional<std::string> make_fixtures(Fixtures& f, const fs::path& dir) {
    for (const auto& [name, options] : size_classes()) {
        auto fx = std::make_unique<TableFixture>();
        if (auto e = make_table_fixture(*fx, name, options, dir)) return e;
        f.tables.push_back(std::move(fx));
    }
    std::vector<PackInput> inputs;
    std::vector<PutRequest> puts;
    for (std::size_t k = 0; k < f.tables.size(); ++k) {
        inputs.push_back({testing::key_for(k), f.tables[k]->arena});
        puts.push_back({testing::key_for(k), f.tables[k]->arena, 0});
    }
    auto bytes = build_pack(inputs, kPackCreatedAt);
    if (!bytes) return "build_pack: " + bytes.error().message;
    f.pack_path = dir / "tables.jdcp";
    if (auto ok = write_file_atomically(f.pack_path, *bytes); !ok) return "write pack: " + ok.error().message;
    auto pack = MappedPack::open(f.pack_path);
    if (!pack) return "MappedPack::open: " + pack.error().message;
    f.pack = std::make_unique<MappedPack>(std::move(*pack));

    auto loose = LocalStore::open(dir / "store-loose", roomy_store_options());
    if (!loose) return "LocalStore::open: " + loose.error().message;
    if (auto ok = loose->put_batch(puts); !ok) return "put_batch: " + ok.error().message;
    f.loose_store = std::make_unique<LocalStore>(std::move(*loose));
    if (auto e = make_store_from_pack(dir / "store-packed", f.pack_path, f.tables.size())) return e;
    auto packed = LocalStore::open(dir / "store-packed", roomy_store_options());
    if (!packed) return "LocalStore::open: " + packed.error().message;
    f.packed_store = std::make_unique<LocalStore>(std::move(*packed));

    if (auto e = make_manager_fixture(f.manager, dir / "manager")) return e;
    return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
    jdc::bench::settle_malloc();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    const TempDir dir("jdc-bench-memory");
    if (!dir.ok()) return 1;
    int status = 0;
    {
        Fixtures f;
        if (auto error = make_fixtures(f, dir.path())) {
            std::fprintf(stderr, "bench_memory: setup failed: %s\n", error->c_str());
            status = 1;
        } else {
            register_jdc(f);
            register_peer<FbPeer>(f.tables);
            register_peer<CapnpPeer>(f.tables);
            register_peer<PbPeer>(f.tables);
            status = run_benchmarks("bench_memory");
        }
        benchmark::Shutdown();
    }
    return status;
}
