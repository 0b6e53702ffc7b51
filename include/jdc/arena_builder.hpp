// jdc — writes a dispatch table into the bytes of a format v1 arena.
//
// Pure: no I/O. The output is deterministic for a given table, registry and
// created_at_ns, which is what the golden vectors in tests/data rely on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "jdc/cache_key.hpp"
#include "jdc/dispatch_matrix.hpp"
#include "jdc/dispatch_table.hpp"
#include "jdc/export.hpp"
#include "jdc/optimization.hpp"

namespace jdc {

// The optimized dispatch form an arena carries besides its entries: the compressed
// dispatch table (format-spec/arena-v2.md §5.6). Building it costs a DispatchMatrix
// (see there); readers that do not know it skip it and scan.
struct DispatchForms {
    bool compressed_table = false;  // section 6: poles + shared, row-displaced pole table
    MatrixLimits limits;            // above them the table is omitted, not an error
    // When > 0, the table is also omitted when its bytes exceed this multiple of the
    // rest of the arena: verifying it would cost every load more than its lookups
    // save (measured: bench/RESULTS.md, "Targets"). 0: no such cap.
    double max_index_share = 0;
    static constexpr double kDefaultMaxIndexShare = 2.0;

    static DispatchForms all() {
        DispatchForms forms;
        forms.compressed_table = true;
        return forms;
    }
    // The default policy, the one rule of every writer (the cache's builder, the
    // seed's serializer, the compactor re-optimizing stored arenas): the compressed
    // table from kMinEntriesForTable implementations up. Measured (bench/RESULTS.md,
    // "Dispatch forms", bench_dispatch BM_Form*): the table answers faster than the
    // scan at every size and arity 1-3, but it costs every load 100-300 ns more
    // (verifying and binding it) and adds 40-100 % to a small arena's bytes; from 6
    // implementations up it repays that within about 6 lookups per load at arity 1-3,
    // below 6 it needs 6 to 190, and the scan costs at most 37 ns a lookup there.
    // Arity moves that crossover by at most one implementation, so the rule is on
    // entries alone. Not when the table would be over kDefaultMaxIndexShare times
    // the rest of the arena (see max_index_share).
    static constexpr std::size_t kMinEntriesForTable = 6;
    static constexpr bool wants_table(std::size_t entries) noexcept { return entries >= kMinEntriesForTable; }
    static DispatchForms for_size(std::size_t entries) {
        DispatchForms forms;
        forms.compressed_table = wants_table(entries);
        forms.max_index_share = kDefaultMaxIndexShare;
        return forms;
    }
    static DispatchForms for_table(const DispatchTable& table) { return for_size(table.implementations.size()); }
};

struct ArenaBuildOptions {
    ArenaBuildOptions() = default;
    ArenaBuildOptions(std::uint64_t created, DispatchForms with_forms = {}) : created_at_ns(created), forms(with_forms) {}

    // Creation timestamp written to the header (Unix epoch, nanoseconds).
    // 0 means "now" from the system clock.
    std::uint64_t created_at_ns = 0;
    DispatchForms forms;
    // The table's matrix when the caller already built it (a compiler resolving its
    // dispatch on a miss does): saves building it again. Must be of this table and
    // registry (checked: arity, method count, domains).
    const DispatchMatrix* matrix = nullptr;
    // The cache key the arena will be stored under, written to its header: readers
    // that ask for a key accept only arenas that carry it. Zero: none.
    CacheKey key;
};

// Builds the arena. Fails with invalid_argument when the table does not validate
// against the registry (see validate()) or does not fit the format's u32 offsets.
// When `options.forms` adds optimized forms, the header's optimization fields are
// computed from them (techniques applied, bytes against the dense matrix) and
// `optimization` is ignored; otherwise `optimization` is written as given.
JDC_API Result<std::vector<std::byte>> build_arena(const DispatchTable& table, const TypeRegistry& registry,
                                                   const OptimizationResult& optimization = {},
                                                   const ArenaBuildOptions& options = {});

// Identity of a table's content, independent of encoding and of registry ids: what
// the header's table_hash holds (format-spec/arena-v2.md §8.4). Call frequencies are
// excluded, so new profile data does not change a table's identity.
JDC_API std::uint64_t table_content_hash(const DispatchTable& table, const TypeRegistry& registry);

// A 128-bit key over a table's content (its canonical encoding: every field but the
// call frequencies, types by structural hash) plus the arena format version: the key
// under which DispatchTableSerializer stores a table it is given whole.
JDC_API CacheKey table_content_key(const DispatchTable& table, const TypeRegistry& registry);

}  // namespace jdc
