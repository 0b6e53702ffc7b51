// jdc — the on-disk layout of a dispatch-table arena, format version 1.1.
//
// format-spec/arena-v1.md is the normative, byte-by-byte description; this comment
// is the short grammar. All integers little-endian, all offsets absolute (from the
// first byte of the arena), every section 8-byte aligned, no pointers anywhere.
//
//   arena      := header(128) section_dir(section_count * 24) section* (in any order)
//   header     := magic "JDCA" | u16 major=1 | u16 minor | u64 table_hash
//                 | u64 created_at_ns | u32 signature_name_length
//                 | u32 type_signature_length (= arity) | u32 entry_count
//                 | u8 optimization_type | u8 payload_codec=0 | u16 flags=0
//                 | u32 compression_ratio_ppm | u32 type_count | u64 memory_saved
//                 | u64 total_size | u32 header_size=128 | u32 section_count
//                 | u64 section_dir_offset | u8 reserved[32]=0
//                 | u64 data_checksum   (XXH3-64, seed 0, of bytes [128, total_size))
//                 | u64 metadata_checksum (XXH3-64, seed 0, of bytes [0, 120))
//   section_dir_entry := u32 kind | u32 flags (bit 0: required) | u64 offset | u64 size
//   strings    := byte*                     -- referenced by (u32 offset, u32 length)
//   types      := type_record(24)*type_count
//   type_record:= u64 structural_hash | u32 name_off | u32 name_len | u8 kind | u8[3]=0
//                 | u32 id_hint (the type's id in the writer's registry; advisory)
//   signature  := u32 name_off | u32 name_len | u32 arity | u32 return_type
//                 | u32 declared_param[arity]
//   entries    := entry_record(56)*entry_count
//   entry_record := u32 function_id | u32 return_type | u32 name_off | u32 name_len
//                 | u32 module_off | u32 module_len | u32 file_off | u32 file_len
//                 | u32 line | u32 column | u32 effects | u32 specificity
//                 | u64 call_frequency
//   parameters := u32 param_type[entry_count * arity]    -- row-major by entry
//   -- since 1.1, optional (flags 0: 1.0 readers skip them), each at most once:
//   dispatch_index := DispatchIndexHeader(40) | u64 type_hash[id_span] | u32 pole_count[arity]
//                 | u16 pole_of[arity * id_span] | u32 row_of[row_count]
//                 | u32 displacement[unique_rows] | cell[cell_count] | {u32, u32} ambiguity[]
//                 (arrays 8-aligned from the section start: dispatch_index_layout below)
//   decision_tree := u32 node_count | u32 flags | TreeNode(16)*node_count  -- only with an index
//
// Type references (return_type, declared_param, param_type) are indexes into the
// arena's own type table, or kNoLocalType for "no type" (return types only). The
// type table names each type and carries its structural hash; binding an arena to
// a live TypeRegistry maps those indexes to live TypeIds (the "pointer fixup").
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
inline constexpr std::uint16_t kVersionMajor = 1;
inline constexpr std::uint16_t kVersionMinor = 1;  // 1.1 adds the optional sections 6 and 7
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
    dispatch_index = 6,  // v1.1, optional: poles + row-displaced pole table (spec §5.6)
    decision_tree = 7,   // v1.1, optional: index-linked decision tree (spec §5.7)
};
inline constexpr std::uint32_t kSectionRequired = 1u;  // section_dir_entry.flags bit 0
// Writers of v1.1 leave room after the header for this many directory entries
// (unused ones zero), so optional sections can be added in place later.
inline constexpr std::uint32_t kDirectoryCapacity = 7;

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
    std::uint8_t reserved[32];
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
static_assert(offsetof(Header, reserved) == 80);
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
    std::uint8_t reserved[3];
    std::uint32_t id_hint;
};
static_assert(sizeof(TypeRecord) == 24);
static_assert(offsetof(TypeRecord, name_offset) == 8 && offsetof(TypeRecord, kind) == 16);
static_assert(offsetof(TypeRecord, id_hint) == 20);

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

// Section 6 (v1.1): the dispatch matrix of the table over the writer's type ids
// [id_base, id_base + id_span), compressed. Layout after this 40-byte record, each
// array starting 8-aligned (relative to the section), sizes in DispatchIndexLayout:
//   u64 type_hash[id_span]           structural hash of the writer's type base + i
//   u32 pole_count[arity]
//   u16 pole_of[arity * id_span]     1-based pole of type base + i at each position
//   u32 row_of[row_count]            pole-prefix row -> shared (unique) row
//   u32 displacement[unique_rows]    unique row -> first cell slot of its row
//   cells[cell_count]                cell_format 0: {u32 owner (unique row or kNoOwner), u32 result}
//                                    cell_format 1: u32 result (rows not overlaid: no owner needed)
//   pair ambiguities[ambiguity_count] {u32 first, u32 second}
struct DispatchIndexHeader {
    std::uint32_t arity;
    std::uint32_t id_base;
    std::uint32_t id_span;
    std::uint32_t row_count;     // product of pole_count[0 .. arity-2] (1 when arity <= 1)
    std::uint32_t column_count;  // pole_count[arity-1] (1 when arity == 0)
    std::uint32_t unique_rows;
    std::uint32_t cell_count;
    std::uint32_t ambiguity_count;
    std::uint32_t techniques;    // bit (1 << OptimizationType) for each technique applied
    std::uint32_t cell_format;   // kCellsDisplaced or kCellsPlain
};
static_assert(sizeof(DispatchIndexHeader) == 40);
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

struct DispatchIndexLayout {
    std::uint64_t type_hashes, pole_counts, pole_of, row_of, displacement, cells, ambiguities, size;  // offsets in the section
};
constexpr std::uint64_t align_up(std::uint64_t n) noexcept { return (n + kAlignment - 1) & ~std::uint64_t{kAlignment - 1}; }
constexpr DispatchIndexLayout dispatch_index_layout(const DispatchIndexHeader& h) noexcept {
    DispatchIndexLayout l{};
    l.type_hashes = sizeof(DispatchIndexHeader);
    l.pole_counts = l.type_hashes + 8ull * h.id_span;
    l.pole_of = align_up(l.pole_counts + 4ull * h.arity);
    l.row_of = align_up(l.pole_of + 2ull * h.arity * h.id_span);
    l.displacement = align_up(l.row_of + 4ull * h.row_count);
    l.cells = align_up(l.displacement + 4ull * h.unique_rows);
    l.ambiguities = align_up(l.cells + (h.cell_format == kCellsPlain ? 4ull : sizeof(PoleCell)) * h.cell_count);
    l.size = l.ambiguities + 8ull * h.ambiguity_count;
    return l;
}

// Section 7 (v1.1): a decision tree over the same writer ids. Node 0 is the root;
// every child index is greater than its parent's, so the tree (a DAG where equal
// subtrees are shared) has no cycles by construction and a walk ends within
// node_count steps.
struct DecisionTreeHeader {
    std::uint32_t node_count;
    std::uint32_t flags;  // bit 0: shaped by call frequencies (hot paths shallower)
};
static_assert(sizeof(DecisionTreeHeader) == 8);
enum class TreeNodeKind : std::uint8_t {
    test = 0,      // argument `position` < `value` ? node `below` : node `at_or_above`
    result = 1,    // answer: `value` is a result code
    fallback = 2,  // the argument's type is unknown to the tree: resolve by scanning
};
struct TreeNode {
    std::uint8_t kind;
    std::uint8_t position;
    std::uint16_t reserved;  // 0
    std::uint32_t value;
    std::uint32_t below;
    std::uint32_t at_or_above;
};
static_assert(sizeof(TreeNode) == 16);
inline constexpr std::uint32_t kTreeShapedByProfile = 1u;

inline constexpr std::size_t kHeaderSize = sizeof(Header);
inline constexpr std::size_t kMetadataChecksumCoverage = offsetof(Header, metadata_checksum);


}  // namespace jdc::arena
