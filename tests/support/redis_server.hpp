// Test support: a real redis-server on a free loopback port (and a unix socket) in a
// temporary directory, started by the constructor and killed by the destructor; a
// raw hiredis client to plant and inspect values; and two servers that misbehave
// (one that never answers, one that never accepts).
//
// A missing redis-server is an error, not a skip: CI installs it (the Debian package
// redis-server, scripts/install-deps.sh). JDC_REDIS_SERVER names another binary.
// Shared by the tests and bench/bench_remote.cpp.
#pragma once

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "support/temp_dir.hpp"

namespace jdc::testing {

// The redis-server binary: $JDC_REDIS_SERVER, else the first on PATH or in the usual
// places. Throws with an instruction when there is none.
inline std::filesystem::path redis_server_binary() {
    if (const char* explicit_path = std::getenv("JDC_REDIS_SERVER"); explicit_path != nullptr && *explicit_path != '\0') {
        if (::access(explicit_path, X_OK) == 0) return explicit_path;
        throw std::runtime_error(std::string("JDC_REDIS_SERVER='") + explicit_path + "' is not an executable file");
    }
    std::vector<std::string> dirs;
    if (const char* path = std::getenv("PATH")) {
        std::stringstream in(path);
        for (std::string dir; std::getline(in, dir, ':');)
            if (!dir.empty()) dirs.push_back(dir);
    }
    for (const char* dir : {"/usr/bin", "/usr/sbin", "/usr/local/bin"}) dirs.emplace_back(dir);
    for (const auto& dir : dirs) {
        const std::filesystem::path candidate = std::filesystem::path(dir) / "redis-server";
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    throw std::runtime_error(
        "redis-server not found (on PATH, /usr/bin, /usr/sbin, /usr/local/bin): the remote-tier tests need a real Redis. "
        "Install the Debian package redis-server (scripts/install-deps.sh does), or set JDC_REDIS_SERVER");
}

// A loopback TCP port that was free a moment ago (the kernel's choice for port 0).
inline std::uint16_t free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        const std::string why = std::strerror(errno);
        ::close(fd);
        throw std::runtime_error("cannot find a free loopback port: " + why);
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

// A raw connection for what the library must not do itself: planting damaged
// values, counting keys, reading values back byte for byte.
class RawRedis {
public:
    explicit RawRedis(std::uint16_t port, const std::string& password = {}) {
        const timeval tv{2, 0};
        c_ = redisConnectWithTimeout("127.0.0.1", port, tv);
        if (c_ == nullptr || c_->err != 0)
            throw std::runtime_error(std::string("raw redis connect: ") + (c_ != nullptr ? c_->errstr : "out of memory"));
        redisSetTimeout(c_, tv);
        if (!password.empty()) command({"AUTH", password});
    }
    ~RawRedis() {
        if (c_ != nullptr) redisFree(c_);
    }
    RawRedis(const RawRedis&) = delete;
    RawRedis& operator=(const RawRedis&) = delete;

    void set(const std::string& key, const std::string& value) { command({"SET", key, value}); }
    std::optional<std::string> get(const std::string& key) {
        redisReply* r = raw({"GET", key});
        std::optional<std::string> out;
        if (r->type == REDIS_REPLY_STRING) out = std::string(r->str, r->len);
        freeReplyObject(r);
        return out;
    }
    long long integer(std::initializer_list<std::string> args) {
        redisReply* r = raw(args);
        const long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
        freeReplyObject(r);
        return v;
    }
    long long dbsize() { return integer({"DBSIZE"}); }
    long long ttl(const std::string& key) { return integer({"TTL", key}); }
    // A status or error reply as text ("OK", "ERR ...").
    std::string command(std::initializer_list<std::string> args) {
        redisReply* r = raw(args);
        std::string out = r->str != nullptr ? std::string(r->str, r->len) : std::string();
        freeReplyObject(r);
        return out;
    }

private:
    redisReply* raw(std::initializer_list<std::string> args) {
        std::vector<const char*> argv;
        std::vector<std::size_t> lens;
        for (const auto& a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        auto* r = static_cast<redisReply*>(redisCommandArgv(c_, static_cast<int>(argv.size()), argv.data(), lens.data()));
        if (r == nullptr) throw std::runtime_error(std::string("raw redis command: ") + c_->errstr);
        return r;
    }
    redisContext* c_ = nullptr;
};

struct RedisServerOptions {
    std::string password;                 // --requirepass
    std::vector<std::string> extra_args;  // e.g. {"--maxmemory", "1mb"}
};

class RedisServer {
public:
    explicit RedisServer(RedisServerOptions options = {}) : options_(std::move(options)) {
        const auto binary = redis_server_binary();
        std::string failures;
        for (int attempt = 0; attempt < 5; ++attempt) {  // a port taken between the probe and the bind: try another
            port_ = free_loopback_port();
            if (start(binary, failures)) return;
        }
        throw std::runtime_error("redis-server did not start:" + failures);
    }
    ~RedisServer() { kill(); }
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    std::filesystem::path socket_path() const { return dir_.path / "redis.sock"; }
    std::string url(unsigned db = 0) const {
        const std::string auth = options_.password.empty() ? "" : ":" + options_.password + "@";
        return "redis://" + auth + "127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
    }
    std::string unix_url(unsigned db = 0) const {
        const std::string auth = options_.password.empty() ? "" : ":" + options_.password + "@";
        return "redis+unix://" + auth + socket_path().string() + (db != 0 ? "?db=" + std::to_string(db) : "");
    }
    RawRedis client() const { return RawRedis(port_, options_.password); }

    // SIGKILL, as a crash or an OOM kill would; waits for the process to be gone.
    void kill() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
    }
    bool running() const noexcept { return pid_ > 0; }

private:
    bool start(const std::filesystem::path& binary, std::string& failures) {
        const std::filesystem::path log = dir_.path / ("redis-" + std::to_string(port_) + ".log");
        std::vector<std::string> args = {binary.string(), "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                         "--save", "", "--appendonly", "no", "--dir", dir_.path.string(),
                                         "--unixsocket", socket_path().string(), "--unixsocketperm", "700",
                                         "--daemonize", "no", "--logfile", log.string()};
        if (!options_.password.empty()) args.insert(args.end(), {"--requirepass", options_.password});
        args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);

        const pid_t parent = ::getpid();
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a test killed midway leaves no server behind
            if (::getppid() != parent) ::_exit(127);
            const int null = ::open("/dev/null", O_RDWR);
            if (null >= 0) {
                ::dup2(null, 0);
                ::dup2(null, 1);
            }
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                std::ifstream in(log);
                std::stringstream text;
                text << in.rdbuf();
                failures += "\n  port " + std::to_string(port_) + ": exited (status " + std::to_string(status) + "); log:\n" + text.str();
                return false;
            }
            if (answers_ping()) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        kill();
        failures += "\n  port " + std::to_string(port_) + ": no answer to PING within 10 s";
        return false;
    }

    bool answers_ping() const {
        const timeval tv{0, 200'000};
        redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
        bool up = false;
        if (c != nullptr && c->err == 0) {
            redisSetTimeout(c, tv);
            if (auto* r = static_cast<redisReply*>(redisCommand(c, "PING"))) {
                // With a password, NOAUTH also proves that the server is listening.
                up = r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR;
                freeReplyObject(r);
            }
        }
        if (c != nullptr) redisFree(c);
        return up;
    }

    RedisServerOptions options_;
    TempDir dir_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

// A loopback port that accepts connections (the kernel completes the handshake) but
// never reads or answers: every command waits for the operation timeout.
class SilentServer {
public:
    explicit SilentServer(int backlog = 16) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, backlog) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
            throw std::runtime_error(std::string("silent server: ") + std::strerror(errno));
        port_ = ntohs(addr.sin_port);
    }
    ~SilentServer() {
        for (int fd : fillers_) ::close(fd);
        ::close(fd_);
    }
    SilentServer(const SilentServer&) = delete;
    SilentServer& operator=(const SilentServer&) = delete;
    std::uint16_t port() const noexcept { return port_; }
    std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

    // Fills the accept queue (of a server made with backlog 0): Linux then drops new
    // SYNs, so the next connect() hangs until the client's connect timeout.
    void fill_backlog() {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(port_);
        if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
            throw std::runtime_error(std::string("filling the backlog: ") + std::strerror(errno));
        fillers_.push_back(fd);
    }

    // Accepts the oldest pending connection and closes it, as a server that goes away
    // does (FIN). The client's next write is answered with an RST; a write(2) after
    // that fails with EPIPE and raises SIGPIPE. A command larger than the socket
    // buffers needs two writes, so it meets exactly that: a remote that vanished
    // mid-session, made deterministic.
    void close_next_connection() {
        const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) throw std::runtime_error(std::string("accept: ") + std::strerror(errno));
        ::close(fd);
    }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::vector<int> fillers_;
};

}  // namespace jdc::testing
