// jdc — re-optimizing a stored arena without the compiler's type registry.
//
// Format layer, pure. An arena that carries a dispatch index holds its whole
// dispatch matrix (over canonical domain ranks), so a process that has no registry
// — the compactor — can re-encode it (the current writer's encoding, the smaller
// cell format) or drop it (for a table the scan answers as fast). Arenas without an
// index need the registry to compute one; they are returned as not_found, and a
// compiler adds it when it next writes the table (ArenaBuildOptions::forms).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "jdc/arena_builder.hpp"
#include "jdc/arena_view.hpp"
#include "jdc/export.hpp"

namespace jdc {

struct JDC_API ReoptimizeOptions {
    DispatchForms forms = DispatchForms::all();  // compressed_table false: drop the index
};

// A new arena: the same entries, types, strings and key (byte for byte, at the same
// offsets), with the dispatch index re-encoded or dropped as `options` asks and the
// header's optimization fields recomputed to describe what it now holds. Errors:
// not_found (no dispatch index), unsupported_version (a 1.x arena: rewrite it by
// building it again), corrupt (an index that does not decode, which a verified view
// cannot have).
JDC_API Result<std::vector<std::byte>> reoptimize_arena(const ArenaView& view, const ReoptimizeOptions& options = {});

// Human-readable description of the dispatch form of an arena (for `jdc inspect`):
// techniques, per parameter the domain size, its digest, its pole count and (small
// domains) each rank's pole; rows shared, cells, bytes; methods never selected.
JDC_API std::string describe_dispatch_forms(const ArenaView& view);

}  // namespace jdc
