#include "jdc/remote_store.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <ctime>
#include <limits>
#include <optional>
#include <span>
#include <vector>

#include <pthread.h>
#include <sys/time.h>
#include <sys/un.h>

#include <hiredis/hiredis.h>

#include "jdc/arena_format.hpp"

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

// ---------------------------------------------------------------- SIGPIPE

// Blocks SIGPIPE in this thread for the life of the guard and consumes a SIGPIPE
// raised meanwhile (see the header: hiredis writes with write(2)). A SIGPIPE that was
// already pending when the guard started is left alone: it is not ours.
class SigpipeGuard {
public:
    SigpipeGuard() {
        sigemptyset(&pipe_);
        sigaddset(&pipe_, SIGPIPE);
        sigset_t pending;
        sigemptyset(&pending);
        was_pending_ = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
        blocked_ = pthread_sigmask(SIG_BLOCK, &pipe_, &previous_) == 0;
    }
    ~SigpipeGuard() {
        if (!blocked_) return;
        sigset_t pending;
        sigemptyset(&pending);
        if (!was_pending_ && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
            const timespec no_wait{0, 0};
            while (sigtimedwait(&pipe_, nullptr, &no_wait) < 0 && errno == EINTR) {
            }
        }
        pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
    }
    SigpipeGuard(const SigpipeGuard&) = delete;
    SigpipeGuard& operator=(const SigpipeGuard&) = delete;

private:
    sigset_t pipe_{};
    sigset_t previous_{};
    bool was_pending_ = false;
    bool blocked_ = false;
};

timeval to_timeval(std::uint32_t ms) { return {static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)}; }

struct ReplyDeleter {
    void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

std::string_view reply_text(const redisReply& r) { return {r.str != nullptr ? r.str : "", r.str != nullptr ? r.len : 0}; }

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
    std::string name;  // endpoint.describe(), for messages
    redisContext* context = nullptr;

    ~Connection() {
        if (context != nullptr) redisFree(context);
    }

    tl::unexpected<Error> failure(std::string_view what, int saved_errno) const {
        const bool timed_out = context != nullptr && context->err == REDIS_ERR_IO &&
                               (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK || saved_errno == ETIMEDOUT || saved_errno == EINPROGRESS);
        if (timed_out) {
            const std::uint32_t ms = what == "connect" ? options.connect_timeout_ms : options.operation_timeout_ms;
            return make_error(ErrorCode::timeout, "remote cache " + name + ": no answer to " + std::string(what) + " within " +
                                                      std::to_string(ms) + " ms");
        }
        const std::string why = context == nullptr ? "out of memory" : context->errstr;
        return make_error(ErrorCode::io, "remote cache " + name + ": " + std::string(what) + " failed: " + why);
    }

    using Command = std::vector<std::string_view>;

    // Sends the commands in one write (pipelining) and reads one reply per command.
    // An error reply is returned as a reply (the caller knows what it means); only a
    // broken connection is an error here. `what` names the operation in messages.
    Result<std::vector<Reply>> pipeline(std::span<const Command> commands, std::string_view what) {
        if (context == nullptr || context->err != 0)
            return make_error(ErrorCode::io, "remote cache " + name + ": the connection failed earlier and cannot be used");
        std::vector<Reply> replies;
        replies.reserve(commands.size());
        int saved_errno = 0;
        {
            SigpipeGuard guard;
            errno = 0;
            std::vector<const char*> argv;
            std::vector<std::size_t> lengths;
            for (const Command& args : commands) {
                argv.clear();
                lengths.clear();
                for (std::string_view a : args) {
                    argv.push_back(a.data());
                    lengths.push_back(a.size());
                }
                if (redisAppendCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lengths.data()) != REDIS_OK) break;
            }
            while (context->err == 0 && replies.size() < commands.size()) {
                void* raw = nullptr;
                if (redisGetReply(context, &raw) != REDIS_OK || raw == nullptr) break;
                replies.emplace_back(static_cast<redisReply*>(raw));
            }
            saved_errno = errno;
        }
        if (replies.size() < commands.size()) return failure(what, saved_errno);
        return replies;
    }

    Result<Reply> command(Command args, std::string_view what) {
        auto replies = pipeline(std::span<const Command>(&args, 1), what);
        if (!replies) return tl::unexpected(replies.error());
        return std::move(replies->front());
    }

    tl::unexpected<Error> refused(std::string_view what, const redisReply& r) const {
        if (r.type == REDIS_REPLY_ERROR)
            return make_error(ErrorCode::io, "remote cache " + name + ": " + std::string(what) + " refused: " + std::string(reply_text(r)));
        return make_error(ErrorCode::io, "remote cache " + name + ": unexpected reply to " + std::string(what) + " (type " +
                                             std::to_string(r.type) + ")");
    }

    // A command whose only good answer is +OK (AUTH, SELECT, SET).
    Result<void> expect_ok(Command args, std::string_view what) {
        auto reply = command(std::move(args), what);
        if (!reply) return tl::unexpected(reply.error());
        const redisReply& r = **reply;
        if (r.type == REDIS_REPLY_STATUS && reply_text(r) == "OK") return {};
        return refused(what, r);
    }
};

RemoteStore::RemoteStore(std::unique_ptr<Connection> connection) : c_(std::move(connection)) {}
RemoteStore::RemoteStore(RemoteStore&&) noexcept = default;
RemoteStore& RemoteStore::operator=(RemoteStore&&) noexcept = default;
RemoteStore::~RemoteStore() = default;

const RemoteEndpoint& RemoteStore::endpoint() const noexcept { return c_->endpoint; }
const RemoteOptions& RemoteStore::options() const noexcept { return c_->options; }

Result<RemoteStore> RemoteStore::connect(const RemoteEndpoint& endpoint, const RemoteOptions& options) {
    auto c = std::make_unique<Connection>();
    c->endpoint = endpoint;
    c->options = options;
    c->name = endpoint.describe();
    auto invalid = [&](const std::string& why) { return make_error(ErrorCode::invalid_argument, "remote cache " + c->name + ": " + why); };
    if (options.connect_timeout_ms == 0 || options.connect_timeout_ms > kMaxTimeoutMs ||
        options.operation_timeout_ms == 0 || options.operation_timeout_ms > kMaxTimeoutMs)
        return invalid("timeouts must be from 1 to " + std::to_string(kMaxTimeoutMs) + " ms");
    if (options.max_value_bytes == 0 || options.max_value_bytes > kRedisMaxBulkBytes)
        return invalid("the value size cap must be from 1 byte to 512 MiB (Redis' largest string)");

    errno = 0;
    if (endpoint.transport == RemoteTransport::unix_socket)
        c->context = redisConnectUnixWithTimeout(endpoint.socket_path.c_str(), to_timeval(options.connect_timeout_ms));
    else
        c->context = redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, to_timeval(options.connect_timeout_ms));
    const int saved_errno = errno;
    if (c->context == nullptr || c->context->err != 0) return c->failure("connect", saved_errno);
    if (redisSetTimeout(c->context, to_timeval(options.operation_timeout_ms)) != REDIS_OK)
        return c->failure("setting the operation timeout", errno);

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
    const std::string name = remote_key_name(key);
    // GETRANGE bounds the transfer on the server: at most max_value_bytes + 1 bytes
    // come back, and one more than the cap means the value is too long. A missing key
    // reads as the empty string, which no put ever stores.
    const std::string last = std::to_string(c_->options.max_value_bytes);
    auto reply = c_->command({"GETRANGE", name, "0", last}, "GETRANGE " + name);
    if (!reply) return tl::unexpected(reply.error());
    const redisReply& r = **reply;
    if (r.type != REDIS_REPLY_STRING) return c_->refused("GETRANGE " + name, r);
    if (r.len == 0) return make_error(ErrorCode::not_found, "remote cache " + c_->name + ": no entry " + name);
    if (r.len > c_->options.max_value_bytes)
        return make_error(ErrorCode::limit_exceeded, "remote cache " + c_->name + ": entry " + name + " is longer than the cap of " +
                                                         std::to_string(c_->options.max_value_bytes) + " bytes");

    const auto damaged = [&](const Error& e) {
        return make_error(e.code, "remote cache " + c_->name + ": entry " + name + ": " + e.message);
    };
    VerifyLimits limits = c_->options.limits;
    limits.max_total_size = std::min(limits.max_total_size, c_->options.max_value_bytes);
    const std::span<const std::byte> value(reinterpret_cast<const std::byte*>(r.str), r.len);
    std::unique_ptr<std::vector<std::byte>> bytes;
    if (is_compressed_arena(value)) {
        // Held to the same cap as a raw value before anything is allocated for it.
        auto decoded = decompress_arena(value, limits);
        if (!decoded) return damaged(decoded.error());
        bytes = std::make_unique<std::vector<std::byte>>(std::move(*decoded));
    } else {
        bytes = std::make_unique<std::vector<std::byte>>(value.begin(), value.end());
    }
    reply->reset();  // the copy is all we keep
    auto view = ArenaView::open(*bytes, limits);
    if (!view) return damaged(view.error());
    return RemoteArena(key, std::move(bytes), *view);
}

namespace {

// The SET command for a request, or why it must not be sent. The command points into
// `name`, `ttl` and the request's bytes.
Result<std::vector<std::string_view>> set_command(const RemoteOptions& options, const std::string& remote, const PutRequest& request,
                                                   const std::string& name, const std::string& ttl,
                                                   std::optional<std::vector<std::byte>>& compressed) {
    if (request.arena.size() > options.max_value_bytes)
        return make_error(ErrorCode::limit_exceeded, "remote cache " + remote + ": not storing " + name + ": " +
                                                         std::to_string(request.arena.size()) + " bytes is over the cap of " +
                                                         std::to_string(options.max_value_bytes));
    if (auto ok = verify_arena(request.arena, VerifyLevel::full, options.limits); !ok)
        return make_error(ErrorCode::invalid_argument, "remote cache " + remote + ": not storing " + name + ": " + ok.error().message);
    auto packed = compress_by_policy(request.arena, options.compression);
    if (!packed) return make_error(ErrorCode::invalid_argument, "remote cache " + remote + ": not storing " + name + ": " + packed.error().message);
    compressed = std::move(*packed);
    const std::span<const std::byte> sent = compressed ? std::span<const std::byte>(*compressed) : request.arena;
    const std::string_view value(reinterpret_cast<const char*>(sent.data()), sent.size());
    if (options.ttl_seconds == 0) return std::vector<std::string_view>{"SET", name, value};
    return std::vector<std::string_view>{"SET", name, value, "EX", ttl};
}

}  // namespace

Result<void> RemoteStore::put(const PutRequest& request) { return put_batch(std::span<const PutRequest>(&request, 1)); }

Result<void> RemoteStore::put_batch(std::span<const PutRequest> requests) {
    if (requests.empty()) return {};
    const std::string ttl = std::to_string(c_->options.ttl_seconds);
    std::vector<std::string> names;
    names.reserve(requests.size());  // never reallocated: the commands point into it
    std::vector<std::optional<std::vector<std::byte>>> compressed(requests.size());  // the commands point into these too
    std::vector<Connection::Command> commands;
    commands.reserve(requests.size());
    for (const PutRequest& request : requests) {
        names.push_back(remote_key_name(request.key));
        auto set = set_command(c_->options, c_->name, request, names.back(), ttl, compressed[names.size() - 1]);
        if (!set) return tl::unexpected(set.error());
        commands.push_back(std::move(*set));
    }
    const std::string what = requests.size() == 1 ? "SET " + names.front() : "SET of " + std::to_string(requests.size()) + " entries";
    auto replies = c_->pipeline(commands, what);
    if (!replies) return tl::unexpected(replies.error());
    for (std::size_t i = 0; i < replies->size(); ++i) {
        const redisReply& r = *(*replies)[i];
        if (r.type != REDIS_REPLY_STATUS || reply_text(r) != "OK") return c_->refused("SET " + names[i], r);
    }
    return {};
}

Result<void> RemoteStore::ping() {
    auto reply = c_->command({"PING"}, "PING");
    if (!reply) return tl::unexpected(reply.error());
    if ((*reply)->type == REDIS_REPLY_STATUS && reply_text(**reply) == "PONG") return {};
    return c_->refused("PING", **reply);
}

}  // namespace jdc
