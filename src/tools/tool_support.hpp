// What the jdc tools share: exit codes, the command line, finding and opening the
// cache directory, JSON output and the compaction report.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "jdc/cache_config.hpp"
#include "jdc/compactor.hpp"
#include "jdc/local_store.hpp"

namespace jdc::tools {

constexpr int kExitOk = 0;
constexpr int kExitInvalid = 1;  // a problem found: invalid arena, failed check, unknown key
constexpr int kExitUsage = 2;    // usage or I/O error

// "jdc 0.1.0": what --version prints (the library's version: the tools ship with it).
std::string version_line(std::string_view program);

// Parses the command line: --help and --version print and give 0; a usage error
// (an unknown command, flag or value, naming it) prints and gives kExitUsage. nullopt:
// parsed, go on.
std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv);

// The configuration of a command: CacheConfig::load with `dir_option` (--dir) when
// given and the flags that set settings (gc --max-size, ...). Errors: those of load.
Result<CacheConfig> tool_config(const std::string& dir_option, std::vector<ConfigFlag> flags = {});

// Refuses what is not an existing, readable jdc cache directory (one with the
// CACHEDIR.TAG jdc writes or an index), so that no command creates, changes or clears
// a directory by mistake. Errors: not_found, io.
Result<void> require_cache_directory(const std::filesystem::path& dir);
// The same for the directory of a configuration, saying how it was chosen when no
// cache is there (e.g. no .janus_cache/ above the working directory).
Result<void> require_cache_directory(const CacheConfig& config);

// require_cache_directory, then LocalStore::open with the configuration's size and
// age limits and no automatic maintenance (a tool does what it is asked). With
// `only_reading` (stats, explain, inspect, ...), a store this user cannot open for
// writing (another user's, a read-only mount) is opened read-only instead, with one
// line on stderr.
Result<LocalStore> open_cache_for_tool(const CacheConfig& config, bool only_reading = false);

// A document for --json: {"schema_version": ..., ...`body`}.
nlohmann::json json_document(nlohmann::json body);
void print_json(const nlohmann::json& document);

void print_compaction_report(std::ostream& out, const CompactionReport& report);
nlohmann::json compaction_report_json(const CompactionReport& report);

// "2026-11-24T10:00:00Z" (UTC, seconds); "never" for 0.
std::string utc_time(std::uint64_t unix_ns);
// How long ago `unix_ns` was, in one unit: "45s", "12m", "3h", "9d"; "-" for 0.
std::string age_text(std::uint64_t unix_ns, std::uint64_t now_ns);

}  // namespace jdc::tools
