// jdc — the seed's BuildCacheManager: the cache as a compiler's build sees it.
//
// Cache layer. For each generic function the compiler asks getOrBuildDispatchTable
// with the table's *inputs* (table_inputs.hpp: its name and signature, the source
// files its methods come from with their transitive content hashes, see
// DependencyTracker, the types whose definitions decide its dispatch) and the build's
// identity (compiler version, flags and optimization settings). The cache key is a
// hash of exactly those inputs, so every invalidation rule of the seed is a key
// change. On a hit the table is served zero-copy from the store; on a miss `builder`
// runs, its table is stored, and the reason for the miss is recorded (explain(),
// miss_reason.hpp).
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
//          rest of the build session (one line on the log, and in the report);
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
// Names: the seed's API keeps its camelCase names (startBuildSession,
// endBuildSession, getOrBuildDispatchTable, generateBuildReport); everything added
// since is snake_case (docs/ARCHITECTURE.md, "Naming").
//
// Thread-safe: getOrBuildDispatchTable may be called from many threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "jdc/cache_config.hpp"
#include "jdc/cache_metrics.hpp"
#include "jdc/cached_table.hpp"
#include "jdc/dependency_tracker.hpp"
#include "jdc/dispatch_matrix.hpp"
#include "jdc/dispatch_table.hpp"
#include "jdc/export.hpp"
#include "jdc/local_store.hpp"
#include "jdc/miss_reason.hpp"
#include "jdc/optimization.hpp"
#include "jdc/table_inputs.hpp"

namespace jdc {

// The table a builder produced, with what its optimizer did (written to the header).
struct BuiltTable {
    DispatchTable table;
    // What the builder's optimizer did to the table. The header records it only where
    // it is true of the arena: with a dispatch index, the index's own figures are
    // written instead; without one, no compression ratio or bytes saved, and no type
    // naming one of the index's techniques (arena-v2.md §6.4).
    OptimizationResult optimization;
    // The dispatch matrix, when the builder resolved the table (the usual miss work
    // of a compiler): stored as the arena's compressed table without being rebuilt.
    std::optional<DispatchMatrix> matrix = std::nullopt;
};
using TableBuilder = std::function<Result<BuiltTable>(const TableInputs&, const TypeRegistry&)>;

// Receives the cache's event log, one line per call: what JANUS_CACHE_VERBOSE prints
// on stderr (a hit, a miss and its reason, a flush, the remote switched off, the
// store's repairs), without the newline. A sink makes the manager build these lines;
// without one (an empty function) it builds none.
using CacheLogSink = std::function<void(const std::string& line)>;
// The default sink: stderr when config.verbose (JANUS_CACHE_VERBOSE), else none.
JDC_API CacheLogSink default_log_sink(const CacheConfig& config);

// How much of its cache directory a manager uses (BuildCacheManager::cache_access()).
// The cache never fails a build it could do without it: what it cannot use, it leaves.
enum class CacheAccess : std::uint8_t {
    read_write,  // lookups, and the session's tables written
    read_only,   // lookups only: the directory (or tmp/, objects/, packs/) is not
                 // writable for this process, the store could only be opened read-only
                 // (a CI image, a shared mount), or a write failed (a full disk)
    none,        // no cache: disabled (config().disabled_by), or the directory cannot
                 // be read at all; every table is built
};

class JDC_API BuildCacheManager {
public:
    // Opens the cache directory (unless caching is disabled) and, with a remote URL,
    // prepares the remote tier (it connects at the first local miss). The log goes to
    // `log` (default_log_sink(config) when not given). A directory this process cannot
    // write is opened read-only, one it cannot read is not used (cache_access(), one
    // log line, a line in both reports): neither is an error. Errors: invalid_argument
    // (the store's options, the remote URL or its options).
    static Result<BuildCacheManager> create(const CacheConfig& config, BuildIdentity identity);
    static Result<BuildCacheManager> create(const CacheConfig& config, BuildIdentity identity, CacheLogSink log);

    BuildCacheManager(BuildCacheManager&&) noexcept;
    BuildCacheManager& operator=(BuildCacheManager&&) noexcept;
    ~BuildCacheManager();

    Result<void> startBuildSession();
    // Persists the session's metrics (lifetime totals, last session) and the inputs
    // recorded for explain(); runs cleanup when the cleanup interval has passed; starts
    // jdc-compactor in the background when config().compact_threshold files (loose
    // entries and packs) have collected (a compactor that cannot be started is
    // logged, not an error). All of it is best-effort: a write that fails (a full
    // disk) is logged and counted (CacheMetrics::derived_errors, store_errors), and a
    // read-only cache is not written. Error: invalid_argument (no session started).
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
    LocalStore* store() noexcept;  // nullptr when caching is disabled or the directory is not usable
    // How much of the cache this manager uses now (a failed write makes it read-only
    // for the rest of the manager's life), and why not all of it: empty for
    // read_write and for a cache disabled by configuration.
    CacheAccess cache_access() const;
    std::string cache_access_reason() const;

private:
    struct State;
    explicit BuildCacheManager(std::unique_ptr<State> s);
    std::unique_ptr<State> s_;
};

}  // namespace jdc
