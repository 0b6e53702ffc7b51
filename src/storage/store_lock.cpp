#include "jdc/store_lock.hpp"

#include <cerrno>
#include <cstring>
#include <map>

#include <fcntl.h>
#include <unistd.h>

namespace jdc {

StoreLock::StoreLock(const std::filesystem::path& file) : file_lock_(file.c_str()) {}

Result<std::shared_ptr<StoreLock>> StoreLock::for_file(const std::filesystem::path& lock_file) {
    static std::mutex registry_mutex;
    static std::map<std::filesystem::path, std::weak_ptr<StoreLock>> registry;

    std::error_code ec;
    std::filesystem::path canonical = std::filesystem::weakly_canonical(lock_file, ec);
    if (ec) canonical = lock_file;
    std::lock_guard<std::mutex> guard(registry_mutex);
    if (auto existing = registry[canonical].lock()) return existing;

    const int fd = ::open(canonical.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return make_error(ErrorCode::io, "cannot open lock file '" + canonical.string() + "': " + std::strerror(errno));
    ::close(fd);
    try {
        std::shared_ptr<StoreLock> lock(new StoreLock(canonical));
        registry[canonical] = lock;
        return lock;
    } catch (const boost::interprocess::interprocess_exception& e) {
        return make_error(ErrorCode::io, "cannot use lock file '" + canonical.string() + "': " + e.what());
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
