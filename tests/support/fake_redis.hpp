// Test support: a scripted RESP server, for the misbehaviours a real Redis never shows
// (replies longer than asked for, of the wrong type, dripped a byte at a time, cut off).
//
// FakeRedis listens on 127.0.0.1 on a port the kernel picks and serves one connection at
// a time in a thread of its own (a second client waits until the first has closed). It parses each command the client sends (an array of
// bulk strings) and hands it to the test's script, which answers through the
// FakeConnection: raw bytes, bytes dripped one at a time, a long stream, or a close.
// Everything it does is cut short when the client goes away or the FakeRedis is
// destroyed, so a test never waits for a script to finish. Tests that need a real Redis
// use redis_server.hpp.
#pragma once

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace jdc::testing {

// One accepted connection, as the script sees it.
class FakeConnection {
public:
    FakeConnection(int fd, int stop_fd, std::atomic<std::uint64_t>& sent) : fd_(fd), stop_fd_(stop_fd), sent_(sent) {}

    // Sends all of `bytes`; false when the client has gone or the server is stopping.
    bool send(std::string_view bytes) {
        while (!bytes.empty()) {
            if (!wait(POLLOUT, -1)) return false;
            const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                bytes.remove_prefix(static_cast<std::size_t>(n));
                sent_ += static_cast<std::uint64_t>(n);
            } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                continue;
            } else {
                return false;
            }
        }
        return true;
    }
    // Sends `bytes` one at a time, `interval` apart (the first at once).
    bool drip(std::string_view bytes, std::chrono::milliseconds interval) {
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            if (i > 0 && stopping_within(interval)) return false;
            if (!send(bytes.substr(i, 1))) return false;
        }
        return true;
    }
    // `count` bytes of `fill`, as fast as the client takes them.
    bool stream(std::uint64_t count, char fill = 'x') {
        const std::string chunk(64 * 1024, fill);
        while (count > 0) {
            const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(count, chunk.size()));
            if (!send(std::string_view(chunk).substr(0, n))) return false;
            count -= n;
        }
        return true;
    }
    // Closes the connection now; the server then waits for the next one.
    void close() { closed_ = true; }
    bool closed() const noexcept { return closed_; }

    // The next command, or nullopt when the client closed the connection, sent
    // something that is not a command, or the server is stopping.
    std::optional<std::vector<std::string>> next_command() {
        for (;;) {
            if (auto command = parse()) return command;
            if (malformed_ || !wait(POLLIN, -1)) return std::nullopt;
            char chunk[64 * 1024];
            const ssize_t n = ::recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return std::nullopt;
            if (n > 0) in_.append(chunk, static_cast<std::size_t>(n));
        }
    }

private:
    // Waits for `events` on the connection; false when the server is stopping or the
    // wait failed.
    bool wait(short events, int timeout_ms) {
        pollfd p[2] = {{fd_, events, 0}, {stop_fd_, POLLIN, 0}};
        while (true) {
            const int r = ::poll(p, 2, timeout_ms);
            if (r < 0 && errno == EINTR) continue;
            return r > 0 && p[1].revents == 0;
        }
    }
    // Sleeps for `interval`; true when the server started stopping meanwhile.
    bool stopping_within(std::chrono::milliseconds interval) {
        pollfd p{stop_fd_, POLLIN, 0};
        return ::poll(&p, 1, static_cast<int>(interval.count())) != 0;
    }
    // One command off the front of in_: "*N\r\n" then N times "$len\r\n<bytes>\r\n".
    std::optional<std::vector<std::string>> parse() {
        std::size_t pos = 0;
        auto line = [&]() -> std::optional<std::string> {
            const auto crlf = in_.find("\r\n", pos);
            if (crlf == std::string::npos) return std::nullopt;
            std::string text = in_.substr(pos, crlf - pos);
            pos = crlf + 2;
            return text;
        };
        auto header = line();
        if (!header) return std::nullopt;
        if (header->empty() || header->front() != '*') {
            malformed_ = true;
            return std::nullopt;
        }
        const std::size_t count = std::stoul(header->substr(1));
        std::vector<std::string> args;
        for (std::size_t i = 0; i < count; ++i) {
            auto length = line();
            if (!length) return std::nullopt;
            const std::size_t n = std::stoul(length->substr(1));
            if (in_.size() < pos + n + 2) return std::nullopt;
            args.push_back(in_.substr(pos, n));
            pos += n + 2;
        }
        in_.erase(0, pos);
        return args;
    }

    int fd_;
    int stop_fd_;
    std::atomic<std::uint64_t>& sent_;
    std::string in_;
    bool malformed_ = false;
    bool closed_ = false;
};

// Called for each command received, e.g. {"GETRANGE", "jdc:a1:...", "0", "67108864"}.
using FakeRedisScript = std::function<void(FakeConnection&, const std::vector<std::string>& command)>;

class FakeRedis {
public:
    explicit FakeRedis(FakeRedisScript script) : script_(std::move(script)) {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (listen_fd_ < 0 || stop_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(listen_fd_, 16) != 0 || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
            const std::string why = std::strerror(errno);
            close_fds();
            throw std::runtime_error("fake redis: " + why);
        }
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~FakeRedis() {
        const std::uint64_t one = 1;
        [[maybe_unused]] const ssize_t n = ::write(stop_fd_, &one, sizeof one);
        thread_.join();
        close_fds();
    }
    FakeRedis(const FakeRedis&) = delete;
    FakeRedis& operator=(const FakeRedis&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
    // Bytes the server managed to send, over all connections.
    std::uint64_t bytes_sent() const noexcept { return sent_; }
    // The names of the commands received so far ("GETRANGE", "SET", ...), in order.
    std::vector<std::string> commands() const {
        std::lock_guard<std::mutex> guard(mutex_);
        return commands_;
    }

private:
    void serve() {
        for (;;) {
            pollfd p[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
            if (::poll(p, 2, -1) < 0) {
                if (errno == EINTR) continue;
                return;
            }
            if (p[1].revents != 0) return;
            const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) continue;
            FakeConnection connection(fd, stop_fd_, sent_);
            while (!connection.closed()) {
                auto command = connection.next_command();
                if (!command || command->empty()) break;
                {
                    std::lock_guard<std::mutex> guard(mutex_);
                    commands_.push_back(command->front());
                }
                script_(connection, *command);
            }
            ::close(fd);
        }
    }
    void close_fds() {
        if (listen_fd_ >= 0) ::close(listen_fd_);
        if (stop_fd_ >= 0) ::close(stop_fd_);
    }

    FakeRedisScript script_;
    int listen_fd_ = -1;
    int stop_fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<std::uint64_t> sent_{0};
    mutable std::mutex mutex_;
    std::vector<std::string> commands_;
    std::thread thread_;
};

// Scripts for the usual cases.

// Every command is answered with `reply`, as raw bytes ("+OK\r\n", "*999999999\r\n").
inline FakeRedisScript answer(std::string reply) {
    return [reply = std::move(reply)](FakeConnection& c, const std::vector<std::string>&) { c.send(reply); };
}
// A bulk string declaring `declared` bytes, then that many bytes, as fast as the client
// reads them (for a GETRANGE that asked for far fewer).
inline FakeRedisScript huge_bulk(std::uint64_t declared) {
    return [declared](FakeConnection& c, const std::vector<std::string>&) {
        if (c.send("$" + std::to_string(declared) + "\r\n")) c.stream(declared);
    };
}
// Every command is answered with `reply`, one byte every `interval`.
inline FakeRedisScript drip(std::string reply, std::chrono::milliseconds interval) {
    return [reply = std::move(reply), interval](FakeConnection& c, const std::vector<std::string>&) { c.drip(reply, interval); };
}
// The first `prefix` bytes of an answer, then the connection is closed.
inline FakeRedisScript close_after(std::string prefix) {
    return [prefix = std::move(prefix)](FakeConnection& c, const std::vector<std::string>&) {
        c.send(prefix);
        c.close();
    };
}
// `value` as a bulk string: what GETRANGE of a stored value returns.
inline std::string bulk(std::string_view value) { return "$" + std::to_string(value.size()) + "\r\n" + std::string(value) + "\r\n"; }

}  // namespace jdc::testing
