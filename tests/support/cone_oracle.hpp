// The oracle of janusc's call sites: a call's cone resolved tuple by tuple.
//
// Resolves every tuple of the cone of `static_types` (position p ranges over
// program.subtypes_of(static_types[p])) with jdc::resolve_reference on `table`, in
// cone order (call_sites.hpp: lexicographic by type id, the first argument varying
// slowest), and keeps the first witness of each warning. CallSiteResolver::answer
// must give exactly this answer from the table's compressed form. The enumeration is
// as slow as it is obvious: tests only.
// Precondition: static_types.size() == table.arity(), 1..kMaxArity.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <vector>

#include "janusc/call_sites.hpp"
#include "janusc/program.hpp"
#include "jdc/resolver.hpp"

namespace janusc::testing {

inline CallSiteAnswer resolve_cone_reference(const jdc::DispatchTable& table, const Program& program,
                                             std::span<const jdc::TypeId> static_types) {
    CallSiteAnswer answer;
    const std::size_t arity = static_types.size();
    std::array<const std::vector<jdc::TypeId>*, kMaxArity> cone{};
    for (std::size_t p = 0; p < arity; ++p) cone[p] = &program.subtypes_of(static_types[p]);  // holds the type itself: never empty
    std::vector<bool> reached(table.implementations.size(), false);
    std::array<std::size_t, kMaxArity> at{};  // an odometer over the cone, the last position fastest
    TypeTuple tuple;
    tuple.arity = static_cast<std::uint32_t>(arity);
    for (bool done = false; !done;) {
        for (std::size_t p = 0; p < arity; ++p) tuple.storage[p] = (*cone[p])[at[p]];
        const jdc::Resolution r = jdc::resolve_reference(table, program.registry, tuple.types());
        ++answer.tuples;
        switch (r.kind) {
            case jdc::ResolutionKind::method:
                if (!reached[r.index]) {
                    reached[r.index] = true;
                    ++answer.methods_reachable;
                    answer.method = r.index;
                }
                break;
            case jdc::ResolutionKind::ambiguous:
                if (!answer.ambiguity) {
                    const auto [first, second] = competing_methods(table, program.registry, tuple.types());
                    answer.ambiguity = Ambiguity{tuple, first, second};
                }
                break;
            case jdc::ResolutionKind::no_method:
                if (!answer.no_method) answer.no_method = tuple;
                break;
        }
        done = true;
        for (std::size_t p = arity; p-- > 0;) {
            if (++at[p] < cone[p]->size()) {
                done = false;
                break;
            }
            at[p] = 0;
        }
    }
    if (answer.methods_reachable != 1) answer.method = 0;
    return answer;
}

}  // namespace janusc::testing
