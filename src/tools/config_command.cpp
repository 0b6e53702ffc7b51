#include "tools/config_command.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <span>

#include <fcntl.h>
#include <unistd.h>

#include "tools/tool_support.hpp"
#include "util/unique_fd.hpp"

namespace jdc::tools {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string source_text(const ConfigOrigin& o) {
    if (o.source == ConfigSource::default_value) return "default";
    return std::string(to_string(o.source)) + " (" + o.where + ")";
}

// A new jdc.conf: every key commented out with its default, so that the file is its
// own documentation.
std::string config_file_template() {
    std::string text =
        "# jdc.conf: the settings of this cache directory, read by every program that uses it\n"
        "# (janusc, jdc, jdc-compactor, any compiler built on libjdc).\n"
        "# One \"key = value\" per line; a line starting with # is a comment. A JANUS_CACHE_*\n"
        "# variable overrides a key, a command-line flag overrides both; `jdc config` shows\n"
        "# what is in effect and where each value comes from. Uncomment to change a default.\n";
    for (const ConfigOrigin& o : describe_settings(CacheConfig::defaults())) {
        text += "\n# " + o.description + " (" + o.variable + ")\n";
        text += "# " + o.key + " = " + o.value + "\n";
    }
    return text;
}

// Writes `text` to `file` unless something is there (O_EXCL never follows a link).
// Returns whether it wrote; an error when it could not for another reason.
Result<bool> write_new_file(const fs::path& file, const std::string& text) {
    const detail::UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!fd) {
        if (errno == EEXIST) return false;
        return make_error(ErrorCode::io, "cannot create '" + file.string() + "': " + std::strerror(errno));
    }
    if (const int err = detail::write_all(fd.get(), std::as_bytes(std::span<const char>(text.data(), text.size()))); err != 0)
        return make_error(ErrorCode::io, "cannot write '" + file.string() + "': " + std::strerror(err));
    return true;
}

}  // namespace

int run_config(const std::string& dir_option, bool as_json) {
    auto config = tool_config(dir_option);
    if (!config) {
        std::cerr << "jdc: " << config.error().message << "\n";
        return kExitUsage;
    }
    const fs::path file = config->cache_directory / std::string(kConfigFileName);
    const auto usable = require_cache_directory(config->cache_directory);
    const bool exists = usable.has_value();
    // Not there yet, or there but unreadable (its jdc.conf unread): say which.
    const std::string state = exists ? "" : usable.error().code == ErrorCode::io ? " (" + usable.error().message + ")" : " (not a cache yet)";
    if (as_json) {
        json settings = json::array();
        for (const ConfigOrigin& o : config->origins)
            settings.push_back({{"key", o.key}, {"variable", o.variable}, {"value", o.value}, {"source", json_name(o.source)},
                                {"where", o.where}, {"description", o.description}});
        print_json(json_document({{"cache_directory", config->cache_directory.string()},
                                  {"cache_directory_exists", exists},
                                  {"config_file", config->config_file.empty() ? json(nullptr) : json(config->config_file.string())},
                                  {"settings", settings}}));
        return kExitOk;
    }
    std::cout << "cache directory:  " << config->cache_directory.string() << state << "\n"
              << "config file:      "
              << (config->config_file.empty() ? file.string() + " (none; jdc init writes one listing every key)" : config->config_file.string())
              << "\n\n";
    auto shown = [](const ConfigOrigin& o) { return o.value.empty() ? std::string("(none)") : o.value; };
    std::size_t key_width = 3, value_width = 5;
    for (const ConfigOrigin& o : config->origins) {
        key_width = std::max(key_width, o.key.size());
        value_width = std::min<std::size_t>(std::max(value_width, shown(o).size()), 48);
    }
    auto row = [&](const std::string& key, const std::string& value, const std::string& source) {
        std::cout << key << std::string(key_width - std::min(key_width, key.size()) + 2, ' ') << value
                  << std::string(value_width - std::min(value_width, value.size()) + 2, ' ') << source << "\n";
    };
    row("key", "value", "source");
    for (const ConfigOrigin& o : config->origins) row(o.key, shown(o), source_text(o));
    return kExitOk;
}

int run_init(const std::string& dir_option, bool force, bool as_json) {
    auto config = tool_config(dir_option);
    if (!config) {
        std::cerr << "jdc: " << config.error().message << "\n";
        return kExitUsage;
    }
    const fs::path& dir = config->cache_directory;
    const bool existed = require_cache_directory(dir).has_value();
    StoreOptions options = config->store_options();
    options.automatic_maintenance = false;
    options.adopt_non_empty_directory = force;
    auto store = LocalStore::open(dir, std::move(options));
    if (!store) {
        std::string message = store.error().message;
        if (store.error().code == ErrorCode::invalid_argument && !force) message += "; jdc init --force does that";
        std::cerr << "jdc: " << message << "\n";
        return kExitUsage;
    }
    const fs::path file = dir / std::string(kConfigFileName);
    auto wrote = write_new_file(file, config_file_template());
    if (!wrote) {
        std::cerr << "jdc: " << wrote.error().message << "\n";
        return kExitUsage;
    }
    if (as_json) {
        print_json(json_document({{"cache_directory", dir.string()}, {"created", !existed}, {"config_file", file.string()},
                                  {"config_file_written", *wrote}}));
        return kExitOk;
    }
    std::cout << (existed ? "already a cache directory: " : "initialized cache directory ") << dir.string() << "\n"
              << "config file: " << file.string() << (*wrote ? " (written: every setting, commented out)" : " (kept as it was)") << "\n";
    return kExitOk;
}

}  // namespace jdc::tools
