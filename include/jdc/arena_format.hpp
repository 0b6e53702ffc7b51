// jdc — the on-disk layout of a dispatch-table arena, format version 2.0.
//
// format-spec/arena-v2.md is the normative, byte-by-byte description; this comment
// is the short grammar. All integers little-endian, all offsets absolute (from the
// first byte of the arena), every section 8-byte aligned, no pointers anywhere, and
// nothing that depends on the writer's type ids: an arena is a function of the
// table's semantic inputs alone (format-spec/arena-v2.md §2), so two compilers that
// agree on them write the same bytes (apart from created_at_ns).
//
//   arena      := header(128) section_dir(section_count * 24) section* (in any order)
//   header     := magic "JDCA" | u16 major=2 | u16 minor | u64 table_hash
//                 | u64 created_at_ns | u32 signature_name_length
//                 | u32 type_signature_length (= arity) | u32 entry_count
//                 | u8 optimization_type | u8 payload_codec=0 | u16 flags=0
//                 | u32 compression_ratio_ppm | u32 type_count | u64 memory_saved
//                 | u64 total_size | u32 header_size=128 | u32 section_count
//                 | u64 section_dir_offset | u64 key_hi | u64 key_lo | u8 reserved[16]=0
//                 | u64 data_checksum   (XXH3-64, seed 0, of bytes [128, total_size))
//                 | u64 metadata_checksum (XXH3-64, seed 0, of bytes [0, 120))
//   section_dir_entry := u32 kind | u32 flags (bit 0: required) | u64 offset | u64 size
//   strings    := byte*                     -- referenced by (u32 offset, u32 length)
//   types      := type_record(24)*type_count, ascending by structural_hash
//   type_record:= u64 structural_hash | u32 name_off | u32 name_len | u8 kind
//                 | u8 domain_position (< arity, or 0xFF: none) | u16 reserved=0
//                 | u32 domain_rank  (canonical rank in that position's domain)
//   signature  := u32 name_off | u32 name_len | u32 arity | u32 return_type
//                 | u32 declared_param[arity]
//   entries    := entry_record(56)*entry_count
//   entry_record := u32 function_id | u32 return_type | u32 name_off | u32 name_len
//                 | u32 module_off | u32 module_len | u32 file_off | u32 file_len
//                 | u32 line | u32 column | u32 effects | u32 specificity
//                 | u64 call_frequency
//   parameters := u32 param_type[entry_count * arity]    -- row-major by entry
//   dispatch_index (optional) := DispatchIndexHeader(32) | position_record(16)[arity]
//                 | u16 pole_of[domain_size] per position | row_record(8)[row_count]
//                 | cell[cell_count] | {u32, u32} ambiguity[ambiguity_count]
//                 (arrays 8-aligned from the section start: dispatch_index_layout below)
//
// Type references (return_type, declared_param, param_type) are indexes into the
// arena's own type table, or kNoLocalType for "no type" (return types only). Binding
// an arena to a live TypeRegistry maps them to live TypeIds (the "pointer fixup"):
// a type that belongs to a declared parameter's domain is found by its canonical
// rank there (type_domain.hpp: O(1), no hashing); any other by structural hash.
//
// The arena's `key` is the cache key it was stored under (zero: none); a reader that
// asked for key K accepts only an arena that says K (the bytes of another table,
// or of this table from before an edit, are refused: format-spec/arena-v2.md §3.2).
//
// Format 1.x arenas (arena-v1.md) are still read: their required sections have the
// same layout (a 1.x type record holds the writer's id where 2.0 has its domain
// reference); their optional sections (1.1's dispatch index over writer ids, and the
// decision tree) are skipped, so they answer through the scan.
//
// Why a matrix of parameter types instead of per-entry lists: all methods of a
// generic function share its arity, so entry i's parameters sit at i*arity. That
// removes a per-entry offset, makes verification a single range check per cell and
// makes lookup a linear scan over contiguous u32s.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace jdc::arena {

static_assert(std::endian::native == std::endian::little,
              "jdc reads arenas in place; format v1 is little-endian and so must the host be");

inline constexpr std::uint32_t kMagic = 0x4143444Au;  // bytes "JDCA"
inline constexpr std::uint16_t kVersionMajor = 2;
inline constexpr std::uint16_t kVersionMinor = 0;
inline constexpr std::uint16_t kOldestReadableMajor = 1;  // 1.x: required sections only
constexpr bool is_readable_major(std::uint16_t major) noexcept { return major >= kOldestReadableMajor && major <= kVersionMajor; }
// The one version word (major << 16 | minor) of what this library writes: the
// version that keys and remote names carry.
inline constexpr std::uint32_t kVersionWord = (std::uint32_t{kVersionMajor} << 16) | kVersionMinor;
inline constexpr std::uint32_t kAlignment = 8;
inline constexpr std::uint32_t kNoLocalType = 0xFFFFFFFFu;
inline constexpr std::uint8_t kOptimizationTypeCountOnDisk = 7;  // header.optimization_type < this
inline constexpr std::uint8_t kTypeKindCountOnDisk = 6;          // type_record.kind < this
inline constexpr std::uint32_t kRatioOne = 1'000'000;  // compression_ratio_ppm of an unchanged table

enum class SectionKind : std::uint32_t {
    strings = 1,
    types = 2,
    signature = 3,
    entries = 4,
    parameters = 5,
    dispatch_index = 6,  // optional: poles over canonical domain ranks + shared, row-displaced table (spec §5.6)
    // 7 was 1.1's decision_tree: never faster than the dispatch index (bench/RESULTS.md,
    // "Dispatch forms"), not written since 2.0; a 2.0 reader skips it like any unknown
    // optional section.
};
inline constexpr std::uint32_t kSectionRequired = 1u;  // section_dir_entry.flags bit 0
// Writers leave room after the header for this many directory entries (unused ones
// zero), so the optional section can be added or replaced in place later.
inline constexpr std::uint32_t kDirectoryCapacity = 6;

struct Header {
    std::uint32_t magic;
    std::uint16_t version_major;
    std::uint16_t version_minor;
    std::uint64_t table_hash;
    std::uint64_t created_at_ns;
    std::uint32_t signature_name_length;
    std::uint32_t type_signature_length;
    std::uint32_t entry_count;
    std::uint8_t optimization_type;
    std::uint8_t payload_codec;
    std::uint16_t flags;
    std::uint32_t compression_ratio_ppm;
    std::uint32_t type_count;
    std::uint64_t memory_saved;
    std::uint64_t total_size;
    std::uint32_t header_size;
    std::uint32_t section_count;
    std::uint64_t section_dir_offset;
    std::uint64_t key_hi;  // since 2.0: the cache key this arena answers (0, 0: none)
    std::uint64_t key_lo;
    std::uint8_t reserved[16];
    std::uint64_t data_checksum;
    std::uint64_t metadata_checksum;
};
static_assert(sizeof(Header) == 128);
static_assert(offsetof(Header, table_hash) == 8);
static_assert(offsetof(Header, created_at_ns) == 16);
static_assert(offsetof(Header, signature_name_length) == 24);
static_assert(offsetof(Header, type_signature_length) == 28);
static_assert(offsetof(Header, entry_count) == 32);
static_assert(offsetof(Header, optimization_type) == 36);
static_assert(offsetof(Header, payload_codec) == 37);
static_assert(offsetof(Header, flags) == 38);
static_assert(offsetof(Header, compression_ratio_ppm) == 40);
static_assert(offsetof(Header, type_count) == 44);
static_assert(offsetof(Header, memory_saved) == 48);
static_assert(offsetof(Header, total_size) == 56);
static_assert(offsetof(Header, header_size) == 64);
static_assert(offsetof(Header, section_count) == 68);
static_assert(offsetof(Header, section_dir_offset) == 72);
static_assert(offsetof(Header, key_hi) == 80 && offsetof(Header, key_lo) == 88);
static_assert(offsetof(Header, reserved) == 96);
static_assert(offsetof(Header, data_checksum) == 112);
static_assert(offsetof(Header, metadata_checksum) == 120);

struct SectionEntry {
    std::uint32_t kind;
    std::uint32_t flags;
    std::uint64_t offset;
    std::uint64_t size;
};
static_assert(sizeof(SectionEntry) == 24);
static_assert(offsetof(SectionEntry, offset) == 8 && offsetof(SectionEntry, size) == 16);

struct TypeRecord {
    std::uint64_t structural_hash;
    std::uint32_t name_offset;
    std::uint32_t name_length;
    std::uint8_t kind;
    std::uint8_t domain_position;  // 1.x: reserved (0)
    std::uint16_t reserved;
    std::uint32_t domain_rank;     // 1.x: id_hint, the writer's id of the type (advisory)
};
static_assert(sizeof(TypeRecord) == 24);
static_assert(offsetof(TypeRecord, name_offset) == 8 && offsetof(TypeRecord, kind) == 16);
static_assert(offsetof(TypeRecord, domain_position) == 17 && offsetof(TypeRecord, domain_rank) == 20);
inline constexpr std::uint8_t kNoDomain = 0xFF;  // type_record.domain_position: in no parameter's domain

struct SignatureRecord {  // followed by u32 declared_param[arity]
    std::uint32_t name_offset;
    std::uint32_t name_length;
    std::uint32_t arity;
    std::uint32_t return_type;
};
static_assert(sizeof(SignatureRecord) == 16);

struct EntryRecord {
    std::uint32_t function_id;
    std::uint32_t return_type;
    std::uint32_t name_offset;
    std::uint32_t name_length;
    std::uint32_t module_offset;
    std::uint32_t module_length;
    std::uint32_t file_offset;
    std::uint32_t file_length;
    std::uint32_t line;
    std::uint32_t column;
    std::uint32_t effects;
    std::uint32_t specificity;
    std::uint64_t call_frequency;
};
static_assert(sizeof(EntryRecord) == 56);
static_assert(offsetof(EntryRecord, module_offset) == 16 && offsetof(EntryRecord, file_offset) == 24);
static_assert(offsetof(EntryRecord, line) == 32 && offsetof(EntryRecord, effects) == 40);
static_assert(offsetof(EntryRecord, call_frequency) == 48);

// Section 6: the dispatch matrix of the table, compressed (spec §5.6). Position p's
// universe is the domain of the declared parameter type at p, its members numbered
// by canonical rank (type_domain.hpp); types with the same applicable methods at p
// share a pole. Layout after this 32-byte record, each array starting 8-aligned
// (relative to the section), offsets in DispatchIndexLayout:
//   position_record[arity]           {u64 domain_digest, u32 domain_size, u32 pole_count}
//   u16 pole_of[domain_size_p]       per position: 1-based pole of the member of rank r
//   row_record[row_count]            {u32 first_slot, u32 unique}: the pole-prefix row's cells
//                                    start at cell first_slot; `unique` tags its cells when
//                                    rows are displaced into one another
//   cells[cell_count]                cell_format 0: {u32 owner (unique row or kNoOwner), u32 result}
//                                    cell_format 1: u32 result (rows not overlaid: no owner needed)
//   pair ambiguities[ambiguity_count] {u32 first, u32 second}
struct DispatchIndexHeader {
    std::uint32_t arity;
    std::uint32_t row_count;     // product of pole_count[0 .. arity-2] (1 when arity <= 1)
    std::uint32_t column_count;  // pole_count[arity-1] (1 when arity == 0)
    std::uint32_t unique_rows;   // distinct rows (by content) among the row_count
    std::uint32_t cell_count;
    std::uint32_t ambiguity_count;
    std::uint32_t techniques;    // bit (1 << OptimizationType) for each technique applied
    std::uint32_t cell_format;   // kCellsDisplaced or kCellsPlain
};
static_assert(sizeof(DispatchIndexHeader) == 32);
struct PositionRecord {
    std::uint64_t domain_digest;  // domain_digest() of the declared parameter's domain
    std::uint32_t domain_size;
    std::uint32_t pole_count;
};
static_assert(sizeof(PositionRecord) == 16);
struct RowRecord {
    std::uint32_t first_slot;
    std::uint32_t unique;
};
static_assert(sizeof(RowRecord) == 8);
// Row displacement pays for its owner tags only when rows overlap enough; when they
// do not (dense tables), rows are stored whole and a cell is just its result.
inline constexpr std::uint32_t kCellsDisplaced = 0;
inline constexpr std::uint32_t kCellsPlain = 1;
struct PoleCell {
    std::uint32_t owner;
    std::uint32_t result;
};
inline constexpr std::uint32_t kNoOwner = 0xFFFFFFFFu;
inline constexpr std::uint32_t kMaxPoles = 0xFFFFu;  // pole_of is u16
inline constexpr std::uint32_t kResultAmbiguous = 0x80000000u;  // result codes: see dispatch_matrix.hpp

constexpr std::uint64_t align_up(std::uint64_t n) noexcept { return (n + kAlignment - 1) & ~std::uint64_t{kAlignment - 1}; }

// Offsets within the section. pole_of[p] needs the domain sizes of the positions
// before p; `domain_sizes` holds them (arity values).
struct DispatchIndexLayout {
    std::uint64_t positions, rows, cells, ambiguities, size;
    static constexpr std::uint64_t kMaxArity = 64;
    std::uint64_t pole_of[kMaxArity];  // offsets of each position's pole array
};
template <class DomainSizes>
constexpr DispatchIndexLayout dispatch_index_layout(const DispatchIndexHeader& h, const DomainSizes& domain_sizes) noexcept {
    DispatchIndexLayout l{};
    l.positions = sizeof(DispatchIndexHeader);
    std::uint64_t at = align_up(l.positions + sizeof(PositionRecord) * std::uint64_t{h.arity});
    for (std::uint32_t p = 0; p < h.arity && p < DispatchIndexLayout::kMaxArity; ++p) {
        l.pole_of[p] = at;
        at = align_up(at + 2ull * domain_sizes[p]);
    }
    l.rows = at;
    l.cells = align_up(l.rows + sizeof(RowRecord) * std::uint64_t{h.row_count});
    l.ambiguities = align_up(l.cells + (h.cell_format == kCellsPlain ? 4ull : sizeof(PoleCell)) * h.cell_count);
    l.size = l.ambiguities + 8ull * h.ambiguity_count;
    return l;
}

inline constexpr std::size_t kHeaderSize = sizeof(Header);
inline constexpr std::size_t kMetadataChecksumCoverage = offsetof(Header, metadata_checksum);


}  // namespace jdc::arena
