// jdc — the cache index: O(1) metadata lookup for every entry of a cache directory.
//
// Storage layer. One file, `index.jdci`, mapped read-write and shared by every
// process using the cache. It is an open-addressing hash table (linear probing on the
// key's low bits) of 64-byte slots holding the seed's cache-entry metadata: key, size,
// creation time, last access, access count, format version, optimization config hash
// and where the entry lives (loose file or pack). Totals and counters sit in the
// header, so `stats`, LRU and size limits never scan the directory.
// format-spec/cache-directory-v1.md specifies the bytes.
//
// Concurrency contract:
//  - Structural changes (insert, erase, counters of bytes and entries, the dirty flag)
//    happen only under the store's lock (StoreLock).
//  - Readers take no lock. They read slots by copying them and checking the slot
//    checksum, so a slot torn by a concurrent writer reads as absent, never as wrong
//    metadata; the entry's own bytes are verified anyway before use.
//  - Access tracking (last access, access count) and the hit/miss counters are
//    updated by readers with lock-free atomics on the shared mapping: no lock, no
//    fsync, no write() on the read path. They are statistics: a crash may lose the
//    last few updates, never an entry.
//  - A writer that needs a bigger table writes a new file, renames it into place and
//    marks the old mapping `retired`; every user checks `retired()` and reopens.
//  - A writer sets `dirty` before a structural change and clears it after. A dirty
//    index found while nobody holds the lock was left by a crashed writer; the store
//    then rebuilds it from the directory.
//
// Unstable: a storage internal. It is installed (under jdc/detail/) only because
// public headers use its types: LocalStore's entries() and modify(), the compactor's
// transform. It may change in any release; include local_store.hpp or compactor.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

#include "jdc/cache_key.hpp"
#include "jdc/error.hpp"

namespace jdc {

namespace index_format {

inline constexpr std::uint32_t kMagic = 0x4943444Au;  // bytes "JDCI"
inline constexpr std::uint16_t kVersionMajor = 1;
inline constexpr std::uint16_t kVersionMinor = 0;
inline constexpr std::uint64_t kMinCapacity = 64;
inline constexpr std::uint64_t kMaxCapacity = std::uint64_t{1} << 26;

struct Header {
    std::uint32_t magic;
    std::uint16_t version_major;
    std::uint16_t version_minor;
    std::uint32_t slot_size;
    std::uint32_t retired;         // atomic: 1 once a newer index file replaced this one
    std::uint64_t capacity;        // slots; a power of two
    std::uint64_t live_count;      // writer-only
    std::uint64_t tombstone_count; // writer-only
    std::uint64_t total_bytes;     // writer-only: sum of live entries' sizes
    std::uint64_t created_ns;
    std::uint64_t last_cleanup_ns; // writer-only
    std::uint32_t dirty;           // atomic: a structural change is in progress
    std::uint32_t reserved0;
    std::uint64_t hits;            // atomic counters from here on
    std::uint64_t misses;
    std::uint64_t evictions;
    std::uint64_t corrupt_drops;
    std::uint64_t stale_drops;
    std::uint64_t bytes_written;
    std::uint64_t bytes_read;
    std::uint64_t reserved[8];     // pads the header to 192 bytes: slots start cache-line aligned
};
static_assert(sizeof(Header) == 192);
static_assert(offsetof(Header, capacity) == 16 && offsetof(Header, dirty) == 64 && offsetof(Header, hits) == 72);

struct Slot {
    std::uint64_t key_hi;
    std::uint64_t key_lo;
    std::uint64_t size;
    std::uint64_t created_ns;
    std::uint64_t config_hash;
    std::uint32_t format_version;  // arena major << 16 | minor
    std::uint8_t state;            // 0 empty, 1 live, 2 tombstone
    std::uint8_t location;         // EntryLocation
    std::uint16_t reserved;
    std::uint64_t last_access_ns;  // atomic, outside the checksum
    std::uint32_t access_count;    // atomic, outside the checksum
    std::uint32_t checksum;        // low 32 bits of XXH3_64bits(bytes [0, 48))
};
static_assert(sizeof(Slot) == 64);
static_assert(offsetof(Slot, state) == 44 && offsetof(Slot, last_access_ns) == 48 && offsetof(Slot, checksum) == 60);
inline constexpr std::size_t kSlotChecksumCoverage = offsetof(Slot, last_access_ns);

inline constexpr std::uint8_t kEmpty = 0, kLive = 1, kTombstone = 2;

}  // namespace index_format

enum class EntryLocation : std::uint8_t { loose = 0, packed = 1 };

struct IndexEntry {
    CacheKey key;
    std::uint64_t size = 0;
    std::uint64_t created_ns = 0;
    std::uint64_t last_access_ns = 0;
    std::uint32_t access_count = 0;
    std::uint32_t format_version = 0;
    std::uint64_t config_hash = 0;
    EntryLocation location = EntryLocation::loose;
};

enum class IndexCounter : std::uint8_t { hits, misses, evictions, corrupt_drops, stale_drops, bytes_written, bytes_read };

struct IndexSummary {
    std::uint64_t capacity = 0, live_count = 0, tombstone_count = 0, total_bytes = 0;
    std::uint64_t created_ns = 0, last_cleanup_ns = 0;
    std::uint64_t hits = 0, misses = 0, evictions = 0, corrupt_drops = 0, stale_drops = 0, bytes_written = 0, bytes_read = 0;
    bool dirty = false;
};

// How an index is mapped.
enum class IndexAccess : std::uint8_t {
    shared,     // read-write, shared with every process: the store's own use
    read_only,  // the file opened read-only and mapped private (copy-on-write), for a
                // store opened read-only (a cache this user cannot write): access
                // tracking and counters change this process's copy, never the file
};

class CacheIndex {
public:
    // Maps an existing index file. Errors: not_found (no file), io, and bad_magic /
    // unsupported_version / truncated / corrupt when the file cannot be trusted (the
    // store then rebuilds it).
    static Result<CacheIndex> open(const std::filesystem::path& file, IndexAccess access = IndexAccess::shared);

    // Writes a new index holding `entries` (capacity chosen for them, at least
    // `min_capacity`) and atomically puts it at `file`. The caller holds the store
    // lock. Counters are carried over from `counters_from` when given.
    // The temporary file is staged in `staging_dir` (same filesystem as `file`).
    static Result<void> write_new(const std::filesystem::path& file, const std::filesystem::path& staging_dir,
                                  const std::vector<IndexEntry>& entries, std::uint64_t min_capacity,
                                  const IndexSummary* counters_from, std::uint64_t last_cleanup_ns);

    CacheIndex(CacheIndex&&) noexcept;
    CacheIndex& operator=(CacheIndex&&) noexcept;
    ~CacheIndex();

    // --- any thread, any process, no lock ---
    std::optional<IndexEntry> find(const CacheKey& key) const noexcept;
    void record_access(const CacheKey& key, std::uint64_t now_ns) noexcept;
    void add(IndexCounter counter, std::uint64_t n = 1) noexcept;
    // Every counter back to zero (lock-free, like add: no lock needed).
    void reset_counters() noexcept;
    IndexSummary summary() const noexcept;
    bool retired() const noexcept;
    // True when `file` (still) names the file this index mapped. A writer checks it
    // under the lock: a replacement whose writer died before marking this mapping
    // retired, or a deleted index, is caught here.
    bool is_file_at(const std::filesystem::path& file) const noexcept;
    // Every live entry (a consistent-enough snapshot for statistics and eviction).
    std::vector<IndexEntry> entries() const;

    // --- only while holding the store lock ---
    // False when the table is too full: the caller rebuilds with write_new().
    bool has_room_for(std::uint64_t new_entries) const noexcept;
    // Inserts or replaces the entry for entry.key. Requires has_room_for(1). False
    // when no slot was free after all: has_room_for() trusts the header's counts, and
    // a damaged (torn, never fsynced) index can hold more live slots than they say.
    // The caller then rebuilds the index from the directory.
    [[nodiscard]] bool put(const IndexEntry& entry) noexcept;
    // Removes the entry; returns its metadata, or nullopt if absent. Afterwards find()
    // misses it even in a damaged index that held it twice. The header's counts never
    // wrap below zero, even when they understate the live slots.
    std::optional<IndexEntry> erase(const CacheKey& key) noexcept;
    void set_dirty(bool dirty) noexcept;
    void mark_retired() noexcept;
    void set_last_cleanup(std::uint64_t ns) noexcept;

private:
    struct Mapping;
    explicit CacheIndex(std::unique_ptr<Mapping> m);
    std::unique_ptr<Mapping> m_;
};

}  // namespace jdc
