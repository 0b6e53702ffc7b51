#include "jdc/arena_optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>
#include <string>

#include <xxhash.h>

#include "format/dispatch_sections.hpp"
#include "jdc/arena_format.hpp"

namespace jdc {
namespace {

using namespace arena;

template <class T>
T load(const std::byte* p) noexcept {
    T value;
    std::memcpy(&value, p, sizeof(T));
    return value;
}
template <class T>
void put(std::vector<std::byte>& out, std::uint64_t offset, const T& value) {
    std::memcpy(out.data() + offset, &value, sizeof(T));
}

bool is_optimized_form(std::uint32_t kind) {
    return kind == static_cast<std::uint32_t>(SectionKind::dispatch_index) || kind == static_cast<std::uint32_t>(SectionKind::decision_tree);
}

}  // namespace

Result<std::vector<std::byte>> reoptimize_arena(const ArenaView& view, const ReoptimizeOptions& options) {
    auto decoded = detail::decode_dispatch_index(view);
    if (!decoded) return tl::unexpected(decoded.error());
    std::vector<std::uint64_t> weights = options.method_weights;
    if (weights.empty()) {
        for (std::uint32_t i = 0; i < view.entry_count(); ++i) weights.push_back(view.entry(i).call_frequency());
    } else if (weights.size() != view.entry_count()) {
        return make_error(ErrorCode::invalid_argument, std::to_string(weights.size()) + " method weights for a table of " +
                                                           std::to_string(view.entry_count()) + " entries");
    }
    const detail::OptimizedSections forms = detail::build_sections(decoded->matrix, decoded->type_hashes, weights, options.forms);

    // Every other section stays where it is; the optimized forms go after the last.
    const Header& h = view.header();
    const std::span<const std::byte> bytes = view.bytes();
    std::vector<SectionEntry> kept;
    std::uint64_t first = h.total_size, end = h.section_dir_offset;
    for (std::uint32_t i = 0; i < h.section_count; ++i) {
        const auto e = load<SectionEntry>(bytes.data() + h.section_dir_offset + sizeof(SectionEntry) * i);
        if (is_optimized_form(e.kind)) continue;
        kept.push_back(e);
        first = std::min(first, e.offset);
        end = std::max(end, align_up(e.offset + e.size));
    }
    const std::uint64_t capacity = (first - h.section_dir_offset) / sizeof(SectionEntry);
    const std::size_t count = kept.size() + (forms.index ? 1 : 0) + (forms.tree ? 1 : 0);
    if (count > VerifyLimits{}.max_sections)
        return make_error(ErrorCode::limit_exceeded, "arena would have " + std::to_string(count) + " sections, over the limit of " +
                                                         std::to_string(VerifyLimits{}.max_sections));
    if (count > capacity)
        return make_error(ErrorCode::invalid_argument, "arena directory has room for " + std::to_string(capacity) + " sections, " +
                                                           std::to_string(count) + " needed: rewrite the table through build_arena");

    const std::uint64_t index_offset = end;
    const std::uint64_t index_size = forms.index ? forms.index->bytes.size() : 0;
    const std::uint64_t tree_offset = align_up(index_offset + index_size);
    const std::uint64_t tree_size = forms.tree ? forms.tree->bytes.size() : 0;
    const std::uint64_t total = align_up(tree_offset + tree_size);
    std::vector<std::byte> out(total, std::byte{0});
    std::memcpy(out.data(), bytes.data(), end);
    std::fill(out.begin() + static_cast<std::ptrdiff_t>(h.section_dir_offset), out.begin() + static_cast<std::ptrdiff_t>(first), std::byte{0});
    if (forms.index) {
        kept.push_back({static_cast<std::uint32_t>(SectionKind::dispatch_index), 0, index_offset, index_size});
        std::copy_n(forms.index->bytes.data(), index_size, out.data() + index_offset);
    }
    if (forms.tree) {
        kept.push_back({static_cast<std::uint32_t>(SectionKind::decision_tree), 0, tree_offset, tree_size});
        std::copy_n(forms.tree->bytes.data(), tree_size, out.data() + tree_offset);
    }
    for (std::size_t i = 0; i < kept.size(); ++i) put(out, h.section_dir_offset + sizeof(SectionEntry) * i, kept[i]);

    Header nh = h;
    nh.version_minor = std::max(h.version_minor, kVersionMinor);
    nh.optimization_type = static_cast<std::uint8_t>(forms.result.type);
    nh.compression_ratio_ppm = static_cast<std::uint32_t>(std::llround(forms.result.compression_ratio * kRatioOne));
    nh.memory_saved = forms.result.memory_saved;
    nh.total_size = total;
    nh.section_count = static_cast<std::uint32_t>(kept.size());
    nh.data_checksum = XXH3_64bits(out.data() + kHeaderSize, total - kHeaderSize);
    put(out, 0, nh);
    nh.metadata_checksum = XXH3_64bits(out.data(), kMetadataChecksumCoverage);
    put(out, 0, nh);
    return out;
}

std::string describe_dispatch_forms(const ArenaView& view, std::size_t nodes_listed) {
    std::ostringstream o;
    const std::span<const std::byte> index = view.section(SectionKind::dispatch_index);
    if (index.empty()) {
        o << "dispatch forms: scan only (no dispatch index)\n";
        return o.str();
    }
    const auto h = load<DispatchIndexHeader>(index.data());
    const DispatchIndexLayout l = dispatch_index_layout(h);
    o << "compressed table: " << index.size() << " bytes; techniques:";
    for (std::uint8_t t = 0; t < kOptimizationTypeCount; ++t)
        if ((h.techniques >> t) & 1u) o << ' ' << to_string(static_cast<OptimizationType>(t));
    o << "\n  writer type ids [" << h.id_base << ", " << std::uint64_t{h.id_base} + h.id_span << "), poles per position:";
    for (std::uint32_t p = 0; p < h.arity; ++p) o << ' ' << load<std::uint32_t>(index.data() + l.pole_counts + 4ull * p);
    o << "\n  rows " << h.row_count << " (" << h.unique_rows << " distinct), columns " << h.column_count << ", cells "
      << h.cell_count << (h.cell_format == kCellsPlain ? " stored whole" : " overlaid by row displacement") << " ("
      << std::uint64_t{h.unique_rows} * h.column_count << " in distinct rows), ambiguities "
      << h.ambiguity_count << '\n';
    if (h.id_span <= 32) {  // small tables: the whole type -> pole map
        for (std::uint32_t i = 0; i < h.id_span; ++i) {
            o << "  type id " << std::uint64_t{h.id_base} + i << ": pole";
            for (std::uint32_t p = 0; p < h.arity; ++p) o << ' ' << load<std::uint16_t>(index.data() + l.pole_of + 2ull * (std::uint64_t{p} * h.id_span + i));
            o << '\n';
        }
    }
    if (auto decoded = detail::decode_dispatch_index(view)) {
        const std::vector<bool> reachable = decoded->matrix.reachable_methods();
        const auto never = std::count(reachable.begin(), reachable.end(), false);
        o << "  methods never selected: " << never << " of " << reachable.size() << '\n';
    }
    const std::span<const std::byte> tree = view.section(SectionKind::decision_tree);
    if (tree.empty()) {
        o << "decision tree: none\n";
        return o.str();
    }
    const auto th = load<DecisionTreeHeader>(tree.data());
    // Depth by dynamic programming from the leaves: children have larger indexes.
    std::vector<std::uint32_t> depth(th.node_count, 1);
    std::uint64_t tests = 0;
    for (std::uint32_t i = th.node_count; i-- > 0;) {
        const auto n = load<TreeNode>(tree.data() + sizeof(DecisionTreeHeader) + sizeof(TreeNode) * i);
        if (n.kind != static_cast<std::uint8_t>(TreeNodeKind::test)) continue;
        ++tests;
        depth[i] = 1 + std::max(depth[n.below], depth[n.at_or_above]);
    }
    o << "decision tree: " << tree.size() << " bytes, " << th.node_count << " nodes (" << tests << " tests), depth " << depth[0]
      << ((th.flags & kTreeShapedByProfile) != 0 ? ", shaped by call frequencies" : ", balanced by type counts") << '\n';
    for (std::uint32_t i = 0; i < th.node_count && i < nodes_listed; ++i) {
        const auto n = load<TreeNode>(tree.data() + sizeof(DecisionTreeHeader) + sizeof(TreeNode) * i);
        o << "  node " << i << ": ";
        if (n.kind == static_cast<std::uint8_t>(TreeNodeKind::test)) {
            o << "arg" << int(n.position) << " < type id " << n.value << " ? node " << n.below << " : node " << n.at_or_above;
        } else if (n.kind == static_cast<std::uint8_t>(TreeNodeKind::result)) {
            if (n.value == kResultNoMethod) o << "no method";
            else if ((n.value & kResultAmbiguous) != 0) o << "ambiguous (pair " << (n.value & ~kResultAmbiguous) << ")";
            else o << "entry #" << n.value - 1 << " " << view.entry(n.value - 1).name();
        } else {
            o << "type unknown to the writer: scan";
        }
        o << '\n';
    }
    if (th.node_count > nodes_listed && nodes_listed > 0) o << "  ... " << th.node_count - nodes_listed << " more nodes\n";
    return o.str();
}

}  // namespace jdc
