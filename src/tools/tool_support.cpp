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

Result<LocalStore> open_cache_for_tool(const fs::path& dir, bool only_reading) {
    JDC_FORWARD_IF_ERROR(require_cache_directory(dir));
    auto config = CacheConfig::from_environment();
    if (!config) return tl::unexpected(config.error());
    StoreOptions options = config->store_options();
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
    out << "time:       " << format_duration_ns(r.duration_ns) << " (store lock held " << format_duration_ns(r.lock_held_ns) << ")\n";
}

}  // namespace jdc::tools
