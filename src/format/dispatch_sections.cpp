#include "format/dispatch_sections.hpp"

#include <algorithm>
#include <bit>
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

EncodedSection encode_dispatch_index(const DispatchMatrix& m, std::span<const std::uint64_t> type_hashes) {
    const std::uint32_t arity = m.arity();
    DispatchIndexHeader h{};
    h.arity = arity;
    h.id_base = m.id_base();
    h.id_span = m.id_span();
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

    const DispatchIndexLayout l = dispatch_index_layout(h);
    EncodedSection out;
    out.techniques = h.techniques;
    out.bytes.assign(align_up(l.size), std::byte{0});
    put(out.bytes, 0, h);
    copy_bytes(out.bytes.data() + l.type_hashes, type_hashes.data(), 8ull * h.id_span);
    for (std::uint32_t p = 0; p < arity; ++p) {
        put(out.bytes, l.pole_counts + 4ull * p, m.pole_count(p));
        const std::span<const std::uint32_t> poles = m.pole_row(p);
        for (std::uint32_t i = 0; i < h.id_span; ++i)
            put(out.bytes, l.pole_of + 2ull * (std::uint64_t{p} * h.id_span + i), static_cast<std::uint16_t>(poles[i]));
    }
    copy_bytes(out.bytes.data() + l.row_of, row_of.data(), 4ull * rows);
    copy_bytes(out.bytes.data() + l.displacement, displacement.data(), 4ull * h.unique_rows);
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

namespace {

// Builds the tree bottom-up: children are created before their parents, and the
// final index of a node is (count - 1 - creation order), so every child index is
// larger than its parent's and the root, created last, is node 0.
class TreeBuilder {
public:
    TreeBuilder(const DispatchMatrix& m, std::span<const std::uint64_t> weights, std::uint32_t max_nodes)
        : m_(m), weights_(weights), max_nodes_(max_nodes), by_profile_(std::any_of(weights.begin(), weights.end(), [](auto w) { return w != 0; })) {
        strides_.assign(m.arity() + 1, 1);
        for (std::uint32_t p = m.arity(); p-- > 0;) strides_[p] = strides_[p + 1] * m.pole_count(p);
    }

    std::optional<EncodedSection> build() {
        const std::optional<std::uint32_t> root = subtree(0, 0);
        if (!root) return std::nullopt;
        EncodedSection out;
        const auto count = static_cast<std::uint32_t>(nodes_.size());
        out.bytes.assign(sizeof(DecisionTreeHeader) + sizeof(TreeNode) * count, std::byte{0});
        put(out.bytes, 0, DecisionTreeHeader{count, by_profile_ ? kTreeShapedByProfile : 0u});
        auto final_index = [&](std::uint32_t created) { return count - 1 - created; };
        for (std::uint32_t c = 0; c < count; ++c) {
            TreeNode n = nodes_[c];
            if (n.kind == static_cast<std::uint8_t>(TreeNodeKind::test)) {
                n.below = final_index(n.below);
                n.at_or_above = final_index(n.at_or_above);
            }
            put(out.bytes, sizeof(DecisionTreeHeader) + sizeof(TreeNode) * final_index(c), n);
        }
        if (shared_ > 0) out.techniques |= 1u << static_cast<unsigned>(OptimizationType::sharing);
        if (by_profile_) out.techniques |= 1u << static_cast<unsigned>(OptimizationType::hot_path_optimization);
        if (eliminated_ > 0) out.techniques |= 1u << static_cast<unsigned>(OptimizationType::redundancy_elimination);
        out.eliminated = eliminated_;
        return out;
    }

private:
    struct Built {
        std::uint32_t node;
        std::uint64_t weight;  // profile mass of the methods this subtree can answer
    };

    std::optional<std::uint32_t> add(TreeNode n) {
        if (nodes_.size() >= max_nodes_) return std::nullopt;
        nodes_.push_back(n);
        return static_cast<std::uint32_t>(nodes_.size() - 1);
    }

    std::optional<Built> leaf(ResultCode code) {
        if (auto it = leaves_.find(code); it != leaves_.end()) return it->second;
        auto node = add(TreeNode{static_cast<std::uint8_t>(TreeNodeKind::result), 0, 0, code, 0, 0});
        if (!node) return std::nullopt;
        std::uint64_t w = 0;
        if (code != kResultNoMethod && (code & kResultAmbiguousBit) == 0) w = weights_[code - 1];
        return leaves_[code] = Built{*node, w};
    }

    std::optional<std::uint32_t> fallback() {
        if (!fallback_) fallback_ = add(TreeNode{static_cast<std::uint8_t>(TreeNodeKind::fallback), 0, 0, 0, 0, 0});
        return fallback_;
    }

    // The subtree deciding positions pos.. for the pole prefix whose cells start at `first`.
    std::optional<std::uint32_t> subtree(std::uint32_t pos, std::uint64_t first) {
        auto built = subtree_weighted(pos, first);
        if (!built) return std::nullopt;
        return built->node;
    }

    std::optional<Built> subtree_weighted(std::uint32_t pos, std::uint64_t first) {
        if (pos == m_.arity()) return leaf(m_.cells()[first]);
        std::vector<ResultCode> block(m_.cells().begin() + static_cast<std::ptrdiff_t>(first),
                                      m_.cells().begin() + static_cast<std::ptrdiff_t>(first + strides_[pos]));
        auto& memo = memo_[pos];
        if (auto it = memo.find(block); it != memo.end()) {
            ++shared_;
            return it->second;
        }

        std::vector<Built> child(m_.pole_count(pos));
        for (std::uint32_t pole = 0; pole < child.size(); ++pole) {
            auto c = subtree_weighted(pos + 1, first + pole * strides_[pos + 1]);
            if (!c) return std::nullopt;
            child[pole] = *c;
        }
        // Segments of consecutive ids answered by the same child; equal neighbours
        // merge, so a test that could not change the answer is never emitted.
        struct Segment {
            TypeId start;
            std::uint32_t node;
            std::uint64_t weight;
        };
        auto fb = fallback();
        if (!fb) return std::nullopt;
        std::vector<Segment> segments{{0, *fb, 0}};
        const std::span<const std::uint32_t> poles = m_.pole_row(pos);
        for (std::uint32_t i = 0; i < m_.id_span(); ++i) {
            const Built& c = child[poles[i] - 1];
            if (segments.size() > 1 && segments.back().node == c.node) {
                if (!by_profile_) ++segments.back().weight;
                if (poles[i] != poles[i - 1]) ++eliminated_;  // different poles, same answers: no test needed
                continue;
            }
            segments.push_back({m_.id_base() + i, c.node, by_profile_ ? c.weight : 1});
        }
        segments.push_back({m_.id_base() + m_.id_span(), *fb, 0});

        std::vector<std::uint64_t> prefix(segments.size() + 1, 0);
        for (std::size_t s = 0; s < segments.size(); ++s) prefix[s + 1] = prefix[s] + segments[s].weight + 1;
        auto node = split(pos, segments, prefix, 0, segments.size());
        if (!node) return std::nullopt;
        std::uint64_t weight = 0;
        for (const Built& c : child) weight = std::max(weight, c.weight);
        return memo[block] = Built{*node, weight};
    }

    // A binary search over segments [lo, hi), split where the weight halves, so heavy
    // segments sit near the root (Chambers & Chen's frequency-ordered dispatch).
    template <class Segments>
    std::optional<std::uint32_t> split(std::uint32_t pos, const Segments& segs, const std::vector<std::uint64_t>& prefix, std::size_t lo,
                                       std::size_t hi) {
        if (hi - lo == 1) return segs[lo].node;
        const std::uint64_t half = prefix[lo] + (prefix[hi] - prefix[lo]) / 2;
        std::size_t s = static_cast<std::size_t>(std::upper_bound(prefix.begin() + static_cast<std::ptrdiff_t>(lo) + 1,
                                                                  prefix.begin() + static_cast<std::ptrdiff_t>(hi), half) -
                                                 prefix.begin());
        s = std::clamp(s, lo + 1, hi - 1);
        auto below = split(pos, segs, prefix, lo, s);
        if (!below) return std::nullopt;
        auto above = split(pos, segs, prefix, s, hi);
        if (!above) return std::nullopt;
        return add(TreeNode{static_cast<std::uint8_t>(TreeNodeKind::test), static_cast<std::uint8_t>(pos), 0, segs[s].start, *below, *above});
    }

    const DispatchMatrix& m_;
    std::span<const std::uint64_t> weights_;
    std::uint32_t max_nodes_;
    bool by_profile_;
    std::vector<std::uint64_t> strides_;
    std::vector<TreeNode> nodes_;
    std::unordered_map<ResultCode, Built> leaves_;
    std::optional<std::uint32_t> fallback_;
    std::unordered_map<std::uint32_t, std::unordered_map<std::vector<ResultCode>, Built, VectorHash>> memo_;
    std::uint64_t eliminated_ = 0;
    std::uint64_t shared_ = 0;  // subtrees reused instead of emitted again
};

}  // namespace

std::optional<EncodedSection> encode_decision_tree(const DispatchMatrix& matrix, std::span<const std::uint64_t> method_weights,
                                                   std::uint32_t max_nodes) {
    return TreeBuilder(matrix, method_weights, max_nodes).build();
}

OptimizedSections build_sections(const DispatchMatrix& matrix, std::span<const std::uint64_t> type_hashes,
                                 std::span<const std::uint64_t> method_weights, const DispatchForms& forms) {
    OptimizedSections out;
    if (!forms.compressed_table && !forms.decision_tree) return out;
    out.index = encode_dispatch_index(matrix, type_hashes);
    std::uint32_t techniques = out.index->techniques;
    std::uint64_t bytes = out.index->bytes.size();
    if (forms.decision_tree) {
        const std::vector<std::uint64_t> none(matrix.method_count(), 0);
        out.tree = encode_decision_tree(matrix, forms.hot_path ? method_weights : std::span<const std::uint64_t>(none), forms.max_tree_nodes);
        if (out.tree) {
            techniques |= out.tree->techniques;
            bytes += out.tree->bytes.size();
        }
    }
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

Result<DecodedIndex> decode_dispatch_index(const ArenaView& view) {
    const std::span<const std::byte> s = view.section(SectionKind::dispatch_index);
    if (s.empty()) return make_error(ErrorCode::not_found, "arena has no dispatch index");
    const auto h = load<DispatchIndexHeader>(s.data());
    const DispatchIndexLayout l = dispatch_index_layout(h);
    // Rows are shared and displaced on disk; expanded, they could be far larger than
    // the arena. The writer never stores more than the matrix limit.
    const std::uint64_t expanded = std::uint64_t{h.row_count} * h.column_count;
    if (expanded > MatrixLimits{}.max_cells)
        return make_error(ErrorCode::limit_exceeded, "dispatch index expands to " + std::to_string(expanded) + " cells, over the limit of " +
                                                         std::to_string(MatrixLimits{}.max_cells));
    DispatchMatrix::Parts parts;
    parts.arity = h.arity;
    parts.method_count = view.entry_count();
    parts.id_base = h.id_base;
    parts.id_span = h.id_span;
    std::vector<std::uint64_t> type_hashes(h.id_span);
    copy_bytes(type_hashes.data(), s.data() + l.type_hashes, 8ull * h.id_span);
    for (std::uint32_t p = 0; p < h.arity; ++p) {
        parts.pole_count.push_back(load<std::uint32_t>(s.data() + l.pole_counts + 4ull * p));
        auto& row = parts.pole_of.emplace_back(h.id_span);
        for (std::uint32_t i = 0; i < h.id_span; ++i)
            row[i] = load<std::uint16_t>(s.data() + l.pole_of + 2ull * (std::uint64_t{p} * h.id_span + i));
    }
    parts.cells.resize(std::uint64_t{h.row_count} * h.column_count);
    for (std::uint32_t r = 0; r < h.row_count; ++r) {
        const auto u = load<std::uint32_t>(s.data() + l.row_of + 4ull * r);
        const auto d = load<std::uint32_t>(s.data() + l.displacement + 4ull * u);
        for (std::uint32_t c = 0; c < h.column_count; ++c) {
            const std::uint64_t slot = std::uint64_t{d} + c;
            ResultCode code;
            if (h.cell_format == kCellsPlain) {
                code = load<std::uint32_t>(s.data() + l.cells + 4 * slot);
            } else {
                const auto cell = load<PoleCell>(s.data() + l.cells + sizeof(PoleCell) * slot);
                code = cell.owner == u ? cell.result : kResultNoMethod;
            }
            parts.cells[std::uint64_t{r} * h.column_count + c] = code;
        }
    }
    for (std::uint32_t a = 0; a < h.ambiguity_count; ++a)
        parts.ambiguities.push_back({load<std::uint32_t>(s.data() + l.ambiguities + 8ull * a),
                                     load<std::uint32_t>(s.data() + l.ambiguities + 8ull * a + 4)});
    auto matrix = DispatchMatrix::from_parts(std::move(parts));
    if (!matrix) return tl::unexpected(matrix.error());
    return DecodedIndex{std::move(*matrix), std::move(type_hashes)};
}

}  // namespace jdc::detail
