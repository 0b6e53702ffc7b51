// jdc — zero-copy, read-only access to a verified arena, and in-place lookup.
//
// ArenaView wraps bytes that passed verify_arena(full). It never copies and never
// writes them; every accessor is O(1) and returns string_views into the bytes.
// Lifetime: a view, and everything it returns, is valid only while the bytes it was
// opened on stay alive and unchanged (for a file: while the LoadedArena that owns
// the mapping lives).
//
// BoundArena is a view plus the "pointer fixup": the arena's local type indexes
// mapped to a live TypeRegistry's ids. Binding fails with ErrorCode::stale when a
// type the arena mentions is missing from the registry or has a different
// structural hash (its definition changed). Lookups then run in place with no heap
// allocation; a bound arena also borrows the registry, which must outlive it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "jdc/arena_format.hpp"
#include "jdc/arena_verify.hpp"
#include "jdc/dispatch_table.hpp"
#include "jdc/optimization.hpp"
#include "jdc/resolver.hpp"

namespace jdc {

struct LocalType {
    std::string_view name;
    std::uint64_t structural_hash;
    TypeKind kind;
    TypeId id_hint;  // the id the writer's registry gave it; binding tries it first
};

// One implementation as stored; type references are arena-local indexes.
class EntryView {
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

class ArenaView {
public:
    // Verifies `bytes` in full and wraps them. The bytes must outlive the view.
    static Result<ArenaView> open(std::span<const std::byte> bytes, const VerifyLimits& limits = {});

    std::span<const std::byte> bytes() const noexcept { return bytes_; }
    const arena::Header& header() const noexcept { return header_; }

    std::uint16_t version_major() const noexcept { return header_.version_major; }
    std::uint16_t version_minor() const noexcept { return header_.version_minor; }
    std::uint64_t table_hash() const noexcept { return header_.table_hash; }
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
    // for the optimizer, which decode the v1.1 optional sections.
    std::span<const std::byte> section(arena::SectionKind kind) const noexcept;
    bool has_dispatch_index() const noexcept { return dispatch_index_ != nullptr; }
    bool has_decision_tree() const noexcept { return decision_tree_ != nullptr; }

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
    const std::byte* dispatch_index_ = nullptr;  // optional sections; nullptr when absent
    const std::byte* decision_tree_ = nullptr;
    std::uint64_t dispatch_index_size_ = 0, decision_tree_size_ = 0;
    std::uint32_t arity_ = 0;
};

// Which dispatch form answers BoundArena::lookup (see there).
enum class DispatchForm : std::uint8_t {
    scan,              // every method tested: the v1.0 form, always available
    compressed_table,  // poles + row-displaced pole table (dispatch_index section)
    decision_tree,     // the decision_tree section
};

class BoundArena {
public:
    // Maps every local type to `registry` by structural hash (names are compared too,
    // so a hash collision cannot bind the wrong type). The writer's id is tried first:
    // a compiler that registers its types in the same order every run binds with one
    // array read per type and no hashing. Fails with ErrorCode::stale,
    // naming the first type that is missing or changed. `registry` must outlive the
    // result and must not gain or lose types while it is used.
    static Result<BoundArena> bind(const ArenaView& view, const TypeRegistry& registry);

    const ArenaView& view() const noexcept { return view_; }
    TypeId live_type(std::uint32_t local_index) const noexcept {
        return local_index == arena::kNoLocalType ? kInvalidType : live()[local_index];
    }

    // Resolves a call in place: same answer as resolve_reference() on the table the
    // arena was built from. No allocation. `args.size()` != arity -> no_method.
    // Uses the compressed table when the arena has one and binding could map the
    // writer's type ids (O(arity) reads), else the scan (O(n * arity)). An argument
    // type the writer did not know (added to the hierarchy since) is resolved by
    // the scan, so answers never depend on the form.
    Resolution lookup(std::span<const TypeId> args) const noexcept {
        return has_index_ ? lookup_table(args) : lookup_scan(args);
    }
    // Each form on its own (tests and benchmarks compare them). A form the arena
    // does not carry falls back to the scan.
    Resolution lookup_scan(std::span<const TypeId> args) const noexcept;
    Resolution lookup_table(std::span<const TypeId> args) const noexcept;
    Resolution lookup_tree(std::span<const TypeId> args) const noexcept;
    bool has_form(DispatchForm form) const noexcept;
    // True when the live registry gives every type of the dispatch index the
    // writer's id, so lookups use argument ids directly (no remapping).
    bool ids_match_writer() const noexcept { return has_index_ && remap_ == nullptr; }

    // Copies the arena back into the in-memory model (for tests, tools, and compilers
    // that want to edit a cached table). Allocates; the hot path never needs it.
    DispatchTable to_table() const;

private:
    BoundArena(const ArenaView& view, const TypeRegistry& registry);

    static constexpr std::size_t kInlineTypes = 16;
    ArenaView view_;
    const TypeRegistry* registry_;
    std::array<TypeId, kInlineTypes> inline_live_{};
    std::unique_ptr<TypeId[]> heap_live_;  // only when the arena has > kInlineTypes types

    const TypeId* live() const noexcept { return heap_live_ ? heap_live_.get() : inline_live_.data(); }

    // The dispatch index, located once at bind time (arena_format.hpp, section 6).
    void bind_index(const TypeRegistry& registry);
    // Writer's id of a live type (identity unless remapped); 0 when unknown.
    TypeId writer_id(TypeId live_id) const noexcept {
        if (remap_ == nullptr) return live_id;
        return live_id < remap_size_ ? remap_[live_id] : 0;
    }
    Resolution decode(std::uint32_t code) const noexcept;
    bool has_index_ = false;
    bool plain_cells_ = false;
    std::uint32_t id_base_ = 0, id_span_ = 0, column_count_ = 0;
    const std::byte* pole_counts_ = nullptr;
    const std::byte* pole_of_ = nullptr;
    const std::byte* row_of_ = nullptr;
    const std::byte* displacement_ = nullptr;
    const std::byte* cells_ = nullptr;
    const std::byte* ambiguities_ = nullptr;
    const std::byte* tree_nodes_ = nullptr;
    std::unique_ptr<TypeId[]> remap_;  // live id -> writer id, when the ids differ
    std::size_t remap_size_ = 0;
};

}  // namespace jdc
