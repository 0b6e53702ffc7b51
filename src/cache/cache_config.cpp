#include "jdc/cache_config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>

#include <unistd.h>

#include "jdc/remote_store.hpp"
#include "util/forward_error.hpp"

namespace jdc {
namespace fs = std::filesystem;
using Getenv = CacheConfig::Getenv;

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

}  // namespace

std::optional<std::uint64_t> parse_byte_size(std::string_view text) noexcept {
    text = trim(text);
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end == text.data()) return std::nullopt;
    std::string suffix;
    for (const char* p = end; p != text.data() + text.size(); ++p) suffix += static_cast<char>(std::tolower(static_cast<unsigned char>(*p)));
    suffix = std::string(trim(suffix));
    unsigned shift = 0;
    if (suffix.empty() || suffix == "b") shift = 0;
    else if (suffix == "k" || suffix == "kb" || suffix == "kib") shift = 10;
    else if (suffix == "m" || suffix == "mb" || suffix == "mib") shift = 20;
    else if (suffix == "g" || suffix == "gb" || suffix == "gib") shift = 30;
    else if (suffix == "t" || suffix == "tb" || suffix == "tib") shift = 40;
    else return std::nullopt;
    if (shift != 0 && value > (std::numeric_limits<std::uint64_t>::max() >> shift)) return std::nullopt;
    return value << shift;
}

std::optional<std::uint64_t> parse_count(std::string_view text) noexcept {
    text = trim(text);
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || text.empty() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::optional<bool> parse_flag(std::string_view text) noexcept {
    const std::string v = lower(trim(text));
    if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
    if (v.empty() || v == "0" || v == "false" || v == "no" || v == "off") return false;
    return std::nullopt;
}

std::optional<std::uint64_t> parse_duration_seconds(std::string_view text) noexcept {
    text = trim(text);
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end == text.data()) return std::nullopt;
    const std::string unit = lower(trim(std::string_view(end, static_cast<std::size_t>(text.data() + text.size() - end))));
    std::uint64_t scale = 0;
    if (unit.empty() || unit == "s") scale = 1;
    else if (unit == "m") scale = 60;
    else if (unit == "h") scale = 3600;
    else if (unit == "d") scale = 86400;
    else return std::nullopt;
    if (value > std::numeric_limits<std::uint64_t>::max() / scale) return std::nullopt;
    return value * scale;
}

std::optional<LoadMode> parse_load_mode(std::string_view text) noexcept {
    const std::string v = lower(trim(text));
    if (v == "auto") return LoadMode::automatic;
    if (v == "read") return LoadMode::read;
    if (v == "map") return LoadMode::map;
    return std::nullopt;
}

std::string format_byte_size(std::uint64_t bytes) {
    if (bytes == 0) return "0";
    static constexpr std::pair<unsigned, char> kUnits[] = {{40, 'T'}, {30, 'G'}, {20, 'M'}, {10, 'K'}};
    for (auto [shift, unit] : kUnits)
        if ((bytes & ((1ull << shift) - 1)) == 0) return std::to_string(bytes >> shift) + unit;
    return std::to_string(bytes);
}

std::string format_duration_seconds(std::uint64_t seconds) {
    if (seconds == 0) return "0";
    static constexpr std::pair<std::uint64_t, char> kUnits[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}};
    for (auto [scale, unit] : kUnits)
        if (seconds % scale == 0) return std::to_string(seconds / scale) + unit;
    return std::to_string(seconds) + "s";
}

std::string_view to_string(ConfigSource source) noexcept {
    switch (source) {
        case ConfigSource::default_value: return "default";
        case ConfigSource::config_file: return "config file";
        case ConfigSource::environment: return "environment";
        case ConfigSource::flag: return "flag";
    }
    return "unknown";
}

std::string_view json_name(ConfigSource source) noexcept {
    return source == ConfigSource::config_file ? "config_file" : to_string(source);
}

namespace {

// ---- the settings ------------------------------------------------------------------
// One table drives the environment, jdc.conf, flags and `jdc config`, so that a
// setting added here is read from all three and shown with its source.

constexpr std::string_view kFlagSpellings = "1/true/yes/on or 0/false/no/off";

// Applies a value's text to the configuration; returns what was expected when the
// text does not parse (an empty string: it was applied). A complete message (one that
// must not repeat the value, e.g. a URL with a password) starts with '!'.
using Apply = std::string (*)(CacheConfig&, std::string_view);
using Show = std::string (*)(const CacheConfig&);

struct Setting {
    std::string_view key;
    std::string_view variable;
    std::string_view description;
    Apply apply;
    Show show;
};

std::string apply_flag(bool& field, std::string_view text) {
    const auto flag = parse_flag(text);
    if (!flag) return std::string(kFlagSpellings);
    field = *flag;
    return {};
}

std::string show_flag(bool value) { return value ? "true" : "false"; }

std::string apply_timeout_ms(std::uint32_t& field, std::string_view raw) {
    const std::string_view text = trim(raw);
    std::uint32_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 600'000)
        return "a whole number of milliseconds from 1 to 600000";
    field = value;
    return {};
}

// A password in a URL is never shown: the parser's description hides it.
std::string show_remote(const CacheConfig& c) {
    if (c.remote_url.empty()) return "";
    auto endpoint = parse_remote_url(c.remote_url);
    return endpoint ? endpoint->describe() : "(not valid)";
}

const Setting kSettings[] = {
    {"max_size", "JANUS_CACHE_SIZE", "limit on the cache directory's size on disk, everything in it counted; LRU eviction down to 80 % beyond it",
     [](CacheConfig& c, std::string_view t) -> std::string {
         const auto bytes = parse_byte_size(t);
         if (!bytes || *bytes == 0) return "a positive size in bytes, optionally with K, M, G or T (e.g. 512M)";
         c.max_cache_size_bytes = *bytes;
         return {};
     },
     [](const CacheConfig& c) { return format_byte_size(c.max_cache_size_bytes); }},
    {"max_age", "JANUS_CACHE_MAX_AGE", "entries not read for this long are evicted; 0: no age eviction",
     [](CacheConfig& c, std::string_view t) -> std::string {
         const auto seconds = parse_duration_seconds(t);
         // Nanoseconds in a u64 (StoreOptions) reach about 584 years.
         if (!seconds || *seconds > std::numeric_limits<std::uint64_t>::max() / kNanosPerSecond)
             return "a positive duration: seconds, optionally with s, m, h or d (e.g. 30d), or 0 for no age eviction";
         c.max_cache_age_seconds = *seconds;
         return {};
     },
     [](const CacheConfig& c) { return format_duration_seconds(c.max_cache_age_seconds); }},
    {"cleanup_interval", "JANUS_CACHE_CLEANUP_INTERVAL", "how often the end of a build session runs age eviction and temp-file cleanup",
     [](CacheConfig& c, std::string_view t) -> std::string {
         const auto seconds = parse_duration_seconds(t);
         if (!seconds || *seconds > std::numeric_limits<std::uint64_t>::max() / kNanosPerSecond)
             return "a duration: seconds, optionally with s, m, h or d (e.g. 1d); 0 for every session";
         c.cache_cleanup_interval_seconds = *seconds;
         return {};
     },
     [](const CacheConfig& c) { return format_duration_seconds(c.cache_cleanup_interval_seconds); }},
    {"disable", "JANUS_CACHE_DISABLE", "true: caching off, every lookup builds, nothing is read or written",
     [](CacheConfig& c, std::string_view t) -> std::string {
         bool off = false;
         if (auto e = apply_flag(off, t); !e.empty()) return e;
         c.enabled = !off;
         return {};
     },
     [](const CacheConfig& c) { return show_flag(!c.enabled); }},
    {"verbose", "JANUS_CACHE_VERBOSE", "true: one line per cache event on stderr",
     [](CacheConfig& c, std::string_view t) { return apply_flag(c.verbose, t); },
     [](const CacheConfig& c) { return show_flag(c.verbose); }},
    {"allow_shared", "JANUS_CACHE_ALLOW_SHARED", "true: no warning when the cache directory is owned by another user or writable by every user",
     [](CacheConfig& c, std::string_view t) { return apply_flag(c.allow_shared, t); },
     [](const CacheConfig& c) { return show_flag(c.allow_shared); }},
    {"write_through", "JANUS_CACHE_WRITE_THROUGH", "true: each built table written at once as a loose file; false: a session's tables as one pack",
     [](CacheConfig& c, std::string_view t) { return apply_flag(c.write_through, t); },
     [](const CacheConfig& c) { return show_flag(c.write_through); }},
    {"compression", "JANUS_CACHE_COMPRESSION", "payload codec of large arenas: auto, lz4, zstd or none",
     [](CacheConfig& c, std::string_view t) -> std::string {
         const auto choice = parse_codec_choice(t);
         if (!choice) return "auto, lz4, zstd or none";
         c.compression_codec = *choice;
         return {};
     },
     [](const CacheConfig& c) { return std::string(to_string(c.compression_codec)); }},
    {"remote", "JANUS_CACHE_REMOTE", "the team cache: redis://[[user]:password@]host[:port][/db] or redis+unix://...; empty: none",
     [](CacheConfig& c, std::string_view t) -> std::string {
         const std::string_view text = trim(t);
         // The parser's message repeats the URL with its password hidden.
         if (!text.empty())
             if (auto parsed = parse_remote_url(text); !parsed) return "!" + parsed.error().message;
         c.remote_url = std::string(text);
         return {};
     },
     show_remote},
    {"remote_read_only", "JANUS_CACHE_REMOTE_READ_ONLY", "true: fetch from the remote, never write it",
     [](CacheConfig& c, std::string_view t) { return apply_flag(c.remote_read_only, t); },
     [](const CacheConfig& c) { return show_flag(c.remote_read_only); }},
    {"remote_connect_timeout_ms", "JANUS_CACHE_REMOTE_CONNECT_TIMEOUT_MS", "connect timeout of the remote, in milliseconds",
     [](CacheConfig& c, std::string_view t) { return apply_timeout_ms(c.remote_connect_timeout_ms, t); },
     [](const CacheConfig& c) { return std::to_string(c.remote_connect_timeout_ms); }},
    {"remote_timeout_ms", "JANUS_CACHE_REMOTE_TIMEOUT_MS", "longest wait for the remote in one socket read or write, in milliseconds",
     [](CacheConfig& c, std::string_view t) { return apply_timeout_ms(c.remote_timeout_ms, t); },
     [](const CacheConfig& c) { return std::to_string(c.remote_timeout_ms); }},
    {"remote_deadline_ms", "JANUS_CACHE_REMOTE_DEADLINE_MS", "every remote request done from its first byte sent to its last reply byte read, in milliseconds",
     [](CacheConfig& c, std::string_view t) { return apply_timeout_ms(c.remote_deadline_ms, t); },
     [](const CacheConfig& c) { return std::to_string(c.remote_deadline_ms); }},
    {"remote_session_budget_ms", "JANUS_CACHE_REMOTE_SESSION_BUDGET_MS",
     "time a build session may spend on the remote, summed over threads, in milliseconds; then the remote is off for the session",
     [](CacheConfig& c, std::string_view t) { return apply_timeout_ms(c.remote_session_budget_ms, t); },
     [](const CacheConfig& c) { return std::to_string(c.remote_session_budget_ms); }},
    // The secret is never shown: "(set)", or nothing when there is none.
    {"remote_secret", "JANUS_CACHE_REMOTE_SECRET", "the team secret sealing remote values with a keyed MAC; empty: none; never shown",
     [](CacheConfig& c, std::string_view t) -> std::string {
         c.remote_secret = std::string(t);  // any bytes
         return {};
     },
     [](const CacheConfig& c) { return c.remote_secret.empty() ? std::string() : std::string("(set)"); }},
    {"remote_ttl", "JANUS_CACHE_REMOTE_TTL", "expiry of remote writes; 0: none, Redis evicts",
     [](CacheConfig& c, std::string_view t) -> std::string {
         const auto seconds = parse_duration_seconds(t);
         if (!seconds) return "seconds, optionally with s, m, h or d (e.g. 14d); 0 for no expiry";
         // Redis refuses a longer EX, and every put would fail (remote_store.hpp).
         if (*seconds > kRemoteMaxTtlSeconds)
             return "at most " + std::to_string(kRemoteMaxTtlSeconds) + " seconds, the longest expiry Redis accepts (this is " +
                    std::to_string(*seconds) + ")";
         c.remote_ttl_seconds = *seconds;
         return {};
     },
     [](const CacheConfig& c) { return format_duration_seconds(c.remote_ttl_seconds); }},
    {"remote_max_size", "JANUS_CACHE_REMOTE_MAX_SIZE", "largest value fetched from or written to the remote",
     [](CacheConfig& c, std::string_view t) -> std::string {
         const auto bytes = parse_byte_size(t);
         if (!bytes || *bytes == 0 || *bytes > 512ull * 1024 * 1024)
             return "a size from 1 byte to 512M, optionally with K or M (e.g. 64M)";
         c.remote_max_value_bytes = *bytes;
         return {};
     },
     [](const CacheConfig& c) { return format_byte_size(c.remote_max_value_bytes); }},
    {"reader_grace", "JANUS_CACHE_READER_GRACE",
     "entries read this recently are evicted for size only when the directory is over its limit even without them",
     [](CacheConfig& c, std::string_view t) -> std::string {
         const auto seconds = parse_duration_seconds(t);
         if (!seconds || *seconds > std::numeric_limits<std::uint64_t>::max() / kNanosPerSecond)
             return "a duration: seconds, optionally with s, m, h or d (e.g. 60s)";
         c.reader_grace_seconds = *seconds;
         return {};
     },
     [](const CacheConfig& c) { return format_duration_seconds(c.reader_grace_seconds); }},
    {"load_mode", "JANUS_CACHE_LOAD_MODE",
     "auto: read() small loose arenas, map larger ones and packs; read: read() every loose arena (network filesystems); map",
     [](CacheConfig& c, std::string_view t) -> std::string {
         const auto mode = parse_load_mode(t);
         if (!mode) return "auto, read or map";
         c.load_mode = *mode;
         return {};
     },
     [](const CacheConfig& c) {
         return std::string(c.load_mode == LoadMode::read ? "read" : c.load_mode == LoadMode::map ? "map" : "auto");
     }},
    {"prefetch", "JANUS_CACHE_PREFETCH", "true: a session starts by asking the kernel to read ahead the tables the last sessions read",
     [](CacheConfig& c, std::string_view t) { return apply_flag(c.prefetch, t); },
     [](const CacheConfig& c) { return show_flag(c.prefetch); }},
    {"compact_threshold", "JANUS_CACHE_COMPACT_THRESHOLD",
     "small loose entries and packs at which a session's end starts the compactor in the background; 0: never",
     [](CacheConfig& c, std::string_view t) -> std::string {
         const auto count = parse_count(t);
         if (!count) return "a number of small loose entries and packs (0 = never compact)";
         c.compact_threshold = *count;
         return {};
     },
     [](const CacheConfig& c) { return std::to_string(c.compact_threshold); }},
    {"compactor", "JANUS_CACHE_COMPACTOR", "the jdc-compactor executable; empty: beside the program, else on PATH",
     [](CacheConfig& c, std::string_view t) -> std::string {
         if (trim(t).empty()) return "the path of the jdc-compactor executable";
         c.compactor_path = std::string(t);
         return {};
     },
     [](const CacheConfig& c) { return c.compactor_path.string(); }},
};

const Setting* find_setting(std::string_view key) {
    for (const Setting& s : kSettings)
        if (s.key == key) return &s;
    return nullptr;
}

// "max_size, max_age, ...": for messages about unknown keys.
std::string setting_keys() {
    std::string out;
    for (const Setting& s : kSettings) out += (out.empty() ? "" : ", ") + std::string(s.key);
    return out;
}

// `what` names the value's origin: "JANUS_CACHE_SIZE='lots'", "jdc.conf:3: max_size = 'lots'".
Error invalid(const std::string& what, const std::string& expected) {
    if (!expected.empty() && expected[0] == '!') return Error(ErrorCode::invalid_argument, what + " is not valid: " + expected.substr(1));
    return Error(ErrorCode::invalid_argument, what + " is not valid: expected " + expected);
}

Getenv process_environment() {
    return [](std::string_view name) -> std::optional<std::string> {
        const char* v = std::getenv(std::string(name).c_str());
        if (v == nullptr) return std::nullopt;
        return std::string(v);
    };
}

Result<void> apply_environment(CacheConfig& config, const Getenv& getenv, std::vector<ConfigOrigin>* origins) {
    for (const Setting& s : kSettings) {
        const auto value = getenv(s.variable);
        if (!value) continue;
        if (std::string expected = s.apply(config, *value); !expected.empty()) {
            // The remote URL's own message repeats it with the password hidden.
            if (s.key == "remote") return tl::unexpected(invalid(std::string(s.variable), expected));
            return tl::unexpected(invalid(std::string(s.variable) + "='" + *value + "'", expected));
        }
        if (s.key == "disable") config.disabled_by = config.enabled ? "" : std::string(s.variable);
        if (origins)
            for (ConfigOrigin& o : *origins)
                if (o.key == s.key) {
                    o.source = ConfigSource::environment;
                    o.where = s.variable;
                }
    }
    return {};
}

// ---- jdc.conf ------------------------------------------------------------------------

constexpr std::uint64_t kMaxConfigFileBytes = 64 * 1024;  // a hand-written file; anything larger is a mistake

// The file's text; nullopt when there is no file. Not followed through a symlink
// into something that blocks (a FIFO) or is huge: only a regular file is read.
Result<std::optional<std::string>> read_config_file(const fs::path& file) {
    std::error_code ec;
    const auto status = fs::status(file, ec);
    if (ec || status.type() == fs::file_type::not_found) {
        if (status.type() == fs::file_type::not_found || ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory)
            return std::optional<std::string>();
        return make_error(ErrorCode::io, "cannot read '" + file.string() + "': " + ec.message());
    }
    if (status.type() != fs::file_type::regular) return make_error(ErrorCode::io, "'" + file.string() + "' is not a regular file");
    const auto size = fs::file_size(file, ec);
    if (ec) return make_error(ErrorCode::io, "cannot read '" + file.string() + "': " + ec.message());
    if (size > kMaxConfigFileBytes)
        return make_error(ErrorCode::invalid_argument, "'" + file.string() + "' is larger than " + std::to_string(kMaxConfigFileBytes) +
                                                           " bytes: not a jdc configuration file");
    std::ifstream in(file, std::ios::binary);
    if (!in) return make_error(ErrorCode::io, "cannot read '" + file.string() + "'");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return make_error(ErrorCode::io, "cannot read '" + file.string() + "'");
    return std::optional<std::string>(std::move(text));
}

// Applies every line of `text` (the file `file`) to `config`; the first bad line is
// an error naming file, line and key. Origins record where each value came from.
Result<void> apply_config_text(CacheConfig& config, const fs::path& file, std::string_view text, std::vector<ConfigOrigin>* origins) {
    std::vector<std::pair<std::string_view, std::size_t>> seen;  // key -> line
    std::size_t line_number = 0;
    while (!text.empty()) {
        const std::size_t nl = std::min(text.find('\n'), text.size());
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(std::min(nl + 1, text.size()));
        ++line_number;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // written on Windows
        line = trim(line);
        if (line.empty() || line.front() == '#') continue;
        const std::string at = file.string() + ":" + std::to_string(line_number);
        const std::size_t eq = line.find('=');
        if (eq == std::string_view::npos)
            return make_error(ErrorCode::invalid_argument, at + ": expected 'key = value', found '" + std::string(line) + "'");
        const std::string_view key = trim(line.substr(0, eq));
        const std::string_view value = trim(line.substr(eq + 1));
        const Setting* s = find_setting(key);
        if (s == nullptr) {
            if (key == "cache_dir")
                return make_error(ErrorCode::invalid_argument,
                                  at + ": cache_dir cannot be set in the cache's own jdc.conf (use --dir or JANUS_CACHE_DIR)");
            return make_error(ErrorCode::invalid_argument, at + ": unknown key '" + std::string(key) + "' (the keys are: " + setting_keys() + ")");
        }
        for (const auto& [k, first] : seen)
            if (k == key)
                return make_error(ErrorCode::invalid_argument,
                                  at + ": key '" + std::string(key) + "' is set twice (first on line " + std::to_string(first) + ")");
        seen.emplace_back(s->key, line_number);
        if (std::string expected = s->apply(config, value); !expected.empty()) {
            const std::string shown = s->key == "remote" ? "" : " = '" + std::string(value) + "'";
            return tl::unexpected(invalid(at + ": " + std::string(key) + shown, expected));
        }
        if (s->key == "disable") config.disabled_by = config.enabled ? "" : "disable = " + std::string(value) + " in " + file.filename().string();
        if (origins)
            for (ConfigOrigin& o : *origins)
                if (o.key == s->key) {
                    o.source = ConfigSource::config_file;
                    o.where = at;
                }
    }
    return {};
}

Result<void> apply_flags(CacheConfig& config, const std::vector<ConfigFlag>& flags, std::vector<ConfigOrigin>* origins) {
    for (const ConfigFlag& f : flags) {
        const Setting* s = find_setting(f.key);
        if (s == nullptr) return make_error(ErrorCode::invalid_argument, "no setting '" + f.key + "' for " + f.flag);
        if (std::string expected = s->apply(config, f.value); !expected.empty())
            return tl::unexpected(invalid(f.flag + " '" + (s->key == "remote" ? std::string("***") : f.value) + "'", expected));
        if (s->key == "disable") config.disabled_by = config.enabled ? "" : f.flag;
        if (origins)
            for (ConfigOrigin& o : *origins)
                if (o.key == s->key) {
                    o.source = ConfigSource::flag;
                    o.where = f.flag;
                }
    }
    return {};
}

}  // namespace

std::optional<fs::path> find_project_cache_directory(const fs::path& start) {
    std::error_code ec;
    fs::path dir = fs::absolute(start, ec);
    if (ec) return std::nullopt;
    dir = dir.lexically_normal();
    if (!dir.empty() && dir.filename().empty()) dir = dir.parent_path();  // "/a/b/" -> "/a/b"
    while (true) {
        const fs::path candidate = dir / ".janus_cache";
        if (fs::is_directory(candidate, ec)) return candidate / "dispatch_tables";
        if (!dir.has_relative_path()) return std::nullopt;  // the root: nowhere further up
        dir = dir.parent_path();
    }
}

std::vector<ConfigOrigin> describe_settings(const CacheConfig& config) {
    std::vector<ConfigOrigin> out;
    for (const Setting& s : kSettings)
        out.push_back({std::string(s.key), std::string(s.variable), s.show(config), ConfigSource::default_value, "", std::string(s.description)});
    return out;
}

Result<CacheConfig> CacheConfig::load() { return load(Request{}); }

Result<CacheConfig> CacheConfig::load(const Request& request) {
    const Getenv getenv = request.getenv ? request.getenv : process_environment();
    CacheConfig config;
    std::vector<ConfigOrigin> origins = describe_settings(config);

    // The directory first: it says where jdc.conf is.
    ConfigOrigin dir{"cache_dir", "JANUS_CACHE_DIR", "", ConfigSource::default_value, "",
                     "the cache directory; jdc.conf in it holds this cache's settings"};
    if (request.directory) {
        if (request.directory->empty()) return make_error(ErrorCode::invalid_argument, "the cache directory given is empty");
        config.cache_directory = *request.directory;
        dir.source = ConfigSource::flag;
        dir.where = request.directory_flag;
    } else if (auto env_dir = getenv("JANUS_CACHE_DIR")) {
        if (trim(*env_dir).empty()) return tl::unexpected(invalid("JANUS_CACHE_DIR='" + *env_dir + "'", "a directory path"));
        config.cache_directory = *env_dir;
        dir.source = ConfigSource::environment;
        dir.where = "JANUS_CACHE_DIR";
    } else {
        const fs::path start = request.start.empty() ? fs::path(".") : request.start;
        std::error_code ec;
        fs::path shown_start = fs::absolute(start, ec).lexically_normal();
        if (shown_start.has_relative_path() && shown_start.filename().empty()) shown_start = shown_start.parent_path();  // "/a/b/" -> "/a/b"
        if (auto found = find_project_cache_directory(start)) {
            config.cache_directory = *found;
            dir.where = "the nearest .janus_cache/ from " + shown_start.string();
        } else {
            // The project's first build creates it here.
            if (!request.start.empty()) config.cache_directory = start / ".janus_cache" / "dispatch_tables";
            dir.where = "no .janus_cache/ in " + shown_start.string() + " or above it";
        }
    }
    dir.value = config.cache_directory.string();

    // A directory that exists but cannot be searched (another user's) hides its jdc.conf:
    // no file is read. The cache is not usable either, and a build goes on without it
    // (build_cache_manager.hpp, CacheAccess::none); tools refuse the directory.
    const bool searchable =
        ::access(config.cache_directory.c_str(), F_OK) != 0 || ::access(config.cache_directory.c_str(), R_OK | X_OK) == 0;
    const fs::path file = config.cache_directory / std::string(kConfigFileName);
    auto text = searchable ? read_config_file(file) : Result<std::optional<std::string>>(std::nullopt);
    if (!text) return tl::unexpected(text.error());
    if (*text) {
        JDC_FORWARD_IF_ERROR(apply_config_text(config, file, **text, &origins));
        config.config_file = file;
    }
    JDC_FORWARD_IF_ERROR(apply_environment(config, getenv, &origins));
    JDC_FORWARD_IF_ERROR(apply_flags(config, request.flags, &origins));

    for (ConfigOrigin& o : origins) o.value = find_setting(o.key)->show(config);
    origins.insert(origins.begin(), std::move(dir));
    config.origins = std::move(origins);
    return config;
}

Result<CacheConfig> CacheConfig::from_environment() { return from_environment(process_environment()); }

Result<CacheConfig> CacheConfig::from_environment(const Getenv& getenv) { return from_environment(getenv, CacheConfig{}); }

Result<CacheConfig> CacheConfig::from_environment(const Getenv& getenv, CacheConfig config) {
    if (auto dir = getenv("JANUS_CACHE_DIR")) {
        if (trim(*dir).empty()) return tl::unexpected(invalid("JANUS_CACHE_DIR='" + *dir + "'", "a directory path"));
        config.cache_directory = *dir;
    }
    JDC_FORWARD_IF_ERROR(apply_environment(config, getenv, nullptr));
    return config;
}

CompressionPolicy CacheConfig::storage_compression() const {
    if (!enable_compression) return CompressionPolicy::off();
    CompressionPolicy p = CompressionPolicy::for_storage();
    p.codec = compression_codec;
    return p;
}

CompressionPolicy CacheConfig::transfer_compression() const {
    if (!enable_compression) return CompressionPolicy::off();
    CompressionPolicy p = CompressionPolicy::for_transfer();
    p.codec = compression_codec;
    return p;
}

StoreOptions CacheConfig::store_options() const {
    StoreOptions options;
    options.max_size_bytes = max_cache_size_bytes;
    // 0: no age eviction (the store evicts what is older than max_age_ns).
    options.max_age_ns = max_cache_age_seconds == 0 ? std::numeric_limits<std::uint64_t>::max() : max_cache_age_seconds * kNanosPerSecond;
    options.reader_grace_ns = reader_grace_seconds * kNanosPerSecond;
    options.load_mode = load_mode;
    options.cleanup_interval_ns = cache_cleanup_interval_seconds * kNanosPerSecond;
    options.compression = storage_compression();
    return options;
}

}  // namespace jdc
