#include "jdc/build_cache_manager.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <span>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "jdc/arena_builder.hpp"
#include "jdc/detail/atomic_file.hpp"
#include "cache/compactor_launch.hpp"
#include "util/report_format.hpp"
#include "storage/store_lock.hpp"
#include "cache/inputs_log.hpp"
#include "cache/remote_tier.hpp"
#include "util/hash_stream.hpp"

namespace jdc {
namespace fs = std::filesystem;
using json = nlohmann::json;

std::string_view to_string(MissReason reason) noexcept {
    switch (reason) {
        case MissReason::never_seen: return "never seen";
        case MissReason::source_changed: return "source changed";
        case MissReason::type_changed: return "type changed";
        case MissReason::signature_changed: return "signature changed";
        case MissReason::config_changed: return "config changed";
        case MissReason::compiler_changed: return "compiler version changed";
        case MissReason::evicted: return "evicted";
        case MissReason::corrupt: return "corrupt";
        case MissReason::stale: return "stale";
        case MissReason::disabled: return "cache disabled";
    }
    return "unknown";
}

std::int64_t CacheMetrics::time_saved_ns(std::uint64_t fallback_build_ns) const noexcept {
    const double mean_build = misses > 0 && build_ns > 0 ? double(build_ns) / double(misses) : double(fallback_build_ns);
    return static_cast<std::int64_t>(double(hits) * mean_build) - static_cast<std::int64_t>(load_ns);
}

CacheMetrics& CacheMetrics::operator+=(const CacheMetrics& o) noexcept {
    lookups += o.lookups;
    hits += o.hits;
    misses += o.misses;
    for (std::size_t i = 0; i < kMissReasonCount; ++i) misses_by_reason[i] += o.misses_by_reason[i];
    build_ns += o.build_ns;
    load_ns += o.load_ns;
    bytes_read += o.bytes_read;
    bytes_written += o.bytes_written;
    evictions += o.evictions;
    corrupt_drops += o.corrupt_drops;
    stale_drops += o.stale_drops;
    store_errors += o.store_errors;
    remote_hits += o.remote_hits;
    remote_misses += o.remote_misses;
    remote_rejects += o.remote_rejects;
    remote_errors += o.remote_errors;
    remote_timeouts += o.remote_timeouts;
    remote_writes += o.remote_writes;
    remote_bytes_in += o.remote_bytes_in;
    remote_bytes_out += o.remote_bytes_out;
    remote_ns += o.remote_ns;
    return *this;
}

namespace {

std::uint64_t now_ns() {
    using namespace std::chrono;
    return static_cast<std::uint64_t>(duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count());
}

std::uint64_t wall_clock_ns() {
    using namespace std::chrono;
    return static_cast<std::uint64_t>(duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count());
}

std::string hex64(std::uint64_t v) {  // once per type of every stored table: no printf
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 15; i >= 0; --i, v >>= 4) out[static_cast<std::size_t>(i)] = kDigits[v & 0xF];
    return out;
}

std::uint64_t type_hash(const TypeRegistry& registry, TypeId id) {
    const Type* t = registry.find(id);
    return t != nullptr ? t->structural_hash : 0;
}

// The set of types a table depends on, as an order-independent hash: a sum of each
// type's structural hash under two different mixers (an additive multiset hash, Clarke
// et al. 2003: MSet-Add-Hash), over distinct ids. Sorting thousands of hashes on every
// lookup was a third of a warm build (janusc, large project); this is one pass. Ids
// that arrive ascending (the usual case) need no set; others are sorted once here.
struct TypeSetHash {
    std::uint64_t count = 0, sum_a = 0, sum_b = 0;
};

std::uint64_t mix_a(std::uint64_t x) noexcept {  // splitmix64's finalizer
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

std::uint64_t mix_b(std::uint64_t x) noexcept {  // murmur3's fmix64, on a rotated input
    x = (x << 29 | x >> 35) ^ 0x9e3779b97f4a7c15ull;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

TypeSetHash hash_type_set(std::span<const TypeId> ids, const TypeRegistry& reg) {
    const bool ascending = std::adjacent_find(ids.begin(), ids.end(), std::greater_equal<TypeId>()) == ids.end();
    std::vector<TypeId> sorted;
    if (!ascending) {
        sorted.assign(ids.begin(), ids.end());
        std::sort(sorted.begin(), sorted.end());
        sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
        ids = sorted;
    }
    TypeSetHash out;
    bool unknown_seen = false;  // ids the registry does not know all hash as 0: count them once
    for (TypeId id : ids) {
        const std::uint64_t hash = type_hash(reg, id);
        if (hash == 0 && std::exchange(unknown_seen, true)) continue;
        ++out.count;
        out.sum_a += mix_a(hash);
        out.sum_b += mix_b(hash);
    }
    return out;
}

// Whether the arena's declared parameter and return types are `sig`'s.
bool declares_signature(const BoundArena& bound, const TypeSignature& sig) {
    const ArenaView& view = bound.view();
    if (view.arity() != sig.arity() || bound.live_type(view.declared_return_type()) != sig.return_type) return false;
    for (std::uint32_t p = 0; p < view.arity(); ++p)
        if (bound.live_type(view.declared_parameter(p)) != sig.parameter_types[p]) return false;
    return true;
}

std::uint64_t signature_hash(const TypeSignature& sig, const TypeRegistry& registry) {
    detail::HashStream h;
    h.u32(static_cast<std::uint32_t>(sig.arity()));
    for (TypeId t : sig.parameter_types) h.u64(type_hash(registry, t));
    h.u64(type_hash(registry, sig.return_type));
    return h.digest();
}

json metrics_json(const CacheMetrics& m) {
    json reasons = json::object();
    for (std::size_t i = 0; i < kMissReasonCount; ++i)
        if (m.misses_by_reason[i] != 0) reasons[std::string(to_string(static_cast<MissReason>(i)))] = m.misses_by_reason[i];
    return {{"lookups", m.lookups}, {"hits", m.hits}, {"misses", m.misses}, {"misses_by_reason", reasons},
            {"hit_ratio", m.hit_ratio()}, {"build_ns", m.build_ns}, {"load_ns", m.load_ns},
            {"bytes_read", m.bytes_read}, {"bytes_written", m.bytes_written}, {"evictions", m.evictions},
            {"corrupt_drops", m.corrupt_drops}, {"stale_drops", m.stale_drops}, {"store_errors", m.store_errors}};
}

// The persisted totals carry the remote counters once there are any.
json stored_metrics_json(const CacheMetrics& m) {
    json j = metrics_json(m);
    if (detail::has_remote_counts(m)) j["remote"] = detail::remote_metrics_json(m);
    return j;
}

CacheMetrics metrics_from_json(const json& j) {
    CacheMetrics m;
    auto get = [&](const char* k) { return j.contains(k) && j[k].is_number_unsigned() ? j[k].get<std::uint64_t>() : 0; };
    m.lookups = get("lookups");
    m.hits = get("hits");
    m.misses = get("misses");
    m.build_ns = get("build_ns");
    m.load_ns = get("load_ns");
    m.bytes_read = get("bytes_read");
    m.bytes_written = get("bytes_written");
    m.evictions = get("evictions");
    m.corrupt_drops = get("corrupt_drops");
    m.stale_drops = get("stale_drops");
    m.store_errors = get("store_errors");
    if (j.contains("misses_by_reason") && j["misses_by_reason"].is_object())
        for (std::size_t i = 0; i < kMissReasonCount; ++i) {
            const std::string name(to_string(static_cast<MissReason>(i)));
            if (j["misses_by_reason"].contains(name) && j["misses_by_reason"][name].is_number_unsigned())
                m.misses_by_reason[i] = j["misses_by_reason"][name].get<std::uint64_t>();
        }
    if (j.contains("remote")) detail::remote_metrics_from_json(j["remote"], m);
    return m;
}

// Reads a small JSON file; nullopt when missing or unparsable (derived data: never fatal).
std::optional<json> read_json(const fs::path& p) {
    std::ifstream in(p);
    if (!in) return std::nullopt;
    try {
        return json::parse(in);
    } catch (const json::exception&) {
        return std::nullopt;
    }
}

// Staged in the cache's tmp/ so a writer killed midway leaves nothing that cleanup
// does not find.
Result<void> write_json(const fs::path& p, const fs::path& staging_dir, const json& j) {
    const std::string text = j.dump(1);
    auto staged = StagedFile::stage(staging_dir, p.filename().string(), std::as_bytes(std::span<const char>(text.data(), text.size())),
                                    Durability::no_sync);
    if (!staged) return tl::unexpected(staged.error());
    // The directory exists after its first record: create it only when publishing fails
    // (another thread may create it meanwhile: create_directories then does nothing).
    if (auto published = staged->publish(p); published) return published;
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);
    if (ec) return make_error(ErrorCode::io, "cannot create directory '" + p.parent_path().string() + "': " + ec.message());
    return staged->publish(p);
}

}  // namespace

struct BuildCacheManager::State {
    CacheConfig config;
    BuildIdentity identity;
    std::optional<LocalStore> store;
    std::unique_ptr<detail::RemoteTier> remote;  // null without a remote (or with caching off)
    DependencyTracker deps;  // used by one thread at a time: the compiler's driver

    mutable std::mutex mutex;  // guards everything below
    CacheMetrics session;
    CacheMetrics lifetime_before;  // persisted totals when the session started
    std::uint64_t lifetime_mean_build_ns = 0;
    std::uint64_t evictions_at_start = 0;
    bool in_session = false;

    // Tables stored this session, not yet written (write-behind): flushed as one pack
    // plus one append to the inputs log when there are config.write_behind_tables of
    // them or kFlushBytes, at endBuildSession(), and when the manager is destroyed. A file per
    // table cost more than building it (ext4 on the test machines: 0.3-1 ms to create
    // a file; janusc builds a table in 20-200 us).
    struct PendingTable {
        CacheKey key;
        std::shared_ptr<const std::vector<std::byte>> bytes;
        std::string record_line;  // for the inputs log
        std::string name;
    };
    static constexpr std::uint64_t kFlushBytes = 32ull << 20;
    std::mutex pending_mutex;  // guards the four below
    std::vector<PendingTable> pending;
    std::unordered_map<CacheKey, std::size_t, CacheKeyHash> pending_index;  // into `pending`
    std::uint64_t pending_bytes = 0;
    // The batch a flush is writing: still served to lookups until it is in the store.
    std::unordered_map<CacheKey, std::shared_ptr<const std::vector<std::byte>>, CacheKeyHash> in_flight;
    std::mutex flush_mutex;  // one flush at a time, in order

    mutable std::mutex inputs_mutex;
    mutable std::optional<detail::InputsLog> inputs_log;  // loaded at the first miss that needs it

    fs::path root() const { return config.cache_directory; }
    std::optional<json> recorded_inputs(std::string_view name, bool with_types) const {
        std::lock_guard<std::mutex> guard(inputs_mutex);
        if (!inputs_log) inputs_log = detail::InputsLog::load(root());
        return inputs_log->find(name, with_types);
    }
    static constexpr std::size_t kRecordedTypesMax = 32;
    static std::string types_digest(const TableInputs& in, const TypeRegistry& reg) {
        const TypeSetHash h = hash_type_set(in.types, reg);
        return hex64(h.sum_a) + hex64(h.sum_b ^ h.count);
    }

    // Queues a table for the store; flushes when the queue is full. Written at once
    // with write_through.
    void queue_for_store(const CacheKey& key, std::shared_ptr<const std::vector<std::byte>> bytes, std::string record_line, std::string name) {
        if (config.write_through) {
            auto put = store->put({key, *bytes, identity.config_hash});
            if (put) {
                if (auto w = detail::InputsLog::append(root(), record_line); !w)
                    log("cannot record the inputs of " + name + " (explain will be less precise): " + w.error().message);
            } else {
                log("cannot store " + name + ": " + put.error().message);
            }
            std::lock_guard<std::mutex> guard(mutex);
            if (put) session.bytes_written += bytes->size();
            else ++session.store_errors;
            return;
        }
        bool full = false;
        {
            std::lock_guard<std::mutex> guard(pending_mutex);
            if (pending_index.count(key) != 0 || in_flight.count(key) != 0) return;
            pending_bytes += bytes->size();
            pending_index.emplace(key, pending.size());
            pending.push_back({key, std::move(bytes), std::move(record_line), std::move(name)});
            full = pending.size() >= std::max<std::size_t>(1, config.write_behind_tables) || pending_bytes >= kFlushBytes;
        }
        if (full) flush_pending();
    }

    // A table this session stored but has not written yet.
    std::shared_ptr<const std::vector<std::byte>> pending_table(const CacheKey& key) {
        std::lock_guard<std::mutex> guard(pending_mutex);
        if (const auto it = pending_index.find(key); it != pending_index.end()) return pending[it->second].bytes;
        const auto it = in_flight.find(key);
        return it == in_flight.end() ? nullptr : it->second;
    }

    void flush_pending() {
        if (!store) return;
        std::lock_guard<std::mutex> flushing(flush_mutex);
        std::vector<PendingTable> batch;
        {
            std::lock_guard<std::mutex> guard(pending_mutex);
            batch.swap(pending);
            pending_index.clear();
            pending_bytes = 0;
            for (const PendingTable& t : batch) in_flight.emplace(t.key, t.bytes);
        }
        if (batch.empty()) return;
        std::vector<PutRequest> requests;
        requests.reserve(batch.size());
        std::uint64_t bytes = 0;
        std::string lines;
        for (const PendingTable& t : batch) {
            requests.push_back({t.key, *t.bytes, identity.config_hash});
            bytes += t.bytes->size();
            lines += t.record_line;
        }
        auto put = store->put_packed(requests);
        if (put) {
            if (auto w = detail::InputsLog::append(root(), lines); !w)
                log("cannot record the inputs of " + std::to_string(batch.size()) + " tables (explain will be less precise): " +
                    w.error().message);
        } else {
            log("cannot store " + std::to_string(batch.size()) + " tables: " + put.error().message);
        }
        {
            // Lookups of these keys now go to the store (or miss, if it failed).
            std::lock_guard<std::mutex> guard(pending_mutex);
            for (const PendingTable& t : batch) in_flight.erase(t.key);
        }
        std::lock_guard<std::mutex> guard(mutex);
        if (put) session.bytes_written += bytes;
        else session.store_errors += batch.size();
        if (put && config.verbose)
            log("stored " + std::to_string(batch.size()) + " tables as one pack (" + format_bytes(bytes) + ")");
    }
    fs::path stats_path() const { return root() / "stats.json"; }

    // Past the threshold of files (loose entries, and packs: each build session with
    // misses writes one), merging them is the compactor's job; it runs beside the
    // compiler, which does not wait for it.
    void start_compactor_if_due() const {
        if (config.compact_threshold == 0 || !store) return;
        const std::uint64_t files = store->loose_entry_count() + store->stats().pack_count;
        if (files < config.compact_threshold) return;
        auto launched = launch_compactor(root(), config.compactor_path, config.verbose);
        if (!launched) log("cannot start the compactor: " + launched.error().message);
        else if (launched->outcome == LaunchOutcome::started)
            log("started " + launched->executable.string() + " in the background (" + std::to_string(files) + " loose entries and packs)");
        else if (launched->outcome == LaunchOutcome::not_found)
            log("cannot start the compactor: no executable '" + launched->executable.string() + "' (JANUS_CACHE_COMPACTOR)");
    }
    fs::path deps_path() const { return root() / "deps.jdcd"; }

    void log(const std::string& line) const {
        if (config.verbose) std::cerr << "jdc-cache: " << line << "\n";
    }

    // The inputs log line of a stored table: the record inputs_record() describes, plus
    // why it was built, written directly (a std::map-backed json per miss was most of
    // a clean build's cache overhead).
    std::string record_line(const TableInputs& in, const TypeRegistry& reg, const CacheKey& key, std::uint64_t build_ns,
                            std::string_view miss_reason, std::string_view miss_detail) const {
        using detail::InputsLog;
        std::string out = InputsLog::name_hash(in.name);
        out.reserve(256 + 48 * (in.sources.size() + in.types.size()));
        const auto field = [&](std::string_view name, std::string_view value) {
            out += ",\"";
            out += name;
            out += "\":";
            InputsLog::append_json_string(out, value);
        };
        out += " {\"name\":";
        InputsLog::append_json_string(out, in.name);
        field("key", key.to_hex());
        field("compiler_version", identity.compiler_version);
        field("config_hash", hex64(identity.config_hash));
        field("signature", hex64(signature_hash(in.signature, reg)));
        out += ",\"sources\":{";
        bool first = true;
        for (const auto& src : in.sources) {
            if (!std::exchange(first, false)) out += ',';
            InputsLog::append_json_string(out, src.path);
            out += ':';
            InputsLog::append_json_string(out, src.content_hash.to_hex());
        }
        // Types by name only for small domains: listing every type of every table made
        // the records quadratic in the project (200 MB for the large janusc project).
        // The digest tells a change in any domain; the names say which, where listed.
        out += "},\"types\":{";
        first = true;
        if (in.types.size() <= kRecordedTypesMax)
            for (TypeId t : in.types) {
            const Type* type = reg.find(t);
            if (type == nullptr) continue;
            if (!std::exchange(first, false)) out += ',';
            InputsLog::append_json_string(out, type->name);
            out += ':';
            InputsLog::append_json_string(out, hex64(type->structural_hash));
        }
        out += "},\"types_count\":" + std::to_string(in.types.size());
        out += ",\"types_digest\":\"" + types_digest(in, reg) + "\"";
        out += ",\"build_ns\":" + std::to_string(build_ns);
        if (!miss_reason.empty()) {
            field("miss_reason", miss_reason);
            field("miss_detail", miss_detail);
            out += ",\"recorded_at_ns\":" + std::to_string(wall_clock_ns());
        }
        out += "}\n";
        return out;
    }

    json inputs_record(const TableInputs& in, const TypeRegistry& reg, const CacheKey& key, std::uint64_t build_ns) const {
        json sources = json::object();
        for (const auto& s : in.sources) sources[s.path] = s.content_hash.to_hex();
        json types = json::object();
        for (TypeId t : in.types)
            if (const Type* type = reg.find(t)) types[type->name] = hex64(type->structural_hash);
        return {{"name", in.name},
                {"key", key.to_hex()},
                {"compiler_version", identity.compiler_version},
                {"config_hash", hex64(identity.config_hash)},
                {"signature", hex64(signature_hash(in.signature, reg))},
                {"sources", sources},
                {"types", types},
                {"build_ns", build_ns}};
    }

    // Compares the inputs recorded when this name was last stored with today's.
    Explanation explain_miss(const TableInputs& in, const TypeRegistry& reg, const CacheKey& key) const {
        Explanation e;
        e.key = key;
        // Without the types first: most misses are explained by a source, and the
        // types (every type of the domain) are most of a record.
        const auto rec = recorded_inputs(in.name, false);
        if (!rec) {
            e.reason = MissReason::never_seen;
            return e;
        }
        if (rec->value("compiler_version", "") != identity.compiler_version) {
            e.reason = MissReason::compiler_changed;
            e.detail = rec->value("compiler_version", "") + " -> " + identity.compiler_version;
            return e;
        }
        if (rec->value("config_hash", "") != hex64(identity.config_hash)) {
            e.reason = MissReason::config_changed;
            return e;
        }
        const auto source_changed = [&](std::string detail) {
            e.reason = MissReason::source_changed;
            e.detail = std::move(detail);
            return e;
        };
        static const json kNoObject = json::object();
        const json& old_sources = rec->contains("sources") && (*rec)["sources"].is_object() ? (*rec)["sources"] : kNoObject;
        std::unordered_set<std::string_view> current;
        for (const auto& src : in.sources) {
            current.insert(src.path);
            const auto old = old_sources.find(src.path);
            if (old == old_sources.end()) return source_changed(src.path + " (new)");
            if (*old != src.content_hash.to_hex()) return source_changed(src.path);
        }
        for (const auto& [path, hash] : old_sources.items())
            if (current.count(path) == 0) return source_changed(path + " (no longer used)");
        if (rec->value("types_digest", "") != types_digest(in, reg)) {
            const std::uint64_t recorded_count = rec->value("types_count", std::uint64_t{0});
            if (rec->contains("types_digest") && (recorded_count > kRecordedTypesMax || in.types.size() > kRecordedTypesMax)) {
                e.reason = MissReason::type_changed;  // too many types to have been listed
                e.detail = "a type of its domain (" + std::to_string(recorded_count) + " types, now " + std::to_string(in.types.size()) + ")";
                return e;
            }
            const auto full = recorded_inputs(in.name, true);
            const json now = inputs_record(in, reg, key, 0);
            const json& old_types = full && full->contains("types") ? (*full)["types"] : kNoObject;
            e.reason = MissReason::type_changed;
            for (const auto& [name, hash] : now["types"].items())
                if (!old_types.contains(name) || old_types[name] != hash) {
                    e.detail = "type '" + name + "'" + (old_types.contains(name) ? "" : " (new)");
                    return e;
                }
            for (const auto& [name, hash] : old_types.items())
                if (!now["types"].contains(name)) {
                    e.detail = "type '" + name + "' (removed)";
                    return e;
                }
            // Same names and hashes: a record without a digest (older) or a collision.
        }
        if (rec->value("signature", "") != hex64(signature_hash(in.signature, reg))) {
            e.reason = MissReason::signature_changed;
            return e;
        }
        e.reason = MissReason::evicted;
        return e;
    }

    void count_miss(MissReason reason) {
        ++session.lookups;
        ++session.misses;
        ++session.misses_by_reason[static_cast<std::size_t>(reason)];
    }

    void count_remote(const detail::RemoteResult& r) {
        std::lock_guard<std::mutex> guard(mutex);
        detail::count_remote(session, r);
    }

    // After a local miss: the table from the remote, checked as untrusted and written
    // to the local store; nullopt when the remote has no usable value (counted).
    std::optional<CachedTable> fetch_remote(const TableInputs& in, const TypeRegistry& reg, const CacheKey& key, std::uint64_t t0) {
        detail::RemoteResult r = remote->fetch(key);
        if (r.outcome != detail::RemoteOutcome::hit) {
            count_remote(r);
            if (r.outcome == detail::RemoteOutcome::rejected) log("remote value of " + in.name + " rejected: " + r.message);
            return std::nullopt;
        }
        // The key is a hash of build inputs, not of the bytes: a well-formed arena of
        // another table stored under this key must not be served. Its declared
        // signature, bound to this registry, must be the one asked for.
        auto owner = std::make_shared<RemoteArena>(std::move(*r.arena));
        const ArenaView& view = owner->view();
        std::optional<CachedTable> table;
        std::string why;
        if (auto bound = CachedTable::bind(owner, view, reg, key, TableOrigin::remote); !bound) {
            why = bound.error().message;
        } else if (!declares_signature(bound->bound(), in.signature)) {
            why = "it is the table of another signature ('" + std::string(view.signature_name()) + "', arity " +
                  std::to_string(view.arity()) + ")";
        } else {
            table.emplace(std::move(*bound));
        }
        if (!table) {
            r.outcome = detail::RemoteOutcome::rejected;
            count_remote(r);
            log("remote value of " + in.name + " " + key.to_hex() + " rejected: " + why);
            return std::nullopt;
        }
        const std::uint64_t size = view.bytes().size();
        // Written to the local store with this session's misses (verified again there).
        queue_for_store(key, std::make_shared<const std::vector<std::byte>>(view.bytes().begin(), view.bytes().end()),
                        record_line(in, reg, key, 0, "", ""), in.name);
        const std::uint64_t took = now_ns() - t0;
        {
            std::lock_guard<std::mutex> guard(mutex);
            detail::count_remote(session, r);
            ++session.lookups;
            ++session.hits;
            session.load_ns += took;
        }
        if (config.verbose)
            log("remote hit " + in.name + " " + key.to_hex() + " (" + format_bytes(size) + ", " + format_duration_ns(took) + ")");
        return table;
    }

    // After a build (the local store has been written first): queued for the remote.
    void store_remote(const PutRequest& request) { note_remote_write(remote->store(request)); }

    void note_remote_write(const detail::RemoteResult& r) {
        count_remote(r);
        if (r.outcome == detail::RemoteOutcome::rejected) log("not stored remotely: " + r.message);
        else if (r.outcome == detail::RemoteOutcome::stored && r.writes > 0 && config.verbose)
            log("stored " + std::to_string(r.writes) + " tables remotely (" + format_bytes(r.bytes) + ", " + format_duration_ns(r.ns) + ")");
    }
};

BuildCacheManager::BuildCacheManager(std::unique_ptr<State> s) : s_(std::move(s)) {}
BuildCacheManager::BuildCacheManager(BuildCacheManager&&) noexcept = default;
BuildCacheManager& BuildCacheManager::operator=(BuildCacheManager&&) noexcept = default;
BuildCacheManager::~BuildCacheManager() {
    if (s_) s_->flush_pending();  // a compiler that never ended its session still stores its tables
}

const CacheConfig& BuildCacheManager::config() const noexcept { return s_->config; }
DependencyTracker& BuildCacheManager::dependencies() noexcept { return s_->deps; }
LocalStore* BuildCacheManager::store() noexcept { return s_->store ? &*s_->store : nullptr; }

Result<std::vector<SourceInput>> BuildCacheManager::source_inputs(const fs::path& file) {
    auto closure = s_->deps.transitive_file_hashes(file);
    if (!closure) return tl::unexpected(closure.error());
    std::vector<SourceInput> out;
    out.reserve(closure->size());
    for (const FileHash& f : *closure) out.push_back({f.path.string(), f.hash});
    return out;
}

Result<BuildCacheManager> BuildCacheManager::create(const CacheConfig& config, BuildIdentity identity) {
    auto s = std::make_unique<State>();
    s->config = config;
    s->identity = std::move(identity);
    if (config.enabled) {
        StoreOptions options = config.store_options();
        if (config.verbose) options.log = [](const std::string& line) { std::cerr << line << "\n"; };
        auto store = LocalStore::open(config.cache_directory, std::move(options));
        if (!store) return tl::unexpected(store.error());
        s->store.emplace(std::move(*store));
        if (!config.remote_url.empty()) {
            auto remote = detail::RemoteTier::create(config, [verbose = config.verbose](const std::string& line) {
                if (verbose) std::cerr << "jdc-cache: " << line << "\n";
            });
            if (!remote) return tl::unexpected(remote.error());
            s->remote = std::move(*remote);
        }
    }
    return BuildCacheManager(std::move(s));
}

Result<void> BuildCacheManager::startBuildSession() {
    std::lock_guard<std::mutex> guard(s_->mutex);
    s_->session = {};
    s_->in_session = true;
    if (s_->store) {
        const StateLoad loaded = s_->deps.load(s_->deps_path());
        if (loaded.status == StateLoadStatus::discarded) s_->log(loaded.warning);
    }
    s_->deps.begin_build();
    if (s_->remote) s_->remote->start_session();
    if (!s_->store) return {};
    s_->evictions_at_start = s_->store->stats().index.evictions;
    if (auto j = read_json(s_->stats_path()); j && j->is_object()) {
        if (j->contains("lifetime")) s_->lifetime_before = metrics_from_json((*j)["lifetime"]);
        s_->lifetime_mean_build_ns = j->value("mean_build_ns", std::uint64_t{0});
    }
    s_->log("build session started (" + s_->root().string() + ")");
    return {};
}

Result<void> BuildCacheManager::endBuildSession() {
    s_->flush_pending();  // before the metrics are persisted
    if (s_->remote) s_->note_remote_write(s_->remote->flush());
    std::lock_guard<std::mutex> guard(s_->mutex);
    if (!s_->in_session) return make_error(ErrorCode::invalid_argument, "endBuildSession() without startBuildSession()");
    s_->in_session = false;
    if (!s_->store) return {};
    // The counter is the cache's; if the index was rebuilt meanwhile it restarted.
    const std::uint64_t evictions_now = s_->store->stats().index.evictions;
    s_->session.evictions = evictions_now >= s_->evictions_at_start ? evictions_now - s_->evictions_at_start : evictions_now;

    // Other processes may end sessions too: merge into the file under a lock.
    auto lock = StoreLock::for_file(s_->root() / "stats.lock");
    if (!lock) return tl::unexpected(lock.error());
    ScopedStoreLock held(**lock);
    if (!held.owns()) return make_error(ErrorCode::io, "cannot lock '" + (s_->root() / "stats.lock").string() + "': " + held.failure());
    CacheMetrics lifetime;
    std::uint64_t built_before = 0, build_ns_before = 0;
    if (auto j = read_json(s_->stats_path()); j && j->is_object() && j->contains("lifetime")) {
        lifetime = metrics_from_json((*j)["lifetime"]);
        built_before = lifetime.misses;
        build_ns_before = lifetime.build_ns;
    }
    lifetime += s_->session;
    const std::uint64_t built = built_before + s_->session.misses;
    const std::uint64_t mean = built == 0 ? 0 : (build_ns_before + s_->session.build_ns) / built;
    s_->lifetime_before = lifetime;  // now includes this session; lifetime_metrics() adds it only while in a session
    s_->lifetime_mean_build_ns = mean;
    json out = {{"lifetime", stored_metrics_json(lifetime)}, {"last_session", stored_metrics_json(s_->session)}, {"mean_build_ns", mean}};
    if (auto w = write_json(s_->stats_path(), s_->root() / "tmp", out); !w) return w;
    if (auto d = s_->deps.save(s_->deps_path()); !d) s_->log("cannot save dependency state: " + d.error().message);

    const IndexSummary summary = s_->store->stats().index;
    const std::uint64_t wall_now = wall_clock_ns();
    const std::uint64_t since_cleanup = wall_now - std::min(wall_now, summary.last_cleanup_ns);  // a clock set back is not "long ago"
    if (summary.last_cleanup_ns == 0 || since_cleanup > s_->config.cache_cleanup_interval_seconds * kNanosPerSecond) {
        if (auto c = s_->store->cleanup(); !c) return tl::unexpected(c.error());
    }
    s_->log("build session ended: " + std::to_string(s_->session.hits) + " hits, " + std::to_string(s_->session.misses) + " misses");
    s_->start_compactor_if_due();
    return {};
}

CacheKey BuildCacheManager::cache_key(const TableInputs& in, const TypeRegistry& reg) const {
    detail::HashStream128 h;
    h.str("jdc table input key");
    h.u32((std::uint32_t{arena::kVersionMajor} << 16) | arena::kVersionMinor);
    h.str(s_->identity.compiler_version);
    h.u64(s_->identity.config_hash);
    h.str(in.name);
    h.u64(signature_hash(in.signature, reg));
    std::vector<std::pair<std::string_view, CacheKey>> sources;
    for (const auto& src : in.sources) sources.emplace_back(src.path, src.content_hash);
    std::sort(sources.begin(), sources.end());
    h.u32(static_cast<std::uint32_t>(sources.size()));
    for (const auto& [path, hash] : sources) {
        h.str(path);
        h.u64(hash.hi);
        h.u64(hash.lo);
    }
    const TypeSetHash types = hash_type_set(in.types, reg);
    h.u64(types.count);
    h.u64(types.sum_a);
    h.u64(types.sum_b);
    const XXH128_hash_t d = h.digest();
    return {d.high64, d.low64};
}

Explanation BuildCacheManager::explain(const TableInputs& inputs, const TypeRegistry& registry) const {
    const CacheKey key = cache_key(inputs, registry);
    if (!s_->store) return {false, MissReason::disabled, {}, key};
    if (s_->store->find(key)) return {true, MissReason::never_seen, {}, key};
    return s_->explain_miss(inputs, registry, key);
}

Result<CachedTable> BuildCacheManager::getOrBuildDispatchTable(std::string_view name, const TypeSignature& signature,
                                                               const TypeRegistry& registry, const TableBuilder& builder) {
    TableInputs inputs;
    inputs.name = std::string(name);
    inputs.signature = signature;
    inputs.types = signature.parameter_types;
    return getOrBuildDispatchTable(inputs, registry, builder);
}

Result<CachedTable> BuildCacheManager::getOrBuildDispatchTable(const TableInputs& inputs, const TypeRegistry& registry,
                                                               const TableBuilder& builder) {
    const std::uint64_t t0 = now_ns();
    const CacheKey key = cache_key(inputs, registry);
    MissReason reason = MissReason::disabled;
    std::string detail;
    bool explain_miss = false;

    if (s_->store) {
        if (auto queued = s_->pending_table(key)) {  // stored this session, not yet written
            if (auto table = CachedTable::from_shared(std::move(queued), registry, key, TableOrigin::cache)) {
                std::lock_guard<std::mutex> guard(s_->mutex);
                ++s_->session.lookups;
                ++s_->session.hits;
                s_->session.load_ns += now_ns() - t0;
                return table;
            }
        }
        auto got = s_->store->get(key);
        if (got) {
            auto owner = std::make_shared<StoredArena>(std::move(*got));
            auto table = CachedTable::bind(owner, owner->view(), registry, key, TableOrigin::cache);
            if (table) {
                const std::uint64_t took = now_ns() - t0;
                {
                    std::lock_guard<std::mutex> guard(s_->mutex);
                    ++s_->session.lookups;
                    ++s_->session.hits;
                    s_->session.load_ns += took;
                    s_->session.bytes_read += owner->view().bytes().size();
                }
                if (s_->config.verbose)  // the message costs more than a small hit
                    s_->log("hit " + inputs.name + " " + key.to_hex() + " (" + format_bytes(owner->view().bytes().size()) + ", " +
                            format_duration_ns(took) + ")");
                return table;
            }
            // The key covers every type's structural hash, so this means the caller
            // left a type out of TableInputs::types. Drop the entry: it cannot be used.
            (void)s_->store->remove(key);
            reason = MissReason::stale;
            detail = table.error().message;
            std::lock_guard<std::mutex> guard(s_->mutex);
            ++s_->session.stale_drops;
        } else if (got.error().code == ErrorCode::not_found) {
            explain_miss = true;  // after the remote tier: a remote hit needs no explanation
        } else {
            // Damage (dropped by the store) is `corrupt`; anything else the store could
            // not read (permission, a refused symlink, a newer format, local limits) is
            // counted as a store error and explained by what was recorded.
            const ErrorCode code = got.error().code;
            const bool damage = code == ErrorCode::bad_magic || code == ErrorCode::truncated || code == ErrorCode::corrupt ||
                                code == ErrorCode::checksum_mismatch;
            detail = got.error().message;
            std::lock_guard<std::mutex> guard(s_->mutex);
            if (damage) {
                reason = MissReason::corrupt;
                ++s_->session.corrupt_drops;
            } else {
                reason = s_->explain_miss(inputs, registry, key).reason;
                ++s_->session.store_errors;
                s_->log("cannot read " + inputs.name + " from the cache: " + detail);
            }
        }
    }
    if (s_->remote)
        if (auto table = s_->fetch_remote(inputs, registry, key, t0)) return std::move(*table);
    if (explain_miss) {
        const Explanation e = s_->explain_miss(inputs, registry, key);
        reason = e.reason;
        detail = e.detail;
    }

    const std::uint64_t build_start = now_ns();
    auto built = builder(inputs, registry);
    if (!built) return tl::unexpected(built.error());
    ArenaBuildOptions arena_options;
    if (s_->config.enable_compression) arena_options.forms = DispatchForms::for_table(built->table);
    if (built->matrix) arena_options.matrix = &*built->matrix;
    auto bytes = build_arena(built->table, registry, built->optimization, arena_options);
    if (!bytes) return tl::unexpected(bytes.error());
    const std::uint64_t build_took = now_ns() - build_start;

    auto shared = std::make_shared<const std::vector<std::byte>>(std::move(*bytes));
    if (s_->store) {
        // Written behind, with the session's other misses (a store that cannot write
        // only makes the build slower: counted as store errors at the flush). The miss
        // reason goes with the record, for jdc explain KEY.
        s_->queue_for_store(key, shared, s_->record_line(inputs, registry, key, build_took, to_string(reason), detail), inputs.name);
        if (s_->remote) s_->store_remote({key, *shared, s_->identity.config_hash});
    }
    {
        std::lock_guard<std::mutex> guard(s_->mutex);
        s_->count_miss(reason);
        s_->session.build_ns += build_took;
        if (s_->config.verbose)
            s_->log("miss " + inputs.name + " (" + std::string(to_string(reason)) + (detail.empty() ? "" : ": " + detail) +
                    "), built in " + format_duration_ns(build_took) + (s_->store ? ", queued for the store" : ""));
    }
    return CachedTable::from_shared(std::move(shared), registry, key, TableOrigin::built);
}

CacheMetrics BuildCacheManager::session_metrics() const {
    std::lock_guard<std::mutex> guard(s_->mutex);
    return s_->session;
}

CacheMetrics BuildCacheManager::lifetime_metrics() const {
    std::lock_guard<std::mutex> guard(s_->mutex);
    CacheMetrics m = s_->lifetime_before;
    if (s_->in_session) m += s_->session;
    return m;
}

void BuildCacheManager::generateBuildReport(std::ostream& out) const {
    const CacheMetrics m = session_metrics();
    std::uint64_t fallback;
    {
        std::lock_guard<std::mutex> guard(s_->mutex);
        fallback = s_->lifetime_mean_build_ns;
    }
    out << "jdc build cache report\n";
    if (!s_->store)
        out << "  cache:        disabled" << (s_->config.disabled_by.empty() ? "" : " (" + s_->config.disabled_by + ")")
            << ": every table built, nothing stored\n";
    out << "  lookups:      " << m.lookups << " (" << m.hits << " hits, " << m.misses << " misses, hit ratio "
        << format_percent(m.hits, m.lookups) << ")\n";
    if (m.misses > 0) {
        out << "  misses:      ";
        bool first = true;
        for (std::size_t i = 0; i < kMissReasonCount; ++i) {
            if (m.misses_by_reason[i] == 0) continue;
            out << (first ? " " : ", ") << to_string(static_cast<MissReason>(i)) << " " << m.misses_by_reason[i];
            first = false;
        }
        out << "\n";
    }
    out << "  building:     " << m.misses << " tables in " << format_duration_ns(m.build_ns);
    if (m.misses) out << " (" << format_duration_ns(m.build_ns / m.misses) << " each)";
    out << "\n  loading:      " << m.hits << " tables in " << format_duration_ns(m.load_ns);
    if (m.hits) out << " (" << format_duration_ns(m.load_ns / m.hits) << " each)";
    const std::int64_t saved = m.time_saved_ns(fallback);
    out << "\n  time saved:   " << (saved < 0 ? "-" : "") << format_duration_ns(static_cast<std::uint64_t>(saved < 0 ? -saved : saved))
        << " (hits x mean build time of misses - load time)\n"
        << "  bytes:        " << format_bytes(m.bytes_read) << " read, " << format_bytes(m.bytes_written) << " written\n"
        << "  drops:        " << m.evictions << " evicted, " << m.corrupt_drops << " corrupt, " << m.stale_drops << " stale"
        << (m.store_errors ? ", " + std::to_string(m.store_errors) + " store errors" : "") << "\n";
    if (s_->remote) detail::write_remote_report(out, *s_->remote, m);
    if (s_->store) {
        const StoreStats st = s_->store->stats();
        out << "  cache:        " << st.index.live_count << " entries, " << format_bytes(st.index.total_bytes) << " of "
            << format_bytes(st.max_size_bytes) << " in " << s_->root().string() << "\n";
    }
}

std::string BuildCacheManager::build_report_json() const {
    const CacheMetrics m = session_metrics();
    json j = {{"session", metrics_json(m)}, {"lifetime", metrics_json(lifetime_metrics())}, {"enabled", s_->store.has_value()}};
    std::uint64_t fallback;
    {
        std::lock_guard<std::mutex> guard(s_->mutex);
        fallback = s_->lifetime_mean_build_ns;
    }
    j["session"]["time_saved_ns"] = m.time_saved_ns(fallback);
    if (s_->store) {
        const StoreStats st = s_->store->stats();
        j["cache"] = {{"directory", s_->root().string()}, {"entries", st.index.live_count}, {"bytes", st.index.total_bytes},
                      {"max_bytes", st.max_size_bytes}, {"packs", st.pack_count}};
    }
    if (s_->remote) j["remote"] = detail::remote_report_json(*s_->remote, m, lifetime_metrics());
    return j.dump(2);
}

std::optional<RecordedMetrics> read_recorded_metrics(const fs::path& cache_directory) {
    const auto j = read_json(cache_directory / "stats.json");
    if (!j || !j->is_object()) return std::nullopt;
    RecordedMetrics m;
    if (j->contains("lifetime")) m.lifetime = metrics_from_json((*j)["lifetime"]);
    if (j->contains("last_session")) m.last_session = metrics_from_json((*j)["last_session"]);
    m.mean_build_ns = j->value("mean_build_ns", std::uint64_t{0});
    return m;
}

namespace {

std::vector<std::pair<std::string, std::string>> string_pairs(const json& object) {
    std::vector<std::pair<std::string, std::string>> out;
    if (!object.is_object()) return out;
    for (const auto& [k, v] : object.items())
        if (v.is_string()) out.emplace_back(k, v.get<std::string>());
    return out;
}

std::optional<RecordedInputs> parse_inputs_record(const fs::path& file, const json& j) {
    if (!j.is_object() || !j.contains("key") || !j["key"].is_string()) return std::nullopt;
    const auto key = CacheKey::from_hex(j["key"].get<std::string>());
    if (!key) return std::nullopt;
    auto text = [&](const char* field) { return j.contains(field) && j[field].is_string() ? j[field].get<std::string>() : std::string(); };
    auto number = [&](const char* field) { return j.contains(field) && j[field].is_number_unsigned() ? j[field].get<std::uint64_t>() : 0; };
    RecordedInputs r;
    r.file = file;
    r.key = *key;
    r.name = text("name");
    r.compiler_version = text("compiler_version");
    r.config_hash = text("config_hash");
    r.signature = text("signature");
    if (j.contains("sources")) r.sources = string_pairs(j["sources"]);
    if (j.contains("types")) r.types = string_pairs(j["types"]);
    r.build_ns = number("build_ns");
    r.recorded_at_ns = number("recorded_at_ns");
    r.miss_reason = text("miss_reason");
    r.miss_detail = text("miss_detail");
    return r;
}

}  // namespace

std::optional<RecordedInputs> find_recorded_inputs(const fs::path& cache_directory, const CacheKey& key) {
    // Records are filed by table name; the key is inside. A scan is fine for a tool.
    const std::string wanted = key.to_hex();
    const detail::InputsLog log = detail::InputsLog::load(cache_directory);
    for (const json& j : log.all())
        if (j.value("key", "") == wanted)
            if (auto record = parse_inputs_record(detail::InputsLog::path_in(cache_directory), j)) return record;
    return std::nullopt;
}

}  // namespace jdc
