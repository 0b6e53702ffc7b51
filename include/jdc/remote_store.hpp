// jdc — the remote tier: arenas shared by many machines through one Redis server.
//
// Storage layer; knows nothing of builds. One RemoteStore is one connection: hiredis
// opens it (name resolution, connect timeout, unix sockets), then jdc speaks RESP2 on
// the socket itself, so that every reply is bounded before it is buffered (hiredis
// 0.14's reader buffers a whole bulk string or array before anyone can look at its
// size, and has no limits to set). Entries are specified byte by byte in
// format-spec/remote-cache-v1.md:
//
//   key    "jdc:a<arena major>:<32 lowercase hex digits of the CacheKey>"   e.g. jdc:a1:00ff...
//   value  an arena (arena-v1.md) or a compressed arena (compressed-arena-v1.md),
//          1 byte to max_value_bytes long; no other framing
//   TTL    none, or ttl_seconds from the last put (SET ... EX), at most kRemoteMaxTtlSeconds
//
// Guarantees and caveats:
//  - Nothing the server sends is trusted. Every reply is checked against what the
//    command can answer before anything is buffered or allocated for it: GETRANGE
//    0..max_value_bytes answers with one bulk string of at most max_value_bytes + 1
//    bytes, SET with +OK, PING with +PONG, any of them with an error line. A bulk
//    string that declares more, an array (*N), an integer, a status other than the
//    expected one, an unknown type byte, a line over 4096 bytes or without CRLF, or
//    bytes left over after the previous reply, is a protocol error
//    (ErrorCode::protocol): refused as soon as its first line is read, nothing of its
//    body read or allocated, the connection closed. Memory per reply is the 16 KiB
//    read buffer plus the value itself (at most max_value_bytes).
//  - get() then verifies the value in full before returning it: a value of
//    max_value_bytes + 1 bytes (longer than the cap) is read through the small buffer,
//    dropped and refused with limit_exceeded; a compressed value is held to the cap and
//    to kMaxCompressionRatio (payload_codec.hpp) before its arena is allocated. A
//    well-formed arena of another table stored under the key is not detected here (the
//    key is a hash of build inputs, not of the bytes): the cache layer checks the name
//    and arity and binds to the registry.
//  - put() verifies the arena in full before sending it: the shared cache never gets
//    bytes that a reader would refuse.
//  - Time: connecting waits at most connect_timeout_ms (name resolution by getaddrinfo
//    is not covered: use an address, or a name the resolver answers fast). Every
//    request (get, put, put_batch, ping, and AUTH and SELECT in connect) must be done
//    within request_deadline_ms from its first byte sent to its last reply byte read,
//    and no single wait for the socket lasts longer than operation_timeout_ms (an idle
//    bound: a dead server is noticed before the deadline). A server that drips its
//    answer a byte at a time gets the deadline. Local work before sending (verifying,
//    compressing) and after receiving (decompressing, verifying) is bounded by the size
//    caps, not by the deadline.
//  - Failures, each with its own code and RemoteCallStats::failure:
//      timeout   the deadline passed or the server was idle too long (ErrorCode::timeout)
//      protocol  a reply the request cannot produce (ErrorCode::protocol)
//      io        the connection failed: closed, reset, refused (ErrorCode::io)
//      refused   the server answered with an error reply (ErrorCode::io; the message
//                quotes it): NOAUTH, WRONGTYPE, OOM, READONLY, NOPERM...
//      rejected  get: the value was refused (the verification codes, limit_exceeded)
//      not_sent  put: the arena was refused before anything was sent
//    After timeout, protocol or io the socket is closed at once (usable() is false)
//    and every later call fails with io: drop the RemoteStore. After refused, rejected
//    and not_sent the connection stays in step and usable.
//  - Cost accounting: last_call() gives the bytes sent, received and decoded and the
//    time of the last call, failed or not, for budgets kept by the caller.
//  - SIGPIPE: every write is send(MSG_NOSIGNAL), so a server that went away makes it
//    fail with EPIPE (an io error) instead of raising SIGPIPE; no signal mask or
//    disposition is touched, so a compiler that relies on SIGPIPE for its own pipes,
//    and every child it starts, keeps the default behaviour. The socket is
//    close-on-exec.
//  - Not thread-safe: one RemoteStore per thread at a time (the cache layer keeps a
//    small pool).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jdc/arena_store.hpp"
#include "jdc/arena_verify.hpp"
#include "jdc/arena_view.hpp"
#include "jdc/cache_key.hpp"
#include "jdc/error.hpp"
#include "jdc/export.hpp"
#include "jdc/payload_codec.hpp"

namespace jdc {

enum class RemoteTransport : std::uint8_t { tcp, unix_socket };

// Where the remote is, parsed from a URL:
//   redis://[[user]:password@]host[:port][/db]          host: name, IPv4, or [IPv6]
//   redis+unix://[[user]:password@]/path/to/socket[?db=N]
// Port defaults to 6379, db to 0. User and password may be percent-encoded (%40 for
// '@'); with a password, AUTH is sent on connect (with a user, Redis 6 ACL form).
struct JDC_API RemoteEndpoint {
    RemoteTransport transport = RemoteTransport::tcp;
    std::string host;  // tcp; an IPv6 address without its brackets
    std::uint16_t port = 6379;
    std::filesystem::path socket_path;  // unix_socket; absolute
    std::string username;               // empty: AUTH <password>
    std::string password;               // empty: no AUTH
    std::uint32_t database = 0;

    // The URL for messages and reports, with the password shown as "***".
    std::string describe() const;
};

inline constexpr std::uint16_t kDefaultRedisPort = 6379;
inline constexpr std::uint64_t kDefaultRemoteMaxValueBytes = 64ull * 1024 * 1024;
inline constexpr std::uint32_t kDefaultRemoteRequestDeadlineMs = 5000;

// The longest TTL Redis accepts. SET ... EX s is refused unless s * 1000 plus the
// server's clock in milliseconds fits a signed 64-bit integer: s <= (2^63 - 1 - now_ms)
// / 1000, 9,223,370,240,567,998 s against redis-server 7.0.15 on 2026-12-03 (found by
// bisection, equal to the formula), one less every second. The cap is a round number
// under it that holds while the server's clock reads before the year 7,000,000 or so,
// and is still 285 million years.
inline constexpr std::uint64_t kRemoteMaxTtlSeconds = 9'000'000'000'000'000ull;

// Errors: invalid_argument, naming what is wrong with the URL (scheme, host, port,
// database, socket path, escape, query) and repeating the URL without its password.
JDC_API Result<RemoteEndpoint> parse_remote_url(std::string_view url);

struct JDC_API RemoteOptions {
    std::uint32_t connect_timeout_ms = 200;
    std::uint32_t operation_timeout_ms = 500;  // per socket wait, see above
    // Every request done within this, from its first byte sent to its last byte read.
    // 5 s: loopback and LAN requests take well under a millisecond per 100 KiB, and the
    // largest default value (64 MiB) crosses a 1 Gbit/s link in about 0.55 s; raise it
    // for values near the cap on slow links.
    std::uint32_t request_deadline_ms = kDefaultRemoteRequestDeadlineMs;
    std::uint64_t ttl_seconds = 0;             // 0: entries live until Redis evicts them; at most kRemoteMaxTtlSeconds
    std::uint64_t max_value_bytes = kDefaultRemoteMaxValueBytes;
    VerifyLimits limits;  // applied to every fetched arena (max_total_size also caps puts)
    // Which values are sent compressed (payload_codec.hpp; CompressionPolicy::for_transfer()
    // sends zstd from 4 KiB). A fetched value may be raw or compressed either way: it
    // is decompressed (its arena held to the same caps as a raw value) and verified.
    CompressionPolicy compression = CompressionPolicy::off();
    // The team secret (format-spec/remote-cache-v1.md §3.3); empty: none. With one,
    // every value written is sealed with a keyed MAC over its key name and bytes, and
    // a value read is used only if its seal matches (else rejected, `corrupt`), so only
    // holders of the secret write values that are used. Without one, a sealed value's
    // seal is skipped. Never printed.
    std::string secret;
};

// How the last call of a RemoteStore failed (see the header comment).
enum class RemoteFailure : std::uint8_t {
    none,      // success, or a miss (not_found)
    rejected,  // get: the value was refused by the checks; server and connection fine
    not_sent,  // put: the arena was refused before anything was sent
    refused,   // the server answered with an error reply; the connection is usable
    protocol,  // the server broke the protocol; the connection is closed
    timeout,   // the deadline passed or the server went idle; the connection is closed
    io,        // the connection failed (or had failed before); it is closed
};

// What the last call cost, whether it succeeded or not.
struct RemoteCallStats {
    std::uint64_t bytes_sent = 0;      // written to the socket (RESP framing included)
    std::uint64_t bytes_received = 0;  // read from the socket (RESP framing included, dropped bytes too)
    std::uint64_t bytes_decoded = 0;   // get: the arena a compressed value was decompressed into
                                       // (allocated and decoded); 0 for a raw value or one
                                       // refused before decoding
    std::uint64_t ns = 0;              // wall time of the call
    RemoteFailure failure = RemoteFailure::none;
};

// The Redis key of an entry: "jdc:a1:<32 hex>".
JDC_API std::string remote_key_name(const CacheKey& key);

// An arena fetched from the remote and verified in full. Owns its bytes: the view
// stays valid as long as this object lives (moving it keeps the bytes in place).
class JDC_API RemoteArena {
public:
    const ArenaView& view() const noexcept { return view_; }
    const CacheKey& key() const noexcept { return key_; }

private:
    friend class RemoteStore;
    RemoteArena(CacheKey key, std::unique_ptr<std::vector<std::byte>> bytes, ArenaView view)
        : key_(key), bytes_(std::move(bytes)), view_(view) {}
    CacheKey key_;
    std::unique_ptr<std::vector<std::byte>> bytes_;
    ArenaView view_;
};

class JDC_API RemoteStore {
public:
    // Connects, then AUTH (when the endpoint has a password) and SELECT (when its
    // database is not 0), each a request with its own deadline. Errors: timeout
    // (connect or first answer), io (refused, unreachable, name not resolved, AUTH or
    // SELECT refused: the message quotes the server), protocol (AUTH or SELECT answered
    // with anything but +OK or an error), invalid_argument (options out of range: a
    // timeout or deadline of 0 or over 600000 ms, a cap of 0 or over 512 MiB, a TTL
    // over kRemoteMaxTtlSeconds).
    static Result<RemoteStore> connect(const RemoteEndpoint& endpoint, const RemoteOptions& options = {});

    RemoteStore(RemoteStore&&) noexcept;
    RemoteStore& operator=(RemoteStore&&) noexcept;
    ~RemoteStore();

    // The entry for `key`, verified in full. Errors: not_found (a miss), limit_exceeded
    // (longer than max_value_bytes, or a compressed value whose arena is over it or
    // expands more than kMaxCompressionRatio), the verification error of a damaged
    // value (bad_magic, truncated, corrupt, checksum_mismatch, unsupported_version,
    // limit_exceeded), timeout, protocol, io (connection lost, server error such as
    // NOAUTH).
    Result<RemoteArena> get(const CacheKey& key);
    // Stores the arena under `request.key`, replacing any previous value, with the
    // configured TTL; `config_hash` is not stored. Errors: invalid_argument (does not
    // verify), limit_exceeded (longer than max_value_bytes), timeout, protocol, io
    // (connection lost; server refusal such as OOM under maxmemory with noeviction, or
    // READONLY on a replica: the message quotes it).
    Result<void> put(const PutRequest& request);
    // Many puts in one round trip (pipelined SETs): every arena is checked first and
    // nothing is sent if one fails the checks; on a refusal by the server the entries
    // before it are stored. Errors as put().
    Result<void> put_batch(std::span<const PutRequest> requests);
    // One round trip; for health checks and benchmarks. Errors: timeout, protocol, io.
    Result<void> ping();

    const RemoteEndpoint& endpoint() const noexcept;
    const RemoteOptions& options() const noexcept;
    // The cost and failure kind of the last get, put, put_batch or ping.
    const RemoteCallStats& last_call() const noexcept;
    // False once a timeout, protocol error or failed read or write closed the socket.
    bool usable() const noexcept;

private:
    struct Connection;
    RemoteStore(std::unique_ptr<Connection> connection);
    std::unique_ptr<Connection> c_;
};

static_assert(ArenaStore<RemoteStore>);

}  // namespace jdc
