#include <catch2/catch.hpp>

#include "jdc/arena_builder.hpp"
#include "jdc/arena_view.hpp"
#include "support/random_model.hpp"

using namespace jdc;
using jdc::testing::for_each_tuple;
using jdc::testing::make_random_model;
using jdc::testing::RandomModelOptions;

namespace {

std::vector<std::byte> build(const DispatchTable& t, const TypeRegistry& r, const OptimizationResult& o = {},
                             std::uint64_t ts = 1'700'000'000'000'000'000ull) {
    auto bytes = build_arena(t, r, o, {ts});
    REQUIRE(bytes);
    return std::move(*bytes);
}

// Every tuple over the model's user types and the built-ins i32/string, so
// no-method answers are exercised too.
std::vector<TypeId> probe_types(const testing::RandomModel& m) {
    std::vector<TypeId> types = m.user_types;
    types.push_back(kTypeI32);
    types.push_back(kTypeString);
    return types;
}

void check_lookups_match_reference(const BoundArena& bound, const testing::RandomModel& m, const TypeRegistry& reg,
                                   const DispatchTable& table) {
    std::size_t checked = 0;
    for_each_tuple(probe_types(m), table.arity(), [&](std::span<const TypeId> args) {
        const Resolution got = bound.lookup(args);
        const Resolution want = resolve_reference(table, reg, args);
        if (!got.same_outcome(want)) {
            INFO("tuple #" << checked << ": got kind " << int(got.kind) << " index " << got.index << ", want kind "
                           << int(want.kind) << " index " << want.index);
            REQUIRE(got.same_outcome(want));
        }
        ++checked;
    });
    CHECK(checked > 0);
}

}  // namespace

TEST_CASE("random tables round-trip through arenas and look up like the reference resolver", "[arena][property]") {
    struct Shape {
        std::uint32_t arity, types, impls, supers;
    };
    const Shape shapes[] = {
        {1, 40, 30, 1}, {1, 60, 200, 3}, {2, 24, 16, 2}, {2, 30, 120, 3}, {2, 12, 1000, 2},
        {3, 12, 60, 2}, {3, 10, 300, 4}, {4, 6, 40, 2},  {4, 7, 150, 3}, {2, 20, 0, 2},
    };
    std::uint64_t seed = 1;
    for (const Shape& s : shapes) {
        for (int rep = 0; rep < 3; ++rep, ++seed) {
            RandomModelOptions o{s.types, s.supers, s.arity, s.impls, rep == 0};
            auto m = make_random_model(seed, o);
            CAPTURE(seed, s.arity, s.types, s.impls, s.supers);
            OptimizationResult opt;
            opt.type = static_cast<OptimizationType>(seed % kOptimizationTypeCount);
            opt.memory_saved = seed * 17;
            opt.compression_ratio = 0.25 + 0.125 * double(seed % 4);
            const auto bytes = build(m.table, m.registry, opt, 1'700'000'000'000'000'000ull + seed);
            REQUIRE(verify_arena(bytes, VerifyLevel::full));

            auto view = ArenaView::open(bytes);
            REQUIRE(view);
            CHECK(view->version_major() == arena::kVersionMajor);
            CHECK(view->version_minor() == arena::kVersionMinor);
            CHECK(view->created_at_ns() == 1'700'000'000'000'000'000ull + seed);
            CHECK(view->table_hash() == table_content_hash(m.table, m.registry));
            CHECK(view->optimization_type() == opt.type);
            CHECK(view->memory_saved() == opt.memory_saved);
            CHECK(view->compression_ratio() == Approx(opt.compression_ratio).epsilon(1e-6));
            CHECK(view->signature_name() == m.table.signature_name);
            CHECK(view->arity() == s.arity);
            CHECK(view->entry_count() == s.impls);
            CHECK(view->header().total_size == bytes.size());

            auto bound = BoundArena::bind(*view, m.registry);
            REQUIRE(bound);
            CHECK(bound->to_table() == m.table);  // every field of every entry
            for (std::uint32_t i = 0; i < view->type_count(); ++i) {
                const Type* live = m.registry.find(bound->live_type(i));
                REQUIRE(live != nullptr);
                CHECK(live->name == view->type(i).name);
                CHECK(live->structural_hash == view->type(i).structural_hash);
                CHECK(live->kind == view->type(i).kind);
            }
            check_lookups_match_reference(*bound, m, m.registry, m.table);
        }
    }
}

TEST_CASE("arenas are deterministic and de-duplicate strings", "[arena]") {
    auto m = make_random_model(7, {});
    const auto a = build(m.table, m.registry);
    const auto b = build(m.table, m.registry);
    CHECK(a == b);
    // 16 implementations in 7 modules: module and file names are stored once each.
    auto view = ArenaView::open(a);
    REQUIRE(view);
    CHECK(view->entry(0).module().data() == view->entry(7).module().data());
    CHECK(view->entry(0).source_file().data() == view->entry(7).source_file().data());
}

TEST_CASE("an arena binds to another registry with the same definitions but other ids", "[arena][binding]") {
    auto m = make_random_model(11, {30, 2, 2, 40, true});
    const auto bytes = build(m.table, m.registry);

    // Rebuild the same hierarchy after unrelated types, so every id shifts.
    TypeRegistry other;
    for (int i = 0; i < 9; ++i) (void)*other.add("Unrelated" + std::to_string(i), TypeKind::enum_);
    std::vector<TypeId> remap(m.registry.size() + 1, kInvalidType);
    for (TypeId b = 1; b < kFirstUserType; ++b) remap[b] = b;
    for (const Type& t : m.registry.types()) {
        if (t.id < kFirstUserType) continue;
        std::vector<TypeId> supers;
        for (TypeId s : t.supertypes) supers.push_back(remap[s]);
        remap[t.id] = *other.add(t.name, t.kind, supers);
    }
    auto view = ArenaView::open(bytes);
    REQUIRE(view);
    auto bound = BoundArena::bind(*view, other);
    REQUIRE(bound);

    DispatchTable translated = m.table;
    auto tr = [&](TypeId t) { return t == kInvalidType ? t : remap[t]; };
    for (TypeId& t : translated.signature.parameter_types) t = tr(t);
    translated.signature.return_type = tr(translated.signature.return_type);
    for (Implementation& impl : translated.implementations) {
        for (TypeId& t : impl.parameter_types) t = tr(t);
        impl.return_type = tr(impl.return_type);
    }
    CHECK(bound->to_table() == translated);
    std::vector<TypeId> probes;
    for (TypeId t : m.user_types) probes.push_back(remap[t]);
    for_each_tuple(probes, 2, [&](std::span<const TypeId> args) {
        REQUIRE(bound->lookup(args).same_outcome(resolve_reference(translated, other, args)));
    });
}

TEST_CASE("binding reports stale arenas: a type removed or redefined", "[arena][binding]") {
    TypeRegistry r1;
    const TypeId base = *r1.add("Base", TypeKind::struct_);
    const TypeId leaf = *r1.add("Leaf", TypeKind::struct_, std::vector<TypeId>{base});
    DispatchTable t;
    t.signature_name = "f";
    t.signature = {{base}, kInvalidType};
    Implementation impl;
    impl.function = {"f", "m", 1};
    impl.parameter_types = {leaf};
    t.implementations.push_back(impl);
    const auto bytes = build(t, r1);
    auto view = ArenaView::open(bytes);
    REQUIRE(view);

    SECTION("type missing") {
        TypeRegistry r2;
        (void)*r2.add("Base", TypeKind::struct_);
        auto b = BoundArena::bind(*view, r2);
        REQUIRE_FALSE(b);
        CHECK(b.error().code == ErrorCode::stale);
        CHECK(b.error().message.find("'Leaf' no longer exists") != std::string::npos);
    }
    SECTION("supertype redefined: the subtype's structural hash changes") {
        TypeRegistry r2;
        const TypeId b2 = *r2.add("Base", TypeKind::enum_);
        (void)*r2.add("Leaf", TypeKind::struct_, std::vector<TypeId>{b2});
        auto b = BoundArena::bind(*view, r2);
        REQUIRE_FALSE(b);
        CHECK(b.error().code == ErrorCode::stale);
        CHECK(b.error().message.find("changed definition") != std::string::npos);
    }
    SECTION("the same definitions bind") { CHECK(BoundArena::bind(*view, r1)); }
}

TEST_CASE("build_arena refuses invalid tables and optimization records", "[arena]") {
    auto m = make_random_model(3, {});
    SECTION("wrong arity") {
        m.table.implementations[2].parameter_types.pop_back();
        auto r = build_arena(m.table, m.registry);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::invalid_argument);
    }
    SECTION("unregistered type") {
        m.table.implementations[0].return_type = 4242;
        CHECK_FALSE(build_arena(m.table, m.registry));
    }
    SECTION("nonsense compression ratio") {
        OptimizationResult o;
        o.compression_ratio = -1;
        CHECK_FALSE(build_arena(m.table, m.registry, o));
    }
    SECTION("empty signature name") {
        m.table.signature_name.clear();
        CHECK_FALSE(build_arena(m.table, m.registry));
    }
}

TEST_CASE("tables with many local types bind through the heap path", "[arena][binding]") {
    // More than BoundArena's 16 inline slots.
    auto m = make_random_model(21, {80, 3, 1, 70, true});
    const auto bytes = build(m.table, m.registry);
    auto view = ArenaView::open(bytes);
    REQUIRE(view);
    REQUIRE(view->type_count() > 16);
    auto bound = BoundArena::bind(*view, m.registry);
    REQUIRE(bound);
    auto moved = std::move(*bound);  // the live-type table must survive a move
    check_lookups_match_reference(moved, m, m.registry, m.table);
}
