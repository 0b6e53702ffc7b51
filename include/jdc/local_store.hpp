// jdc — the local cache store: a directory of arenas shared by many processes.
//
// Storage layer; knows nothing of builds. Layout of a store root (default
// `.janus_cache/dispatch_tables`), specified in format-spec/cache-directory-v1.md:
//
//   CACHEDIR.TAG                      marks the directory for backup tools
//   lock                              the inter-process lock (StoreLock)
//   index.jdci                        the cache index (CacheIndex)
//   objects/<2 hex>/<32 hex>.jdca     loose arenas, sharded by the key's first byte
//   packs/<name>.jdcp                 packs (many arenas, one file; see pack.hpp)
//   tmp/                              files being written (StagedFile)
//
// Guarantees:
//  - A published file is never truncated or rewritten: it is replaced by rename or
//    removed by unlink, so a reader that has it open or mapped keeps valid bytes.
//  - Readers never lock. Writers stage their file outside the lock and hold it only
//    for the rename and the index update; a batch of puts takes the lock once.
//  - Everything read is verified in full before it is returned; an entry that fails
//    verification is removed and counted (corrupt_drops), never returned.
//  - The size limit is a limit on the directory's size on disk (`du`): what eviction
//    counts against max_size_bytes is every live entry's bytes plus what holding it
//    in a pack costs (kPackBytesPerEntry), plus every file and directory that is not
//    an entry: the index, the cache layer's files at the root (stats, inputs log,
//    dependency state, read history), the lock files, the directories (the budget,
//    LocalStore::budget()). cache-directory-v1.md §2 rule 5 bounds what it leaves out.
//  - Eviction rule: size eviction removes least recently used entries, down to the
//    low-water mark, skipping those accessed within `reader_grace` (a reader that has
//    just found one in the index is about to open it) while the rest suffice; when
//    they do not, recently read entries go too, least recently used first, until the
//    budget fits the limit: the grace never holds the cache over its limit. Age
//    eviction removes entries not accessed for `max_age`. Packed entries are dropped
//    from the index; their bytes are reclaimed when the compactor rewrites the pack.
//  - A crash at any point loses nothing published: a stale temp file is removed after
//    `temp_grace` (at once if its writer's pid is gone); an index left dirty by a
//    crashed writer, missing or corrupt is rebuilt from the directory, with a message.
//  - Symlinks and non-regular files inside the store are refused, never followed:
//    reads open an entry with one openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) from
//    a descriptor of the root (no race; Linux 5.6+), elsewhere entry files are
//    opened with O_NOFOLLOW and objects/, tmp/, packs/, the shard and the lock file
//    are checked with lstat before each operation that goes through them, so a link
//    planted while a store is open is refused too (on those paths, one planted in
//    the instant between that check and the use is not caught).
//
// SIGBUS policy: jdc never truncates or rewrites a published file (see above), so a
// mapping made by jdc cannot lose its pages to jdc. Loose arenas up to 256 KiB are
// read() into private memory and are immune to anything done to the file afterwards;
// larger arenas and packs are mapped. If something outside jdc truncates a mapped
// file (a person, a sync tool, another machine on a network filesystem), touching the
// lost pages raises SIGBUS in the reader: that is outside the contract, and on
// network filesystems `load_mode = LoadMode::read` keeps loose arenas immune.
// tests/storage_local_store.cpp checks the read-mode half of this.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "jdc/arena_store.hpp"
#include "jdc/arena_view.hpp"
#include "jdc/detail/atomic_file.hpp"
#include "jdc/detail/cache_index.hpp"
#include "jdc/cache_key.hpp"
#include "jdc/export.hpp"
#include "jdc/loaded_arena.hpp"
#include "jdc/detail/mapped_pack.hpp"

namespace jdc {

inline constexpr std::uint64_t kNanosPerSecond = 1'000'000'000ull;

// What a packed entry costs besides its arena: the 16-byte key copy in front of it and
// its share of the pack's slot array (40-byte slots at a load of at least 3/8,
// pack-v1.md §8), rounded up. Eviction counts it for every entry, loose ones included
// (the compactor packs them).
inline constexpr std::uint64_t kPackBytesPerEntry = 128;
// A directory below objects/ is counted as one block of this size.
inline constexpr std::uint64_t kDirectoryBytes = 4096;
// What the directory may take on disk beyond max_size_bytes once a build session and
// the compaction it started have ended (cache-directory-v1.md §2 rule 5): the budget
// counts entries by size, while loose files and packs take whole blocks (up to one
// more each), until the compactor packs the loose ones. The 50-session churn test
// (cache_compactor_launch) holds the directory to the limit plus this.
inline constexpr std::uint64_t kDiskLimitSlack = 64 * 1024;

struct JDC_API StoreOptions {
    // The limit on the directory's size on disk, everything in it counted (see the
    // eviction rule above and LocalStore::budget()).
    std::uint64_t max_size_bytes = 100ull * 1024 * 1024;
    std::uint32_t low_water_percent = 80;  // size eviction stops at this share of max_size_bytes
    std::uint64_t max_age_ns = 7ull * 24 * 3600 * kNanosPerSecond;
    std::uint64_t cleanup_interval_ns = 24ull * 3600 * kNanosPerSecond;
    std::uint64_t reader_grace_ns = 60 * kNanosPerSecond;
    std::uint64_t temp_grace_ns = 3600 * kNanosPerSecond;
    Durability durability = Durability::no_sync;
    LoadMode load_mode = LoadMode::automatic;  // LoadMode::read on network filesystems (see SIGBUS policy)
    VerifyLimits limits;
    // Which loose arenas are written compressed (payload_codec.hpp): by default none,
    // so every entry is read or mapped in place. A compressed entry is decompressed on
    // every load (LoadedArena); packs always hold raw arenas, since they are mapped.
    CompressionPolicy compression = CompressionPolicy::off();
    bool automatic_maintenance = true;  // size eviction after puts, cleanup every interval
    // open() refuses a directory that is not empty and has neither a CACHEDIR.TAG nor
    // an index.jdci: it belongs to something else. True makes such a directory a cache
    // (`jdc init --force`).
    bool adopt_non_empty_directory = false;
    // Open the store only to read it: a cache this user cannot write (a CI image, a
    // shared read-only mount). Nothing is created, locked or written: lookups open
    // objects/<hh>/<key>.jdca, then the packs (a loose file shadows packed copies, as
    // in every store), and verify and key-check what they find as always; the index,
    // when there is one, is mapped privately (IndexAccess::read_only) for find(),
    // entries() and stats() only. Unreadable packs/ leaves the loose entries (logged).
    // Damaged entries are not dropped, counters not kept; every write (put, remove,
    // evict, cleanup, rebuild, clear, modify) fails with io.
    bool read_only = false;
    // Receives one line per notable event (index rebuilt, entry dropped, ...).
    // Default: nothing. The cache layer routes it to JANUS_CACHE_VERBOSE.
    std::function<void(const std::string&)> log;
};

// An arena loaded from the store. Its view stays valid as long as this object lives
// (it owns the file's bytes, or shares the mapping of the pack it came from).
class JDC_API StoredArena {
public:
    const ArenaView& view() const noexcept { return view_; }
    const CacheKey& key() const noexcept { return key_; }
    EntryLocation location() const noexcept { return location_; }
    // What keeps the view's bytes alive (a pack's mapping, a loose file's): share it to
    // hold the arena without holding this object.
    const std::shared_ptr<const void>& owner() const noexcept { return owner_; }

private:
    friend class LocalStore;
    StoredArena(CacheKey key, EntryLocation location, std::shared_ptr<const void> owner, ArenaView view)
        : key_(key), location_(location), owner_(std::move(owner)), view_(view) {}
    CacheKey key_;
    EntryLocation location_;
    std::shared_ptr<const void> owner_;
    ArenaView view_;
};

struct MaintenanceReport {
    std::uint64_t removed_by_age = 0;
    std::uint64_t removed_by_size = 0;
    std::uint64_t removed_invalid = 0;
    std::uint64_t removed_temp_files = 0;
    std::uint64_t bytes_freed = 0;
    std::uint64_t bytes_after = 0;
    std::uint64_t kept_in_grace = 0;  // over the low-water mark, but accessed within reader_grace
    std::uint64_t removed_in_grace = 0;  // of removed_by_size: read within reader_grace, removed to fit the limit
    std::uint64_t budget_after = 0;  // what the limit is compared with afterwards (LocalStore::budget())
};

// What eviction compares with max_size_bytes (LocalStore::budget()).
struct SizeBudget {
    std::uint64_t entry_bytes = 0;  // live entries: their sizes (the index's total_bytes)
    std::uint64_t pack_bytes = 0;   // kPackBytesPerEntry for each live entry
    std::uint64_t fixed_bytes = 0;  // allocated bytes of the files at the root (the index among them) and of the directories
    std::uint64_t total() const noexcept { return entry_bytes + pack_bytes + fixed_bytes; }
};

// What the cache directory takes on disk, by part: allocated bytes (st_blocks x 512),
// as `du` counts them, each file once.
struct DiskUsage {
    std::uint64_t loose = 0;        // objects/<hh>/<key>.jdca
    std::uint64_t packs = 0;        // packs/*.jdcp
    std::uint64_t index = 0;        // index.jdci
    std::uint64_t other_files = 0;  // every other file at the root: the cache layer's files, lock files, the tag
    std::uint64_t temporary = 0;    // tmp/
    std::uint64_t directories = 0;  // the directories themselves
    std::uint64_t foreign = 0;      // anything else below objects/ and packs/
    std::uint64_t total() const noexcept { return loose + packs + index + other_files + temporary + directories + foreign; }
};

// Walks the directory at `root` (O(files)), following no symlink. Errors: io.
JDC_API Result<DiskUsage> measure_disk_usage(const std::filesystem::path& root);

// What a get() is for.
enum class AccessMode : std::uint8_t {
    serve,    // a compiler's lookup: records the access, counts the hit or miss, drops damage
    inspect,  // tools (jdc inspect, the compactor): reads and verifies, changes nothing
};

// One file of the store, as listed by LocalStore::list_files().
struct StoreFile {
    std::filesystem::path path;
    FileIdentity identity;
    std::uint64_t size = 0;        // st_size
    std::uint64_t disk_bytes = 0;  // allocated: st_blocks * 512 (a tiny file still takes a block)
    std::uint64_t mtime_ns = 0;
    CacheKey key;                  // loose arenas: the key in the name; otherwise zero
};

// The files in the store's directories (section 1 of cache-directory-v1.md).
struct JDC_API StoreListing {
    std::vector<StoreFile> loose;      // well-named objects/<hh>/<key>.jdca, regular files
    std::vector<StoreFile> packs;      // packs/*.jdcp, regular files
    std::vector<StoreFile> temporary;  // tmp/*
    std::uint64_t foreign = 0;         // anything else in objects/ and packs/ (ignored)

    std::uint64_t loose_bytes() const noexcept;
    std::uint64_t pack_bytes() const noexcept;
    std::uint64_t disk_bytes() const noexcept;  // allocated, loose files and packs
};

// The files of the store at `root`, read without opening it (jdc validate must not
// let LocalStore::open repair what it is asked to report). Errors: io.
JDC_API Result<StoreListing> list_store_files(const std::filesystem::path& root);

struct ClearReport {
    std::uint64_t entries_removed = 0;
    std::uint64_t loose_files_removed = 0;
    std::uint64_t packs_removed = 0;
    std::uint64_t bytes_removed = 0;  // st_size of the files removed
};

// What LocalStore::prefetch asked the kernel to read ahead.
struct PrefetchReport {
    std::uint64_t entries = 0;     // packed entries found for the keys given
    std::uint64_t bytes = 0;       // their bytes in the packs (key copies included)
    std::uint64_t ranges = 0;      // read-ahead requests, after joining neighbouring entries
    std::uint64_t not_packed = 0;  // keys that are loose (read in one read() anyway) or absent
};

struct StoreStats {
    IndexSummary index;
    std::uint64_t max_size_bytes = 0;
    std::uint64_t pack_count = 0;
};

class JDC_API LocalStore {
public:
    // Opens the store at `root`, creating its directories when missing. Errors:
    // invalid_argument (`root` is not empty and not a cache, see
    // StoreOptions::adopt_non_empty_directory), io (permission denied, read-only
    // filesystem, a symlink or file where a directory belongs), and whatever
    // rebuilding a damaged index meets. With options.read_only, creates nothing and
    // takes any directory as it is: errors are not_found (no directory) and io (not a
    // directory, not readable, a link where a store directory belongs).
    static Result<LocalStore> open(const std::filesystem::path& root, StoreOptions options = {});

    LocalStore(LocalStore&&) noexcept;
    LocalStore& operator=(LocalStore&&) noexcept;
    ~LocalStore();

    // Publishes an arena under `key`, replacing any previous entry. The arena is
    // verified in full first (invalid_argument if it does not verify), then compressed
    // when options().compression says so; the index records the size on disk. io on a full
    // disk or permission error; the store is unchanged then.
    Result<void> put(const PutRequest& request);
    // Many puts under one lock acquisition and one index growth check. Stops at the
    // first failure; entries before it are published.
    Result<void> put_batch(std::span<const PutRequest> requests);

    // Many puts as one new pack (packs/<name>.jdcp) instead of one loose file each: one
    // file created, one lock acquisition, one index update, whatever the count. For
    // writers that produce many small arenas at once (a compiler's misses, flushed at
    // the end of a build session), where creating a file per arena costs more than
    // building it. Every arena is verified first (invalid_argument, nothing written);
    // packs hold raw arenas, so arenas that options().compression compresses are put
    // as loose compressed files instead (put_batch). A loose copy of a key is
    // superseded (removed). Keys must be distinct (invalid_argument otherwise).
    Result<void> put_packed(std::span<const PutRequest> requests);

    // The entry for `key`, verified. Errors: not_found (a miss), the verification
    // error of an entry that was just dropped for failing it, io.
    //
    // Readers keep answering while a compactor moves entries into packs: when the file
    // the index named is gone (not_found), the index is read again and the lookup
    // retried a few times; a packed entry is served only from a copy whose size and
    // creation time are the index's, so a superseded copy in an older pack is never
    // returned. With AccessMode::inspect nothing is recorded or dropped.
    Result<StoredArena> get(const CacheKey& key, AccessMode mode = AccessMode::serve);
    std::vector<Result<StoredArena>> get_batch(std::span<const CacheKey> keys);

    // Predictive loading: asks the kernel to read ahead, asynchronously
    // (POSIX_FADV_WILLNEED, MADV_WILLNEED), the index file, the slot arrays of the
    // packs, and the packed copies of `keys` (neighbours joined into one range when
    // less than 64 KiB apart), so that the lookups that follow find their pages in
    // memory or already on their way instead of reading them one fault at a time.
    // Loose entries are left out: each is read with one read() when asked for. Costs
    // one index probe and one pack probe per key; changes nothing; never fails.
    PrefetchReport prefetch(std::span<const CacheKey> keys);

    // Index lookup only (no file access).
    std::optional<IndexEntry> find(const CacheKey& key) const;
    std::vector<IndexEntry> entries() const;

    // Removes an entry; false when there was none.
    Result<bool> remove(const CacheKey& key);

    // Age and size eviction now (what automatic maintenance does after puts).
    Result<MaintenanceReport> evict();
    // What eviction counts against options().max_size_bytes now. O(files at the root
    // and shard directories); no lock.
    SizeBudget budget() const;
    // evict() plus removal of stale temporary files; records the cleanup time.
    Result<MaintenanceReport> cleanup();
    // Rebuilds the index from the files in the directory (loose and packed entries).
    Result<void> rebuild_index(const std::string& reason);

    // Removes every entry, loose and packed: the index is replaced by an empty one
    // (counters kept), then the files are unlinked, so a reader sees a miss, never a
    // half-removed entry, and one that has a file mapped keeps reading it. Foreign
    // files are left alone. Errors: io.
    Result<ClearReport> clear();

    // Runs `change` while holding the store's lock, with the index marked dirty (a
    // crash inside leaves it to be rebuilt): for structural changes made outside this
    // class, i.e. the compactor publishing a pack and jdc validate --fix. `change` may
    // rename and unlink files of the store and put/erase index entries of existing
    // keys (no room is reserved for new ones); others' puts wait for it, so it must be
    // quick. The set of mapped packs is re-read afterwards. Errors: io (the lock, a
    // damaged index that cannot be rebuilt), or what `change` returns.
    Result<void> modify(const std::function<Result<void>(CacheIndex&)>& change);

    // Lists the files in objects/, packs/ and tmp/ (symlinks and directories skipped).
    // O(files). Errors: io.
    Result<StoreListing> list_files() const;
    // Entries of the index that live in loose files. O(index capacity), no file access.
    std::uint64_t loose_entry_count() const;

    StoreStats stats() const;
    // Sets the index's counters (hits, misses, evictions, drops, bytes) to zero, for
    // every process at once (`jdc stats --zero`). Counts made meanwhile by others may
    // land on either side. Errors: io (no index can be mapped).
    Result<void> zero_counters();
    bool read_only() const noexcept { return options().read_only; }
    const std::filesystem::path& root() const noexcept;
    const StoreOptions& options() const noexcept;

    std::filesystem::path loose_path(const CacheKey& key) const;
    std::filesystem::path packs_directory() const;
    std::filesystem::path temp_directory() const;

private:
    struct State;
    explicit LocalStore(std::unique_ptr<State> state);
    static Result<LocalStore> open_read_only(std::unique_ptr<State> state);
    std::unique_ptr<State> s_;
};

static_assert(ArenaStore<LocalStore>);

}  // namespace jdc
