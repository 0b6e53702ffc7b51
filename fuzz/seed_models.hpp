// The models behind the checked-in seed arenas of fuzz/corpus/arena_verify_never_crashes
// (besides the goldens of tests/support/golden_models.hpp, which make_seed_corpus
// writes too).
//
// make_seed_corpus writes one arena per model; arena_verify_never_crashes rebuilds
// the same registries, so that a mutated seed whose type table survived still binds
// and its lookups get checked against the reference resolver. Changing this list
// means regenerating the corpus (see fuzz/README.md).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "jdc/cache_key.hpp"
#include "jdc/dispatch_table.hpp"
#include "support/random_model.hpp"

namespace jdc::fuzzing {

struct SeedModel {
    const char* name;
    std::uint64_t seed;
    testing::RandomModelOptions options;  // {user_types, max_supertypes, arity, implementations, root method}
};

inline const SeedModel kSeedModels[] = {
    {"small", 7, {16, 2, 2, 8, true}},
    {"arity3", 11, {6, 2, 3, 5, true}},
    {"no-implementations", 13, {4, 2, 2, 0, false}},
    {"arity0", 17, {3, 1, 0, 3, false}},
    {"arity1-single-inheritance", 19, {10, 1, 1, 6, true}},
    {"diamonds", 23, {12, 3, 2, 12, false}},
    {"many-types", 29, {40, 2, 1, 40, true}},  // > 16 local types: BoundArena's heap path
};

// Fixed creation time, so the seed arenas are byte-for-byte reproducible.
inline constexpr std::uint64_t kSeedCreatedAtNs = 1'700'000'000'000'000'000ull;

// The table of `jdc sample` and format-spec §15: collide(Object, Object) -> bool.
inline testing::RandomModel make_shapes_model() {
    testing::RandomModel m;
    auto add = [&](const char* name, std::vector<TypeId> supers) { return *m.registry.add(name, TypeKind::struct_, supers); };
    const TypeId object = add("Object", {});
    const TypeId shape = add("Shape", {object});
    const TypeId drawable = add("Drawable", {object});
    const TypeId circle = add("Circle", {shape});
    const TypeId square = add("Square", {shape});
    const TypeId sprite = add("Sprite", {shape, drawable});
    m.root = object;
    m.user_types = {object, shape, drawable, circle, square, sprite};
    m.table.signature_name = "collide";
    m.table.signature = {{object, object}, kTypeBool};
    const struct {
        std::uint32_t id;
        TypeId a, b;
        std::uint32_t line, effects;
    } methods[] = {{1, object, object, 10, 0}, {2, shape, shape, 14, 1}, {3, circle, circle, 18, 1},
                   {4, circle, shape, 22, 1},  {5, drawable, shape, 26, 3}};
    for (const auto& x : methods) {
        Implementation impl;
        impl.function = {"collide", "geometry", x.id};
        impl.parameter_types = {x.a, x.b};
        impl.return_type = kTypeBool;
        impl.effects = x.effects;
        impl.location = {"geometry.jn", x.line, 1};
        impl.specificity_rank = specificity_rank(impl, m.registry);
        m.table.implementations.push_back(impl);
    }
    return m;
}

// A table declared inside the hierarchy (format 2.0: domain references to both
// positions, a return type in no domain), over the registry of the "diamonds" seed
// model, so the fuzz target's known registries bind it. Written with a key.
inline testing::RandomModel make_inner_declared_model() {
    testing::RandomModel m = testing::make_random_model(23, {12, 3, 2, 12, false});
    const TypeId declared[] = {m.user_types[2], m.user_types[1]};
    m.table.signature_name = "inner";
    m.table.signature = {{declared[0], declared[1]}, kTypeBool};
    m.table.implementations.clear();
    std::mt19937_64 rng(23);
    for (std::uint32_t i = 0; i < 8; ++i) {
        Implementation impl;
        impl.function = {"inner", "m", i};
        for (TypeId d : declared) {
            const auto members = m.registry.domain(d).members();
            impl.parameter_types.push_back(members[rng() % members.size()]);
        }
        impl.return_type = kTypeBool;
        impl.location = {"m.jn", i + 1, 1};
        impl.specificity_rank = specificity_rank(impl, m.registry);
        m.table.implementations.push_back(std::move(impl));
    }
    return m;
}
inline constexpr CacheKey kInnerDeclaredKey{0x66757a7a, 0x696e6e6572};

}  // namespace jdc::fuzzing
