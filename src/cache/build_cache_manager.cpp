// The manager orchestrates; each concept it uses is its own unit in src/cache/:
//   table_key          the cache key of a table's inputs
//   write_behind       the session's tables on their way to the local store
//   remote_tier        the team cache: fetch policy, write batches, failure policy
//   miss_record        the inputs log's record of a stored table (one encoder)
//   miss_explanation   why a lookup missed, from those records
//   session_metrics    the counters; metrics_report: reports and stats.json
//   compactor_launch   the background compactor
//   session_upkeep     prefetch at a session's start; read history, bounds and compactor at its end
#include "jdc/build_cache_manager.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <mutex>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/cache_log.hpp"
#include "cache/session_upkeep.hpp"
#include "cache/metrics_report.hpp"
#include "cache/miss_explanation.hpp"
#include "cache/miss_record.hpp"
#include "cache/remote_tier.hpp"
#include "cache/session_metrics.hpp"
#include "cache/table_key.hpp"
#include "cache/write_behind.hpp"
#include "jdc/arena_builder.hpp"
#include "jdc/cache_records.hpp"
#include "util/clock.hpp"
#include "util/forward_error.hpp"
#include "util/report_format.hpp"

namespace jdc {
namespace fs = std::filesystem;
using detail::steady_ns;

CacheLogSink default_log_sink(const CacheConfig& config) {
    if (!config.verbose) return {};
    return [](const std::string& line) { std::cerr << line << "\n"; };
}

struct BuildCacheManager::State {
    // Members are destroyed in reverse order: the queue writes its tables and the
    // remote tier sends its batch while the store, the metrics and the log still live.
    CacheConfig config;
    BuildIdentity identity;
    detail::CacheLog log;
    detail::SessionMetrics metrics;
    DependencyTracker deps;                           // used by one thread at a time: the compiler's driver
    std::optional<LocalStore> store;                  // none when caching is disabled
    std::optional<detail::MissExplainer> explainer;   // with the store
    std::unique_ptr<detail::RemoteTier> remote;       // with the store and a remote URL
    std::optional<detail::WriteBehindQueue> queue;    // with a store this process can write
    std::uint64_t evictions_at_start = 0;             // sessions start and end on the driver's thread
    detail::SessionReads reads;                       // keys asked for, in order: the read history
    // Why the cache directory is read-only (store opened read-only) or not used at all
    // (no store although caching is enabled); empty when neither. Set by create().
    std::string unusable_reason, read_only_reason;
    // The recorded totals are read when a report first needs them, unless the
    // session's end, which updates them, came first: a warm build's start does not
    // parse stats.json for nothing.
    mutable std::once_flag lifetime_read;
    void ensure_lifetime() const {
        std::call_once(lifetime_read, [this] {
            if (!store) return;
            // `metrics` is not const (only this view of State is) and locks its own state.
            if (const auto recorded = read_recorded_metrics(root()))
                const_cast<detail::SessionMetrics&>(metrics).set_lifetime(recorded->lifetime, recorded->mean_build_ns);
        });
    }

    // Why a lookup missed; `unexplained` until the inputs log is asked, which is left
    // until the remote tier has missed too (a remote hit needs no explanation).
    struct Miss {
        MissReason reason = MissReason::disabled;
        std::string detail;
        bool unexplained = false;
    };

    const fs::path& root() const { return config.cache_directory; }
    fs::path deps_path() const { return root() / "deps.jdcd"; }
    // Nothing may be written: the store was opened read-only, or a write failed.
    std::string read_only_now() const {
        if (!read_only_reason.empty()) return read_only_reason;
        if (queue)
            if (std::string failed = queue->write_failure(); !failed.empty()) return "a write failed (" + failed + ")";
        return {};
    }
    bool writable() const { return store && read_only_now().empty(); }
    // A line the user must see: to the log when there is one, else to stderr.
    void warn(const std::string& line) const {
        if (log.on()) log(line);
        else std::cerr << "jdc-cache: " << line << "\n";
    }
    void derived_error(const std::string& what, const Error& e) {
        log("cannot " + what + " (derived data; the build is unaffected): " + e.message);
        metrics.update([](CacheMetrics& m) { ++m.derived_errors; });
    }
    Result<void> open_store(const CacheConfig& config);

    std::optional<CachedTable> local_hit(const TableInputs& in, const TypeRegistry& reg, const CacheKey& key, std::uint64_t t0, Miss& miss);
    std::optional<CachedTable> remote_hit(const TableInputs& in, const TypeRegistry& reg, const CacheKey& key, std::uint64_t t0);
    Result<CachedTable> build(const TableInputs& in, const TypeRegistry& reg, const TableBuilder& builder, const CacheKey& key,
                              const Miss& miss);
    Result<void> cleanup_if_due();
    detail::ReportContext report_context() const;
    // The inputs log lines of a table stored under `key` (with the domain records the
    // log does not hold yet).
    std::string record(const TableInputs& in, const TypeRegistry& reg, const CacheKey& key, std::uint64_t build_ns,
                       std::string_view miss_reason, std::string_view miss_detail) const {
        return detail::encode_inputs_record(identity, in, reg, key, build_ns, miss_reason, miss_detail,
                                            [this](std::uint64_t digest) { return explainer->claim_domain_record(digest); });
    }
};

// A table this session stored (still queued) or the local store has; else `miss`
// says why not.
std::optional<CachedTable> BuildCacheManager::State::local_hit(const TableInputs& in, const TypeRegistry& reg, const CacheKey& key,
                                                               std::uint64_t t0, Miss& miss) {
    if (auto queued = queue ? queue->find(key) : nullptr)
        if (auto table = CachedTable::from_shared(std::move(queued), reg, key, in.signature.parameter_types, TableOrigin::cache)) {
            metrics.count_hit(steady_ns() - t0);
            return std::move(*table);
        }
    auto got = store->get(key);
    if (got) {
        // The arena is held by what holds its bytes (the pack's or the file's mapping,
        // shared): a hit allocates nothing of its own.
        const ArenaView& view = got->view();
        auto table = CachedTable::bind(got->owner(), view, reg, key, in.signature.parameter_types, TableOrigin::cache);
        if (table) {
            const std::uint64_t took = steady_ns() - t0;
            const std::uint64_t size = view.bytes().size();
            metrics.count_hit(took, size);
            if (log.on())  // the message costs more than a small hit
                log("hit " + in.name + " " + key.to_hex() + " (" + format_bytes(size) + ", " + format_duration_ns(took) + ")");
            return std::move(*table);
        }
        // The arena says it is another key's (the store checks keys it can read, so
        // this is an arena written without one), or its declared types are not the
        // caller's: either way not this table. Dropped: it cannot be used.
        (void)store->remove(key);
        miss = {MissReason::stale, table.error().message, false};
        metrics.update([](CacheMetrics& m) { ++m.stale_drops; });
    } else if (got.error().code == ErrorCode::not_found) {
        miss.unexplained = true;
    } else if (is_damage(got.error().code)) {  // the store has dropped the entry
        miss = {MissReason::corrupt, got.error().message, false};
        metrics.update([](CacheMetrics& m) { ++m.corrupt_drops; });
    } else {
        // Anything else the store could not read (permission, a refused symlink, a
        // newer format, local limits) is a store error, explained by what was recorded.
        miss = {explainer->explain(in, reg, key).reason, got.error().message, false};
        metrics.update([](CacheMetrics& m) { ++m.store_errors; });
        log("cannot read " + in.name + " from the cache: " + miss.detail);
    }
    return std::nullopt;
}

// A table the remote had, now also queued for the local store.
std::optional<CachedTable> BuildCacheManager::State::remote_hit(const TableInputs& in, const TypeRegistry& reg, const CacheKey& key,
                                                                std::uint64_t t0) {
    auto fetched = remote->fetch_table(in, reg, key);
    if (!fetched) return std::nullopt;
    const std::uint64_t size = fetched->arena->size();
    // Written with this session's misses (and verified again by the store).
    if (queue) queue->add({key, std::move(fetched->arena), record(in, reg, key, 0, "", ""), in.name});
    const std::uint64_t took = steady_ns() - t0;
    metrics.count_hit(took);
    if (log.on()) log("remote hit " + in.name + " " + key.to_hex() + " (" + format_bytes(size) + ", " + format_duration_ns(took) + ")");
    return std::move(fetched->table);
}

// The header record of a table the cache writes: build_arena replaces it with the
// index's own figures when it writes a dispatch index; without one, the arena holds
// the table as the scan reads it, so it claims no compression (ratio 1, nothing
// saved) and none of the index's techniques (arena-v2.md §6.4), whatever the builder
// said it did.
static OptimizationResult record_without_index(const OptimizationResult& builder) {
    OptimizationResult r;
    switch (builder.type) {
        case OptimizationType::compression:
        case OptimizationType::advanced_compression:
        case OptimizationType::sharing:
        case OptimizationType::combined: break;
        default: r.type = builder.type; break;
    }
    return r;
}

// A miss: the builder runs, and its table is queued for the store and the remote.
Result<CachedTable> BuildCacheManager::State::build(const TableInputs& in, const TypeRegistry& reg, const TableBuilder& builder,
                                                    const CacheKey& key, const Miss& miss) {
    const std::uint64_t start = steady_ns();
    auto built = builder(in, reg);
    if (!built) return tl::unexpected(built.error());
    ArenaBuildOptions options;
    if (config.enable_compression) options.forms = DispatchForms::for_table(built->table);
    if (built->matrix) options.matrix = &*built->matrix;
    options.key = key;  // readers that ask for `key` accept only bytes that say so
    auto bytes = build_arena(built->table, reg, record_without_index(built->optimization), options);
    if (!bytes) return tl::unexpected(bytes.error());
    const std::uint64_t took = steady_ns() - start;

    // Verified here, once (a builder bug must not reach lookups, nor the store); the
    // store and the remote are told so.
    auto arena = std::make_shared<const std::vector<std::byte>>(std::move(*bytes));
    auto table = CachedTable::from_shared(arena, reg, key, in.signature.parameter_types, TableOrigin::built);
    if (!table) return tl::unexpected(table.error());
    // The miss reason goes with the record, for jdc explain.
    if (queue) queue->add({key, arena, record(in, reg, key, took, to_string(miss.reason), miss.detail), in.name});
    if (remote) (void)remote->store({key, *arena, identity.config_hash, true});  // also from a read-only local cache
    metrics.count_miss(miss.reason, took, in.name, miss.detail);
    if (log.on())
        log("miss " + in.name + " " + key.to_hex() + " (" + std::string(to_string(miss.reason)) +
            (miss.detail.empty() ? "" : ": " + miss.detail) + "), built in " + format_duration_ns(took) +
            (queue ? ", queued for the store" : ""));
    return table;
}

Result<void> BuildCacheManager::State::cleanup_if_due() {
    const IndexSummary summary = store->stats().index;
    const std::uint64_t now = detail::wall_clock_ns();
    const std::uint64_t since_cleanup = now - std::min(now, summary.last_cleanup_ns);  // a clock set back is not "long ago"
    if (summary.last_cleanup_ns != 0 && since_cleanup <= config.cache_cleanup_interval_seconds * kNanosPerSecond) return {};
    JDC_FORWARD_IF_ERROR(store->cleanup());
    return {};
}

detail::ReportContext BuildCacheManager::State::report_context() const {
    detail::ReportContext r;
    r.session = metrics.session();
    ensure_lifetime();
    r.lifetime = metrics.lifetime();
    r.fallback_build_ns = metrics.mean_build_ns();
    r.enabled = store.has_value();
    r.disabled_by = config.disabled_by;
    r.unusable_reason = unusable_reason;
    r.read_only_reason = read_only_now();
    r.directory = root();
    if (store) r.store = store->stats();
    if (remote) r.remote = detail::ReportContext::Remote{remote->endpoint().describe(), remote->read_only(), remote->off_reason()};
    return r;
}

// ---- the seed's API and the rest of the manager ----------------------------------

Result<BuildCacheManager> BuildCacheManager::create(const CacheConfig& config, BuildIdentity identity) {
    return create(config, std::move(identity), default_log_sink(config));
}

Result<BuildCacheManager> BuildCacheManager::create(const CacheConfig& config, BuildIdentity identity, CacheLogSink log) {
    auto s = std::make_unique<State>();
    s->config = config;
    s->identity = std::move(identity);
    s->log = detail::CacheLog(std::move(log));
    if (!config.enabled) return BuildCacheManager(std::move(s));
    if (auto opened = s->open_store(config); !opened) return tl::unexpected(opened.error());
    if (!s->store) return BuildCacheManager(std::move(s));  // not usable: every table built (unusable_reason)
    s->explainer.emplace(config.cache_directory, s->identity);
    if (!config.remote_url.empty()) {
        auto remote = detail::RemoteTier::create(config, s->metrics, s->log);
        if (!remote) return tl::unexpected(remote.error());
        s->remote = std::move(*remote);
    }
    if (!s->store->read_only())
        s->queue.emplace(*s->store, detail::WriteBehindQueue::Options{config.write_through, config.write_behind_tables, s->identity.config_hash},
                         s->metrics, s->log);
    return BuildCacheManager(std::move(s));
}

namespace {

// Why this process cannot write the store at `root` (a directory it must create files
// in is not writable for it), or an empty string. Checked once, when the manager opens
// the store: a write that fails later (a full disk) stops the write-behind queue.
std::string unwritable_part(const fs::path& root) {
    for (const fs::path& dir : {root, root / "tmp", root / "objects", root / "packs"})
        if (::faccessat(AT_FDCWD, dir.c_str(), W_OK | X_OK, AT_EACCESS) != 0)
            return "cannot write '" + dir.string() + "': " + std::strerror(errno);
    return {};
}

// Why another user could put files in the cache at `root` (it is theirs, or every user
// may write it), or an empty string. Such a user could plant a well-formed table
// under a key it answers: keys bind values to inputs, not to writers.
std::string shared_with_others(const fs::path& root) {
    struct stat st {};
    if (::stat(root.c_str(), &st) != 0) return {};
    if (st.st_uid != ::geteuid())
        return "is owned by another user (uid " + std::to_string(st.st_uid) + ")";
    if ((st.st_mode & S_IWOTH) != 0) return "is writable by every user";
    return {};
}

}  // namespace

// The cache never fails a build it could do without it: a directory this process
// cannot write (a CI image, a shared read-only mount, tmp/ or packs/ not writable, a
// disk too full to recreate the index) is opened read-only; one it cannot read at all
// is not used. Either way with one log line, and the reason in both reports
// (cache_access_reason()). Only a configuration error is returned.
Result<void> BuildCacheManager::State::open_store(const CacheConfig& config) {
    StoreOptions options = config.store_options();
    options.log = log.sink();
    auto opened = LocalStore::open(config.cache_directory, options);
    if (!opened && opened.error().code == ErrorCode::invalid_argument) return tl::unexpected(opened.error());
    if (!config.allow_shared)
        if (const std::string why = shared_with_others(config.cache_directory); !why.empty())
            warn("warning: cache " + config.cache_directory.string() + " " + why +
                 ": another user could plant tables in it (JANUS_CACHE_ALLOW_SHARED=1 if it is shared on purpose)");
    std::string why_read_only;
    if (opened) {
        why_read_only = unwritable_part(config.cache_directory);
        if (why_read_only.empty()) {
            store.emplace(std::move(*opened));
            return {};
        }
    } else {
        why_read_only = opened.error().message;
    }
    options.read_only = true;
    auto read_only = LocalStore::open(config.cache_directory, options);
    if (!read_only) {
        unusable_reason = why_read_only == read_only.error().message ? why_read_only : why_read_only + "; " + read_only.error().message;
        warn("cache " + config.cache_directory.string() + " not used: " + unusable_reason + "; every table is built, nothing stored");
        return {};
    }
    store.emplace(std::move(*read_only));
    read_only_reason = why_read_only;
    warn("cache " + config.cache_directory.string() + " is read-only for this build: " + read_only_reason);
    return {};
}

BuildCacheManager::BuildCacheManager(std::unique_ptr<State> s) : s_(std::move(s)) {}
BuildCacheManager::BuildCacheManager(BuildCacheManager&&) noexcept = default;
BuildCacheManager& BuildCacheManager::operator=(BuildCacheManager&&) noexcept = default;
// A compiler that never ended its session still stores its tables: the queue and the
// remote tier write theirs when State goes.
BuildCacheManager::~BuildCacheManager() = default;

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

Result<void> BuildCacheManager::startBuildSession() {
    s_->metrics.start();
    if (s_->store) {
        const StateLoad loaded = s_->deps.load(s_->deps_path());
        if (loaded.status == StateLoadStatus::discarded) s_->log(loaded.warning);
    }
    s_->deps.begin_build();
    if (s_->remote) s_->remote->start_session();
    if (!s_->store) return {};
    s_->evictions_at_start = s_->store->stats().index.evictions;
    detail::prefetch_recorded_reads(*s_->store, s_->config, s_->log);
    s_->log("build session started (" + s_->root().string() + ")");
    return {};
}

Result<void> BuildCacheManager::endBuildSession() {
    if (s_->queue) s_->queue->flush();  // before the metrics are persisted
    if (s_->remote) (void)s_->remote->flush();
    if (!s_->metrics.end()) return make_error(ErrorCode::invalid_argument, "endBuildSession() without startBuildSession()");
    if (!s_->store) return {};
    // The counter is the cache's; if the index was rebuilt meanwhile it restarted.
    const std::uint64_t evictions_now = s_->store->stats().index.evictions;
    const std::uint64_t evictions = evictions_now >= s_->evictions_at_start ? evictions_now - s_->evictions_at_start : evictions_now;
    s_->metrics.update([&](CacheMetrics& m) { m.evictions = evictions; });

    // Everything below is derived data or maintenance: best-effort, counted and logged,
    // never a reason to fail a build whose tables are all there (a full disk, a cache
    // made read-only under us). A read-only cache is only read.
    if (s_->writable()) {
        if (auto totals = detail::add_session_to_stats(s_->root(), s_->metrics.record()); !totals) {
            s_->derived_error("record the session in stats.json", totals.error());
        } else {
            std::call_once(s_->lifetime_read, [] {});  // these totals are the file's, updated: no need to read it
            s_->metrics.set_lifetime(totals->lifetime, totals->mean_build_ns);
        }
        if (auto d = s_->deps.save(s_->deps_path()); !d) s_->derived_error("save the dependency state", d.error());
        if (auto c = s_->cleanup_if_due(); !c) {
            s_->log("cannot clean the cache up: " + c.error().message);
            s_->metrics.update([](CacheMetrics& m) { ++m.store_errors; });
        }
    }
    const CacheMetrics session = s_->metrics.session();
    s_->log("build session ended: " + std::to_string(session.hits) + " hits, " + std::to_string(session.misses) + " misses");
    // A read-only cache is left as it is: no read history, no eviction, no compactor.
    if (s_->writable()) detail::finish_session_upkeep(*s_->store, s_->config, s_->reads.take(), s_->log);
    return {};
}

CacheAccess BuildCacheManager::cache_access() const {
    if (!s_->store) return CacheAccess::none;
    return s_->read_only_now().empty() ? CacheAccess::read_write : CacheAccess::read_only;
}

std::string BuildCacheManager::cache_access_reason() const {
    if (!s_->store) return s_->unusable_reason;
    return s_->read_only_now();
}

CacheKey BuildCacheManager::cache_key(const TableInputs& inputs, const TypeRegistry& registry) const {
    return detail::table_key(s_->identity, inputs, registry);
}

Explanation BuildCacheManager::explain(const TableInputs& inputs, const TypeRegistry& registry) const {
    const CacheKey key = cache_key(inputs, registry);
    if (!s_->store) return {false, MissReason::disabled, {}, key};
    if (s_->store->find(key)) return {true, MissReason::never_seen, {}, key};
    return s_->explainer->explain(inputs, registry, key);
}

Result<CachedTable> BuildCacheManager::getOrBuildDispatchTable(std::string_view name, const TypeSignature& signature,
                                                               const TypeRegistry& registry, const TableBuilder& builder) {
    // The seed's form names no methods: the key covers the name, the signature and its
    // domains, and the builder must be a function of those (table_inputs.hpp).
    TableInputs inputs;
    inputs.name = std::string(name);
    inputs.signature = signature;
    inputs.methods_known = false;
    return getOrBuildDispatchTable(inputs, registry, builder);
}

// Local store (or this session's queue), then the remote, then the builder.
Result<CachedTable> BuildCacheManager::getOrBuildDispatchTable(const TableInputs& inputs, const TypeRegistry& registry,
                                                               const TableBuilder& builder) {
    const std::uint64_t t0 = steady_ns();
    const CacheKey key = cache_key(inputs, registry);
    State::Miss miss;
    if (s_->store) s_->reads.record(key);
    if (s_->store)
        if (auto table = s_->local_hit(inputs, registry, key, t0, miss)) return std::move(*table);
    if (s_->remote)
        if (auto table = s_->remote_hit(inputs, registry, key, t0)) return std::move(*table);
    if (miss.unexplained) {
        Explanation e = s_->explainer->explain(inputs, registry, key);
        miss = {e.reason, std::move(e.detail), false};
    }
    return s_->build(inputs, registry, builder, key, miss);
}

CacheMetrics BuildCacheManager::session_metrics() const { return s_->metrics.session(); }
CacheMetrics BuildCacheManager::lifetime_metrics() const {
    s_->ensure_lifetime();
    return s_->metrics.lifetime();
}

void BuildCacheManager::generateBuildReport(std::ostream& out) const { detail::write_build_report(out, s_->report_context()); }
std::string BuildCacheManager::build_report_json() const { return detail::build_report_json(s_->report_context()); }

}  // namespace jdc
