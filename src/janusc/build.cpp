#include "janusc/build.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <atomic>
#include <set>
#include <sstream>

#include <sys/resource.h>

#include <nlohmann/json.hpp>

#include "janusc/call_sites.hpp"
#include "janusc/parser.hpp"
#include "janusc/thread_pool.hpp"
#include "jdc/detail/atomic_file.hpp"
#include "util/json_text.hpp"
#include "util/report_format.hpp"
#include "util/hash_stream.hpp"

#ifndef JANUSC_VERSION
#error "JANUSC_VERSION must be defined by the build (meson.build passes the project version)"
#endif

namespace janusc {
namespace fs = std::filesystem;

std::string compiler_version() { return std::string("janusc ") + JANUSC_VERSION; }

namespace {

std::uint64_t now_ns() {
    using namespace std::chrono;
    return static_cast<std::uint64_t>(duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count());
}

// CPU time of the whole process (user + system, every thread), for the report's
// "wall, CPU" pairs: with several jobs CPU exceeds wall, waiting on disk the reverse.
std::uint64_t process_cpu_ns() {
    rusage usage{};
    if (::getrusage(RUSAGE_SELF, &usage) != 0) return 0;
    auto ns = [](const timeval& t) { return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000ull + static_cast<std::uint64_t>(t.tv_usec) * 1000ull; };
    return ns(usage.ru_utime) + ns(usage.ru_stime);
}

// Counts items done by many threads and reports them to BuildOptions::progress.
class PhaseProgress {
public:
    PhaseProgress(const BuildOptions& o, std::string_view phase, std::size_t total) : o_(o), phase_(phase), total_(total) {
        if (o_.progress) o_.progress(phase_, 0, total_);
    }
    void one_done() {
        const std::size_t done = done_.fetch_add(1, std::memory_order_relaxed) + 1;
        if (o_.progress) o_.progress(phase_, done, total_);
    }

private:
    const BuildOptions& o_;
    std::string_view phase_;
    std::size_t total_;
    std::atomic<std::size_t> done_{0};
};

// Everything that changes what a table holds goes into this hash; nothing else does,
// so that flags that do not affect tables (--jobs, --out) keep the cache warm.
std::uint64_t flags_hash(const BuildOptions& o) {
    jdc::detail::HashStream h;
    h.str("janusc table flags");
    h.str("opt-level");
    h.u32(static_cast<std::uint32_t>(o.opt_level));
    return h.digest();
}

struct SourceFile {
    std::string path;     // relative to the project, '/'-separated
    std::string display;  // as diagnostics name it
    std::string text;
};

// Every *.jn file under `project`, sorted by path; hidden directories and `out` skipped.
jdc::Result<std::vector<SourceFile>> find_sources(const fs::path& project, const fs::path& out) {
    std::error_code ec;
    if (!fs::is_directory(project, ec))
        return jdc::make_error(jdc::ErrorCode::not_found, "project directory '" + project.string() + "' does not exist or is not a directory");
    // The output directory, when it lies inside the project, named relative to it: the
    // walk then recognizes it without a system call per directory.
    fs::path out_inside = fs::weakly_canonical(out, ec).lexically_relative(fs::weakly_canonical(project, ec));
    if (out_inside.empty() || *out_inside.begin() == "..") out_inside.clear();
    const fs::path root = project.lexically_normal();  // how diagnostics name the project
    std::vector<SourceFile> files;
    fs::recursive_directory_iterator it(project, fs::directory_options::none, ec), end;
    if (ec) return jdc::make_error(jdc::ErrorCode::io, "cannot read directory '" + project.string() + "': " + ec.message());
    for (; it != end; it.increment(ec)) {
        if (ec) return jdc::make_error(jdc::ErrorCode::io, "cannot read directory under '" + project.string() + "': " + ec.message());
        const fs::path& p = it->path();
        const std::string name = p.filename().string();
        if (it->is_directory(ec)) {
            if ((!name.empty() && name[0] == '.') || (!out_inside.empty() && p.lexically_relative(project) == out_inside))
                it.disable_recursion_pending();
            continue;
        }
        if (p.extension() != ".jn" || !it->is_regular_file(ec)) continue;
        const fs::path rel = p.lexically_relative(project);
        files.push_back({rel.generic_string(), (root == "." ? rel : root / rel).string(), {}});
    }
    if (files.empty())
        return jdc::make_error(jdc::ErrorCode::not_found, "no Janus sources (*.jn) under '" + project.string() + "'");
    std::sort(files.begin(), files.end(), [](const SourceFile& a, const SourceFile& b) { return a.path < b.path; });
    return files;
}

jdc::Result<std::string> read_file(const std::string& file) {
    std::FILE* f = std::fopen(file.c_str(), "rb");
    if (f == nullptr) return jdc::make_error(jdc::ErrorCode::io, "cannot open '" + file + "': " + std::strerror(errno));
    std::string text;
    char buf[1 << 16];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
        if (text.size() + n > kMaxSourceBytes) {
            std::fclose(f);
            return jdc::make_error(jdc::ErrorCode::limit_exceeded,
                                   "'" + file + "' is larger than " + jdc::format_bytes(kMaxSourceBytes) + ", the most janusc reads from one file");
        }
        text.append(buf, n);
    }
    const bool failed = std::ferror(f) != 0;
    std::fclose(f);
    if (failed) return jdc::make_error(jdc::ErrorCode::io, "cannot read '" + file + "'");
    return text;
}

// Reads and parses every file on `jobs` threads. Parse errors are returned as
// diagnostics, in file order.
jdc::Result<std::vector<SourceModule>> parse_sources(std::vector<SourceFile>& files, const BuildOptions& options, unsigned jobs,
                                                     Diagnostics& diagnostics, std::uint64_t& bytes) {
    std::vector<std::optional<jdc::Error>> io_errors(files.size());
    std::vector<std::uint64_t> sizes(files.size(), 0);
    std::vector<tl::expected<ast::Module, Diagnostics>> parsed(files.size(), tl::unexpected(Diagnostics{}));
    PhaseProgress progress(options, "parse", files.size());
    parallel_for(files.size(), jobs, [&](std::size_t i) {
        auto text = read_file(files[i].display);
        if (!text) {
            io_errors[i] = text.error();
            return;
        }
        files[i].text = std::move(*text);
        sizes[i] = files[i].text.size();
        parsed[i] = parse_module(files[i].text, files[i].display);
        files[i].text = {};  // the AST owns copies of what it needs
        progress.one_done();
    });
    std::vector<SourceModule> modules;
    for (std::size_t i = 0; i < files.size(); ++i) {
        if (io_errors[i]) return tl::unexpected(*io_errors[i]);
        if (!parsed[i]) {
            diagnostics.insert(diagnostics.end(), parsed[i].error().begin(), parsed[i].error().end());
            continue;
        }
        modules.push_back({files[i].path, std::move(*parsed[i])});
    }
    bytes = 0;
    for (std::uint64_t size : sizes) bytes += size;
    return modules;
}

// A compile error for every generic function too large to check exhaustively.
Diagnostics check_table_sizes(const Program& program) {
    Diagnostics out;
    for (const Generic& g : program.generics) {
        const std::uint64_t tuples = tuple_count(program, g);
        if (tuples > kMaxTuplesPerTable)
            out.push_back({program.modules[g.module].display, g.pos,
                           "generic function '" + g.name + "' can receive " + (tuples == UINT64_MAX ? "more than 2^64" : std::to_string(tuples)) +
                               " tuples of argument types; janusc checks dispatch exhaustively and accepts at most " +
                               std::to_string(kMaxTuplesPerTable) + ": declare narrower parameter types"});
    }
    return out;
}

// The configuration of jdc::CacheConfig::load: --cache-dir, else JANUS_CACHE_DIR, else
// the nearest .janus_cache/ from the project up (where `jdc` finds it too), else a new
// one in the project; then flags > environment > the cache's jdc.conf > defaults.
jdc::Result<jdc::CacheConfig> cache_config(const BuildOptions& o) {
    jdc::CacheConfig::Request request;
    request.directory = o.cache_dir;
    request.directory_flag = "--cache-dir";
    request.start = o.project;
    if (!o.use_cache) request.flags.push_back({"disable", "true", "--no-cache"});
    return jdc::CacheConfig::load(request);
}

// The dependency tracker learns the import graph and every file's content hash, and
// says which files changed since the last build: what a compiler that caches parsed
// modules would re-read. Cache keys do not depend on it (table_inputs.hpp: a file
// edit is a reason to re-read the file, not to rebuild a table whose inputs did not
// change). Returns the number of changed files.
jdc::Result<std::size_t> track_sources(jdc::BuildCacheManager& manager, const Program& program, const fs::path& project) {
    auto root = jdc::DependencyTracker::normalize(project);
    if (!root) return tl::unexpected(root.error());
    std::vector<fs::path> files;
    for (const ModuleInfo& m : program.modules) files.push_back(*root / m.path);
    jdc::DependencyTracker& deps = manager.dependencies();
    for (std::size_t m = 0; m < files.size(); ++m) {
        std::vector<fs::path> imports;
        for (std::size_t i : program.modules[m].imports) imports.push_back(files[i]);
        if (auto r = deps.set_imports(files[m], imports); !r) return tl::unexpected(r.error());
        if (auto h = deps.content_hash(files[m]); !h) return tl::unexpected(h.error());
    }
    return deps.changed_files().size();
}

std::string module_header(const Program& program, const ModuleInfo& m) {
    std::string out = "# janusc dispatch summary\nmodule " + m.name + " (" + m.path + ")\nimports:";
    for (std::size_t i : m.imports) out += " " + program.modules[i].name;
    out += "\ntypes: " + std::to_string(m.types.size()) + "\n";
    for (jdc::TypeId t : m.types) {
        const jdc::Type* type = program.registry.find(t);
        out += "  " + type->name;
        for (std::size_t s = 0; s < type->supertypes.size(); ++s)
            out += (s ? ", " : " : ") + program.type_name(type->supertypes[s]);
        out += "\n";
    }
    out += "generic functions: " + std::to_string(m.generics.size()) + ", methods defined here: " + std::to_string(m.method_count) + "\n";
    return out;
}

fs::path summary_path(const fs::path& out, const ModuleInfo& m) {
    fs::path p = out / m.path;
    p.replace_extension(".dispatch");
    return p;
}

// The summaries a build wrote, one relative path a line, so that the next build finds
// those of deleted modules without walking the output directory.
constexpr std::string_view kManifestName = ".janusc-summaries";

// Removes summaries that no module writes any more: those the manifest lists (or, without
// a manifest, that a walk of `out` finds), minus this build's. Then updates the manifest.
jdc::Result<void> remove_stale_summaries(const Program& program, const fs::path& out) {
    std::set<std::string> current;
    for (const ModuleInfo& m : program.modules) current.insert(summary_path(fs::path(), m).generic_string());
    std::string manifest;
    for (const std::string& p : current) manifest += p + "\n";
    const fs::path manifest_path = out / kManifestName;
    std::set<std::string> previous;
    std::error_code ec;
    if (auto old = read_file(manifest_path.string())) {
        if (*old == manifest) return {};
        std::string_view rest = *old;
        while (!rest.empty()) {
            const std::size_t nl = std::min(rest.find('\n'), rest.size());
            if (nl > 0) previous.emplace(rest.substr(0, nl));
            rest.remove_prefix(std::min(nl + 1, rest.size()));
        }
    } else {
        for (fs::recursive_directory_iterator it(out, ec), end; !ec && it != end; it.increment(ec))
            if (it->path().extension() == ".dispatch") previous.insert(it->path().lexically_relative(out).generic_string());
    }
    for (const std::string& p : previous) {
        const fs::path rel = fs::path(p).lexically_normal();
        // Only summaries, only inside `out`: the manifest is a file anyone can edit.
        if (!current.count(p) && rel.extension() == ".dispatch" && rel.is_relative() && *rel.begin() != "..") fs::remove(out / rel, ec);
    }
    return jdc::write_file_atomically(manifest_path, std::as_bytes(std::span<const char>(manifest.data(), manifest.size())));
}

// The call sites a module's methods make, and what each resolves to.
std::string call_sites_section(const Program& program, std::size_t module, const CallSiteResults& calls) {
    const auto& sites = program.call_sites;
    auto by_module = [](const CallSite& site, std::size_t m) { return site.module < m; };
    const std::size_t first = std::lower_bound(sites.begin(), sites.end(), module, by_module) - sites.begin();
    const std::size_t last = std::lower_bound(sites.begin(), sites.end(), module + 1, by_module) - sites.begin();
    std::size_t statically = 0, dynamic = 0, warned = 0;
    std::string lines;
    for (std::size_t i = first; i < last; ++i) {
        const ResolvedCallSite& site = calls.sites[i];
        calls.append_summary_line(lines, i);
        statically += site.resolved_statically;
        dynamic += site.dynamic;
        warned += site.warned;
    }
    return "\ncall sites: " + std::to_string(last - first) + " (" + std::to_string(statically) + " resolved statically, " +
           std::to_string(dynamic) + " dynamic, " + std::to_string(warned) + " with warnings)\n" + lines;
}

// Writes every module's summary; removes summaries no module writes any more.
jdc::Result<void> write_summaries(const Program& program, const std::vector<std::string>& generic_summaries, const CallSiteResults& calls,
                                  const fs::path& out, unsigned jobs) {
    std::set<fs::path> directories;
    for (const ModuleInfo& m : program.modules) directories.insert(summary_path(out, m).parent_path());
    for (const fs::path& d : directories) {
        std::error_code ec;
        fs::create_directories(d, ec);
        if (ec) return jdc::make_error(jdc::ErrorCode::io, "cannot create directory '" + d.string() + "': " + ec.message());
    }
    std::vector<std::optional<jdc::Error>> errors(program.modules.size());
    parallel_for(program.modules.size(), jobs, [&](std::size_t m) {
        const ModuleInfo& info = program.modules[m];
        std::string text = module_header(program, info);
        for (std::size_t g : info.generics) text += "\n" + generic_summaries[g];
        text += call_sites_section(program, m, calls);
        const fs::path target = summary_path(out, info);
        // An unchanged summary keeps its file (and mtime): tools that consume summaries
        // see no change, and replacing a file by rename is not free (ext4 flushes it).
        if (auto existing = read_file(target.string()); existing && *existing == text) return;
        if (auto w = jdc::write_file_atomically(target, std::as_bytes(std::span<const char>(text.data(), text.size()))); !w)
            errors[m] = w.error();
    });
    for (auto& e : errors)
        if (e) return tl::unexpected(*e);
    return remove_stale_summaries(program, out);
}

}  // namespace

jdc::Result<BuildOutcome> build_project(const BuildOptions& options) {
    const std::uint64_t start = now_ns();
    const std::uint64_t start_cpu = process_cpu_ns();
    BuildOutcome outcome;
    BuildStats& stats = outcome.stats;
    stats.jobs = std::max(1u, options.jobs);
    outcome.out_dir = options.out ? *options.out : options.project / "janus-out";

    auto files = find_sources(options.project, outcome.out_dir);
    if (!files) return tl::unexpected(files.error());
    auto modules = parse_sources(*files, options, stats.jobs, outcome.diagnostics, stats.source_bytes);
    if (!modules) return tl::unexpected(modules.error());
    stats.parse_ns = now_ns() - start;
    if (!outcome.diagnostics.empty()) return outcome;

    std::uint64_t t = now_ns();
    auto program = analyze(std::move(*modules));
    if (!program) {
        outcome.diagnostics = std::move(program.error());
        return outcome;
    }
    outcome.diagnostics = check_table_sizes(*program);
    if (!outcome.diagnostics.empty()) return outcome;
    stats.modules = program->modules.size();
    stats.types = program->registry.size() - (jdc::kFirstUserType - 1);
    stats.generics = program->generics.size();
    stats.methods = program->method_count();
    stats.check_ns = now_ns() - t;

    t = now_ns();
    auto config = cache_config(options);
    if (!config) return tl::unexpected(config.error());
    auto manager = jdc::BuildCacheManager::create(*config, {compiler_version(), flags_hash(options)});
    if (!manager) return tl::unexpected(manager.error());
    if (auto r = manager->startBuildSession(); !r) return tl::unexpected(r.error());
    // Without a cache nothing is kept between builds: a compiler without one would not track.
    if (manager->store() != nullptr) {
        auto changed = track_sources(*manager, *program, options.project);
        if (!changed) return tl::unexpected(changed.error());
        stats.sources_changed = *changed;
    }
    stats.hash_ns = now_ns() - t;

    t = now_ns();
    const std::size_t n = program->generics.size();
    std::vector<std::string> summaries(n);
    std::vector<std::optional<jdc::Error>> errors(n);
    std::vector<char> built(n, 0);
    std::vector<std::optional<jdc::CachedTable>> tables(n);  // kept for the call sites
    PhaseProgress table_progress(options, "tables", n);
    parallel_for(n, stats.jobs, [&](std::size_t i) {
        const Generic& g = program->generics[i];
        const jdc::TableInputs inputs = table_inputs(*program, g);
        auto table = manager->getOrBuildDispatchTable(inputs, program->registry, [&](const jdc::TableInputs&, const jdc::TypeRegistry&) {
            return build_dispatch_table(*program, g, options.opt_level);
        });
        if (!table) {
            errors[i] = jdc::Error(table.error().code, "dispatch table of '" + g.name + "': " + table.error().message);
            return;
        }
        built[i] = table->origin() == jdc::TableOrigin::built;
        tables[i] = std::move(*table);
        table_progress.one_done();
    });
    for (auto& e : errors)
        if (e) return tl::unexpected(*e);
    for (std::size_t i = 0; i < n; ++i) {
        if (built[i]) outcome.built_tables.push_back(program->generics[i].name);
    }
    std::sort(outcome.built_tables.begin(), outcome.built_tables.end());
    stats.tables_built = outcome.built_tables.size();
    stats.tables_from_cache = n - stats.tables_built;
    stats.dispatch_ns = now_ns() - t;

    // Summarizing reads every entry of every table, cached or built alike: output
    // work, timed apart so that the dispatch stage shows what the cache saves.
    t = now_ns();
    parallel_for(n, stats.jobs, [&](std::size_t i) { summaries[i] = dispatch_summary(*tables[i], *program, program->generics[i]); });
    stats.summaries_ns = now_ns() - t;

    t = now_ns();
    std::vector<const jdc::CachedTable*> table_of(n);
    for (std::size_t i = 0; i < n; ++i) table_of[i] = &*tables[i];
    if (options.progress) options.progress("call sites", 0, 0);
    const CallSiteResults calls = resolve_call_sites(*program, table_of, stats.jobs);
    stats.call_sites = program->call_sites.size();
    stats.calls_static = calls.resolved_statically;
    stats.calls_dynamic = calls.dynamic;
    stats.warnings_ambiguous = calls.ambiguous;
    stats.warnings_no_method = calls.no_method;
    stats.warnings = calls.warnings.size();
    stats.call_sites_cpu_ns = calls.cpu_ns;
    stats.call_sites_resolve_cpu_ns = calls.resolve_cpu_ns;
    outcome.warnings = first_per_file(calls.warnings, kMaxWarningsPerFile);
    if (outcome.warnings.size() > kMaxWarningsShown) outcome.warnings.resize(kMaxWarningsShown);
    stats.call_sites_ns = now_ns() - t;

    t = now_ns();
    if (options.progress) options.progress("write", 0, 0);
    const bool failed = options.warnings_as_errors && !outcome.warnings.empty();
    if (!failed)
        if (auto w = write_summaries(*program, summaries, calls, outcome.out_dir, stats.jobs); !w) return tl::unexpected(w.error());
    tables.clear();  // each owns its arena's bytes: no need to hold them all while the session writes its pack
    if (auto r = manager->endBuildSession(); !r) return tl::unexpected(r.error());
    stats.write_ns = now_ns() - t;
    if (failed) {
        for (Diagnostic& d : outcome.warnings) {
            d.severity = Severity::error;
            d.message += " [--Werror]";
        }
        outcome.diagnostics = std::move(outcome.warnings);
        outcome.failed_on_warnings = true;
        outcome.warnings.clear();
    }

    outcome.cache = manager->session_metrics();
    std::ostringstream report;
    manager->generateBuildReport(report);
    outcome.cache_report = report.str();
    outcome.cache_report_json = manager->build_report_json();
    stats.total_ns = now_ns() - start;
    stats.total_cpu_ns = process_cpu_ns() - start_cpu;
    return outcome;
}

void print_build_report(const BuildOutcome& o, const fs::path& project, std::ostream& out) {
    using jdc::format_duration_ns;
    const BuildStats& s = o.stats;
    out << compiler_version() << ": built " << project.string() << "\n"
        << "  program:   " << s.modules << " modules (" << jdc::format_bytes(s.source_bytes) << " of source), " << s.types
        << " types, " << s.generics << " generic functions, " << s.methods << " methods\n"
        << "  parse:     " << format_duration_ns(s.parse_ns) << " wall (" << s.jobs << (s.jobs == 1 ? " thread)\n" : " threads)\n")
        << "  check:     " << format_duration_ns(s.check_ns) << " wall\n"
        << "  sources:   " << format_duration_ns(s.hash_ns) << " wall (cache opened, import graph, content hashes: " << s.sources_changed
        << (s.sources_changed == 1 ? " file" : " files") << " changed since the last build)\n"
        << "  dispatch:  " << s.generics << " tables in " << format_duration_ns(s.dispatch_ns) << " wall: " << s.tables_built << " built, "
        << s.tables_from_cache << " from the cache\n"
        << "  summaries: " << s.generics << " table summaries in " << format_duration_ns(s.summaries_ns) << " wall\n"
        << "  calls:     " << s.call_sites << " call sites in " << format_duration_ns(s.call_sites_ns) << " wall, "
        << format_duration_ns(s.call_sites_cpu_ns) << " CPU (" << format_duration_ns(s.call_sites_resolve_cpu_ns)
        << " resolving, the rest their summary lines): " << s.calls_static << " resolved statically, " << s.calls_dynamic << " dynamic\n"
        << "  warnings:  " << s.warnings << " (" << s.warnings_ambiguous << " can be ambiguous, " << s.warnings_no_method
        << " without a method; " << o.warnings.size() << " shown: at most " << kMaxWarningsPerFile << " per file, "
        << kMaxWarningsShown << " in all)\n"
        << "  write:     " << s.modules << " summaries in " << o.out_dir.string() << " in " << format_duration_ns(s.write_ns) << " wall\n"
        << "  total:     " << format_duration_ns(s.total_ns) << " wall, " << format_duration_ns(s.total_cpu_ns) << " CPU\n";
    out << o.cache_report;
}

std::string build_report_json(const BuildOutcome& o) {
    const BuildStats& s = o.stats;
    nlohmann::json j = {{"compiler", compiler_version()},
                        {"modules", s.modules},
                        {"types", s.types},
                        {"generic_functions", s.generics},
                        {"methods", s.methods},
                        {"source_bytes", s.source_bytes},
                        {"jobs", s.jobs},
                        {"tables_built", s.tables_built},
                        {"tables_from_cache", s.tables_from_cache},
                        {"parse_ns", s.parse_ns},
                        {"check_ns", s.check_ns},
                        {"hash_ns", s.hash_ns},
                        {"sources_changed", s.sources_changed},
                        {"dispatch_ns", s.dispatch_ns},
                        {"summaries_ns", s.summaries_ns},
                        {"call_sites", s.call_sites},
                        {"calls_resolved_statically", s.calls_static},
                        {"calls_dynamic", s.calls_dynamic},
                        {"warnings", s.warnings},
                        {"warnings_ambiguous", s.warnings_ambiguous},
                        {"warnings_no_method", s.warnings_no_method},
                        {"warnings_shown", o.warnings.size()},
                        {"call_sites_ns", s.call_sites_ns},
                        {"call_sites_cpu_ns", s.call_sites_cpu_ns},
                        {"call_sites_resolve_cpu_ns", s.call_sites_resolve_cpu_ns},
                        {"write_ns", s.write_ns},
                        {"total_ns", s.total_ns},
                        {"total_cpu_ns", s.total_cpu_ns}};
    // The cache's report is the manager's own dump (valid UTF-8 whatever its paths);
    // parsed without exceptions all the same: a report that does not parse is null.
    nlohmann::json cache = nlohmann::json::parse(o.cache_report_json, nullptr, false);
    if (cache.is_discarded()) cache = nullptr;
    const auto version = cache.is_object() ? cache.value("schema_version", 0) : 0;
    return jdc::detail::dump_json(nlohmann::json{{"schema_version", version}, {"janusc", j}, {"cache", std::move(cache)}}, 2);
}

}  // namespace janusc
