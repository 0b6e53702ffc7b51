#include "jdc/cache_config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <limits>

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
    }
    if (auto verbose = getenv("JANUS_CACHE_VERBOSE")) {
        const auto flag = parse_flag(*verbose);
        if (!flag) return bad("JANUS_CACHE_VERBOSE", *verbose, "1/true/yes/on or 0/false/no/off");
        config.verbose = *flag;
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

}  // namespace jdc
