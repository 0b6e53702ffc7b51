// jdc — types and the registry that owns them.
//
// A TypeRegistry is the compiler's live view of the type hierarchy for one build.
// Types are added supertypes-first, so the supertype graph is a DAG by
// construction (multiple inheritance allowed) and every ancestor of a type has a
// smaller id. That ordering lets `is_subtype` be one bit test: each type keeps a
// bit row over the ids below it (n^2/2 bits in all; 10,000 types cost 6 MB).
//
// The structural hash of a type covers its name, kind and the structural hashes of
// its supertypes, in declaration order. Two registries built from the same source
// give the same hashes, whatever ids they assign; a changed definition anywhere
// up the hierarchy changes the hash. Arenas store these hashes to detect staleness.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "jdc/error.hpp"
#include "jdc/export.hpp"
#include "jdc/type_domain.hpp"

namespace jdc {

using TypeId = std::uint32_t;

inline constexpr TypeId kInvalidType = 0;
inline constexpr TypeId kTypeI32 = 1;
inline constexpr TypeId kTypeF64 = 2;
inline constexpr TypeId kTypeBool = 3;
inline constexpr TypeId kTypeString = 4;
inline constexpr TypeId kFirstUserType = 5;

// Values are part of the on-disk format (arena type table); never renumber.
enum class TypeKind : std::uint8_t {
    primitive = 0,
    struct_ = 1,
    enum_ = 2,
    function = 3,
    generic_param = 4,
    generic_instance = 5,
};
inline constexpr std::uint8_t kTypeKindCount = 6;

JDC_API std::string_view to_string(TypeKind kind) noexcept;

struct Type {
    TypeId id = kInvalidType;
    std::string name;
    TypeKind kind = TypeKind::struct_;
    std::vector<TypeId> supertypes;  // direct supertypes, declaration order
    std::uint64_t structural_hash = 0;
    std::uint32_t depth = 0;  // longest supertype chain above this type; 0 for roots
};

class JDC_API TypeRegistry {
public:
    // A new registry holds the four built-ins (i32, f64, bool, string) with ids 1-4.
    TypeRegistry();
    // Copies the types; the copy computes its own domains.
    TypeRegistry(const TypeRegistry& other);
    TypeRegistry& operator=(const TypeRegistry& other);
    TypeRegistry(TypeRegistry&&) noexcept;
    TypeRegistry& operator=(TypeRegistry&&) noexcept;
    ~TypeRegistry();

    // Adds a type; every supertype must already be registered, and the name must be
    // new and non-empty. Returns the new id (ids are dense, from kFirstUserType).
    Result<TypeId> add(std::string_view name, TypeKind kind, std::span<const TypeId> supertypes = {});

    // nullptr when `id` is not a registered type.
    const Type* find(TypeId id) const noexcept { return id == kInvalidType || id >= types_.size() ? nullptr : &types_[id]; }
    // kInvalidType when no type has that name / that structural hash.
    TypeId find(std::string_view name) const noexcept;
    TypeId find_by_structural_hash(std::uint64_t hash) const noexcept;

    // True when `sub` == `super` or `super` is a (transitive) supertype of `sub`.
    // O(1). False for unregistered ids.
    bool is_subtype(TypeId sub, TypeId super) const noexcept {
        if (sub >= types_.size() || super == kInvalidType || super > sub) return false;
        const std::uint64_t word = ancestor_bits_[row_offset_[sub] + super / 64];
        return ((word >> (super % 64)) & 1u) != 0;
    }

    // The types that name `id` among their direct supertypes, in id order (empty for
    // an unregistered id): the edges domains are collected along.
    std::span<const TypeId> direct_subtypes(TypeId id) const noexcept {
        return id < subtypes_.size() ? std::span<const TypeId>(subtypes_[id]) : std::span<const TypeId>();
    }

    // The same relation by walking the supertype graph: the slow oracle that the
    // bit rows are tested against.
    bool is_subtype_by_walk(TypeId sub, TypeId super) const;

    // Number of registered types, including the built-ins (ids are 1..size()).
    std::size_t size() const noexcept { return types_.size() - 1; }
    // All types in id order (index 0 is the invalid placeholder, skipped here).
    std::span<const Type> types() const noexcept { return std::span<const Type>(types_).subspan(1); }

    // Hash of every type's structural hash in id order: changes when any definition does.
    std::uint64_t fingerprint() const noexcept;

    // The domain of `id` (type_domain.hpp): computed on first use, O(size()) once,
    // then kept. Safe to call from many threads at once; the reference stays valid
    // until the registry is destroyed or add() is called (adding a type changes
    // domains, so add() drops them all: do not add types while domains are in use).
    // An unregistered id has an empty domain.
    const TypeDomain& domain(TypeId id) const;

private:
    std::vector<Type> types_;  // index == id; slot 0 unused
    std::vector<std::uint64_t> ancestor_bits_;
    std::vector<std::size_t> row_offset_;  // start of each type's bit row in ancestor_bits_
    std::vector<std::vector<TypeId>> subtypes_;  // index == id: direct subtypes
    struct NameHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, TypeId, NameHash, std::equal_to<>> by_name_;
    std::unordered_map<std::uint64_t, TypeId> by_hash_;
    struct DomainCache;
    mutable std::unique_ptr<DomainCache> domains_;
};

// The structural hash of a type with these properties (exposed for the format spec
// and for independent readers).
JDC_API std::uint64_t structural_hash(std::string_view name, TypeKind kind, std::span<const std::uint64_t> supertype_hashes) noexcept;

}  // namespace jdc
