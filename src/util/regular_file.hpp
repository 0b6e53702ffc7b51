// Internal: opening a file of the cache the way arenas are opened.
//
// A cache directory is shared: anything may be planted where a file of it belongs. A
// FIFO opened without O_NONBLOCK blocks the opener until someone opens the other end
// (a FIFO at stats.json or inputs.jdcl hung `janusc build`, `jdc stats` and
// `jdc explain`); a symlink would be followed to a file elsewhere. So every cache file
// is opened with O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC and then checked with fstat to be
// a regular file; O_NONBLOCK is cleared again once it is known to be one (it means
// nothing for regular files, but the descriptor may be handed on).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <sys/types.h>

#include "jdc/error.hpp"
#include "util/unique_fd.hpp"

namespace jdc::detail {

// "FIFO", "directory", "symbolic link", ... for a message; "regular file" for one.
std::string file_kind(mode_t mode);

// Opens `path` with `flags` (O_RDONLY, O_WRONLY | O_APPEND | O_CREAT, ...) plus
// O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, creating it with `create_mode` when O_CREAT is
// given. Errors: not_found (no such file), io ("refusing '<path>': it is a symbolic
// link", "'<path>' is a FIFO, not a regular file", or the system's reason).
Result<UniqueFd> open_regular_file(const std::filesystem::path& path, int flags, mode_t create_mode = 0644);

// The whole of a regular file opened as above. Errors: those of open_regular_file,
// limit_exceeded (longer than `max_bytes`), io (a read failed).
Result<std::string> read_regular_file(const std::filesystem::path& path, std::uint64_t max_bytes);

}  // namespace jdc::detail
