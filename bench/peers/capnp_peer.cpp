#include "capnp_peer.hpp"

#include <string_view>

#include <capnp/message.h>
#include <kj/exception.h>

namespace jdc::bench {

namespace schema = capnp_schema;

namespace {

capnp::Text::Reader text(const std::string& s) { return {s.c_str(), s.size()}; }

kj::ArrayPtr<const capnp::word> words_of(std::span<const std::uint8_t> bytes) {
    return {reinterpret_cast<const capnp::word*>(bytes.data()), bytes.size() / sizeof(capnp::word)};
}

bool aligned(std::span<const std::uint8_t> bytes) {
    return reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(capnp::word) == 0 &&
           bytes.size() % sizeof(capnp::word) == 0;
}

}  // namespace

CapnpPeer::Encoded CapnpPeer::encode(const DispatchTable& table, const TypeRegistry& registry) {
    capnp::MallocMessageBuilder message;
    auto root = message.initRoot<schema::DispatchTable>();
    LocalTypes types(registry);
    root.setSignatureName(text(table.signature_name));
    root.setArity(static_cast<std::uint32_t>(table.arity()));
    auto declared = root.initDeclaredParams(static_cast<unsigned>(table.arity()));
    for (unsigned p = 0; p < table.arity(); ++p) declared.set(p, types.index(table.signature.parameter_types[p]));
    root.setDeclaredReturn(types.index(table.signature.return_type));

    auto entries = root.initEntries(static_cast<unsigned>(table.implementations.size()));
    for (unsigned i = 0; i < table.implementations.size(); ++i) {
        const Implementation& impl = table.implementations[i];
        auto e = entries[i];
        e.setFunctionId(impl.function.id);
        e.setName(text(impl.function.name));
        e.setModule(text(impl.function.module));
        e.setFile(text(impl.location.file));
        e.setLine(impl.location.line);
        e.setColumn(impl.location.column);
        e.setEffects(impl.effects);
        e.setSpecificity(impl.specificity_rank);
        e.setCallFrequency(impl.call_frequency);
        auto params = e.initParamTypes(static_cast<unsigned>(impl.parameter_types.size()));
        for (unsigned p = 0; p < impl.parameter_types.size(); ++p) params.set(p, types.index(impl.parameter_types[p]));
        e.setReturnType(types.index(impl.return_type));
    }
    auto type_list = root.initTypes(static_cast<unsigned>(types.order().size()));
    for (unsigned i = 0; i < types.order().size(); ++i) {
        const TypeId id = types.order()[i];
        const Type& t = *registry.find(id);
        auto out = type_list[i];
        out.setName(text(t.name));
        out.setStructuralHash(t.structural_hash);
        out.setKind(static_cast<schema::TypeKind>(t.kind));
        out.setIdHint(id);
    }
    return capnp::messageToFlatArray(message);
}

bool CapnpPeer::verify(std::span<const std::uint8_t> bytes) {
    if (!aligned(bytes)) return false;
    try {
        capnp::FlatArrayMessageReader reader(words_of(bytes));
        const capnp::MessageSize size = reader.getRoot<schema::DispatchTable>().totalSize();
        return size.wordCount <= bytes.size() / sizeof(capnp::word);
    } catch (const kj::Exception&) {
        return false;
    }
}

bool CapnpPeer::Bound::load(std::span<const std::uint8_t> bytes, const TypeRegistry& registry, IndexChecks checks) {
    if (!aligned(bytes)) return false;
    try {
        capnp::ReaderOptions options;
        options.traversalLimitInWords = kj::maxValue;  // see the header: a long-lived reader
        reader_.emplace(words_of(bytes), options);
        root_ = reader_->getRoot<schema::DispatchTable>();
        registry_ = &registry;
        const auto types = root_.getTypes();
        if (checks == IndexChecks::run) {
            const IndexBounds bounds{root_.getArity(), types.size()};
            if (!bounds.params_ok(root_.getDeclaredParams()) || !bounds.return_ok(root_.getDeclaredReturn())) return false;
            for (const auto e : root_.getEntries())
                if (!bounds.params_ok(e.getParamTypes()) || !bounds.return_ok(e.getReturnType())) return false;
        }
        return bind_types(types.size(), [&](std::uint32_t i) {
            const auto t = types[i];
            const auto name = t.getName();
            return StoredType{std::string_view(name.begin(), name.size()), t.getStructuralHash(), t.getIdHint()};
        }, registry, live_);
    } catch (const kj::Exception&) {
        return false;
    }
}

Resolution CapnpPeer::Bound::lookup(std::span<const TypeId> args) const noexcept {
    const auto entries = root_.getEntries();
    const TypeId* live = live_.data();
    return tournament(entries.size(), root_.getArity(), args, *registry_, [&](std::uint32_t entry, std::uint32_t pos) {
        return live[entries[entry].getParamTypes()[pos]];
    });
}

}  // namespace jdc::bench
