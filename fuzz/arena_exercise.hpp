// Fuzz and test support: read everything a verified arena exposes.
//
// Shared by the fuzz targets and tests/format_arena_corruption.cpp. The point is to
// make every accessor of ArenaView / EntryView / BoundArena actually touch the bytes
// it points at (every byte of every string_view, every parameter cell), so that
// AddressSanitizer reports any read the verifier failed to bound. Nothing here
// checks values: callers that know what the arena should contain compare it
// themselves (see arena_build_read_roundtrip.cpp).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jdc/arena_optimizer.hpp"
#include "fuzz_support.hpp"
#include "jdc/arena_view.hpp"
#include "jdc/resolver.hpp"

namespace jdc::fuzzing {

// Calls every accessor of the view and of every entry; returns a digest of what it read.
inline std::uint64_t read_every_accessor(const ArenaView& view) {
    Sink s;
    s.mix(view.bytes().size());
    s.mix(view.header().total_size);
    s.mix(view.version_major());
    s.mix(view.version_minor());
    s.mix(view.table_hash());
    s.mix(view.created_at_ns());
    s.mix(to_string(view.optimization_type()));
    s.mix(static_cast<std::uint64_t>(view.compression_ratio() * 1e6));
    s.mix(view.memory_saved());
    s.mix(view.signature_name());
    s.mix(view.arity());
    for (std::uint32_t p = 0; p < view.arity(); ++p) s.mix(view.declared_parameter(p));
    s.mix(view.declared_return_type());
    for (std::uint32_t i = 0; i < view.type_count(); ++i) {
        const LocalType t = view.type(i);
        s.mix(t.name);
        s.mix(t.structural_hash);
        s.mix(to_string(t.kind));
    }
    for (std::uint32_t i = 0; i < view.entry_count(); ++i) {
        const EntryView e = view.entry(i);
        s.mix(e.function_id());
        s.mix(e.name());
        s.mix(e.module());
        s.mix(e.source_file());
        s.mix(e.line());
        s.mix(e.column());
        s.mix(e.effects());
        s.mix(e.specificity_rank());
        s.mix(e.call_frequency());
        s.mix(e.return_type());
        for (std::uint32_t p = 0; p < view.arity(); ++p) s.mix(e.parameter(p));
    }
    for (auto kind : {arena::SectionKind::dispatch_index})
        for (std::byte b : view.section(kind)) s.mix(static_cast<std::uint64_t>(b));
    // The optimizer decodes the index and rebuilds the forms: what it writes must verify.
    s.mix(describe_dispatch_forms(view));
    if (auto rebuilt = reoptimize_arena(view)) {
        if (!verify_arena(*rebuilt, VerifyLevel::full)) __builtin_trap();
        s.mix(rebuilt->size());
    } else {
        s.mix(rebuilt.error().message);
    }
    return s.value();
}

// Calls visit(std::span<const TypeId>) for argument tuples of length `arity` over
// `types`: every tuple, in odometer order, when there are at most `max_tuples` of
// them (or max_tuples == 0); otherwise `max_tuples` tuples drawn pseudo-randomly
// from `seed`, so that a cap still samples every position and every type.
template <class Visit>
void for_each_tuple_capped(std::span<const TypeId> types, std::uint32_t arity, std::uint64_t max_tuples, Visit&& visit,
                           std::uint64_t seed = 0) {
    if (types.empty() && arity > 0) return;
    std::vector<TypeId> args(arity);
    std::uint64_t total = 1;
    for (std::uint32_t p = 0; p < arity && total <= max_tuples; ++p) total *= types.size();
    if (max_tuples != 0 && total > max_tuples) {
        std::uint64_t x = seed;
        auto next = [&x] {  // splitmix64
            std::uint64_t z = (x += 0x9e3779b97f4a7c15ull);
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            return z ^ (z >> 31);
        };
        for (std::uint64_t i = 0; i < max_tuples; ++i) {
            for (std::uint32_t p = 0; p < arity; ++p) args[p] = types[next() % types.size()];
            visit(std::span<const TypeId>(args));
        }
        return;
    }
    std::vector<std::size_t> idx(arity, 0);
    while (true) {
        for (std::uint32_t p = 0; p < arity; ++p) args[p] = types[idx[p]];
        visit(std::span<const TypeId>(args));
        std::uint32_t p = 0;
        while (p < arity && ++idx[p] == types.size()) idx[p++] = 0;
        if (p == arity) return;
    }
}

// Binds the view to `registry`; when that succeeds, reads the bound table back,
// maps every local type and looks up every tuple over `lookup_types` (capped).
// Returns whether binding succeeded.
inline bool bind_and_look_up(const ArenaView& view, const TypeRegistry& registry, std::span<const TypeId> lookup_types,
                             std::uint64_t max_tuples, Sink& sink) {
    auto bound = BoundArena::bind(view, registry);
    if (!bound) {
        sink.mix(bound.error().message);
        return false;
    }
    for (std::uint32_t i = 0; i < view.type_count(); ++i) sink.mix(bound->live_type(i));
    sink.mix(bound->live_type(arena::kNoLocalType));
    const DispatchTable table = bound->to_table();
    sink.mix(table.implementations.size());
    auto mix = [&](const Resolution& r) {
        sink.mix(static_cast<std::uint64_t>(r.kind));
        sink.mix(r.index);
        sink.mix(r.other);
    };
    for_each_tuple_capped(lookup_types, view.arity(), max_tuples, [&](std::span<const TypeId> args) {
        mix(bound->lookup(args));
        mix(bound->lookup_table(args));
    });
    // Ids the writer never saw (0, past the registry) take every form's unknown-type path.
    std::vector<TypeId> unknown(view.arity(), static_cast<TypeId>(registry.size() + 7));
    mix(bound->lookup_table(unknown));
    std::fill(unknown.begin(), unknown.end(), kInvalidType);
    mix(bound->lookup_table(unknown));
    // A call of the wrong arity is a no-method result, never a read past the row.
    std::vector<TypeId> too_long(view.arity() + 1, kTypeI32);
    sink.mix(static_cast<std::uint64_t>(bound->lookup(too_long).kind));
    return true;
}

// A registry holding one root-less type per distinct local type name of the view,
// with the local kind. Hashes will usually differ from the arena's (no supertypes),
// so binding to it usually fails as stale: that failure path is what it exercises.
inline TypeRegistry registry_of_local_names(const ArenaView& view, std::vector<TypeId>& ids) {
    TypeRegistry registry;
    for (std::uint32_t i = 0; i < view.type_count(); ++i) {
        const LocalType t = view.type(i);
        if (auto id = registry.add(t.name, t.kind)) ids.push_back(*id);
    }
    return registry;
}

}  // namespace jdc::fuzzing
