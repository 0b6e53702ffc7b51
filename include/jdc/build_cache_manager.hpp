// jdc — the seed's BuildCacheManager: the cache as a compiler's build sees it.
//
// Cache layer. For each generic function the compiler asks getOrBuildDispatchTable
// with the table's *inputs*: its name and signature, the source files its methods
// come from (with their transitive content hashes, see DependencyTracker), the types
// whose definitions decide its dispatch, and the build's identity (compiler version,
// flags and optimization settings). The cache key is a hash of exactly those inputs,
// so every invalidation rule of the seed is a key change:
//   source file modified (content hash)        -> sources
//   dependency modified (transitive)           -> sources' transitive hashes
//   type definition changed                    -> types' structural hashes
//   compiler version changed                   -> identity.compiler_version
//   build configuration changed                -> identity.config_hash
// On a hit the table is served zero-copy from the store; on a miss `builder` runs,
// its table is stored, and the reason for the miss is recorded (explain()).
//
// Writes are behind by default: the session's built tables are queued (and served
// from the queue if asked again) and written as one pack, with their records as one
// append to the inputs log, when 4096 are queued, at endBuildSession() and when the
// manager is destroyed. On the test machines creating a file cost more than building a
// table, which made a clean build with the cache several times slower than without.
// Other processes see the tables once they are written; CacheConfig::write_through
// (JANUS_CACHE_WRITE_THROUGH) writes each at once as a loose file instead.
//
// With a remote tier (CacheConfig::remote_url, JANUS_CACHE_REMOTE: a Redis server the
// team shares) a lookup goes local -> remote -> builder:
//   read   a local miss asks the remote; a remote value is untrusted: it is verified in
//          full (checksums, bounds, size cap), must bind to the registry and declare
//          the signature asked for, else it is rejected (counted, never used, never
//          written locally) and the table is built. A good value is
//          written to the local store and served (TableOrigin::remote).
//   write  a built table goes to the local store, then is queued for the remote:
//          queued tables go out in pipelined batches (one round trip for up to 256
//          tables or 1 MiB) when the queue is full, at endBuildSession(), and when
//          the manager is destroyed. Measured on loopback (bench/bench_remote.cpp, 2
//          cores at load 25): one put is a round trip, 27-71 us, which writing
//          through would add to every miss; in a batch a small or medium table costs
//          4-10 us, a large one (80 KiB) about a single put (the transfer dominates).
//          Over a network the round trip grows and the batch still pays one. Queued
//          writes are lost if the compiler dies before the session ends: its local
//          cache has them, and the next machine that builds them writes them.
//          Read-only mode (laptops; CI writes) never writes the remote.
//   failure  the first connection error or timeout switches the remote off for the
//          rest of the build session (one line on the verbose log, and in the report);
//          the build goes on with the local cache. startBuildSession() tries again.
// Remote counters are in CacheMetrics (remote_*) and in both reports when a remote is
// configured.
//
//   auto m = *BuildCacheManager::create(*CacheConfig::from_environment(), {"janusc 0.1", flags_hash});
//   m.startBuildSession();
//   auto t = m.getOrBuildDispatchTable(inputs, registry, build_fn);   // Result<CachedTable>
//   m.endBuildSession();
//   m.generateBuildReport(std::cout);
//
// Thread-safe: getOrBuildDispatchTable may be called from many threads at once.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "jdc/cache_config.hpp"
#include "jdc/cached_table.hpp"
#include "jdc/dependency_tracker.hpp"
#include "jdc/dispatch_matrix.hpp"
#include "jdc/dispatch_table.hpp"
#include "jdc/local_store.hpp"
#include "jdc/optimization.hpp"

namespace jdc {

struct BuildIdentity {
    std::string compiler_version;
    std::uint64_t config_hash = 0;  // hash of the flags and optimization settings that affect tables
};

struct SourceInput {
    std::string path;        // as the compiler names it (normalised by the caller)
    CacheKey content_hash;   // transitive: the file and everything it imports
};

struct TableInputs {
    std::string name;                  // the generic function
    TypeSignature signature;
    std::vector<SourceInput> sources;  // files whose content determines the methods
    std::vector<TypeId> types;         // types whose definitions determine dispatch
};

// The table a builder produced, with what its optimizer did (written to the header).
struct BuiltTable {
    DispatchTable table;
    OptimizationResult optimization;  // written as given when the arena gets no optimized forms
    // The dispatch matrix, when the builder resolved the table (the usual miss work
    // of a compiler): stored as the arena's compressed table without being rebuilt.
    std::optional<DispatchMatrix> matrix = std::nullopt;
};
using TableBuilder = std::function<Result<BuiltTable>(const TableInputs&, const TypeRegistry&)>;

// Why a lookup missed. Values index CacheMetrics::misses_by_reason.
enum class MissReason : std::uint8_t {
    never_seen,         // no table of this name was ever stored
    source_changed,     // a source file (or one it imports) changed
    type_changed,       // a type definition the table depends on changed
    signature_changed,  // the generic function's declared signature changed
    config_changed,     // build flags / optimization settings changed
    compiler_changed,   // compiler version changed
    evicted,            // same inputs as last time, but the entry was evicted
    corrupt,            // the stored entry failed verification and was dropped
    stale,              // the stored entry no longer binds to the registry
    disabled,           // caching is off (JANUS_CACHE_DISABLE)
};
inline constexpr std::size_t kMissReasonCount = 10;
std::string_view to_string(MissReason reason) noexcept;

struct Explanation {
    bool hit = false;
    MissReason reason = MissReason::never_seen;
    std::string detail;  // e.g. "src/shapes.jn" or "type 'Circle'"
    CacheKey key;
};

struct CacheMetrics {
    std::uint64_t lookups = 0, hits = 0, misses = 0;
    std::array<std::uint64_t, kMissReasonCount> misses_by_reason{};
    std::uint64_t build_ns = 0;  // time in builders (misses)
    std::uint64_t load_ns = 0;   // time serving hits (lookup, verify, bind)
    std::uint64_t bytes_read = 0, bytes_written = 0;
    std::uint64_t evictions = 0, corrupt_drops = 0, stale_drops = 0, store_errors = 0;
    // The remote tier (all zero without one). A remote hit also counts in `hits`, its
    // time in load_ns. Rejects: values that failed verification, the size cap or the
    // name check, never used. Errors and timeouts each switched the remote off.
    std::uint64_t remote_hits = 0, remote_misses = 0, remote_rejects = 0;
    std::uint64_t remote_errors = 0, remote_timeouts = 0;
    std::uint64_t remote_writes = 0, remote_bytes_in = 0, remote_bytes_out = 0;
    std::uint64_t remote_ns = 0;  // time spent waiting for the remote (fetches and writes)

    double hit_ratio() const noexcept { return lookups == 0 ? 0.0 : double(hits) / double(lookups); }
    // Hits times the mean build time measured on misses, minus the time hits took.
    // `fallback_build_ns` is used when there were no misses to measure.
    std::int64_t time_saved_ns(std::uint64_t fallback_build_ns) const noexcept;
    CacheMetrics& operator+=(const CacheMetrics& o) noexcept;
};

class BuildCacheManager {
public:
    static Result<BuildCacheManager> create(const CacheConfig& config, BuildIdentity identity);

    BuildCacheManager(BuildCacheManager&&) noexcept;
    BuildCacheManager& operator=(BuildCacheManager&&) noexcept;
    ~BuildCacheManager();

    Result<void> startBuildSession();
    // Persists the session's metrics (lifetime totals, last session) and the inputs
    // recorded for explain(); runs cleanup when the cleanup interval has passed; starts
    // jdc-compactor in the background when config().compact_threshold loose entries
    // have collected (a compactor that cannot be started is logged, not an error).
    Result<void> endBuildSession();

    Result<CachedTable> getOrBuildDispatchTable(const TableInputs& inputs, const TypeRegistry& registry, const TableBuilder& builder);
    // The seed's form: a table that depends only on its signature's types.
    Result<CachedTable> getOrBuildDispatchTable(std::string_view name, const TypeSignature& signature, const TypeRegistry& registry,
                                                const TableBuilder& builder);

    // The manager's DependencyTracker: its state (stat cache, import graph) lives in
    // the cache directory (`deps.jdcd`), is loaded by startBuildSession() (which also
    // starts the tracker's build, for the racy-mtime rule) and saved by endBuildSession().
    DependencyTracker& dependencies() noexcept;
    // The source inputs for a table whose methods are in `file`: one per file of its
    // transitive closure (as told to dependencies().set_imports()), each with its own
    // content hash, so that explain() names the very file that changed. Errors:
    // not_found, io (naming the file).
    Result<std::vector<SourceInput>> source_inputs(const std::filesystem::path& file);

    CacheKey cache_key(const TableInputs& inputs, const TypeRegistry& registry) const;
    // What a lookup with these inputs would do, and why it would miss.
    Explanation explain(const TableInputs& inputs, const TypeRegistry& registry) const;

    CacheMetrics session_metrics() const;
    CacheMetrics lifetime_metrics() const;  // persisted totals, including this session
    void generateBuildReport(std::ostream& out) const;
    std::string build_report_json() const;

    const CacheConfig& config() const noexcept;
    LocalStore* store() noexcept;  // nullptr when caching is disabled

private:
    struct State;
    explicit BuildCacheManager(std::unique_ptr<State> s);
    std::unique_ptr<State> s_;
};

// ---- what managers recorded in a cache directory, read back for tools --------------
// (jdc stats, jdc explain). Both files are derived data: nullopt when missing or not
// parsable, never an error.

// stats.json: lifetime totals and the last session's metrics.
struct RecordedMetrics {
    CacheMetrics lifetime;
    CacheMetrics last_session;
    std::uint64_t mean_build_ns = 0;
};
std::optional<RecordedMetrics> read_recorded_metrics(const std::filesystem::path& cache_directory);

// inputs/<hh>/<h>.json: what the table of one name was last stored with, and why it
// had to be built (the miss that stored it).
struct RecordedInputs {
    std::filesystem::path file;
    std::string name;
    CacheKey key;
    std::string compiler_version;
    std::string config_hash;  // 16 hex digits, as recorded
    std::string signature;    // 16 hex digits
    std::vector<std::pair<std::string, std::string>> sources;  // path -> content hash (32 hex)
    std::vector<std::pair<std::string, std::string>> types;    // type name -> structural hash (16 hex)
    std::uint64_t build_ns = 0;
    std::uint64_t recorded_at_ns = 0;  // Unix ns; 0 in records that predate the field
    std::string miss_reason;           // to_string(MissReason); empty in records that predate it
    std::string miss_detail;
};
// The record whose key is `key` (scans inputs/: one file per table name).
std::optional<RecordedInputs> find_recorded_inputs(const std::filesystem::path& cache_directory, const CacheKey& key);

}  // namespace jdc
