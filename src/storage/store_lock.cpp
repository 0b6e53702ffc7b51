#include "storage/store_lock.hpp"

#include <cerrno>
#include <cstring>
#include <map>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/regular_file.hpp"

namespace jdc {
namespace {

using Identity = std::pair<std::uint64_t, std::uint64_t>;

Identity identity_of(const struct stat& st) { return {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)}; }

// 0, or the errno of the fcntl that failed. `wait`: F_SETLKW (retried after signals).
int set_lock(int fd, short type, bool wait) {
    struct flock fl {};
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 0;  // the whole file, however long
    for (;;) {
        if (::fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl) == 0) return 0;
        if (errno != EINTR) return errno;
    }
}

}  // namespace

Result<std::shared_ptr<StoreLock>> StoreLock::for_file(const std::filesystem::path& lock_file) {
    // Keyed by the file's identity, not its name: two names for one file (a symlinked
    // parent, a bind mount) must share one lock object. And no extra open()/close() of
    // a lock file this process may already lock: closing any descriptor of a file
    // drops every fcntl lock the process holds on it. So the name is looked up with
    // lstat first, and opened only when no lock object has that file yet.
    static std::mutex registry_mutex;
    static std::map<Identity, std::weak_ptr<StoreLock>> registry;

    std::lock_guard<std::mutex> guard(registry_mutex);
    struct stat st {};
    detail::UniqueFd fd;
    if (::lstat(lock_file.c_str(), &st) != 0) {
        if (errno != ENOENT)
            return make_error(ErrorCode::io, "cannot stat lock file '" + lock_file.string() + "': " + std::strerror(errno));
        // Not there yet, so nobody in this process can hold it: creating it is safe,
        // and the descriptor that created it is the lock's.
        auto created = detail::open_regular_file(lock_file, O_RDWR | O_CREAT);
        if (!created) return make_error(ErrorCode::io, "cannot create lock file: " + created.error().message);
        fd = std::move(*created);
        if (::fstat(fd.get(), &st) != 0)
            return make_error(ErrorCode::io, "cannot stat lock file '" + lock_file.string() + "': " + std::strerror(errno));
    } else {
        // lstat: a symlink planted as the lock file is refused, not followed to
        // whatever file it names (which would then be opened read-write and locked).
        if (S_ISLNK(st.st_mode)) return make_error(ErrorCode::io, "refusing lock file '" + lock_file.string() + "': it is a symlink");
        if (!S_ISREG(st.st_mode))
            return make_error(ErrorCode::io, "lock file '" + lock_file.string() + "' is not a regular file (a " + detail::file_kind(st.st_mode) + ")");
        if (auto existing = registry[identity_of(st)].lock()) return existing;
        auto opened = detail::open_regular_file(lock_file, O_RDWR);
        if (!opened) return make_error(ErrorCode::io, "lock file: " + opened.error().message);  // names the file and the reason
        fd = std::move(*opened);
        if (::fstat(fd.get(), &st) != 0)
            return make_error(ErrorCode::io, "cannot stat lock file '" + lock_file.string() + "': " + std::strerror(errno));
    }
    // The file opened may not be the one lstat saw (replaced in between): go by what is open.
    const Identity id = identity_of(st);
    if (auto existing = registry[id].lock()) {
        existing->also_open_.push_back(std::move(fd));
        return existing;
    }
    std::shared_ptr<StoreLock> lock(new StoreLock(std::move(fd)));
    registry[id] = lock;
    return lock;
}

ScopedStoreLock::ScopedStoreLock(StoreLock& lock, Mode mode) : lock_(lock) {
    if (mode == Mode::wait) {
        lock_.thread_mutex_.lock();
    } else if (!lock_.thread_mutex_.try_lock()) {
        return;
    }
    const int err = set_lock(lock_.fd_.get(), F_WRLCK, mode == Mode::wait);
    if (err == 0) owns_ = true;
    else if (!(mode == Mode::try_only && (err == EAGAIN || err == EACCES))) failure_ = std::strerror(err);  // e.g. ENOLCK
    if (!owns_) lock_.thread_mutex_.unlock();
}

ScopedStoreLock::~ScopedStoreLock() {
    if (!owns_) return;
    (void)set_lock(lock_.fd_.get(), F_UNLCK, false);
    lock_.thread_mutex_.unlock();
}

}  // namespace jdc
