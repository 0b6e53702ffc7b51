#include "tools/cache_commands.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "jdc/cache_records.hpp"
#include "jdc/compactor.hpp"
#include "jdc/local_store.hpp"
#include "jdc/store_check.hpp"
#include "tools/tool_support.hpp"
#include "util/json_text.hpp"
#include "util/regular_file.hpp"
#include "util/report_format.hpp"

namespace jdc::tools {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

int report_error(const Error& e) {
    std::cerr << "jdc: " << e.message << "\n";
    return kExitUsage;
}

// The store named by --dir (or the environment), or the exit code that says why not.
struct OpenedStore {
    fs::path dir;
    std::optional<LocalStore> store;
    int exit_code = kExitOk;
};

OpenedStore open_store(const std::string& dir_option, bool only_reading = false) {
    OpenedStore o;
    auto dir = cache_directory(dir_option);
    if (!dir) {
        o.exit_code = report_error(dir.error());
        return o;
    }
    o.dir = *dir;
    auto store = open_cache_for_tool(o.dir, only_reading);
    if (!store) {
        o.exit_code = report_error(store.error());
        return o;
    }
    o.store.emplace(std::move(*store));
    return o;
}

int cmd_clear(const std::string& dir_option) {
    auto o = open_store(dir_option);
    if (!o.store) return o.exit_code;
    auto cleared = o.store->clear();
    if (!cleared) return report_error(cleared.error());
    std::cout << "cleared " << o.dir.string() << ": " << cleared->entries_removed << " entries removed ("
              << cleared->loose_files_removed << " loose files, " << cleared->packs_removed << " packs, "
              << format_bytes(cleared->bytes_removed) << ")\n";
    return kExitOk;
}

// ---- stats ------------------------------------------------------------------------

struct Survey {
    StoreStats stats;
    StoreListing listing;
    std::uint64_t loose_entries = 0, packed_entries = 0;
    std::uint64_t oldest_ns = 0, newest_ns = 0;  // by creation time
};

Result<Survey> survey(const LocalStore& store) {
    Survey s;
    s.stats = store.stats();
    auto listing = store.list_files();
    if (!listing) return tl::unexpected(listing.error());
    s.listing = std::move(*listing);
    for (const IndexEntry& e : store.entries()) {
        ++(e.location == EntryLocation::loose ? s.loose_entries : s.packed_entries);
        if (s.oldest_ns == 0 || e.created_ns < s.oldest_ns) s.oldest_ns = e.created_ns;
        s.newest_ns = std::max(s.newest_ns, e.created_ns);
    }
    return s;
}

std::string metrics_line(const CacheMetrics& m) {
    std::string line = std::to_string(m.lookups) + " lookups, " + std::to_string(m.hits) + " hits, " + std::to_string(m.misses) +
                       " misses (hit ratio " + format_percent(m.hits, m.lookups) + "), " + std::to_string(m.evictions) + " evictions, " +
                       std::to_string(m.corrupt_drops) + " corrupt drops";
    std::string reasons;
    for (std::size_t i = 0; i < kMissReasonCount; ++i)
        if (m.misses_by_reason[i] != 0)
            reasons += (reasons.empty() ? "" : ", ") + std::string(to_string(static_cast<MissReason>(i))) + " " + std::to_string(m.misses_by_reason[i]);
    if (!reasons.empty()) line += "\n                  misses: " + reasons;
    return line;
}

void print_stats_text(const fs::path& dir, const Survey& s, const std::optional<RecordedMetrics>& recorded) {
    const IndexSummary& i = s.stats.index;
    std::cout << "cache directory:  " << dir.string() << "\n"
              << "entries:          " << i.live_count << " (" << s.loose_entries << " loose, " << s.packed_entries << " packed)\n"
              << "size:             " << format_bytes(i.total_bytes) << " of " << format_bytes(s.stats.max_size_bytes) << " ("
              << format_percent(i.total_bytes, s.stats.max_size_bytes) << " of the limit)\n"
              << "files:            " << s.listing.loose.size() << " loose files (" << format_bytes(s.listing.loose_bytes()) << "), "
              << s.listing.packs.size() << " packs (" << format_bytes(s.listing.pack_bytes()) << "); "
              << format_bytes(s.listing.disk_bytes()) << " on disk\n"
              << "oldest entry:     " << (i.live_count ? utc_time(s.oldest_ns) : "-") << "\n"
              << "newest entry:     " << (i.live_count ? utc_time(s.newest_ns) : "-") << "\n"
              << "store counters:   " << i.hits << " hits, " << i.misses << " misses, " << i.evictions << " evictions, "
              << i.corrupt_drops << " corrupt drops, " << i.stale_drops << " stale drops (every process, since "
              << utc_time(i.created_ns) << ")\n"
              << "last cleanup:     " << utc_time(i.last_cleanup_ns) << "\n";
    if (!recorded) {
        std::cout << "build sessions:   none recorded (no stats.json)\n";
        return;
    }
    std::cout << "lifetime:         " << metrics_line(recorded->lifetime) << "\n"
              << "last session:     " << metrics_line(recorded->last_session) << "\n";
}

json stats_json(const fs::path& dir, const Survey& s) {
    const IndexSummary& i = s.stats.index;
    json j = {{"directory", dir.string()},
              {"entries", i.live_count},
              {"loose_entries", s.loose_entries},
              {"packed_entries", s.packed_entries},
              {"bytes", i.total_bytes},
              {"limit_bytes", s.stats.max_size_bytes},
              {"loose_files", s.listing.loose.size()},
              {"loose_file_bytes", s.listing.loose_bytes()},
              {"packs", s.listing.packs.size()},
              {"pack_bytes", s.listing.pack_bytes()},
              {"disk_bytes", s.listing.disk_bytes()},
              {"oldest_created_ns", i.live_count ? s.oldest_ns : 0},
              {"newest_created_ns", s.newest_ns},
              {"hits", i.hits},
              {"misses", i.misses},
              {"evictions", i.evictions},
              {"corrupt_drops", i.corrupt_drops},
              {"stale_drops", i.stale_drops},
              {"bytes_written", i.bytes_written},
              {"bytes_read", i.bytes_read},
              {"last_cleanup_ns", i.last_cleanup_ns}};
    // The build sessions' counters exactly as the manager recorded them (stats.json).
    j["lifetime"] = nullptr;
    j["last_session"] = nullptr;
    // Opened like every cache file: a FIFO planted as stats.json is refused, not waited on.
    const auto text = detail::read_regular_file(dir / "stats.json", 16ull << 20);
    const json recorded = text ? json::parse(*text, nullptr, false) : json();
    if (recorded.is_object()) {
        if (recorded.contains("lifetime")) j["lifetime"] = recorded["lifetime"];
        if (recorded.contains("last_session")) j["last_session"] = recorded["last_session"];
    }
    return j;
}

int cmd_stats(const std::string& dir_option, bool as_json) {
    auto o = open_store(dir_option, true);
    if (!o.store) return o.exit_code;
    auto s = survey(*o.store);
    if (!s) return report_error(s.error());
    if (as_json) std::cout << detail::dump_json(stats_json(o.dir, *s), 2) << "\n";
    else print_stats_text(o.dir, *s, read_recorded_metrics(o.dir));
    return kExitOk;
}

// ---- validate ---------------------------------------------------------------------

void print_problems(const StoreCheckReport& report) {
    for (const StoreProblem& p : report.problems) {
        std::cout << p.file.string() << ": " << to_string(p.kind);
        if (p.key) std::cout << " (key " << p.key->to_hex() << ")";
        std::cout << ": " << p.message << "\n";
    }
}

Result<StoreCheckReport> check_with_progress(const fs::path& dir, const char* label) {
    ProgressBar bar(label);
    StoreCheckOptions options;
    options.progress = [&](std::uint64_t done, std::uint64_t total) { bar.update(done, total); };
    return check_store(dir, options);
}

int cmd_validate(const std::string& dir_option, bool fix) {
    auto dir = cache_directory(dir_option);
    if (!dir) return report_error(dir.error());
    if (auto r = require_cache_directory(*dir); !r) return report_error(r.error());
    auto check = check_with_progress(*dir, "validate");
    if (!check) return report_error(check.error());
    print_problems(*check);
    std::cout << "checked " << check->loose_files + check->packed_arenas << " arenas (" << check->loose_files << " loose, "
              << check->packed_arenas << " in " << check->packs << " packs, " << format_bytes(check->bytes_verified) << ") and "
              << check->index_entries << " index entries: "
              << (check->valid() ? "all valid" : std::to_string(check->problems.size()) + " problems") << "\n";
    if (check->valid() || !fix) return check->valid() ? kExitOk : kExitInvalid;

    auto o = open_store(dir_option);
    if (!o.store) return o.exit_code;
    auto repaired = repair_store(*o.store, *check);
    if (!repaired) return report_error(repaired.error());
    std::cout << "fixed: " << repaired->loose_files_removed << " loose files removed, " << repaired->packs_rewritten
              << " packs rewritten (" << repaired->packed_entries_dropped << " entries dropped)"
              << (repaired->index_rebuilt ? ", index rebuilt" : "") << "\n";
    auto after = check_with_progress(*dir, "re-validate");
    if (!after) return report_error(after.error());
    print_problems(*after);
    std::cout << "after fixing: " << (after->valid() ? "all valid" : std::to_string(after->problems.size()) + " problems remain") << "\n";
    return kExitInvalid;  // problems were found, whether or not they are gone now
}

// ---- optimize, gc -----------------------------------------------------------------

int cmd_optimize(const std::string& dir_option) {
    auto o = open_store(dir_option);
    if (!o.store) return o.exit_code;
    ProgressBar bar("optimize");
    CompactionOptions options;
    options.progress = [&](std::uint64_t done, std::uint64_t total) { bar.update(done, total); };
    auto report = compact_store(*o.store, options);
    if (!report) return report_error(report.error());
    print_compaction_report(std::cout, *report);
    return kExitOk;
}

int cmd_gc(const std::string& dir_option) {
    auto o = open_store(dir_option);
    if (!o.store) return o.exit_code;
    const std::uint64_t before = o.store->stats().index.total_bytes;
    auto report = o.store->cleanup();
    if (!report) return report_error(report.error());
    std::cout << "evicted:    " << report->removed_by_age << " entries by age, " << report->removed_by_size << " by size"
              << (report->kept_in_grace ? " (" + std::to_string(report->kept_in_grace) + " kept: read within the grace period)" : "") << "\n"
              << "temporary:  " << report->removed_temp_files << " stale files removed\n"
              << "size:       " << format_bytes(before) << " -> " << format_bytes(report->bytes_after) << " (limit "
              << format_bytes(o.store->options().max_size_bytes) << "); space of packed entries is reclaimed by jdc optimize\n";
    return kExitOk;
}

// ---- explain ----------------------------------------------------------------------

void print_entry(const std::optional<IndexEntry>& e) {
    if (!e) {
        std::cout << "in cache:     no (never stored here, evicted or removed)\n";
        return;
    }
    std::cout << "in cache:     yes, " << (e->location == EntryLocation::loose ? "loose file" : "packed") << ", " << format_bytes(e->size)
              << ", created " << utc_time(e->created_ns) << ", last read " << utc_time(e->last_access_ns) << ", read "
              << e->access_count << " times\n";
}

void print_record(const RecordedInputs& r) {
    std::cout << "table:        " << r.name << "\n"
              << "recorded in:  " << r.file.string() << "\n";
    if (r.version == 0) {
        std::cout << "inputs:       recorded by an older jdc, in a form this one does not compare\n";
        return;
    }
    if (r.recorded_at_ns != 0)
        std::cout << "stored:       " << utc_time(r.recorded_at_ns) << ", built in " << format_duration_ns(r.build_ns) << "\n";
    else
        std::cout << "stored:       fetched from the team cache, not built here\n";
    if (!r.miss_reason.empty())
        std::cout << "built after:  " << r.miss_reason << (r.miss_detail.empty() ? "" : ": " + r.miss_detail) << "\n";
    std::cout << "compiler:     " << r.compiler_version << "\n"
              << "config hash:  " << r.config_hash << "\n"
              << "signature:    " << r.signature << "\n";
    for (std::size_t p = 0; p < r.domains.size(); ++p)
        std::cout << "parameter " << p << ":  domain of " << r.domains[p].type << ", " << r.domains[p].size << " types (digest "
                  << r.domains[p].digest << ")\n";
    if (!r.methods_known) {
        std::cout << "methods:      not part of the key (the compiler did not list them)\n";
    } else {
        std::cout << "methods:      " << r.methods.size() << "\n";
        for (const auto& m : r.methods)
            std::cout << "  " << m.text << "  in " << m.module << " at " << m.file << ":" << m.line << ":" << m.column << "\n";
    }
    if (!r.sources.empty()) {
        std::cout << "sources:      " << r.sources.size() << "\n";
        for (const auto& [path, hash] : r.sources) std::cout << "  " << path << "  " << hash << "\n";
    }
}

// NAME or KEY: a key is 32 hex digits; anything else names a generic function.
int cmd_explain(const std::string& dir_option, const std::string& what) {
    auto o = open_store(dir_option, true);
    if (!o.store) return o.exit_code;
    std::optional<CacheKey> key = CacheKey::from_hex(what);
    std::optional<RecordedInputs> record;
    if (key) {
        record = find_recorded_inputs(o.dir, *key);
    } else {
        record = find_recorded_inputs(o.dir, std::string_view(what));
        if (!record) {
            std::cerr << "jdc: no table named '" << what << "' was recorded in " << o.dir.string()
                      << " (a key is 32 hex digits; `jdc explain` needs the cache its compiler used)\n";
            return kExitInvalid;
        }
        key = record->key;
    }
    const auto entry = o.store->find(*key);
    std::cout << "key:          " << key->to_hex() << "\n";
    print_entry(entry);
    if (record) print_record(*record);
    else std::cout << "inputs:       none recorded for this key (stored by another tool, or its table was stored again under a newer key)\n";
    return entry || record ? kExitOk : kExitInvalid;
}

CLI::App* with_dir(CLI::App* sub, std::string& dir) {
    sub->add_option("--dir", dir, "Cache directory (default: JANUS_CACHE_DIR, else .janus_cache/dispatch_tables)");
    return sub;
}

}  // namespace

CacheCommands::CacheCommands(CLI::App& app) {
    clear_ = with_dir(app.add_subcommand("clear", "Remove every entry and pack of the cache (safe while others read it)"), clear_dir_);
    stats_ = with_dir(app.add_subcommand("stats", "Entries, bytes, limit, hit/miss counters, evictions, drops, packs"), stats_dir_);
    stats_->add_flag("--json", stats_json_, "Print JSON");
    validate_ = with_dir(app.add_subcommand("validate", "Verify every entry, pack and the index (exit 0 valid, 1 problems found, 2 error)"),
                         validate_dir_);
    validate_->add_flag("--fix", validate_fix_, "Remove exactly what is invalid and rebuild a damaged index");
    optimize_ = with_dir(app.add_subcommand("optimize", "Run the compactor now: pack loose entries, merge packs, drop invalid entries"),
                         optimize_dir_);
    gc_ = with_dir(app.add_subcommand("gc", "Apply age and size eviction now (JANUS_CACHE_SIZE sets the limit)"), gc_dir_);
    explain_ = with_dir(app.add_subcommand("explain", "What the build cache recorded about a table: its inputs, and what changed since its previous build"),
                        explain_dir_);
    explain_->add_option("table", explain_key_, "A generic function's name, or a cache key (32 hex digits)")->required();
}

std::optional<int> CacheCommands::run() const {
    if (*clear_) return cmd_clear(clear_dir_);
    if (*stats_) return cmd_stats(stats_dir_, stats_json_);
    if (*validate_) return cmd_validate(validate_dir_, validate_fix_);
    if (*optimize_) return cmd_optimize(optimize_dir_);
    if (*gc_) return cmd_gc(gc_dir_);
    if (*explain_) return cmd_explain(explain_dir_, explain_key_);
    return std::nullopt;
}

int inspect_cache_key(const std::string& dir_option, const CacheKey& key, void (*print)(const ArenaView&, std::ostream&)) {
    auto o = open_store(dir_option, true);
    if (!o.store) return o.exit_code;
    auto got = o.store->get(key, AccessMode::inspect);
    if (!got) {
        if (got.error().code == ErrorCode::not_found) {
            std::cerr << "jdc: no entry " << key.to_hex() << " in " << o.dir.string() << "\n";
            return kExitInvalid;
        }
        std::cout << key.to_hex() << ": INVALID (" << to_string(got.error().code) << "): " << got.error().message << "\n";
        return kExitInvalid;
    }
    std::cout << "key:           " << key.to_hex() << "\n"
              << "location:      "
              << (got->location() == EntryLocation::loose ? "loose file " + o.store->loose_path(key).string() : std::string("packed")) << "\n";
    print(got->view(), std::cout);
    return kExitOk;
}

}  // namespace jdc::tools
