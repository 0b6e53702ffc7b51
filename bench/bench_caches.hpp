// Shared by the programs that need caches (bench_store, bench_startup, bench_memory,
// startup_probe): tiny arenas reused under many keys, pack files and stores built from
// them, tables stored through a BuildCacheManager. The inline parts need no benchmark
// library, so that startup_probe links nothing but jdc and the test model.
//
// The tables: tests/support/arena_samples.hpp's arena_for(seed, 2), kDistinctArenas
// distinct byte buffers (seeds kModelSeed + i), reused under different keys
// (key_for(n) holds the arena of seed tiny_seed(n)), so 100,000 entries cost 100,000
// keys, not 100,000 table builds. A process that looks key_for(n) up rebuilds the
// types it binds against with make_random_model(tiny_seed(n), tiny_model_options()).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "jdc/build_cache_manager.hpp"
#include "jdc/local_store.hpp"
#include "support/random_model.hpp"

namespace jdc::bench {

inline constexpr std::uint64_t kModelSeed = 20261124;  // every benchmark program's tables
inline constexpr std::size_t kDistinctArenas = 64;
inline constexpr std::uint32_t kTinyImplementations = 2;
inline constexpr std::uint64_t kPackCreatedAt = 1'700'000'000'000'000'000ull;

// The seed's size classes (tests/support/random_model.hpp): small, medium, large.
struct SizeClass {
    const char* name;
    testing::RandomModelOptions options;
};
inline std::array<SizeClass, 3> size_classes() {
    return {{{"small", testing::small_table_options()},
             {"medium", testing::medium_table_options()},
             {"large", testing::large_table_options()}}};
}

// The model of the arena stored under key_for(n) (the options arena_for uses).
inline std::uint64_t tiny_seed(std::uint64_t n) { return kModelSeed + n % kDistinctArenas; }
inline testing::RandomModelOptions tiny_model_options() { return {8, 2, 2, kTinyImplementations, true}; }

struct TinyArenas {
    std::vector<std::vector<std::byte>> distinct;
    std::span<const std::byte> for_entry(std::uint64_t n) const { return distinct[n % distinct.size()]; }
};
std::optional<std::string> make_tiny_arenas(TinyArenas& arenas);

// Store options: the defaults, but large enough that no fixture entry is evicted.
StoreOptions roomy_store_options();
// The same without maintenance after puts (fixtures whose layout a benchmark measures).
StoreOptions roomy_unmaintained_store_options();

// A fixed-seed random sample of `count` distinct indexes below `n` (all of them, in
// random order, when n <= count).
std::vector<std::uint64_t> sample_indexes(std::uint64_t n, std::size_t count, std::uint64_t seed);

// Writes a pack of `tables` entries, key_for(0 .. tables-1), to `path`; its size to
// `file_bytes` when given. Returns the reason on failure.
std::optional<std::string> write_tiny_pack(const std::filesystem::path& path, std::uint64_t tables, const TinyArenas& arenas,
                                           std::uint64_t* file_bytes = nullptr);

// A store at `root` whose entries are those of the pack at `pack` (hard-linked into
// its packs/ and indexed with rebuild_index): a store of 100,000 entries in two files.
// Checks that the store counts `entries` entries.
std::optional<std::string> make_store_from_pack(const std::filesystem::path& root, const std::filesystem::path& pack,
                                                std::uint64_t entries);

// A table stored through a BuildCacheManager, with inputs as a compiler gives them: the
// function, its signature, the source files its methods come from (4, made up) and the
// hierarchy its dispatch depends on (every type of the model).
struct ManagedTable {
    std::string size_name;
    testing::RandomModel model;
    TableInputs inputs;
    CacheKey key;
    std::size_t arena_bytes = 0;
};

// Fills t.inputs from t.size_name and t.model, stores the table through `manager` (a
// miss that builds it), checks that asking again is a hit, and records its key and size.
std::optional<std::string> store_through_manager(BuildCacheManager& manager, ManagedTable& t);

// A manager with its cache in `dir`, in a build session, holding the tables of the
// three size classes (make_random_model(kModelSeed)), each stored by a miss.
struct ManagerFixture {
    std::unique_ptr<BuildCacheManager> manager;
    std::vector<std::unique_ptr<ManagedTable>> tables;
};
std::optional<std::string> make_manager_fixture(ManagerFixture& mx, const std::filesystem::path& dir);

}  // namespace jdc::bench
