#include "fb_peer.hpp"

#include <string_view>
#include <vector>

#include "dispatch_table_generated.h"

namespace jdc::bench {

// Plain CreateString, as FlatBuffers' own tutorial writes strings: CreateSharedString
// would make the buffer smaller (jdc's string pool shares repeated names) but costs a
// hash-set probe per string, 2-4x the encode time, which is not how FlatBuffers is
// normally used. The `bytes` counter shows what the sharing saves.
FbPeer::Encoded FbPeer::encode(const DispatchTable& table, const TypeRegistry& registry) {
    flatbuffers::FlatBufferBuilder fbb;
    LocalTypes types(registry);
    std::vector<std::uint32_t> declared;
    declared.reserve(table.arity());
    for (TypeId t : table.signature.parameter_types) declared.push_back(types.index(t));
    const std::uint32_t declared_return = types.index(table.signature.return_type);

    std::vector<flatbuffers::Offset<fb::Entry>> entries;
    entries.reserve(table.implementations.size());
    std::vector<std::uint32_t> params(table.arity());
    for (const Implementation& impl : table.implementations) {
        for (std::size_t p = 0; p < impl.parameter_types.size(); ++p) params[p] = types.index(impl.parameter_types[p]);
        const std::uint32_t ret = types.index(impl.return_type);
        auto name = fbb.CreateString(impl.function.name);
        auto module = fbb.CreateString(impl.function.module);
        auto file = fbb.CreateString(impl.location.file);
        auto param_vec = fbb.CreateVector(params);
        entries.push_back(fb::CreateEntry(fbb, impl.function.id, name, module, file, impl.location.line,
                                          impl.location.column, impl.effects, impl.specificity_rank,
                                          impl.call_frequency, ret, param_vec));
    }
    std::vector<flatbuffers::Offset<fb::Type>> type_offsets;
    type_offsets.reserve(types.order().size());
    for (TypeId id : types.order()) {
        const Type& t = *registry.find(id);
        type_offsets.push_back(fb::CreateType(fbb, fbb.CreateString(t.name), t.structural_hash,
                                              static_cast<fb::TypeKind>(t.kind), id));
    }
    auto root = fb::CreateDispatchTable(fbb, fbb.CreateString(table.signature_name),
                                        static_cast<std::uint32_t>(table.arity()), fbb.CreateVector(declared),
                                        declared_return, fbb.CreateVector(type_offsets), fbb.CreateVector(entries));
    fb::FinishDispatchTableBuffer(fbb, root);
    return fbb.Release();
}

bool FbPeer::verify(std::span<const std::uint8_t> bytes) {
    flatbuffers::Verifier verifier(bytes.data(), bytes.size());
    return fb::VerifyDispatchTableBuffer(verifier);
}

std::uint32_t FbPeer::root_entries(std::span<const std::uint8_t> bytes) {
    return fb::GetDispatchTable(bytes.data())->entries()->size();
}

namespace {

bool indexes_ok(const fb::DispatchTable& root) {
    const IndexBounds bounds{root.arity(), root.types()->size()};
    if (!bounds.params_ok(*root.declared_params()) || !bounds.return_ok(root.declared_return())) return false;
    for (const fb::Entry* e : *root.entries())
        if (!bounds.params_ok(*e->param_types()) || !bounds.return_ok(e->return_type())) return false;
    return true;
}

}  // namespace

bool FbPeer::Bound::load(std::span<const std::uint8_t> bytes, const TypeRegistry& registry, IndexChecks checks) {
    if (!verify(bytes)) return false;
    root_ = fb::GetDispatchTable(bytes.data());
    registry_ = &registry;
    if (checks == IndexChecks::run && !indexes_ok(*root_)) return false;
    const auto* types = root_->types();
    return bind_types(types->size(), [&](std::uint32_t i) {
        const fb::Type* t = types->Get(i);
        return StoredType{std::string_view(t->name()->c_str(), t->name()->size()), t->structural_hash(), t->id_hint()};
    }, registry, live_);
}

Resolution FbPeer::Bound::lookup(std::span<const TypeId> args) const noexcept {
    const auto* entries = root_->entries();
    const TypeId* live = live_.data();
    return tournament(entries->size(), root_->arity(), args, *registry_, [&](std::uint32_t entry, std::uint32_t pos) {
        return live[entries->Get(entry)->param_types()->Get(pos)];
    });
}

}  // namespace jdc::bench
