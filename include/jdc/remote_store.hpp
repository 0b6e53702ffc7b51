// jdc — the remote tier: arenas shared by many machines through one Redis server.
//
// Storage layer; knows nothing of builds. One RemoteStore is one connection (hiredis,
// blocking, with timeouts). Entries are specified byte by byte in
// format-spec/remote-cache-v1.md:
//
//   key    "jdc:a<arena major>:<32 lowercase hex digits of the CacheKey>"   e.g. jdc:a1:00ff...
//   value  the arena's bytes exactly as in a loose .jdca file (arena-v1.md), 1 byte
//          to max_value_bytes long; no framing, no compression
//   TTL    none, or ttl_seconds from the last put (SET ... EX)
//
// Guarantees and caveats:
//  - Nothing fetched is trusted: get() bounds the value on the server (GETRANGE
//    0..max_value_bytes, so at most max_value_bytes + 1 bytes are ever transferred or
//    allocated, and a longer value is refused with limit_exceeded), then verifies it in
//    full before returning it. A well-formed arena of another table stored under the
//    key is not detected here (the key is a hash of build inputs, not of the bytes):
//    the cache layer checks the name and arity and binds to the registry.
//  - put() verifies the arena in full before sending it: the shared cache never gets
//    bytes that a reader would refuse.
//  - Timeouts: connecting waits at most connect_timeout_ms (name resolution by
//    getaddrinfo is not covered: use an address, or a name the resolver answers fast);
//    every later socket read or write waits at most operation_timeout_ms (an idle
//    bound, so a large value that keeps arriving is not cut off). A timeout is
//    ErrorCode::timeout; every other failure of the server or the connection is io.
//    After any failure the connection is unusable: drop the RemoteStore.
//  - SIGPIPE: hiredis 0.14 writes with write(2), which raises SIGPIPE when the server
//    has gone away, and Linux offers no per-socket opt-out (no SO_NOSIGPIPE; hiredis
//    cannot pass MSG_NOSIGNAL). Every command therefore runs with SIGPIPE blocked in the
//    calling thread (pthread_sigmask), and a SIGPIPE it raised is consumed before the
//    mask is restored: the write fails with EPIPE, which becomes an io error. The
//    process-wide disposition is never changed, so a compiler that relies on SIGPIPE
//    for its own pipes, and every child it starts, keeps the default behaviour (the
//    approach of libpq). Cost: three system calls per command, ~1 us against a round
//    trip of 20 us or more.
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
#include "jdc/payload_codec.hpp"

namespace jdc {

enum class RemoteTransport : std::uint8_t { tcp, unix_socket };

// Where the remote is, parsed from a URL:
//   redis://[[user]:password@]host[:port][/db]          host: name, IPv4, or [IPv6]
//   redis+unix://[[user]:password@]/path/to/socket[?db=N]
// Port defaults to 6379, db to 0. User and password may be percent-encoded (%40 for
// '@'); with a password, AUTH is sent on connect (with a user, Redis 6 ACL form).
struct RemoteEndpoint {
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

// Errors: invalid_argument, naming what is wrong with the URL (scheme, host, port,
// database, socket path, escape, query) and repeating the URL without its password.
Result<RemoteEndpoint> parse_remote_url(std::string_view url);

struct RemoteOptions {
    std::uint32_t connect_timeout_ms = 200;
    std::uint32_t operation_timeout_ms = 500;  // per socket wait, see above
    std::uint64_t ttl_seconds = 0;             // 0: entries live until Redis evicts them
    std::uint64_t max_value_bytes = kDefaultRemoteMaxValueBytes;
    VerifyLimits limits;  // applied to every fetched arena (max_total_size also caps puts)
    // Which values are sent compressed (payload_codec.hpp; CompressionPolicy::for_transfer()
    // sends zstd from 4 KiB). A fetched value may be raw or compressed either way: it
    // is decompressed (its arena held to the same caps as a raw value) and verified.
    CompressionPolicy compression = CompressionPolicy::off();
};

// The Redis key of an entry: "jdc:a1:<32 hex>".
std::string remote_key_name(const CacheKey& key);

// An arena fetched from the remote and verified in full. Owns its bytes: the view
// stays valid as long as this object lives (moving it keeps the bytes in place).
class RemoteArena {
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

class RemoteStore {
public:
    // Connects, then AUTH (when the endpoint has a password) and SELECT (when its
    // database is not 0). Errors: timeout (connect or first answer), io (refused,
    // unreachable, name not resolved, AUTH or SELECT refused: the message quotes the
    // server), invalid_argument (options out of range).
    static Result<RemoteStore> connect(const RemoteEndpoint& endpoint, const RemoteOptions& options = {});

    RemoteStore(RemoteStore&&) noexcept;
    RemoteStore& operator=(RemoteStore&&) noexcept;
    ~RemoteStore();

    // The entry for `key`, verified in full. Errors: not_found (a miss), limit_exceeded
    // (longer than max_value_bytes), the verification error of a damaged value
    // (bad_magic, truncated, corrupt, checksum_mismatch, unsupported_version,
    // limit_exceeded), timeout, io (connection lost, server error such as NOAUTH).
    Result<RemoteArena> get(const CacheKey& key);
    // Stores the arena under `request.key`, replacing any previous value, with the
    // configured TTL; `config_hash` is not stored. Errors: invalid_argument (does not
    // verify), limit_exceeded (longer than max_value_bytes), timeout, io (connection
    // lost; server refusal such as OOM under maxmemory with noeviction, or READONLY on
    // a replica: the message quotes it).
    Result<void> put(const PutRequest& request);
    // Many puts in one round trip (pipelined SETs): every arena is checked first and
    // nothing is sent if one fails the checks; on a refusal by the server the entries
    // before it are stored. Errors as put().
    Result<void> put_batch(std::span<const PutRequest> requests);
    // One round trip; for health checks and benchmarks. Errors: timeout, io.
    Result<void> ping();

    const RemoteEndpoint& endpoint() const noexcept;
    const RemoteOptions& options() const noexcept;

private:
    struct Connection;
    RemoteStore(std::unique_ptr<Connection> connection);
    std::unique_ptr<Connection> c_;
};

static_assert(ArenaStore<RemoteStore>);

}  // namespace jdc
