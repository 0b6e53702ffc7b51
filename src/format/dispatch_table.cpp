#include "jdc/dispatch_table.hpp"

#include <string>

namespace jdc {
namespace {

std::string type_name(const TypeRegistry& registry, TypeId id) {
    const Type* t = registry.find(id);
    return t != nullptr ? "'" + t->name + "'" : "id " + std::to_string(id);
}

}  // namespace

// The checks run on every arena build, so context for messages is only assembled
// once something has failed.
Result<void> validate(const DispatchTable& table, const TypeRegistry& registry) {
    auto where = [&] { return "dispatch table '" + table.signature_name + "'"; };
    if (table.signature_name.empty()) return make_error(ErrorCode::invalid_argument, "dispatch table has no signature name");
    for (TypeId t : table.signature.parameter_types)
        if (registry.find(t) == nullptr)
            return make_error(ErrorCode::invalid_argument, where() + ": declared parameter type id " + std::to_string(t) + " is not registered");
    if (table.signature.return_type != kInvalidType && registry.find(table.signature.return_type) == nullptr)
        return make_error(ErrorCode::invalid_argument, where() + ": declared return type id " +
                                                           std::to_string(table.signature.return_type) + " is not registered");
    for (std::size_t i = 0; i < table.implementations.size(); ++i) {
        const Implementation& impl = table.implementations[i];
        auto at = [&] { return where() + ", implementation " + std::to_string(i) + " ('" + impl.function.name + "')"; };
        if (impl.parameter_types.size() != table.arity())
            return make_error(ErrorCode::invalid_argument, at() + ": has " + std::to_string(impl.parameter_types.size()) +
                                                               " parameters, the signature has " + std::to_string(table.arity()));
        for (std::size_t p = 0; p < impl.parameter_types.size(); ++p) {
            const TypeId t = impl.parameter_types[p];
            if (registry.find(t) == nullptr)
                return make_error(ErrorCode::invalid_argument, at() + ": parameter " + std::to_string(p) + " type id " +
                                                                   std::to_string(t) + " is not registered");
            if (!registry.is_subtype(t, table.signature.parameter_types[p]))
                return make_error(ErrorCode::invalid_argument,
                                  at() + ": parameter " + std::to_string(p) + " type " + type_name(registry, t) +
                                      " is not a subtype of the declared " +
                                      type_name(registry, table.signature.parameter_types[p]));
        }
        if (impl.return_type != kInvalidType && registry.find(impl.return_type) == nullptr)
            return make_error(ErrorCode::invalid_argument, at() + ": return type id " + std::to_string(impl.return_type) + " is not registered");
        if ((impl.effects & ~kKnownEffectBits) != 0)
            return make_error(ErrorCode::invalid_argument, at() + ": unknown effect bits " + std::to_string(impl.effects & ~kKnownEffectBits));
    }
    return {};
}

std::uint32_t specificity_rank(const Implementation& impl, const TypeRegistry& registry) {
    std::uint32_t rank = 0;
    for (TypeId t : impl.parameter_types)
        if (const Type* type = registry.find(t)) rank += type->depth;
    return rank;
}

}  // namespace jdc
