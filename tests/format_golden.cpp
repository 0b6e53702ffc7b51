// Golden vectors: arenas written by each released format version, kept byte for byte
// in tests/data/v<major>.<minor>/. The current writer must reproduce the current
// version's files exactly, so any change to the encoding fails here until the
// version is bumped and new goldens are added; every older version's files must
// still verify and read back, so compatibility is tested, not promised.
//
// Regenerate (after release: only together with a version bump; before a version is
// released its goldens are amended in place, see format-spec/README.md):
//   JDC_WRITE_GOLDEN=1 build/tests/test_format_golden
// The models are in support/golden_models.hpp (shared with the fixtures of the
// independent decoder, format-spec/tools/decode_forms.py).
#include <catch2/catch.hpp>

#include <bit>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <xxhash.h>

#include "jdc/arena_builder.hpp"
#include "jdc/arena_view.hpp"
#include "jdc/detail/atomic_file.hpp"
#include "jdc/loaded_arena.hpp"
#include "support/golden_models.hpp"
#include "support/random_model.hpp"

using namespace jdc;
using jdc::testing::Golden;
using jdc::testing::goldens;
using jdc::testing::kGoldenTime;
namespace fs = std::filesystem;

namespace {

fs::path version_dir(std::uint16_t major, std::uint16_t minor) {
    return fs::path(JDC_TEST_DATA) / ("v" + std::to_string(major) + "." + std::to_string(minor));
}

std::vector<std::byte> read_bytes(const fs::path& p) {
    auto r = read_file_bytes(p, 1 << 20);
    REQUIRE(r);
    return *r;
}

}  // namespace

TEST_CASE("the writer reproduces the current version's golden arenas byte for byte", "[golden]") {
    const fs::path dir = version_dir(arena::kVersionMajor, arena::kVersionMinor);
    const bool write = std::getenv("JDC_WRITE_GOLDEN") != nullptr;
    if (write) fs::create_directories(dir);
    for (Golden& g : goldens()) {
        ArenaBuildOptions options(kGoldenTime, g.forms);
        options.key = g.key;
        auto bytes = build_arena(g.table, g.registry, g.optimization, options);
        REQUIRE(bytes);
        const fs::path file = dir / (g.name + ".jdca");
        if (write) REQUIRE(write_file_atomically(file, *bytes));
        INFO("golden " << file << ": if the encoding changed on purpose, bump the format version, update "
                          "format-spec/ and add goldens for the new version (JDC_WRITE_GOLDEN=1)");
        REQUIRE(fs::exists(file));
        CHECK(read_bytes(file) == *bytes);
    }
}

TEST_CASE("golden arenas of every version still verify and read back", "[golden]") {
    std::size_t files = 0;
    for (const auto& version : fs::directory_iterator(JDC_TEST_DATA)) {
        if (!version.is_directory() || version.path().filename().string().rfind('v', 0) != 0) continue;
        for (const auto& f : fs::directory_iterator(version.path())) {
            if (f.path().extension() != ".jdca") continue;
            ++files;
            CAPTURE(f.path().string());
            auto loaded = LoadedArena::open(f.path());
            REQUIRE(loaded);
            CHECK(loaded->view().created_at_ns() == kGoldenTime);
        }
    }
    CHECK(files >= 3);
}

TEST_CASE("the current goldens hold exactly their models", "[golden]") {
    const fs::path dir = version_dir(arena::kVersionMajor, arena::kVersionMinor);
    for (Golden& g : goldens()) {
        CAPTURE(g.name);
        const auto bytes = read_bytes(dir / (g.name + ".jdca"));
        auto view = ArenaView::open(bytes);
        REQUIRE(view);
        auto bound = BoundArena::bind(*view, g.registry);
        REQUIRE(bound);
        CHECK(bound->to_table() == g.table);
        CHECK(view->table_hash() == table_content_hash(g.table, g.registry));
        CHECK(view->key() == g.key);
        if (g.forms.compressed_table) {
            // arena-v2.md §6.4: one technique names itself, several are `combined`.
            REQUIRE(view->has_dispatch_index());
            arena::DispatchIndexHeader ih;
            std::memcpy(&ih, view->section(arena::SectionKind::dispatch_index).data(), sizeof ih);
            const int applied = std::popcount(ih.techniques);
            CHECK(static_cast<unsigned>(view->optimization_type()) ==
                  (applied == 1 ? static_cast<unsigned>(std::countr_zero(ih.techniques)) : static_cast<unsigned>(OptimizationType::combined)));
        } else {
            CHECK(view->optimization_type() == g.optimization.type);
            CHECK(view->memory_saved() == g.optimization.memory_saved);
        }
        std::vector<TypeId> all_types;
        for (const Type& t : g.registry.types()) all_types.push_back(t.id);
        testing::for_each_tuple(all_types, g.table.arity(), [&](std::span<const TypeId> args) {
            const Resolution expected = resolve_reference(g.table, g.registry, args);
            CHECK(bound->lookup_scan(args).same_outcome(expected));
            CHECK(bound->lookup_table(args).same_outcome(expected));
        });
    }
}

// Format 1.x goldens, read by this (2.x) reader: the required sections as 1.x wrote
// them (the type record's last field is the writer's id), the 1.1 optional sections
// skipped (arena-v2.md §13.1), so every lookup is the scan's, and it must be right.
TEST_CASE("1.x goldens bind to their models and answer like the reference", "[golden]") {
    std::size_t files = 0;
    for (Golden& g : goldens()) {
        for (const char* version : {"v1.0", "v1.1"}) {
            const fs::path file = fs::path(JDC_TEST_DATA) / version / (g.name + ".jdca");
            if (!fs::exists(file)) continue;  // models added since 2.0
            ++files;
            CAPTURE(file.string());
            const auto bytes = read_bytes(file);
            auto view = ArenaView::open(bytes);
            REQUIRE(view);
            CHECK(view->version_major() == 1);
            CHECK(view->key().is_zero());
            CHECK_FALSE(view->has_dispatch_index());  // 1.1's index speaks writer ids: skipped
            for (std::uint32_t i = 0; i < view->type_count(); ++i) {
                const LocalType t = view->type(i);
                CHECK(t.domain_position == arena::kNoDomain);
                CHECK(t.id_hint == g.registry.find_by_structural_hash(t.structural_hash));  // written by this registry
            }
            auto bound = BoundArena::bind(*view, g.registry);
            REQUIRE(bound);
            CHECK(bound->to_table() == g.table);
            CHECK(view->table_hash() == table_content_hash(g.table, g.registry));
            CHECK_FALSE(bound->has_form(DispatchForm::compressed_table));
            std::vector<TypeId> all_types;
            for (const Type& t : g.registry.types()) all_types.push_back(t.id);
            all_types.push_back(static_cast<TypeId>(g.registry.size() + 1));  // unregistered
            testing::for_each_tuple(all_types, g.table.arity(), [&](std::span<const TypeId> args) {
                CHECK(bound->lookup(args).same_outcome(resolve_reference(g.table, g.registry, args)));
            });
        }
    }
    CHECK(files == 6);
}

// Bytes 80-95 are the key since 2.0; in a 1.x header they are reserved, and a 1.x
// reader ignores whatever they hold (arena-v1.md §1). So a 1.x arena with non-zero
// bytes there is valid and carries no key: a 2.x reader must not take them for one
// (arena-v2.md §3.2, §13.1), or bind_keyed would trust a 1.x arena's types for a key
// its writer never wrote.
TEST_CASE("the reserved bytes of a 1.x header are not a key", "[golden]") {
    auto bytes = read_bytes(version_dir(1, 1) / "shapes.jdca");
    const CacheKey junk{0x1111111111111111ull, 0x2222222222222222ull};
    std::memcpy(bytes.data() + offsetof(arena::Header, key_hi), &junk.hi, 8);
    std::memcpy(bytes.data() + offsetof(arena::Header, key_lo), &junk.lo, 8);
    const std::uint64_t meta = XXH3_64bits(bytes.data(), arena::kMetadataChecksumCoverage);
    std::memcpy(bytes.data() + offsetof(arena::Header, metadata_checksum), &meta, 8);
    auto view = ArenaView::open(bytes);
    REQUIRE(view);  // readers ignore reserved bytes
    CHECK(view->key().is_zero());
    auto header = read_arena_header(bytes);
    REQUIRE(header);
    CHECK(arena_key(*header).is_zero());
    const Golden g = testing::shapes_golden();
    const TypeId object = g.registry.find("Object");
    const TypeId declared[] = {object, object};
    auto keyed = BoundArena::bind_keyed(*view, g.registry, junk, declared);
    REQUIRE_FALSE(keyed);
    CHECK(keyed.error().code == ErrorCode::stale);
}
