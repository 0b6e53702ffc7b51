// Property tests of the optimized dispatch forms against the reference resolver:
// the dispatch matrix, the compressed (pole) table and the decision tree must give
// the same outcome as resolve_reference on every tuple of types, on random
// hierarchies with single and multiple inheritance, ambiguity and no-method calls,
// arity 1-4 and up to 1,000 implementations; also when the reading registry numbers
// the types differently, or has types the writer never saw.
#include <algorithm>
#include <random>

#include <catch2/catch.hpp>

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

TEST_CASE("matrix, compressed table and decision tree agree with the reference on every tuple", "[format][dispatch]") {
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
        CHECK(bound->ids_match_writer());
        REQUIRE(bound->has_form(DispatchForm::compressed_table));
        const bool tree = bound->has_form(DispatchForm::decision_tree);

        testing::for_each_tuple(all_type_ids(m.registry), m.table.arity(), [&](std::span<const TypeId> args) {
            const Resolution expected = resolve_reference(m.table, m.registry, args);
            Resolution from_matrix;
            if (matrix->resolve(args, from_matrix)) CHECK(from_matrix.same_outcome(expected));
            const Resolution table = bound->lookup_table(args);
            const Resolution via_tree = bound->lookup_tree(args);
            const Resolution default_form = bound->lookup(args);
            if (!table.same_outcome(expected) || !via_tree.same_outcome(expected) || !default_form.same_outcome(expected)) {
                FAIL_CHECK("tuple mismatch: expected kind " << int(expected.kind) << " index " << expected.index << "; table "
                                                            << int(table.kind) << "/" << table.index << ", tree " << int(via_tree.kind)
                                                            << "/" << via_tree.index);
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
        if (c.options.implementations <= 40) CHECK(tree);  // well inside the default node budget
    }
    INFO(tuples << " tuples: " << methods << " methods, " << ambiguous << " ambiguous, " << none << " no method");
    CHECK(ambiguous > 0);
    CHECK(none > 0);
    CHECK(methods > 0);
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
            CHECK(bound->lookup_tree(args).same_outcome(expected));
        });
    }
}

TEST_CASE("types the writer never saw are resolved by the scan, correctly", "[format][dispatch]") {
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
        testing::for_each_tuple(all_type_ids(m.registry), m.table.arity(), [&](std::span<const TypeId> args) {
            const Resolution expected = resolve_reference(m.table, m.registry, args);
            CHECK(bound->lookup_table(args).same_outcome(expected));
            CHECK(bound->lookup_tree(args).same_outcome(expected));
        });
    }
}

TEST_CASE("reoptimizing an arena without the registry keeps every answer", "[format][dispatch]") {
    const testing::RandomModel m = testing::make_random_model(77, {20, 2, 2, 40, false});
    ArenaBuildOptions options;
    options.created_at_ns = 1;
    options.forms.compressed_table = true;  // table only: the optimizer adds the tree
    auto bytes = build_arena(m.table, m.registry, {}, options);
    REQUIRE(bytes);
    auto view = ArenaView::open(*bytes);
    REQUIRE(view);
    CHECK_FALSE(view->has_decision_tree());

    ReoptimizeOptions ro;
    ro.method_weights.assign(m.table.implementations.size(), 1);
    ro.method_weights[3] = 1'000'000;  // a hot method
    auto rebuilt = reoptimize_arena(*view, ro);
    REQUIRE(rebuilt);
    auto again = ArenaView::open(*rebuilt);
    REQUIRE(again);
    CHECK(again->has_decision_tree());
    CHECK(again->optimization_type() == OptimizationType::combined);
    CHECK_THAT(describe_dispatch_forms(*again), Catch::Contains("shaped by call frequencies"));
    // Entries, types and strings are untouched: the same table binds back.
    auto bound = BoundArena::bind(*again, m.registry);
    REQUIRE(bound);
    CHECK(bound->to_table() == m.table);
    testing::for_each_tuple(all_type_ids(m.registry), 2, [&](std::span<const TypeId> args) {
        const Resolution expected = resolve_reference(m.table, m.registry, args);
        CHECK(bound->lookup_tree(args).same_outcome(expected));
        CHECK(bound->lookup_table(args).same_outcome(expected));
    });
    // Rewriting again does not grow the arena: the old forms are replaced, not kept.
    auto twice = reoptimize_arena(*again, ro);
    REQUIRE(twice);
    CHECK(twice->size() == rebuilt->size());

    ro.method_weights.pop_back();
    CHECK(reoptimize_arena(*view, ro).error().code == ErrorCode::invalid_argument);

    // Without an index there is nothing to rebuild from.
    auto plain = build_arena(m.table, m.registry, {}, {1});
    REQUIRE(plain);
    auto plain_view = ArenaView::open(*plain);
    REQUIRE(plain_view);
    CHECK(reoptimize_arena(*plain_view).error().code == ErrorCode::not_found);
}

TEST_CASE("optimization records are computed, not guessed", "[format][dispatch]") {
    const testing::RandomModel m = testing::make_random_model(5, {200, 2, 2, 10, true});
    auto matrix = DispatchMatrix::build(m.table, m.registry);
    REQUIRE(matrix);
    const std::vector<std::byte> bytes = optimized_arena(m);
    auto view = ArenaView::open(bytes);
    REQUIRE(view);
    const std::uint64_t dense = matrix->dense_bytes();
    const std::uint64_t stored = view->section(arena::SectionKind::dispatch_index).size() + view->section(arena::SectionKind::decision_tree).size();
    CHECK(dense == std::uint64_t{matrix->id_span()} * matrix->id_span() * 4);
    CHECK(view->memory_saved() == dense - stored);
    CHECK(view->compression_ratio() == Approx(double(stored) / double(dense)).epsilon(1e-5));
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

    options.forms.limits = {};
    options.forms.max_tree_nodes = 3;  // a tree cannot fit: the table alone is written
    bytes = build_arena(m.table, m.registry, {}, options);
    REQUIRE(bytes);
    view = ArenaView::open(*bytes);
    REQUIRE(view);
    CHECK(view->has_dispatch_index());
    CHECK_FALSE(view->has_decision_tree());
}

TEST_CASE("types outside a position's declared type get a pole too (declared types differing by position)", "[format][dispatch]") {
    // Found while specifying 1.1: ids in the span that were not subtypes of the
    // declared parameter got pole 0, which the verifier rejects and the tree indexed with.
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
    REQUIRE(view->has_decision_tree());
    auto bound = BoundArena::bind(*view, r);
    REQUIRE(bound);
    std::vector<TypeId> all = all_type_ids(r);
    testing::for_each_tuple(all, 2, [&](std::span<const TypeId> args) {
        const Resolution expected = resolve_reference(t, r, args);
        CHECK(bound->lookup_table(args).same_outcome(expected));
        CHECK(bound->lookup_tree(args).same_outcome(expected));
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
            Resolution got;
            if (!renumbered->resolve(args, got)) return;
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
