#include "jdc/arena_verify.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <string>

#include <xxhash.h>

#include "format/arena_sections.hpp"
#include "jdc/payload_codec.hpp"
#include "util/byte_checks.hpp"

namespace jdc {
namespace detail {
namespace {

using namespace arena;

class Verifier {
public:
    Verifier(std::span<const std::byte> bytes, const VerifyLimits& limits) : bytes_(bytes), limits_(limits) {}

    Result<ArenaSections> run(VerifyLevel level) {
        if (auto r = check_header(); !r) return tl::unexpected(r.error());
        if (level == VerifyLevel::header) return s_;
        if (auto r = check_data_checksum(); !r) return tl::unexpected(r.error());
        if (auto r = check_directory(); !r) return tl::unexpected(r.error());
        if (auto r = check_signature(); !r) return tl::unexpected(r.error());
        if (auto r = check_types(); !r) return tl::unexpected(r.error());
        if (auto r = check_entries(); !r) return tl::unexpected(r.error());
        if (auto r = check_parameters(); !r) return tl::unexpected(r.error());
        if (auto r = check_dispatch_index(); !r) return tl::unexpected(r.error());
        if (auto r = check_no_overlap(); !r) return tl::unexpected(r.error());
        return s_;
    }

private:
    Result<void> check_header() {
        const std::uint64_t size = bytes_.size();
        if (size >= 4) {
            const auto magic = load<std::uint32_t>(bytes_, 0);
            if (magic != kMagic)
                return make_error(ErrorCode::bad_magic, "not a jdc arena: magic is " + hex(magic) + ", expected " +
                                                            hex(kMagic) + " (\"JDCA\")");
        }
        if (size < kHeaderSize)
            return make_error(ErrorCode::truncated, "arena is " + n(size) + " bytes, shorter than its " + n(kHeaderSize) + "-byte header");
        const Header& h = s_.header = load<Header>(bytes_, 0);
        if (!is_readable_major(h.version_major))
            return make_error(ErrorCode::unsupported_version,
                              "arena format version " + n(h.version_major) + "." + n(h.version_minor) +
                                  " is not supported: this reader reads formats " + n(kOldestReadableMajor) + ".x to " +
                                  n(kVersionMajor) + ".x (written for " + n(kVersionMajor) + "." + n(kVersionMinor) + ")");
        const std::uint64_t expected_meta = XXH3_64bits(bytes_.data(), kMetadataChecksumCoverage);
        if (h.metadata_checksum != expected_meta)
            return make_error(ErrorCode::checksum_mismatch, "header checksum mismatch: stored " + hex(h.metadata_checksum) +
                                                                ", computed " + hex(expected_meta));
        // Right after the header checksum, before the sizes: a compressed arena's
        // total_size is its uncompressed size, so H6-H8 would call it truncated.
        if (h.payload_codec != 0) return compressed_payload_error(h.payload_codec);
        if (h.header_size != kHeaderSize)
            return make_error(ErrorCode::corrupt, "header_size is " + n(h.header_size) + ", expected " + n(kHeaderSize));
        if (h.total_size > limits_.max_total_size)
            return make_error(ErrorCode::limit_exceeded, "arena declares " + n(h.total_size) + " bytes, over the limit of " +
                                                             n(limits_.max_total_size));
        if (h.total_size > size)
            return make_error(ErrorCode::truncated, "arena declares " + n(h.total_size) + " bytes but only " + n(size) + " are present");
        if (h.total_size < size)
            return make_error(ErrorCode::corrupt, "arena declares " + n(h.total_size) + " bytes but " + n(size) +
                                                      " are present (trailing bytes)");
        if (h.total_size % kAlignment != 0)
            return make_error(ErrorCode::corrupt, "total_size " + n(h.total_size) + " is not a multiple of 8");
        if (h.flags != 0)
            return make_error(ErrorCode::unsupported_version, "arena requires features this reader lacks (flags " + hex(h.flags) + ")");
        // A newer minor version may add enum values; for ours and older ones they are corrupt.
        if (h.optimization_type >= kOptimizationTypeCountOnDisk && !newer_minor())
            return make_error(ErrorCode::corrupt, "unknown optimization type " + n(h.optimization_type));
        if (h.entry_count > limits_.max_entries)
            return make_error(ErrorCode::limit_exceeded, "entry_count " + n(h.entry_count) + " is over the limit of " + n(limits_.max_entries));
        if (h.type_count > limits_.max_types)
            return make_error(ErrorCode::limit_exceeded, "type_count " + n(h.type_count) + " is over the limit of " + n(limits_.max_types));
        if (h.type_signature_length > limits_.max_arity)
            return make_error(ErrorCode::limit_exceeded, "arity " + n(h.type_signature_length) + " is over the limit of " + n(limits_.max_arity));
        if (h.section_count > limits_.max_sections)
            return make_error(ErrorCode::limit_exceeded, "section_count " + n(h.section_count) + " is over the limit of " + n(limits_.max_sections));
        if (h.section_dir_offset % kAlignment != 0 || h.section_dir_offset < kHeaderSize ||
            !in_range(h.section_dir_offset, std::uint64_t{h.section_count} * sizeof(SectionEntry), h.total_size))
            return make_error(ErrorCode::corrupt, "section directory at " + n(h.section_dir_offset) + " (" + n(h.section_count) +
                                                      " entries) does not lie within the arena after the header");
        return {};
    }

    static tl::unexpected<Error> compressed_payload_error(std::uint8_t codec) {
        if (codec < kPayloadCodecCount)
            return make_error(ErrorCode::unsupported_version,
                              "arena uses payload codec " + n(codec) + ": its payload is " +
                                  std::string(to_string(static_cast<PayloadCodec>(codec))) +
                                  "-compressed; decompress it first (jdc::decompress_arena), then verify the result");
        return make_error(ErrorCode::unsupported_version,
                          "arena uses payload codec " + n(codec) + ", unknown to this reader (it knows 1 = lz4, 2 = zstd)");
    }

    Result<void> check_data_checksum() {
        const Header& h = s_.header;
        const std::uint64_t computed = XXH3_64bits(bytes_.data() + kHeaderSize, h.total_size - kHeaderSize);
        if (computed != h.data_checksum)
            return make_error(ErrorCode::checksum_mismatch, "data checksum mismatch: stored " + hex(h.data_checksum) +
                                                                ", computed " + hex(computed));
        return {};
    }

    Result<void> check_directory() {
        const Header& h = s_.header;
        const std::uint64_t dir_end = h.section_dir_offset + std::uint64_t{h.section_count} * sizeof(SectionEntry);
        for (std::uint32_t i = 0; i < h.section_count; ++i) {
            const auto e = load<SectionEntry>(bytes_, h.section_dir_offset + i * sizeof(SectionEntry));
            auto where = [&] { return "section " + n(i) + " (kind " + n(e.kind) + ")"; };
            if (e.offset % kAlignment != 0)
                return make_error(ErrorCode::corrupt, where() + ": offset " + n(e.offset) + " is not 8-byte aligned");
            if (e.offset < dir_end || !in_range(e.offset, e.size, h.total_size))
                return make_error(ErrorCode::corrupt, where() + ": [" + n(e.offset) + ", +" + n(e.size) +
                                                          ") is outside the data area [" + n(dir_end) + ", " + n(h.total_size) + ")");
            SectionRange* slot = nullptr;
            switch (static_cast<SectionKind>(e.kind)) {
                case SectionKind::strings: slot = &s_.strings; break;
                case SectionKind::types: slot = &s_.types; break;
                case SectionKind::signature: slot = &s_.signature; break;
                case SectionKind::entries: slot = &s_.entries; break;
                case SectionKind::parameters: slot = &s_.parameters; break;
                // 1.x's index (over the writer's ids) has another layout: a 1.x arena's
                // optional sections are skipped like unknown ones, and it is scanned.
                case SectionKind::dispatch_index: slot = older_major() ? nullptr : &s_.dispatch_index; break;
            }
            if (slot == nullptr) {
                if ((e.flags & kSectionRequired) != 0)
                    return make_error(ErrorCode::unsupported_version, where() + " is required but unknown to this reader");
                continue;  // unknown optional section: skipped, by the compatibility rules
            }
            if (slot->present) return make_error(ErrorCode::corrupt, where() + " appears twice");
            *slot = {e.offset, e.size, true};
        }
        const std::pair<const SectionRange*, const char*> required[] = {
            {&s_.strings, "strings"}, {&s_.types, "types"}, {&s_.signature, "signature"},
            {&s_.entries, "entries"}, {&s_.parameters, "parameters"}};
        for (auto [range, name] : required)
            if (!range->present) return make_error(ErrorCode::corrupt, std::string("required section '") + name + "' is missing");
        return {};
    }

    // Run last, so a section whose own size is wrong is reported as such first.
    Result<void> check_no_overlap() const {
        // Known sections must not overlap: each byte has one meaning. Empty sections
        // occupy no bytes and overlap nothing.
        std::pair<const SectionRange*, const char*> by_offset[] = {
            {&s_.strings, "strings"},       {&s_.types, "types"},
            {&s_.signature, "signature"},   {&s_.entries, "entries"},
            {&s_.parameters, "parameters"}, {&s_.dispatch_index, "dispatch_index"}};
        std::sort(std::begin(by_offset), std::end(by_offset),
                  [](const auto& a, const auto& b) { return a.first->offset < b.first->offset; });
        const std::pair<const SectionRange*, const char*>* last = nullptr;
        for (const auto& cur : by_offset) {
            if (cur.first->size == 0) continue;
            if (last != nullptr && cur.first->offset - last->first->offset < last->first->size)
                return make_error(ErrorCode::corrupt, std::string("sections '") + last->second + "' [" + n(last->first->offset) +
                                                          ", +" + n(last->first->size) + ") and '" + cur.second + "' [" +
                                                          n(cur.first->offset) + ", +" + n(cur.first->size) + ") overlap");
            last = &cur;
        }
        return {};
    }

    bool newer_minor() const noexcept { return s_.header.version_major == kVersionMajor && s_.header.version_minor > kVersionMinor; }
    bool older_major() const noexcept { return s_.header.version_major < kVersionMajor; }

    bool string_ok(std::uint32_t offset, std::uint32_t length) const noexcept {
        return offset >= s_.strings.offset && in_range(offset - s_.strings.offset, length, s_.strings.size);
    }
    Result<void> check_string(std::uint32_t offset, std::uint32_t length, const std::string& what) const {
        if (string_ok(offset, length)) return {};
        return make_error(ErrorCode::corrupt, what + " string [" + n(offset) + ", +" + n(length) + ") is outside the strings section [" +
                                                  n(s_.strings.offset) + ", +" + n(s_.strings.size) + ")");
    }
    bool type_ok(std::uint32_t local) const noexcept { return local < s_.header.type_count; }
    Result<void> check_type_ref(std::uint32_t local, bool none_allowed, const std::string& what) const {
        if (type_ok(local) || (none_allowed && local == kNoLocalType)) return {};
        return make_error(ErrorCode::corrupt, what + " refers to type " + n(local) + " but the arena has " + n(s_.header.type_count) + " types");
    }

    Result<void> check_signature() {
        const Header& h = s_.header;
        if (s_.signature.size < sizeof(SignatureRecord))
            return make_error(ErrorCode::corrupt, "signature section is " + n(s_.signature.size) + " bytes, shorter than its " +
                                                      n(sizeof(SignatureRecord)) + "-byte record");
        const auto sig = load<SignatureRecord>(bytes_, s_.signature.offset);
        if (sig.arity != h.type_signature_length)
            return make_error(ErrorCode::corrupt, "signature arity " + n(sig.arity) + " differs from header type_signature_length " +
                                                      n(h.type_signature_length));
        const std::uint64_t need = sizeof(SignatureRecord) + 4ull * h.type_signature_length;
        if (s_.signature.size != need)
            return make_error(ErrorCode::corrupt, "signature section is " + n(s_.signature.size) + " bytes, expected " + n(need) +
                                                      " for arity " + n(h.type_signature_length));
        if (sig.name_length != h.signature_name_length)
            return make_error(ErrorCode::corrupt, "signature name length " + n(sig.name_length) +
                                                      " differs from header signature_name_length " + n(h.signature_name_length));
        if (!string_ok(sig.name_offset, sig.name_length)) return check_string(sig.name_offset, sig.name_length, "signature name");
        if (!type_ok(sig.return_type) && sig.return_type != kNoLocalType)
            return check_type_ref(sig.return_type, true, "signature return type");
        for (std::uint32_t p = 0; p < sig.arity; ++p) {
            const auto t = load<std::uint32_t>(bytes_, s_.signature.offset + sizeof(SignatureRecord) + 4ull * p);
            if (!type_ok(t)) return check_type_ref(t, false, "signature parameter " + n(p));
        }
        return {};
    }

    Result<void> check_types() {
        const Header& h = s_.header;
        if (s_.types.size != sizeof(TypeRecord) * std::uint64_t{h.type_count})
            return make_error(ErrorCode::corrupt, "types section is " + n(s_.types.size) + " bytes, expected " +
                                                      n(sizeof(TypeRecord) * std::uint64_t{h.type_count}) + " for " + n(h.type_count) + " types");
        std::uint64_t previous_hash = 0;
        for (std::uint32_t i = 0; i < h.type_count; ++i) {
            const auto t = load<TypeRecord>(bytes_, s_.types.offset + sizeof(TypeRecord) * i);
            if (!string_ok(t.name_offset, t.name_length)) return check_string(t.name_offset, t.name_length, "type " + n(i) + " name");
            if (t.kind >= kTypeKindCountOnDisk && !newer_minor()) return make_error(ErrorCode::corrupt, "type " + n(i) + " has unknown kind " + n(t.kind));
            if (older_major()) continue;  // 1.x: any order; the last field is the writer's id
            // 2.x: one record per type, in canonical order (what makes the arena a
            // function of its table alone); a domain reference names a parameter.
            if (i > 0 && t.structural_hash <= previous_hash)
                return make_error(ErrorCode::corrupt, "type " + n(i) + " (structural hash " + hex(t.structural_hash) +
                                                          ") is not after type " + n(i - 1) + " (" + hex(previous_hash) +
                                                          "): the type table must be strictly ascending by structural hash");
            previous_hash = t.structural_hash;
            if (t.domain_position != kNoDomain && t.domain_position >= h.type_signature_length)
                return make_error(ErrorCode::corrupt, "type " + n(i) + " refers to the domain of parameter " + n(t.domain_position) +
                                                          " of a " + n(h.type_signature_length) + "-parameter table");
            if (t.domain_position == kNoDomain && t.domain_rank != 0)
                return make_error(ErrorCode::corrupt, "type " + n(i) + " is in no domain but has domain rank " + n(t.domain_rank));
            if (t.reserved != 0) return make_error(ErrorCode::corrupt, "type " + n(i) + " has a non-zero reserved field");
        }
        return {};
    }

    Result<void> check_entries() {
        const Header& h = s_.header;
        if (s_.entries.size != sizeof(EntryRecord) * std::uint64_t{h.entry_count})
            return make_error(ErrorCode::corrupt, "entries section is " + n(s_.entries.size) + " bytes, expected " +
                                                      n(sizeof(EntryRecord) * std::uint64_t{h.entry_count}) + " for " + n(h.entry_count) + " entries");
        for (std::uint32_t i = 0; i < h.entry_count; ++i) {
            const auto e = load<EntryRecord>(bytes_, s_.entries.offset + sizeof(EntryRecord) * i);
            // One combined test on the hot path; the slow path finds which field failed.
            if (string_ok(e.name_offset, e.name_length) && string_ok(e.module_offset, e.module_length) &&
                string_ok(e.file_offset, e.file_length) && (type_ok(e.return_type) || e.return_type == kNoLocalType))
                continue;
            const std::string at = "entry " + n(i);
            if (auto r = check_string(e.name_offset, e.name_length, at + " name"); !r) return r;
            if (auto r = check_string(e.module_offset, e.module_length, at + " module"); !r) return r;
            if (auto r = check_string(e.file_offset, e.file_length, at + " source file"); !r) return r;
            return check_type_ref(e.return_type, true, at + " return type");
        }
        return {};
    }

    Result<void> check_parameters() {
        const Header& h = s_.header;
        const std::uint64_t cells = std::uint64_t{h.entry_count} * h.type_signature_length;
        if (s_.parameters.size != 4 * cells)
            return make_error(ErrorCode::corrupt, "parameters section is " + n(s_.parameters.size) + " bytes, expected " + n(4 * cells));
        const std::byte* p = bytes_.data() + s_.parameters.offset;
        std::uint32_t max_index = 0;
        for (std::uint64_t c = 0; c < cells; ++c) {
            std::uint32_t v;
            std::memcpy(&v, p + 4 * c, 4);
            max_index = v > max_index ? v : max_index;
        }
        if (cells != 0 && max_index >= h.type_count) {
            for (std::uint64_t c = 0; c < cells; ++c) {
                std::uint32_t v;
                std::memcpy(&v, p + 4 * c, 4);
                if (!type_ok(v))
                    return check_type_ref(v, false, "entry " + n(c / h.type_signature_length) + " parameter " + n(c % h.type_signature_length));
            }
        }
        return {};
    }

    bool result_ok(std::uint32_t code, std::uint32_t ambiguity_count) const noexcept {
        return (code & kResultAmbiguous) != 0 ? (code & ~kResultAmbiguous) < ambiguity_count : code <= s_.header.entry_count;
    }

    // §5.6 (F9). Everything a lookup reads without checking is checked here: pole indexes
    // in range, every row's cells inside the cell array, every result a valid code. A
    // bad value is reported, never followed. The arrays are checked in bulk (a max or
    // an or over each, which the compiler vectorizes); the element at fault is only
    // looked for once something is wrong.
    Result<void> check_dispatch_index() {
        if (!s_.dispatch_index.present) return {};
        const SectionRange& sec = s_.dispatch_index;
        auto bad = [](const std::string& what) { return make_error(ErrorCode::corrupt, "dispatch_index: " + what); };
        if (sec.size < sizeof(DispatchIndexHeader))
            return bad("section is " + n(sec.size) + " bytes, shorter than its " + n(sizeof(DispatchIndexHeader)) + "-byte header");
        const auto h = load<DispatchIndexHeader>(bytes_, sec.offset);
        const Header& ah = s_.header;
        if (h.arity != ah.type_signature_length) return bad("arity " + n(h.arity) + " differs from the table's " + n(ah.type_signature_length));
        if (h.arity > DispatchIndexLayout::kMaxArity)
            return bad("arity " + n(h.arity) + " is over " + n(DispatchIndexLayout::kMaxArity) + ", the most an index can have");
        if (h.cell_format != kCellsDisplaced && h.cell_format != kCellsPlain) return bad("unknown cell_format " + n(h.cell_format));
        if (h.techniques >= (1u << kOptimizationTypeCountOnDisk) && !newer_minor()) return bad("unknown technique bits " + hex(h.techniques));
        if (sec.size < sizeof(DispatchIndexHeader) + sizeof(PositionRecord) * std::uint64_t{h.arity})
            return bad("section is " + n(sec.size) + " bytes, too short for " + n(h.arity) + " position records");
        const std::uint64_t s = sec.offset;
        std::uint32_t domain_sizes[DispatchIndexLayout::kMaxArity];
        std::uint32_t pole_counts[DispatchIndexLayout::kMaxArity];
        std::uint64_t rows = 1;
        for (std::uint32_t p = 0; p < h.arity; ++p) {
            const auto pr = load<PositionRecord>(bytes_, s + sizeof(DispatchIndexHeader) + sizeof(PositionRecord) * p);
            if (pr.domain_size == 0 || pr.domain_size > limits_.max_types)
                return bad("position " + n(p) + " has a domain of " + n(pr.domain_size) + " types (1.." + n(limits_.max_types) + " allowed)");
            if (pr.pole_count == 0 || pr.pole_count > kMaxPoles || pr.pole_count > pr.domain_size)
                return bad("position " + n(p) + " has " + n(pr.pole_count) + " poles for a domain of " + n(pr.domain_size) + " types (1.." +
                           n(std::min<std::uint32_t>(kMaxPoles, pr.domain_size)) + " allowed)");
            domain_sizes[p] = pr.domain_size;
            pole_counts[p] = pr.pole_count;
            if (p + 1 < h.arity) rows *= pr.pole_count;  // <= 2^16 per factor, checked against row_count before it can overflow
            if (rows > h.row_count) return bad("row_count " + n(h.row_count) + " is less than the product of the pole counts");
            if (p + 1 == h.arity && pr.pole_count != h.column_count)
                return bad("column_count " + n(h.column_count) + " differs from the last position's " + n(pr.pole_count) + " poles");
        }
        if (rows != h.row_count) return bad("row_count " + n(h.row_count) + ", the pole counts give " + n(rows));
        if (h.arity == 0 && h.column_count != 1) return bad("column_count of a table without parameters must be 1");
        if (h.unique_rows == 0 || h.unique_rows > h.row_count) return bad("unique_rows " + n(h.unique_rows) + " outside 1.." + n(h.row_count));
        const DispatchIndexLayout l = dispatch_index_layout(h, domain_sizes);
        if (l.size != sec.size) return bad("section is " + n(sec.size) + " bytes, its header describes " + n(l.size));

        for (std::uint32_t p = 0; p < h.arity; ++p) {
            const std::byte* poles = bytes_.data() + s + l.pole_of[p];
            std::uint16_t lowest = 0xFFFF, highest = 0;
            for (std::uint32_t r = 0; r < domain_sizes[p]; ++r) {
                std::uint16_t pole;
                std::memcpy(&pole, poles + 2ull * r, 2);
                lowest = pole < lowest ? pole : lowest;
                highest = pole > highest ? pole : highest;
            }
            if (lowest == 0 || highest > pole_counts[p])
                for (std::uint32_t r = 0; r < domain_sizes[p]; ++r)
                    if (const auto pole = load<std::uint16_t>(bytes_, s + l.pole_of[p] + 2ull * r); pole == 0 || pole > pole_counts[p])
                        return bad("pole of the type of rank " + n(r) + " at position " + n(p) + " is " + n(pole) + ", outside 1.." +
                                   n(pole_counts[p]));
        }
        // Rows: first_slot + column_count <= cell_count and unique < unique_rows. The
        // slot bound is folded into one maximum (column_count is the same for all).
        if (h.column_count > h.cell_count) return bad("column_count " + n(h.column_count) + " is over cell_count " + n(h.cell_count));
        {
            const std::byte* rows_at = bytes_.data() + s + l.rows;
            std::uint32_t max_slot = 0, max_unique = 0;
            for (std::uint32_t r = 0; r < h.row_count; ++r) {
                RowRecord row;
                std::memcpy(&row, rows_at + sizeof(RowRecord) * r, sizeof row);
                max_slot = row.first_slot > max_slot ? row.first_slot : max_slot;
                max_unique = row.unique > max_unique ? row.unique : max_unique;
            }
            if (max_slot > h.cell_count - h.column_count || max_unique >= h.unique_rows)
                for (std::uint32_t r = 0; r < h.row_count; ++r) {
                    const auto row = load<RowRecord>(bytes_, s + l.rows + sizeof(RowRecord) * std::uint64_t{r});
                    if (row.unique >= h.unique_rows) return bad("row " + n(r) + " is tagged with unique row " + n(row.unique) + " of " + n(h.unique_rows));
                    if (row.first_slot > h.cell_count - h.column_count)
                        return bad("row " + n(r) + " starts at cell " + n(row.first_slot) + " and runs past the " + n(h.cell_count) + " cells");
                }
        }
        if (!cells_ok(h, s + l.cells)) {
            for (std::uint32_t c = 0; c < h.cell_count; ++c) {
                if (h.cell_format == kCellsPlain) {
                    if (const auto result = load<std::uint32_t>(bytes_, s + l.cells + 4ull * c); !result_ok(result, h.ambiguity_count))
                        return bad("cell " + n(c) + " has invalid result " + hex(result));
                    continue;
                }
                const auto cell = load<PoleCell>(bytes_, s + l.cells + sizeof(PoleCell) * std::uint64_t{c});
                const bool ok = cell.owner == kNoOwner ? cell.result == 0 : cell.owner < h.unique_rows && result_ok(cell.result, h.ambiguity_count);
                if (!ok) return bad("cell " + n(c) + " (owner " + n(cell.owner) + ", result " + hex(cell.result) + ") is invalid");
            }
        }
        for (std::uint32_t a = 0; a < h.ambiguity_count; ++a) {
            const auto first = load<std::uint32_t>(bytes_, s + l.ambiguities + 8ull * a);
            const auto second = load<std::uint32_t>(bytes_, s + l.ambiguities + 8ull * a + 4);
            if (!(first < second && second < ah.entry_count))
                return bad("ambiguity " + n(a) + " names entries " + n(first) + " and " + n(second) + " of " + n(ah.entry_count));
        }
        return {};
    }

    // Every cell a valid code (and, displaced, owned by a real row or empty), in one
    // branch-free pass: true when all are. A code is valid when its low 31 bits are
    // below a limit its top bit picks (ambiguity_count for an ambiguity, entry_count + 1
    // for a method or 0 = none), so each cell is a mask, a select and one compare: the
    // loop vectorizes, and a large index verifies at memory speed.
    bool cells_ok(const DispatchIndexHeader& h, std::uint64_t at) const noexcept {
        const std::byte* p = bytes_.data() + at;
        // (entry_count + 1 wraps to 0 only at 2^32 - 1 entries: then every cell is refused.)
        const std::uint32_t method_limit = s_.header.entry_count + 1u;
        const std::uint32_t ambiguity_limit = h.ambiguity_count;
        const std::uint32_t unique_rows = h.unique_rows;
        const auto code_bad = [=](std::uint32_t code) -> std::uint32_t {
            const std::uint32_t limit = (code & kResultAmbiguous) != 0 ? ambiguity_limit : method_limit;
            return (code & ~kResultAmbiguous) >= limit;
        };
        std::uint32_t bad = 0;
        if (h.cell_format == kCellsPlain) {
            for (std::uint32_t c = 0; c < h.cell_count; ++c) {
                std::uint32_t code;
                std::memcpy(&code, p + 4ull * c, 4);
                bad |= code_bad(code);
            }
            return bad == 0;
        }
        for (std::uint32_t c = 0; c < h.cell_count; ++c) {
            PoleCell cell;
            std::memcpy(&cell, p + sizeof(PoleCell) * c, sizeof cell);
            const std::uint32_t empty_bad = cell.result != 0;
            const std::uint32_t owned_bad = (cell.owner >= unique_rows) | code_bad(cell.result);
            bad |= cell.owner == kNoOwner ? empty_bad : owned_bad;
        }
        return bad == 0;
    }

    std::span<const std::byte> bytes_;
    const VerifyLimits& limits_;
    ArenaSections s_;
};

}  // namespace

Result<ArenaSections> verify_and_locate(std::span<const std::byte> bytes, VerifyLevel level, const VerifyLimits& limits) {
    return Verifier(bytes, limits).run(level);
}

}  // namespace detail

Result<arena::Header> read_arena_header(std::span<const std::byte> bytes) {
    using namespace arena;
    using detail::hex;
    using detail::n;
    if (bytes.size() >= 4)
        if (const auto magic = detail::load<std::uint32_t>(bytes, 0); magic != kMagic)
            return make_error(ErrorCode::bad_magic, "not a jdc arena: magic is " + hex(magic) + ", expected " + hex(kMagic) + " (\"JDCA\")");
    if (bytes.size() < kHeaderSize)
        return make_error(ErrorCode::truncated, "arena is " + n(bytes.size()) + " bytes, shorter than its " + n(kHeaderSize) + "-byte header");
    const auto h = detail::load<Header>(bytes, 0);
    if (!is_readable_major(h.version_major))
        return make_error(ErrorCode::unsupported_version, "arena format version " + n(h.version_major) + "." + n(h.version_minor) +
                                                              " is not supported: this reader reads formats " + n(kOldestReadableMajor) +
                                                              ".x to " + n(kVersionMajor) + ".x");
    if (const std::uint64_t meta = XXH3_64bits(bytes.data(), kMetadataChecksumCoverage); h.metadata_checksum != meta)
        return make_error(ErrorCode::checksum_mismatch, "header checksum mismatch: stored " + hex(h.metadata_checksum) + ", computed " + hex(meta));
    return h;
}

Result<void> verify_arena(std::span<const std::byte> bytes, VerifyLevel level, const VerifyLimits& limits) {
    auto r = detail::verify_and_locate(bytes, level, limits);
    if (!r) return tl::unexpected(r.error());
    return {};
}

}  // namespace jdc
