// jdc — source-file content hashes, the import graph, and what changed since last time.
//
// Cache layer, and it knows nothing of dispatch tables: the build cache manager asks it
// for the hash of a file and of everything that file imports (an input of the cache
// key), for the files affected by a change, and for an explanation of a miss ("source
// changed: which file, and how").
//
// Caveats (read these before using it):
//
// - **Builds.** Call begin_build() at the start of every build. Within one build a file
//   is stat()ed at most once: its hash is memoised until the next begin_build(), so a
//   file edited during a build is seen by the next build (the racy rule below makes
//   sure of that), not by the current one. A tracker that never sees begin_build()
//   again never looks at the disk again for files it has already hashed.
// - **Stat cache.** A file whose (size, mtime, ctime, inode, device) equal those of its
//   cached entry, and whose entry is not racy, is not opened: its cached hash is used.
//   ctime is compared in addition to the four obvious fields because tools that rewrite
//   a file and then restore its mtime (rsync --inplace, cp -p, touch -r) cannot restore
//   ctime.
// - **Racy timestamps** (as in ccache and Zig; the `racy` flag of
//   format-spec/dependency-state-v1.md §4). A file hashed in a build whose mtime or
//   ctime is at or after that build's start may still change within the same
//   timestamp granule without its stat changing; its entry is marked racy and the
//   file is re-read by the next build even if its stat is unchanged.
//   begin_build() without an argument uses the coarse real-time clock floored to a
//   whole second, the clock the kernel stamps files with, so a filesystem with
//   one-second timestamps is covered too. Real-time clock steps backwards are not.
// - **Paths** are made absolute (against the current directory at the time of the
//   call) and lexically normal: "a/../b.jn" and "b.jn" are one file. Symlinks are not
//   resolved, so two different paths to one file are two files (each hashed correctly).
// - **Imports** are whatever the caller last passed to set_imports(). They must be a
//   function of the file's content (and of configuration that is part of the cache key
//   elsewhere): then a file whose imports changed has itself changed, so a stale graph
//   can never hide a change from transitive_hash().
// - **Not thread-safe.** One tracker per build process, used from one thread at a time.
//
// Persistence: load()/save() keep the stat cache and the import graph between builds in
// one small binary file (format-spec/dependency-state-v1.md). It is derived data: a
// missing file is an empty state, a damaged one is an empty state plus a warning.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "jdc/detail/atomic_file.hpp"
#include "jdc/cache_key.hpp"
#include "jdc/error.hpp"
#include "jdc/export.hpp"

namespace jdc {

// A 128-bit XXH3 digest: `hi` = high64, `lo` = low64 of XXH128_hash_t, so to_hex() is
// XXH3-128's canonical (big-endian) hex form. The same value type as a cache key, since
// cache keys are computed from these.
using ContentHash = CacheKey;

// One file's cached stat and hash, as kept by the stat cache and the state file.
struct StatCacheEntry {
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;  // st_mtim in ns since the Unix epoch
    std::int64_t ctime_ns = 0;  // st_ctim in ns since the Unix epoch
    std::uint64_t inode = 0;
    std::uint64_t device = 0;
    ContentHash hash;           // XXH3-128 of the file's bytes
    bool racy = false;          // re-read next build even if the stat matches
};

// A file and its content hash (absolute, lexically normal path).
struct FileHash {
    std::filesystem::path path;
    ContentHash hash;
};

// Counters since construction; tests assert "not re-read" with them.
struct DependencyMetrics {
    std::uint64_t memo_hits = 0;        // hash already known in this build: no system call
    std::uint64_t stat_calls = 0;       // stat() calls made
    std::uint64_t stat_cache_hits = 0;  // stat matched a non-racy entry: file not opened
    std::uint64_t files_read = 0;       // files opened and hashed (first time, changed or racy)
    std::uint64_t racy_rereads = 0;     // of files_read: stat matched, but the entry was racy
    std::uint64_t bytes_read = 0;       // bytes hashed
};

enum class FileChange : std::uint8_t {
    unchanged,
    content_changed,  // exists, and its content hash differs from the recorded one
    deleted,          // was recorded, no longer exists
    added,            // exists, was not recorded
    unreadable,       // exists but cannot be hashed (permission, not a regular file, I/O)
};

JDC_API std::string_view to_string(FileChange change) noexcept;

// One line of an explanation: which file, how, and the two hashes.
struct ChangedFile {
    std::filesystem::path path;
    FileChange change = FileChange::unchanged;
    std::optional<ContentHash> previous;  // the recorded hash, if any
    std::optional<ContentHash> current;   // the hash now, if the file could be hashed
    std::string detail;                   // for `unreadable`: the error message
};

enum class StateLoadStatus : std::uint8_t {
    loaded,     // the state file was read and used
    missing,    // no state file: empty state, nothing to report
    discarded,  // unreadable or damaged: empty state, `warning` says why
};

struct StateLoad {
    StateLoadStatus status = StateLoadStatus::missing;
    std::optional<ErrorCode> reason;  // for `discarded`: the error class of the failure
    std::string warning;              // for `discarded`: one line for the caller to log
};

struct DependencyTrackerOptions {
    // When set, transitive_hash() names files under this directory by their path
    // relative to it, so checkouts of one project in different places share hashes
    // (and cache entries). Files elsewhere are named by their absolute path. Empty:
    // every file by its absolute path. Made absolute and normal like any other path.
    std::filesystem::path base_directory;
};

class JDC_API DependencyTracker {
public:
    // Limits of the state file and of what the tracker accepts (load enforces them on
    // untrusted bytes; the API enforces them so that everything it holds can be saved).
    static constexpr std::size_t kMaxPathBytes = 4096;              // PATH_MAX
    static constexpr std::uint32_t kMaxFiles = 1u << 20;            // files in a state file
    static constexpr std::uint64_t kMaxStateFileBytes = 256ull << 20;

    // Starts as if begin_build() had been called.
    explicit DependencyTracker(DependencyTrackerOptions options = {});
    ~DependencyTracker();
    DependencyTracker(DependencyTracker&&) noexcept;
    DependencyTracker& operator=(DependencyTracker&&) noexcept;
    DependencyTracker(const DependencyTracker&) = delete;
    DependencyTracker& operator=(const DependencyTracker&) = delete;

    // ---- Builds ----------------------------------------------------------------------

    // Starts a build at `start_ns` (ns since the Unix epoch, on the clock that stamps
    // file times): forgets this build's memoised hashes; files hashed from now on whose
    // mtime or ctime is >= start_ns are marked racy.
    void begin_build(std::int64_t start_ns);
    // Same, at CLOCK_REALTIME_COARSE floored to a whole second.
    void begin_build();
    std::int64_t build_start_ns() const noexcept;

    // ---- Content hashes ----------------------------------------------------------------

    // XXH3-128 of the file's bytes, from the stat cache when the stat matches a non-racy
    // entry, else by reading the file. Memoised until the next begin_build().
    // Errors: invalid_argument (empty path, NUL byte), limit_exceeded (path longer than
    // kMaxPathBytes), not_found (no such file; its stat cache entry is dropped),
    // io (permission denied, not a regular file, read failure), each naming the path
    // and the reason.
    Result<ContentHash> content_hash(const std::filesystem::path& file);

    // The stat cache entry of a file, if it has one (no system call).
    std::optional<StatCacheEntry> cached_entry(const std::filesystem::path& file) const;

    // ---- Import graph ----------------------------------------------------------------

    // Replaces the direct imports of `file` (duplicates ignored; a file may import
    // itself). Errors: those of normalize(), for `file` or any import; on error nothing
    // changes.
    Result<void> set_imports(const std::filesystem::path& file, std::span<const std::filesystem::path> imports);
    // Direct imports of `file`, sorted; empty for a file the graph does not know.
    std::vector<std::filesystem::path> imports_of(const std::filesystem::path& file) const;
    // `file` first, then everything reachable from it through imports, sorted by path.
    // Cycle-safe. No system calls. Errors: those of normalize().
    Result<std::vector<std::filesystem::path>> transitive_dependencies(const std::filesystem::path& file) const;
    // The transitive dependencies with their content hashes, sorted by path: the inputs
    // of transitive_hash(). Record them with a cache entry to explain a later miss with
    // changes_since(). Errors: those of content_hash() for any of them; a missing
    // dependency is not_found naming it and the file that (transitively) imports it.
    Result<std::vector<FileHash>> transitive_file_hashes(const std::filesystem::path& file);
    // XXH3-128 over the name of `file` and the sorted (name, content hash) pairs of its
    // transitive dependencies (encoding: format-spec/dependency-state-v1.md §6). Changes
    // when the file or anything it imports, transitively, changes content, or a file
    // enters or leaves the closure. Files of one import cycle share a closure but not a
    // hash, since the root's name is hashed too. Names: see base_directory.
    // Errors: those of transitive_file_hashes().
    Result<ContentHash> transitive_hash(const std::filesystem::path& file);
    // Every file that imports `file`, directly or transitively (who must be rebuilt
    // when it changes), sorted by path; `file` itself is not included. No system calls.
    // Errors: those of normalize().
    Result<std::vector<std::filesystem::path>> dependents_of(const std::filesystem::path& file) const;
    // Drops the file's imports and stat cache entry (files that import it still do).
    void forget(const std::filesystem::path& file);

    // ---- Explaining changes ------------------------------------------------------------

    // Whether `file` differs from `previous` (nullopt: nothing was recorded for it):
    // unchanged, content_changed, deleted or added. Errors: not_found when the file
    // neither exists nor was recorded; otherwise those of content_hash() but not_found.
    Result<FileChange> compare(const std::filesystem::path& file, std::optional<ContentHash> previous);
    // For each recorded (path, hash), whether and how the file differs now: only the
    // differing ones (content_changed, deleted, unreadable), sorted by path.
    std::vector<ChangedFile> changes_since(std::span<const FileHash> previous);
    // Differences since the last load() or save(): every file whose hash was recorded
    // then or has been computed since, and that changed, was deleted, was added (hashed
    // since, not recorded then) or cannot be read now, sorted by path. Files known only
    // as names in the import graph are not hashed for this.
    std::vector<ChangedFile> changed_files();

    // ---- Persistence -------------------------------------------------------------------

    // Replaces the whole state (stat cache, import graph, the baseline of
    // changed_files()) with the one in `state_file`. Never fails: a missing file gives
    // an empty state; an unreadable, damaged, truncated or other-version file gives an
    // empty state and a warning naming the file and the failure.
    StateLoad load(const std::filesystem::path& state_file);
    // The same from bytes in memory (the file's whole content).
    StateLoad load_bytes(std::span<const std::byte> bytes);
    // Publishes the state with write_file_atomically (temp file + rename) and makes it
    // the baseline of changed_files(). Errors: those of write_file_atomically, and
    // limit_exceeded when the state has more than kMaxFiles files.
    Result<void> save(const std::filesystem::path& state_file, Durability durability = Durability::no_sync);
    // The bytes save() would write. Errors: limit_exceeded, as save().
    Result<std::vector<std::byte>> to_bytes() const;

    // ---- Metrics -----------------------------------------------------------------------

    const DependencyMetrics& metrics() const noexcept;

    // Absolute (against the current directory) and lexically normal, without a trailing
    // separator. Errors: invalid_argument (empty, or containing a NUL byte),
    // limit_exceeded (longer than kMaxPathBytes), io (no current directory).
    static Result<std::filesystem::path> normalize(const std::filesystem::path& file);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace jdc
