#include "jdc/cache_config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <limits>

#include "jdc/remote_store.hpp"

namespace jdc {
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

Result<CacheConfig> CacheConfig::from_environment() {
    return from_environment([](std::string_view name) -> std::optional<std::string> {
        const char* v = std::getenv(std::string(name).c_str());
        if (v == nullptr) return std::nullopt;
        return std::string(v);
    });
}

Result<CacheConfig> CacheConfig::from_environment(const Getenv& getenv) { return from_environment(getenv, CacheConfig{}); }

Result<CacheConfig> CacheConfig::from_environment(const Getenv& getenv, CacheConfig config) {
    auto bad = [](std::string_view var, const std::string& value, std::string_view expected) {
        return make_error(ErrorCode::invalid_argument,
                          std::string(var) + "='" + value + "' is not valid: expected " + std::string(expected));
    };
    if (auto dir = getenv("JANUS_CACHE_DIR")) {
        if (trim(*dir).empty()) return bad("JANUS_CACHE_DIR", *dir, "a directory path");
        config.cache_directory = *dir;
    }
    if (auto size = getenv("JANUS_CACHE_SIZE")) {
        const auto bytes = parse_byte_size(*size);
        if (!bytes || *bytes == 0) return bad("JANUS_CACHE_SIZE", *size, "a positive size in bytes, optionally with K, M, G or T (e.g. 512M)");
        config.max_cache_size_bytes = *bytes;
    }
    if (auto disable = getenv("JANUS_CACHE_DISABLE")) {
        const auto flag = parse_flag(*disable);
        if (!flag) return bad("JANUS_CACHE_DISABLE", *disable, "1/true/yes/on or 0/false/no/off");
        config.enabled = !*flag;
        config.disabled_by = *flag ? "JANUS_CACHE_DISABLE" : "";
    }
    if (auto verbose = getenv("JANUS_CACHE_VERBOSE")) {
        const auto flag = parse_flag(*verbose);
        if (!flag) return bad("JANUS_CACHE_VERBOSE", *verbose, "1/true/yes/on or 0/false/no/off");
        config.verbose = *flag;
    }
    if (auto shared = getenv("JANUS_CACHE_ALLOW_SHARED")) {
        const auto flag = parse_flag(*shared);
        if (!flag) return bad("JANUS_CACHE_ALLOW_SHARED", *shared, "1/true/yes/on or 0/false/no/off");
        config.allow_shared = *flag;
    }
    if (auto through = getenv("JANUS_CACHE_WRITE_THROUGH")) {
        const auto flag = parse_flag(*through);
        if (!flag) return bad("JANUS_CACHE_WRITE_THROUGH", *through, "1/true/yes/on or 0/false/no/off");
        config.write_through = *flag;
    }
    if (auto codec = getenv("JANUS_CACHE_COMPRESSION")) {
        const auto choice = parse_codec_choice(*codec);
        if (!choice) return bad("JANUS_CACHE_COMPRESSION", *codec, "auto, lz4, zstd or none");
        config.compression_codec = *choice;
    }
    if (auto url = getenv("JANUS_CACHE_REMOTE")) {
        const std::string_view text = trim(*url);
        if (!text.empty()) {
            // The parser's message repeats the URL with its password hidden.
            if (auto parsed = parse_remote_url(text); !parsed)
                return make_error(ErrorCode::invalid_argument, "JANUS_CACHE_REMOTE is not valid: " + parsed.error().message);
        }
        config.remote_url = std::string(text);
    }
    if (auto read_only = getenv("JANUS_CACHE_REMOTE_READ_ONLY")) {
        const auto flag = parse_flag(*read_only);
        if (!flag) return bad("JANUS_CACHE_REMOTE_READ_ONLY", *read_only, "1/true/yes/on or 0/false/no/off");
        config.remote_read_only = *flag;
    }
    for (auto [var, field] : {std::pair{"JANUS_CACHE_REMOTE_CONNECT_TIMEOUT_MS", &config.remote_connect_timeout_ms},
                              std::pair{"JANUS_CACHE_REMOTE_TIMEOUT_MS", &config.remote_timeout_ms},
                              std::pair{"JANUS_CACHE_REMOTE_DEADLINE_MS", &config.remote_deadline_ms},
                              std::pair{"JANUS_CACHE_REMOTE_SESSION_BUDGET_MS", &config.remote_session_budget_ms}}) {
        if (auto ms = getenv(var)) {
            const std::string_view text = trim(*ms);
            std::uint32_t value = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
            if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 600'000)
                return bad(var, *ms, "a whole number of milliseconds from 1 to 600000");
            *field = value;
        }
    }
    if (auto secret = getenv("JANUS_CACHE_REMOTE_SECRET")) config.remote_secret = *secret;  // as given: any bytes
    if (auto ttl = getenv("JANUS_CACHE_REMOTE_TTL")) {
        const auto seconds = parse_duration_seconds(*ttl);
        if (!seconds) return bad("JANUS_CACHE_REMOTE_TTL", *ttl, "seconds, optionally with s, m, h or d (e.g. 14d); 0 for no expiry");
        // Redis refuses a longer EX, and every put would fail (remote_store.hpp).
        if (*seconds > kRemoteMaxTtlSeconds)
            return bad("JANUS_CACHE_REMOTE_TTL", *ttl,
                       "at most " + std::to_string(kRemoteMaxTtlSeconds) + " seconds, the longest expiry Redis accepts (this is " +
                           std::to_string(*seconds) + ")");
        config.remote_ttl_seconds = *seconds;
    }
    if (auto size = getenv("JANUS_CACHE_REMOTE_MAX_SIZE")) {
        const auto bytes = parse_byte_size(*size);
        if (!bytes || *bytes == 0 || *bytes > 512ull * 1024 * 1024)
            return bad("JANUS_CACHE_REMOTE_MAX_SIZE", *size, "a size from 1 byte to 512M, optionally with K or M (e.g. 64M)");
        config.remote_max_value_bytes = *bytes;
    }
    if (auto threshold = getenv("JANUS_CACHE_COMPACT_THRESHOLD")) {
        const auto count = parse_count(*threshold);
        if (!count) return bad("JANUS_CACHE_COMPACT_THRESHOLD", *threshold, "a number of loose entries (0 = never compact)");
        config.compact_threshold = *count;
    }
    if (auto compactor = getenv("JANUS_CACHE_COMPACTOR")) {
        if (trim(*compactor).empty()) return bad("JANUS_CACHE_COMPACTOR", *compactor, "the path of the jdc-compactor executable");
        config.compactor_path = *compactor;
    }
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
    options.max_age_ns = max_cache_age_seconds * kNanosPerSecond;
    options.cleanup_interval_ns = cache_cleanup_interval_seconds * kNanosPerSecond;
    options.compression = storage_compression();
    return options;
}

}  // namespace jdc
