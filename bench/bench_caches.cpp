#include "bench_caches.hpp"

#include <algorithm>
#include <random>

#include "jdc/detail/atomic_file.hpp"
#include "jdc/pack.hpp"
#include "support/arena_samples.hpp"

namespace jdc::bench {

std::optional<std::string> make_tiny_arenas(TinyArenas& a) {
    for (std::size_t i = 0; i < kDistinctArenas; ++i) {
        a.distinct.push_back(testing::arena_for(kModelSeed + i, kTinyImplementations));
        if (a.distinct.back().empty()) return "arena_for(" + std::to_string(kModelSeed + i) + ") failed";
    }
    return std::nullopt;
}

StoreOptions roomy_store_options() {
    StoreOptions o;
    o.max_size_bytes = std::uint64_t{4} << 30;
    return o;
}

StoreOptions roomy_unmaintained_store_options() {
    StoreOptions o = roomy_store_options();
    o.automatic_maintenance = false;
    return o;
}

std::vector<std::uint64_t> sample_indexes(std::uint64_t n, std::size_t count, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::uint64_t> out;
    if (n <= count) {
        for (std::uint64_t i = 0; i < n; ++i) out.push_back(i);
    } else {
        std::vector<bool> taken(n, false);
        while (out.size() < count) {
            const std::uint64_t i = rng() % n;
            if (!taken[i]) {
                taken[i] = true;
                out.push_back(i);
            }
        }
    }
    std::shuffle(out.begin(), out.end(), rng);
    return out;
}

std::optional<std::string> write_tiny_pack(const std::filesystem::path& path, std::uint64_t tables, const TinyArenas& arenas,
                                           std::uint64_t* file_bytes) {
    std::vector<PackInput> inputs;
    inputs.reserve(tables);
    for (std::uint64_t n = 0; n < tables; ++n) inputs.push_back({testing::key_for(n), arenas.for_entry(n)});
    auto bytes = build_pack(inputs, kPackCreatedAt);
    if (!bytes) return "build_pack: " + bytes.error().message;
    if (file_bytes != nullptr) *file_bytes = bytes->size();
    if (auto ok = write_file_atomically(path, *bytes); !ok) return "write pack: " + ok.error().message;
    return std::nullopt;
}

std::optional<std::string> make_store_from_pack(const std::filesystem::path& root, const std::filesystem::path& pack,
                                                std::uint64_t entries) {
    auto store = LocalStore::open(root, roomy_store_options());
    if (!store) return "LocalStore::open: " + store.error().message;
    std::error_code ec;
    std::filesystem::create_hard_link(pack, root / "packs" / "bench.jdcp", ec);
    if (ec) return "cannot link the pack into the store: " + ec.message();
    if (auto ok = store->rebuild_index("bench fixture"); !ok) return "rebuild_index: " + ok.error().message;
    if (store->stats().index.live_count != entries || store->stats().pack_count != 1)
        return "packed store holds " + std::to_string(store->stats().index.live_count) + " entries, not " +
               std::to_string(entries);
    return std::nullopt;
}

std::optional<std::string> store_through_manager(BuildCacheManager& manager, ManagedTable& t) {
    const std::string& name = t.size_name;
    t.inputs.name = "bench::" + name;
    t.inputs.signature = t.model.table.signature;
    for (std::uint64_t f = 0; f < 4; ++f)
        t.inputs.sources.push_back({"src/" + name + "_" + std::to_string(f) + ".jn", testing::key_for(f)});
    t.inputs.methods = method_inputs(t.model.table);
    const DispatchTable table = t.model.table;
    TableBuilder builder = [table](const TableInputs&, const TypeRegistry&) -> Result<BuiltTable> {
        return BuiltTable{table, {}};
    };
    auto first = manager.getOrBuildDispatchTable(t.inputs, t.model.registry, builder);
    if (!first) return "first getOrBuildDispatchTable (" + name + "): " + first.error().message;
    if (first->origin() != TableOrigin::built) return "first lookup of " + name + " was a hit";
    auto second = manager.getOrBuildDispatchTable(t.inputs, t.model.registry, builder);
    if (!second) return "second getOrBuildDispatchTable (" + name + "): " + second.error().message;
    if (second->origin() != TableOrigin::cache) return "second lookup of " + name + " was not a hit";
    t.key = second->key();
    t.arena_bytes = second->view().bytes().size();
    return std::nullopt;
}

std::optional<std::string> make_manager_fixture(ManagerFixture& mx, const std::filesystem::path& dir) {
    CacheConfig config;
    config.cache_directory = dir;
    auto manager = BuildCacheManager::create(config, {"janusc bench", 0x5eed});
    if (!manager) return "BuildCacheManager::create: " + manager.error().message;
    mx.manager = std::make_unique<BuildCacheManager>(std::move(*manager));
    if (auto ok = mx.manager->startBuildSession(); !ok) return "startBuildSession: " + ok.error().message;
    for (const auto& [name, options] : size_classes()) {
        auto t = std::make_unique<ManagedTable>();
        t->size_name = name;
        t->model = testing::make_random_model(kModelSeed, options);
        if (auto e = store_through_manager(*mx.manager, *t)) return e;
        mx.tables.push_back(std::move(t));
    }
    // The tables were written behind: end the session so they are in the store (one
    // pack), and time hits from there, as a compiler's next build gets them.
    if (auto ok = mx.manager->endBuildSession(); !ok) return "endBuildSession: " + ok.error().message;
    if (auto ok = mx.manager->startBuildSession(); !ok) return "startBuildSession: " + ok.error().message;
    return std::nullopt;
}

}  // namespace jdc::bench
