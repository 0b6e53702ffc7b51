// Internal: a file descriptor with one owner, and writing a whole buffer (or a list
// of pieces) to one.
//
// Every path that opens a file has early returns (a failed fstat, a refused file
// type, a short read); the descriptor must be closed on each. UniqueFd closes it when
// the owner goes out of scope, so no return can leak one. Where the result of close()
// itself matters (a staged file, whose close may report a delayed write error), call
// close() and check it.
#pragma once

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/uio.h>
#include <unistd.h>

namespace jdc::detail {

class UniqueFd {
public:
    UniqueFd() noexcept = default;
    explicit UniqueFd(int fd) noexcept : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) reset(std::exchange(other.fd_, -1));
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    // Closes the descriptor now; 0, or the errno of a failed close. Owns nothing after.
    int close() noexcept {
        if (fd_ < 0) return 0;
        const int rc = ::close(std::exchange(fd_, -1));
        return rc == 0 ? 0 : errno;
    }
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

// Writes every byte, retrying short writes and EINTR; 0, or the errno of the write
// that failed.
inline int write_all(int fd, std::span<const std::byte> bytes) noexcept {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
    return 0;
}

// Writes every byte of `pieces`, in order, with as few writev() calls as the
// system allows (IOV_MAX pieces each), retrying short writes and EINTR; 0, or the
// errno of the write that failed.
inline int write_all(int fd, std::span<const std::string_view> pieces) noexcept {
    std::vector<iovec> io;
    io.reserve(std::min<std::size_t>(pieces.size(), IOV_MAX));
    std::size_t next = 0;  // the first piece not yet in `io`
    std::size_t sent = 0;  // bytes of io[0] already written
    while (next < pieces.size() || !io.empty()) {
        while (io.size() < IOV_MAX && next < pieces.size()) {
            const std::string_view p = pieces[next++];
            if (!p.empty()) io.push_back({const_cast<char*>(p.data()), p.size()});
        }
        if (io.empty()) break;
        io[0].iov_base = static_cast<char*>(io[0].iov_base) + sent;
        io[0].iov_len -= sent;
        sent = 0;
        const ssize_t n = ::writev(fd, io.data(), static_cast<int>(io.size()));
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        auto left = static_cast<std::size_t>(n);
        std::size_t done = 0;
        while (done < io.size() && left >= io[done].iov_len) left -= io[done++].iov_len;
        io.erase(io.begin(), io.begin() + static_cast<std::ptrdiff_t>(done));
        sent = left;  // part of the new io[0]
    }
    return 0;
}

}  // namespace jdc::detail
