// jdc — publishing a file so that readers see either nothing or all of it.
//
// Storage layer. Writes to a temporary file beside the target ("<name>.tmp.<pid>.<rand>"),
// reserves the space with posix_fallocate (a full disk fails here, with a clear
// error, instead of later), writes, optionally fsyncs, then rename()s over the target.
// A published file is never truncated or rewritten afterwards, so a reader's mapping
// of it stays valid. On any failure the temporary file is removed and the target is
// untouched.
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

// Errors: io (with the OS reason: ENOSPC, EACCES, EROFS, ...), not_found (no such directory).
Result<void> write_file_atomically(const std::filesystem::path& target, std::span<const std::byte> bytes,
                                   Durability durability = Durability::no_sync);

}  // namespace jdc
