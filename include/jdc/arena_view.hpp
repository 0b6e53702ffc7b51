// jdc — zero-copy, read-only access to a verified arena, and in-place lookup.
//
// ArenaView wraps bytes that passed verify_arena(full). It never copies and never
// writes them; every accessor is O(1) and returns string_views into the bytes.
// Lifetime: a view, and everything it returns, is valid only while the bytes it was
// opened on stay alive and unchanged (for a file: while the LoadedArena that owns
// the mapping lives).
//
// BoundArena is a view plus the "pointer fixup": the arena's local type indexes
// mapped to a live TypeRegistry's ids, by canonical domain rank (type_domain.hpp) or
// by structural hash. Binding fails with ErrorCode::stale when a type the arena
// mentions is missing from the registry or has a different structural hash (its
// definition changed). Lookups then run in place with no heap allocation; a bound
// arena also borrows the registry (and its domains), which must outlive it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "jdc/arena_format.hpp"
#include "jdc/arena_verify.hpp"
#include "jdc/cache_key.hpp"
#include "jdc/dispatch_table.hpp"
#include "jdc/export.hpp"
#include "jdc/optimization.hpp"
#include "jdc/resolver.hpp"

namespace jdc {

struct LocalType {
    std::string_view name;
    std::uint64_t structural_hash;
    TypeKind kind;
    // Format 2: the parameter position whose declared type's domain holds the type,
    // and its canonical rank there (arena::kNoDomain, 0: none). Format 1: kNoDomain,
    // and id_hint is the id the writer's registry gave it.
    std::uint8_t domain_position;
    std::uint32_t domain_rank;
    TypeId id_hint;
};

// One implementation as stored; type references are arena-local indexes.
class JDC_API EntryView {
public:
    std::uint32_t function_id() const noexcept { return record_.function_id; }
    std::string_view name() const noexcept;
    std::string_view module() const noexcept;
    std::string_view source_file() const noexcept;
    std::uint32_t line() const noexcept { return record_.line; }
    std::uint32_t column() const noexcept { return record_.column; }
    std::uint32_t effects() const noexcept { return record_.effects; }
    std::uint32_t specificity_rank() const noexcept { return record_.specificity; }
    std::uint64_t call_frequency() const noexcept { return record_.call_frequency; }
    std::uint32_t return_type() const noexcept { return record_.return_type; }  // local index or kNoLocalType
    std::uint32_t parameter(std::uint32_t position) const noexcept;             // local index

private:
    friend class ArenaView;
    EntryView(const std::byte* base, const arena::EntryRecord& r, const std::byte* params)
        : base_(base), record_(r), params_(params) {}
    const std::byte* base_;
    arena::EntryRecord record_;
    const std::byte* params_;
};

class JDC_API ArenaView {
public:
    // Verifies `bytes` in full and wraps them. The bytes must outlive the view.
    static Result<ArenaView> open(std::span<const std::byte> bytes, const VerifyLimits& limits = {});

    std::span<const std::byte> bytes() const noexcept { return bytes_; }
    const arena::Header& header() const noexcept { return header_; }

    std::uint16_t version_major() const noexcept { return header_.version_major; }
    std::uint16_t version_minor() const noexcept { return header_.version_minor; }
    std::uint64_t table_hash() const noexcept { return header_.table_hash; }
    // The cache key the arena was stored under (zero: none, and every 1.x arena).
    CacheKey key() const noexcept { return arena_key(header_); }
    std::uint64_t created_at_ns() const noexcept { return header_.created_at_ns; }
    OptimizationType optimization_type() const noexcept { return static_cast<OptimizationType>(header_.optimization_type); }
    double compression_ratio() const noexcept { return header_.compression_ratio_ppm / double(arena::kRatioOne); }
    std::uint64_t memory_saved() const noexcept { return header_.memory_saved; }

    std::string_view signature_name() const noexcept;
    std::uint32_t arity() const noexcept { return arity_; }
    std::uint32_t declared_parameter(std::uint32_t position) const noexcept;  // local index
    std::uint32_t declared_return_type() const noexcept;                      // local index or kNoLocalType

    std::uint32_t type_count() const noexcept { return header_.type_count; }
    LocalType type(std::uint32_t local_index) const noexcept;

    std::uint32_t entry_count() const noexcept { return header_.entry_count; }
    EntryView entry(std::uint32_t index) const noexcept;

    // The bytes of a known section (empty when the arena has none): for tools and
    // for the optimizer, which decode the optional dispatch index.
    std::span<const std::byte> section(arena::SectionKind kind) const noexcept;
    bool has_dispatch_index() const noexcept { return dispatch_index_ != nullptr; }

private:
    friend class BoundArena;  // lookup() scans the parameter matrix directly
    ArenaView() = default;
    std::string_view string_at(std::uint32_t offset, std::uint32_t length) const noexcept;

    std::span<const std::byte> bytes_;
    arena::Header header_{};
    const std::byte* types_ = nullptr;
    const std::byte* signature_ = nullptr;
    const std::byte* entries_ = nullptr;
    const std::byte* parameters_ = nullptr;
    const std::byte* dispatch_index_ = nullptr;  // optional section; nullptr when absent
    std::uint64_t dispatch_index_size_ = 0;
    std::uint32_t arity_ = 0;
};

// What a call can reach when only its arguments' static types are known: the answer
// for every tuple of their subtypes (the call's *cone*) at once. See
// BoundArena::resolve_cone.
struct ConeResolution {
    // Methods some tuple of the cone selects, ascending table indexes.
    std::vector<std::uint32_t> methods;
    // The first ambiguous tuple (in the order below) and the two methods it names.
    struct Ambiguity {
        std::vector<TypeId> args;
        std::uint32_t first = 0, second = 0;
    };
    std::optional<Ambiguity> ambiguous;
    // The first tuple without a method.
    std::optional<std::vector<TypeId>> no_method;
    std::uint64_t behaviours = 0;  // distinct tuples of behaviours examined (poles, not types)
    bool truncated = false;        // over the caller's limit: the rest was not examined

    // One method for every tuple: the call can be bound statically.
    bool is_static() const noexcept { return methods.size() == 1 && !ambiguous && !no_method && !truncated; }
};

// Which dispatch form answers BoundArena::lookup (see there).
enum class DispatchForm : std::uint8_t {
    scan,              // every method tested: always available
    compressed_table,  // poles + row-displaced pole table (dispatch_index section)
};

class JDC_API BoundArena {
public:
    // Maps every local type to `registry` and checks it: same structural hash and
    // name (so a hash collision cannot bind the wrong type). A type in a declared
    // parameter's domain is found by its rank there (one load), any other by its
    // structural hash. Fails with ErrorCode::stale, naming the first type that is
    // missing or changed. For arenas whose origin is unknown (tools, the seed's
    // serializer). `registry` must outlive the result and must not gain or lose types
    // while it is used.
    static Result<BoundArena> bind(const ArenaView& view, const TypeRegistry& registry);

    // Binds an arena fetched under `key`, a key the caller computed from this
    // registry's types (a cache key covers the structural hash of every type of the
    // table and the digest of every declared parameter's domain): the arena must
    // carry `key` (else ErrorCode::stale: another table, or this table before an
    // edit), and then its types are the caller's by construction, so they are not
    // compared one by one. `declared_parameters` are the live ids of the table's
    // declared parameter types, in order (the arena's are checked against them).
    // O(arity + min(type_count, 16)); allocates only for an index of more than 3 parameters.
    // Errors: stale (another key), invalid_argument (the zero key, or declared types not the arena's).
    static Result<BoundArena> bind_keyed(const ArenaView& view, const TypeRegistry& registry, const CacheKey& key,
                                         std::span<const TypeId> declared_parameters);

    const ArenaView& view() const noexcept { return view_; }
    // The live id of local type `local_index` (kInvalidType for kNoLocalType).
    TypeId live_type(std::uint32_t local_index) const noexcept {
        if (local_index == arena::kNoLocalType) return kInvalidType;
        return local_index < kInlineTypes ? inline_live_[local_index] : resolve_local(local_index);
    }

    // Resolves a call in place: same answer as resolve_reference() on the table the
    // arena was built from. No allocation. `args.size()` != arity -> no_method.
    // Uses the compressed table when the arena has one and its domains are the live
    // registry's (O(arity) reads: rank, pole, row, cell), else the scan (O(n * arity)).
    // An argument outside its parameter's domain (not a subtype of the declared
    // type, or unregistered) has no method either way.
    Resolution lookup(std::span<const TypeId> args) const noexcept {
        if (table_ready_ && args.size() == arity_) {
            switch (arity_) {
                case 1: return lookup_table1(args[0]);
                case 2: return lookup_table2(args[0], args[1]);
                default: break;
            }
            return lookup_table_any(args);
        }
        return lookup_scan(args);
    }
    // Each form on its own (tests and benchmarks compare them). A form the arena
    // does not carry (or cannot use with this registry) falls back to the scan.
    Resolution lookup_scan(std::span<const TypeId> args) const noexcept;
    Resolution lookup_table(std::span<const TypeId> args) const noexcept {
        return table_ready_ && args.size() == arity_ ? lookup_table_any(args) : lookup_scan(args);
    }
    bool has_form(DispatchForm form) const noexcept { return form == DispatchForm::scan || table_ready_; }

    // Everything a call with these static argument types can reach (one type per
    // parameter; each stands for itself and all its subtypes). Works on behaviours,
    // not on tuples of types: at each position the cone's types are grouped by the
    // methods that accept them (the poles of the compressed table when the arena has
    // one, else computed from the entries), and one tuple per group of behaviours is
    // resolved. Witness tuples use each group's representative, its type with the
    // smallest live id (for a compiler that registers supertypes first, the most
    // general), and are the first in lexicographic order of representatives' ids.
    // At most `max_behaviours` tuples of behaviours are examined (then `truncated`).
    // A static type outside the declared parameter's domain contributes "no method".
    // `static_types.size()` != arity: no_method with the given tuple. Allocates; cost
    // O(sum of the cones' sizes + behaviours examined).
    ConeResolution resolve_cone(std::span<const TypeId> static_types, std::uint64_t max_behaviours = std::uint64_t{1} << 20) const;
    // The same with the cones given: cones[p] holds every type of the cone at position
    // p (a static type and all its subtypes, in any order), for a caller that keeps
    // subtype lists (a compiler does): the registry then computes no domain for the
    // static types, which costs O(registry size) per type the first time. Types of a
    // cone outside the declared parameter's domain contribute "no method"; an empty
    // cone means no tuple (an empty answer); `cones.size()` != arity: no_method, with
    // each cone's smallest id. Cost O(sum of the cones' sizes x log + behaviours
    // examined) with the compressed table, x entries without it.
    ConeResolution resolve_cone(std::span<const std::span<const TypeId>> cones, std::uint64_t max_behaviours = std::uint64_t{1} << 20) const;

    // Copies the arena back into the in-memory model (for tests, tools, and compilers
    // that want to edit a cached table). Allocates; the hot path never needs it.
    DispatchTable to_table() const;

private:
    BoundArena(const ArenaView& view, const TypeRegistry& registry);
    enum class Check : std::uint8_t { every_type, trusted };
    static Result<BoundArena> bind_types(BoundArena bound, Check check);
    TypeId resolve_local(std::uint32_t local_index) const noexcept;
    void bind_index();

    // Per parameter position of the dispatch index: the live domain's rank lookup
    // (copied: one dependent load fewer), the pole array, and the pole count.
    struct Position {
        TypeDomain::RankTable ranks;
        const std::byte* pole_of = nullptr;
        std::uint32_t pole_count = 0;
    };
    static constexpr std::size_t kInlinePositions = 3;
    static constexpr std::size_t kInlineTypes = 16;

    const Position& position(std::uint32_t p) const noexcept { return p < kInlinePositions ? positions_[p] : more_positions_[p - kInlinePositions]; }
    // 0-based pole of `id` at position p, or -1 when `id` is outside the domain.
    std::int64_t pole(const Position& pos, TypeId id) const noexcept {
        const std::uint32_t rank = pos.ranks.rank_of(id);
        if (rank == kNotInDomain) return -1;
        std::uint16_t pole;
        std::memcpy(&pole, pos.pole_of + 2ull * rank, 2);
        return std::int64_t{pole} - 1;
    }
    Resolution cell(std::uint64_t row, std::uint32_t column) const noexcept {
        arena::RowRecord r;
        std::memcpy(&r, rows_ + sizeof(arena::RowRecord) * row, sizeof r);
        const std::uint64_t slot = std::uint64_t{r.first_slot} + column;
        if (plain_cells_) {
            std::uint32_t code;
            std::memcpy(&code, cells_ + 4 * slot, 4);
            return decode(code);
        }
        arena::PoleCell c;
        std::memcpy(&c, cells_ + sizeof(arena::PoleCell) * slot, sizeof c);
        return decode(c.owner == r.unique ? c.result : 0);
    }
    Resolution decode(std::uint32_t code) const noexcept {
        if (code == 0) return Resolution::none();
        if ((code & arena::kResultAmbiguous) != 0) {
            std::uint32_t pair[2];
            std::memcpy(pair, ambiguities_ + 8ull * (code & ~arena::kResultAmbiguous), 8);
            return Resolution::ambiguous(pair[0], pair[1]);
        }
        return Resolution::method(code - 1);
    }
    Resolution lookup_table1(TypeId a) const noexcept {
        const std::int64_t p0 = pole(positions_[0], a);
        return p0 < 0 ? Resolution::none() : cell(0, static_cast<std::uint32_t>(p0));
    }
    Resolution lookup_table2(TypeId a, TypeId b) const noexcept {
        const std::int64_t p0 = pole(positions_[0], a), p1 = pole(positions_[1], b);
        return (p0 | p1) < 0 ? Resolution::none() : cell(static_cast<std::uint64_t>(p0), static_cast<std::uint32_t>(p1));
    }
    Resolution lookup_table_any(std::span<const TypeId> args) const noexcept;

    ArenaView view_;
    const TypeRegistry* registry_;
    std::array<TypeId, kInlineTypes> inline_live_{};
    std::array<TypeId, kInlinePositions> declared_live_{};  // live ids of the declared parameter types
    std::uint32_t arity_ = 0;

    // The dispatch index, located and bound once (arena_format.hpp, section 6).
    bool table_ready_ = false;
    bool plain_cells_ = false;
    std::array<Position, kInlinePositions> positions_{};
    std::shared_ptr<const Position[]> more_positions_;  // arity > kInlinePositions only
    const std::byte* rows_ = nullptr;
    const std::byte* cells_ = nullptr;
    const std::byte* ambiguities_ = nullptr;
};

}  // namespace jdc
