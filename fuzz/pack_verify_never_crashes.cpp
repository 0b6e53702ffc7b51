// Fuzz target: the pack reader never crashes, and never hands back another key's bytes.
//
// For the input as given and for a copy re-sealed (every arena a slot points at, every
// used slot's checksum and the header checksum recomputed, so mutations reach the
// structural checks; format-spec/pack-v1.md §7):
//   - PackView::open and verify_pack(header) accept and reject the same bytes, with
//     the same error; verify_pack(full) accepts only what header accepts; every
//     rejection has a reason and a permitted error class;
//   - on an opened pack, every slot (entry_at_slot), every entry (for_each_entry) and
//     lookups of keys found in slots, of the reserved zero key and of keys taken from
//     the input return or fail cleanly; a returned arena lies inside the pack, right
//     after a copy of the key that was asked for, and every byte of it is read (ASan);
//   - when verify_pack(full) accepts: every slot reads, the entries number
//     entry_count, find() of each key returns exactly the slot's bytes, and
//     ArenaView::open accepts each arena.
// MappedPack (mapped_pack.hpp) is this reader behind open + mmap of a file.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include <xxhash.h>

#include "fuzz_support.hpp"
#include "jdc/arena_view.hpp"
#include "jdc/pack.hpp"

namespace {

using namespace jdc;

// Recomputes the checksums a writer seals a pack with, innermost first: each arena a
// slot locates (when it lies in the input), then each used slot, then the header.
void reseal_pack(std::span<std::byte> bytes) {
    if (bytes.size() < pack::kHeaderSize) return;
    pack::Header h;
    std::memcpy(&h, bytes.data(), sizeof h);
    const std::uint64_t slots = std::min<std::uint64_t>(h.bucket_count, (bytes.size() - pack::kHeaderSize) / pack::kSlotSize);
    for (std::uint64_t i = 0; i < slots; ++i) {
        std::byte* at = bytes.data() + pack::kIndexOffset + i * pack::kSlotSize;
        pack::Slot s;
        std::memcpy(&s, at, sizeof s);
        if (s.key_hi == 0 && s.key_lo == 0) continue;
        const std::uint64_t arena_at = s.entry_offset + pack::kEntryPrefixSize;
        if (arena_at >= s.entry_offset && arena_at <= bytes.size() && s.arena_size <= bytes.size() - arena_at)
            fuzzing::reseal(bytes.subspan(arena_at, s.arena_size));
        s.slot_checksum = XXH3_64bits(at, pack::kSlotChecksumCoverage);
        std::memcpy(at, &s, sizeof s);
    }
    h.header_checksum = XXH3_64bits(bytes.data(), pack::kHeaderChecksumCoverage);
    std::memcpy(bytes.data(), &h, sizeof h);
}

// An arena handed back for `key` lies inside the pack, right after a copy of `key`.
void check_located(std::span<const std::byte> pack_bytes, std::span<const std::byte> arena, const CacheKey& key,
                   fuzzing::Sink& sink) {
    const auto* begin = pack_bytes.data();
    const auto* end = begin + pack_bytes.size();
    JDC_FUZZ_CHECK(arena.data() >= begin + pack::kHeaderSize + pack::kEntryPrefixSize && arena.data() <= end &&
                       arena.size() <= static_cast<std::size_t>(end - arena.data()),
                   "an arena span lies outside the pack");
    pack::EntryPrefix prefix;
    std::memcpy(&prefix, arena.data() - pack::kEntryPrefixSize, sizeof prefix);
    JDC_FUZZ_CHECK(prefix.key_hi == key.hi && prefix.key_lo == key.lo, "an arena was handed back under another key");
    for (std::byte b : arena) sink.mix(static_cast<std::uint64_t>(b));
}

void exercise(std::span<const std::byte> bytes, std::span<const CacheKey> extra_keys) {
    const auto header = verify_pack(bytes, VerifyLevel::header);
    const auto full = verify_pack(bytes, VerifyLevel::full);
    for (const auto* r : {&header, &full})
        if (!*r) fuzzing::check_rejection(r->error(), "verify_pack");
    if (!header) JDC_FUZZ_CHECK(!full, "verify(full) accepted what verify(header) rejected");

    auto view = PackView::open(bytes);
    JDC_FUZZ_CHECK(view.has_value() == header.has_value(), "PackView::open and verify_pack(header) disagree");
    if (!view) {
        JDC_FUZZ_CHECK(view.error().code == header.error().code && view.error().message == header.error().message,
                       "PackView::open and verify_pack(header) give different errors");
        return;
    }
    fuzzing::Sink sink;
    const bool valid = full.has_value();

    std::uint64_t entries = 0;
    for (std::uint64_t i = 0; i < view->bucket_count(); ++i) {
        auto slot = view->entry_at_slot(i);
        if (!slot) {
            JDC_FUZZ_CHECK(!valid, "verify(full) accepted a pack with an unreadable slot: " + slot.error().message);
            fuzzing::check_rejection(slot.error(), "entry_at_slot");
            continue;
        }
        if (!*slot) continue;
        ++entries;
        const PackEntry& e = **slot;
        JDC_FUZZ_CHECK(!e.key.is_zero(), "a used slot with the reserved zero key");
        check_located(bytes, e.arena, e.key, sink);
        auto found = view->find(e.key);
        if (valid) {
            JDC_FUZZ_CHECK(found && *found, "find() misses a key of a valid pack");
            JDC_FUZZ_CHECK((*found)->data() == e.arena.data() && (*found)->size() == e.arena.size(),
                           "find() and entry_at_slot() disagree on a valid pack");
            auto arena = ArenaView::open(e.arena);
            JDC_FUZZ_CHECK(arena.has_value(), "verify(full) accepted a pack whose arena does not open: " + arena.error().message);
            sink.mix(arena->entry_count());
        } else if (found && *found) {
            check_located(bytes, **found, e.key, sink);
        }
    }
    if (valid) JDC_FUZZ_CHECK(entries == view->entry_count(), "a valid pack holds another number of entries than entry_count");

    std::uint64_t visited = 0;
    auto walked = view->for_each_entry([&](const CacheKey& key, std::span<const std::byte> arena) {
        check_located(bytes, arena, key, sink);
        ++visited;
    });
    if (valid) JDC_FUZZ_CHECK(walked && visited == entries, "for_each_entry on a valid pack");

    auto zero = view->find(CacheKey{});
    JDC_FUZZ_CHECK(zero && !*zero, "the reserved zero key was found");
    for (const CacheKey& key : extra_keys) {
        auto found = view->find(key);
        if (found && *found) check_located(bytes, **found, key, sink);
        if (!found) fuzzing::check_rejection(found.error(), "find");
    }
    volatile std::uint64_t keep = sink.value();
    (void)keep;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::byte> raw(reinterpret_cast<const std::byte*>(data), size);
    // Keys a lookup may probe for: the ones at the start of the data area of a small
    // pack and in the last 16 bytes, wherever the mutations moved them.
    std::vector<CacheKey> keys;
    for (std::size_t at : {std::size_t{64 + 40 * 4}, std::size_t{64 + 40 * 8}, size >= 16 ? size - 16 : size}) {
        if (at + 16 > size) continue;
        CacheKey k;
        std::memcpy(&k.hi, data + at, 8);
        std::memcpy(&k.lo, data + at + 8, 8);
        keys.push_back(k);
    }
    exercise(raw, keys);
    if (size >= pack::kHeaderSize) {
        std::vector<std::byte> sealed(raw.begin(), raw.end());
        reseal_pack(sealed);
        exercise(sealed, keys);
    }
    return 0;
}
