// jdc — re-optimizing a stored arena without the compiler's type registry.
//
// Format layer, pure. An arena that carries a dispatch index (section 6) holds its
// whole dispatch matrix over the writer's type ids, so its decision tree can be
// rebuilt, for instance shaped by new call frequencies, by a process that has no
// registry: the compactor. Arenas without an index need the registry to compute
// one; they are returned as not_found, and a compiler adds the forms when it next
// writes the table (ArenaBuildOptions::forms).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "jdc/arena_builder.hpp"
#include "jdc/arena_view.hpp"

namespace jdc {

struct ReoptimizeOptions {
    DispatchForms forms = DispatchForms::all();
    // Per-entry call counts for hot-path shaping (size == entry_count); empty: the
    // call frequencies stored in the entries.
    std::vector<std::uint64_t> method_weights;
};

// A new arena: the same entries, types and strings (byte for byte, at the same
// offsets), with the optional sections rebuilt as `options` asks and the header's
// optimization fields recomputed. Errors: not_found (no dispatch index),
// invalid_argument (weights of the wrong size), corrupt (an index that does not
// decode, which a verified view cannot have).
Result<std::vector<std::byte>> reoptimize_arena(const ArenaView& view, const ReoptimizeOptions& options = {});

// Human-readable description of the optimized forms of an arena (for `jdc inspect`):
// techniques, pole counts and each type's pole, rows shared, cells, tree depth and
// nodes, bytes; the first `nodes_listed` tree nodes one per line.
std::string describe_dispatch_forms(const ArenaView& view, std::size_t nodes_listed = 0);

}  // namespace jdc
