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

// The optional dispatch sections: this version's index, and 1.1's decision tree
// (kind 7), which a rewrite drops.
bool is_optimized_form(std::uint32_t kind) { return kind == static_cast<std::uint32_t>(SectionKind::dispatch_index) || kind == 7; }

}  // namespace

Result<std::vector<std::byte>> reoptimize_arena(const ArenaView& view, const ReoptimizeOptions& options) {
    if (view.version_major() != kVersionMajor)
        return make_error(ErrorCode::unsupported_version, "arena format " + std::to_string(view.version_major()) + "." +
                                                              std::to_string(view.version_minor()) + " is rewritten by building it again, not re-optimized");
    auto decoded = detail::decode_dispatch_index(view);
    if (!decoded) return tl::unexpected(decoded.error());
    detail::OptimizedSections forms = detail::build_sections(*decoded, options.forms);

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
    // The writer's cap (DispatchForms::max_index_share): an index far larger than the
    // rest of the arena is dropped.
    if (forms.index && options.forms.max_index_share > 0 &&
        static_cast<double>(forms.index->bytes.size()) > options.forms.max_index_share * static_cast<double>(end))
        forms = {};
    const std::uint64_t capacity = (first - h.section_dir_offset) / sizeof(SectionEntry);
    const std::size_t count = kept.size() + (forms.index ? 1 : 0);
    if (count > VerifyLimits{}.max_sections)
        return make_error(ErrorCode::limit_exceeded, "arena would have " + std::to_string(count) + " sections, over the limit of " +
                                                         std::to_string(VerifyLimits{}.max_sections));
    if (count > capacity)
        return make_error(ErrorCode::invalid_argument, "arena directory has room for " + std::to_string(capacity) + " sections, " +
                                                           std::to_string(count) + " needed: rewrite the table through build_arena");

    const std::uint64_t index_offset = end;
    const std::uint64_t index_size = forms.index ? forms.index->bytes.size() : 0;
    const std::uint64_t total = align_up(index_offset + index_size);
    std::vector<std::byte> out(total, std::byte{0});
    std::memcpy(out.data(), bytes.data(), end);
    std::fill(out.begin() + static_cast<std::ptrdiff_t>(h.section_dir_offset), out.begin() + static_cast<std::ptrdiff_t>(first), std::byte{0});
    if (forms.index) {
        kept.push_back({static_cast<std::uint32_t>(SectionKind::dispatch_index), 0, index_offset, index_size});
        std::copy_n(forms.index->bytes.data(), index_size, out.data() + index_offset);
    }
    for (std::size_t i = 0; i < kept.size(); ++i) put(out, h.section_dir_offset + sizeof(SectionEntry) * i, kept[i]);

    Header nh = h;
    const OptimizationResult none{};
    const OptimizationResult& recorded = forms.index ? forms.result : none;
    nh.optimization_type = static_cast<std::uint8_t>(recorded.type);
    nh.compression_ratio_ppm = static_cast<std::uint32_t>(std::llround(recorded.compression_ratio * kRatioOne));
    nh.memory_saved = recorded.memory_saved;
    nh.total_size = total;
    nh.section_count = static_cast<std::uint32_t>(kept.size());
    nh.data_checksum = XXH3_64bits(out.data() + kHeaderSize, total - kHeaderSize);
    put(out, 0, nh);
    nh.metadata_checksum = XXH3_64bits(out.data(), kMetadataChecksumCoverage);
    put(out, 0, nh);
    return out;
}

std::string describe_dispatch_forms(const ArenaView& view) {
    std::ostringstream o;
    const std::span<const std::byte> index = view.section(SectionKind::dispatch_index);
    if (index.empty()) {
        o << "dispatch forms: scan only (no dispatch index)\n";
        return o.str();
    }
    const auto h = load<DispatchIndexHeader>(index.data());
    std::vector<PositionRecord> positions(h.arity);
    std::vector<std::uint32_t> domain_sizes(h.arity);
    for (std::uint32_t p = 0; p < h.arity; ++p) {
        positions[p] = load<PositionRecord>(index.data() + sizeof(DispatchIndexHeader) + sizeof(PositionRecord) * p);
        domain_sizes[p] = positions[p].domain_size;
    }
    const DispatchIndexLayout l = dispatch_index_layout(h, domain_sizes);
    o << "compressed table: " << index.size() << " bytes; techniques:";
    for (std::uint8_t t = 0; t < kOptimizationTypeCount; ++t)
        if ((h.techniques >> t) & 1u) o << ' ' << to_string(static_cast<OptimizationType>(t));
    o << '\n';
    for (std::uint32_t p = 0; p < h.arity; ++p) {
        o << "  parameter " << p << ": domain of " << positions[p].domain_size << " types (digest " << std::hex << positions[p].domain_digest
          << std::dec << "), " << positions[p].pole_count << " poles";
        if (positions[p].domain_size <= 32) {  // small domains: the whole rank -> pole map
            o << "; pole by rank:";
            for (std::uint32_t r = 0; r < positions[p].domain_size; ++r) o << ' ' << load<std::uint16_t>(index.data() + l.pole_of[p] + 2ull * r);
        }
        o << '\n';
    }
    o << "  rows " << h.row_count << " (" << h.unique_rows << " distinct), columns " << h.column_count << ", cells "
      << h.cell_count << (h.cell_format == kCellsPlain ? " stored whole" : " overlaid by row displacement") << " ("
      << std::uint64_t{h.unique_rows} * h.column_count << " in distinct rows), ambiguities "
      << h.ambiguity_count << '\n';
    if (auto decoded = detail::decode_dispatch_index(view)) {
        const std::vector<bool> reachable = decoded->reachable_methods();
        const auto never = std::count(reachable.begin(), reachable.end(), false);
        o << "  methods never selected: " << never << " of " << reachable.size() << '\n';
    }
    return o.str();
}

}  // namespace jdc
