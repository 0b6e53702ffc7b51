// jdc (internal) — the write-behind queue: tables built (or fetched from the remote)
// in this build session, on their way to the local store.
//
// Cache layer. Creating a file per table cost more than building the table (ext4 on
// the test machines: 0.3-1 ms to create a file; janusc builds a table in 20-200 us),
// so the session's tables are queued and written together, as one pack plus one
// append of their records to the inputs log, when `flush_tables` are queued or
// kFlushBytes of arenas, at flush() (the manager's endBuildSession()) and when the
// queue is destroyed. Until then they are served from the queue, and while a flush
// writes them, from the batch in flight: a lookup never misses a table this session
// stored. Other processes see them once written. With `write_through` each table is
// written at once as a loose file instead (nothing is queued).
//
// A store that cannot write only makes builds slower: failures are logged and
// counted as store errors, never returned to the compiler. The first write the system
// refuses (io: a full disk, a directory made read-only) stops the queue for the rest of
// its life: later tables are not queued (counted as store errors), and write_failure()
// says why, for the manager's report (the cache is read-only from then on). A failed
// append to the inputs log is a derived-data error: the tables are stored.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "cache/cache_log.hpp"
#include "cache/session_metrics.hpp"
#include "jdc/local_store.hpp"

namespace jdc::detail {

class WriteBehindQueue {
public:
    static constexpr std::uint64_t kFlushBytes = 32ull << 20;

    struct Options {
        bool write_through = false;
        std::size_t flush_tables = 4096;  // at least 1
        std::uint64_t config_hash = 0;    // recorded in the index with every table
    };
    // Every table queued was verified in full where it came from (built and opened by
    // CachedTable::from_shared, or fetched by the remote tier): the store is told so
    // and does not verify it again (PutRequest::verified).
    struct Table {
        CacheKey key;
        std::shared_ptr<const std::vector<std::byte>> arena;
        std::string record_line;  // for the inputs log (miss_record.hpp)
        std::string name;         // for messages
    };

    // `store`, `metrics` and `log` must outlive the queue.
    WriteBehindQueue(LocalStore& store, Options options, SessionMetrics& metrics, const CacheLog& log)
        : store_(store), options_(options), metrics_(metrics), log_(log) {}
    ~WriteBehindQueue() { flush(); }
    WriteBehindQueue(const WriteBehindQueue&) = delete;
    WriteBehindQueue& operator=(const WriteBehindQueue&) = delete;

    // Queues a table (a key already queued or in flight is ignored); flushes when the
    // queue is full. Thread-safe.
    void add(Table table);
    // A table added but not yet written; null when there is none. Thread-safe.
    std::shared_ptr<const std::vector<std::byte>> find(const CacheKey& key) const;
    // Writes what is queued. One flush at a time, in order.
    void flush();
    // Empty while writes succeed; else the first io failure, after which nothing more
    // is queued or written. Thread-safe.
    std::string write_failure() const;

private:
    void write_through(const Table& table);

    LocalStore& store_;
    const Options options_;
    SessionMetrics& metrics_;
    const CacheLog& log_;

    // Tables in pending_ and in_flight_, kept with them under mutex_: a lookup of a
    // session that queued nothing (every warm build) does not take the lock.
    std::atomic<std::size_t> held_{0};
    void update_held() { held_.store(pending_.size() + in_flight_.size(), std::memory_order_release); }
    mutable std::mutex mutex_;  // guards the four below
    std::vector<Table> pending_;
    std::unordered_map<CacheKey, std::size_t, CacheKeyHash> pending_index_;  // into pending_
    std::uint64_t pending_bytes_ = 0;
    // The batch a flush is writing: still served to lookups until it is in the store.
    std::unordered_map<CacheKey, std::shared_ptr<const std::vector<std::byte>>, CacheKeyHash> in_flight_;
    std::mutex flush_mutex_;
    std::string write_failure_;  // under mutex_
    // Records an io failure of the store (the first one is kept); true when `put` is one.
    bool stop_on(const Result<void>& put);
};

}  // namespace jdc::detail
