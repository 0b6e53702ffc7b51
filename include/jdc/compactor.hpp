// jdc — the compactor: rewrites a cache directory's loose arenas and packs into packs.
//
// Storage layer; knows nothing of builds. One run (compact_store):
//   1. takes `compactor.lock` (one compactor per cache directory at a time);
//   2. reads the index, the loose files and the packs (a snapshot; compilers go on
//      reading and writing meanwhile);
//   3. chooses the packs to rewrite: small ones, ones with many copies the index no
//      longer refers to (every one holding any, when the directory is over its size
//      limit: the only way evicted bytes in packs leave the disk), damaged ones, and
//      those the caller names;
//   4. passes every entry that goes into the new pack through one transform (reoptimize
//      below), verifies what it returns, and drops what is invalid, dangling or no
//      longer referenced;
//   5. writes the new pack to tmp/ (fsynced per the store's Durability), its arenas in
//      the order the last build sessions read them (the read history, then the rest
//      by key), then, holding the store lock: renames it into packs/, points the index
//      entries that have not changed since the snapshot at it, unlinks the packs it
//      replaces, then the loose files it absorbed, and removes shard directories
//      left empty. Entries that writers changed meanwhile are left as they are.
// Compressed loose arenas (large ones, payload_codec.hpp) stay loose: packs hold raw
// arenas, and packing one would multiply its bytes on disk by its compression ratio.
// format-spec/cache-directory-v1.md §5 specifies the protocol.
//
// Guarantees:
//  - Readers keep answering the same throughout: files are unlinked, never truncated
//    (a compiler with an old file mapped keeps reading it), and LocalStore::get follows
//    an entry from its loose file into the pack (see local_store.hpp).
//  - It can be killed at any moment and rerun: every state between two steps is a
//    valid cache directory, and the next run finishes the work (it removes the
//    temporary files of dead compactors, packs nothing refers to, loose files whose
//    entry has moved into a pack).
//  - The new pack holds each key once; the index is the authority on which copy is
//    current (a packed copy is current when its size and creation time are the index's).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "jdc/arena_view.hpp"
#include "jdc/detail/cache_index.hpp"
#include "jdc/export.hpp"
#include "jdc/local_store.hpp"

namespace jdc {

// The one place where the compactor rewrites an arena: returns the bytes to store for
// `entry`. An arena with a dispatch index gets it re-encoded as the current writer
// would (reoptimize_arena), or dropped when the table is below the size where the
// index beats the scan. Arenas without an index are kept as they are (computing one
// needs the compiler's type registry).
// What it returns is verified in full before it is stored; an error or invalid
// bytes keep the original arena.
JDC_API Result<std::vector<std::byte>> reoptimize(const ArenaView& arena, const IndexEntry& entry);

using ArenaTransform = std::function<Result<std::vector<std::byte>>(const ArenaView&, const IndexEntry&)>;

enum class CompactorLockMode : std::uint8_t {
    wait,      // jdc optimize: wait for a running compactor, then run
    try_only,  // the background compactor: if another runs, there is nothing to do
};

struct CompactionOptions {
    // Packs smaller than this are merged into the new pack.
    std::uint64_t small_pack_bytes = 8ull * 1024 * 1024;
    // A pack whose copies the index no longer refers to (evicted, superseded) make up
    // more than this share of its arena bytes is rewritten.
    std::uint32_t max_dead_percent = 25;
    // false: only the packs in `rewrite_packs` and damaged ones are rewritten; loose
    // files stay loose (jdc validate --fix repairing packs).
    bool pack_loose_files = true;
    bool merge_packs = true;  // the two rules above; false for repairs
    // jdc optimize: every pack is read and rewritten into one, laid out in read order,
    // every arena through the transform; unless that would change nothing (one pack
    // already in read order, no loose entries to pack, nothing to drop or re-optimize).
    bool rewrite_all = false;
    std::vector<std::filesystem::path> rewrite_packs;
    ArenaTransform transform = reoptimize;
    CompactorLockMode lock_mode = CompactorLockMode::wait;
    // Called with (entries done, entries to do) while entries are transformed.
    std::function<void(std::uint64_t, std::uint64_t)> progress;
};

enum class CompactionOutcome : std::uint8_t {
    compacted,      // a pack was written, or something was dropped or removed
    nothing_to_do,  // the store was already compact
    busy,           // another compactor holds compactor.lock (CompactorLockMode::try_only)
};

enum class DropReason : std::uint8_t {
    invalid,       // failed verification (counted in corrupt_drops)
    missing,       // indexed, but no file or pack copy holds it
    unreferenced,  // a copy the index does not refer to: evicted, superseded, orphaned
};
inline constexpr std::size_t kDropReasonCount = 3;
JDC_API std::string_view to_string(DropReason reason) noexcept;

struct DroppedEntry {
    CacheKey key;
    DropReason reason;
    std::string detail;  // the verification error, or where the copy was
};

struct JDC_API CompactionReport {
    CompactionOutcome outcome = CompactionOutcome::nothing_to_do;
    std::uint64_t entries_read = 0;       // arenas read and verified (loose and packed)
    std::uint64_t entries_rewritten = 0;  // the transform returned other bytes
    std::uint64_t entries_packed = 0;     // in the new pack
    std::uint64_t loose_packed = 0;       // of those, from loose files
    std::uint64_t transform_failures = 0; // kept as they were (error or invalid output)
    std::uint64_t changed_meanwhile = 0;  // written or removed by others during the run: left alone
    std::vector<DroppedEntry> dropped;
    std::uint64_t packs_before = 0, packs_after = 0;
    std::uint64_t loose_before = 0, loose_after = 0;
    std::uint64_t bytes_before = 0, bytes_after = 0;            // st_size of loose files and packs
    std::uint64_t disk_bytes_before = 0, disk_bytes_after = 0;  // allocated
    std::uint64_t duration_ns = 0;
    std::uint64_t lock_held_ns = 0;  // the commit: what writers of the cache may have waited
    std::uint64_t loose_compressed_kept = 0;  // compressed loose arenas left loose
    std::int64_t rewrite_delta_bytes = 0;     // bytes the transform added (> 0) or saved (< 0) over the arenas it rewrote
    bool over_limit = false;                  // the directory was over its size limit: every pack with dead copies rewritten
    bool in_read_order = false;               // the new pack follows the read history (there was one)
    std::filesystem::path new_pack;  // empty when none was written

    std::uint64_t dropped_for(DropReason reason) const noexcept;
};

// One compaction of `store`. Errors: io (locks, listing, writing the pack; the store is
// unchanged then), limit_exceeded (a pack larger than PackLimits allows).
JDC_API Result<CompactionReport> compact_store(LocalStore& store, const CompactionOptions& options = {});

// The compactor's lock file in a store root; held for a whole run.
JDC_API std::filesystem::path compactor_lock_path(const std::filesystem::path& store_root);

}  // namespace jdc
