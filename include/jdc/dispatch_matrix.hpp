// jdc — the dispatch matrix: the resolution of every tuple of argument types, in
// compressed (pole) form.
//
// Format layer, pure. For a table and a registry, the *universe* of position p is
// the domain of the declared parameter type at p (type_domain.hpp: its subtypes, the
// types a well-typed call can pass there), its members numbered by canonical rank.
// Two types of a universe behave the same at p exactly when the same methods accept
// them there (the same *applicable set*), since resolution only ever asks "does
// method m accept this argument at p" and then compares methods with each other.
// Types with the same applicable set form a *pole* (Dujardin, Amiel & Simon 1998 call
// the representatives pole types); the matrix stores one resolution per tuple of
// poles instead of one per tuple of types, so 1,000 types with 30 distinct behaviours
// cost 30 rows, not 1,000. Poles are numbered from 1 in the order of the rank of
// their first member, so the matrix, like the arena that stores it, depends on the
// domains and the methods only, never on registry ids.
//
// Results are encoded as one u32 (`ResultCode`), shared with the arena's dispatch
// index (format-spec/arena-v2.md §5.6):
//   0                      no method
//   1 .. n                 the method with table index code - 1
//   0x80000000 | j         ambiguous; j indexes ambiguities() (a pair of witnesses)
//
// Building is, per position, O(universe size x min(k, d)) where k is the number of
// distinct parameter types there and d the members' direct supertypes (a member's
// applicable set is found by a subtype test per parameter type when they are few, from
// its supertypes' sets when they are many), plus a hash per member to find its pole;
// then O(n / 64 + |A|) per pole tuple (A: the tuple's applicable methods), with a
// bit-row relation "a is at least as specific as b" precomputed once (n^2 bits). It
// computes no domain but the declared parameter types'.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "jdc/dispatch_table.hpp"
#include "jdc/export.hpp"
#include "jdc/resolver.hpp"
#include "jdc/type_domain.hpp"

namespace jdc {

using ResultCode = std::uint32_t;
inline constexpr ResultCode kResultNoMethod = 0;
inline constexpr ResultCode kResultAmbiguousBit = 0x80000000u;

struct AmbiguityPair {
    std::uint32_t first = 0, second = 0;  // table indexes, first < second
    bool operator==(const AmbiguityPair&) const = default;
};

struct MatrixLimits {
    // Pole tuples (product of the per-position pole counts) above which the matrix
    // is not built: the table is then served by the scan, which needs no index.
    std::uint64_t max_cells = std::uint64_t{1} << 22;
};

class JDC_API DispatchMatrix {
public:
    // Errors: invalid_argument (table does not validate), limit_exceeded (too many
    // pole tuples for `limits`). The matrix refers to `registry`'s domains, which
    // must outlive it (for pole_of by type id and resolve()).
    static Result<DispatchMatrix> build(const DispatchTable& table, const TypeRegistry& registry, const MatrixLimits& limits = {});

    // The same matrix from its parts (as decoded from an arena); checked for
    // consistency: every pole index in range, every cell a valid code, the
    // ambiguity witnesses valid method indexes. Error: corrupt. A matrix from parts
    // knows no registry: it answers by rank (pole_of_rank, resolve_ranks).
    struct Parts {
        std::uint32_t arity = 0;
        std::uint32_t method_count = 0;
        std::vector<std::uint64_t> domain_digest;         // [position]
        std::vector<std::vector<std::uint32_t>> pole_of;  // [position][rank], 1-based
        std::vector<std::uint32_t> pole_count;            // [position]
        std::vector<ResultCode> cells;                    // row-major over poles (position 0 slowest)
        std::vector<AmbiguityPair> ambiguities;
    };
    static Result<DispatchMatrix> from_parts(Parts parts);

    std::uint32_t arity() const noexcept { return p_.arity; }
    std::uint32_t method_count() const noexcept { return p_.method_count; }
    std::uint32_t domain_size(std::uint32_t position) const noexcept { return static_cast<std::uint32_t>(p_.pole_of[position].size()); }
    std::uint64_t domain_digest(std::uint32_t position) const noexcept { return p_.domain_digest[position]; }
    // The registry's domain of position p; nullptr for a matrix from parts.
    const TypeDomain* domain(std::uint32_t position) const noexcept { return domains_.empty() ? nullptr : domains_[position]; }
    std::uint32_t pole_count(std::uint32_t position) const noexcept { return p_.pole_count[position]; }
    // 1-based pole of the member of canonical rank `rank` at `position` (rank < domain_size).
    std::uint32_t pole_of_rank(std::uint32_t position, std::uint32_t rank) const noexcept { return p_.pole_of[position][rank]; }
    std::span<const std::uint32_t> pole_row(std::uint32_t position) const noexcept { return p_.pole_of[position]; }
    // 1-based pole of `id` at `position`; 0 when `id` is outside that universe (or the
    // matrix knows no registry).
    std::uint32_t pole_of(std::uint32_t position, TypeId id) const noexcept {
        const TypeDomain* d = domain(position);
        const std::uint32_t rank = d == nullptr ? kNotInDomain : d->rank_of(id);
        return rank == kNotInDomain ? 0 : p_.pole_of[position][rank];
    }
    // Cells in row-major order over 0-based pole indexes, position 0 slowest.
    std::span<const ResultCode> cells() const noexcept { return p_.cells; }
    std::span<const AmbiguityPair> ambiguities() const noexcept { return p_.ambiguities; }

    // Resolution of a tuple of types through the poles: an argument outside its
    // universe has no method (methods' parameters lie inside it). Needs a matrix
    // built from a registry; one from parts answers no_method to everything here.
    Resolution resolve(std::span<const TypeId> args) const noexcept;
    // The same by canonical ranks (each < domain_size of its position).
    Resolution resolve_ranks(std::span<const std::uint32_t> ranks) const noexcept;
    Resolution decode(ResultCode code) const noexcept;

    // The same matrix for the table with its methods reordered: method i of this
    // table is method new_index[i] of the other. A compiler that sorts its methods
    // after resolving (e.g. hottest first) keeps the matrix instead of resolving
    // again. Error: invalid_argument unless new_index is a permutation of 0..n-1.
    Result<DispatchMatrix> renumbered(std::span<const std::uint32_t> new_index) const;

    // Methods that are the answer for at least one tuple, or a witness of an ambiguity.
    std::vector<bool> reachable_methods() const;
    // Bytes of the uncompressed form this replaces: one u32 result per tuple of
    // universe types (saturates at UINT64_MAX).
    std::uint64_t dense_bytes() const noexcept;

private:
    DispatchMatrix(Parts p, std::vector<const TypeDomain*> domains) : p_(std::move(p)), domains_(std::move(domains)) {}
    Parts p_;
    std::vector<const TypeDomain*> domains_;  // [position], empty for a matrix from parts
};

}  // namespace jdc
