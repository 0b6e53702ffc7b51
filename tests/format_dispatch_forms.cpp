// Property tests of the optimized dispatch forms against the reference resolver:
// the dispatch matrix and the compressed (pole) table must give the same outcome as
// resolve_reference on every tuple of types, on random hierarchies with single and
// multiple inheritance, ambiguity and no-method calls, arity 1-4, declared types at
// the root or inside the hierarchy, and up to 1,000 implementations; also when the
// reading registry numbers the types differently, or has types the writer never saw.
// And the format 2 property behind precise cache keys: an arena is a function of the
// table and its domains only, whatever ids the registry gave and whatever unrelated
// types it holds.
#include <algorithm>
#include <random>

#include <catch2/catch.hpp>

#include "format/dispatch_sections.hpp"
#include "jdc/arena_builder.hpp"
#include "jdc/arena_optimizer.hpp"
#include "jdc/arena_view.hpp"
#include "jdc/dispatch_matrix.hpp"
#include "support/random_model.hpp"

using namespace jdc;

namespace {

struct Case {
    std::uint64_t seed;
    testing::RandomModelOptions options;
};

// Sizes chosen so that every tuple is checked against the O(n^2) oracle in seconds.
std::vector<Case> cases() {
    std::vector<Case> all;
    std::uint64_t seed = 1;
    for (std::uint32_t supers : {1u, 3u}) {
        for (bool root_method : {false, true}) {
            all.push_back({seed++, {40, supers, 1, 30, root_method}});
            all.push_back({seed++, {20, supers, 2, 40, root_method}});
            all.push_back({seed++, {10, supers, 3, 30, root_method}});
            all.push_back({seed++, {6, supers, 4, 20, root_method}});
        }
        all.push_back({seed++, {60, supers, 1, 1000, false}});  // many methods, few types
        all.push_back({seed++, {12, supers, 2, 1000, true}});
        all.push_back({seed++, {25, supers, 2, 0, false}});     // no methods at all
    }
    return all;
}

std::vector<TypeId> all_type_ids(const TypeRegistry& registry) {
    std::vector<TypeId> ids;
    for (const Type& t : registry.types()) ids.push_back(t.id);
    return ids;
}

std::vector<std::byte> optimized_arena(const testing::RandomModel& m) {
    ArenaBuildOptions options;
    options.created_at_ns = 1;
    options.forms = DispatchForms::all();
    auto bytes = build_arena(m.table, m.registry, {}, options);
    REQUIRE(bytes);
    return std::move(*bytes);
}

// The same hierarchy registered in another valid order: every type gets another id.
struct Renumbered {
    TypeRegistry registry;
    std::vector<TypeId> new_of_old;  // indexed by old id
    std::vector<TypeId> old_of_new;
};
Renumbered renumber(const TypeRegistry& old, std::uint64_t seed) {
    Renumbered r;
    r.new_of_old.assign(old.size() + 1, kInvalidType);
    r.old_of_new.assign(old.size() + 1, kInvalidType);
    for (TypeId b = 1; b < kFirstUserType; ++b) r.new_of_old[b] = r.old_of_new[b] = b;
    std::mt19937_64 rng(seed);
    std::vector<TypeId> pending;
    for (TypeId id = kFirstUserType; id <= old.size(); ++id) pending.push_back(id);
    while (!pending.empty()) {
        std::vector<std::size_t> ready;
        for (std::size_t i = 0; i < pending.size(); ++i) {
            const Type* t = old.find(pending[i]);
            if (std::all_of(t->supertypes.begin(), t->supertypes.end(), [&](TypeId s) { return r.new_of_old[s] != kInvalidType; }))
                ready.push_back(i);
        }
        const std::size_t pick = ready[rng() % ready.size()];
        const Type* t = old.find(pending[pick]);
        std::vector<TypeId> supers;
        for (TypeId s : t->supertypes) supers.push_back(r.new_of_old[s]);
        const TypeId id = *r.registry.add(t->name, t->kind, supers);
        r.new_of_old[t->id] = id;
        r.old_of_new[id] = t->id;
        pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(pick));
    }
    return r;
}

}  // namespace

TEST_CASE("matrix and compressed table agree with the reference on every tuple", "[format][dispatch]") {
    std::uint64_t tuples = 0, ambiguous = 0, none = 0, methods = 0;
    for (const Case& c : cases()) {
        const testing::RandomModel m = testing::make_random_model(c.seed, c.options);
        CAPTURE(c.seed, c.options.user_types, c.options.max_supertypes, c.options.arity, c.options.implementations);
        auto matrix = DispatchMatrix::build(m.table, m.registry);
        REQUIRE(matrix);
        const std::vector<std::byte> bytes = optimized_arena(m);
        auto view = ArenaView::open(bytes);
        REQUIRE(view);
        REQUIRE(view->has_dispatch_index());
        auto bound = BoundArena::bind(*view, m.registry);
        REQUIRE(bound);
        REQUIRE(bound->has_form(DispatchForm::compressed_table));
        // The builder skips encoding an index whose floor is over its limit: the floor
        // must never exceed what the encoding really takes.
        CHECK(detail::dispatch_index_size_floor(*matrix) <= view->section(arena::SectionKind::dispatch_index).size());
        CHECK(detail::dispatch_index_size_floor(*matrix) <= detail::encode_dispatch_index(*matrix).bytes.size());

        testing::for_each_tuple(all_type_ids(m.registry), m.table.arity(), [&](std::span<const TypeId> args) {
            const Resolution expected = resolve_reference(m.table, m.registry, args);
            CHECK(matrix->resolve(args).same_outcome(expected));
            const Resolution table = bound->lookup_table(args);
            const Resolution scan = bound->lookup_scan(args);
            const Resolution default_form = bound->lookup(args);
            if (!table.same_outcome(expected) || !scan.same_outcome(expected) || !default_form.same_outcome(expected)) {
                FAIL_CHECK("tuple mismatch: expected kind " << int(expected.kind) << " index " << expected.index << "; table "
                                                            << int(table.kind) << "/" << table.index << ", scan " << int(scan.kind)
                                                            << "/" << scan.index);
            }
            if (expected.kind == ResolutionKind::ambiguous) {
                ++ambiguous;
                // Witnesses must be two applicable, unordered methods, whichever the form names.
                CHECK(table.index != table.other);
            }
            none += expected.kind == ResolutionKind::no_method;
            methods += expected.kind == ResolutionKind::method;
            ++tuples;
        });
    }
    INFO(tuples << " tuples: " << methods << " methods, " << ambiguous << " ambiguous, " << none << " no method");
    CHECK(ambiguous > 0);
    CHECK(none > 0);
    CHECK(methods > 0);
}

// A table whose declared parameter types lie inside the hierarchy: each position's
// universe is a proper domain, arguments outside it have no method, and every other
// type of the registry must not matter.
DispatchTable table_over(const testing::RandomModel& m, std::span<const TypeId> declared, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    DispatchTable t;
    t.signature_name = "inner_" + std::to_string(seed);
    t.signature.parameter_types.assign(declared.begin(), declared.end());
    t.signature.return_type = kTypeI32;
    std::vector<std::vector<TypeId>> domains;
    for (TypeId d : declared) {
        const auto members = m.registry.domain(d).members();
        domains.emplace_back(members.begin(), members.end());
    }
    for (std::uint32_t i = 0; i < 12; ++i) {
        Implementation impl;
        impl.function = {t.signature_name, "m", i};
        for (const auto& d : domains) impl.parameter_types.push_back(d[rng() % d.size()]);
        impl.return_type = kTypeI32;
        impl.location = {"m.jn", i + 1, 1};
        t.implementations.push_back(std::move(impl));
    }
    std::sort(t.implementations.begin(), t.implementations.end(),
              [](const Implementation& a, const Implementation& b) { return a.parameter_types < b.parameter_types; });
    t.implementations.erase(std::unique(t.implementations.begin(), t.implementations.end(),
                                        [](const Implementation& a, const Implementation& b) { return a.parameter_types == b.parameter_types; }),
                            t.implementations.end());
    for (std::uint32_t i = 0; i < t.implementations.size(); ++i) t.implementations[i].function.id = i;
    return t;
}

TEST_CASE("poles are the applicable sets, numbered by their first member in rank order", "[format][dispatch]") {
    // Both ways the builder finds a member's set: a subtype test per parameter type (few
    // of them at a position) and from the supertypes' sets (many); sets of one word and
    // of several (over 64 methods).
    std::size_t few = 0, many = 0, wide = 0;
    for (const Case& c : cases()) {
        const testing::RandomModel m = testing::make_random_model(c.seed, c.options);
        CAPTURE(c.seed, c.options.implementations);
        auto matrix = DispatchMatrix::build(m.table, m.registry);
        REQUIRE(matrix);
        const std::size_t n = m.table.implementations.size();
        wide += n > 64;
        for (std::uint32_t pos = 0; pos < m.table.arity(); ++pos) {
            const TypeDomain& universe = m.registry.domain(m.table.signature.parameter_types[pos]);
            std::vector<TypeId> kinds;
            for (const Implementation& impl : m.table.implementations) kinds.push_back(impl.parameter_types[pos]);
            std::sort(kinds.begin(), kinds.end());
            kinds.erase(std::unique(kinds.begin(), kinds.end()), kinds.end());
            (kinds.size() > 8 ? many : few) += 1;
            std::vector<std::vector<bool>> pole_set;  // by pole, from the definition
            for (std::uint32_t rank = 0; rank < universe.size(); ++rank) {
                std::vector<bool> set(n);
                for (std::size_t i = 0; i < n; ++i) set[i] = m.registry.is_subtype(universe.member(rank), m.table.implementations[i].parameter_types[pos]);
                const auto at = std::find(pole_set.begin(), pole_set.end(), set);
                const auto expected = static_cast<std::uint32_t>(at - pole_set.begin()) + 1;
                if (at == pole_set.end()) pole_set.push_back(set);
                CHECK(matrix->pole_of_rank(pos, rank) == expected);
            }
            CHECK(matrix->pole_count(pos) == pole_set.size());
        }
    }
    CHECK(few > 0);
    CHECK(many > 0);
    CHECK(wide > 0);
}

TEST_CASE("declared types inside the hierarchy: the table answers over their domains, no method outside", "[format][dispatch]") {
    for (std::uint64_t seed = 100; seed < 112; ++seed) {
        const testing::RandomModel m = testing::make_random_model(seed, {40, 3, 2, 0, false});
        CAPTURE(seed);
        const std::vector<TypeId> declared = {m.user_types[1 + seed % 8], m.user_types[2 + seed % 5]};
        const DispatchTable t = table_over(m, declared, seed);
        auto bytes = build_arena(t, m.registry, {}, ArenaBuildOptions(1, DispatchForms::all()));
        REQUIRE(bytes);
        auto view = ArenaView::open(*bytes);
        REQUIRE(view);
        auto bound = BoundArena::bind(*view, m.registry);
        REQUIRE(bound);
        REQUIRE(bound->has_form(DispatchForm::compressed_table));
        testing::for_each_tuple(all_type_ids(m.registry), 2, [&](std::span<const TypeId> args) {
            const Resolution expected = resolve_reference(t, m.registry, args);
            CHECK(bound->lookup(args).same_outcome(expected));
            CHECK(bound->lookup_scan(args).same_outcome(expected));
        });
        // Ids that are no type at all.
        const TypeId unknown[] = {kInvalidType, static_cast<TypeId>(m.registry.size() + 7)};
        for (TypeId u : unknown) CHECK(bound->lookup(std::vector<TypeId>{u, declared[1]}).kind == ResolutionKind::no_method);
    }
}

TEST_CASE("an arena depends on its domains only: unrelated types and other ids give the same bytes", "[format][dispatch]") {
    // The same hierarchy under `Base`, registered (a) alone, (b) after and among many
    // unrelated types, in another order: every id differs, the arenas must not.
    auto build = [](bool with_unrelated, bool reversed) {
        TypeRegistry r;
        std::vector<TypeId> noise;
        auto add_noise = [&](int count) {
            for (int i = 0; i < count && with_unrelated; ++i)
                noise.push_back(*r.add("Noise" + std::to_string(noise.size()), TypeKind::struct_,
                                       noise.empty() ? std::vector<TypeId>{} : std::vector<TypeId>{noise[noise.size() / 2]}));
        };
        add_noise(17);
        const TypeId base = *r.add("Base", TypeKind::struct_);
        add_noise(5);
        TypeId a, b;
        if (!reversed) {
            a = *r.add("A", TypeKind::struct_, std::vector<TypeId>{base});
            add_noise(3);
            b = *r.add("B", TypeKind::struct_, std::vector<TypeId>{base});
        } else {
            b = *r.add("B", TypeKind::struct_, std::vector<TypeId>{base});
            add_noise(3);
            a = *r.add("A", TypeKind::struct_, std::vector<TypeId>{base});
        }
        const TypeId ab = *r.add("AB", TypeKind::struct_, std::vector<TypeId>{a, b});
        add_noise(9);
        DispatchTable t;
        t.signature_name = "meet";
        t.signature = {{base, base}, kTypeString};
        const std::pair<TypeId, TypeId> methods[] = {{base, base}, {a, base}, {base, b}, {ab, ab}};
        for (std::uint32_t i = 0; i < 4; ++i) {
            Implementation impl;
            impl.function = {"meet", "m", i};
            impl.parameter_types = {methods[i].first, methods[i].second};
            impl.return_type = kTypeString;
            impl.location = {"m.jn", 10 + i, 1};
            impl.specificity_rank = specificity_rank(impl, r);
            t.implementations.push_back(std::move(impl));
        }
        ArenaBuildOptions options(1, DispatchForms::all());
        options.key = {0x1234, 0x5678};
        auto bytes = build_arena(t, r, {}, options);
        REQUIRE(bytes);
        return *bytes;
    };
    const std::vector<std::byte> plain = build(false, false);
    CHECK(build(true, false) == plain);
    CHECK(build(false, true) == plain);
    CHECK(build(true, true) == plain);
}

TEST_CASE("bind_keyed accepts only the arena of the key asked for, and then answers without checking types", "[format][dispatch]") {
    const testing::RandomModel m = testing::make_random_model(21, {30, 2, 2, 40, true});
    ArenaBuildOptions options(1, DispatchForms::all());
    options.key = {1, 2};
    auto bytes = build_arena(m.table, m.registry, {}, options);
    REQUIRE(bytes);
    auto view = ArenaView::open(*bytes);
    REQUIRE(view);
    CHECK(view->key() == CacheKey{1, 2});
    const auto declared = m.table.signature.parameter_types;
    auto wrong = BoundArena::bind_keyed(*view, m.registry, CacheKey{1, 3}, declared);
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().code == ErrorCode::stale);
    CHECK_THAT(wrong.error().message, Catch::Contains("not 00000000000000010000000000000003"));
    auto bound = BoundArena::bind_keyed(*view, m.registry, CacheKey{1, 2}, declared);
    REQUIRE(bound);
    CHECK(bound->to_table() == m.table);
    testing::for_each_tuple(all_type_ids(m.registry), 2, [&](std::span<const TypeId> args) {
        CHECK(bound->lookup(args).same_outcome(resolve_reference(m.table, m.registry, args)));
    });
    // The declared types given must be the arena's.
    const std::vector<TypeId> other_declared = {m.user_types[3], m.root};
    CHECK(BoundArena::bind_keyed(*view, m.registry, CacheKey{1, 2}, other_declared).error().code == ErrorCode::invalid_argument);
}

TEST_CASE("a registry that numbers the types differently reads the same answers", "[format][dispatch]") {
    for (const Case& c : cases()) {
        if (c.options.implementations > 100) continue;
        const testing::RandomModel m = testing::make_random_model(c.seed, c.options);
        CAPTURE(c.seed);
        const std::vector<std::byte> bytes = optimized_arena(m);
        auto view = ArenaView::open(bytes);
        REQUIRE(view);
        const Renumbered r = renumber(m.registry, c.seed * 31);
        auto bound = BoundArena::bind(*view, r.registry);
        REQUIRE(bound);
        std::vector<TypeId> old_args;
        testing::for_each_tuple(all_type_ids(r.registry), m.table.arity(), [&](std::span<const TypeId> args) {
            old_args.assign(args.size(), 0);
            for (std::size_t p = 0; p < args.size(); ++p) old_args[p] = r.old_of_new[args[p]];
            const Resolution expected = resolve_reference(m.table, m.registry, old_args);
            CHECK(bound->lookup_table(args).same_outcome(expected));
        });
    }
}

TEST_CASE("types the writer never saw: the domains differ, the scan answers, correctly", "[format][dispatch]") {
    for (const Case& c : cases()) {
        if (c.options.implementations > 100 || c.options.arity > 3) continue;
        testing::RandomModel m = testing::make_random_model(c.seed, c.options);
        CAPTURE(c.seed);
        const std::vector<std::byte> bytes = optimized_arena(m);
        // New subtypes after writing: one under the root, one under a mix of user types.
        std::vector<TypeId> added;
        added.push_back(*m.registry.add("Late1", TypeKind::struct_, std::vector<TypeId>{m.root}));
        const std::vector<TypeId> mix = {m.user_types[m.user_types.size() / 2], m.user_types.back()};
        added.push_back(*m.registry.add("Late2", TypeKind::struct_, mix));
        auto view = ArenaView::open(bytes);
        REQUIRE(view);
        auto bound = BoundArena::bind(*view, m.registry);
        REQUIRE(bound);
        CHECK_FALSE(bound->has_form(DispatchForm::compressed_table));  // the root's domain gained Late1 and Late2
        testing::for_each_tuple(all_type_ids(m.registry), m.table.arity(), [&](std::span<const TypeId> args) {
            const Resolution expected = resolve_reference(m.table, m.registry, args);
            CHECK(bound->lookup(args).same_outcome(expected));
        });
    }
}

TEST_CASE("reoptimizing an arena without the registry keeps every answer", "[format][dispatch]") {
    const testing::RandomModel m = testing::make_random_model(77, {20, 2, 2, 40, false});
    ArenaBuildOptions options(1, DispatchForms::all());
    options.key = {7, 7};
    auto bytes = build_arena(m.table, m.registry, {}, options);
    REQUIRE(bytes);
    auto view = ArenaView::open(*bytes);
    REQUIRE(view);
    REQUIRE(view->has_dispatch_index());

    // Re-encoding is canonical: the writer's own bytes come back.
    auto same = reoptimize_arena(*view);
    REQUIRE(same);
    CHECK(*same == *bytes);

    // Dropping the index keeps entries, types, strings and key; the scan answers.
    ReoptimizeOptions drop;
    drop.forms.compressed_table = false;
    auto dropped = reoptimize_arena(*view, drop);
    REQUIRE(dropped);
    auto plain = ArenaView::open(*dropped);
    REQUIRE(plain);
    CHECK_FALSE(plain->has_dispatch_index());
    CHECK(plain->key() == CacheKey{7, 7});
    CHECK(plain->optimization_type() == OptimizationType::none);
    CHECK(plain->memory_saved() == 0);
    CHECK(dropped->size() < bytes->size());
    auto bound = BoundArena::bind(*plain, m.registry);
    REQUIRE(bound);
    CHECK(bound->to_table() == m.table);
    testing::for_each_tuple(all_type_ids(m.registry), 2, [&](std::span<const TypeId> args) {
        CHECK(bound->lookup(args).same_outcome(resolve_reference(m.table, m.registry, args)));
    });
    CHECK_THAT(describe_dispatch_forms(*plain), Catch::Contains("scan only"));
    CHECK_THAT(describe_dispatch_forms(*view), Catch::Contains("poles"));

    // Without an index there is nothing to rebuild from.
    CHECK(reoptimize_arena(*plain).error().code == ErrorCode::not_found);
}

TEST_CASE("optimization records are computed, not guessed", "[format][dispatch]") {
    const testing::RandomModel m = testing::make_random_model(5, {200, 2, 2, 10, true});
    auto matrix = DispatchMatrix::build(m.table, m.registry);
    REQUIRE(matrix);
    const std::vector<std::byte> bytes = optimized_arena(m);
    auto view = ArenaView::open(bytes);
    REQUIRE(view);
    const std::uint64_t dense = matrix->dense_bytes();
    const std::uint64_t stored = view->section(arena::SectionKind::dispatch_index).size();
    CHECK(dense == std::uint64_t{matrix->domain_size(0)} * matrix->domain_size(1) * 4);
    CHECK(view->memory_saved() == dense - stored);
    CHECK(view->compression_ratio() == Approx(double(stored) / double(dense)).margin(1e-6));  // stored in ppm
    CHECK(view->compression_ratio() < 0.5);  // 200 types, far fewer poles
    for (std::uint32_t p = 0; p < 2; ++p) CHECK(matrix->pole_count(p) < 30);  // 201 types, a handful of behaviours
}

TEST_CASE("too large a matrix leaves the forms out and the scan answers", "[format][dispatch]") {
    const testing::RandomModel m = testing::make_random_model(9, {10, 2, 3, 30, true});
    ArenaBuildOptions options;
    options.created_at_ns = 1;
    options.forms = DispatchForms::all();
    options.forms.limits.max_cells = 2;
    auto bytes = build_arena(m.table, m.registry, {}, options);
    REQUIRE(bytes);
    auto view = ArenaView::open(*bytes);
    REQUIRE(view);
    CHECK_FALSE(view->has_dispatch_index());
    CHECK(view->optimization_type() == OptimizationType::none);
    CHECK(DispatchMatrix::build(m.table, m.registry, options.forms.limits).error().code == ErrorCode::limit_exceeded);
}

TEST_CASE("an index over twice the rest of the arena is left out by the default policy, and by the compactor's re-encoding", "[format][dispatch]") {
    // Random methods over 256 types: nearly every type behaves differently, so the
    // compressed table is about as large as the dense matrix, several times the entries.
    const testing::RandomModel wide = testing::make_random_model(20261124, {256, 2, 2, 200, true});
    auto forced = build_arena(wide.table, wide.registry, {}, ArenaBuildOptions(1, DispatchForms::all()));
    REQUIRE(forced);
    auto forced_view = ArenaView::open(*forced);
    REQUIRE(forced_view);
    REQUIRE(forced_view->has_dispatch_index());
    const std::span<const std::byte> index_bytes = forced_view->section(arena::SectionKind::dispatch_index);
    const std::uint64_t index = index_bytes.size();
    const std::uint64_t rest = static_cast<std::uint64_t>(index_bytes.data() - forced->data());  // what precedes it
    REQUIRE(double(index) > DispatchForms::kDefaultMaxIndexShare * double(rest));

    auto capped = build_arena(wide.table, wide.registry, {}, ArenaBuildOptions(1, DispatchForms::for_table(wide.table)));
    REQUIRE(capped);
    auto capped_view = ArenaView::open(*capped);
    REQUIRE(capped_view);
    CHECK_FALSE(capped_view->has_dispatch_index());
    CHECK(capped_view->optimization_type() == OptimizationType::none);
    auto bound = BoundArena::bind(*capped_view, wide.registry);
    REQUIRE(bound);
    std::mt19937_64 rng(3);
    for (int k = 0; k < 500; ++k) {
        const TypeId args[2] = {wide.user_types[rng() % wide.user_types.size()], wide.user_types[rng() % wide.user_types.size()]};
        CHECK(bound->lookup(args).same_outcome(resolve_reference(wide.table, wide.registry, args)));
    }
    ReoptimizeOptions reencode;
    reencode.forms.max_index_share = DispatchForms::kDefaultMaxIndexShare;
    auto reoptimized = reoptimize_arena(*forced_view, reencode);
    REQUIRE(reoptimized);
    auto reoptimized_view = ArenaView::open(*reoptimized);
    REQUIRE(reoptimized_view);
    CHECK_FALSE(reoptimized_view->has_dispatch_index());

    // A table whose types fall into a few behaviours keeps its (small) index.
    const testing::RandomModel narrow = testing::make_random_model(5, {200, 2, 2, 10, true});
    auto kept = build_arena(narrow.table, narrow.registry, {}, ArenaBuildOptions(1, DispatchForms::for_table(narrow.table)));
    REQUIRE(kept);
    auto kept_view = ArenaView::open(*kept);
    REQUIRE(kept_view);
    CHECK(kept_view->has_dispatch_index());
}

TEST_CASE("types outside a position's declared type have no method (declared types differing by position)", "[format][dispatch]") {
    // Found while specifying 1.1 (then over id spans): types that are not subtypes of
    // the declared parameter must answer "no method", not index past a pole array.
    TypeRegistry r;
    const TypeId object = *r.add("Object", TypeKind::struct_);
    const TypeId shape = *r.add("Shape", TypeKind::struct_, std::vector<TypeId>{object});
    const TypeId circle = *r.add("Circle", TypeKind::struct_, std::vector<TypeId>{shape});
    const TypeId other = *r.add("Other", TypeKind::struct_, std::vector<TypeId>{object});
    DispatchTable t;
    t.signature_name = "f";
    t.signature = {{shape, object}, kTypeBool};
    for (auto [a, b] : {std::pair{shape, object}, std::pair{circle, other}, std::pair{circle, object}}) {
        Implementation impl;
        impl.function = {"f", "m", 1};
        impl.parameter_types = {a, b};
        impl.return_type = kTypeBool;
        t.implementations.push_back(impl);
    }
    ArenaBuildOptions options(1, DispatchForms::all());
    auto bytes = build_arena(t, r, {}, options);
    REQUIRE(bytes);
    auto view = ArenaView::open(*bytes);
    REQUIRE(view);
    REQUIRE(view->has_dispatch_index());
    auto bound = BoundArena::bind(*view, r);
    REQUIRE(bound);
    std::vector<TypeId> all = all_type_ids(r);
    testing::for_each_tuple(all, 2, [&](std::span<const TypeId> args) {
        const Resolution expected = resolve_reference(t, r, args);
        CHECK(bound->lookup_table(args).same_outcome(expected));
    });
}

TEST_CASE("a matrix renumbered with its table's methods answers as the reordered table", "[format][dispatch]") {
    for (std::uint64_t seed : {3u, 4u, 5u}) {
        const testing::RandomModel m = testing::make_random_model(seed, {25, 2, 2, 30, true});
        auto matrix = DispatchMatrix::build(m.table, m.registry);
        REQUIRE(matrix);
        // Reverse the methods: ambiguity witnesses swap sides, so their order is checked too.
        const std::uint32_t n = static_cast<std::uint32_t>(m.table.implementations.size());
        std::vector<std::uint32_t> new_index(n);
        DispatchTable reordered = m.table;
        for (std::uint32_t i = 0; i < n; ++i) {
            new_index[i] = n - 1 - i;
            reordered.implementations[n - 1 - i] = m.table.implementations[i];
        }
        auto renumbered = matrix->renumbered(new_index);
        REQUIRE(renumbered);
        testing::for_each_tuple(all_type_ids(m.registry), 2, [&](std::span<const TypeId> args) {
            const Resolution got = renumbered->resolve(args);
            const Resolution want = resolve_reference(reordered, m.registry, args);
            CHECK(got.same_outcome(want));
            if (got.kind == ResolutionKind::ambiguous) CHECK(got.index < got.other);
        });
        // And an arena built from the reordered table with it answers the same.
        ArenaBuildOptions options;
        options.forms.compressed_table = true;
        options.matrix = &*renumbered;
        auto bytes = build_arena(reordered, m.registry, {}, options);
        REQUIRE(bytes);
        auto view = ArenaView::open(*bytes);
        REQUIRE(view);
        auto bound = BoundArena::bind(*view, m.registry);
        REQUIRE(bound);
        testing::for_each_tuple(all_type_ids(m.registry), 2, [&](std::span<const TypeId> args) {
            CHECK(bound->lookup_table(args).same_outcome(resolve_reference(reordered, m.registry, args)));
        });

        std::vector<std::uint32_t> not_a_permutation(n, 0);
        CHECK(matrix->renumbered(not_a_permutation).error().code == ErrorCode::invalid_argument);
        CHECK(matrix->renumbered(std::span(new_index).first(n - 1)).error().code == ErrorCode::invalid_argument);
    }
}

TEST_CASE("resolve_cone answers for every tuple of subtypes as the reference does, with and without the index", "[format][dispatch][cone]") {
    std::uint64_t statics = 0, ambiguous = 0, none = 0, single = 0;
    for (std::uint64_t seed = 200; seed < 216; ++seed) {
        const auto arity = static_cast<std::uint32_t>(1 + seed % 3);
        const testing::RandomModel m = testing::make_random_model(seed, {arity == 3 ? 10u : 24u, static_cast<std::uint32_t>(1 + seed % 3), arity, 14, seed % 2 == 0});
        CAPTURE(seed);
        for (bool with_index : {true, false}) {
            auto bytes = build_arena(m.table, m.registry, {}, ArenaBuildOptions(1, with_index ? DispatchForms::all() : DispatchForms{}));
            REQUIRE(bytes);
            auto view = ArenaView::open(*bytes);
            REQUIRE(view);
            auto bound = BoundArena::bind(*view, m.registry);
            REQUIRE(bound);
            REQUIRE(bound->has_form(DispatchForm::compressed_table) == with_index);
            // Static types: every type at position 0, a few at the others.
            testing::for_each_tuple(m.user_types, arity, [&](std::span<const TypeId> stat) {
                if (arity > 1 && (stat[1] % 3 != 0)) return;
                if (arity > 2 && (stat[2] % 4 != 0)) return;
                ++statics;
                const ConeResolution got = bound->resolve_cone(stat);
                // The oracle: every tuple of the cone, one by one.
                std::vector<std::vector<TypeId>> cones;
                for (TypeId s : stat) cones.emplace_back(m.registry.domain(s).members().begin(), m.registry.domain(s).members().end());
                std::vector<std::uint32_t> methods;
                bool any_ambiguous = false, any_none = false;
                std::vector<TypeId> first_ambiguous, first_none;  // the witnesses: first in lexicographic order of ids
                std::vector<std::size_t> at(arity, 0);
                std::vector<TypeId> args(arity);
                while (true) {
                    for (std::uint32_t p = 0; p < arity; ++p) args[p] = cones[p][at[p]];
                    const Resolution r = resolve_reference(m.table, m.registry, args);
                    if (r.kind == ResolutionKind::method) methods.push_back(r.index);
                    if (r.kind == ResolutionKind::ambiguous && (!any_ambiguous || args < first_ambiguous)) first_ambiguous = args;
                    if (r.kind == ResolutionKind::no_method && (!any_none || args < first_none)) first_none = args;
                    any_ambiguous |= r.kind == ResolutionKind::ambiguous;
                    any_none |= r.kind == ResolutionKind::no_method;
                    std::uint32_t p = 0;
                    while (p < arity && ++at[p] == cones[p].size()) at[p++] = 0;
                    if (p == arity) break;
                }
                std::sort(methods.begin(), methods.end());
                methods.erase(std::unique(methods.begin(), methods.end()), methods.end());
                CHECK(got.methods == methods);
                CHECK(got.ambiguous.has_value() == any_ambiguous);
                CHECK(got.no_method.has_value() == any_none);
                CHECK_FALSE(got.truncated);
                auto in_cone = [&](const std::vector<TypeId>& tuple) {
                    for (std::uint32_t p = 0; p < arity; ++p)
                        if (!m.registry.is_subtype(tuple[p], stat[p])) return false;
                    return true;
                };
                if (got.ambiguous) {
                    ++ambiguous;
                    CHECK(got.ambiguous->args == first_ambiguous);
                    CHECK(in_cone(got.ambiguous->args));
                    CHECK(resolve_reference(m.table, m.registry, got.ambiguous->args).kind == ResolutionKind::ambiguous);
                }
                if (got.no_method) {
                    ++none;
                    CHECK(*got.no_method == first_none);
                    CHECK(in_cone(*got.no_method));
                    CHECK(resolve_reference(m.table, m.registry, *got.no_method).kind == ResolutionKind::no_method);
                }
                single += got.is_static();
                // The same from the cones themselves, in any order (a compiler's subtype lists).
                for (auto& c : cones) std::reverse(c.begin(), c.end());
                const std::vector<std::span<const TypeId>> given(cones.begin(), cones.end());
                const ConeResolution from_cones = bound->resolve_cone(std::span<const std::span<const TypeId>>(given));
                CHECK(from_cones.methods == got.methods);
                CHECK(from_cones.behaviours == got.behaviours);
                REQUIRE(from_cones.ambiguous.has_value() == got.ambiguous.has_value());
                if (got.ambiguous) {
                    CHECK(from_cones.ambiguous->args == got.ambiguous->args);
                    CHECK(from_cones.ambiguous->first == got.ambiguous->first);
                    CHECK(from_cones.ambiguous->second == got.ambiguous->second);
                }
                CHECK(from_cones.no_method == got.no_method);
            });
        }
    }
    INFO(statics << " static tuples: " << single << " static, " << ambiguous << " can be ambiguous, " << none << " can have no method");
    CHECK(single > 0);
    CHECK(ambiguous > 0);
    CHECK(none > 0);
}

TEST_CASE("resolve_cone stops at its limit and says so", "[format][dispatch][cone]") {
    const testing::RandomModel m = testing::make_random_model(5, {40, 2, 2, 30, true});
    auto bytes = build_arena(m.table, m.registry, {}, ArenaBuildOptions(1, DispatchForms::all()));
    REQUIRE(bytes);
    auto view = ArenaView::open(*bytes);
    REQUIRE(view);
    auto bound = BoundArena::bind(*view, m.registry);
    REQUIRE(bound);
    const std::vector<TypeId> roots = {m.root, m.root};
    const ConeResolution all = bound->resolve_cone(roots);
    REQUIRE(all.behaviours > 4);
    const ConeResolution cut = bound->resolve_cone(roots, 4);
    CHECK(cut.truncated);
    CHECK(cut.behaviours == 4);
    CHECK_FALSE(cut.is_static());
    const std::vector<TypeId> wrong_arity = {m.root};
    CHECK(bound->resolve_cone(wrong_arity).no_method.has_value());
}
