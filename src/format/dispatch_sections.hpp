// Internal: encoding of the optional dispatch index from a DispatchMatrix, and
// decoding the matrix back from an arena. Shared by the builder, the re-optimizer
// and the tests; the byte layout is format-spec/arena-v2.md §5.6 and arena_format.hpp.
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
};

EncodedSection encode_dispatch_index(const DispatchMatrix& matrix);
// No encoding of `matrix` is smaller than this (its headers, pole maps and row
// records, without a single cell): a builder that would refuse an index over a size
// skips encoding when this floor is already over it.
std::uint64_t dispatch_index_size_floor(const DispatchMatrix& matrix) noexcept;

// The section `forms` asks for, and the optimization record it amounts to
// (techniques applied; its bytes against the dense matrix it replaces).
struct OptimizedSections {
    std::optional<EncodedSection> index;
    OptimizationResult result;
};
OptimizedSections build_sections(const DispatchMatrix& matrix, const DispatchForms& forms);

// The matrix stored in a verified arena's dispatch index (expanded back to one cell
// per pole tuple; it knows no registry: it answers by rank). not_found when there is
// none.
Result<DispatchMatrix> decode_dispatch_index(const ArenaView& view);

}  // namespace jdc::detail
