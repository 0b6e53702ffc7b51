// jdc — packs: many arenas in one immutable file, found through an on-disk hash index.
//
// A compiler maps its whole cache with one mmap, and opening costs the same for 10
// tables or 100,000: PackView::open checks the 64-byte header only (O(1)), and a
// lookup probes the hash index from the key's home bucket (O(1) expected), checking
// exactly the slots it reads. Layout: include/jdc/pack_format.hpp (grammar) and
// format-spec/pack-v1.md (normative).
//
// Format layer: pure, no I/O. MappedPack (mapped_pack.hpp) maps pack files.
//
// Caveats
// - A lookup LOCATES an arena; it does not verify it. The span it returns holds
//   untrusted bytes until ArenaView::open (verify full) accepts them. What a lookup
//   does guarantee: the slot it used is intact (checksum), the arena lies inside the
//   pack's data area, and the key copied in front of the arena is the key asked for,
//   so a damaged index can never hand back another key's table.
// - Corruption is an error, never a silent miss, for every slot a lookup reads.
//   Damage to slots a lookup does not read is only found by verify_pack(full)
//   (what `jdc validate` runs) or by the lookups that read them.
// - Lifetime: a PackView and every span it returns point into the bytes it was
//   opened on; they are valid only while those bytes stay alive and unchanged (for a
//   file: while the MappedPack that owns the mapping lives).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "jdc/arena_verify.hpp"
#include "jdc/cache_key.hpp"
#include "jdc/error.hpp"
#include "jdc/export.hpp"
#include "jdc/pack_format.hpp"

namespace jdc {

// Reader policy for packs (the arenas inside have their own VerifyLimits).
struct PackLimits {
    std::uint64_t max_total_size = std::uint64_t{1} << 36;  // 64 GiB; for files also the file-size cap
    std::uint64_t max_bucket_count = std::uint64_t{1} << 28;  // 10 GiB of index; ~200 M entries
};

// One arena to put into a pack, under its key. The bytes are copied by build_pack.
struct PackInput {
    CacheKey key;
    std::span<const std::byte> arena;
};

// One arena found in a pack: its key and a view of its (unverified) bytes.
struct PackEntry {
    CacheKey key;
    std::span<const std::byte> arena;
};

// Where build_pack puts the arenas in the data area (readers do not depend on it,
// format-spec/pack-v1.md §8).
enum class PackDataOrder : std::uint8_t {
    slots,  // in slot order: iterating the index reads the data front to back
    given,  // in the order of `entries`: the compactor's, the order the last builds read them
};

// Builds the bytes of a pack holding `entries`. Deterministic: the output depends
// only on the set of (key, arena bytes) pairs and `created_at_ns` (written as given;
// nanoseconds since the Unix epoch), not on the order of `entries` (with
// PackDataOrder::given, the data area follows that order; the index does not).
// Errors (all invalid_argument): a zero key (reserved), a key given twice, an arena
// that fails verify_arena(header) (junk is refused at the door; the O(size) check is
// left to readers), or a pack that readers with default PackLimits would refuse.
JDC_API Result<std::vector<std::byte>> build_pack(std::span<const PackInput> entries, std::uint64_t created_at_ns,
                                                  PackDataOrder data_order = PackDataOrder::slots);

// The file name of a pack in a store's packs/ directory: "<32 hex digits>.jdcp", the
// XXH3-128 of its bytes, so writers never collide and a name says what it holds.
JDC_API std::string pack_file_name(std::span<const std::byte> pack_bytes);

class JDC_API PackView {
public:
    // Checks the header (O(1), no scan of the index; format-spec/pack-v1.md §7.2)
    // and wraps `bytes`, which must outlive the view and every span it returns.
    // Errors: bad_magic, truncated, unsupported_version, checksum_mismatch, corrupt,
    // limit_exceeded; the message names the field and values.
    static Result<PackView> open(std::span<const std::byte> bytes, const PackLimits& limits = {});

    // Looks `key` up: O(1) expected, at most bucket_count probes.
    // Returns the arena's bytes (a span into the pack, valid as long as the pack's
    // bytes are: see the Caveats), or nullopt if the pack does not hold `key` (the
    // zero key is never held). Errors: checksum_mismatch for a damaged slot on the
    // probe path, corrupt for a slot that is not well formed, points outside the
    // data area or at an entry of another key. The arena bytes are NOT verified:
    // pass them to ArenaView::open.
    Result<std::optional<std::span<const std::byte>>> find(const CacheKey& key) const;

    // The entry in slot `index` (< bucket_count()), checked like a lookup checks it;
    // nullopt for an empty slot. Spans valid as long as the pack's bytes are.
    Result<std::optional<PackEntry>> entry_at_slot(std::uint64_t index) const;

    // Calls visit(CacheKey, std::span<const std::byte> arena) for every entry, in slot
    // order (for repacking and validation). Stops at, and returns, the first damaged
    // slot. The spans are unverified arenas valid as long as the pack's bytes are.
    template <class Visit>
    Result<void> for_each_entry(Visit&& visit) const {
        for (std::uint64_t i = 0; i < header_.bucket_count; ++i) {
            auto entry = entry_at_slot(i);
            if (!entry) return tl::unexpected(entry.error());
            if (*entry) visit((*entry)->key, (*entry)->arena);
        }
        return {};
    }

    std::span<const std::byte> bytes() const noexcept { return bytes_; }
    const pack::Header& header() const noexcept { return header_; }
    std::uint64_t entry_count() const noexcept { return header_.entry_count; }
    std::uint64_t bucket_count() const noexcept { return header_.bucket_count; }
    std::uint64_t created_at_ns() const noexcept { return header_.created_at_ns; }
    std::uint16_t version_minor() const noexcept { return header_.version_minor; }

private:
    PackView(std::span<const std::byte> bytes, const pack::Header& header) : bytes_(bytes), header_(header) {}
    std::span<const std::byte> bytes_;
    pack::Header header_;
};

// Verifies untrusted pack bytes and reports the first problem (format-spec/pack-v1.md §7).
//   header: what PackView::open checks. O(1).
//   full:   header, then every slot (checksum, shape, bounds, key prefix, reachable
//           from its home bucket, no key twice), the count of entries, no two entries
//           overlapping, and verify_arena(full, arena_limits) of every arena. O(size).
// Errors: as PackView::open and find, plus every error of verify_arena (its message
// prefixed with the slot and key).
JDC_API Result<void> verify_pack(std::span<const std::byte> bytes, VerifyLevel level, const VerifyLimits& arena_limits = {},
                                 const PackLimits& limits = {});

}  // namespace jdc
