// jdc — the dispatch matrix: the resolution of every tuple of argument types, in
// compressed (pole) form.
//
// Format layer, pure. For a table and a registry, the *universe* of position p is
// every registered type that is a subtype of the declared parameter type at p (the
// types a well-typed call can pass there). Two types of a universe behave the same
// at p exactly when the same methods accept them there (the same *applicable set*),
// since resolution only ever asks "does method m accept this argument at p" and
// then compares methods with each other. Types with the same applicable set form a
// *pole* (Dujardin, Amiel & Simon 1998 call the representatives pole types); the
// matrix stores one resolution per tuple of poles instead of one per tuple of
// types, so 1,000 types with 30 distinct behaviours cost 30 rows, not 1,000.
//
// Results are encoded as one u32 (`ResultCode`), shared with the arena's optimized
// sections (format-spec/arena-v1.md §5.6):
//   0                      no method
//   1 .. n                 the method with table index code - 1
//   0x80000000 | j         ambiguous; j indexes ambiguities() (a pair of witnesses)
//
// Building is O(|universe| * n) subtype tests per position plus O(n / 64 + |A|)
// per pole tuple (A: the tuple's applicable methods), with a bit-row relation
// "a is at least as specific as b" precomputed once (n^2 bits).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "jdc/dispatch_table.hpp"
#include "jdc/resolver.hpp"

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

class DispatchMatrix {
public:
    // Errors: invalid_argument (table does not validate), limit_exceeded (too many
    // pole tuples for `limits`).
    static Result<DispatchMatrix> build(const DispatchTable& table, const TypeRegistry& registry, const MatrixLimits& limits = {});

    // The same matrix from its parts (as decoded from an arena); checked for
    // consistency: every pole index in range, every cell a valid code, the
    // ambiguity witnesses valid method indexes. Error: corrupt.
    struct Parts {
        std::uint32_t arity = 0;
        std::uint32_t method_count = 0;
        TypeId id_base = 0;
        std::uint32_t id_span = 0;
        std::vector<std::vector<std::uint32_t>> pole_of;  // [position][id - id_base]; 0 = not in the universe
        std::vector<std::uint32_t> pole_count;            // [position]
        std::vector<ResultCode> cells;                    // row-major over poles (position 0 slowest)
        std::vector<AmbiguityPair> ambiguities;
    };
    static Result<DispatchMatrix> from_parts(Parts parts);

    std::uint32_t arity() const noexcept { return p_.arity; }
    std::uint32_t method_count() const noexcept { return p_.method_count; }
    // Universe ids all lie in [id_base, id_base + id_span).
    TypeId id_base() const noexcept { return p_.id_base; }
    std::uint32_t id_span() const noexcept { return p_.id_span; }
    std::uint32_t pole_count(std::uint32_t position) const noexcept { return p_.pole_count[position]; }
    // 1-based pole of `id` at `position`; 0 when `id` is outside that universe.
    std::uint32_t pole_of(std::uint32_t position, TypeId id) const noexcept {
        const std::uint64_t i = std::uint64_t{id} - p_.id_base;
        return id >= p_.id_base && i < p_.id_span ? p_.pole_of[position][i] : 0;
    }
    std::span<const std::uint32_t> pole_row(std::uint32_t position) const noexcept { return p_.pole_of[position]; }
    // Cells in row-major order over 0-based pole indexes, position 0 slowest.
    std::span<const ResultCode> cells() const noexcept { return p_.cells; }
    std::span<const AmbiguityPair> ambiguities() const noexcept { return p_.ambiguities; }
    // The types of the union of the universes, ascending (ids with a pole somewhere).
    std::vector<TypeId> universe() const;

    // Resolution of a tuple of types through the poles. nullopt-like: returns false
    // when some argument is outside its universe (the caller must scan instead).
    bool resolve(std::span<const TypeId> args, Resolution& out) const noexcept;
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
    explicit DispatchMatrix(Parts p) : p_(std::move(p)) {}
    Parts p_;
};

}  // namespace jdc
