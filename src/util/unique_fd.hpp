// Internal: a file descriptor with one owner, and writing a whole buffer to one.
//
// Every path that opens a file has early returns (a failed fstat, a refused file
// type, a short read); the descriptor must be closed on each. UniqueFd closes it when
// the owner goes out of scope, so no return can leak one. Where the result of close()
// itself matters (a staged file, whose close may report a delayed write error), call
// close() and check it.
#pragma once

#include <cerrno>
#include <cstddef>
#include <span>
#include <utility>

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

}  // namespace jdc::detail
