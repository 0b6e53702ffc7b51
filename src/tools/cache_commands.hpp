// The cache subcommands of `jdc`: clear, stats, validate, optimize, gc, explain, ls,
// config, init, and inspect of a cache key. Each is a thin layer over the library
// (LocalStore, check_store/repair_store, compact_store, the manager's records) that
// prints text or, with --json, one JSON document, and returns an exit code
// (tool_support.hpp).
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

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
    CLI::App *clear_, *stats_, *validate_, *optimize_, *gc_, *explain_, *ls_, *config_, *init_;
    std::string clear_dir_, stats_dir_, validate_dir_, optimize_dir_, gc_dir_, explain_dir_, ls_dir_, config_dir_, init_dir_;
    bool clear_json_ = false, stats_json_ = false, stats_zero_ = false, stats_history_ = false, validate_json_ = false,
         validate_fix_ = false, optimize_json_ = false, gc_json_ = false, explain_json_ = false, ls_json_ = false, config_json_ = false, init_json_ = false,
         init_force_ = false;
    std::string stats_format_ = "text", ls_sort_ = "name", gc_max_size_, gc_older_than_;
    std::size_t stats_sessions_ = 20;
    std::string explain_key_;
};

// `jdc inspect KEY`: the entry's arena from the cache at `dir_option` (see
// tool_config()), read without recording an access; printed by `print`, or as JSON
// by `to_json`.
int inspect_cache_key(const std::string& dir_option, const CacheKey& key, void (*print)(const ArenaView&, std::ostream&),
                      nlohmann::json (*to_json)(const ArenaView&), bool as_json);

}  // namespace jdc::tools
