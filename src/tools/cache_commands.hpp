// The cache subcommands of `jdc`: clear, stats, validate, optimize, gc, explain, and
// inspect of a cache key. Each is a thin layer over the library (LocalStore,
// check_store/repair_store, compact_store, the manager's records) that prints and
// returns an exit code (tool_support.hpp).
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "jdc/arena_view.hpp"
#include "jdc/cache_key.hpp"

namespace jdc::tools {

class CacheCommands {
public:
    // Adds the subcommands to `app`.
    explicit CacheCommands(CLI::App& app);
    // After parsing: the exit code of the cache subcommand given, or nullopt if none was.
    std::optional<int> run() const;

private:
    CLI::App *clear_, *stats_, *validate_, *optimize_, *gc_, *explain_;
    std::string clear_dir_, stats_dir_, validate_dir_, optimize_dir_, gc_dir_, explain_dir_;
    bool stats_json_ = false, validate_fix_ = false;
    std::string explain_key_;
};

// `jdc inspect KEY`: the entry's arena from the cache at `dir_option` (see
// cache_directory()), read without recording an access; printed by `print`.
int inspect_cache_key(const std::string& dir_option, const CacheKey& key, void (*print)(const ArenaView&, std::ostream&));

}  // namespace jdc::tools
