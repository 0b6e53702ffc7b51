#include "tools/cache_commands.hpp"

#include <algorithm>
#include <iostream>
#include <iterator>

#include "cache/metrics_report.hpp"
#include "jdc/cache_records.hpp"
#include "jdc/compactor.hpp"
#include "jdc/local_store.hpp"
#include "jdc/store_check.hpp"
#include "tools/cache_survey.hpp"
#include "tools/config_command.hpp"
#include "tools/list_command.hpp"
#include "tools/prometheus_export.hpp"
#include "tools/session_history.hpp"
#include "tools/tool_support.hpp"
#include "util/progress_bar.hpp"
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

// The store named by --dir (or the configuration), or the exit code that says why not.
struct OpenedStore {
    fs::path dir;
    std::optional<CacheConfig> config;
    std::optional<LocalStore> store;
    int exit_code = kExitOk;
};

OpenedStore open_store(const std::string& dir_option, std::vector<ConfigFlag> flags = {}, bool only_reading = false) {
    OpenedStore o;
    auto config = tool_config(dir_option, std::move(flags));
    if (!config) {
        o.exit_code = report_error(config.error());
        return o;
    }
    o.dir = config->cache_directory;
    auto store = open_cache_for_tool(*config, only_reading);
    if (!store) {
        o.exit_code = report_error(store.error());
        return o;
    }
    o.config.emplace(std::move(*config));
    o.store.emplace(std::move(*store));
    return o;
}

// ---- clear ------------------------------------------------------------------------

int cmd_clear(const std::string& dir_option, bool as_json) {
    auto o = open_store(dir_option);
    if (!o.store) return o.exit_code;
    auto cleared = o.store->clear();
    if (!cleared) return report_error(cleared.error());
    if (as_json) {
        print_json(json_document({{"cache_directory", o.dir.string()},
                                  {"entries_removed", cleared->entries_removed},
                                  {"loose_files_removed", cleared->loose_files_removed},
                                  {"packs_removed", cleared->packs_removed},
                                  {"bytes_removed", cleared->bytes_removed}}));
        return kExitOk;
    }
    std::cout << "cleared " << o.dir.string() << ": " << cleared->entries_removed << " entries removed ("
              << cleared->loose_files_removed << " loose files, " << cleared->packs_removed << " packs, "
              << format_bytes(cleared->bytes_removed) << ")\n";
    return kExitOk;
}

// ---- stats ------------------------------------------------------------------------

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

void print_stats_text(const CacheSurvey& s) {
    const IndexSummary& i = s.stats.index;
    const std::uint64_t counted_since = std::max(i.created_ns, s.zeroed_at_ns);
    std::cout << "cache directory:  " << s.directory.string() << "\n"
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
              << utc_time(counted_since) << (s.zeroed_at_ns >= i.created_ns && s.zeroed_at_ns != 0 ? ", when they were zeroed" : "")
              << ")\n"
              << "last cleanup:     " << utc_time(i.last_cleanup_ns) << "\n";
    if (!s.recorded) {
        std::cout << "build sessions:   none recorded (no stats.json)\n";
        return;
    }
    std::cout << "lifetime:         " << metrics_line(s.recorded->lifetime) << "\n"
              << "last session:     " << metrics_line(s.recorded->last_session) << "\n";
    if (s.zeroed_at_ns != 0) std::cout << "zeroed:           " << utc_time(s.zeroed_at_ns) << " (jdc stats --zero)\n";
}

json stats_json(const CacheSurvey& s) {
    const IndexSummary& i = s.stats.index;
    json j = {{"cache_directory", s.directory.string()},
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
              {"store", {{"hits", i.hits},
                         {"misses", i.misses},
                         {"evictions", i.evictions},
                         {"corrupt_drops", i.corrupt_drops},
                         {"stale_drops", i.stale_drops},
                         {"bytes_written", i.bytes_written},
                         {"bytes_read", i.bytes_read},
                         {"index_created_ns", i.created_ns}}},
              {"last_cleanup_ns", i.last_cleanup_ns},
              {"zeroed_at_ns", s.zeroed_at_ns},
              {"lifetime", nullptr},
              {"last_session", nullptr}};
    // The build sessions' counters (stats.json), in this schema's names whatever the file's.
    if (s.recorded) {
        j["lifetime"] = detail::metrics_json(s.recorded->lifetime);
        j["lifetime"]["remote"] = detail::remote_metrics_json(s.recorded->lifetime);
        j["last_session"] = detail::metrics_json(s.recorded->last_session);
        j["last_session"]["remote"] = detail::remote_metrics_json(s.recorded->last_session);
        j["mean_build_ns"] = s.recorded->mean_build_ns;
    }
    return j;
}

struct StatsRequest {
    bool zero = false, history = false;
    std::string format;  // text, json or prometheus
    std::size_t sessions = 20;
};

int cmd_stats(const std::string& dir_option, const StatsRequest& r) {
    if (r.format == "prometheus" && (r.zero || r.history)) {
        std::cerr << "jdc: stats --format prometheus exports the current numbers: it takes neither --zero nor --history\n";
        return kExitUsage;
    }
    // --zero writes; everything else only reads (a cache this user cannot write too).
    auto o = open_store(dir_option, {}, !r.zero);
    if (!o.store) return o.exit_code;
    if (r.zero) {
        if (auto z = o.store->zero_counters(); !z) return report_error(z.error());
        if (auto z = detail::zero_recorded_metrics(o.dir); !z) return report_error(z.error());
        if (r.format == "json") print_json(json_document({{"cache_directory", o.dir.string()}, {"zeroed", true}}));
        else std::cout << "statistics zeroed in " << o.dir.string() << " (store counters and build-session totals; the history is kept)\n";
        return kExitOk;
    }
    auto s = survey_cache(*o.store);
    if (!s) return report_error(s.error());
    if (r.history) {
        const auto sessions = detail::read_session_history(o.dir);
        const HistoryAnalysis analysis = analyze_history(sessions, *s);
        if (r.format == "json") {
            json body = history_json(sessions, analysis);
            body["cache_directory"] = o.dir.string();
            print_json(json_document(std::move(body)));
        } else {
            std::cout << "cache directory:  " << o.dir.string() << "\n";
            print_history(std::cout, sessions, analysis, r.sessions);
        }
        return kExitOk;
    }
    if (r.format == "prometheus") std::cout << prometheus_text(*s, detail::read_session_history(o.dir));
    else if (r.format == "json") print_json(json_document(stats_json(*s)));
    else print_stats_text(*s);
    return kExitOk;
}

// ---- validate ---------------------------------------------------------------------

json problems_json(const StoreCheckReport& report) {
    static constexpr std::string_view kKinds[] = {"invalid_loose_file", "invalid_pack",   "invalid_packed_entry", "index_unreadable",
                                                  "dangling_entry",     "unindexed_file", "index_totals"};
    json list = json::array();
    for (const StoreProblem& p : report.problems) {
        const auto kind = static_cast<std::size_t>(p.kind);
        list.push_back({{"kind", kind < std::size(kKinds) ? kKinds[kind] : "unknown"},
                        {"file", p.file.string()},
                        {"key", p.key ? json(p.key->to_hex()) : json(nullptr)},
                        {"message", p.message}});
    }
    return list;
}

void print_problems(const StoreCheckReport& report) {
    for (const StoreProblem& p : report.problems) {
        std::cout << p.file.string() << ": " << to_string(p.kind);
        if (p.key) std::cout << " (key " << p.key->to_hex() << ")";
        std::cout << ": " << p.message << "\n";
    }
}

// The check, with a progress bar that is gone before anything is printed.
Result<StoreCheckReport> check_with_progress(const fs::path& dir, const char* label) {
    detail::ProgressBar bar(label);
    StoreCheckOptions options;
    options.progress = [&](std::uint64_t done, std::uint64_t total) { bar.update(done, total); };
    return check_store(dir, options);
}

// Exit 0 when the cache is valid, at first or after --fix removed what was not; 1
// when problems remain (found without --fix, or not removed by it).
int cmd_validate(const std::string& dir_option, bool fix, bool as_json) {
    auto config = tool_config(dir_option);
    if (!config) return report_error(config.error());
    const fs::path dir = config->cache_directory;
    if (auto r = require_cache_directory(*config); !r) return report_error(r.error());
    auto check = check_with_progress(dir, "validate");
    if (!check) return report_error(check.error());
    json doc = {{"cache_directory", dir.string()},
                {"arenas", check->loose_files + check->packed_arenas},
                {"loose_files", check->loose_files},
                {"packed_arenas", check->packed_arenas},
                {"packs", check->packs},
                {"bytes_verified", check->bytes_verified},
                {"index_entries", check->index_entries},
                {"problems", problems_json(*check)},
                {"valid", check->valid()},
                {"fixed", nullptr},
                {"valid_after_fix", nullptr}};
    if (!as_json) {
        print_problems(*check);
        std::cout << "checked " << check->loose_files + check->packed_arenas << " arenas (" << check->loose_files << " loose, "
                  << check->packed_arenas << " in " << check->packs << " packs, " << format_bytes(check->bytes_verified) << ") and "
                  << check->index_entries << " index entries: "
                  << (check->valid() ? "all valid" : std::to_string(check->problems.size()) + " problems") << "\n";
    }
    if (check->valid() || !fix) {
        if (as_json) print_json(json_document(std::move(doc)));
        return check->valid() ? kExitOk : kExitInvalid;
    }

    auto o = open_store(dir_option);
    if (!o.store) return o.exit_code;
    auto repaired = repair_store(*o.store, *check);
    if (!repaired) return report_error(repaired.error());
    if (!as_json)
        std::cout << "fixed: " << repaired->loose_files_removed << " loose files removed, " << repaired->packs_rewritten
                  << " packs rewritten (" << repaired->packed_entries_dropped << " entries dropped)"
                  << (repaired->index_rebuilt ? ", index rebuilt" : "") << "\n";
    auto after = check_with_progress(dir, "re-validate");
    if (!after) return report_error(after.error());
    if (as_json) {
        doc["fixed"] = {{"loose_files_removed", repaired->loose_files_removed},
                        {"packs_rewritten", repaired->packs_rewritten},
                        {"packed_entries_dropped", repaired->packed_entries_dropped},
                        {"index_rebuilt", repaired->index_rebuilt},
                        {"problems_remaining", problems_json(*after)}};
        doc["valid_after_fix"] = after->valid();
        print_json(json_document(std::move(doc)));
    } else {
        print_problems(*after);
        std::cout << "after fixing: " << (after->valid() ? "all valid" : std::to_string(after->problems.size()) + " problems remain") << "\n";
    }
    return after->valid() ? kExitOk : kExitInvalid;
}

// ---- optimize, gc -----------------------------------------------------------------

int cmd_optimize(const std::string& dir_option, bool as_json) {
    auto o = open_store(dir_option);
    if (!o.store) return o.exit_code;
    Result<CompactionReport> report = [&] {
        detail::ProgressBar bar("optimize");
        CompactionOptions options;
        options.rewrite_all = true;  // asked for: everything into one pack, in read order
        options.progress = [&](std::uint64_t done, std::uint64_t total) { bar.update(done, total); };
        return compact_store(*o.store, options);
    }();  // the bar is cleared before the report is printed
    if (!report) return report_error(report.error());
    if (as_json) {
        json body = compaction_report_json(*report);
        body["cache_directory"] = o.dir.string();
        print_json(json_document(std::move(body)));
    } else {
        print_compaction_report(std::cout, *report);
    }
    return kExitOk;
}

// --max-size and --older-than apply to this run only, over jdc.conf and the environment.
int cmd_gc(const std::string& dir_option, const std::string& max_size, const std::string& older_than, bool as_json) {
    std::vector<ConfigFlag> flags;
    if (!max_size.empty()) flags.push_back({"max_size", max_size, "--max-size"});
    if (!older_than.empty()) flags.push_back({"max_age", older_than, "--older-than"});
    auto o = open_store(dir_option, std::move(flags));
    if (!o.store) return o.exit_code;
    const std::uint64_t before = o.store->stats().index.total_bytes;
    auto report = o.store->cleanup();
    if (!report) return report_error(report.error());
    if (as_json) {
        print_json(json_document({{"cache_directory", o.dir.string()},
                                  {"evicted_by_age", report->removed_by_age},
                                  {"evicted_by_size", report->removed_by_size},
                                  {"kept_in_grace", report->kept_in_grace},
                                  {"evicted_in_grace", report->removed_in_grace},
                                  {"temporary_files_removed", report->removed_temp_files},
                                  {"bytes_before", before},
                                  {"bytes_after", report->bytes_after},
                                  {"budget_bytes_after", report->budget_after},
                                  {"max_size_bytes", o.config->max_cache_size_bytes},
                                  {"max_age_seconds", o.config->max_cache_age_seconds}}));
        return kExitOk;
    }
    std::cout << "evicted:    " << report->removed_by_age << " entries by age ("
              << (o.config->max_cache_age_seconds == 0 ? std::string("no age limit")
                                                       : "not read for " + format_duration_seconds(o.config->max_cache_age_seconds))
              << "), " << report->removed_by_size << " by size"
              << (report->kept_in_grace ? " (" + std::to_string(report->kept_in_grace) + " kept: read within the grace period)" : "")
              << (report->removed_in_grace ? " (" + std::to_string(report->removed_in_grace) +
                                                 " read within the grace period, removed to fit the limit)"
                                           : "")
              << "\n"
              << "temporary:  " << report->removed_temp_files << " stale files removed\n"
              << "size:       entries " << format_bytes(before) << " -> " << format_bytes(report->bytes_after) << "; the directory counts "
              << format_bytes(report->budget_after) << " against its limit of " << format_bytes(o.store->options().max_size_bytes)
              << "; space of packed entries is reclaimed by the compactor (jdc optimize)\n";
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

// A recorded reason ("never seen", to_string's words) by its JSON name ("never_seen");
// a reason this jdc does not know is kept as it was recorded.
std::string reason_json_name(const std::string& recorded) {
    for (std::size_t i = 0; i < kMissReasonCount; ++i)
        if (to_string(static_cast<MissReason>(i)) == recorded) return std::string(json_name(static_cast<MissReason>(i)));
    return recorded;
}

json explain_json(const CacheKey& key, const std::optional<IndexEntry>& e, const std::optional<RecordedInputs>& r) {
    json doc = {{"key", key.to_hex()}, {"in_cache", e.has_value()}, {"entry", nullptr}, {"record", nullptr}};
    if (e)
        doc["entry"] = {{"location", e->location == EntryLocation::loose ? "loose" : "packed"},
                        {"size_bytes", e->size},
                        {"created_ns", e->created_ns},
                        {"last_access_ns", e->last_access_ns},
                        {"access_count", e->access_count}};
    if (r) {
        json rec = {{"name", r->name}, {"file", r->file.string()}, {"record_version", r->version}};
        if (r->version != 0) {
            rec["recorded_at_ns"] = r->recorded_at_ns;  // 0: fetched from the team cache, not built here
            rec["build_ns"] = r->build_ns;
            rec["built_after"] = r->miss_reason.empty() ? json(nullptr)
                                                        : json{{"reason", reason_json_name(r->miss_reason)}, {"detail", r->miss_detail}};
            rec["compiler_version"] = r->compiler_version;
            rec["config_hash"] = r->config_hash;
            rec["signature"] = r->signature;
            json domains = json::array();
            for (const auto& d : r->domains) domains.push_back({{"type", d.type}, {"digest", d.digest}, {"size", d.size}});
            rec["domains"] = std::move(domains);
            rec["methods_known"] = r->methods_known;
            json methods = json::array();
            for (const auto& m : r->methods)
                methods.push_back({{"text", m.text}, {"module", m.module}, {"file", m.file}, {"line", m.line}, {"column", m.column}});
            rec["methods"] = std::move(methods);
            json sources = json::array();
            for (const auto& [path, hash] : r->sources) sources.push_back({{"path", path}, {"hash", hash}});
            rec["sources"] = std::move(sources);
        }
        doc["record"] = std::move(rec);
    }
    return doc;
}

// NAME or KEY: a key is 32 hex digits; anything else names a generic function.
int cmd_explain(const std::string& dir_option, const std::string& what, bool as_json) {
    auto o = open_store(dir_option, {}, true);
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
    if (as_json) {
        print_json(json_document(explain_json(*key, entry, record)));
        return entry || record ? kExitOk : kExitInvalid;
    }
    std::cout << "key:          " << key->to_hex() << "\n";
    print_entry(entry);
    if (record) print_record(*record);
    else std::cout << "inputs:       none recorded for this key (stored by another tool, or its table was stored again under a newer key)\n";
    return entry || record ? kExitOk : kExitInvalid;
}

// ---- the command line -------------------------------------------------------------

constexpr const char* kDirHelp =
    "Cache directory (default: JANUS_CACHE_DIR, else the nearest .janus_cache/ from the working directory up; see jdc config)";

CLI::App* with_dir(CLI::App* sub, std::string& dir) {
    sub->add_option("--dir", dir, kDirHelp);
    return sub;
}

CLI::App* with_json(CLI::App* sub, bool& json_flag) {
    sub->add_flag("--json", json_flag, "Print one JSON document (snake_case keys, with a schema_version) instead of text");
    return sub;
}

}  // namespace

CacheCommands::CacheCommands(CLI::App& app) {
    clear_ = with_json(with_dir(app.add_subcommand("clear", "Remove every entry and pack of the cache (safe while others read it)"), clear_dir_),
                       clear_json_);
    stats_ = with_json(with_dir(app.add_subcommand("stats", "Entries, bytes, limit, hit/miss counters, evictions, drops, packs; "
                                                            "--history: trends and suggestions; --zero: reset the counters"),
                                stats_dir_),
                       stats_json_);
    stats_->add_flag("--zero,-z", stats_zero_, "Set the counters to zero (store counters and build-session totals; the history stays)");
    stats_->add_flag("--history", stats_history_,
                     "The recorded build sessions: hit ratio trend, misses by reason, what changed, tables that miss most, suggestions");
    stats_->add_option("--sessions", stats_sessions_, "With --history: how many sessions to list (all are analyzed)")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, std::size_t{detail::kHistorySessions * 2}));
    stats_->add_option("--format", stats_format_, "text, json (as --json) or prometheus (text exposition format, for scraping)")
        ->capture_default_str()
        ->check(CLI::IsMember({"text", "json", "prometheus"}));
    validate_ = with_json(with_dir(app.add_subcommand("validate", "Verify every entry, pack and the index (exit 0 valid or fixed, "
                                                                  "1 problems remain, 2 error)"),
                                   validate_dir_),
                          validate_json_);
    validate_->add_flag("--fix", validate_fix_, "Remove exactly what is invalid and rebuild a damaged index");
    optimize_ = with_json(with_dir(app.add_subcommand("optimize", "Run the compactor now: pack loose entries and merge every pack into one, laid out in read order; drop invalid and dead copies"),
                                   optimize_dir_),
                          optimize_json_);
    gc_ = with_json(with_dir(app.add_subcommand("gc", "Apply age and size eviction now (limits from jdc config, or the flags)"), gc_dir_),
                    gc_json_);
    gc_->add_option("--max-size", gc_max_size_, "Evict least recently read entries down to 80 % of this size (e.g. 512M), this run only");
    gc_->add_option("--older-than", gc_older_than_, "Evict entries not read for this long (e.g. 30d, 12h), this run only");
    explain_ = with_json(with_dir(app.add_subcommand("explain", "What the build cache recorded about a table: its inputs, and what changed since its previous build"),
                                  explain_dir_),
                         explain_json_);
    explain_->add_option("table", explain_key_, "A generic function's name, or a cache key (32 hex digits)")->required();
    ls_ = with_json(with_dir(app.add_subcommand("ls", "List the entries: table name, methods, size, age, last read, form, loose or packed, key"),
                             ls_dir_),
                    ls_json_);
    ls_->add_option("--sort", ls_sort_, "name, size, age (newest first) or read (most recently read first)")
        ->capture_default_str()
        ->check(CLI::IsMember({"name", "size", "age", "read"}));
    config_ = with_json(with_dir(app.add_subcommand("config", "Every setting, its value and where it comes from (flag, environment, "
                                                              "jdc.conf, default)"),
                                 config_dir_),
                        config_json_);
    init_ = with_json(with_dir(app.add_subcommand("init", "Make a directory a cache, with a jdc.conf that lists every setting"), init_dir_),
                      init_json_);
    init_->add_flag("--force", init_force_, "Also a directory that is not empty and not a cache yet");
}

std::optional<int> CacheCommands::run() const {
    if (*clear_) return cmd_clear(clear_dir_, clear_json_);
    if (*stats_) {
        if (stats_json_ && stats_->count("--format") && stats_format_ != "json") {
            std::cerr << "jdc: stats: --json and --format " << stats_format_ << " contradict each other\n";
            return kExitUsage;
        }
        return cmd_stats(stats_dir_, {stats_zero_, stats_history_, stats_json_ ? "json" : stats_format_, stats_sessions_});
    }
    if (*validate_) return cmd_validate(validate_dir_, validate_fix_, validate_json_);
    if (*optimize_) return cmd_optimize(optimize_dir_, optimize_json_);
    if (*gc_) return cmd_gc(gc_dir_, gc_max_size_, gc_older_than_, gc_json_);
    if (*explain_) return cmd_explain(explain_dir_, explain_key_, explain_json_);
    if (*ls_) return run_ls(ls_dir_, ls_sort_, ls_json_);
    if (*config_) return run_config(config_dir_, config_json_);
    if (*init_) return run_init(init_dir_, init_force_, init_json_);
    return std::nullopt;
}

int inspect_cache_key(const std::string& dir_option, const CacheKey& key, void (*print)(const ArenaView&, std::ostream&),
                      json (*to_json)(const ArenaView&), bool as_json) {
    auto o = open_store(dir_option, {}, true);
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
    if (as_json) {
        json body = to_json(got->view());
        body["key"] = key.to_hex();
        body["location"] = got->location() == EntryLocation::loose ? "loose" : "pack";
        body["file"] = got->location() == EntryLocation::loose ? json(o.store->loose_path(key).string()) : json(nullptr);
        print_json(json_document(std::move(body)));
        return kExitOk;
    }
    std::cout << "key:           " << key.to_hex() << "\n"
              << "location:      "
              << (got->location() == EntryLocation::loose ? "loose file " + o.store->loose_path(key).string() : std::string("packed")) << "\n";
    print(got->view(), std::cout);
    return kExitOk;
}

}  // namespace jdc::tools
