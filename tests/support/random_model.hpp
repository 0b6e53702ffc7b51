// Test support: deterministic random type hierarchies and dispatch tables.
//
// Shared by the tests, the benchmarks and the fuzz targets. Hierarchies have one
// root ("Root"); each further type takes 1..max_supertypes distinct earlier types
// as supertypes (so multiple inheritance and diamonds occur). Implementations pick
// random types per position, so ambiguity and no-method calls both occur.
// tests/data golden "random-arity3" is generated from seed 42: changing the
// generator changes that golden (regenerate it only with a format version bump,
// or move the golden to a fixed model first).
// Generation uses only rng() % n on a std::mt19937_64, which is the same on every
// standard library, so a seed means the same model everywhere.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "jdc/dispatch_table.hpp"

namespace jdc::testing {

struct RandomModelOptions {
    std::uint32_t user_types = 24;      // besides the root
    std::uint32_t max_supertypes = 2;   // 1 = single inheritance
    std::uint32_t arity = 2;
    std::uint32_t implementations = 16;
    bool include_root_method = false;   // a method on (Root, ..., Root): no no-method calls among user types
};

struct RandomModel {
    TypeRegistry registry;
    TypeId root = kInvalidType;
    std::vector<TypeId> user_types;  // root first, then the generated types
    DispatchTable table;
};

RandomModel make_random_model(std::uint64_t seed, const RandomModelOptions& options);

// The seed's size classes: small (< 10 entries), medium (10-100), large (100+).
RandomModelOptions small_table_options();   //    8 entries, arity 2
RandomModelOptions medium_table_options();  //   64 entries, arity 2
RandomModelOptions large_table_options();   // 1000 entries, arity 2

// Every tuple of argument types over `types` with the table's arity, in odometer
// order; calls `visit(std::span<const TypeId>)` for each.
template <class Visit>
void for_each_tuple(const std::vector<TypeId>& types, std::size_t arity, Visit&& visit) {
    std::vector<std::size_t> idx(arity, 0);
    std::vector<TypeId> args(arity);
    if (types.empty() && arity > 0) return;
    while (true) {
        for (std::size_t p = 0; p < arity; ++p) args[p] = types[idx[p]];
        visit(std::span<const TypeId>(args));
        std::size_t p = 0;
        while (p < arity && ++idx[p] == types.size()) idx[p++] = 0;
        if (p == arity) return;
    }
}

}  // namespace jdc::testing
