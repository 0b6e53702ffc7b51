// bench_store — what the storage and cache layers cost around an arena: packs, the
// loose-file store and its index, puts, and the build cache manager's hit path.
//
// Every fixture is generated once, before any benchmark runs, in a temp dir under
// /tmp (removed at exit); nothing is built inside a timed loop. Tiny arenas are
// tests/support/arena_samples.hpp's arena_for(seed, 2): kDistinctArenas distinct byte
// buffers, reused under different keys (key_for(n)), so 100,000 entries cost 100,000
// keys and files, not 100,000 table builds.
//
// Benchmarks (names are "<benchmark>/<argument>"; N = tables in the pack or entries in
// the store):
//   Packs (one file of N arenas, N = 10, 100, 1,000, 10,000, 100,000; build_pack +
//   write_file_atomically):
//     BM_PackOpen/N           MappedPack::open + ~MappedPack (open, fstat, mmap, header
//                             check, munmap): should not grow with N
//     BM_PackFind/N           MappedPack::find of a present key (locate only)
//     BM_PackFindVerify/N     find + ArenaView::open (full verify) of the found arena
//     BM_PackFindMissing/N    find of a key the pack does not hold
//   Loose files (a store of 1,000 entries, every one a file of its own):
//     BM_StoreGet/1000        LocalStore::get: index lookup + open + read + verify (+ access record)
//     BM_StoreFind/1000       LocalStore::find: the index lookup alone
//     BM_LoadedArenaOpen/1000 LoadedArena::open of the same files, as get() opens them
//     BM_LoadedArenaMap/1000  LoadedArena::open(LoadMode::map) of the same files
//     BM_OsReadFile/1000      open + fstat + read + close of the same files: the OS floor
//     BM_OsMapFile/1000       open + fstat + mmap + touch a page + munmap + close of the
//                             same files: the floor of a mapped load
//     BM_OsOpenClose/1000     open + close of the same files: the floor of any load
//   The syscall floor on an empty file (fixtures dir):
//     BM_OsOpenClose/empty    open + close
//     BM_OsReadFile/empty     open + fstat + read + close (the read returns 0 bytes)
//   The store's bookkeeping (stores of 1,000 and 100,000 entries, held in one pack each:
//   the pack fixture of that size, hard-linked into the store's packs/ and indexed with
//   rebuild_index; the index is the same as for loose entries, and building the store
//   creates 2 files instead of 100,000, see "Deleting files" below):
//     BM_StoreStats/N         LocalStore::stats(): header fields of the mapped index
//     BM_StoreEntries/N       LocalStore::entries(): every live slot of the index
//     BM_StoreOpen/N          LocalStore::open + ~LocalStore of an existing store (maps its pack)
//     BM_StoreGetPacked/N     LocalStore::get of a packed entry: index + pack lookup + verify
//   Puts (a store that starts with 1,000 entries and grows: every put is of a new key,
//   as a cache miss's is; nothing is removed, see "Deleting files" below). <where> is
//   tmp (the store under /tmp, with every other fixture) or shm (a second put store
//   under /dev/shm, tmpfs, where creating a file is cheap: what jdc adds to a put shows
//   there; skipped when /dev/shm is missing):
//     BM_StorePut/<where>     put of one tiny arena: verify + stage + lock + rename + index
//     BM_StorePutBatch/<where> put_batch of `batch` arenas (counter batch; the time is per
//                             batch, bench/make_results.py divides it)
//     BM_OsPutFloor/<where>   the same files written with bare syscalls: open(O_CREAT |
//                             O_EXCL) + fallocate + write + close in the store's tmp/,
//                             rename into its shard directory: the OS floor of a put
//     BM_StoreLock/<where>    ScopedStoreLock taken and released on the put store's lock:
//                             the per-call cost a batch pays once instead of per entry
//     BM_StorePut/replace     put over an existing entry (/tmp); only with --jdc_replace
//                             (it frees an inode per put, which slows later file creation
//                             on this ext4: see bench/PROFILE.md)
//   Build cache manager (tables of bench_arena's size classes, seed 20261124):
//     BM_ManagerHit/<size>    getOrBuildDispatchTable on a hit: key hash + get + bind (entries
//                             in the pack a build session writes, see make_manager_fixture)
//     BM_ManagerKey/<size>    BuildCacheManager::cache_key alone
//     BM_ManagerStoreGet/<size> LocalStore::get of the same entry alone
// Counters: bytes (arena or pack file size), entries (N), batch.
//
// Deleting files: ext4 skips recently deleted inodes when it allocates one (the kernel's
// recently_deleted(), on the create path), so file creation slows down for a while
// after many deletions. No benchmark deletes files in its timed loop or between
// repetitions; the fixtures are removed only when the binary exits.
//
// Options of this binary (besides Google Benchmark's):
//   --jdc_scale=small   the largest pack and store hold 5,000 entries instead of 100,000
//                       and batches hold 100 puts (bench/run.sh --smoke)
//   --jdc_replace       also register BM_StorePut/replace
//
// The binary exits with status 1 when a fixture cannot be built or any benchmark
// reports an error (a miss where a hit is expected counts as an error).
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include "jdc/arena_builder.hpp"
#include "jdc/arena_view.hpp"
#include "jdc/detail/atomic_file.hpp"
#include "jdc/build_cache_manager.hpp"
#include "jdc/loaded_arena.hpp"
#include "jdc/local_store.hpp"
#include "jdc/detail/mapped_pack.hpp"
#include "jdc/pack.hpp"
#include "storage/store_lock.hpp"
#include "util/hex.hpp"
#include "bench_caches.hpp"
#include "bench_support.hpp"
#include "support/arena_samples.hpp"
#include "support/random_model.hpp"

namespace {

using namespace jdc;
namespace fs = std::filesystem;

constexpr std::size_t kSampledKeys = 4096;      // lookups cycle over at most this many keys
constexpr std::size_t kBatch = 1000;  // --jdc_scale=small: kSmallBatch
constexpr std::size_t kSmallBatch = 100;
constexpr std::uint64_t kMissingKeyBase = 50'000'000;  // key_for(n) for n >= this: in no fixture
constexpr std::uint64_t kPutKeyBase = 10'000'000;      // the put store's keys
constexpr std::uint64_t kNewPutKeyBase = 20'000'000;   // keys BM_StorePut*/new add (never removed)
constexpr std::uint64_t kFloorKeyBase = 30'000'000;    // names BM_OsPutFloor writes

using namespace jdc::bench;


// ---------------------------------------------------------------------------------
// Fixtures

using Arenas = TinyArenas;

struct PackFixture {
    std::uint64_t tables = 0;
    fs::path path;
    std::uint64_t file_bytes = 0;
    std::unique_ptr<MappedPack> pack;  // kept open for the lookup benchmarks
    std::vector<CacheKey> present;     // sampled keys it holds
    std::vector<CacheKey> missing;     // keys it does not hold
};

struct StoreFixture {
    std::uint64_t entries = 0;
    fs::path root;
    std::vector<CacheKey> keys;       // sampled keys it holds
    std::vector<fs::path> paths;      // their loose files (loose stores only)
};

struct PutFixture {
    std::string where;                 // "tmp" or "shm"
    fs::path root;
    fs::path floor_root;               // BM_OsPutFloor's tree: tmp/ and objects/<2 hex>/ (the store's)
    std::size_t batch = kBatch;
    const Arenas* arenas = nullptr;
    std::vector<PutRequest> existing;  // requests over keys the store holds
    std::uint64_t next_new_key = kNewPutKeyBase;  // puts of new keys take them from here
    std::uint64_t next_floor_name = kFloorKeyBase;
};



struct Fixtures {
    fs::path dir;
    fs::path empty_file;  // the syscall floor's empty file
    Arenas arenas;
    std::vector<std::unique_ptr<PackFixture>> packs;
    std::unique_ptr<StoreFixture> loose;                // 1,000 loose entries
    std::vector<std::unique_ptr<StoreFixture>> packed;  // 1,000 and 100,000 packed entries
    std::vector<std::unique_ptr<PutFixture>> puts;  // under /tmp, then under /dev/shm
    fs::path shm_dir;                               // empty when /dev/shm is not usable
    ManagerFixture manager;
};

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::optional<std::string> make_pack(PackFixture& px, std::uint64_t tables, const Arenas& arenas, const fs::path& dir) {
    px.tables = tables;
    px.path = dir / ("pack-" + std::to_string(tables) + ".jdcp");
    if (auto e = write_tiny_pack(px.path, tables, arenas, &px.file_bytes)) return e;
    auto pack = MappedPack::open(px.path);
    if (!pack) return "MappedPack::open: " + pack.error().message;
    px.pack = std::make_unique<MappedPack>(std::move(*pack));
    for (std::uint64_t i : sample_indexes(tables, kSampledKeys, kModelSeed ^ tables)) px.present.push_back(testing::key_for(i));
    for (std::uint64_t i = 0; i < kSampledKeys; ++i) px.missing.push_back(testing::key_for(kMissingKeyBase + i));
    // Every sampled key must be found with the bytes it was stored with.
    for (std::uint64_t i : sample_indexes(tables, kSampledKeys, kModelSeed ^ tables)) {
        auto found = px.pack->find(testing::key_for(i));
        if (!found || !*found) return "pack of " + std::to_string(tables) + " does not hold key " + std::to_string(i);
        const auto want = arenas.for_entry(i);
        if ((*found)->size() != want.size() || !std::equal(want.begin(), want.end(), (*found)->begin()))
            return "pack of " + std::to_string(tables) + " holds other bytes under key " + std::to_string(i);
    }
    for (const CacheKey& k : px.missing) {
        auto found = px.pack->find(k);
        if (!found || *found) return "pack of " + std::to_string(tables) + " holds a key it should not";
    }
    return std::nullopt;
}

// Fills a new store with `count` loose entries key_for(base + n), in batches.
std::optional<std::string> fill_store(LocalStore& store, std::uint64_t base, std::uint64_t count, const Arenas& arenas) {
    constexpr std::uint64_t kChunk = 5000;
    std::vector<PutRequest> batch;
    for (std::uint64_t n = 0; n < count; n += kChunk) {
        batch.clear();
        for (std::uint64_t i = n; i < std::min(count, n + kChunk); ++i)
            batch.push_back({testing::key_for(base + i), arenas.for_entry(i), 0});
        if (auto ok = store.put_batch(batch); !ok) return "put_batch: " + ok.error().message;
    }
    return std::nullopt;
}

std::optional<std::string> make_loose_store(StoreFixture& sx, std::uint64_t entries, const Arenas& arenas, const fs::path& dir) {
    sx.entries = entries;
    sx.root = dir / ("store-loose-" + std::to_string(entries));
    auto store = LocalStore::open(sx.root, roomy_store_options());
    if (!store) return "LocalStore::open: " + store.error().message;
    if (auto e = fill_store(*store, 0, entries, arenas)) return e;
    if (store->stats().index.live_count != entries)
        return "store holds " + std::to_string(store->stats().index.live_count) + " entries, not " + std::to_string(entries);
    for (std::uint64_t i : sample_indexes(entries, kSampledKeys, kModelSeed ^ entries)) {
        sx.keys.push_back(testing::key_for(i));
        sx.paths.push_back(store->loose_path(sx.keys.back()));
        auto got = store->get(sx.keys.back());
        if (!got) return "get of a stored key: " + got.error().message;
        if (got->view().bytes().size() != arenas.for_entry(i).size()) return "get returned other bytes";
    }
    return std::nullopt;  // the store closes here: benchmarks open their own
}

// A store whose entries are those of the pack fixture `px`.
std::optional<std::string> make_packed_store(StoreFixture& sx, const PackFixture& px, const Arenas& arenas, const fs::path& dir) {
    sx.entries = px.tables;
    sx.root = dir / ("store-packed-" + std::to_string(px.tables));
    if (auto e = make_store_from_pack(sx.root, px.path, sx.entries)) return e;
    auto store = LocalStore::open(sx.root, roomy_store_options());
    if (!store) return "LocalStore::open: " + store.error().message;
    for (std::uint64_t i : sample_indexes(sx.entries, kSampledKeys, kModelSeed ^ sx.entries)) {
        sx.keys.push_back(testing::key_for(i));
        auto got = store->get(sx.keys.back());
        if (!got) return "get of a packed key: " + got.error().message;
        if (got->location() != EntryLocation::packed || got->view().bytes().size() != arenas.for_entry(i).size())
            return "get of a packed key returned another entry";
    }
    return std::nullopt;
}

std::optional<std::string> make_put_store(PutFixture& px, std::size_t batch, const Arenas& arenas, const fs::path& dir) {
    px.root = dir / "store-put";
    px.batch = batch;
    px.arenas = &arenas;
    constexpr std::uint64_t kInitialEntries = 1000;
    auto store = LocalStore::open(px.root, roomy_store_options());
    if (!store) return "LocalStore::open: " + store.error().message;
    if (auto e = fill_store(*store, kPutKeyBase, kInitialEntries, arenas)) return e;
    for (std::uint64_t i = 0; i < kInitialEntries; ++i)
        px.existing.push_back({testing::key_for(kPutKeyBase + i), arenas.for_entry(i), 0});
    // The floor writes into the store's own tmp/ and shard directories (names no entry
    // uses): a file's cost depends on its directory's place on disk (see "Deleting
    // files" above), so the floor and the puts must share directories to compare.
    px.floor_root = px.root;
    std::error_code ec;
    fs::create_directories(px.floor_root / "tmp", ec);
    for (int shard = 0; shard < 256 && !ec; ++shard) {
        std::string name;  // a shard directory: the key's first byte in two hex digits
        jdc::detail::append_hex(name, static_cast<std::uint64_t>(shard), 2);
        fs::create_directories(px.floor_root / "objects" / name, ec);
    }
    if (ec) return "cannot create " + px.floor_root.string() + ": " + ec.message();
    return std::nullopt;
}


// ---------------------------------------------------------------------------------
// Packs

void set_pack_counters(benchmark::State& state, const PackFixture* px) {
    state.counters["bytes"] = static_cast<double>(px->file_bytes);
    state.counters["entries"] = static_cast<double>(px->tables);
}

void BM_PackOpen(benchmark::State& state, const PackFixture* px) {
    for (auto _ : state) {
        auto pack = MappedPack::open(px->path);
        if (!pack) return fail(state, pack.error().message);
        std::uint64_t n = pack->entry_count();  // a copy: never DoNotOptimize inside the mapping
        benchmark::DoNotOptimize(n);
    }  // ~MappedPack (munmap) inside the loop: a process that opens a pack also closes it
    set_pack_counters(state, px);
}

void BM_PackFind(benchmark::State& state, const PackFixture* px) {
    std::size_t k = 0;
    for (auto _ : state) {
        auto found = px->pack->find(px->present[k]);
        if (!found || !*found) return fail(state, "present key not found");
        std::size_t size = (*found)->size();
        benchmark::DoNotOptimize(size);
        if (++k == px->present.size()) k = 0;
    }
    set_pack_counters(state, px);
}

void BM_PackFindVerify(benchmark::State& state, const PackFixture* px) {
    std::size_t k = 0;
    for (auto _ : state) {
        auto found = px->pack->find(px->present[k]);
        if (!found || !*found) return fail(state, "present key not found");
        auto view = ArenaView::open(**found);
        if (!view) return fail(state, view.error().message);
        std::uint32_t entries = view->entry_count();
        benchmark::DoNotOptimize(entries);
        if (++k == px->present.size()) k = 0;
    }
    set_pack_counters(state, px);
}

void BM_PackFindMissing(benchmark::State& state, const PackFixture* px) {
    std::size_t k = 0;
    for (auto _ : state) {
        auto found = px->pack->find(px->missing[k]);
        if (!found || *found) return fail(state, "missing key found, or the lookup failed");
        bool hit = found->has_value();
        benchmark::DoNotOptimize(hit);
        if (++k == px->missing.size()) k = 0;
    }
    set_pack_counters(state, px);
}

// ---------------------------------------------------------------------------------
// Loose files and the store's bookkeeping

std::optional<LocalStore> open_store(benchmark::State& state, const fs::path& root) {
    auto store = LocalStore::open(root, roomy_store_options());
    if (!store) {
        fail(state, store.error().message);
        return std::nullopt;
    }
    return std::move(*store);
}

void BM_StoreGet(benchmark::State& state, const StoreFixture* sx) {
    auto store = open_store(state, sx->root);
    if (!store) return;
    std::size_t k = 0;
    for (auto _ : state) {
        auto got = store->get(sx->keys[k]);
        if (!got) return fail(state, got.error().message);
        std::uint32_t entries = got->view().entry_count();
        benchmark::DoNotOptimize(entries);
        if (++k == sx->keys.size()) k = 0;
    }
    state.counters["entries"] = static_cast<double>(sx->entries);
}

void BM_StoreGetPacked(benchmark::State& state, const StoreFixture* sx) {
    auto store = open_store(state, sx->root);
    if (!store) return;
    std::size_t k = 0;
    for (auto _ : state) {
        auto got = store->get(sx->keys[k]);
        if (!got) return fail(state, got.error().message);
        std::uint32_t entries = got->view().entry_count();  // a copy, never a reference into the mapping
        benchmark::DoNotOptimize(entries);
        if (++k == sx->keys.size()) k = 0;
    }
    state.counters["entries"] = static_cast<double>(sx->entries);
}

void BM_StoreFind(benchmark::State& state, const StoreFixture* sx) {
    auto store = open_store(state, sx->root);
    if (!store) return;
    std::size_t k = 0;
    for (auto _ : state) {
        auto meta = store->find(sx->keys[k]);
        if (!meta) return fail(state, "index does not hold a stored key");
        std::uint64_t size = meta->size;
        benchmark::DoNotOptimize(size);
        if (++k == sx->keys.size()) k = 0;
    }
    state.counters["entries"] = static_cast<double>(sx->entries);
}

void loaded_arena_loop(benchmark::State& state, const StoreFixture* sx, LoadMode mode) {
    const StoreOptions options = roomy_store_options();
    std::size_t k = 0;
    for (auto _ : state) {
        auto loaded = LoadedArena::open(sx->paths[k], mode, options.limits, SymlinkPolicy::refuse);
        if (!loaded) return fail(state, loaded.error().message);
        std::uint32_t entries = loaded->view().entry_count();  // a copy, never a reference into the mapping
        benchmark::DoNotOptimize(entries);
        if (++k == sx->paths.size()) k = 0;
    }
    state.counters["entries"] = static_cast<double>(sx->entries);
}

// As get() opens them (the store's load mode: automatic, so read for these files).
void BM_LoadedArenaOpen(benchmark::State& state, const StoreFixture* sx) {
    loaded_arena_loop(state, sx, roomy_store_options().load_mode);
}

void BM_LoadedArenaMap(benchmark::State& state, const StoreFixture* sx) { loaded_arena_loop(state, sx, LoadMode::map); }

std::vector<std::string> path_strings(const std::vector<fs::path>& paths) {
    std::vector<std::string> out;
    for (const fs::path& p : paths) out.push_back(p.string());
    return out;
}

void BM_OsMapFile(benchmark::State& state, const StoreFixture* sx) {
    const std::vector<std::string> paths = path_strings(sx->paths);
    std::size_t k = 0;
    for (auto _ : state) {
        if (!map_touch_unmap(paths[k].c_str())) return fail(state, "cannot map " + paths[k]);
        if (++k == paths.size()) k = 0;
    }
    state.counters["entries"] = static_cast<double>(sx->entries);
}

void open_close_loop(benchmark::State& state, const std::vector<std::string>& paths) {
    std::size_t k = 0;
    for (auto _ : state) {
        const int fd = ::open(paths[k].c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return fail(state, "cannot open " + paths[k]);
        ::close(fd);
        if (++k == paths.size()) k = 0;
    }
}

void BM_OsOpenClose(benchmark::State& state, const StoreFixture* sx) {
    open_close_loop(state, path_strings(sx->paths));
    state.counters["entries"] = static_cast<double>(sx->entries);
}

void BM_OsOpenCloseEmpty(benchmark::State& state, const fs::path& empty) { open_close_loop(state, {empty.string()}); }

void BM_OsReadFileEmpty(benchmark::State& state, const fs::path& empty) {
    const std::string path = empty.string();
    std::vector<std::byte> buffer;
    for (auto _ : state) {
        if (!read_whole_file(path.c_str(), buffer)) return fail(state, "cannot read " + path);
        benchmark::DoNotOptimize(buffer.data());
    }
}

void BM_OsReadFile(benchmark::State& state, const StoreFixture* sx) {
    const std::vector<std::string> paths = path_strings(sx->paths);
    std::vector<std::byte> buffer;
    std::size_t k = 0;
    for (auto _ : state) {
        if (!read_whole_file(paths[k].c_str(), buffer)) return fail(state, "cannot read " + paths[k]);
        benchmark::DoNotOptimize(buffer.data());
        benchmark::ClobberMemory();
        if (++k == paths.size()) k = 0;
    }
    state.counters["entries"] = static_cast<double>(sx->entries);
}

void BM_StoreStats(benchmark::State& state, const StoreFixture* sx) {
    auto store = open_store(state, sx->root);
    if (!store) return;
    for (auto _ : state) {
        StoreStats st = store->stats();
        if (st.index.live_count != sx->entries) return fail(state, "stats() counts the wrong number of entries");
        benchmark::DoNotOptimize(st);
    }
    state.counters["entries"] = static_cast<double>(sx->entries);
}

void BM_StoreEntries(benchmark::State& state, const StoreFixture* sx) {
    auto store = open_store(state, sx->root);
    if (!store) return;
    std::uint64_t capacity = store->stats().index.capacity;
    for (auto _ : state) {
        std::vector<IndexEntry> all = store->entries();
        if (all.size() != sx->entries) return fail(state, "entries() lists the wrong number of entries");
        benchmark::DoNotOptimize(all.data());
        benchmark::ClobberMemory();
    }
    state.counters["entries"] = static_cast<double>(sx->entries);
    state.counters["index_slots"] = static_cast<double>(capacity);
}

void BM_StoreOpen(benchmark::State& state, const StoreFixture* sx) {
    for (auto _ : state) {
        auto store = LocalStore::open(sx->root, roomy_store_options());
        if (!store) return fail(state, store.error().message);
        std::uint64_t live = store->stats().index.live_count;
        if (live != sx->entries) return fail(state, "the opened store counts the wrong number of entries");
        benchmark::DoNotOptimize(live);
    }  // ~LocalStore inside the loop
    state.counters["entries"] = static_cast<double>(sx->entries);
}

// ---------------------------------------------------------------------------------
// Puts

void BM_StorePut(benchmark::State& state, PutFixture* px) {
    auto store = open_store(state, px->root);
    if (!store) return;
    PutRequest request{};
    for (auto _ : state) {
        const std::uint64_t n = px->next_new_key++;
        request = {testing::key_for(n), px->arenas->for_entry(n), 0};
        if (auto ok = store->put(request); !ok) return fail(state, ok.error().message);
    }
    state.counters["bytes"] = static_cast<double>(request.arena.size());
    state.counters["entries_after"] = static_cast<double>(store->stats().index.live_count);
}

void BM_StorePutReplace(benchmark::State& state, PutFixture* px) {
    auto store = open_store(state, px->root);
    if (!store) return;
    std::size_t k = 0;
    for (auto _ : state) {
        if (auto ok = store->put(px->existing[k]); !ok) return fail(state, ok.error().message);
        if (++k == px->existing.size()) k = 0;
    }
    state.counters["bytes"] = static_cast<double>(px->existing[0].arena.size());
}

void BM_StorePutBatch(benchmark::State& state, PutFixture* px) {
    auto store = open_store(state, px->root);
    if (!store) return;
    std::vector<PutRequest> requests(px->batch);
    for (auto _ : state) {
        // Filling in the requests (a few ns each) is timed too: noise against a put.
        for (PutRequest& r : requests) {
            const std::uint64_t n = px->next_new_key++;
            r = {testing::key_for(n), px->arenas->for_entry(n), 0};
        }
        if (auto ok = store->put_batch(requests); !ok) return fail(state, ok.error().message);
    }
    state.counters["batch"] = static_cast<double>(requests.size());
    state.counters["entries_after"] = static_cast<double>(store->stats().index.live_count);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * requests.size()));
}

// What a put's files cost with nothing of jdc around them: the syscalls StagedFile and
// publish make (no fsync: the store's default durability is no_sync).
void BM_StoreLock(benchmark::State& state, PutFixture* px) {
    auto lock = StoreLock::for_file(px->root / "lock");
    if (!lock) return fail(state, lock.error().message);
    for (auto _ : state) {
        ScopedStoreLock guard(**lock);
        if (!guard.owns()) return fail(state, "cannot take the store lock: " + guard.failure());
        bool owns = guard.owns();
        benchmark::DoNotOptimize(owns);
    }
}

void BM_OsPutFloor(benchmark::State& state, PutFixture* px) {
    const std::string tmp = (px->floor_root / "tmp").string();
    const std::string objects = (px->floor_root / "objects").string();
    std::string temp_path, final_path;
    for (auto _ : state) {
        const std::uint64_t n = px->next_floor_name++;
        const std::string hex = testing::key_for(n).to_hex();
        const std::span<const std::byte> bytes = px->arenas->for_entry(n);
        temp_path = tmp + "/" + hex + ".tmp";
        final_path = objects + "/" + hex.substr(0, 2) + "/" + hex + ".jdca";
        const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0) return fail(state, "cannot create " + temp_path);
        bool ok = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes.size())) == 0;
        ok = ok && ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
        ok = ::close(fd) == 0 && ok;
        ok = ok && ::rename(temp_path.c_str(), final_path.c_str()) == 0;
        if (!ok) return fail(state, "cannot write or publish " + temp_path);
    }
}

// ---------------------------------------------------------------------------------
// Build cache manager

TableBuilder no_builder() {
    return [](const TableInputs& in, const TypeRegistry&) -> Result<BuiltTable> {
        return make_error(ErrorCode::invalid_argument, "unexpected miss for " + in.name);
    };
}

void BM_ManagerHit(benchmark::State& state, BuildCacheManager* m, const ManagedTable* t) {
    const TableBuilder builder = no_builder();
    for (auto _ : state) {
        auto table = m->getOrBuildDispatchTable(t->inputs, t->model.registry, builder);
        if (!table) return fail(state, table.error().message);
        if (table->origin() != TableOrigin::cache) return fail(state, "not a hit");
        std::uint32_t entries = table->view().entry_count();
        benchmark::DoNotOptimize(entries);
    }
    state.counters["bytes"] = static_cast<double>(t->arena_bytes);
    state.counters["entries"] = static_cast<double>(t->model.table.implementations.size());
}

void BM_ManagerKey(benchmark::State& state, BuildCacheManager* m, const ManagedTable* t) {
    for (auto _ : state) {
        CacheKey key = m->cache_key(t->inputs, t->model.registry);
        if (key != t->key) return fail(state, "cache_key changed");
        benchmark::DoNotOptimize(key);
    }
    state.counters["hashed_methods"] = static_cast<double>(t->inputs.methods.size());
}

void BM_ManagerStoreGet(benchmark::State& state, BuildCacheManager* m, const ManagedTable* t) {
    LocalStore* store = m->store();
    for (auto _ : state) {
        auto got = store->get(t->key);
        if (!got) return fail(state, got.error().message);
        std::uint32_t entries = got->view().entry_count();
        benchmark::DoNotOptimize(entries);
    }
    state.counters["bytes"] = static_cast<double>(t->arena_bytes);
}

// ---------------------------------------------------------------------------------

template <class Fn>
void add(const std::string& name, Fn fn) {
    benchmark::RegisterBenchmark(name.c_str(), fn)->Unit(benchmark::kMicrosecond);
}

using PackBench = void (*)(benchmark::State&, const PackFixture*);
using StoreBench = void (*)(benchmark::State&, const StoreFixture*);
using ManagerBench = void (*)(benchmark::State&, BuildCacheManager*, const ManagedTable*);

void register_all(Fixtures& fx, bool with_replace) {
    // Same operation, all sizes together, so a filter such as BM_PackOpen shows the growth.
    const std::pair<const char*, PackBench> pack_benches[] = {
        {"BM_PackOpen", BM_PackOpen}, {"BM_PackFind", BM_PackFind},
        {"BM_PackFindVerify", BM_PackFindVerify}, {"BM_PackFindMissing", BM_PackFindMissing}};
    for (const auto& [name, fn] : pack_benches)
        for (const auto& px : fx.packs) {
            const PackFixture* p = px.get();
            const PackBench f = fn;
            add(std::string(name) + "/" + std::to_string(p->tables), [=](benchmark::State& s) { f(s, p); });
        }
    const StoreFixture* loose = fx.loose.get();
    const std::pair<const char*, StoreBench> loose_benches[] = {
        {"BM_StoreGet", BM_StoreGet}, {"BM_StoreFind", BM_StoreFind},
        {"BM_LoadedArenaOpen", BM_LoadedArenaOpen}, {"BM_OsReadFile", BM_OsReadFile},
        {"BM_LoadedArenaMap", BM_LoadedArenaMap}, {"BM_OsMapFile", BM_OsMapFile}, {"BM_OsOpenClose", BM_OsOpenClose}};
    for (const auto& [name, fn] : loose_benches) {
        const StoreBench f = fn;
        add(std::string(name) + "/" + std::to_string(loose->entries), [=](benchmark::State& s) { f(s, loose); });
    }
    const fs::path empty = fx.empty_file;
    add("BM_OsOpenClose/empty", [=](benchmark::State& s) { BM_OsOpenCloseEmpty(s, empty); });
    add("BM_OsReadFile/empty", [=](benchmark::State& s) { BM_OsReadFileEmpty(s, empty); });
    const std::pair<const char*, StoreBench> store_benches[] = {
        {"BM_StoreStats", BM_StoreStats}, {"BM_StoreEntries", BM_StoreEntries}, {"BM_StoreOpen", BM_StoreOpen},
        {"BM_StoreGetPacked", BM_StoreGetPacked}};
    for (const auto& [name, fn] : store_benches)
        for (const auto& sx : fx.packed) {
            const StoreFixture* p = sx.get();
            const StoreBench f = fn;
            add(std::string(name) + "/" + std::to_string(p->entries), [=](benchmark::State& s) { f(s, p); });
        }
    for (const auto& px : fx.puts) {
        PutFixture* put = px.get();
        add("BM_StorePut/" + put->where, [=](benchmark::State& s) { BM_StorePut(s, put); });
        add("BM_StorePutBatch/" + put->where, [=](benchmark::State& s) { BM_StorePutBatch(s, put); });
        add("BM_OsPutFloor/" + put->where, [=](benchmark::State& s) { BM_OsPutFloor(s, put); });
        add("BM_StoreLock/" + put->where, [=](benchmark::State& s) { BM_StoreLock(s, put); });
    }
    PutFixture* put = fx.puts.front().get();
    if (with_replace) add("BM_StorePut/replace", [=](benchmark::State& s) { BM_StorePutReplace(s, put); });
    BuildCacheManager* m = fx.manager.manager.get();
    const std::pair<const char*, ManagerBench> manager_benches[] = {
        {"BM_ManagerHit", BM_ManagerHit}, {"BM_ManagerKey", BM_ManagerKey}, {"BM_ManagerStoreGet", BM_ManagerStoreGet}};
    for (const auto& [name, fn] : manager_benches)
        for (const auto& t : fx.manager.tables) {
            const ManagedTable* p = t.get();
            const ManagerBench f = fn;
            add(std::string(name) + "/" + p->size_name, [=](benchmark::State& s) { f(s, m, p); });
        }
}

std::optional<std::string> make_fixtures(Fixtures& fx, const std::vector<std::uint64_t>& pack_sizes,
                                         std::uint64_t loose_entries, std::size_t batch) {
    auto t0 = Clock::now();
    fx.empty_file = fx.dir / "empty";
    if (auto ok = write_file_atomically(fx.empty_file, {}); !ok) return "cannot write an empty file: " + ok.error().message;
    if (auto e = make_tiny_arenas(fx.arenas)) return e;
    std::size_t smallest = SIZE_MAX, largest = 0;
    for (const auto& a : fx.arenas.distinct) {
        smallest = std::min(smallest, a.size());
        largest = std::max(largest, a.size());
    }
    std::fprintf(stderr, "bench_store: %zu distinct tiny arenas of %zu-%zu B (%.1f s)\n", fx.arenas.distinct.size(), smallest,
                 largest, seconds_since(t0));
    for (std::uint64_t n : pack_sizes) {
        t0 = Clock::now();
        auto px = std::make_unique<PackFixture>();
        if (auto e = make_pack(*px, n, fx.arenas, fx.dir)) return e;
        std::fprintf(stderr, "bench_store: pack of %llu tables, %llu B (%.1f s)\n", static_cast<unsigned long long>(n),
                     static_cast<unsigned long long>(px->file_bytes), seconds_since(t0));
        fx.packs.push_back(std::move(px));
    }
    t0 = Clock::now();
    fx.loose = std::make_unique<StoreFixture>();
    if (auto e = make_loose_store(*fx.loose, loose_entries, fx.arenas, fx.dir)) return e;
    std::fprintf(stderr, "bench_store: store of %llu loose entries (%.1f s)\n", static_cast<unsigned long long>(loose_entries),
                 seconds_since(t0));
    for (const auto& px : fx.packs) {
        if (px->tables != 1000 && px != fx.packs.back()) continue;  // 1,000 and the largest
        t0 = Clock::now();
        auto sx = std::make_unique<StoreFixture>();
        if (auto e = make_packed_store(*sx, *px, fx.arenas, fx.dir)) return e;
        std::fprintf(stderr, "bench_store: store of %llu packed entries (%.1f s)\n", static_cast<unsigned long long>(sx->entries),
                     seconds_since(t0));
        fx.packed.push_back(std::move(sx));
    }
    t0 = Clock::now();
    for (const fs::path& where : {fx.dir, fx.shm_dir}) {
        if (where.empty()) continue;
        auto px = std::make_unique<PutFixture>();
        px->where = where == fx.dir ? "tmp" : "shm";
        if (auto e = make_put_store(*px, batch, fx.arenas, where)) return e;
        fx.puts.push_back(std::move(px));
    }
    if (auto e = make_manager_fixture(fx.manager, fx.dir / "manager")) return e;
    std::fprintf(stderr, "bench_store: put store and build cache manager (%.1f s)\n", seconds_since(t0));
    return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
    jdc::bench::settle_malloc();
    benchmark::Initialize(&argc, argv);
    // Our own options (see the top of the file); Initialize removed Google Benchmark's.
    bool small_scale = false, with_replace = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--jdc_scale=small") {
            small_scale = true;
        } else if (arg == "--jdc_replace") {
            with_replace = true;
        } else if (arg != "--jdc_scale=full") {
            std::fprintf(stderr, "bench_store: unrecognized argument '%s'\n", argv[i]);
            return 1;
        }
    }
    const std::uint64_t big = small_scale ? 5'000 : 100'000;

    char dir_template[] = "/tmp/jdc-bench-store-XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) {
        std::perror("mkdtemp");
        return 1;
    }
    Fixtures fx;
    fx.dir = dir_template;
    char shm_template[] = "/dev/shm/jdc-bench-store-XXXXXX";
    if (::mkdtemp(shm_template) != nullptr)
        fx.shm_dir = shm_template;
    else
        std::fprintf(stderr, "bench_store: no /dev/shm (%s): the */shm put benchmarks are skipped\n", std::strerror(errno));
    int status = 0;
    const auto t0 = Clock::now();
    const std::vector<std::uint64_t> pack_sizes = small_scale ? std::vector<std::uint64_t>{10, 100, 1'000, big}
                                                              : std::vector<std::uint64_t>{10, 100, 1'000, 10'000, big};
    if (auto error = make_fixtures(fx, pack_sizes, 1'000, small_scale ? kSmallBatch : kBatch)) {
        std::fprintf(stderr, "bench_store: setup failed: %s\n", error->c_str());
        status = 1;
    } else {
        std::fprintf(stderr, "bench_store: fixtures built in %.1f s in %s\n", seconds_since(t0), fx.dir.c_str());
        register_all(fx, with_replace);
        status = run_benchmarks("bench_store");
    }
    benchmark::Shutdown();
    fx.manager.manager.reset();
    fx.packs.clear();
    std::error_code ec;
    fs::remove_all(fx.dir, ec);
    if (!fx.shm_dir.empty()) fs::remove_all(fx.shm_dir, ec);
    return status;
}
