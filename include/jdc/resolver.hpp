// jdc — dispatch resolution and the reference resolver.
//
// For argument types (t1..tk) the applicable implementations are those whose every
// parameter type is a supertype-or-equal of ti. The answer is the unique most
// specific applicable implementation: one that is pointwise a subtype of every other
// applicable one and that no other matches pointwise (two methods with identical
// parameter types are therefore ambiguous). Otherwise the call is ambiguous if any
// implementation applies, and has no method if none does. Both are results, not
// errors: a language reports them at the call site.
//
// `resolve_reference` is the oracle: written for obviousness, O(n^2) in the number
// of applicable implementations. Every optimized dispatch form is tested against it.
#pragma once

#include <cstdint>
#include <span>

#include "jdc/dispatch_table.hpp"
#include "jdc/export.hpp"

namespace jdc {

enum class ResolutionKind : std::uint8_t { method, ambiguous, no_method };

struct Resolution {
    ResolutionKind kind = ResolutionKind::no_method;
    // For `method`, the index of the selected implementation in the table.
    // For `ambiguous`, two of the competing implementations (first < second).
    std::uint32_t index = 0;
    std::uint32_t other = 0;

    static Resolution method(std::uint32_t i) { return {ResolutionKind::method, i, 0}; }
    static Resolution ambiguous(std::uint32_t a, std::uint32_t b) {
        return {ResolutionKind::ambiguous, a < b ? a : b, a < b ? b : a};
    }
    static Resolution none() { return {}; }

    // Kind and selected method; the witnesses of an ambiguity are not compared,
    // since different correct algorithms may name different competing pairs.
    bool same_outcome(const Resolution& o) const noexcept {
        return kind == o.kind && (kind != ResolutionKind::method || index == o.index);
    }
};

// `args.size()` must equal the table's arity (otherwise: no_method).
JDC_API Resolution resolve_reference(const DispatchTable& table, const TypeRegistry& registry, std::span<const TypeId> args);

}  // namespace jdc
