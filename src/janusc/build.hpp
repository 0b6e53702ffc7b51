// janusc — `janusc build`: a whole-project build through the dispatch cache.
//
// 1. Finds every `*.jn` file under the project directory (skipping hidden
//    directories and the output directory), reads and parses them on `jobs` threads.
// 2. Checks the program (program.hpp); compile errors end the build here.
// 3. Opens the cache as a compiler does: BuildCacheManager with the build identity
//    (compiler version + a hash of the flags that affect tables), the import graph and
//    content hashes given to its DependencyTracker (which files changed: reported).
// 4. For each generic function asks getOrBuildDispatchTable with its TableInputs (its
//    signature and methods: dispatch.hpp's table_inputs); a miss runs
//    build_dispatch_table (every argument-type tuple resolved). Tables are fetched or
//    built on `jobs` threads; the manager is thread-safe.
// 5. Resolves every call site of a generic function over the cone of its static
//    argument types through that function's table (call_sites.hpp): statically
//    resolved, dynamic, and warnings (possible ambiguity, possible missing method).
// 6. Writes one dispatch summary per module to OUT/<module path>.dispatch, each
//    derived from the tables as returned by the cache, so output never depends on
//    whether a table was a hit; removes summaries of modules that no longer exist.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "janusc/diagnostic.hpp"
#include "janusc/dispatch.hpp"
#include "jdc/build_cache_manager.hpp"

namespace janusc {

// Source files larger than this are refused: nothing a person writes is this large.
inline constexpr std::uint64_t kMaxSourceBytes = 16ull << 20;

struct BuildOptions {
    std::filesystem::path project;
    // The cache directory. Default: $JANUS_CACHE_DIR, else PROJECT/.janus_cache/dispatch_tables.
    std::optional<std::filesystem::path> cache_dir;
    bool use_cache = true;  // false: --no-cache, every table built and nothing stored
    unsigned jobs = 1;
    std::optional<std::filesystem::path> out;  // default PROJECT/janus-out
    OptLevel opt_level = OptLevel::hot_path;
    // --Werror: warnings are errors; the build then writes no summaries (its tables are
    // still cached: they are right, the program is what the warnings are about).
    bool warnings_as_errors = false;
    // Told how far the build is, from the threads doing the work (so it must be
    // thread-safe): the phase ("parse", "tables", "call sites"), and how many of
    // `total` items are done; total 0: the phase runs with no count to give.
    std::function<void(std::string_view phase, std::size_t done, std::size_t total)> progress;
};

struct BuildStats {
    std::size_t modules = 0, types = 0, generics = 0, methods = 0;
    std::uint64_t source_bytes = 0;
    std::size_t tables_built = 0, tables_from_cache = 0;
    unsigned jobs = 1;
    std::uint64_t parse_ns = 0;     // find, read and parse every file
    std::uint64_t check_ns = 0;     // the semantic model
    std::uint64_t hash_ns = 0;      // opening the cache, import graph, source hashes
    std::uint64_t sources_changed = 0;  // files the dependency tracker saw change since the last build
    std::uint64_t dispatch_ns = 0;  // every table fetched from the cache or built
    std::uint64_t summaries_ns = 0; // every table's summary text (its entries read)
    std::size_t call_sites = 0, calls_static = 0, calls_dynamic = 0;
    std::size_t warnings = 0, warnings_ambiguous = 0, warnings_no_method = 0;  // every one, shown or not
    std::uint64_t call_sites_ns = 0;              // resolving call sites: wall-clock time
    std::uint64_t call_sites_cpu_ns = 0;          // ... and CPU time, summed over the threads
    std::uint64_t call_sites_resolve_cpu_ns = 0;  // ... of which the answers from the tables (the rest: summary lines' text)
    std::uint64_t write_ns = 0;     // summaries written, session ended
    std::uint64_t total_ns = 0;     // wall-clock time of the whole build
    std::uint64_t total_cpu_ns = 0; // CPU time of the process during the build, summed over its threads
};

struct BuildOutcome {
    // Compile errors: when not empty nothing else was done. With --Werror, the warnings
    // instead (as errors): tables were fetched and built, but no summary was written.
    Diagnostics diagnostics;
    bool failed_on_warnings = false;  // the diagnostics are warnings made errors by --Werror
    // The warnings to show, sorted by file and position: at most kMaxWarningsPerFile per
    // file and kMaxWarningsShown in all (stats.warnings counts every one).
    Diagnostics warnings;
    BuildStats stats;
    std::filesystem::path out_dir;
    std::vector<std::string> built_tables;  // generic functions whose table missed the cache, sorted
    jdc::CacheMetrics cache;                // this build's session
    std::string cache_report;               // BuildCacheManager::generateBuildReport
    std::string cache_report_json;          // BuildCacheManager::build_report_json
};

// The build identity's compiler version, e.g. "janusc 0.1.0".
std::string compiler_version();

// Runs a build. Errors (usage and I/O, not compile errors): not_found (no project
// directory, no sources), io (a file cannot be read or written), limit_exceeded (a
// source file larger than kMaxSourceBytes), and those of the cache configuration
// (JANUS_CACHE_*), of opening the cache and of the session.
jdc::Result<BuildOutcome> build_project(const BuildOptions& options);

// The compiler's numbers (each time labelled wall or CPU), then the cache's report.
void print_build_report(const BuildOutcome& outcome, const std::filesystem::path& project, std::ostream& out);
std::string build_report_json(const BuildOutcome& outcome);

}  // namespace janusc
