#include "cache/write_behind.hpp"

#include <algorithm>
#include <utility>

#include "cache/inputs_log.hpp"
#include "util/report_format.hpp"

namespace jdc::detail {

bool WriteBehindQueue::stop_on(const Result<void>& put) {
    if (put || put.error().code != ErrorCode::io) return false;
    std::lock_guard<std::mutex> guard(mutex_);
    if (!write_failure_.empty()) return true;
    write_failure_ = put.error().message;
    pending_.clear();  // nothing more will be written; lookups of them build again
    pending_index_.clear();
    pending_bytes_ = 0;
    update_held();
    return true;
}

std::string WriteBehindQueue::write_failure() const {
    std::lock_guard<std::mutex> guard(mutex_);
    return write_failure_;
}

void WriteBehindQueue::write_through(const Table& t) {
    auto put = store_.put({t.key, *t.arena, options_.config_hash, true});
    bool recorded = true;
    if (put) {
        if (auto w = InputsLog::append(store_.root(), t.record_line); !w) {
            recorded = false;
            log_("cannot record the inputs of " + t.name + " (explain will be less precise): " + w.error().message);
        }
    } else {
        log_("cannot store " + t.name + ": " + put.error().message);
    }
    metrics_.update([&](CacheMetrics& m) {
        if (put) m.bytes_written += t.arena->size();
        else ++m.store_errors;
        if (!recorded) ++m.derived_errors;
    });
    if (stop_on(put)) log_("the cache cannot be written (" + put.error().message + "): nothing more is stored in this session");
}

void WriteBehindQueue::add(Table table) {
    {
        std::lock_guard<std::mutex> guard(mutex_);
        if (!write_failure_.empty()) {
            metrics_.update([](CacheMetrics& m) { ++m.store_errors; });
            return;
        }
    }
    if (options_.write_through) return write_through(table);
    bool full = false;
    {
        std::lock_guard<std::mutex> guard(mutex_);
        if (!write_failure_.empty()) return;
        if (pending_index_.count(table.key) != 0 || in_flight_.count(table.key) != 0) return;
        pending_bytes_ += table.arena->size();
        pending_index_.emplace(table.key, pending_.size());
        pending_.push_back(std::move(table));
        update_held();
        full = pending_.size() >= std::max<std::size_t>(1, options_.flush_tables) || pending_bytes_ >= kFlushBytes;
    }
    if (full) flush();
}

std::shared_ptr<const std::vector<std::byte>> WriteBehindQueue::find(const CacheKey& key) const {
    if (held_.load(std::memory_order_acquire) == 0) return nullptr;
    std::lock_guard<std::mutex> guard(mutex_);
    if (const auto it = pending_index_.find(key); it != pending_index_.end()) return pending_[it->second].arena;
    const auto it = in_flight_.find(key);
    return it == in_flight_.end() ? nullptr : it->second;
}

void WriteBehindQueue::flush() {
    std::lock_guard<std::mutex> flushing(flush_mutex_);
    std::vector<Table> batch;
    {
        std::lock_guard<std::mutex> guard(mutex_);
        batch.swap(pending_);
        pending_index_.clear();
        pending_bytes_ = 0;
        for (const Table& t : batch) in_flight_.emplace(t.key, t.arena);
        update_held();
    }
    if (batch.empty()) return;
    std::vector<PutRequest> requests;
    requests.reserve(batch.size());
    std::uint64_t bytes = 0;
    std::vector<std::string_view> lines;  // written from the records themselves
    lines.reserve(batch.size());
    for (const Table& t : batch) {
        requests.push_back({t.key, *t.arena, options_.config_hash, true});
        bytes += t.arena->size();
        lines.push_back(t.record_line);
    }
    auto put = store_.put_packed(requests);
    bool recorded = true;
    if (put) {
        if (auto w = InputsLog::append(store_.root(), lines); !w) {
            recorded = false;
            log_("cannot record the inputs of " + std::to_string(batch.size()) + " tables (explain will be less precise): " +
                 w.error().message);
        }
    } else {
        log_("cannot store " + std::to_string(batch.size()) + " tables: " + put.error().message);
    }
    {
        // Lookups of these keys now go to the store (or miss, if it failed).
        std::lock_guard<std::mutex> guard(mutex_);
        for (const Table& t : batch) in_flight_.erase(t.key);
        update_held();
    }
    metrics_.update([&](CacheMetrics& m) {
        if (put) m.bytes_written += bytes;
        else m.store_errors += batch.size();
        if (!recorded) ++m.derived_errors;
    });
    if (stop_on(put)) log_("the cache cannot be written (" + put.error().message + "): nothing more is stored in this session");
    if (put && log_.on()) log_("stored " + std::to_string(batch.size()) + " tables as one pack (" + format_bytes(bytes) + ")");
}

}  // namespace jdc::detail
