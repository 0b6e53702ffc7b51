// jdc — the inter-process lock of a cache directory.
//
// Storage layer, internal. The lock is an fcntl write lock on the whole lock file (what
// Boost.Interprocess file_lock takes, which earlier versions used: both interoperate).
// fcntl locks have process-wide semantics: a second descriptor of the same file in the
// same process shares, and on close silently releases, the first one's lock. So there
// is exactly one StoreLock per lock file per process (StoreLock::for_file hands out the
// shared instance), threads of one process are serialised by a mutex in front of the
// file lock, and ScopedStoreLock takes and releases both on one thread. The lock file
// is opened like every cache file (regular_file.hpp: O_NOFOLLOW | O_NONBLOCK |
// O_CLOEXEC, then fstat), so a FIFO or link planted in its place is refused, not
// waited on or followed. A holder that crashes loses the lock with its process
// (the kernel drops fcntl locks), so nothing waits forever; the cache's own data
// structures are designed so that a crash at any point loses nothing already published.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include <vector>

#include "jdc/error.hpp"
#include "util/unique_fd.hpp"

namespace jdc {

class StoreLock {
public:
    // The process-wide lock object for `lock_file`, created (as an empty file) if
    // missing. Errors: io (cannot create or open the lock file; a symlink in its place
    // is refused, not followed).
    static Result<std::shared_ptr<StoreLock>> for_file(const std::filesystem::path& lock_file);

    StoreLock(const StoreLock&) = delete;
    StoreLock& operator=(const StoreLock&) = delete;

private:
    friend class ScopedStoreLock;
    explicit StoreLock(detail::UniqueFd fd) : fd_(std::move(fd)) {}
    std::mutex thread_mutex_;
    detail::UniqueFd fd_;
    // Other descriptors of the same file this process opened (a lock file replaced
    // while it was being opened): kept open, since closing one would drop the lock.
    std::vector<detail::UniqueFd> also_open_;
};

// Holds the lock exclusively for its lifetime (blocking), on the constructing thread.
class ScopedStoreLock {
public:
    enum class Mode { wait, try_only };
    explicit ScopedStoreLock(StoreLock& lock, Mode mode = Mode::wait);
    ~ScopedStoreLock();
    ScopedStoreLock(const ScopedStoreLock&) = delete;
    ScopedStoreLock& operator=(const ScopedStoreLock&) = delete;

    // False with Mode::try_only when another holder has it, or when the filesystem
    // refused the lock (then failure() says why).
    bool owns() const noexcept { return owns_; }
    const std::string& failure() const noexcept { return failure_; }

private:
    StoreLock& lock_;
    bool owns_ = false;
    std::string failure_;
};

}  // namespace jdc
