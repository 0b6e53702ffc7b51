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
    if (sections->dispatch_index.present) {
        v.dispatch_index_ = bytes.data() + sections->dispatch_index.offset;
        v.dispatch_index_size_ = sections->dispatch_index.size;
    }
    if (sections->decision_tree.present) {
        v.decision_tree_ = bytes.data() + sections->decision_tree.offset;
        v.decision_tree_size_ = sections->decision_tree.size;
    }
    return v;
}

std::span<const std::byte> ArenaView::section(arena::SectionKind kind) const noexcept {
    switch (kind) {
        case arena::SectionKind::dispatch_index: return {dispatch_index_, dispatch_index_size_};
        case arena::SectionKind::decision_tree: return {decision_tree_, decision_tree_size_};
        default: break;
    }
    // The v1.0 sections are located through the directory again: tools only.
    const auto& h = header_;
    for (std::uint32_t i = 0; i < h.section_count; ++i) {
        const auto e = load<arena::SectionEntry>(bytes_.data() + h.section_dir_offset + sizeof(arena::SectionEntry) * i);
        if (e.kind == static_cast<std::uint32_t>(kind)) return bytes_.subspan(e.offset, e.size);
    }
    return {};
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
    bound.bind_index(registry);
    return bound;
}

void BoundArena::bind_index(const TypeRegistry& registry) {
    if (!view_.has_dispatch_index()) return;
    const std::byte* s = view_.dispatch_index_;
    const auto h = load<arena::DispatchIndexHeader>(s);
    const arena::DispatchIndexLayout l = arena::dispatch_index_layout(h);
    id_base_ = h.id_base;
    id_span_ = h.id_span;
    column_count_ = h.column_count;
    pole_counts_ = s + l.pole_counts;
    pole_of_ = s + l.pole_of;
    row_of_ = s + l.row_of;
    displacement_ = s + l.displacement;
    cells_ = s + l.cells;
    plain_cells_ = h.cell_format == arena::kCellsPlain;
    ambiguities_ = s + l.ambiguities;
    if (view_.has_decision_tree()) tree_nodes_ = view_.decision_tree_ + sizeof(arena::DecisionTreeHeader);

    // The index speaks the writer's ids. If the live registry gives every one of
    // those types the same id (a compiler that registers types in a stable order),
    // argument ids are used as they are: one load and compare per type here.
    const std::byte* hashes = s + l.type_hashes;
    bool same_ids = true;
    for (std::uint32_t i = 0; i < id_span_ && same_ids; ++i) {
        const Type* t = registry.find(id_base_ + i);
        same_ids = t != nullptr && t->structural_hash == load<std::uint64_t>(hashes + 8ull * i);
    }
    has_index_ = true;
    if (same_ids) return;
    // Otherwise map live ids to writer ids by structural hash; a live type with no
    // writer counterpart maps to 0, which every form sends to the scan.
    remap_size_ = registry.size() + 1;
    remap_ = std::make_unique<TypeId[]>(remap_size_);
    for (std::uint32_t i = 0; i < id_span_; ++i) {
        const TypeId live_id = registry.find_by_structural_hash(load<std::uint64_t>(hashes + 8ull * i));
        if (live_id != kInvalidType) remap_[live_id] = id_base_ + i;
    }
}

Resolution BoundArena::decode(std::uint32_t code) const noexcept {
    if (code == 0) return Resolution::none();
    if ((code & arena::kResultAmbiguous) != 0) {
        const std::byte* pair = ambiguities_ + 8ull * (code & ~arena::kResultAmbiguous);
        return Resolution::ambiguous(load<std::uint32_t>(pair), load<std::uint32_t>(pair + 4));
    }
    return Resolution::method(code - 1);
}

bool BoundArena::has_form(DispatchForm form) const noexcept {
    switch (form) {
        case DispatchForm::scan: return true;
        case DispatchForm::compressed_table: return has_index_;
        case DispatchForm::decision_tree: return tree_nodes_ != nullptr;
    }
    return false;
}

Resolution BoundArena::lookup_table(std::span<const TypeId> args) const noexcept {
    const std::uint32_t arity = view_.arity();
    if (!has_index_ || args.size() != arity) return lookup_scan(args);
    // Row: the poles of positions 0..arity-2 in mixed radix; column: the last pole.
    std::uint64_t row = 0;
    std::uint32_t column = 0;
    for (std::uint32_t p = 0; p < arity; ++p) {
        const std::uint32_t i = writer_id(args[p]) - id_base_;  // wraps for ids below the base
        if (i >= id_span_) return lookup_scan(args);
        const std::uint32_t pole = load<std::uint16_t>(pole_of_ + 2ull * (std::uint64_t{p} * id_span_ + i)) - 1u;
        if (p + 1 < arity) row = row * load<std::uint32_t>(pole_counts_ + 4ull * p) + pole;
        else column = pole;
    }
    const auto unique = load<std::uint32_t>(row_of_ + 4 * row);
    const auto slot = std::uint64_t{load<std::uint32_t>(displacement_ + 4ull * unique)} + column;
    if (plain_cells_) return decode(load<std::uint32_t>(cells_ + 4 * slot));
    const auto cell = load<arena::PoleCell>(cells_ + sizeof(arena::PoleCell) * slot);
    return decode(cell.owner == unique ? cell.result : 0);
}

Resolution BoundArena::lookup_tree(std::span<const TypeId> args) const noexcept {
    if (tree_nodes_ == nullptr || args.size() != view_.arity()) return lookup_scan(args);
    std::uint32_t index = 0;
    while (true) {  // child indexes only grow (verified), so this ends
        const auto node = load<arena::TreeNode>(tree_nodes_ + sizeof(arena::TreeNode) * index);
        switch (static_cast<arena::TreeNodeKind>(node.kind)) {
            case arena::TreeNodeKind::test:
                index = writer_id(args[node.position]) < node.value ? node.below : node.at_or_above;
                break;
            case arena::TreeNodeKind::result: return decode(node.value);
            default: return lookup_scan(args);
        }
    }
}

Resolution BoundArena::lookup_scan(std::span<const TypeId> args) const noexcept {
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
