// What the benchmark peers of the jdc arena (FlatBuffers, Cap'n Proto, protobuf) share,
// so that they differ only in their encoding: the table-local type list the writers
// build, the type fixup on load, the index checks jdc's verifier makes, and the lookup
// algorithm. Each is written once here and used by every peer, so a difference in the
// figures is the format's, not the peer code's.
//
// Every peer (fb_peer.hpp, capnp_peer.hpp, pb_peer.hpp) is a struct with
//   kName                       "Fb", "Capnp", "Pb": the benchmarks' name prefix
//   Encoded encode(table, reg)  the encoded bytes, owned (what would be written to disk)
//   bytes(const Encoded&)       a view of them
//   bool verify(bytes)          the format's own verification, alone
//   class Bound                 bool load(bytes, registry, IndexChecks) (verify + fixup),
//                               Resolution lookup(args) const noexcept
// Bound borrows the bytes and the registry: both must outlive it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "jdc/dispatch_table.hpp"
#include "jdc/resolver.hpp"
#include "jdc/type_registry.hpp"

namespace jdc::bench {

inline constexpr std::uint32_t kNoLocal = 0xFFFFFFFFu;

// Whether a load also makes the index checks jdc's verifier makes and the peers'
// verifiers cannot (every type index < type count, every parameter list of the table's
// arity): without them a lookup on untrusted bytes can index out of the live-type map.
enum class IndexChecks : std::uint8_t { skip, run };

// Table-local type list in order of first mention, as the jdc builder makes it, so
// every encoding holds the same indexes.
class LocalTypes {
public:
    explicit LocalTypes(const TypeRegistry& registry) : local_of_(registry.size() + 1, kNoLocal) {}
    std::uint32_t index(TypeId id) {
        if (id == kInvalidType) return kNoLocal;
        std::uint32_t& slot = local_of_[id];
        if (slot == kNoLocal) {
            slot = static_cast<std::uint32_t>(order_.size());
            order_.push_back(id);
        }
        return slot;
    }
    const std::vector<TypeId>& order() const { return order_; }

private:
    std::vector<std::uint32_t> local_of_;
    std::vector<TypeId> order_;
};

// One local type as a peer stores it.
struct StoredType {
    std::string_view name;
    std::uint64_t structural_hash;
    TypeId id_hint;
};

// Local type index -> live TypeId, inline up to 16 types, as BoundArena keeps it.
class LiveTypes {
public:
    TypeId* reset(std::uint32_t count) {
        heap_.reset();
        if (count <= kInline) return inline_.data();
        heap_ = std::make_unique<TypeId[]>(count);
        return heap_.get();
    }
    const TypeId* data() const noexcept { return heap_ ? heap_.get() : inline_.data(); }

private:
    static constexpr std::size_t kInline = 16;
    std::array<TypeId, kInline> inline_{};
    std::unique_ptr<TypeId[]> heap_;
};

// The fixup of BoundArena::bind: the writer's id if it still names the same type (same
// structural hash and name), else the type with that structural hash, names compared.
// `type_at(i)` returns the StoredType of local index i. False when a type is missing or
// changed (jdc's ErrorCode::stale).
template <class TypeAt>
bool bind_types(std::uint32_t count, TypeAt&& type_at, const TypeRegistry& registry, LiveTypes& live_types) {
    TypeId* live = live_types.reset(count);
    for (std::uint32_t i = 0; i < count; ++i) {
        const StoredType t = type_at(i);
        if (const Type* hinted = registry.find(t.id_hint);
            hinted != nullptr && hinted->structural_hash == t.structural_hash && hinted->name == t.name) {
            live[i] = t.id_hint;
            continue;
        }
        const TypeId id = registry.find_by_structural_hash(t.structural_hash);
        if (id == kInvalidType || registry.find(id)->name != t.name) return false;
        live[i] = id;
    }
    return true;
}

// The bounds jdc's verifier checks on every type reference.
struct IndexBounds {
    std::uint32_t arity;
    std::uint32_t type_count;
    bool local_ok(std::uint32_t i) const noexcept { return i < type_count; }
    bool return_ok(std::uint32_t i) const noexcept { return i == kNoLocal || i < type_count; }
    template <class List>
    bool params_ok(const List& list) const {
        if (static_cast<std::uint64_t>(list.size()) != arity) return false;  // protobuf sizes are int
        for (std::uint32_t p : list)
            if (!local_ok(p)) return false;
        return true;
    }
};

// BoundArena::lookup's algorithm (a tournament for the most specific applicable entry,
// then a pass that looks for a rival), over any encoding: `param(entry, position)` is
// the live TypeId of an entry's parameter.
template <class Param>
Resolution tournament(std::uint32_t entry_count, std::uint32_t arity, std::span<const TypeId> args,
                      const TypeRegistry& reg, Param&& param) noexcept {
    if (args.size() != arity) return Resolution::none();
    auto applies = [&](std::uint32_t entry) {
        for (std::uint32_t p = 0; p < arity; ++p)
            if (!reg.is_subtype(args[p], param(entry, p))) return false;
        return true;
    };
    auto as_specific = [&](std::uint32_t a, std::uint32_t b) {
        for (std::uint32_t p = 0; p < arity; ++p)
            if (!reg.is_subtype(param(a, p), param(b, p))) return false;
        return true;
    };
    const std::uint32_t n = entry_count;
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

}  // namespace jdc::bench
