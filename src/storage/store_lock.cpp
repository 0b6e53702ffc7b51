#include "storage/store_lock.hpp"

#include <cerrno>
#include <cstring>
#include <map>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/unique_fd.hpp"

namespace jdc {

StoreLock::StoreLock(const std::filesystem::path& file) : file_lock_(file.c_str()) {}

Result<std::shared_ptr<StoreLock>> StoreLock::for_file(const std::filesystem::path& lock_file) {
    // Keyed by the file's identity, not its name: two names for one file (a symlinked
    // parent, a bind mount) must share one lock object. And no extra open()/close() of
    // a lock file this process may already lock: closing any descriptor of a file
    // drops every fcntl lock the process holds on it.
    static std::mutex registry_mutex;
    static std::map<std::pair<std::uint64_t, std::uint64_t>, std::weak_ptr<StoreLock>> registry;

    std::lock_guard<std::mutex> guard(registry_mutex);
    struct stat st {};
    // lstat: a symlink planted as the lock file is refused below, not followed to
    // whatever file it names (which would then be opened read-write and locked).
    if (::lstat(lock_file.c_str(), &st) != 0) {
        if (errno != ENOENT)
            return make_error(ErrorCode::io, "cannot stat lock file '" + lock_file.string() + "': " + std::strerror(errno));
        // Not there yet, so nobody in this process can hold it: creating it is safe.
        if (!detail::UniqueFd(::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)))
            return make_error(ErrorCode::io, "cannot create lock file '" + lock_file.string() + "': " + std::strerror(errno));
        if (::lstat(lock_file.c_str(), &st) != 0)
            return make_error(ErrorCode::io, "cannot stat lock file '" + lock_file.string() + "': " + std::strerror(errno));
    }
    if (S_ISLNK(st.st_mode)) return make_error(ErrorCode::io, "refusing lock file '" + lock_file.string() + "': it is a symlink");
    if (!S_ISREG(st.st_mode)) return make_error(ErrorCode::io, "lock file '" + lock_file.string() + "' is not a regular file");
    const auto id = std::make_pair(static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino));
    if (auto existing = registry[id].lock()) return existing;
    try {
        std::shared_ptr<StoreLock> lock(new StoreLock(lock_file));
        registry[id] = lock;
        return lock;
    } catch (const boost::interprocess::interprocess_exception& e) {
        return make_error(ErrorCode::io, "cannot use lock file '" + lock_file.string() + "': " + e.what());
    }
}

ScopedStoreLock::ScopedStoreLock(StoreLock& lock, Mode mode) : lock_(lock) {
    if (mode == Mode::wait) {
        lock_.thread_mutex_.lock();
    } else if (!lock_.thread_mutex_.try_lock()) {
        return;
    }
    try {
        if (mode == Mode::wait) {
            lock_.file_lock_.lock();
            owns_ = true;
        } else {
            owns_ = lock_.file_lock_.try_lock();
        }
    } catch (const boost::interprocess::interprocess_exception& e) {
        failure_ = e.what();  // e.g. ENOLCK on a filesystem without locks
    }
    if (!owns_) lock_.thread_mutex_.unlock();
}

ScopedStoreLock::~ScopedStoreLock() {
    if (!owns_) return;
    lock_.file_lock_.unlock();
    lock_.thread_mutex_.unlock();
}

}  // namespace jdc
