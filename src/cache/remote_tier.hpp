// jdc (internal) — the remote tier as the build cache uses it.
//
// Cache layer. Wraps RemoteStore with what a build needs around it:
//  - the fetch policy: a value from the remote is untrusted. RemoteStore verifies it
//    in full (checksums, bounds, size cap); here it must also bind to the compiler's
//    registry and declare the signature asked for, since the key is a hash of build
//    inputs, not of the bytes: a well-formed arena of another table stored under the
//    key must not be served. A value that fails is *rejected* (counted, logged, never
//    used, never written locally) but does not switch the remote off: it says nothing
//    about the server (until the session's rejection budget is spent, below).
//  - lazy connection: nothing is connected until the first lookup that misses locally,
//    so a fully warm local cache never touches the network;
//  - a pool of connections, one per concurrent caller (RemoteStore is single-threaded
//    and the manager is called from many threads); idle connections are reused;
//  - the failure policy: the first connection failure or timeout switches the remote
//    off until the next build session, with one log line, and every later call
//    returns `off` at once, so a dead or hung server costs one timeout per session.
//  - write-behind: store() queues a copy of the arena; the queue goes out as one
//    pipelined batch (one round trip) when it holds kRemoteBatchEntries entries or
//    kRemoteBatchBytes bytes (sent by the caller that filled it), at flush() (the
//    manager's endBuildSession()), and on destruction. A miss then costs no round
//    trip for its write; see build_cache_manager.hpp for the measurements. Queued
//    writes are lost if the process dies first (its local cache has them; another
//    machine's build writes them), and dropped when the remote is switched off.
//  - read-only mode: store() never writes.
//  - session budgets (CacheConfig::remote_session_*): the time spent on remote
//    requests, the values rejected and the bytes decompressed from fetched values are
//    summed over the session; the first budget exceeded switches the remote off like a
//    failure (one line, counted as a remote error). A server that answers slowly, or
//    with values that cost a download and a decode before they are rejected, costs a
//    bounded amount per session.
// Every outcome is counted in the session's metrics (the remote_* counters) here, and
// nowhere else; the manager counts a remote hit as a hit of the lookup.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cache/cache_log.hpp"
#include "cache/session_metrics.hpp"
#include "jdc/cache_config.hpp"
#include "jdc/cached_table.hpp"
#include "jdc/remote_store.hpp"
#include "jdc/table_inputs.hpp"

namespace jdc::detail {

inline constexpr std::size_t kRemoteBatchEntries = 256;
// Batches stay small: hiredis 0.14 shifts the unsent rest of its output buffer after
// every partial write, so one large pipelined write costs more per byte. bench_remote
// measured 64 arenas of 80 KiB (5 MiB) at 190 us each against 75 us for single puts,
// and 12 of them (1 MiB) at about the cost of single puts.
inline constexpr std::uint64_t kRemoteBatchBytes = 1ull * 1024 * 1024;

enum class RemoteOutcome : std::uint8_t {
    hit,       // fetch: a verified arena
    miss,      // fetch: no entry
    rejected,  // fetch: the value failed verification (or the cap); put: the arena did not verify
    error,     // the connection or the server failed: the remote is now off
    timeout,   // the server did not answer in time: the remote is now off
    off,       // switched off earlier in this session; nothing was tried
    stored,    // store, flush: a batch was written
    queued,    // store: waiting for the next batch
    skipped,   // store: read-only mode
};

struct RemoteResult {
    RemoteOutcome outcome = RemoteOutcome::off;
    std::optional<RemoteArena> arena;  // hit
    std::string message;               // rejected, error, timeout
    std::uint64_t ns = 0;              // time spent on the remote
    std::uint64_t bytes = 0;           // hit: the arena; stored: the batch
    std::uint64_t writes = 0;          // stored: entries in the batch
};

class RemoteTier {
public:
    // `metrics` and `log` must outlive the tier. Errors: invalid_argument (the URL or
    // an option).
    static Result<std::unique_ptr<RemoteTier>> create(const CacheConfig& config, SessionMetrics& metrics, const CacheLog& log);

    ~RemoteTier();  // flushes

    // Switches the remote back on (a new session tries again).
    void start_session();

    // A table the local store did not have, from the remote: verified, bound to
    // `registry`, declaring inputs.signature. nullopt when the remote has no usable
    // value (a miss, a rejected value, the remote off or failing).
    struct Fetched {
        CachedTable table;                                    // TableOrigin::remote
        std::shared_ptr<const std::vector<std::byte>> arena;  // a copy, for the local store
    };
    std::optional<Fetched> fetch_table(const TableInputs& inputs, const TypeRegistry& registry, const CacheKey& key);

    // Queues the arena (copied); `queued`, or the result of the batch it completed.
    RemoteResult store(const PutRequest& request);
    // Sends what is queued; `stored` with nothing to send is a no-op success.
    RemoteResult flush();

    bool read_only() const noexcept { return read_only_; }
    const RemoteEndpoint& endpoint() const noexcept { return endpoint_; }
    // Empty while the remote is on; else why it was switched off.
    std::string off_reason() const;

private:
    struct Budget {
        std::uint64_t ns = 0, rejects = 0, decoded_bytes = 0;
    };
    RemoteTier(RemoteEndpoint endpoint, RemoteOptions options, Budget budget, bool read_only, SessionMetrics& metrics, const CacheLog& log)
        : endpoint_(std::move(endpoint)), options_(options), budget_(budget), read_only_(read_only), metrics_(metrics), log_(log) {}
    void charge(std::uint64_t ns, bool rejected, std::uint64_t decoded);
    // A connection for this caller: an idle one, or a new one. Null when off.
    Result<std::unique_ptr<RemoteStore>> acquire();
    void release(std::unique_ptr<RemoteStore> connection);
    RemoteOutcome switch_off(const Error& error);
    template <class Op>
    RemoteResult on_connection(Op&& op);
    RemoteResult fetch(const CacheKey& key);
    struct Pending {
        CacheKey key;
        std::vector<std::byte> arena;
    };
    RemoteResult send(std::vector<Pending> batch);
    // Counts a result in the session's metrics; logs a write's outcome.
    void count(const RemoteResult& result);
    RemoteResult counted_write(RemoteResult result);

    RemoteEndpoint endpoint_;
    RemoteOptions options_;
    Budget budget_;
    bool read_only_;
    SessionMetrics& metrics_;
    const CacheLog& log_;

    mutable std::mutex mutex_;  // guards everything below
    std::vector<std::unique_ptr<RemoteStore>> idle_;
    bool off_ = false;
    std::string off_reason_;
    Budget spent_;  // this session's
    std::vector<Pending> queue_;
    std::uint64_t queued_bytes_ = 0;
};

}  // namespace jdc::detail
