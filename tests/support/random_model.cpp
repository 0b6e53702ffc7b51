#include "support/random_model.hpp"

#include <algorithm>
#include <string>

namespace jdc::testing {

RandomModel make_random_model(std::uint64_t seed, const RandomModelOptions& o) {
    std::mt19937_64 rng(seed);
    auto below = [&](std::uint64_t n) { return static_cast<std::uint32_t>(rng() % n); };
    RandomModel m;
    m.root = *m.registry.add("Root", TypeKind::struct_);
    m.user_types.push_back(m.root);
    for (std::uint32_t i = 0; i < o.user_types; ++i) {
        const std::uint32_t want = 1 + below(std::max<std::uint32_t>(1, o.max_supertypes));
        std::vector<TypeId> supers;
        for (std::uint32_t k = 0; k < want; ++k) {
            // Bias towards recent types so hierarchies get deep, not just wide.
            const std::size_t n = m.user_types.size();
            const std::size_t pick = (below(3) == 0) ? below(n) : n - 1 - below(std::min<std::size_t>(n, 6));
            const TypeId s = m.user_types[pick];
            if (std::find(supers.begin(), supers.end(), s) == supers.end()) supers.push_back(s);
        }
        const auto kind = below(5) == 0 ? TypeKind::enum_ : TypeKind::struct_;
        m.user_types.push_back(*m.registry.add("T" + std::to_string(i), kind, supers));
    }

    m.table.signature_name = "generic_" + std::to_string(seed % 1000);
    m.table.signature.parameter_types.assign(o.arity, m.root);
    m.table.signature.return_type = kTypeF64;
    for (std::uint32_t i = 0; i < o.implementations; ++i) {
        Implementation impl;
        impl.function = {"method_" + std::to_string(i), "module_" + std::to_string(i % 7), 1000 + i};
        if (o.include_root_method && i == 0) {
            impl.parameter_types.assign(o.arity, m.root);
        } else {
            for (std::uint32_t p = 0; p < o.arity; ++p) impl.parameter_types.push_back(m.user_types[below(m.user_types.size())]);
        }
        const TypeId returns[] = {kTypeF64, kTypeI32, kTypeBool, kTypeString, kInvalidType};
        impl.return_type = returns[below(5)];
        impl.effects = below(16);
        impl.location = {"src/module_" + std::to_string(i % 7) + ".jn", 1 + below(5000), 1 + below(80)};
        impl.specificity_rank = specificity_rank(impl, m.registry);
        impl.call_frequency = below(4) == 0 ? 0 : rng() % 1'000'000;
        m.table.implementations.push_back(std::move(impl));
    }
    return m;
}

RandomModelOptions small_table_options() { return {16, 2, 2, 8, true}; }
RandomModelOptions medium_table_options() { return {64, 2, 2, 64, true}; }
RandomModelOptions large_table_options() { return {256, 2, 2, 1000, true}; }

}  // namespace jdc::testing
