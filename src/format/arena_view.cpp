#include "jdc/arena_view.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>

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
    return v;
}

std::span<const std::byte> ArenaView::section(arena::SectionKind kind) const noexcept {
    if (kind == arena::SectionKind::dispatch_index) return {dispatch_index_, dispatch_index_size_};
    // The required sections are located through the directory again: tools only.
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
    const LocalType t{string_at(r.name_offset, r.name_length), r.structural_hash, static_cast<TypeKind>(r.kind), arena::kNoDomain, 0, kInvalidType};
    if (header_.version_major < 2) return {t.name, t.structural_hash, t.kind, arena::kNoDomain, 0, r.domain_rank};  // 1.x: the writer's id
    return {t.name, t.structural_hash, t.kind, r.domain_position, r.domain_rank, kInvalidType};
}

EntryView ArenaView::entry(std::uint32_t index) const noexcept {
    return EntryView(bytes_.data(), load<arena::EntryRecord>(entries_ + sizeof(arena::EntryRecord) * index),
                     parameters_ + 4ull * arity_ * index);
}

BoundArena::BoundArena(const ArenaView& view, const TypeRegistry& registry)
    : view_(view), registry_(&registry), arity_(view.arity()) {}

namespace {

// The live type a record names: by its domain reference (format 2) or the writer's id
// (format 1) when the type found there has the record's structural hash, else by
// structural hash. Whether the result is the record's type (the name too) is the
// caller's check.
TypeId find_local(const ArenaView& view, const TypeRegistry& registry, std::span<const TypeId> declared, const LocalType& t) noexcept {
    if (t.domain_position < declared.size()) {
        // A registry whose domain gained or lost types since the writer ranks them
        // differently: then the hash says so, and the type is found by hash below.
        const TypeDomain& d = registry.domain(declared[t.domain_position]);
        if (t.domain_rank < d.size())
            if (const TypeId id = d.member(t.domain_rank); registry.find(id)->structural_hash == t.structural_hash) return id;
    }
    if (t.id_hint != kInvalidType)
        if (const Type* hinted = registry.find(t.id_hint); hinted != nullptr && hinted->structural_hash == t.structural_hash) return t.id_hint;
    (void)view;
    return registry.find_by_structural_hash(t.structural_hash);
}

bool same_type(const TypeRegistry& registry, TypeId id, const LocalType& t) noexcept {
    const Type* live = registry.find(id);
    return live != nullptr && live->structural_hash == t.structural_hash && live->name == t.name;
}

Error stale_type(const ArenaView& view, const TypeRegistry& registry, const LocalType& t) {
    const std::string what = "dispatch table '" + std::string(view.signature_name()) + "': type '" + std::string(t.name) + "'";
    if (registry.find(t.name) == kInvalidType) return Error(ErrorCode::stale, what + " no longer exists in the type registry");
    return Error(ErrorCode::stale, what + " changed definition since the arena was written");
}

}  // namespace

Result<BoundArena> BoundArena::bind(const ArenaView& view, const TypeRegistry& registry) {
    BoundArena bound(view, registry);
    // The declared parameter types first: domain references are relative to them.
    // They are in their own domains, but finding them there needs them already, so
    // they are found by structural hash.
    std::array<TypeId, arena::DispatchIndexLayout::kMaxArity> declared{};
    for (std::uint32_t p = 0; p < bound.arity_ && p < declared.size(); ++p) {
        const LocalType t = view.type(view.declared_parameter(p));
        declared[p] = registry.find_by_structural_hash(t.structural_hash);
        if (!same_type(registry, declared[p], t)) return tl::unexpected(stale_type(view, registry, t));
    }
    const std::span<const TypeId> live_declared(declared.data(), std::min<std::size_t>(bound.arity_, declared.size()));
    for (std::uint32_t p = 0; p < bound.arity_ && p < kInlinePositions; ++p) bound.declared_live_[p] = declared[p];
    for (std::uint32_t i = 0; i < view.type_count(); ++i) {
        const LocalType t = view.type(i);
        const TypeId id = find_local(view, registry, live_declared, t);
        if (!same_type(registry, id, t)) return tl::unexpected(stale_type(view, registry, t));
        if (i < kInlineTypes) bound.inline_live_[i] = id;
    }
    bound.bind_index();
    return bound;
}

Result<BoundArena> BoundArena::bind_keyed(const ArenaView& view, const TypeRegistry& registry, const CacheKey& key,
                                          std::span<const TypeId> declared_parameters) {
    if (key.is_zero())  // the key of no table: every unkeyed arena would carry it
        return make_error(ErrorCode::invalid_argument, "binding dispatch table '" + std::string(view.signature_name()) + "' by the zero key");
    if (view.key() != key)
        return make_error(ErrorCode::stale, "dispatch table '" + std::string(view.signature_name()) + "' was stored under key " +
                                                view.key().to_hex() + ", not " + key.to_hex() + " as asked");
    if (declared_parameters.size() != view.arity())
        return make_error(ErrorCode::invalid_argument, "binding dispatch table '" + std::string(view.signature_name()) + "' of arity " +
                                                           std::to_string(view.arity()) + " with " +
                                                           std::to_string(declared_parameters.size()) + " declared parameter types");
    BoundArena bound(view, registry);
    for (std::uint32_t p = 0; p < bound.arity_; ++p)
        if (!same_type(registry, declared_parameters[p], view.type(view.declared_parameter(p))))
            return make_error(ErrorCode::invalid_argument, "binding dispatch table '" + std::string(view.signature_name()) +
                                                               "': declared parameter " + std::to_string(p) + " is not the arena's");
    for (std::uint32_t p = 0; p < bound.arity_ && p < kInlinePositions; ++p) bound.declared_live_[p] = declared_parameters[p];
    const std::uint32_t cached = std::min<std::uint32_t>(view.type_count(), kInlineTypes);
    for (std::uint32_t i = 0; i < cached; ++i) bound.inline_live_[i] = find_local(view, registry, declared_parameters, view.type(i));
    bound.bind_index();
    return bound;
}

TypeId BoundArena::resolve_local(std::uint32_t local_index) const noexcept {
    if (arity_ <= kInlinePositions) return find_local(view_, *registry_, std::span<const TypeId>(declared_live_.data(), arity_), view_.type(local_index));
    std::array<TypeId, arena::DispatchIndexLayout::kMaxArity> declared{};
    for (std::uint32_t p = 0; p < arity_ && p < declared.size(); ++p)
        declared[p] = registry_->find_by_structural_hash(view_.type(view_.declared_parameter(p)).structural_hash);
    return find_local(view_, *registry_, std::span<const TypeId>(declared.data(), std::min<std::size_t>(arity_, declared.size())),
                      view_.type(local_index));
}

void BoundArena::bind_index() {
    if (!view_.has_dispatch_index()) return;
    const std::byte* s = view_.dispatch_index_;
    const auto h = load<arena::DispatchIndexHeader>(s);
    std::array<std::uint32_t, arena::DispatchIndexLayout::kMaxArity> domain_sizes{};
    std::array<Position, arena::DispatchIndexLayout::kMaxArity> all{};  // on the stack: binding allocates nothing below kInlinePositions
    for (std::uint32_t p = 0; p < h.arity; ++p) {
        const auto pr = load<arena::PositionRecord>(s + sizeof(arena::DispatchIndexHeader) + sizeof(arena::PositionRecord) * p);
        domain_sizes[p] = pr.domain_size;
        // The index speaks canonical ranks of the writer's domains: usable only when
        // the live registry's domain is the same one (same digest, hence same ranks).
        const TypeDomain& live = registry_->domain(p < kInlinePositions ? declared_live_[p] : live_type(view_.declared_parameter(p)));
        if (live.digest() != pr.domain_digest || live.size() != pr.domain_size) return;
        all[p].ranks = live.ranks();
        all[p].pole_count = pr.pole_count;
    }
    const arena::DispatchIndexLayout l = arena::dispatch_index_layout(h, domain_sizes);
    for (std::uint32_t p = 0; p < h.arity; ++p) all[p].pole_of = s + l.pole_of[p];
    for (std::uint32_t p = 0; p < h.arity && p < kInlinePositions; ++p) positions_[p] = all[p];
    if (h.arity > kInlinePositions) {
        auto more = std::shared_ptr<Position[]>(new Position[h.arity - kInlinePositions]);
        std::copy(all.begin() + kInlinePositions, all.begin() + h.arity, more.get());
        more_positions_ = std::move(more);
    }
    rows_ = s + l.rows;
    cells_ = s + l.cells;
    ambiguities_ = s + l.ambiguities;
    plain_cells_ = h.cell_format == arena::kCellsPlain;
    table_ready_ = true;
}

Resolution BoundArena::lookup_table_any(std::span<const TypeId> args) const noexcept {
    // Row: the poles of positions 0..arity-2 in mixed radix; column: the last pole.
    std::uint64_t row = 0;
    std::uint32_t column = 0;
    for (std::uint32_t p = 0; p < arity_; ++p) {
        const Position& pos = position(p);
        const std::int64_t pole = this->pole(pos, args[p]);
        if (pole < 0) return Resolution::none();
        if (p + 1 < arity_) row = row * pos.pole_count + static_cast<std::uint64_t>(pole);
        else column = static_cast<std::uint32_t>(pole);
    }
    return cell(row, column);
}

Resolution BoundArena::lookup_scan(std::span<const TypeId> args) const noexcept {
    const std::uint32_t arity = view_.arity();
    const std::uint32_t n = view_.entry_count();
    if (args.size() != arity) return Resolution::none();
    const std::byte* params = view_.parameters_;
    const TypeRegistry& reg = *registry_;

    auto param = [&](std::uint32_t entry, std::uint32_t pos) {
        return live_type(load<std::uint32_t>(params + 4ull * (std::uint64_t{entry} * arity + pos)));
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

ConeResolution BoundArena::resolve_cone(std::span<const TypeId> static_types, std::uint64_t max_behaviours) const {
    ConeResolution out;
    if (static_types.size() != arity_) {
        out.no_method.emplace(static_types.begin(), static_types.end());
        return out;
    }
    std::vector<std::span<const TypeId>> cones(arity_);
    for (std::uint32_t p = 0; p < arity_; ++p) {
        cones[p] = registry_->domain(static_types[p]).members();
        if (cones[p].empty()) {  // an unregistered static type: itself, outside every domain
            out.no_method.emplace(static_types.begin(), static_types.end());
            return out;
        }
    }
    return resolve_cone(std::span<const std::span<const TypeId>>(cones), max_behaviours);
}

ConeResolution BoundArena::resolve_cone(std::span<const std::span<const TypeId>> cones, std::uint64_t max_behaviours) const {
    ConeResolution out;
    if (cones.size() != arity_) {
        std::vector<TypeId> first;
        for (std::span<const TypeId> c : cones) first.push_back(c.empty() ? kInvalidType : *std::min_element(c.begin(), c.end()));
        out.no_method = std::move(first);
        return out;
    }
    std::size_t total = 0, widest = 0;
    for (std::span<const TypeId> c : cones) {
        if (c.empty()) return out;  // no tuple at all
        total += c.size();
        widest = std::max(widest, c.size());
    }
    // Per position p, the representatives of the cone's groups of behaviour, ascending,
    // in reps[bound[p] .. bound[p + 1]). A group is keyed by the pole (slot 0: outside
    // the declared parameter's domain, where no method accepts a type) or, without the
    // index, by the set of entries accepting its types there (`words` bit words per
    // group in keys[], in the order of reps); its representative is its smallest id.
    const std::uint32_t n = view_.entry_count();
    const std::size_t words = (n + 63) / 64;
    const std::size_t key_words = table_ready_ ? 0 : words;
    // Working memory, one block, on the stack while it fits (a compiler asks this for
    // every call it compiles, mostly on small cones). 8-byte arrays first, then 4-byte.
    const std::size_t slots = (2 * std::size_t{arity_} + 1) + total * key_words + (table_ready_ ? widest : 0) + words;
    const std::size_t ids = (total + arity_) + (table_ready_ ? 0 : widest + n);
    const std::size_t need = 8 * slots + 4 * ids;
    alignas(8) std::array<std::byte, 4096> stack;
    std::unique_ptr<std::byte[]> heap;
    std::byte* block = stack.data();
    if (need > stack.size()) {
        heap.reset(new std::byte[need]);
        block = heap.get();
    }
    auto take = [&block](auto* type, std::size_t count) {
        using T = std::remove_pointer_t<decltype(type)>;
        T* p = reinterpret_cast<T*>(block);
        block += sizeof(T) * count;
        return p;
    };
    std::size_t* bound = take(static_cast<std::size_t*>(nullptr), arity_ + 1);
    std::size_t* at = take(static_cast<std::size_t*>(nullptr), arity_);  // an odometer over the groups
    std::uint64_t* keys = take(static_cast<std::uint64_t*>(nullptr), total * key_words);
    std::uint64_t* by_slot = take(static_cast<std::uint64_t*>(nullptr), table_ready_ ? widest : 0);  // slot << 32 | id
    std::uint64_t* selected = take(static_cast<std::uint64_t*>(nullptr), words);                    // methods found so far
    TypeId* reps = take(static_cast<TypeId*>(nullptr), total + arity_);  // then the tuple being resolved
    TypeId* sorted = take(static_cast<TypeId*>(nullptr), table_ready_ ? 0 : widest);
    TypeId* params = take(static_cast<TypeId*>(nullptr), table_ready_ ? 0 : n);  // the entries' parameter types at a position

    const TypeRegistry& reg = *registry_;
    std::size_t count = 0;  // representatives so far
    bound[0] = 0;
    for (std::uint32_t p = 0; p < arity_; ++p) {
        const std::size_t begin = count;
        std::span<const TypeId> cone = cones[p];
        if (table_ready_) {
            const Position& pos = position(p);
            for (std::size_t i = 0; i < cone.size(); ++i) by_slot[i] = (static_cast<std::uint64_t>(this->pole(pos, cone[i]) + 1) << 32) | cone[i];
            std::sort(by_slot, by_slot + cone.size());  // by slot, then id: each slot's first is its representative
            for (std::size_t i = 0; i < cone.size(); ++i)
                if (i == 0 || (by_slot[i] >> 32) != (by_slot[i - 1] >> 32)) reps[count++] = static_cast<TypeId>(by_slot[i]);
            std::sort(reps + begin, reps + count);
        } else {
            // In ascending id order a group's first type is its representative, and
            // groups appear by representative: no sorting of groups.
            if (!std::is_sorted(cone.begin(), cone.end())) {
                std::copy(cone.begin(), cone.end(), sorted);
                std::sort(sorted, sorted + cone.size());
                cone = std::span<const TypeId>(sorted, cone.size());
            }
            for (std::uint32_t e = 0; e < n; ++e) {  // as live ids, once: then a type's key is n subtype tests
                std::uint32_t local;
                std::memcpy(&local, view_.parameters_ + 4ull * (std::uint64_t{e} * arity_ + p), 4);
                params[e] = live_type(local);
            }
            if (words == 1) {  // up to 64 entries: what a table stored without the index has
                for (TypeId t : cone) {
                    std::uint64_t key = 0;
                    for (std::uint32_t e = 0; e < n; ++e) key |= std::uint64_t{reg.is_subtype(t, params[e])} << e;
                    std::size_t same = begin;
                    while (same < count && keys[same] != key) ++same;
                    if (same == count) {
                        keys[count] = key;
                        reps[count++] = t;
                    }
                }
            } else {
                for (TypeId t : cone) {
                    std::uint64_t* key = keys + count * words;  // a new group's place
                    std::fill_n(key, words, 0);
                    for (std::uint32_t e = 0; e < n; ++e)
                        if (reg.is_subtype(t, params[e])) key[e / 64] |= std::uint64_t{1} << (e % 64);
                    std::size_t same = begin;
                    while (same < count && !std::equal(key, key + words, keys + same * words)) ++same;
                    if (same == count) reps[count++] = t;
                }
            }
        }
        bound[p + 1] = count;
    }
    const std::span<TypeId> args(reps + count, arity_);
    for (std::uint32_t p = 0; p < arity_; ++p) at[p] = bound[p];
    std::fill_n(selected, words, 0);
    while (true) {
        if (out.behaviours == max_behaviours) {
            out.truncated = true;
            break;
        }
        ++out.behaviours;
        for (std::uint32_t p = 0; p < arity_; ++p) args[p] = reps[at[p]];
        Resolution r;
        if (table_ready_) {
            r = lookup(args);
        } else {
            // A tuple of groups that no method, or a single one, accepts at every
            // position is answered from the keys (as the scan would); others are looked up.
            std::uint32_t applicable = 0, only = 0;
            for (std::size_t w = 0; w < words && applicable < 2; ++w) {
                std::uint64_t common = ~std::uint64_t{0};
                for (std::uint32_t p = 0; p < arity_; ++p) common &= keys[at[p] * words + w];
                if (common == 0) continue;
                if (applicable == 0) only = static_cast<std::uint32_t>(w * 64 + std::countr_zero(common));
                applicable += (common & (common - 1)) != 0 ? 2 : 1;
            }
            r = applicable == 0 ? Resolution::none() : applicable == 1 ? Resolution::method(only) : lookup(args);
        }
        switch (r.kind) {
            case ResolutionKind::method:
                if ((selected[r.index / 64] >> (r.index % 64) & 1u) == 0) {
                    selected[r.index / 64] |= std::uint64_t{1} << (r.index % 64);
                    out.methods.push_back(r.index);
                }
                break;
            case ResolutionKind::ambiguous:
                if (!out.ambiguous) out.ambiguous = ConeResolution::Ambiguity{{args.begin(), args.end()}, r.index, r.other};
                break;
            case ResolutionKind::no_method:
                if (!out.no_method) out.no_method.emplace(args.begin(), args.end());
                break;
        }
        std::uint32_t p = arity_;  // odometer, last position fastest: lexicographic order
        while (p > 0 && ++at[p - 1] == bound[p]) {
            at[p - 1] = bound[p - 1];
            --p;
        }
        if (p == 0) break;
    }
    std::sort(out.methods.begin(), out.methods.end());
    return out;
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
