#include "jdc/arena_view.hpp"

#include <cstring>
#include <string>

#include "format/arena_sections.hpp"

namespace jdc {
namespace {

template <class T>
T load(const std::byte* p) noexcept {
    T value;
    std::memcpy(&value, p, sizeof(T));
    return value;
}

}  // namespace

std::string_view EntryView::name() const noexcept {
    return {reinterpret_cast<const char*>(base_ + record_.name_offset), record_.name_length};
}
std::string_view EntryView::module() const noexcept {
    return {reinterpret_cast<const char*>(base_ + record_.module_offset), record_.module_length};
}
std::string_view EntryView::source_file() const noexcept {
    return {reinterpret_cast<const char*>(base_ + record_.file_offset), record_.file_length};
}
std::uint32_t EntryView::parameter(std::uint32_t position) const noexcept { return load<std::uint32_t>(params_ + 4ull * position); }

Result<ArenaView> ArenaView::open(std::span<const std::byte> bytes, const VerifyLimits& limits) {
    auto sections = detail::verify_and_locate(bytes, VerifyLevel::full, limits);
    if (!sections) return tl::unexpected(sections.error());
    ArenaView v;
    v.bytes_ = bytes;
    v.header_ = sections->header;
    v.types_ = bytes.data() + sections->types.offset;
    v.signature_ = bytes.data() + sections->signature.offset;
    v.entries_ = bytes.data() + sections->entries.offset;
    v.parameters_ = bytes.data() + sections->parameters.offset;
    v.arity_ = v.header_.type_signature_length;
    return v;
}

std::string_view ArenaView::string_at(std::uint32_t offset, std::uint32_t length) const noexcept {
    return {reinterpret_cast<const char*>(bytes_.data() + offset), length};
}

std::string_view ArenaView::signature_name() const noexcept {
    const auto sig = load<arena::SignatureRecord>(signature_);
    return string_at(sig.name_offset, sig.name_length);
}

std::uint32_t ArenaView::declared_parameter(std::uint32_t position) const noexcept {
    return load<std::uint32_t>(signature_ + sizeof(arena::SignatureRecord) + 4ull * position);
}

std::uint32_t ArenaView::declared_return_type() const noexcept { return load<arena::SignatureRecord>(signature_).return_type; }

LocalType ArenaView::type(std::uint32_t local_index) const noexcept {
    const auto r = load<arena::TypeRecord>(types_ + sizeof(arena::TypeRecord) * local_index);
    return {string_at(r.name_offset, r.name_length), r.structural_hash, static_cast<TypeKind>(r.kind), r.id_hint};
}

EntryView ArenaView::entry(std::uint32_t index) const noexcept {
    return EntryView(bytes_.data(), load<arena::EntryRecord>(entries_ + sizeof(arena::EntryRecord) * index),
                     parameters_ + 4ull * arity_ * index);
}

BoundArena::BoundArena(const ArenaView& view, const TypeRegistry& registry) : view_(view), registry_(&registry) {}

Result<BoundArena> BoundArena::bind(const ArenaView& view, const TypeRegistry& registry) {
    BoundArena bound(view, registry);
    const std::uint32_t count = view.type_count();
    TypeId* live = bound.inline_live_.data();
    if (count > kInlineTypes) {
        bound.heap_live_ = std::make_unique<TypeId[]>(count);
        live = bound.heap_live_.get();
    }
    for (std::uint32_t i = 0; i < count; ++i) {
        const LocalType t = view.type(i);
        if (const Type* hinted = registry.find(t.id_hint);
            hinted != nullptr && hinted->structural_hash == t.structural_hash && hinted->name == t.name) {
            live[i] = t.id_hint;
            continue;
        }
        const TypeId id = registry.find_by_structural_hash(t.structural_hash);
        if (id != kInvalidType && registry.find(id)->name == t.name) {
            live[i] = id;
            continue;
        }
        const std::string what = "dispatch table '" + std::string(view.signature_name()) + "': type '" + std::string(t.name) + "'";
        if (registry.find(t.name) == kInvalidType)
            return make_error(ErrorCode::stale, what + " no longer exists in the type registry");
        return make_error(ErrorCode::stale, what + " changed definition since the arena was written");
    }
    return bound;
}

Resolution BoundArena::lookup(std::span<const TypeId> args) const noexcept {
    const std::uint32_t arity = view_.arity();
    const std::uint32_t n = view_.entry_count();
    if (args.size() != arity) return Resolution::none();
    const TypeId* live = this->live();
    const std::byte* params = view_.parameters_;
    const TypeRegistry& reg = *registry_;

    auto param = [&](std::uint32_t entry, std::uint32_t pos) {
        return live[load<std::uint32_t>(params + 4ull * (std::uint64_t{entry} * arity + pos))];
    };
    auto applies = [&](std::uint32_t entry) {
        for (std::uint32_t p = 0; p < arity; ++p)
            if (!reg.is_subtype(args[p], param(entry, p))) return false;
        return true;
    };
    auto as_specific = [&](std::uint32_t a, std::uint32_t b) {  // a <= b pointwise
        for (std::uint32_t p = 0; p < arity; ++p)
            if (!reg.is_subtype(param(a, p), param(b, p))) return false;
        return true;
    };

    // Pass 1, a tournament: if a unique most specific method exists it beats every
    // other applicable one, so it ends up as `best`. Pass 2 confirms it does.
    // No allocation, O(n * arity) subtype tests.
    std::uint32_t best = n;
    for (std::uint32_t i = 0; i < n; ++i) {
        if (!applies(i)) continue;
        if (best == n || (as_specific(i, best) && !as_specific(best, i))) best = i;
    }
    if (best == n) return Resolution::none();
    for (std::uint32_t i = 0; i < n; ++i) {
        if (i == best || !applies(i)) continue;
        if (!as_specific(best, i) || as_specific(i, best)) return Resolution::ambiguous(best, i);
    }
    return Resolution::method(best);
}

DispatchTable BoundArena::to_table() const {
    DispatchTable t;
    t.signature_name = std::string(view_.signature_name());
    for (std::uint32_t p = 0; p < view_.arity(); ++p) t.signature.parameter_types.push_back(live_type(view_.declared_parameter(p)));
    t.signature.return_type = live_type(view_.declared_return_type());
    t.implementations.reserve(view_.entry_count());
    for (std::uint32_t i = 0; i < view_.entry_count(); ++i) {
        const EntryView e = view_.entry(i);
        Implementation impl;
        impl.function = {std::string(e.name()), std::string(e.module()), e.function_id()};
        for (std::uint32_t p = 0; p < view_.arity(); ++p) impl.parameter_types.push_back(live_type(e.parameter(p)));
        impl.return_type = live_type(e.return_type());
        impl.effects = e.effects();
        impl.location = {std::string(e.source_file()), e.line(), e.column()};
        impl.specificity_rank = e.specificity_rank();
        impl.call_frequency = e.call_frequency();
        t.implementations.push_back(std::move(impl));
    }
    return t;
}

}  // namespace jdc
