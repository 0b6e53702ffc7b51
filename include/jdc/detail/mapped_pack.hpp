// jdc — a pack file mapped read-only: one mmap for a whole cache of arenas.
//
// Storage layer. Opening = open + fstat + mmap (Boost.Interprocess file_mapping +
// mapped_region, read-only) + the O(1) header check of PackView::open. Nothing is
// read or verified in proportion to the number of entries: a pack of 100,000
// tables opens as fast as one of 10, and each lookup touches only the index slots
// it probes and the pages of the arena it returns.
//
// Caveats
// - Lifetime: every span returned by find(), for_each_entry() and bytes(), and the
//   PackView returned by view(), point into the mapping. They are valid exactly as
//   long as this MappedPack lives (moving it keeps them valid: the mapping does not
//   move). Copy bytes out to keep them longer.
// - Lookups locate arenas without verifying them: open the returned bytes with
//   ArenaView::open (which verifies in full) before reading them.
// - The file must never be truncated or rewritten in place while mapped (touching a
//   page past a truncated end raises SIGBUS). jdc never does either: packs are
//   published whole with write_file_atomically and replaced by rename().
//
// Unstable: a storage internal. It is installed (under jdc/detail/) only because a
// public header uses its FileIdentity: StoreFile in local_store.hpp. It may change in
// any release; include local_store.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <utility>

#include "jdc/pack.hpp"

namespace jdc {

// Which file a name pointed at (st_dev, st_ino): a file replaced by rename() under the
// same name has another identity.
struct FileIdentity {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    bool operator==(const FileIdentity&) const = default;
};

class MappedPack {
public:
    // Maps `path` and checks the pack header. Errors: not_found (no such file), io
    // (not a regular file, permission, map failure), truncated (empty file),
    // limit_exceeded (file larger than limits.max_total_size: checked before
    // mapping), and every error of PackView::open; messages name the file.
    static Result<MappedPack> open(const std::filesystem::path& path, const PackLimits& limits = {});

    MappedPack(MappedPack&&) noexcept;
    MappedPack& operator=(MappedPack&&) noexcept;
    ~MappedPack();

    // The arena stored under `key` (a span into the mapping: valid while this
    // MappedPack lives; unverified, see Caveats), nullopt if absent, or the error
    // of PackView::find (checksum_mismatch / corrupt) naming the file.
    Result<std::optional<std::span<const std::byte>>> find(const CacheKey& key) const;

    // Calls visit(CacheKey, std::span<const std::byte> arena) for every entry in slot
    // order; the spans are valid while this MappedPack lives. Stops at the first
    // damaged slot and returns its error.
    template <class Visit>
    Result<void> for_each_entry(Visit&& visit) const {
        return view_.for_each_entry(std::forward<Visit>(visit));
    }

    // verify_pack(full) over the mapped bytes (reads the whole file).
    Result<void> verify(const VerifyLimits& arena_limits = {}) const;

    // Asks the kernel to read bytes [offset, offset + length) of the file ahead
    // (madvise MADV_WILLNEED on the mapping, widened to whole pages; clipped to the
    // pack): asynchronous, so a later touch finds them read or in flight. False when
    // the kernel refused (the pages are then read on touch, as without it).
    bool advise_willneed(std::uint64_t offset, std::uint64_t length) const noexcept;

    // Valid while this MappedPack lives.
    const PackView& view() const noexcept { return view_; }
    std::span<const std::byte> bytes() const noexcept { return view_.bytes(); }
    std::uint64_t entry_count() const noexcept { return view_.entry_count(); }
    std::uint64_t created_at_ns() const noexcept { return view_.created_at_ns(); }
    const std::filesystem::path& path() const noexcept;
    // The file that was mapped (it may have been unlinked or replaced since).
    FileIdentity file_identity() const noexcept;

private:
    struct Storage;
    MappedPack(std::unique_ptr<Storage> storage, PackView view);
    std::unique_ptr<Storage> storage_;
    PackView view_;
};

}  // namespace jdc
