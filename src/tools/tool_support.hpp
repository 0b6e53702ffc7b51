// What the jdc tools share: exit codes, finding and opening the cache directory,
// the progress bar and the compaction report.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>

#include "jdc/compactor.hpp"
#include "jdc/local_store.hpp"

namespace jdc::tools {

constexpr int kExitOk = 0;
constexpr int kExitInvalid = 1;  // a problem found: invalid arena, failed check, unknown key
constexpr int kExitUsage = 2;    // usage or I/O error

// `--dir` when given, else JANUS_CACHE_DIR, else the configuration's default.
// Errors: invalid_argument (a JANUS_CACHE_* variable that does not parse).
Result<std::filesystem::path> cache_directory(const std::string& dir_option);

// Refuses what is not an existing, readable jdc cache directory (one that has an
// index, an objects/ directory or the CACHEDIR.TAG jdc writes), so that no command
// creates or clears a directory by mistake. Errors: not_found, io.
Result<void> require_cache_directory(const std::filesystem::path& dir);

// require_cache_directory, then LocalStore::open with the configuration's size and
// age limits (JANUS_CACHE_SIZE, ...). With `only_reading` (stats, explain, inspect), a
// store this user cannot open for writing (another user's, a read-only mount) is
// opened read-only instead, with one line on stderr.
Result<LocalStore> open_cache_for_tool(const std::filesystem::path& dir, bool only_reading = false);

// A one-line progress bar on stderr, drawn only when stderr is a terminal, at most
// ten times a second; the line is cleared when the bar is destroyed.
class ProgressBar {
public:
    explicit ProgressBar(std::string label);
    ~ProgressBar();
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;
    void update(std::uint64_t done, std::uint64_t total);

private:
    std::string label_;
    bool enabled_;
    bool drawn_ = false;
    std::chrono::steady_clock::time_point last_{};
};

void print_compaction_report(std::ostream& out, const CompactionReport& report);

// "2026-11-24T10:00:00Z" (UTC, seconds); "never" for 0.
std::string utc_time(std::uint64_t unix_ns);

}  // namespace jdc::tools
