// Golden vectors: arenas written by each released format version, kept byte for byte
// in tests/data/v<major>.<minor>/. The current writer must reproduce the current
// version's files exactly, so any change to the encoding fails here until the
// version is bumped and new goldens are added; every older version's files must
// still verify and read back, so compatibility is tested, not promised.
//
// Regenerate (after release: only together with a version bump; before a version is
// released its goldens are amended in place, see format-spec/README.md):
//   JDC_WRITE_GOLDEN=1 build/tests/test_format_golden
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "jdc/arena_builder.hpp"
#include "jdc/arena_view.hpp"
#include "jdc/atomic_file.hpp"
#include "jdc/loaded_arena.hpp"
#include "support/random_model.hpp"

using namespace jdc;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kGoldenTime = 1'764'000'000'123'456'789ull;  // 2025-11-24T16:00:00.123456789Z

struct Golden {
    std::string name;
    TypeRegistry registry;
    DispatchTable table;
    OptimizationResult optimization;
    DispatchForms forms;  // v1.1: optimized sections
};

Golden shapes_golden() {
    Golden g;
    g.name = "shapes";
    auto& r = g.registry;
    const TypeId object = *r.add("Object", TypeKind::struct_);
    const TypeId shape = *r.add("Shape", TypeKind::struct_, std::vector<TypeId>{object});
    const TypeId drawable = *r.add("Drawable", TypeKind::struct_, std::vector<TypeId>{object});
    const TypeId circle = *r.add("Circle", TypeKind::struct_, std::vector<TypeId>{shape});
    (void)*r.add("Sprite", TypeKind::struct_, std::vector<TypeId>{shape, drawable});
    g.table.signature_name = "collide";
    g.table.signature = {{object, object}, kTypeBool};
    const TypeId params[][2] = {{object, object}, {shape, shape}, {circle, circle}, {drawable, shape}};
    std::uint32_t id = 1;
    for (auto& p : params) {
        Implementation impl;
        impl.function = {"collide", "geometry", id};
        impl.parameter_types = {p[0], p[1]};
        impl.return_type = kTypeBool;
        impl.effects = id == 1 ? 0u : 1u;
        impl.location = {"geometry.jn", 10 * id, 5};
        impl.specificity_rank = specificity_rank(impl, r);
        impl.call_frequency = 100 * id;
        g.table.implementations.push_back(impl);
        ++id;
    }
    g.forms = DispatchForms::all();
    return g;
}

Golden random_arity3_golden() {
    auto m = testing::make_random_model(42, {12, 3, 3, 24, true});
    Golden g{"random-arity3", std::move(m.registry), std::move(m.table), {}};
    g.optimization.type = OptimizationType::combined;
    g.optimization.memory_saved = 1234;
    g.optimization.compression_ratio = 0.5;
    return g;
}

Golden empty_golden() {
    Golden g;
    g.name = "empty";
    g.table.signature_name = "nothing_yet";
    g.table.signature = {{kTypeString}, kInvalidType};
    return g;
}

std::vector<Golden> goldens() {
    std::vector<Golden> all;
    all.push_back(shapes_golden());
    all.push_back(random_arity3_golden());
    all.push_back(empty_golden());
    return all;
}

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
        auto bytes = build_arena(g.table, g.registry, g.optimization, {kGoldenTime, g.forms});
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
        CHECK(view->table_hash() == arena_table_hash(*view));
        if (g.forms.compressed_table) {
            CHECK(view->optimization_type() == OptimizationType::combined);
            CHECK(view->has_dispatch_index());
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
