#include "jdc/resolver.hpp"

#include <vector>

namespace jdc {
namespace {

// a is at least as specific as b: pointwise subtype-or-equal.
bool at_least_as_specific(const Implementation& a, const Implementation& b, const TypeRegistry& registry) {
    for (std::size_t p = 0; p < a.parameter_types.size(); ++p)
        if (!registry.is_subtype_by_walk(a.parameter_types[p], b.parameter_types[p])) return false;
    return true;
}

}  // namespace

// Deliberately the textbook definition, with the graph-walking subtype test: the
// optimized forms (bit-row subtype test, tournament scan, decision trees, tables)
// are checked against this, so it must not share their shortcuts.
Resolution resolve_reference(const DispatchTable& table, const TypeRegistry& registry, std::span<const TypeId> args) {
    if (args.size() != table.arity()) return Resolution::none();
    std::vector<std::uint32_t> applicable;
    for (std::uint32_t i = 0; i < table.implementations.size(); ++i) {
        const Implementation& impl = table.implementations[i];
        bool applies = true;
        for (std::size_t p = 0; p < args.size() && applies; ++p)
            applies = registry.is_subtype_by_walk(args[p], impl.parameter_types[p]);
        if (applies) applicable.push_back(i);
    }
    if (applicable.empty()) return Resolution::none();

    std::vector<std::uint32_t> most_specific;
    for (std::uint32_t c : applicable) {
        bool best = true;
        for (std::uint32_t m : applicable) {
            if (m == c) continue;
            const Implementation& ci = table.implementations[c];
            const Implementation& mi = table.implementations[m];
            if (!at_least_as_specific(ci, mi, registry) || at_least_as_specific(mi, ci, registry)) {
                best = false;
                break;
            }
        }
        if (best) most_specific.push_back(c);
    }
    if (most_specific.size() == 1) return Resolution::method(most_specific.front());
    // No unique winner: name two applicable candidates that are not ordered.
    for (std::size_t a = 0; a < applicable.size(); ++a)
        for (std::size_t b = a + 1; b < applicable.size(); ++b) {
            const Implementation& ai = table.implementations[applicable[a]];
            const Implementation& bi = table.implementations[applicable[b]];
            const bool ab = at_least_as_specific(ai, bi, registry), ba = at_least_as_specific(bi, ai, registry);
            if (ab == ba) return Resolution::ambiguous(applicable[a], applicable[b]);
        }
    return Resolution::ambiguous(applicable[0], applicable.size() > 1 ? applicable[1] : applicable[0]);
}

}  // namespace jdc
