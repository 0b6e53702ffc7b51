#include "pb_peer.hpp"

#include <string_view>

namespace jdc::bench {

namespace schema = pb_schema;

PbPeer::Encoded PbPeer::encode(const DispatchTable& table, const TypeRegistry& registry) {
    schema::DispatchTable message;
    LocalTypes types(registry);
    message.set_signature_name(table.signature_name);
    message.set_arity(static_cast<std::uint32_t>(table.arity()));
    for (TypeId t : table.signature.parameter_types) message.add_declared_params(types.index(t));
    if (table.signature.return_type != kInvalidType) message.set_declared_return(types.index(table.signature.return_type));

    message.mutable_entries()->Reserve(static_cast<int>(table.implementations.size()));
    for (const Implementation& impl : table.implementations) {
        schema::Entry* e = message.add_entries();
        e->set_function_id(impl.function.id);
        e->set_name(impl.function.name);
        e->set_module(impl.function.module);
        e->set_file(impl.location.file);
        e->set_line(impl.location.line);
        e->set_column(impl.location.column);
        e->set_effects(impl.effects);
        e->set_specificity(impl.specificity_rank);
        e->set_call_frequency(impl.call_frequency);
        e->mutable_param_types()->Reserve(static_cast<int>(impl.parameter_types.size()));
        for (TypeId t : impl.parameter_types) e->add_param_types(types.index(t));
        if (impl.return_type != kInvalidType) e->set_return_type(types.index(impl.return_type));
    }
    message.mutable_types()->Reserve(static_cast<int>(types.order().size()));
    for (TypeId id : types.order()) {
        const Type& t = *registry.find(id);
        schema::Type* out = message.add_types();
        out->set_name(t.name);
        out->set_structural_hash(t.structural_hash);
        out->set_kind(static_cast<schema::TypeKind>(t.kind));
        out->set_id_hint(id);
    }
    return message.SerializeAsString();
}

bool PbPeer::verify(std::span<const std::uint8_t> bytes) {
    schema::DispatchTable message;
    return message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

bool PbPeer::Bound::load(std::span<const std::uint8_t> bytes, const TypeRegistry& registry, IndexChecks checks) {
    if (!message_.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return false;
    registry_ = &registry;
    const auto& types = message_.types();
    const auto type_count = static_cast<std::uint32_t>(types.size());
    if (checks == IndexChecks::run) {
        const IndexBounds bounds{message_.arity(), type_count};
        auto return_ok = [&](bool has, std::uint32_t i) { return !has || bounds.local_ok(i); };
        if (!bounds.params_ok(message_.declared_params()) ||
            !return_ok(message_.has_declared_return(), message_.declared_return()))
            return false;
        for (const schema::Entry& e : message_.entries())
            if (!bounds.params_ok(e.param_types()) || !return_ok(e.has_return_type(), e.return_type())) return false;
    }
    return bind_types(type_count, [&](std::uint32_t i) {
        const schema::Type& t = types[static_cast<int>(i)];
        return StoredType{std::string_view(t.name()), t.structural_hash(), t.id_hint()};
    }, registry, live_);
}

Resolution PbPeer::Bound::lookup(std::span<const TypeId> args) const noexcept {
    const auto& entries = message_.entries();
    const TypeId* live = live_.data();
    return tournament(static_cast<std::uint32_t>(entries.size()), message_.arity(), args, *registry_,
                      [&](std::uint32_t entry, std::uint32_t pos) {
                          return live[entries[static_cast<int>(entry)].param_types(static_cast<int>(pos))];
                      });
}

}  // namespace jdc::bench
