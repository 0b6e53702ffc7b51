// jdc — the domain of a type: every type a parameter declared with it can receive.
//
// Format layer, pure. The domain of T in a registry is the set of its subtypes, T
// included. A dispatch table's content is a function of the domains of its declared
// parameter types (which argument types exist, and how they relate), never of the
// registry's other types or of the ids the compiler happened to give them. So arenas
// number the types of a domain by a *canonical rank* — the position of the type's
// structural hash in the ascending list of the domain's structural hashes — instead
// of by registry id (format-spec/arena-v2.md §4). Two registries that agree on a
// domain agree on every rank in it, whatever else they contain and in whatever order
// they registered their types; a type added elsewhere in the hierarchy changes no
// rank.
//
// The digest of a domain (XXH3-64 of its size and its members' structural hashes in
// rank order) identifies it: since a structural hash covers a type's name, kind and
// every supertype up to the roots, equal digests mean equal members with an equal
// subtype relation among them (barring a 64-bit collision). Cache keys and the
// arena's dispatch index record digests; a reader compares them in O(1).
//
// Domains are computed lazily by TypeRegistry::domain() and kept by the registry
// (see there for lifetime and thread safety). `rank_of` is the hot operation of a
// table lookup: one bounds test and one load.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "jdc/export.hpp"

namespace jdc {

using TypeId = std::uint32_t;
class TypeRegistry;

inline constexpr std::uint32_t kNotInDomain = 0xFFFFFFFFu;

class JDC_API TypeDomain {
public:
    // Every registered subtype of `root` (itself included), by canonical rank.
    // `root` must be registered.
    TypeDomain(const TypeRegistry& registry, TypeId root);

    TypeId root() const noexcept { return root_; }
    std::uint32_t size() const noexcept { return static_cast<std::uint32_t>(members_.size()); }
    std::uint64_t digest() const noexcept { return digest_; }

    // The live id of the member with canonical rank `rank` (< size()).
    TypeId member(std::uint32_t rank) const noexcept { return members_[rank]; }
    std::span<const TypeId> members() const noexcept { return members_; }

    // The canonical rank of `id`, or kNotInDomain when `id` is not a member (not a
    // subtype of the root, or not registered at all).
    std::uint32_t rank_of(TypeId id) const noexcept { return ranks().rank_of(id); }

    // The rank lookup as plain data, for hot loops that keep it next to their own
    // (BoundArena copies it per position: one dependent load fewer per lookup).
    struct RankTable {
        const std::uint32_t* rank_by_id = nullptr;
        TypeId id_base = 0;
        std::uint32_t id_span = 0;
        std::uint32_t rank_of(TypeId id) const noexcept {
            const std::uint32_t i = id - id_base;  // wraps for ids below the base
            return i < id_span ? rank_by_id[i] : kNotInDomain;
        }
    };
    RankTable ranks() const noexcept { return {rank_by_id_.get(), id_base_, id_span_}; }

private:
    TypeId root_;
    std::uint64_t digest_ = 0;
    std::vector<TypeId> members_;          // by rank
    TypeId id_base_ = 0;                   // smallest member id (the root: supertypes have smaller ids)
    std::uint32_t id_span_ = 0;            // largest member id - id_base_ + 1
    std::unique_ptr<std::uint32_t[]> rank_by_id_;  // [id - id_base_] -> rank or kNotInDomain
};

// The digest of a domain whose members have these structural hashes, in rank order
// (ascending). Exposed for the format spec and independent readers.
JDC_API std::uint64_t domain_digest(std::span<const std::uint64_t> ascending_member_hashes) noexcept;

}  // namespace jdc
