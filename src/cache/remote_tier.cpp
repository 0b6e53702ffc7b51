#include "cache/remote_tier.hpp"

#include "util/clock.hpp"
#include "util/report_format.hpp"

namespace jdc::detail {
namespace {

// What is wrong with the value, not with the server: damage, a format this reader
// does not have, a value over the cap, or an arena the store refused to write.
bool is_rejection(ErrorCode code) noexcept {
    return is_damage(code) || code == ErrorCode::unsupported_version || code == ErrorCode::limit_exceeded ||
           code == ErrorCode::invalid_argument;
}

}  // namespace

Result<std::unique_ptr<RemoteTier>> RemoteTier::create(const CacheConfig& config, SessionMetrics& metrics, const CacheLog& log) {
    auto endpoint = parse_remote_url(config.remote_url);
    if (!endpoint) return tl::unexpected(endpoint.error());
    RemoteOptions options;
    options.connect_timeout_ms = config.remote_connect_timeout_ms;
    options.operation_timeout_ms = config.remote_timeout_ms;
    options.ttl_seconds = config.remote_ttl_seconds;
    options.max_value_bytes = config.remote_max_value_bytes;
    options.request_deadline_ms = config.remote_deadline_ms;
    options.secret = config.remote_secret;
    options.compression = config.transfer_compression();
    if (options.connect_timeout_ms == 0 || options.operation_timeout_ms == 0 || options.request_deadline_ms == 0 ||
        options.max_value_bytes == 0 || config.remote_session_budget_ms == 0)
        return make_error(ErrorCode::invalid_argument, "remote cache " + endpoint->describe() + ": timeouts, budgets and the size cap must not be 0");
    const Budget budget{std::uint64_t{config.remote_session_budget_ms} * 1'000'000, config.remote_session_max_rejects,
                        config.remote_session_max_decoded_bytes};
    return std::unique_ptr<RemoteTier>(new RemoteTier(std::move(*endpoint), options, budget, config.remote_read_only, metrics, log));
}

void RemoteTier::start_session() {
    std::lock_guard<std::mutex> guard(mutex_);
    off_ = false;
    off_reason_.clear();
    spent_ = {};
}

// Adds one request's cost to the session's; the first budget it exhausts switches the
// remote off (one line, counted as a remote error).
void RemoteTier::charge(std::uint64_t ns, bool rejected, std::uint64_t decoded) {
    std::string exceeded;
    {
        std::lock_guard<std::mutex> guard(mutex_);
        spent_.ns += ns;
        spent_.rejects += rejected ? 1 : 0;
        spent_.decoded_bytes += decoded;
        if (off_) return;
        if (spent_.ns > budget_.ns)
            exceeded = "spent " + format_duration_ns(spent_.ns) + " on the remote in this session, more than its budget of " +
                       format_duration_ns(budget_.ns);
        else if (rejected && spent_.rejects >= budget_.rejects)
            exceeded = std::to_string(spent_.rejects) + " values rejected in this session, its budget of " +
                       std::to_string(budget_.rejects) + " rejections is spent";
        else if (spent_.decoded_bytes > budget_.decoded_bytes)
            exceeded = "decompressed " + format_bytes(spent_.decoded_bytes) + " of fetched values in this session, more than the budget of " +
                       format_bytes(budget_.decoded_bytes);
        else
            return;
    }
    (void)switch_off(Error{ErrorCode::limit_exceeded, "remote cache " + endpoint_.describe() + ": " + exceeded});
    metrics_.update([](CacheMetrics& m) { ++m.remote_errors; });
}

std::string RemoteTier::off_reason() const {
    std::lock_guard<std::mutex> guard(mutex_);
    return off_reason_;
}

Result<std::unique_ptr<RemoteStore>> RemoteTier::acquire() {
    {
        std::lock_guard<std::mutex> guard(mutex_);
        if (off_) return std::unique_ptr<RemoteStore>();
        if (!idle_.empty()) {
            auto connection = std::move(idle_.back());
            idle_.pop_back();
            return connection;
        }
    }
    // Connecting may take up to the connect timeout: not under the lock.
    auto connected = RemoteStore::connect(endpoint_, options_);
    if (!connected) return tl::unexpected(connected.error());
    return std::make_unique<RemoteStore>(std::move(*connected));
}

void RemoteTier::release(std::unique_ptr<RemoteStore> connection) {
    std::lock_guard<std::mutex> guard(mutex_);
    if (!off_) idle_.push_back(std::move(connection));
}

RemoteOutcome RemoteTier::switch_off(const Error& error) {
    bool first = false;
    {
        std::lock_guard<std::mutex> guard(mutex_);
        first = !off_;
        off_ = true;
        if (first) off_reason_ = error.message;
        idle_.clear();  // they talk to the same server
    }
    if (first) log_(error.message + "; remote cache switched off for the rest of this session, the build goes on locally");
    return error.code == ErrorCode::timeout ? RemoteOutcome::timeout : RemoteOutcome::error;
}

// Runs `op` on a connection of the pool. `op` fills in the result of a success; its
// errors are classified here: not_found is a miss, a bad value is rejected (the
// connection stays good), anything else switches the remote off.
template <class Op>
RemoteResult RemoteTier::on_connection(Op&& op) {
    const std::uint64_t t0 = steady_ns();
    RemoteResult result;
    auto connection = acquire();
    if (!connection) {
        result.outcome = switch_off(connection.error());
        result.message = connection.error().message;
    } else if (!*connection) {
        result.outcome = RemoteOutcome::off;
    } else {
        auto done = op(**connection, result);
        const std::uint64_t decoded = (*connection)->last_call().bytes_decoded;
        if (done) {
            release(std::move(*connection));
        } else if (done.error().code == ErrorCode::not_found) {
            result.outcome = RemoteOutcome::miss;
            release(std::move(*connection));
        } else if (is_rejection(done.error().code)) {
            result.outcome = RemoteOutcome::rejected;
            result.message = done.error().message;
            release(std::move(*connection));
        } else {
            result.outcome = switch_off(done.error());
            result.message = done.error().message;
        }
        result.ns = steady_ns() - t0;
        charge(result.ns, result.outcome == RemoteOutcome::rejected, decoded);
        return result;
    }
    result.ns = steady_ns() - t0;
    return result;
}

RemoteResult RemoteTier::fetch(const CacheKey& key) {
    return on_connection([&](RemoteStore& remote, RemoteResult& result) -> Result<void> {
        auto got = remote.get(key);
        if (!got) return tl::unexpected(got.error());
        result.outcome = RemoteOutcome::hit;
        result.bytes = got->view().bytes().size();
        result.arena.emplace(std::move(*got));
        return {};
    });
}

std::optional<RemoteTier::Fetched> RemoteTier::fetch_table(const TableInputs& in, const TypeRegistry& registry, const CacheKey& key) {
    RemoteResult r = fetch(key);
    if (r.outcome != RemoteOutcome::hit) {
        count(r);
        if (r.outcome == RemoteOutcome::rejected) log_("remote value of " + in.name + " rejected: " + r.message);
        return std::nullopt;
    }
    auto owner = std::make_shared<RemoteArena>(std::move(*r.arena));
    const ArenaView& view = owner->view();
    // The key is a hash of the table's inputs, not of the bytes: only an arena that
    // says it answers this key is this table (not another table's, nor this table's
    // from before an edit, which any writer could have stored here).
    auto bound = CachedTable::bind(owner, view, registry, key, in.signature.parameter_types, TableOrigin::remote);
    if (bound) {
        count(r);
        return Fetched{std::move(*bound), std::make_shared<const std::vector<std::byte>>(view.bytes().begin(), view.bytes().end())};
    }
    const std::string why = bound.error().message;
    r.outcome = RemoteOutcome::rejected;
    count(r);
    charge(0, true, 0);
    log_("remote value of " + in.name + " " + key.to_hex() + " rejected: " + why);
    return std::nullopt;
}

RemoteResult RemoteTier::store(const PutRequest& request) {
    if (read_only_) return counted_write({RemoteOutcome::skipped, std::nullopt, {}, 0, 0, 0});
    RemoteResult result;  // `off` unless queued or sent
    std::vector<Pending> full;
    {
        std::lock_guard<std::mutex> guard(mutex_);
        if (!off_) {
            queue_.push_back({request.key, std::vector<std::byte>(request.arena.begin(), request.arena.end())});
            queued_bytes_ += request.arena.size();
            if (queue_.size() < kRemoteBatchEntries && queued_bytes_ < kRemoteBatchBytes) {
                result.outcome = RemoteOutcome::queued;
            } else {
                full.swap(queue_);
                queued_bytes_ = 0;
            }
        }
    }
    // Sent, counted and logged outside the lock: other threads keep queueing meanwhile.
    if (!full.empty()) result = send(std::move(full));
    return counted_write(std::move(result));
}

RemoteResult RemoteTier::flush() {
    std::vector<Pending> batch;
    {
        std::lock_guard<std::mutex> guard(mutex_);
        batch.swap(queue_);
        queued_bytes_ = 0;
    }
    if (batch.empty()) return {RemoteOutcome::stored, std::nullopt, {}, 0, 0, 0};
    return counted_write(send(std::move(batch)));
}

RemoteResult RemoteTier::counted_write(RemoteResult r) {
    count(r);
    if (r.outcome == RemoteOutcome::rejected) log_("not stored remotely: " + r.message);
    else if (r.outcome == RemoteOutcome::stored && r.writes > 0 && log_.on())
        log_("stored " + std::to_string(r.writes) + " tables remotely (" + format_bytes(r.bytes) + ", " + format_duration_ns(r.ns) + ")");
    return r;
}

RemoteResult RemoteTier::send(std::vector<Pending> batch) {
    std::vector<PutRequest> requests;
    requests.reserve(batch.size());
    std::uint64_t bytes = 0;
    for (const Pending& p : batch) {
        requests.push_back({p.key, p.arena, 0, true});  // copies of arenas verified when built or fetched
        bytes += p.arena.size();
    }
    return on_connection([&](RemoteStore& remote, RemoteResult& result) -> Result<void> {
        auto put = remote.put_batch(requests);
        if (!put) return put;
        result.outcome = RemoteOutcome::stored;
        result.bytes = bytes;
        result.writes = requests.size();
        return {};
    });
}

RemoteTier::~RemoteTier() { (void)flush(); }

void RemoteTier::count(const RemoteResult& result) {
    metrics_.update([&](CacheMetrics& m) {
        m.remote_ns += result.ns;
        switch (result.outcome) {
            case RemoteOutcome::hit:
                ++m.remote_hits;
                m.remote_bytes_in += result.bytes;
                break;
            case RemoteOutcome::miss: ++m.remote_misses; break;
            case RemoteOutcome::rejected: ++m.remote_rejects; break;
            case RemoteOutcome::error: ++m.remote_errors; break;
            case RemoteOutcome::timeout: ++m.remote_timeouts; break;
            case RemoteOutcome::stored:
                m.remote_writes += result.writes;
                m.remote_bytes_out += result.bytes;
                break;
            case RemoteOutcome::off:
            case RemoteOutcome::queued:
            case RemoteOutcome::skipped: break;
        }
    });
}

}  // namespace jdc::detail
