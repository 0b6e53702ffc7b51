#include "format/dispatch_sections.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <string>
#include <unordered_map>

#include "jdc/arena_format.hpp"
#include "jdc/optimization.hpp"

namespace jdc::detail {
namespace {

using namespace arena;

template <class T>
void put(std::vector<std::byte>& out, std::uint64_t offset, const T& value) {
    std::memcpy(out.data() + offset, &value, sizeof(T));
}
// memcpy of a possibly empty array: an empty vector's data() may be null, which
// memcpy's contract forbids even for zero bytes (UBSan's nonnull check, found by fuzzing).
void copy_bytes(void* to, const void* from, std::size_t n) noexcept {
    if (n != 0) std::memcpy(to, from, n);
}
template <class T>
T load(const std::byte* p) noexcept {
    T value;
    std::memcpy(&value, p, sizeof(T));
    return value;
}

constexpr std::uint32_t bit(OptimizationType t) { return 1u << static_cast<unsigned>(t); }

struct VectorHash {
    std::size_t operator()(const std::vector<ResultCode>& v) const noexcept {
        std::uint64_t h = 0x9E3779B97F4A7C15ull ^ v.size();
        for (ResultCode x : v) h = (h ^ x) * 0xBF58476D1CE4E5B9ull, h ^= h >> 31;
        return static_cast<std::size_t>(h);
    }
};

}  // namespace

EncodedSection encode_dispatch_index(const DispatchMatrix& m) {
    const std::uint32_t arity = m.arity();
    DispatchIndexHeader h{};
    h.arity = arity;
    h.column_count = arity == 0 ? 1 : m.pole_count(arity - 1);
    std::uint64_t rows = 1;
    for (std::uint32_t p = 0; p + 1 < arity; ++p) rows *= m.pole_count(p);
    h.row_count = static_cast<std::uint32_t>(rows);

    // Sharing: rows with the same results are stored once.
    const std::span<const ResultCode> cells = m.cells();
    std::vector<std::uint32_t> row_of(rows);
    std::vector<std::uint32_t> unique_first;  // first row of each unique row
    std::unordered_map<std::vector<ResultCode>, std::uint32_t, VectorHash> unique_by_content;
    std::vector<ResultCode> row(h.column_count);
    for (std::uint64_t r = 0; r < rows; ++r) {
        std::copy_n(cells.begin() + static_cast<std::ptrdiff_t>(r * h.column_count), h.column_count, row.begin());
        auto [it, inserted] = unique_by_content.try_emplace(row, static_cast<std::uint32_t>(unique_first.size()));
        if (inserted) unique_first.push_back(static_cast<std::uint32_t>(r));
        row_of[r] = it->second;
    }
    h.unique_rows = static_cast<std::uint32_t>(unique_first.size());

    // Row displacement (Driesen & Hoelzle): unique rows are overlaid in one cell
    // array so that no two rows claim the same slot for a non-empty cell; an empty
    // cell (no method) costs nothing. Densest rows first, first fit.
    std::vector<std::uint32_t> order(h.unique_rows);
    std::iota(order.begin(), order.end(), 0u);
    auto filled = [&](std::uint32_t u) {
        const ResultCode* c = cells.data() + std::uint64_t{unique_first[u]} * h.column_count;
        return static_cast<std::size_t>(std::count_if(c, c + h.column_count, [](ResultCode x) { return x != kResultNoMethod; }));
    };
    std::vector<std::size_t> density(h.unique_rows);
    for (std::uint32_t u = 0; u < h.unique_rows; ++u) density[u] = filled(u);
    std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return density[a] > density[b]; });
    std::vector<std::uint32_t> displacement(h.unique_rows, 0);
    std::vector<PoleCell> slots;
    std::vector<std::uint32_t> columns;
    std::size_t first_free = 0;
    for (std::uint32_t u : order) {
        const ResultCode* c = cells.data() + std::uint64_t{unique_first[u]} * h.column_count;
        columns.clear();
        for (std::uint32_t col = 0; col < h.column_count; ++col)
            if (c[col] != kResultNoMethod) columns.push_back(col);
        std::size_t d = 0;
        if (!columns.empty()) {
            d = first_free > columns.front() ? first_free - columns.front() : 0;
            for (;; ++d) {
                bool fits = true;
                for (std::uint32_t col : columns)
                    if (d + col < slots.size() && slots[d + col].owner != kNoOwner) {
                        fits = false;
                        break;
                    }
                if (fits) break;
            }
        }
        displacement[u] = static_cast<std::uint32_t>(d);
        if (slots.size() < d + h.column_count) slots.resize(d + h.column_count, PoleCell{kNoOwner, kResultNoMethod});
        for (std::uint32_t col : columns) slots[d + col] = PoleCell{u, c[col]};
        while (first_free < slots.size() && slots[first_free].owner != kNoOwner) ++first_free;
    }
    if (slots.empty()) slots.resize(h.column_count, PoleCell{kNoOwner, kResultNoMethod});
    const std::uint64_t plain_cells = std::uint64_t{h.unique_rows} * h.column_count;
    h.cell_format = plain_cells * 4 <= slots.size() * sizeof(PoleCell) ? kCellsPlain : kCellsDisplaced;
    if (h.cell_format == kCellsPlain) {
        for (std::uint32_t u = 0; u < h.unique_rows; ++u) displacement[u] = u * h.column_count;
        h.cell_count = static_cast<std::uint32_t>(plain_cells);
    } else {
        h.cell_count = static_cast<std::uint32_t>(slots.size());
    }
    h.ambiguity_count = static_cast<std::uint32_t>(m.ambiguities().size());
    h.techniques = bit(OptimizationType::compression);  // poles
    if (h.unique_rows < h.row_count) h.techniques |= bit(OptimizationType::sharing);
    if (h.cell_format == kCellsDisplaced) h.techniques |= bit(OptimizationType::advanced_compression);

    std::vector<std::uint32_t> domain_sizes(arity);
    for (std::uint32_t p = 0; p < arity; ++p) domain_sizes[p] = m.domain_size(p);
    const DispatchIndexLayout l = dispatch_index_layout(h, domain_sizes);
    EncodedSection out;
    out.techniques = h.techniques;
    out.bytes.assign(align_up(l.size), std::byte{0});
    put(out.bytes, 0, h);
    for (std::uint32_t p = 0; p < arity; ++p) {
        put(out.bytes, l.positions + sizeof(PositionRecord) * p, PositionRecord{m.domain_digest(p), m.domain_size(p), m.pole_count(p)});
        const std::span<const std::uint32_t> poles = m.pole_row(p);
        for (std::uint32_t r = 0; r < poles.size(); ++r) put(out.bytes, l.pole_of[p] + 2ull * r, static_cast<std::uint16_t>(poles[r]));
    }
    for (std::uint64_t r = 0; r < rows; ++r)
        put(out.bytes, l.rows + sizeof(RowRecord) * r, RowRecord{displacement[row_of[r]], row_of[r]});
    if (h.cell_format == kCellsPlain) {
        for (std::uint32_t u = 0; u < h.unique_rows; ++u)
            copy_bytes(out.bytes.data() + l.cells + 4ull * u * h.column_count, cells.data() + std::uint64_t{unique_first[u]} * h.column_count,
                        4ull * h.column_count);
    } else {
        copy_bytes(out.bytes.data() + l.cells, slots.data(), sizeof(PoleCell) * slots.size());
    }
    for (std::size_t i = 0; i < m.ambiguities().size(); ++i) {
        const AmbiguityPair& a = m.ambiguities()[i];
        put(out.bytes, l.ambiguities + 8 * i, a.first);
        put(out.bytes, l.ambiguities + 8 * i + 4, a.second);
    }
    out.bytes.resize(l.size);  // sections are padded by the arena layout, not here
    return out;
}

std::uint64_t dispatch_index_size_floor(const DispatchMatrix& m) noexcept {
    const std::uint32_t arity = m.arity();
    if (arity > DispatchIndexLayout::kMaxArity) return 0;  // never encoded: no floor to speak of
    DispatchIndexHeader h{};
    h.arity = arity;
    std::uint64_t rows = 1;
    for (std::uint32_t p = 0; p + 1 < arity; ++p) rows *= m.pole_count(p);
    h.row_count = static_cast<std::uint32_t>(std::min<std::uint64_t>(rows, UINT32_MAX));
    std::array<std::uint64_t, DispatchIndexLayout::kMaxArity> domain_sizes{};
    for (std::uint32_t p = 0; p < arity; ++p) domain_sizes[p] = m.domain_size(p);
    return dispatch_index_layout(h, domain_sizes).size;  // cell_count = ambiguity_count = 0
}

OptimizedSections build_sections(const DispatchMatrix& matrix, const DispatchForms& forms) {
    OptimizedSections out;
    if (!forms.compressed_table) return out;
    out.index = encode_dispatch_index(matrix);
    const std::uint32_t techniques = out.index->techniques;
    const std::uint64_t bytes = out.index->bytes.size();
    const auto applied = static_cast<unsigned>(std::popcount(techniques));
    out.result.type = applied == 0   ? OptimizationType::none
                      : applied == 1 ? static_cast<OptimizationType>(std::countr_zero(techniques))
                                     : OptimizationType::combined;
    const std::uint64_t dense = matrix.dense_bytes();
    out.result.compression.original_bytes = dense;
    out.result.compression.compressed_bytes = bytes;
    out.result.memory_saved = dense > bytes ? dense - bytes : 0;
    out.result.compression_ratio = dense == 0 ? 1.0 : std::min(4000.0, double(bytes) / double(dense));
    return out;
}

Result<DispatchMatrix> decode_dispatch_index(const ArenaView& view) {
    const std::span<const std::byte> s = view.section(SectionKind::dispatch_index);
    if (s.empty()) return make_error(ErrorCode::not_found, "arena has no dispatch index");
    const auto h = load<DispatchIndexHeader>(s.data());
    // Rows are shared and displaced on disk; expanded, they could be far larger than
    // the arena. The writer never stores more than the matrix limit.
    const std::uint64_t expanded = std::uint64_t{h.row_count} * h.column_count;
    if (expanded > MatrixLimits{}.max_cells)
        return make_error(ErrorCode::limit_exceeded, "dispatch index expands to " + std::to_string(expanded) + " cells, over the limit of " +
                                                         std::to_string(MatrixLimits{}.max_cells));
    DispatchMatrix::Parts parts;
    parts.arity = h.arity;
    parts.method_count = view.entry_count();
    std::vector<std::uint32_t> domain_sizes(h.arity);
    for (std::uint32_t p = 0; p < h.arity; ++p) {
        const auto pr = load<PositionRecord>(s.data() + sizeof(DispatchIndexHeader) + sizeof(PositionRecord) * p);
        domain_sizes[p] = pr.domain_size;
        parts.domain_digest.push_back(pr.domain_digest);
        parts.pole_count.push_back(pr.pole_count);
    }
    const DispatchIndexLayout l = dispatch_index_layout(h, domain_sizes);
    for (std::uint32_t p = 0; p < h.arity; ++p) {
        auto& row = parts.pole_of.emplace_back(domain_sizes[p]);
        for (std::uint32_t r = 0; r < domain_sizes[p]; ++r) row[r] = load<std::uint16_t>(s.data() + l.pole_of[p] + 2ull * r);
    }
    parts.cells.resize(expanded);
    for (std::uint32_t r = 0; r < h.row_count; ++r) {
        const auto row = load<RowRecord>(s.data() + l.rows + sizeof(RowRecord) * r);
        for (std::uint32_t c = 0; c < h.column_count; ++c) {
            const std::uint64_t slot = std::uint64_t{row.first_slot} + c;
            ResultCode code;
            if (h.cell_format == kCellsPlain) {
                code = load<std::uint32_t>(s.data() + l.cells + 4 * slot);
            } else {
                const auto cell = load<PoleCell>(s.data() + l.cells + sizeof(PoleCell) * slot);
                code = cell.owner == row.unique ? cell.result : kResultNoMethod;
            }
            parts.cells[std::uint64_t{r} * h.column_count + c] = code;
        }
    }
    for (std::uint32_t a = 0; a < h.ambiguity_count; ++a)
        parts.ambiguities.push_back({load<std::uint32_t>(s.data() + l.ambiguities + 8ull * a),
                                     load<std::uint32_t>(s.data() + l.ambiguities + 8ull * a + 4)});
    return DispatchMatrix::from_parts(std::move(parts));
}

}  // namespace jdc::detail
