#include "util/regular_file.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace jdc::detail {

std::string file_kind(mode_t mode) {
    if (S_ISREG(mode)) return "regular file";
    if (S_ISLNK(mode)) return "symbolic link";
    if (S_ISDIR(mode)) return "directory";
    if (S_ISFIFO(mode)) return "FIFO";
    if (S_ISSOCK(mode)) return "socket";
    if (S_ISCHR(mode)) return "character device";
    if (S_ISBLK(mode)) return "block device";
    return "special file";
}

Result<UniqueFd> open_regular_file(const std::filesystem::path& path, int flags, mode_t create_mode) {
    UniqueFd fd(::open(path.c_str(), flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, create_mode));
    if (!fd) {
        const int err = errno;
        if (err == ENOENT) return make_error(ErrorCode::not_found, "cannot open '" + path.string() + "': " + std::strerror(err));
        if (err == ELOOP) return make_error(ErrorCode::io, "refusing '" + path.string() + "': it is a symbolic link");
        // A FIFO without a reader, opened for writing with O_NONBLOCK, fails with ENXIO:
        // say what is there rather than "No such device or address".
        struct stat st {};
        if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
            return make_error(ErrorCode::io, "'" + path.string() + "' is a " + file_kind(st.st_mode) + ", not a regular file");
        return make_error(ErrorCode::io, "cannot open '" + path.string() + "': " + std::strerror(err));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return make_error(ErrorCode::io, "cannot stat '" + path.string() + "': " + std::strerror(errno));
    if (!S_ISREG(st.st_mode))
        return make_error(ErrorCode::io, "'" + path.string() + "' is a " + file_kind(st.st_mode) + ", not a regular file");
    const int fl = ::fcntl(fd.get(), F_GETFL);
    if (fl >= 0) (void)::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

Result<std::string> read_regular_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
    auto fd = open_regular_file(path, O_RDONLY);
    if (!fd) return tl::unexpected(fd.error());
    std::string out;
    char buffer[64 * 1024];
    for (;;) {
        const ssize_t n = ::read(fd->get(), buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) continue;
            return make_error(ErrorCode::io, "cannot read '" + path.string() + "': " + std::strerror(errno));
        }
        if (n == 0) return out;
        if (out.size() + static_cast<std::size_t>(n) > max_bytes)
            return make_error(ErrorCode::limit_exceeded, "'" + path.string() + "' is longer than " + std::to_string(max_bytes) + " bytes");
        out.append(buffer, static_cast<std::size_t>(n));
    }
}

}  // namespace jdc::detail
