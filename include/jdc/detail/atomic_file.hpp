// jdc — publishing a file so that readers see either nothing or all of it.
//
// Storage layer. A StagedFile is written to a temporary file ("<name>.tmp.<pid>.<rand>",
// beside the target or in a staging directory on the same filesystem), with the space
// reserved by posix_fallocate first (a full disk fails there, with a clear error,
// instead of later), optionally fsynced; publish() then rename()s it over the target.
// Staging and publishing are separate so a store can write outside its lock and hold
// the lock only for the rename and its index update. A published file is never
// truncated or rewritten afterwards, so a reader's mapping of it stays valid. On any
// failure, or when a StagedFile is destroyed unpublished, the temporary file is
// removed and the target is untouched. Temporary names carry the writer's pid, so
// leftovers of crashed writers can be recognised and removed.
//
// Unstable: a storage internal. It is installed (under jdc/detail/) only because
// public headers use its Durability: StoreOptions and DependencyTracker::save. It may
// change in any release; include local_store.hpp or dependency_tracker.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>

#include "jdc/error.hpp"

namespace jdc {

enum class Durability : std::uint8_t {
    no_sync,  // rename only: atomic, but may be lost (never torn) on power failure
    fsync,    // fsync the file before rename and the directory after it
};

class StagedFile {
public:
    // Writes `bytes` to a new temporary file in `staging_dir`, named after `name_hint`.
    // Errors: io (with the OS reason: ENOSPC, EFBIG, EACCES, EROFS, ...), not_found
    // (no such directory).
    static Result<StagedFile> stage(const std::filesystem::path& staging_dir, std::string_view name_hint,
                                    std::span<const std::byte> bytes, Durability durability);

    // Atomically replaces `target` (which must be on the same filesystem). After
    // success the StagedFile is empty. With Durability::fsync the target's directory
    // is fsynced too; if only that fails, the file IS published (temp_path() is then
    // empty) and the error says it may not survive a power failure.
    Result<void> publish(const std::filesystem::path& target);

    const std::filesystem::path& temp_path() const noexcept { return temp_; }

    StagedFile(StagedFile&& other) noexcept;
    StagedFile& operator=(StagedFile&& other) noexcept;
    StagedFile(const StagedFile&) = delete;
    StagedFile& operator=(const StagedFile&) = delete;
    ~StagedFile();

private:
    StagedFile(std::filesystem::path temp, Durability d) : temp_(std::move(temp)), durability_(d) {}
    std::filesystem::path temp_;
    Durability durability_;
};

// Stage beside the target, then publish.
Result<void> write_file_atomically(const std::filesystem::path& target, std::span<const std::byte> bytes,
                                   Durability durability = Durability::no_sync);

// Renames `file` into `staging_dir` under a temporary name made from `name_hint`, and
// returns that name: the file leaves its place at once (as unlink would) and is
// unlinked later, outside any lock. Why: on filesystems that discard freed blocks
// (ext4 with -o discard), unlinking a preallocated file can take milliseconds, and a
// writer holding the store lock must not pay that per file. A crash in between leaves
// a temporary file, which cleanup removes. Errors: not_found, io.
Result<std::filesystem::path> move_aside(const std::filesystem::path& file, const std::filesystem::path& staging_dir,
                                         std::string_view name_hint);

// True when `filename` is a temporary name made by StagedFile; `pid` receives the
// writer's process id.
bool parse_temp_name(std::string_view filename, long& pid) noexcept;

}  // namespace jdc
