// jdc (internal) — the remote tier as the build cache manager uses it.
//
// Cache layer. Wraps RemoteStore with what a build needs around it:
//  - lazy connection: nothing is connected until the first lookup that misses locally,
//    so a fully warm local cache never touches the network;
//  - a pool of connections, one per concurrent caller (RemoteStore is single-threaded
//    and the manager is called from many threads); idle connections are reused;
//  - the failure policy: the first connection failure or timeout switches the remote
//    off until the next build session, with one log line, and every later call
//    returns `off` at once, so a dead or hung server costs one timeout per session.
//    A value that fails verification is *rejected* (counted, never used, never written
//    locally) but does not switch the remote off: it says nothing about the server.
//  - write-behind: store() queues a copy of the arena; the queue goes out as one
//    pipelined batch (one round trip) when it holds kRemoteBatchEntries entries or
//    kRemoteBatchBytes bytes (sent by the caller that filled it), at flush() (the
//    manager's endBuildSession()), and on destruction. A miss then costs no round
//    trip for its write; see build_cache_manager.hpp for the measurements. Queued
//    writes are lost if the process dies first (its local cache has them; another
//    machine's build writes them), and dropped when the remote is switched off.
//  - read-only mode: store() never writes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "jdc/build_cache_manager.hpp"
#include "jdc/cache_config.hpp"
#include "jdc/remote_store.hpp"

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
    using Log = std::function<void(const std::string&)>;
    // Errors: invalid_argument (the URL or an option).
    static Result<std::unique_ptr<RemoteTier>> create(const CacheConfig& config, Log log);

    ~RemoteTier();  // flushes

    // Switches the remote back on (a new session tries again).
    void start_session();
    RemoteResult fetch(const CacheKey& key);
    // Queues the arena (copied); `queued`, or the result of the batch it completed.
    RemoteResult store(const PutRequest& request);
    // Sends what is queued; `stored` with nothing to send is a no-op success.
    RemoteResult flush();

    bool read_only() const noexcept { return read_only_; }
    const RemoteEndpoint& endpoint() const noexcept { return endpoint_; }
    // Empty while the remote is on; else why it was switched off.
    std::string off_reason() const;

private:
    RemoteTier(RemoteEndpoint endpoint, RemoteOptions options, bool read_only, Log log)
        : endpoint_(std::move(endpoint)), options_(options), read_only_(read_only), log_(std::move(log)) {}
    // A connection for this caller: an idle one, or a new one. Null when off.
    Result<std::unique_ptr<RemoteStore>> acquire();
    void release(std::unique_ptr<RemoteStore> connection);
    RemoteOutcome switch_off(const Error& error);
    template <class Op>
    RemoteResult on_connection(Op&& op);
    struct Pending {
        CacheKey key;
        std::vector<std::byte> arena;
    };
    RemoteResult send(std::vector<Pending> batch);

    RemoteEndpoint endpoint_;
    RemoteOptions options_;
    bool read_only_;
    Log log_;

    mutable std::mutex mutex_;  // guards everything below
    std::vector<std::unique_ptr<RemoteStore>> idle_;
    bool off_ = false;
    std::string off_reason_;
    std::vector<Pending> queue_;
    std::uint64_t queued_bytes_ = 0;
};

// Adds a result to the remote counters of `m`.
void count_remote(CacheMetrics& m, const RemoteResult& result);
// The remote counters of `m` as JSON, and back (missing fields read as 0).
nlohmann::json remote_metrics_json(const CacheMetrics& m);
void remote_metrics_from_json(const nlohmann::json& j, CacheMetrics& m);
bool has_remote_counts(const CacheMetrics& m) noexcept;
// The report's remote lines (text) and object (JSON).
void write_remote_report(std::ostream& out, const RemoteTier& tier, const CacheMetrics& session);
nlohmann::json remote_report_json(const RemoteTier& tier, const CacheMetrics& session, const CacheMetrics& lifetime);

}  // namespace jdc::detail
