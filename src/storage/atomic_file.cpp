#include "jdc/atomic_file.hpp"

#include <cerrno>
#include <cstring>
#include <random>
#include <string>

#include <fcntl.h>
#include <unistd.h>

namespace jdc {
namespace {

std::string temp_name_for(const std::filesystem::path& target) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, "%08llx", static_cast<unsigned long long>(rng() & 0xFFFFFFFFull));
    return target.filename().string() + ".tmp." + std::to_string(::getpid()) + "." + suffix;
}

tl::unexpected<Error> os_error(const std::string& what, const std::filesystem::path& p, int err) {
    return make_error(err == ENOENT ? ErrorCode::not_found : ErrorCode::io,
                      what + " '" + p.string() + "': " + std::strerror(err));
}

Result<void> write_fully(int fd, std::span<const std::byte> bytes, const std::filesystem::path& p) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            return os_error("cannot write", p, errno);
        }
        done += static_cast<std::size_t>(w);
    }
    return {};
}

}  // namespace

Result<void> write_file_atomically(const std::filesystem::path& target, std::span<const std::byte> bytes, Durability durability) {
    const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
    const std::filesystem::path temp = dir / temp_name_for(target);
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return os_error("cannot create temporary file", temp, errno);

    auto fail = [&](tl::unexpected<Error> e) -> Result<void> {
        ::close(fd);
        ::unlink(temp.c_str());
        return e;
    };
    if (!bytes.empty()) {
        // posix_fallocate returns the error instead of setting errno. EINVAL/EOPNOTSUPP
        // mean the filesystem cannot preallocate (tmpfs on old kernels, some network
        // filesystems): the write below then reports a full disk itself.
        const int err = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes.size()));
        if (err != 0 && err != EINVAL && err != EOPNOTSUPP) return fail(os_error("cannot reserve space for", temp, err));
    }
    if (auto r = write_fully(fd, bytes, temp); !r) return fail(tl::unexpected(r.error()));
    if (durability == Durability::fsync && ::fsync(fd) != 0) return fail(os_error("cannot fsync", temp, errno));
    if (::close(fd) != 0) {
        const int err = errno;
        ::unlink(temp.c_str());
        return os_error("cannot close", temp, err);
    }
    if (::rename(temp.c_str(), target.c_str()) != 0) {
        const int err = errno;
        ::unlink(temp.c_str());
        return os_error("cannot publish", target, err);
    }
    if (durability == Durability::fsync) {
        const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            const int rc = ::fsync(dfd);
            const int err = errno;
            ::close(dfd);
            if (rc != 0) return os_error("cannot fsync directory", dir, err);
        }
    }
    return {};
}

}  // namespace jdc
