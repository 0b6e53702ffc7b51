#include "tools/tool_support.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>

#include <sys/stat.h>
#include <unistd.h>

#include "jdc/cache_config.hpp"
#include "util/forward_error.hpp"
#include "util/report_format.hpp"

namespace jdc::tools {
namespace fs = std::filesystem;

Result<fs::path> cache_directory(const std::string& dir_option) {
    if (!dir_option.empty()) return fs::path(dir_option);
    auto config = CacheConfig::from_environment();
    if (!config) return tl::unexpected(config.error());
    return config->cache_directory;
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
    for (const char* marker : {"index.jdci", "objects", "CACHEDIR.TAG"}) {
        struct stat m {};
        if (::lstat((dir / marker).c_str(), &m) == 0) return {};
    }
    return make_error(ErrorCode::not_found, "'" + dir.string() + "' is not a jdc cache directory (no index.jdci, objects/ or CACHEDIR.TAG)");
}

Result<LocalStore> open_cache_for_tool(const fs::path& dir) {
    JDC_FORWARD_IF_ERROR(require_cache_directory(dir));
    auto config = CacheConfig::from_environment();
    if (!config) return tl::unexpected(config.error());
    StoreOptions options = config->store_options();
    options.automatic_maintenance = false;  // a tool does what it is asked, nothing more
    options.log = [](const std::string& line) { std::cerr << line << "\n"; };
    return LocalStore::open(dir, std::move(options));
}

ProgressBar::ProgressBar(std::string label) : label_(std::move(label)), enabled_(::isatty(STDERR_FILENO) == 1) {}

ProgressBar::~ProgressBar() {
    if (drawn_) std::fprintf(stderr, "\r\033[K");
}

void ProgressBar::update(std::uint64_t done, std::uint64_t total) {
    if (!enabled_ || total == 0) return;
    const auto now = std::chrono::steady_clock::now();
    if (drawn_ && done < total && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    drawn_ = true;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(kWidth * std::min(done, total) / total);
    std::fprintf(stderr, "\r%s [%.*s%*s] %llu/%llu", label_.c_str(), filled, "##############################", kWidth - filled, "",
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total));
    std::fflush(stderr);
}

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

void print_compaction_report(std::ostream& out, const CompactionReport& r) {
    if (r.outcome == CompactionOutcome::busy) {
        out << "another compactor is running on this cache: nothing done\n";
        return;
    }
    if (r.outcome == CompactionOutcome::nothing_to_do) {
        out << "nothing to compact: " << r.loose_before << " loose files, " << r.packs_before << " packs, "
            << format_bytes(r.bytes_before) << " (" << format_duration_ns(r.duration_ns) << ")\n";
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
    out << "time:       " << format_duration_ns(r.duration_ns) << " (store lock held " << format_duration_ns(r.lock_held_ns) << ")\n";
}

}  // namespace jdc::tools
