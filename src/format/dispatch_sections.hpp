// Internal: encoding of the v1.1 optimized sections (dispatch index, decision
// tree) from a DispatchMatrix, and decoding the matrix back from an arena.
// Shared by the builder, the re-optimizer and the tests; the byte layout is
// format-spec/arena-v1.md §5.6-8 and arena_format.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "jdc/arena_builder.hpp"
#include "jdc/arena_view.hpp"
#include "jdc/dispatch_matrix.hpp"

namespace jdc::detail {

struct EncodedSection {
    std::vector<std::byte> bytes;
    std::uint32_t techniques = 0;  // bits (1 << OptimizationType)
    std::uint64_t eliminated = 0;  // tree: range tests removed because both sides answer alike
};

// `type_hashes[i]` is the structural hash of the writer's type matrix.id_base() + i.
EncodedSection encode_dispatch_index(const DispatchMatrix& matrix, std::span<const std::uint64_t> type_hashes);

// Weighted by `method_weights` (one per method; all zero: by type counts) so that
// heavy paths are shallow. nullopt when the tree would need more than `max_nodes`.
std::optional<EncodedSection> encode_decision_tree(const DispatchMatrix& matrix, std::span<const std::uint64_t> method_weights,
                                                   std::uint32_t max_nodes);

// The sections `forms` asks for, and the optimization record they amount to
// (techniques applied; their bytes against the dense matrix they replace).
struct OptimizedSections {
    std::optional<EncodedSection> index, tree;
    OptimizationResult result;
};
OptimizedSections build_sections(const DispatchMatrix& matrix, std::span<const std::uint64_t> type_hashes,
                                 std::span<const std::uint64_t> method_weights, const DispatchForms& forms);

// The matrix stored in a verified arena's dispatch index (expanded back to one cell
// per pole tuple), with the writer's type hashes. not_found when there is none.
struct DecodedIndex {
    DispatchMatrix matrix;
    std::vector<std::uint64_t> type_hashes;
};
Result<DecodedIndex> decode_dispatch_index(const ArenaView& view);

}  // namespace jdc::detail
