#include "jdc/remote_store.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "jdc/arena_format.hpp"
#include "storage/remote_seal.hpp"

namespace jdc {
namespace {

// Redis refuses bulk strings longer than proto-max-bulk-len, 512 MiB by default.
constexpr std::uint64_t kRedisMaxBulkBytes = 512ull * 1024 * 1024;
constexpr std::uint32_t kMaxTimeoutMs = 10 * 60 * 1000;

// ---------------------------------------------------------------- URL parsing

// The URL as it may appear in a message: anything before the last '@' (the user
// information, with the password) becomes "***".
std::string redact(std::string_view url) {
    const auto scheme_end = url.find("://");
    const auto at = url.rfind('@');
    if (scheme_end == std::string_view::npos || at == std::string_view::npos || at < scheme_end) return std::string(url);
    return std::string(url.substr(0, scheme_end + 3)) + "***@" + std::string(url.substr(at + 1));
}

tl::unexpected<Error> bad_url(std::string_view url, const std::string& why) {
    return make_error(ErrorCode::invalid_argument, "remote cache URL '" + redact(url) + "': " + why);
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// %XX escapes; nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        if (i + 2 >= s.size()) return std::nullopt;
        const int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

template <class Int>
std::optional<Int> parse_decimal(std::string_view s) {
    Int value{};
    if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return value;
}

// "[user]:password" before the '@'.
Result<void> parse_userinfo(std::string_view url, std::string_view info, RemoteEndpoint& out) {
    const auto colon = info.find(':');
    if (colon == std::string_view::npos)
        return bad_url(url, "user information needs a password: write ':password@' or 'user:password@' before the host");
    auto user = percent_decode(info.substr(0, colon));
    auto password = percent_decode(info.substr(colon + 1));
    if (!user || !password) return bad_url(url, "malformed percent escape in the user information (expected %XX with two hex digits)");
    if (password->empty()) return bad_url(url, "empty password after ':' (leave out the user information for no AUTH)");
    out.username = std::move(*user);
    out.password = std::move(*password);
    return {};
}

Result<std::uint32_t> parse_database(std::string_view url, std::string_view text) {
    const auto db = parse_decimal<std::uint32_t>(text);
    if (!db || *db > static_cast<std::uint32_t>(std::numeric_limits<std::int32_t>::max()))
        return bad_url(url, "database '" + std::string(text) + "' is not a number from 0 to 2147483647");
    return *db;
}

Result<void> parse_tcp(std::string_view url, std::string_view rest, RemoteEndpoint& out) {
    if (const auto q = rest.find('?'); q != std::string_view::npos)
        return bad_url(url, "unexpected query '" + std::string(rest.substr(q)) + "' (the database goes in the path: redis://host:port/db)");
    const auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    const std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        if (auto ok = parse_userinfo(url, authority.substr(0, at), out); !ok) return ok;
        authority.remove_prefix(at + 1);
    }
    std::string_view port_text;
    bool has_port = false;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return bad_url(url, "'[' without ']' around an IPv6 address");
        out.host = std::string(authority.substr(1, close - 1));
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty() && after.front() != ':') return bad_url(url, "unexpected '" + std::string(after) + "' after the IPv6 address");
        if (!after.empty()) {
            has_port = true;
            port_text = after.substr(1);
        }
    } else {
        const auto colon = authority.find(':');
        if (colon != std::string_view::npos && authority.find(':', colon + 1) != std::string_view::npos)
            return bad_url(url, "an IPv6 address must be written in brackets: redis://[::1]:6379");
        out.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            has_port = true;
            port_text = authority.substr(colon + 1);
        }
    }
    if (out.host.empty()) return bad_url(url, "no host (expected redis://host[:port][/db])");
    if (has_port) {
        const auto port = parse_decimal<std::uint32_t>(port_text);
        if (!port || *port == 0 || *port > 65535) return bad_url(url, "port '" + std::string(port_text) + "' is not a number from 1 to 65535");
        out.port = static_cast<std::uint16_t>(*port);
    }
    if (path.size() > 1) {
        const std::string_view db_text = path.substr(1);
        if (db_text.find('/') != std::string_view::npos)
            return bad_url(url, "unexpected path '" + std::string(path) + "' (only /db, a database number, may follow the host)");
        auto db = parse_database(url, db_text);
        if (!db) return tl::unexpected(db.error());
        out.database = *db;
    }
    return {};
}

Result<void> parse_unix(std::string_view url, std::string_view rest, RemoteEndpoint& out) {
    std::string_view query;
    if (const auto q = rest.find('?'); q != std::string_view::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    if (!rest.empty() && rest.front() != '/') {
        const auto at = rest.find('@');
        if (at == std::string_view::npos)
            return bad_url(url, "expected an absolute socket path after redis+unix:// (e.g. redis+unix:///run/redis/redis.sock)");
        if (auto ok = parse_userinfo(url, rest.substr(0, at), out); !ok) return ok;
        rest.remove_prefix(at + 1);
    }
    if (rest.empty() || rest.front() != '/')
        return bad_url(url, "expected an absolute socket path after redis+unix:// (e.g. redis+unix:///run/redis/redis.sock)");
    auto path = percent_decode(rest);
    if (!path) return bad_url(url, "malformed percent escape in the socket path (expected %XX with two hex digits)");
    if (path->find('\0') != std::string::npos) return bad_url(url, "the socket path contains a NUL byte");
    if (path->size() >= sizeof(sockaddr_un::sun_path))
        return bad_url(url, "socket path is " + std::to_string(path->size()) + " bytes; a unix socket path must be shorter than " +
                                std::to_string(sizeof(sockaddr_un::sun_path)));
    out.socket_path = *path;
    if (!query.empty()) {
        if (query.substr(0, 3) != "db=") return bad_url(url, "unexpected query '" + std::string(query) + "' (only ?db=N is understood)");
        auto db = parse_database(url, query.substr(3));
        if (!db) return tl::unexpected(db.error());
        out.database = *db;
    }
    return {};
}

// ---------------------------------------------------------------- replies

using Clock = std::chrono::steady_clock;

// The longest reply line (a status, an error, a bulk header) without its CRLF. Redis'
// longest error messages are a few hundred bytes (it cuts quoted arguments at 128), and
// a bulk header is at most 21; a longer line is not Redis talking.
constexpr std::size_t kMaxReplyLine = 4096;
// The read buffer: a reply line always fits in it; a bulk string's body is read past
// it, straight into the value's own buffer, so nothing is buffered twice.
constexpr std::size_t kReadBuffer = 16 * 1024;
static_assert(kReadBuffer > kMaxReplyLine + 2);

// Bytes a server sent, for a message: printable ASCII as is, anything else as \xNN
// (a hostile server must not write escape sequences into a terminal or a log), cut
// after `max` characters.
std::string printable(std::string_view text, std::size_t max = 200) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (out.size() >= max) return out + "...";
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            static constexpr char digits[] = "0123456789abcdef";
            out += "\\x";
            out += digits[c >> 4];
            out += digits[c & 15];
        }
    }
    return out;
}

// What the reply to one command may be; anything else is a protocol error. Only the
// forms the commands jdc sends can produce are ever accepted (RESP2: jdc never sends
// HELLO, so the server never switches to RESP3).
struct Expect {
    std::string_view status;    // the one status reply ("OK", "PONG"); empty: none
    bool bulk = false;          // a bulk string of at most max_bulk bytes, or a null bulk
    std::uint64_t max_bulk = 0;
    std::uint64_t keep = 0;     // longer bulk strings (up to max_bulk) are read and dropped

    std::string describe(std::string_view command) const {
        if (bulk) return std::string(command) + " answers with one bulk string of at most " + std::to_string(max_bulk) + " bytes";
        return std::string(command) + " answers +" + std::string(status) + " or an error";
    }
};

struct Reply {
    enum class Kind : std::uint8_t { status, error, bulk, null_bulk };
    Kind kind = Kind::status;
    std::string error;          // Kind::error: the server's message, as sent
    std::uint64_t length = 0;   // Kind::bulk: its length (the bytes are in the caller's buffer when kept)
};

using Command = std::vector<std::string_view>;

// RESP2 encoding of commands: an array of bulk strings each.
std::string encode(std::span<const Command> commands) {
    std::size_t size = 0;
    for (const Command& args : commands) {
        size += 16;
        for (std::string_view a : args) size += a.size() + 24;
    }
    std::string out;
    out.reserve(size);
    for (const Command& args : commands) {
        out += '*';
        out += std::to_string(args.size());
        out += "\r\n";
        for (std::string_view a : args) {
            out += '$';
            out += std::to_string(a.size());
            out += "\r\n";
            out += a;
            out += "\r\n";
        }
    }
    return out;
}

}  // namespace

// ---------------------------------------------------------------- public helpers

std::string RemoteEndpoint::describe() const {
    std::string userinfo;
    if (!username.empty() || !password.empty()) userinfo = username + ":***@";
    if (transport == RemoteTransport::unix_socket)
        return "redis+unix://" + userinfo + socket_path.string() + (database != 0 ? "?db=" + std::to_string(database) : "");
    const bool ipv6 = host.find(':') != std::string::npos;
    return "redis://" + userinfo + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/" + std::to_string(database);
}

Result<RemoteEndpoint> parse_remote_url(std::string_view url) {
    if (url.empty()) return bad_url(url, "empty (expected redis://host[:port][/db] or redis+unix:///path/to/socket)");
    for (std::size_t i = 0; i < url.size(); ++i) {
        const auto c = static_cast<unsigned char>(url[i]);
        if (c <= 0x20 || c == 0x7f)
            return bad_url(url, "space or control character at position " + std::to_string(i) + " (percent-encode it)");
    }
    if (url.find('#') != std::string_view::npos) return bad_url(url, "a fragment ('#...') is not allowed (percent-encode '#' as %23)");
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos)
        return bad_url(url, "no scheme (expected redis://host[:port][/db] or redis+unix:///path/to/socket)");
    std::string scheme(url.substr(0, scheme_end));
    std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const std::string_view rest = url.substr(scheme_end + 3);
    RemoteEndpoint out;
    if (scheme == "redis") {
        out.transport = RemoteTransport::tcp;
        if (auto ok = parse_tcp(url, rest, out); !ok) return tl::unexpected(ok.error());
    } else if (scheme == "redis+unix") {
        out.transport = RemoteTransport::unix_socket;
        if (auto ok = parse_unix(url, rest, out); !ok) return tl::unexpected(ok.error());
    } else if (scheme == "rediss") {
        return bad_url(url, "TLS (rediss://) is not supported; use redis:// on a trusted network, a tunnel, or redis+unix://");
    } else {
        return bad_url(url, "unsupported scheme '" + scheme + "' (expected redis or redis+unix)");
    }
    return out;
}

std::string remote_key_name(const CacheKey& key) { return "jdc:a" + std::to_string(arena::kVersionMajor) + ":" + key.to_hex(); }

// ---------------------------------------------------------------- the connection

struct RemoteStore::Connection {
    RemoteEndpoint endpoint;
    RemoteOptions options;
    std::string name;    // endpoint.describe(), for messages
    int fd = -1;         // the socket, non-blocking; -1 once closed after a failure
    std::string broken;  // why it was closed
    std::unique_ptr<char[]> buffer = std::make_unique<char[]>(kReadBuffer);
    std::size_t begin = 0, end = 0;  // the unread bytes of `buffer`
    RemoteCallStats last;
    Clock::time_point call_start{};
    std::optional<detail::SealKey> seal_key;  // with a team secret

    // One request on the wire: its name for messages and when it must be done.
    struct Request {
        std::string what;
        Clock::time_point deadline;
    };

    Connection() = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() {
        if (fd >= 0) ::close(fd);
    }

    std::string prefix() const { return "remote cache " + name + ": "; }

    void begin_call() {
        last = {};
        call_start = Clock::now();
    }
    // `local`: what a failure that did not come from the connection is (a value refused
    // by the checks, or an arena not sent); not_found is no failure.
    void end_call(const Error* error, RemoteFailure local) {
        last.ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - call_start).count());
        if (error != nullptr && last.failure == RemoteFailure::none && error->code != ErrorCode::not_found) last.failure = local;
    }

    // After a timeout, a protocol error or a failed read or write, the bytes in flight
    // are unknown: the socket is closed at once, so that nothing more is read or
    // allocated for this reply and the server sees the connection go.
    tl::unexpected<Error> fail(RemoteFailure kind, ErrorCode code, std::string message) {
        if (fd >= 0) ::close(fd);
        fd = -1;
        begin = end = 0;
        broken = message;
        last.failure = kind;
        return make_error(code, std::move(message));
    }
    tl::unexpected<Error> io_error(const Request& rq, const std::string& why) {
        return fail(RemoteFailure::io, ErrorCode::io, prefix() + rq.what + " failed: " + why);
    }
    tl::unexpected<Error> protocol_error(const Request& rq, const std::string& why) {
        return fail(RemoteFailure::protocol, ErrorCode::protocol,
                    prefix() + "protocol error in the reply to " + rq.what + ": " + why + "; connection closed");
    }
    std::string transferred() const {
        return std::to_string(last.bytes_sent) + " bytes sent, " + std::to_string(last.bytes_received) + " received";
    }
    tl::unexpected<Error> deadline_passed(const Request& rq) {
        return fail(RemoteFailure::timeout, ErrorCode::timeout,
                    prefix() + rq.what + " did not complete within the request deadline of " +
                        std::to_string(options.request_deadline_ms) + " ms (" + transferred() + ")");
    }
    // An error reply: the server refused the command. The reply was read whole, so the
    // connection stays in step and usable.
    tl::unexpected<Error> refused(std::string_view what, std::string_view message) {
        last.failure = RemoteFailure::refused;
        return make_error(ErrorCode::io, prefix() + std::string(what) + " refused: " + printable(message));
    }

    // Waits until the socket is ready for `events`: at most operation_timeout_ms (the
    // idle bound), and never past the request's deadline.
    Result<void> wait(short events, const Request& rq) {
        for (;;) {
            const auto now = Clock::now();
            if (now >= rq.deadline) return deadline_passed(rq);
            const auto left_ms = std::chrono::ceil<std::chrono::milliseconds>(rq.deadline - now).count();
            const bool idle_bound = options.operation_timeout_ms <= left_ms;
            pollfd p{fd, events, 0};
            const int ready = ::poll(&p, 1, static_cast<int>(idle_bound ? options.operation_timeout_ms : left_ms));
            if (ready > 0) return {};  // readable, writable, or an error that the next call reports
            if (ready < 0 && errno == EINTR) continue;
            if (ready < 0) return io_error(rq, std::string("poll: ") + std::strerror(errno));
            if (!idle_bound) continue;  // the deadline: the next round says so
            const std::string ms = std::to_string(options.operation_timeout_ms);
            std::string why;
            if (events == POLLOUT)
                why = "the server took no bytes of " + rq.what + " for " + ms + " ms";
            else if (last.bytes_received == 0)
                why = "no answer to " + rq.what + " within " + ms + " ms";
            else
                why = "the reply to " + rq.what + " stalled for " + ms + " ms";
            return fail(RemoteFailure::timeout, ErrorCode::timeout, prefix() + why + " (" + transferred() + ")");
        }
    }

    // Writes with MSG_NOSIGNAL: a server that went away makes send() fail with EPIPE
    // instead of raising SIGPIPE, with no signal mask or disposition touched.
    Result<void> send_all(std::string_view data, const Request& rq) {
        while (!data.empty()) {
            if (Clock::now() >= rq.deadline) return deadline_passed(rq);
            const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
            if (n > 0) {
                data.remove_prefix(static_cast<std::size_t>(n));
                last.bytes_sent += static_cast<std::uint64_t>(n);
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                if (auto ready = wait(POLLOUT, rq); !ready) return ready;
            } else {
                return io_error(rq, std::string("sending failed: ") + std::strerror(n < 0 ? errno : EIO));
            }
        }
        return {};
    }

    // Reads at most `capacity` bytes into `into`: at least one, or an error.
    Result<std::size_t> receive(char* into, std::size_t capacity, const Request& rq) {
        for (;;) {
            if (Clock::now() >= rq.deadline) return deadline_passed(rq);
            const ssize_t n = ::recv(fd, into, capacity, 0);
            if (n > 0) {
                last.bytes_received += static_cast<std::uint64_t>(n);
                return static_cast<std::size_t>(n);
            }
            if (n == 0)
                return io_error(rq, last.bytes_received == 0 ? "the server closed the connection without answering"
                                                              : "the server closed the connection in the middle of the reply (" +
                                                                    std::to_string(last.bytes_received) + " bytes received)");
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) return io_error(rq, std::string("receiving failed: ") + std::strerror(errno));
            if (auto ready = wait(POLLIN, rq); !ready) return tl::unexpected(ready.error());
        }
    }

    // Moves the unread bytes to the front of the buffer and reads more after them.
    Result<void> fill(const Request& rq) {
        if (begin > 0) {
            std::memmove(buffer.get(), buffer.get() + begin, end - begin);
            end -= begin;
            begin = 0;
        }
        auto n = receive(buffer.get() + end, kReadBuffer - end, rq);
        if (!n) return tl::unexpected(n.error());
        end += *n;
        return {};
    }

    // One line ending in CRLF, without it; valid until the next read.
    Result<std::string_view> read_line(const Request& rq) {
        std::size_t scanned = 0;  // bytes after `begin` known to hold no LF
        for (;;) {
            const char* start = buffer.get() + begin;
            if (const void* lf = std::memchr(start + scanned, '\n', end - begin - scanned)) {
                const std::size_t length = static_cast<std::size_t>(static_cast<const char*>(lf) - start);
                if (length == 0 || start[length - 1] != '\r')
                    return protocol_error(rq, "a reply line ends in LF without CR: '" + printable({start, length}, 64) + "'");
                begin += length + 1;
                return std::string_view(start, length - 1);
            }
            scanned = end - begin;
            if (scanned > kMaxReplyLine + 1)
                return protocol_error(rq, "a reply line longer than " + std::to_string(kMaxReplyLine) + " bytes: '" +
                                              printable({start, scanned}, 64) + "'");
            if (auto more = fill(rq); !more) return tl::unexpected(more.error());
        }
    }

    // The next `length` bytes of the stream: into `into`, or read and dropped when
    // `into` is null (then through the read buffer, whatever the length).
    Result<void> read_body(std::byte* into, std::uint64_t length, const Request& rq) {
        const std::size_t buffered = static_cast<std::size_t>(std::min<std::uint64_t>(length, end - begin));
        if (into != nullptr) {
            std::memcpy(into, buffer.get() + begin, buffered);
            into += buffered;
        }
        begin += buffered;
        length -= buffered;
        while (length > 0) {
            if (into == nullptr) {
                begin = end = 0;
                auto n = receive(buffer.get(), static_cast<std::size_t>(std::min<std::uint64_t>(length, kReadBuffer)), rq);
                if (!n) return tl::unexpected(n.error());
                length -= *n;
            } else {
                auto n = receive(reinterpret_cast<char*>(into), static_cast<std::size_t>(std::min<std::uint64_t>(length, 1u << 30)), rq);
                if (!n) return tl::unexpected(n.error());
                into += *n;
                length -= *n;
            }
        }
        while (end - begin < 2)
            if (auto more = fill(rq); !more) return more;
        if (buffer[begin] != '\r' || buffer[begin + 1] != '\n')
            return protocol_error(rq, "the bulk string is not followed by CRLF");
        begin += 2;
        return {};
    }

    // One reply, checked against what the command can answer before anything is
    // buffered or allocated for it: a bulk string's declared length is compared with
    // expect.max_bulk before a byte of it is read. A kept bulk string goes into `body`.
    Result<Reply> read_reply(const Expect& expect, std::string_view command, const Request& rq, std::vector<std::byte>* body) {
        auto line = read_line(rq);
        if (!line) return tl::unexpected(line.error());
        if (line->empty()) return protocol_error(rq, "an empty line where a reply belongs (" + expect.describe(command) + ")");
        const char type = line->front();
        const std::string_view rest = line->substr(1);
        switch (type) {
            case '+':
                if (expect.status.empty() || rest != expect.status)
                    return protocol_error(rq, "unexpected status reply '+" + printable(rest, 64) + "' (" + expect.describe(command) + ")");
                return Reply{Reply::Kind::status, {}, 0};
            case '-': return Reply{Reply::Kind::error, std::string(rest), 0};
            case '$': {
                if (!expect.bulk)
                    return protocol_error(rq, "unexpected bulk string reply ($" + printable(rest, 24) + ") (" + expect.describe(command) + ")");
                if (rest == "-1") return Reply{Reply::Kind::null_bulk, {}, 0};
                std::uint64_t length = 0;
                const bool digits = !rest.empty() && std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; });
                const auto [end_of_number, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), length);
                if (!digits || ec != std::errc() || end_of_number != rest.data() + rest.size())
                    return protocol_error(rq, "malformed bulk string length '" + printable(rest, 24) + "'");
                if (length > expect.max_bulk)
                    return protocol_error(rq, "a bulk string of " + std::to_string(length) + " bytes, where " + expect.describe(command) +
                                                  " (nothing of it was read)");
                std::byte* into = nullptr;
                if (length <= expect.keep && body != nullptr) {
                    body->resize(static_cast<std::size_t>(length));
                    into = body->data();
                }
                if (auto read = read_body(into, length, rq); !read) return tl::unexpected(read.error());
                return Reply{Reply::Kind::bulk, {}, length};
            }
            case '*':
                return protocol_error(rq, "unexpected array reply (*" + printable(rest, 24) + ") (" + expect.describe(command) + ")");
            case ':':
                return protocol_error(rq, "unexpected integer reply (:" + printable(rest, 24) + ") (" + expect.describe(command) + ")");
            default:
                return protocol_error(rq, "a reply of unknown type '" + printable(line->substr(0, 1)) + "' (" + expect.describe(command) + ")");
        }
    }

    // Sends the commands in one write (pipelining) and reads one reply per command,
    // all within one request deadline. An error reply is returned as a reply (the
    // caller knows what it means); every other failure closes the connection.
    Result<std::vector<Reply>> pipeline(std::span<const Command> commands, const Expect& expect, std::string what,
                                        std::vector<std::byte>* body = nullptr) {
        if (fd < 0) {
            last.failure = RemoteFailure::io;
            return make_error(ErrorCode::io, prefix() + "the connection failed earlier and cannot be used (" + broken + ")");
        }
        const Request rq{std::move(what), Clock::now() + std::chrono::milliseconds(options.request_deadline_ms)};
        // RESP2 has no unsolicited replies (jdc never subscribes or tracks): bytes left
        // over from the last request would be read as the answer to this one.
        if (begin != end)
            return protocol_error(rq, std::to_string(end - begin) + " bytes arrived after the previous reply, unasked: '" +
                                          printable({buffer.get() + begin, end - begin}, 64) + "'");
        if (auto sent = send_all(encode(commands), rq); !sent) return tl::unexpected(sent.error());
        std::vector<Reply> replies;
        replies.reserve(commands.size());
        for (const Command& command : commands) {
            auto reply = read_reply(expect, command.front(), rq, body);
            if (!reply) return tl::unexpected(reply.error());
            replies.push_back(std::move(*reply));
        }
        return replies;
    }

    // A command whose only good answer is +OK (AUTH, SELECT).
    Result<void> expect_ok(Command args, const std::string& what) {
        auto replies = pipeline(std::span<const Command>(&args, 1), Expect{"OK"}, what);
        if (!replies) return tl::unexpected(replies.error());
        if (replies->front().kind == Reply::Kind::error) return refused(what, replies->front().error);
        return {};
    }

    Result<RemoteArena> get(const CacheKey& key);
    Result<void> put_batch(std::span<const PutRequest> requests);
    Result<void> ping();
};

namespace {

// The error of a failed connect: a timeout when the socket did not connect in time.
tl::unexpected<Error> connect_failure(const std::string& name, const redisContext* context, int saved_errno, std::uint32_t timeout_ms) {
    const bool timed_out = context != nullptr && context->err == REDIS_ERR_IO &&
                           (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK || saved_errno == ETIMEDOUT || saved_errno == EINPROGRESS);
    if (timed_out)
        return make_error(ErrorCode::timeout, "remote cache " + name + ": no answer to connect within " + std::to_string(timeout_ms) + " ms");
    const std::string why = context == nullptr ? "out of memory" : context->errstr;
    return make_error(ErrorCode::io, "remote cache " + name + ": connect failed: " + why);
}

}  // namespace

RemoteStore::RemoteStore(std::unique_ptr<Connection> connection) : c_(std::move(connection)) {}
RemoteStore::RemoteStore(RemoteStore&&) noexcept = default;
RemoteStore& RemoteStore::operator=(RemoteStore&&) noexcept = default;
RemoteStore::~RemoteStore() = default;

const RemoteEndpoint& RemoteStore::endpoint() const noexcept { return c_->endpoint; }
const RemoteOptions& RemoteStore::options() const noexcept { return c_->options; }
const RemoteCallStats& RemoteStore::last_call() const noexcept { return c_->last; }
bool RemoteStore::usable() const noexcept { return c_->fd >= 0; }

Result<RemoteStore> RemoteStore::connect(const RemoteEndpoint& endpoint, const RemoteOptions& options) {
    auto c = std::make_unique<Connection>();
    c->endpoint = endpoint;
    c->options = options;
    c->name = endpoint.describe();
    auto invalid = [&](const std::string& why) { return make_error(ErrorCode::invalid_argument, "remote cache " + c->name + ": " + why); };
    for (const auto& [ms, what] : {std::pair{options.connect_timeout_ms, "the connect timeout"},
                                   std::pair{options.operation_timeout_ms, "the operation timeout"},
                                   std::pair{options.request_deadline_ms, "the request deadline"}})
        if (ms == 0 || ms > kMaxTimeoutMs)
            return invalid(std::string(what) + " is " + std::to_string(ms) + " ms; it must be from 1 to " + std::to_string(kMaxTimeoutMs) + " ms");
    if (options.max_value_bytes == 0 || options.max_value_bytes > kRedisMaxBulkBytes)
        return invalid("the value size cap must be from 1 byte to 512 MiB (Redis' largest string)");
    if (options.ttl_seconds > kRemoteMaxTtlSeconds)
        return invalid("a TTL of " + std::to_string(options.ttl_seconds) + " s is more than Redis accepts (at most " +
                       std::to_string(kRemoteMaxTtlSeconds) + " s)");
    if (!options.secret.empty()) {
        auto key = detail::derive_seal_key(options.secret);
        if (!key) return invalid(key.error().message);
        c->seal_key = *key;
    }

    // hiredis connects (name resolution, the connect timeout, unix sockets); from then
    // on the socket is ours: its reader would buffer a whole reply before anything
    // could check its size (0.14 has no limit on a bulk length or an array count).
    errno = 0;
    const timeval connect_timeout{static_cast<time_t>(options.connect_timeout_ms / 1000),
                                  static_cast<suseconds_t>((options.connect_timeout_ms % 1000) * 1000)};
    redisContext* context = endpoint.transport == RemoteTransport::unix_socket
                                ? redisConnectUnixWithTimeout(endpoint.socket_path.c_str(), connect_timeout)
                                : redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, connect_timeout);
    const int saved_errno = errno;
    if (context == nullptr || context->err != 0) {
        auto failed = connect_failure(c->name, context, saved_errno, options.connect_timeout_ms);
        if (context != nullptr) redisFree(context);
        return failed;
    }
    c->fd = redisFreeKeepFd(context);
    // Non-blocking: every wait is a poll() bounded by the idle timeout and the request
    // deadline. Close-on-exec: a compiler's children must not inherit the connection.
    const int flags = ::fcntl(c->fd, F_GETFL);
    if (flags < 0 || ::fcntl(c->fd, F_SETFL, flags | O_NONBLOCK) != 0 || ::fcntl(c->fd, F_SETFD, FD_CLOEXEC) != 0)
        return make_error(ErrorCode::io, "remote cache " + c->name + ": cannot set up the socket: " + std::strerror(errno));

    if (!endpoint.password.empty()) {
        auto auth = endpoint.username.empty() ? c->expect_ok({"AUTH", endpoint.password}, "AUTH")
                                              : c->expect_ok({"AUTH", endpoint.username, endpoint.password}, "AUTH");
        if (!auth) return tl::unexpected(auth.error());
    }
    if (endpoint.database != 0) {
        const std::string db = std::to_string(endpoint.database);
        if (auto select = c->expect_ok({"SELECT", db}, "SELECT " + db); !select) return tl::unexpected(select.error());
    }
    return RemoteStore(std::move(c));
}

Result<RemoteArena> RemoteStore::get(const CacheKey& key) {
    c_->begin_call();
    auto got = c_->get(key);
    c_->end_call(got ? nullptr : &got.error(), RemoteFailure::rejected);
    return got;
}

Result<RemoteArena> RemoteStore::Connection::get(const CacheKey& key) {
    const std::string key_name = remote_key_name(key);
    const std::string what = "GETRANGE " + key_name;
    // GETRANGE bounds the transfer on the server: at most max_value_bytes + 1 bytes
    // come back, and one more than the cap means the value is too long (it is read
    // through the small buffer and dropped, keeping the connection in step). A reply
    // that declares more is a protocol error, refused before a byte of it is read. A
    // missing key reads as the empty string, which no put ever stores.
    const std::uint64_t cap = options.max_value_bytes;
    const std::string last_index = std::to_string(cap);
    const Command command = {"GETRANGE", key_name, "0", last_index};
    auto value = std::make_unique<std::vector<std::byte>>();
    auto replies = pipeline(std::span<const Command>(&command, 1), Expect{{}, true, cap + 1, cap}, what, value.get());
    if (!replies) return tl::unexpected(replies.error());
    const Reply& r = replies->front();
    if (r.kind == Reply::Kind::error) return refused(what, r.error);
    // A null bulk is no answer Redis gives to GETRANGE; a server that answers a
    // missing key that way is read as saying so.
    if (r.kind == Reply::Kind::null_bulk || r.length == 0) return make_error(ErrorCode::not_found, prefix() + "no entry " + key_name);
    if (r.length > cap)
        return make_error(ErrorCode::limit_exceeded, prefix() + "entry " + key_name + " is longer than the cap of " + std::to_string(cap) + " bytes");

    const auto damaged = [&](const Error& e) { return make_error(e.code, prefix() + "entry " + key_name + ": " + e.message); };
    // The seal (§3.3): with the team secret, a value is used only if its seal matches
    // this key name; without one, a seal is skipped. Either way the arena follows.
    if (seal_key) {
        if (!detail::is_sealed(*value))
            return make_error(ErrorCode::corrupt, prefix() + "entry " + key_name + " is not sealed with the team secret");
        if (auto sealed = detail::check_seal(*seal_key, key_name, *value); !sealed) return damaged(sealed.error());
    }
    if (detail::is_sealed(*value)) value->erase(value->begin(), value->begin() + static_cast<std::ptrdiff_t>(detail::kSealBytes));
    // The header first (a compressed value keeps it uncompressed): a value that says it
    // answers another key — another table's, or this table's from before an edit — is
    // refused before it is decompressed or verified.
    if (auto h = read_arena_header(*value); !h) {
        return damaged(h.error());
    } else if (const CacheKey carried = arena_key(*h); !carried.is_zero() && carried != key) {
        return make_error(ErrorCode::corrupt, prefix() + "entry " + key_name + " holds the arena of key " + carried.to_hex());
    }
    VerifyLimits limits = options.limits;
    limits.max_total_size = std::min(limits.max_total_size, cap);
    if (is_compressed_arena(*value)) {
        // Held to the same cap as a raw value, and to the codec's expansion bound,
        // before anything is allocated for it.
        auto size = decompressed_size(*value, limits);
        if (!size) return damaged(size.error());
        auto decoded = std::make_unique<std::vector<std::byte>>(static_cast<std::size_t>(*size));
        last.bytes_decoded = *size;
        auto decoded_view = decompress_arena_view(*value, *decoded, limits);  // verified once, here
        if (!decoded_view) return damaged(decoded_view.error());
        return RemoteArena(key, std::move(decoded), *decoded_view);
    }
    auto view = ArenaView::open(*value, limits);
    if (!view) return damaged(view.error());
    return RemoteArena(key, std::move(value), *view);
}

namespace {

// The SET command for a request, or why it must not be sent. The command points into
// `name`, `ttl` and the request's bytes.
Result<Command> set_command(const RemoteOptions& options, const std::optional<detail::SealKey>& seal_key, const std::string& remote,
                            const PutRequest& request, const std::string& name, const std::string& ttl,
                            std::optional<std::vector<std::byte>>& compressed) {
    if (request.arena.size() > options.max_value_bytes)
        return make_error(ErrorCode::limit_exceeded, "remote cache " + remote + ": not storing " + name + ": " +
                                                         std::to_string(request.arena.size()) + " bytes is over the cap of " +
                                                         std::to_string(options.max_value_bytes));
    if (auto ok = verify_arena(request.arena, request.verified ? VerifyLevel::header : VerifyLevel::full, options.limits); !ok)
        return make_error(ErrorCode::invalid_argument, "remote cache " + remote + ": not storing " + name + ": " + ok.error().message);
    auto packed = compress_by_policy(request.arena, options.compression);
    if (!packed) return make_error(ErrorCode::invalid_argument, "remote cache " + remote + ": not storing " + name + ": " + packed.error().message);
    compressed = std::move(*packed);
    std::span<const std::byte> sent = compressed ? std::span<const std::byte>(*compressed) : request.arena;
    if (seal_key) {  // §3.3: the seal, then the value, within the cap
        if (sent.size() + detail::kSealBytes > options.max_value_bytes)
            return make_error(ErrorCode::limit_exceeded, "remote cache " + remote + ": not storing " + name + ": " +
                                                             std::to_string(sent.size() + detail::kSealBytes) +
                                                             " bytes with its seal is over the cap of " + std::to_string(options.max_value_bytes));
        const auto head = detail::seal(*seal_key, name, sent);
        std::vector<std::byte> sealed;
        sealed.reserve(head.size() + sent.size());
        sealed.insert(sealed.end(), head.begin(), head.end());
        sealed.insert(sealed.end(), sent.begin(), sent.end());
        compressed = std::move(sealed);
        sent = *compressed;
    }
    const std::string_view value(reinterpret_cast<const char*>(sent.data()), sent.size());
    if (options.ttl_seconds == 0) return Command{"SET", name, value};
    return Command{"SET", name, value, "EX", ttl};
}

}  // namespace

Result<void> RemoteStore::put(const PutRequest& request) { return put_batch(std::span<const PutRequest>(&request, 1)); }

Result<void> RemoteStore::put_batch(std::span<const PutRequest> requests) {
    c_->begin_call();
    auto done = c_->put_batch(requests);
    c_->end_call(done ? nullptr : &done.error(), RemoteFailure::not_sent);
    return done;
}

Result<void> RemoteStore::Connection::put_batch(std::span<const PutRequest> requests) {
    if (requests.empty()) return {};
    const std::string ttl = std::to_string(options.ttl_seconds);
    std::vector<std::string> names;
    names.reserve(requests.size());  // never reallocated: the commands point into it
    std::vector<std::optional<std::vector<std::byte>>> compressed(requests.size());  // the commands point into these too
    std::vector<Command> commands;
    commands.reserve(requests.size());
    for (const PutRequest& request : requests) {
        names.push_back(remote_key_name(request.key));
        auto set = set_command(options, seal_key, name, request, names.back(), ttl, compressed[names.size() - 1]);
        if (!set) return tl::unexpected(set.error());
        commands.push_back(std::move(*set));
    }
    const std::string what = requests.size() == 1 ? "SET " + names.front() : "SET of " + std::to_string(requests.size()) + " entries";
    auto replies = pipeline(commands, Expect{"OK"}, what);
    if (!replies) return tl::unexpected(replies.error());
    for (std::size_t i = 0; i < replies->size(); ++i)
        if ((*replies)[i].kind == Reply::Kind::error) return refused("SET " + names[i], (*replies)[i].error);
    return {};
}

Result<void> RemoteStore::ping() {
    c_->begin_call();
    auto done = c_->ping();
    c_->end_call(done ? nullptr : &done.error(), RemoteFailure::io);
    return done;
}

Result<void> RemoteStore::Connection::ping() {
    const Command command = {"PING"};
    auto replies = pipeline(std::span<const Command>(&command, 1), Expect{"PONG"}, "PING");
    if (!replies) return tl::unexpected(replies.error());
    if (replies->front().kind == Reply::Kind::error) return refused("PING", replies->front().error);
    return {};
}

}  // namespace jdc
