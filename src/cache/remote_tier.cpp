#include "cache/remote_tier.hpp"

#include <chrono>

#include "util/report_format.hpp"

namespace jdc::detail {
namespace {

std::uint64_t now_ns() {
    using namespace std::chrono;
    return static_cast<std::uint64_t>(duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count());
}

// Damage or a value over the cap: the entry is unusable, the server is fine.
bool is_rejection(ErrorCode code) noexcept {
    switch (code) {
        case ErrorCode::bad_magic:
        case ErrorCode::unsupported_version:
        case ErrorCode::truncated:
        case ErrorCode::corrupt:
        case ErrorCode::checksum_mismatch:
        case ErrorCode::limit_exceeded:
        case ErrorCode::invalid_argument: return true;
        default: return false;
    }
}

}  // namespace

Result<std::unique_ptr<RemoteTier>> RemoteTier::create(const CacheConfig& config, Log log) {
    auto endpoint = parse_remote_url(config.remote_url);
    if (!endpoint) return tl::unexpected(endpoint.error());
    RemoteOptions options;
    options.connect_timeout_ms = config.remote_connect_timeout_ms;
    options.operation_timeout_ms = config.remote_timeout_ms;
    options.ttl_seconds = config.remote_ttl_seconds;
    options.max_value_bytes = config.remote_max_value_bytes;
    options.compression = config.transfer_compression();
    if (options.connect_timeout_ms == 0 || options.operation_timeout_ms == 0 || options.max_value_bytes == 0)
        return make_error(ErrorCode::invalid_argument, "remote cache " + endpoint->describe() + ": timeouts and the size cap must not be 0");
    return std::unique_ptr<RemoteTier>(new RemoteTier(std::move(*endpoint), options, config.remote_read_only, std::move(log)));
}

void RemoteTier::start_session() {
    std::lock_guard<std::mutex> guard(mutex_);
    off_ = false;
    off_reason_.clear();
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
    if (first && log_) log_(error.message + "; remote cache switched off for the rest of this session, the build goes on locally");
    return error.code == ErrorCode::timeout ? RemoteOutcome::timeout : RemoteOutcome::error;
}

// Runs `op` on a connection of the pool. `op` fills in the result of a success; its
// errors are classified here: not_found is a miss, a bad value is rejected (the
// connection stays good), anything else switches the remote off.
template <class Op>
RemoteResult RemoteTier::on_connection(Op&& op) {
    const std::uint64_t t0 = now_ns();
    RemoteResult result;
    auto connection = acquire();
    if (!connection) {
        result.outcome = switch_off(connection.error());
        result.message = connection.error().message;
    } else if (!*connection) {
        result.outcome = RemoteOutcome::off;
    } else if (auto done = op(**connection, result)) {
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
    result.ns = now_ns() - t0;
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

RemoteResult RemoteTier::store(const PutRequest& request) {
    RemoteResult result;
    if (read_only_) {
        result.outcome = RemoteOutcome::skipped;
        return result;
    }
    std::vector<Pending> full;
    {
        std::lock_guard<std::mutex> guard(mutex_);
        if (off_) return result;
        queue_.push_back({request.key, std::vector<std::byte>(request.arena.begin(), request.arena.end())});
        queued_bytes_ += request.arena.size();
        if (queue_.size() < kRemoteBatchEntries && queued_bytes_ < kRemoteBatchBytes) {
            result.outcome = RemoteOutcome::queued;
            return result;
        }
        full.swap(queue_);
        queued_bytes_ = 0;
    }
    return send(std::move(full));
}

RemoteResult RemoteTier::flush() {
    std::vector<Pending> batch;
    {
        std::lock_guard<std::mutex> guard(mutex_);
        batch.swap(queue_);
        queued_bytes_ = 0;
    }
    if (batch.empty()) return {RemoteOutcome::stored, std::nullopt, {}, 0, 0, 0};
    return send(std::move(batch));
}

RemoteResult RemoteTier::send(std::vector<Pending> batch) {
    std::vector<PutRequest> requests;
    requests.reserve(batch.size());
    std::uint64_t bytes = 0;
    for (const Pending& p : batch) {
        requests.push_back({p.key, p.arena, 0});
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

void count_remote(CacheMetrics& m, const RemoteResult& result) {
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
}

nlohmann::json remote_metrics_json(const CacheMetrics& m) {
    return {{"hits", m.remote_hits},       {"misses", m.remote_misses},     {"rejects", m.remote_rejects},
            {"errors", m.remote_errors},   {"timeouts", m.remote_timeouts}, {"writes", m.remote_writes},
            {"bytes_in", m.remote_bytes_in}, {"bytes_out", m.remote_bytes_out}, {"ns", m.remote_ns}};
}

void remote_metrics_from_json(const nlohmann::json& j, CacheMetrics& m) {
    if (!j.is_object()) return;
    auto get = [&](const char* k) { return j.contains(k) && j[k].is_number_unsigned() ? j[k].get<std::uint64_t>() : 0; };
    m.remote_hits = get("hits");
    m.remote_misses = get("misses");
    m.remote_rejects = get("rejects");
    m.remote_errors = get("errors");
    m.remote_timeouts = get("timeouts");
    m.remote_writes = get("writes");
    m.remote_bytes_in = get("bytes_in");
    m.remote_bytes_out = get("bytes_out");
    m.remote_ns = get("ns");
}

bool has_remote_counts(const CacheMetrics& m) noexcept {
    return (m.remote_hits | m.remote_misses | m.remote_rejects | m.remote_errors | m.remote_timeouts | m.remote_writes) != 0;
}

void write_remote_report(std::ostream& out, const RemoteTier& tier, const CacheMetrics& m) {
    const std::string off = tier.off_reason();
    out << "  remote:       " << tier.endpoint().describe() << (tier.read_only() ? " (read-only)" : "") << ", "
        << (off.empty() ? "on" : "switched off") << "\n"
        << "                " << m.remote_hits << " hits, " << m.remote_misses << " misses, " << m.remote_rejects << " rejected, "
        << m.remote_writes << " written; " << format_bytes(m.remote_bytes_in) << " in, " << format_bytes(m.remote_bytes_out) << " out; "
        << m.remote_errors << " errors, " << m.remote_timeouts << " timeouts; " << format_duration_ns(m.remote_ns) << " waiting\n";
    if (!off.empty()) out << "  remote off:   " << off << " (the rest of the session ran locally)\n";
}

nlohmann::json remote_report_json(const RemoteTier& tier, const CacheMetrics& session, const CacheMetrics& lifetime) {
    const std::string off = tier.off_reason();
    nlohmann::json j = {{"url", tier.endpoint().describe()},
                        {"read_only", tier.read_only()},
                        {"state", off.empty() ? "on" : "off"},
                        {"session", remote_metrics_json(session)},
                        {"lifetime", remote_metrics_json(lifetime)}};
    if (!off.empty()) j["off_reason"] = off;
    return j;
}

}  // namespace jdc::detail
