#include "jdc/pack.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <limits>
#include <string>

#include <xxhash.h>

#include "util/byte_checks.hpp"

namespace jdc {
namespace {

using namespace pack;
using detail::hex;
using detail::in_range;
using detail::load;
using detail::n;

constexpr std::uint64_t kNoEntry = std::numeric_limits<std::uint64_t>::max();

std::string key_hex(const CacheKey& key) { return key.to_hex(); }

std::string slot_text(std::uint64_t index, const CacheKey& key) { return "slot " + n(index) + " (key " + key_hex(key) + ")"; }

template <class T>
void store(std::vector<std::byte>& bytes, std::uint64_t offset, const T& value) noexcept {
    std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

bool is_pow2(std::uint64_t v) noexcept { return v != 0 && (v & (v - 1)) == 0; }

std::uint64_t slot_offset(std::uint64_t index) noexcept { return kIndexOffset + index * kSlotSize; }

// --- header (format-spec/pack-v1.md §7.2, checks P1-P14) -------------------------

Result<Header> check_header(std::span<const std::byte> bytes, const PackLimits& limits) {
    const std::uint64_t size = bytes.size();
    if (size >= 4) {
        const auto magic = load<std::uint32_t>(bytes, 0);
        if (magic != kMagic)
            return make_error(ErrorCode::bad_magic,
                              "not a jdc pack: magic is " + hex(magic) + ", expected " + hex(kMagic) + " (\"JDCP\")");
    }
    if (size < kHeaderSize)
        return make_error(ErrorCode::truncated, "pack is " + n(size) + " bytes, shorter than its " + n(kHeaderSize) + "-byte header");
    const auto h = load<Header>(bytes, 0);
    if (h.version_major != kVersionMajor)
        return make_error(ErrorCode::unsupported_version, "pack format version " + n(h.version_major) + "." + n(h.version_minor) +
                                                              " is not supported: this reader reads format " + n(kVersionMajor) +
                                                              ".x (written for " + n(kVersionMajor) + "." + n(kVersionMinor) + ")");
    const std::uint64_t computed = XXH3_64bits(bytes.data(), kHeaderChecksumCoverage);
    if (h.header_checksum != computed)
        return make_error(ErrorCode::checksum_mismatch,
                          "pack header checksum mismatch: stored " + hex(h.header_checksum) + ", computed " + hex(computed));
    if (h.index_offset != kIndexOffset)
        return make_error(ErrorCode::corrupt, "index_offset is " + n(h.index_offset) + ", expected " + n(kIndexOffset));
    if (h.total_size > limits.max_total_size)
        return make_error(ErrorCode::limit_exceeded,
                          "pack declares " + n(h.total_size) + " bytes, over the limit of " + n(limits.max_total_size));
    if (h.total_size > size)
        return make_error(ErrorCode::truncated, "pack declares " + n(h.total_size) + " bytes but only " + n(size) + " are present");
    if (h.total_size < size)
        return make_error(ErrorCode::corrupt,
                          "pack declares " + n(h.total_size) + " bytes but " + n(size) + " are present (trailing bytes)");
    if (h.total_size % kAlignment != 0)
        return make_error(ErrorCode::corrupt, "total_size " + n(h.total_size) + " is not a multiple of 8");
    if (!is_pow2(h.bucket_count))
        return make_error(ErrorCode::corrupt, "bucket_count " + n(h.bucket_count) + " is not a power of two");
    if (h.bucket_count > limits.max_bucket_count)
        return make_error(ErrorCode::limit_exceeded,
                          "bucket_count " + n(h.bucket_count) + " is over the limit of " + n(limits.max_bucket_count));
    // The index must end inside the pack: checked before 64 + 40 * bucket_count is
    // formed, so that expression cannot wrap (total_size - 64 >= 40 * bucket_count).
    if ((h.total_size - kHeaderSize) / kSlotSize < h.bucket_count)
        return make_error(ErrorCode::corrupt, "an index of " + n(h.bucket_count) + " buckets (" + n(h.bucket_count) + " x " +
                                                  n(kSlotSize) + " bytes at " + n(kIndexOffset) + ") does not fit in total_size " +
                                                  n(h.total_size));
    const std::uint64_t expected_data = align_up(kIndexOffset + kSlotSize * h.bucket_count);
    if (h.data_offset != expected_data)
        return make_error(ErrorCode::corrupt, "data_offset is " + n(h.data_offset) + ", expected " + n(expected_data) + " for " +
                                                  n(h.bucket_count) + " buckets");
    if (h.entry_count > max_entries_for(h.bucket_count))
        return make_error(ErrorCode::corrupt, "entry_count " + n(h.entry_count) + " is over 3/4 of bucket_count " +
                                                  n(h.bucket_count) + " (at most " + n(max_entries_for(h.bucket_count)) + ")");
    return h;
}

// --- slots (format-spec/pack-v1.md §7.3, checks S1-S5) ---------------------------

struct SlotRead {
    Slot slot;
    CacheKey key;
    bool empty;
};

// S1-S2: an empty slot is 40 zero bytes; a used one carries its checksum. Enough to
// trust the slot's key while probing past it.
Result<SlotRead> read_sealed_slot(std::span<const std::byte> bytes, std::uint64_t index) {
    const std::uint64_t at = slot_offset(index);
    const auto s = load<Slot>(bytes, at);
    const CacheKey key{s.key_hi, s.key_lo};
    if (key.is_zero()) {
        if (s.entry_offset != 0 || s.arena_size != 0 || s.slot_checksum != 0)
            return make_error(ErrorCode::corrupt, "slot " + n(index) + " has the reserved key 0 but is not empty (entry_offset " +
                                                      n(s.entry_offset) + ", arena_size " + n(s.arena_size) + ", slot_checksum " +
                                                      hex(s.slot_checksum) + ")");
        return SlotRead{s, key, true};
    }
    const std::uint64_t computed = XXH3_64bits(bytes.data() + at, kSlotChecksumCoverage);
    if (s.slot_checksum != computed)
        return make_error(ErrorCode::checksum_mismatch, slot_text(index, key) + " checksum mismatch: stored " +
                                                            hex(s.slot_checksum) + ", computed " + hex(computed));
    return SlotRead{s, key, false};
}

// S3-S5: the entry a sealed slot points at is aligned, inside the data area and
// starts with the slot's key. Returns the arena's bytes.
Result<std::span<const std::byte>> locate_entry(std::span<const std::byte> bytes, const Header& h, std::uint64_t index,
                                                const SlotRead& r) {
    const Slot& s = r.slot;
    if (s.entry_offset % kAlignment != 0)
        return make_error(ErrorCode::corrupt, slot_text(index, r.key) + ": entry_offset " + n(s.entry_offset) + " is not 8-byte aligned");
    // [entry_offset, +16 + arena_size) within [data_offset, total_size), never forming
    // 16 + arena_size or entry_offset + anything.
    const std::uint64_t area = h.total_size - h.data_offset;  // header checks: data_offset <= total_size
    const bool inside = s.entry_offset >= h.data_offset && area >= kEntryPrefixSize && s.arena_size <= area - kEntryPrefixSize &&
                        in_range(s.entry_offset - h.data_offset, kEntryPrefixSize + s.arena_size, area);
    if (!inside)
        return make_error(ErrorCode::corrupt, slot_text(index, r.key) + ": entry [" + n(s.entry_offset) + ", +16 + " + n(s.arena_size) +
                                                  ") is outside the data area [" + n(h.data_offset) + ", " + n(h.total_size) + ")");
    const auto prefix = load<EntryPrefix>(bytes, s.entry_offset);
    if (prefix.key_hi != s.key_hi || prefix.key_lo != s.key_lo)
        return make_error(ErrorCode::corrupt, slot_text(index, r.key) + ": the entry at " + n(s.entry_offset) + " belongs to key " +
                                                  key_hex({prefix.key_hi, prefix.key_lo}));
    return bytes.subspan(s.entry_offset + kEntryPrefixSize, s.arena_size);
}

// --- full verification (format-spec/pack-v1.md §7.4, checks F1-F6) ---------------

struct Located {
    std::uint64_t slot;
    CacheKey key;
    std::uint64_t entry_offset;
    std::uint64_t entry_size;  // 16 + arena_size
    std::span<const std::byte> arena;
};

Result<void> check_reachable(const std::vector<Located>& entries, const Header& h) {
    // An empty slot exists (entry_count <= 3/4 of bucket_count, F2). Walking the ring
    // once from it, `run_start` is the first slot after the last empty one; a key is
    // reachable iff its home bucket lies in [run_start, its slot] (cyclically).
    const std::uint64_t mask = h.bucket_count - 1;
    std::vector<std::uint64_t> used(h.bucket_count, kNoEntry);
    for (std::uint64_t i = 0; i < entries.size(); ++i) used[entries[i].slot] = i;
    std::uint64_t empty = 0;
    while (used[empty] != kNoEntry) ++empty;
    std::uint64_t run_start = (empty + 1) & mask;
    for (std::uint64_t step = 1; step <= h.bucket_count; ++step) {
        const std::uint64_t i = (empty + step) & mask;
        if (used[i] == kNoEntry) {
            run_start = (i + 1) & mask;
            continue;
        }
        const Located& e = entries[used[i]];
        const std::uint64_t home = e.key.lo & mask;
        if (((i - home) & mask) > ((i - run_start) & mask))
            return make_error(ErrorCode::corrupt, slot_text(i, e.key) + " is unreachable: its home bucket is " + n(home) +
                                                      " and slot " + n((run_start - 1) & mask) + " between them is empty");
    }
    return {};
}

Result<void> check_unique_keys(std::vector<Located> entries) {
    std::sort(entries.begin(), entries.end(), [](const Located& a, const Located& b) { return a.key < b.key; });
    for (std::size_t i = 1; i < entries.size(); ++i)
        if (entries[i].key == entries[i - 1].key)
            return make_error(ErrorCode::corrupt, "key " + key_hex(entries[i].key) + " is in two slots: " +
                                                      n(entries[i - 1].slot) + " and " + n(entries[i].slot));
    return {};
}

Result<void> check_no_overlap(std::vector<Located> entries) {
    std::sort(entries.begin(), entries.end(), [](const Located& a, const Located& b) { return a.entry_offset < b.entry_offset; });
    for (std::size_t i = 1; i < entries.size(); ++i) {
        const Located& a = entries[i - 1];
        const Located& b = entries[i];
        if (b.entry_offset - a.entry_offset < a.entry_size)  // both lie in the pack: no wrap
            return make_error(ErrorCode::corrupt, "the entries of " + slot_text(a.slot, a.key) + " [" + n(a.entry_offset) + ", +" +
                                                      n(a.entry_size) + ") and " + slot_text(b.slot, b.key) + " [" + n(b.entry_offset) +
                                                      ", +" + n(b.entry_size) + ") overlap");
    }
    return {};
}

Result<void> verify_full(std::span<const std::byte> bytes, const Header& h, const VerifyLimits& arena_limits) {
    std::vector<Located> entries;
    for (std::uint64_t i = 0; i < h.bucket_count; ++i) {  // F1
        auto r = read_sealed_slot(bytes, i);
        if (!r) return tl::unexpected(r.error());
        if (r->empty) continue;
        auto arena = locate_entry(bytes, h, i, *r);
        if (!arena) return tl::unexpected(arena.error());
        entries.push_back({i, r->key, r->slot.entry_offset, kEntryPrefixSize + r->slot.arena_size, *arena});
    }
    if (entries.size() != h.entry_count)  // F2
        return make_error(ErrorCode::corrupt,
                          "the index holds " + n(entries.size()) + " entries but entry_count is " + n(h.entry_count));
    if (auto r = check_reachable(entries, h); !r) return r;  // F3
    if (auto r = check_unique_keys(entries); !r) return r;   // F4
    if (auto r = check_no_overlap(entries); !r) return r;    // F5
    for (const Located& e : entries) {                       // F6
        if (auto r = verify_arena(e.arena, VerifyLevel::full, arena_limits); !r) {
            Error err = r.error();
            err.message = slot_text(e.slot, e.key) + ", arena at " + n(e.entry_offset + kEntryPrefixSize) + ": " + err.message;
            return tl::unexpected(std::move(err));
        }
    }
    return {};
}

}  // namespace

// --- reading ----------------------------------------------------------------------

Result<PackView> PackView::open(std::span<const std::byte> bytes, const PackLimits& limits) {
    auto h = check_header(bytes, limits);
    if (!h) return tl::unexpected(h.error());
    return PackView(bytes, *h);
}

Result<std::optional<std::span<const std::byte>>> PackView::find(const CacheKey& key) const {
    if (key.is_zero()) return std::nullopt;  // reserved: marks empty slots, never stored
    const std::uint64_t mask = header_.bucket_count - 1;
    const std::uint64_t home = key.lo & mask;
    for (std::uint64_t probe = 0; probe < header_.bucket_count; ++probe) {
        const std::uint64_t index = (home + probe) & mask;
        auto r = read_sealed_slot(bytes_, index);
        if (!r) return tl::unexpected(r.error());
        if (r->empty) return std::nullopt;
        if (r->key != key) continue;
        auto arena = locate_entry(bytes_, header_, index, *r);
        if (!arena) return tl::unexpected(arena.error());
        return *arena;
    }
    return std::nullopt;  // a full ring (only in a damaged pack; load <= 3/4 leaves empty slots)
}

Result<std::optional<PackEntry>> PackView::entry_at_slot(std::uint64_t index) const {
    if (index >= header_.bucket_count)
        return make_error(ErrorCode::invalid_argument, "slot " + n(index) + " is past the index of " + n(header_.bucket_count) + " slots");
    auto r = read_sealed_slot(bytes_, index);
    if (!r) return tl::unexpected(r.error());
    if (r->empty) return std::nullopt;
    auto arena = locate_entry(bytes_, header_, index, *r);
    if (!arena) return tl::unexpected(arena.error());
    return PackEntry{r->key, *arena};
}

Result<void> verify_pack(std::span<const std::byte> bytes, VerifyLevel level, const VerifyLimits& arena_limits,
                         const PackLimits& limits) {
    auto h = check_header(bytes, limits);
    if (!h) return tl::unexpected(h.error());
    if (level == VerifyLevel::header) return {};
    return verify_full(bytes, *h, arena_limits);
}

// --- writing ----------------------------------------------------------------------

Result<std::vector<std::byte>> build_pack(std::span<const PackInput> entries, std::uint64_t created_at_ns, PackDataOrder data_order) {
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const PackInput& e = entries[i];
        if (e.key.is_zero())
            return make_error(ErrorCode::invalid_argument, "pack input " + n(i) + " has the zero key, which is reserved for empty slots");
        if (auto r = verify_arena(e.arena, VerifyLevel::header); !r)
            return make_error(ErrorCode::invalid_argument,
                              "pack input " + n(i) + " (key " + key_hex(e.key) + ") is not an arena: " + r.error().message);
    }
    // Sorted by key, so placement (and thus every byte) is independent of input order.
    std::vector<std::size_t> order(entries.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return entries[a].key < entries[b].key; });
    for (std::size_t i = 1; i < order.size(); ++i)
        if (entries[order[i]].key == entries[order[i - 1]].key)
            return make_error(ErrorCode::invalid_argument, "key " + key_hex(entries[order[i]].key) + " is given twice (pack inputs " +
                                                               n(std::min(order[i - 1], order[i])) + " and " +
                                                               n(std::max(order[i - 1], order[i])) + ")");

    // Never write what a reader with default limits would refuse.
    const PackLimits defaults;
    const std::uint64_t buckets = bucket_count_for(entries.size());
    if (buckets == 0 || buckets > defaults.max_bucket_count)
        return make_error(ErrorCode::invalid_argument, n(entries.size()) + " entries need more than the " +
                                                           n(defaults.max_bucket_count) + " buckets readers accept");
    const std::uint64_t mask = buckets - 1;
    std::vector<std::uint64_t> slot_input(buckets, kNoEntry);
    for (std::size_t input : order) {
        std::uint64_t i = entries[input].key.lo & mask;
        while (slot_input[i] != kNoEntry) i = (i + 1) & mask;
        slot_input[i] = input;
    }

    // Entries go into the data area in slot order, so iterating the index reads the
    // data front to back; or in the order given (a reader's order, so that the
    // entries it reads first lie together at the front).
    const std::uint64_t data_offset = align_up(kIndexOffset + kSlotSize * buckets);
    std::uint64_t total = data_offset;
    for (std::uint64_t input : slot_input)
        if (input != kNoEntry) total += kEntryPrefixSize + align_up(entries[input].arena.size());
    if (total > defaults.max_total_size)
        return make_error(ErrorCode::invalid_argument,
                          "the pack would be " + n(total) + " bytes; readers accept up to " + n(defaults.max_total_size));

    std::vector<std::uint64_t> slot_of(entries.size());
    for (std::uint64_t i = 0; i < buckets; ++i)
        if (slot_input[i] != kNoEntry) slot_of[slot_input[i]] = i;
    std::vector<std::uint64_t> data_slots;  // the slots in the order their data is written
    data_slots.reserve(entries.size());
    if (data_order == PackDataOrder::given) {
        for (std::size_t input = 0; input < entries.size(); ++input) data_slots.push_back(slot_of[input]);
    } else {
        for (std::uint64_t i = 0; i < buckets; ++i)
            if (slot_input[i] != kNoEntry) data_slots.push_back(i);
    }
    std::vector<std::byte> out(total, std::byte{0});  // empty slots stay 40 zero bytes
    std::uint64_t at = data_offset;
    for (const std::uint64_t i : data_slots) {
        const PackInput& e = entries[slot_input[i]];
        Slot s{e.key.hi, e.key.lo, at, e.arena.size(), 0};
        store(out, slot_offset(i), s);
        s.slot_checksum = XXH3_64bits(out.data() + slot_offset(i), kSlotChecksumCoverage);
        store(out, slot_offset(i), s);
        store(out, at, EntryPrefix{e.key.hi, e.key.lo});
        if (!e.arena.empty()) std::memcpy(out.data() + at + kEntryPrefixSize, e.arena.data(), e.arena.size());
        at += kEntryPrefixSize + align_up(e.arena.size());
    }
    assert(at == total && "bytes written must equal bytes declared");

    Header h{kMagic, kVersionMajor, kVersionMinor, entries.size(), buckets, kIndexOffset, data_offset, total, created_at_ns, 0};
    store(out, 0, h);
    h.header_checksum = XXH3_64bits(out.data(), kHeaderChecksumCoverage);
    store(out, 0, h);
    return out;
}

std::string pack_file_name(std::span<const std::byte> pack_bytes) {
    const XXH128_hash_t h = XXH3_128bits(pack_bytes.data(), pack_bytes.size());
    return CacheKey{h.high64, h.low64}.to_hex() + ".jdcp";
}

}  // namespace jdc
