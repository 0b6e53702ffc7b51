#include "tools/tool_support.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>

#include <sys/stat.h>
#include <unistd.h>

#include "cache/metrics_report.hpp"
#include "jdc/version.hpp"
#include "util/command_line.hpp"
#include "util/forward_error.hpp"
#include "util/json_text.hpp"
#include "util/report_format.hpp"

namespace jdc::tools {
namespace fs = std::filesystem;
using json = nlohmann::json;

std::string version_line(std::string_view program) { return std::string(program) + " " + std::string(library_version()); }

std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
    return detail::parse_command_line(app, argc, argv, kExitUsage);
}

Result<CacheConfig> tool_config(const std::string& dir_option, std::vector<ConfigFlag> flags) {
    CacheConfig::Request request;
    if (!dir_option.empty()) request.directory = fs::path(dir_option);
    request.flags = std::move(flags);
    return CacheConfig::load(request);
}

Result<void> require_cache_directory(const fs::path& dir) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
        const int err = errno;
        return make_error(err == ENOENT ? ErrorCode::not_found : ErrorCode::io,
                          "no cache directory at '" + dir.string() + "': " + std::strerror(err));
    }
    if (!S_ISDIR(st.st_mode)) return make_error(ErrorCode::io, "'" + dir.string() + "' is not a directory");
    if (::access(dir.c_str(), R_OK | X_OK) != 0)
        return make_error(ErrorCode::io, "cannot read cache directory '" + dir.string() + "': " + std::strerror(errno));
    // Not objects/: a git repository's .git/ has one, and was taken for a cache.
    for (const char* marker : {"CACHEDIR.TAG", "index.jdci"}) {
        struct stat m {};
        if (::lstat((dir / marker).c_str(), &m) == 0) return {};
    }
    return make_error(ErrorCode::not_found, "'" + dir.string() + "' is not a jdc cache directory (no CACHEDIR.TAG or index.jdci)");
}

Result<void> require_cache_directory(const CacheConfig& config) {
    auto r = require_cache_directory(config.cache_directory);
    if (r || r.error().code != ErrorCode::not_found || config.origins.empty()) return r;
    const ConfigOrigin& dir = config.origins.front();
    if (dir.source != ConfigSource::default_value) return r;
    // Found by the project search, or its fallback: say where it looked.
    return make_error(ErrorCode::not_found, "no cache found: " + dir.where +
                                                " (janusc creates .janus_cache/ in the project it builds); give --dir DIR, set "
                                                "JANUS_CACHE_DIR, or run inside a project that has one");
}

Result<LocalStore> open_cache_for_tool(const CacheConfig& config, bool only_reading) {
    JDC_FORWARD_IF_ERROR(require_cache_directory(config));
    const fs::path& dir = config.cache_directory;
    StoreOptions options = config.store_options();
    options.automatic_maintenance = false;  // a tool does what it is asked, nothing more
    options.log = [](const std::string& line) { std::cerr << line << "\n"; };
    auto store = LocalStore::open(dir, options);
    if (store || !only_reading || store.error().code != ErrorCode::io) return store;
    options.read_only = true;
    auto read_only = LocalStore::open(dir, std::move(options));
    if (!read_only) return store;  // the first error says more
    std::cerr << "jdc: " << dir.string() << " opened read-only: " << store.error().message << "\n";
    return read_only;
}

json json_document(json body) {
    json doc = {{"schema_version", detail::kJsonSchemaVersion}};
    for (auto& [key, value] : body.items()) doc[key] = std::move(value);
    return doc;
}

void print_json(const json& document) { std::cout << detail::dump_json(document, 2) << "\n"; }

std::string utc_time(std::uint64_t unix_ns) {
    if (unix_ns == 0) return "never";
    const std::time_t secs = static_cast<std::time_t>(unix_ns / 1'000'000'000ull);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// Why the files grew: a compaction never adds an entry of its own, so growth comes
// from what packing costs, from re-encoded arenas, or from other processes.
static void print_growth(std::ostream& out, const CompactionReport& r) {
    const std::uint64_t growth =
        r.bytes_after > r.bytes_before ? r.bytes_after - r.bytes_before : r.disk_bytes_after - r.disk_bytes_before;
    out << "grew:       +" << format_bytes(growth) << (r.bytes_after > r.bytes_before ? "" : " on disk") << ", because:";
    bool any = false;
    if (r.loose_packed) {
        out << "\n  " << r.loose_packed << " loose entries moved into a pack: each gains a 16-byte key copy and a 40-byte index slot "
            << "(the pack's index is kept between 3/8 and 3/4 full); on disk, small files no longer round up to a block each";
        any = true;
    }
    if (r.rewrite_delta_bytes > 0) {
        out << "\n  re-optimized arenas grew by " << format_bytes(static_cast<std::uint64_t>(r.rewrite_delta_bytes))
            << " (dispatch indexes re-encoded as the current writer does)";
        any = true;
    }
    if (r.changed_meanwhile || r.packs_after > 1 || r.loose_after > 0) {
        out << "\n  other processes wrote entries during the run (" << r.changed_meanwhile << " changed, " << r.loose_after
            << " loose files and " << r.packs_after << " packs now)";
        any = true;
    }
    if (r.disk_bytes_after > r.disk_bytes_before && r.bytes_after <= r.bytes_before) {
        out << "\n  the new pack's last block, allocated whole on disk";
        any = true;
    }
    if (!any) out << "\n  the pack index of a merged pack (40 bytes a slot, between 3/8 and 3/4 full) outweighed what was dropped";
    out << "\n";
}

std::string age_text(std::uint64_t unix_ns, std::uint64_t now_ns) {
    if (unix_ns == 0) return "-";
    const std::uint64_t s = (now_ns > unix_ns ? now_ns - unix_ns : 0) / 1'000'000'000ull;
    if (s < 120) return std::to_string(s) + "s";
    if (s < 2 * 3600) return std::to_string(s / 60) + "m";
    if (s < 2 * 86400) return std::to_string(s / 3600) + "h";
    return std::to_string(s / 86400) + "d";
}

namespace {

std::string_view drop_reason_json(DropReason reason) {
    switch (reason) {
        case DropReason::invalid: return "invalid";
        case DropReason::missing: return "missing";
        case DropReason::unreferenced: return "unreferenced";
    }
    return "unknown";
}

std::string_view outcome_json(CompactionOutcome outcome) {
    switch (outcome) {
        case CompactionOutcome::compacted: return "compacted";
        case CompactionOutcome::nothing_to_do: return "nothing_to_do";
        case CompactionOutcome::busy: return "busy";
    }
    return "unknown";
}

}  // namespace

json compaction_report_json(const CompactionReport& r) {
    json dropped = json::array();
    for (const DroppedEntry& d : r.dropped) dropped.push_back({{"key", d.key.to_hex()}, {"reason", drop_reason_json(d.reason)}, {"detail", d.detail}});
    return {{"outcome", outcome_json(r.outcome)},
            {"entries_read", r.entries_read},
            {"entries_rewritten", r.entries_rewritten},
            {"entries_packed", r.entries_packed},
            {"loose_packed", r.loose_packed},
            {"transform_failures", r.transform_failures},
            {"changed_meanwhile", r.changed_meanwhile},
            {"dropped", dropped},
            {"packs_before", r.packs_before},
            {"packs_after", r.packs_after},
            {"loose_before", r.loose_before},
            {"loose_after", r.loose_after},
            {"bytes_before", r.bytes_before},
            {"bytes_after", r.bytes_after},
            {"disk_bytes_before", r.disk_bytes_before},
            {"disk_bytes_after", r.disk_bytes_after},
            {"wall_ns", r.duration_ns},
            {"lock_held_ns", r.lock_held_ns},
            {"loose_compressed_kept", r.loose_compressed_kept},
            {"over_limit", r.over_limit},
            {"in_read_order", r.in_read_order},
            {"new_pack", r.new_pack.empty() ? json(nullptr) : json(r.new_pack.string())}};
}

void print_compaction_report(std::ostream& out, const CompactionReport& r) {
    if (r.outcome == CompactionOutcome::busy) {
        out << "another compactor is running on this cache: nothing done\n";
        return;
    }
    if (r.outcome == CompactionOutcome::nothing_to_do) {
        out << "nothing to compact: " << r.loose_before << " loose files, " << r.packs_before << " packs, "
            << format_bytes(r.bytes_before) << " (" << format_duration_ns(r.duration_ns) << " wall)\n";
        return;
    }
    out << "packed:     " << r.entries_packed << " entries (" << r.loose_packed << " from loose files, " << r.entries_rewritten
        << " rewritten by the optimizer";
    if (r.transform_failures) out << ", " << r.transform_failures << " kept as they were after the optimizer failed";
    out << ")";
    if (!r.new_pack.empty()) out << " into " << r.new_pack.filename().string();
    out << "\n";
    out << "read:       " << r.entries_read << " entries verified\n";
    out << "dropped:    " << r.dropped.size() << " (" << r.dropped_for(DropReason::invalid) << " invalid, "
        << r.dropped_for(DropReason::missing) << " missing, " << r.dropped_for(DropReason::unreferenced) << " unreferenced)\n";
    for (const DroppedEntry& d : r.dropped)
        if (d.reason != DropReason::unreferenced) out << "  " << d.key.to_hex() << " " << to_string(d.reason) << ": " << d.detail << "\n";
    if (r.changed_meanwhile) out << "left alone: " << r.changed_meanwhile << " entries changed by others during the run\n";
    out << "files:      " << r.loose_before << " loose + " << r.packs_before << " packs -> " << r.loose_after << " loose + "
        << r.packs_after << " packs\n";
    out << "bytes:      " << format_bytes(r.bytes_before) << " -> " << format_bytes(r.bytes_after) << " (on disk "
        << format_bytes(r.disk_bytes_before) << " -> " << format_bytes(r.disk_bytes_after);
    if (r.disk_bytes_after <= r.disk_bytes_before) out << ", saved " << format_bytes(r.disk_bytes_before - r.disk_bytes_after);
    out << ")\n";
    if (r.bytes_after > r.bytes_before || r.disk_bytes_after > r.disk_bytes_before) print_growth(out, r);
    if (r.loose_compressed_kept) out << "kept loose: " << r.loose_compressed_kept << " compressed arenas (packs hold raw arenas)\n";
    if (r.over_limit) out << "limit:      the directory was over its size limit: every pack holding evicted copies was rewritten\n";
    if (r.in_read_order) out << "layout:     the new pack's arenas are in the order the last builds read them\n";
    out << "time:       " << format_duration_ns(r.duration_ns) << " wall (store lock held " << format_duration_ns(r.lock_held_ns) << ")\n";
}

}  // namespace jdc::tools
