// jdc — the on-disk layout of a pack: many arenas in one immutable file with an
// on-disk hash index, format version 1.0.
//
// format-spec/pack-v1.md is the normative, byte-by-byte description; this comment
// is the short grammar. All integers little-endian, all offsets absolute (from the
// first byte of the pack), every entry 8-byte aligned, no pointers anywhere.
//
//   pack    := header(64) index(bucket_count * 40) data
//   header  := magic "JDCP" | u16 major=1 | u16 minor | u64 entry_count
//              | u64 bucket_count (power of two, >= 1; entry_count <= bucket_count*3/4)
//              | u64 index_offset=64 | u64 data_offset=align8(64 + 40*bucket_count)
//              | u64 total_size | u64 created_at_ns
//              | u64 header_checksum (XXH3-64, seed 0, of bytes [0, 56))
//   index   := slot(40) * bucket_count
//   slot    := u64 key_hi | u64 key_lo | u64 entry_offset | u64 arena_size
//              | u64 slot_checksum (XXH3-64, seed 0, of the slot's first 32 bytes)
//            | 40 zero bytes                                   -- an empty slot
//   data    := (entry | zero padding)*                          -- up to total_size
//   entry   := u64 key_hi | u64 key_lo | arena(arena_size) | zero padding to 8
//
// A key (hi, lo) lives in the first slot, probing linearly (wrapping) from bucket
// (lo & (bucket_count - 1)), that holds it; no empty slot lies between its home
// bucket and its slot. Key (0, 0) is reserved (it is what marks a slot empty).
// entry_offset points at the entry's key prefix; the arena starts 16 bytes later.
//
// Why a copy of the key in front of every entry: the slot checksum proves the slot
// was written as it is, but not that a writer put the right offset in it; the prefix
// makes a lookup that lands on another table's bytes fail loudly instead of
// returning the wrong table.
//
// Why checksums per slot and none over the index: opening a pack must cost the
// same for 10 tables as for 100,000 (O(1): only the header is checked), so each
// lookup checks exactly the slots it reads. The arenas carry their own checksums
// and are verified by ArenaView::open when a lookup's result is used.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace jdc::pack {

static_assert(std::endian::native == std::endian::little,
              "jdc reads packs in place; format v1 is little-endian and so must the host be");

inline constexpr std::uint32_t kMagic = 0x5043444Au;  // bytes "JDCP"
inline constexpr std::uint16_t kVersionMajor = 1;
inline constexpr std::uint16_t kVersionMinor = 0;
inline constexpr std::uint64_t kAlignment = 8;

struct Header {
    std::uint32_t magic;
    std::uint16_t version_major;
    std::uint16_t version_minor;
    std::uint64_t entry_count;
    std::uint64_t bucket_count;
    std::uint64_t index_offset;
    std::uint64_t data_offset;
    std::uint64_t total_size;
    std::uint64_t created_at_ns;
    std::uint64_t header_checksum;
};
static_assert(sizeof(Header) == 64);
static_assert(offsetof(Header, version_major) == 4 && offsetof(Header, version_minor) == 6);
static_assert(offsetof(Header, entry_count) == 8);
static_assert(offsetof(Header, bucket_count) == 16);
static_assert(offsetof(Header, index_offset) == 24);
static_assert(offsetof(Header, data_offset) == 32);
static_assert(offsetof(Header, total_size) == 40);
static_assert(offsetof(Header, created_at_ns) == 48);
static_assert(offsetof(Header, header_checksum) == 56);

struct Slot {
    std::uint64_t key_hi;
    std::uint64_t key_lo;
    std::uint64_t entry_offset;
    std::uint64_t arena_size;
    std::uint64_t slot_checksum;
};
static_assert(sizeof(Slot) == 40);
static_assert(offsetof(Slot, key_lo) == 8 && offsetof(Slot, entry_offset) == 16);
static_assert(offsetof(Slot, arena_size) == 24 && offsetof(Slot, slot_checksum) == 32);

struct EntryPrefix {  // followed by the arena
    std::uint64_t key_hi;
    std::uint64_t key_lo;
};
static_assert(sizeof(EntryPrefix) == 16);

inline constexpr std::size_t kHeaderSize = sizeof(Header);
inline constexpr std::size_t kSlotSize = sizeof(Slot);
inline constexpr std::size_t kEntryPrefixSize = sizeof(EntryPrefix);
inline constexpr std::uint64_t kIndexOffset = kHeaderSize;
inline constexpr std::size_t kHeaderChecksumCoverage = offsetof(Header, header_checksum);
inline constexpr std::size_t kSlotChecksumCoverage = offsetof(Slot, slot_checksum);

constexpr std::uint64_t align_up(std::uint64_t n) noexcept { return (n + kAlignment - 1) & ~(kAlignment - 1); }

// The most entries a table of `bucket_count` slots may hold: floor(bucket_count * 3/4),
// computed without overflow for every u64 bucket_count.
constexpr std::uint64_t max_entries_for(std::uint64_t bucket_count) noexcept {
    return (bucket_count / 4) * 3 + ((bucket_count % 4) * 3) / 4;
}

// The bucket count the reference writer uses: the smallest power of two holding
// `entry_count` at load <= 3/4 (1 for an empty pack). 0 if there is none.
constexpr std::uint64_t bucket_count_for(std::uint64_t entry_count) noexcept {
    std::uint64_t buckets = 1;
    while (max_entries_for(buckets) < entry_count) {
        if (buckets > (std::uint64_t{1} << 62)) return 0;
        buckets <<= 1;
    }
    return buckets;
}
static_assert(bucket_count_for(0) == 1 && bucket_count_for(1) == 2 && bucket_count_for(3) == 4);
static_assert(bucket_count_for(4) == 8 && bucket_count_for(6) == 8 && bucket_count_for(7) == 16);

}  // namespace jdc::pack
