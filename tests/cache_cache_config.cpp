#include <catch2/catch.hpp>

#include <map>

#include "jdc/cache_config.hpp"
#include "jdc/remote_store.hpp"

using namespace jdc;

namespace {

CacheConfig::Getenv env(std::map<std::string, std::string> vars) {
    return [vars](std::string_view name) -> std::optional<std::string> {
        auto it = vars.find(std::string(name));
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}

}  // namespace

TEST_CASE("defaults are the seed's", "[config]") {
    const CacheConfig c = CacheConfig::defaults();
    CHECK(c.cache_directory == ".janus_cache/dispatch_tables");
    CHECK(c.max_cache_size_bytes == 100ull * 1024 * 1024);
    CHECK(c.max_cache_age_seconds == 7ull * 24 * 60 * 60);
    CHECK(c.enable_compression);
    CHECK(c.enable_incremental_updates);
    CHECK(c.cache_cleanup_interval_seconds == 24ull * 60 * 60);
    CHECK(c.enabled);
    CHECK_FALSE(c.verbose);
    auto from_empty = CacheConfig::from_environment(env({}));
    REQUIRE(from_empty);
    CHECK(from_empty->cache_directory == c.cache_directory);
}

TEST_CASE("every JANUS_CACHE_* variable overrides its field", "[config]") {
    auto c = CacheConfig::from_environment(env({{"JANUS_CACHE_DIR", "/var/cache/janus"},
                                                {"JANUS_CACHE_SIZE", "512M"},
                                                {"JANUS_CACHE_DISABLE", "1"},
                                                {"JANUS_CACHE_VERBOSE", "yes"}}));
    REQUIRE(c);
    CHECK(c->cache_directory == "/var/cache/janus");
    CHECK(c->max_cache_size_bytes == 512ull * 1024 * 1024);
    CHECK_FALSE(c->enabled);
    CHECK(c->verbose);
}

TEST_CASE("sizes accept bytes and K/M/G/T suffixes", "[config]") {
    CHECK(parse_byte_size("100") == 100u);
    CHECK(parse_byte_size("64K") == 64u * 1024);
    CHECK(parse_byte_size("64kb") == 64u * 1024);
    CHECK(parse_byte_size("3MiB") == 3u * 1024 * 1024);
    CHECK(parse_byte_size("2G") == 2ull << 30);
    CHECK(parse_byte_size(" 1T ") == 1ull << 40);
    CHECK_FALSE(parse_byte_size(""));
    CHECK_FALSE(parse_byte_size("M"));
    CHECK_FALSE(parse_byte_size("-5"));
    CHECK_FALSE(parse_byte_size("5X"));
    CHECK_FALSE(parse_byte_size("1.5G"));
    CHECK_FALSE(parse_byte_size("99999999999999999999"));
    CHECK_FALSE(parse_byte_size("17179869184G"));  // overflows 64 bits
}

TEST_CASE("flags accept the usual spellings", "[config]") {
    for (const char* t : {"1", "true", "TRUE", "yes", "on"}) CHECK(parse_flag(t) == true);
    for (const char* f : {"", "0", "false", "No", "off"}) CHECK(parse_flag(f) == false);
    CHECK_FALSE(parse_flag("maybe"));
    CHECK_FALSE(parse_flag("2"));
}

TEST_CASE("a bad value is an error naming the variable and the value", "[config]") {
    struct Case {
        const char* var;
        const char* value;
    };
    for (Case c : {Case{"JANUS_CACHE_SIZE", "lots"}, Case{"JANUS_CACHE_SIZE", "0"}, Case{"JANUS_CACHE_DISABLE", "perhaps"},
                   Case{"JANUS_CACHE_VERBOSE", "loud"}, Case{"JANUS_CACHE_DIR", ""}}) {
        auto r = CacheConfig::from_environment(env({{c.var, c.value}}));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::invalid_argument);
        CHECK(r.error().message.find(c.var) != std::string::npos);
        CHECK(r.error().message.find(std::string("'") + c.value + "'") != std::string::npos);
    }
}

TEST_CASE("from_environment reads the real process environment", "[config]") {
    ::setenv("JANUS_CACHE_SIZE", "1K", 1);
    auto c = CacheConfig::from_environment();
    ::unsetenv("JANUS_CACHE_SIZE");
    REQUIRE(c);
    CHECK(c->max_cache_size_bytes == 1024);
}

TEST_CASE("JANUS_CACHE_REMOTE_* variables set the remote fields, strictly", "[config][remote]") {
    auto c = CacheConfig::from_environment(env({{"JANUS_CACHE_REMOTE", " redis://cache:6380/2 "},
                                                {"JANUS_CACHE_REMOTE_READ_ONLY", "yes"},
                                                {"JANUS_CACHE_REMOTE_CONNECT_TIMEOUT_MS", "150"},
                                                {"JANUS_CACHE_REMOTE_TIMEOUT_MS", "2000"},
                                                {"JANUS_CACHE_REMOTE_DEADLINE_MS", "9000"},
                                                {"JANUS_CACHE_REMOTE_SESSION_BUDGET_MS", "30000"},
                                                {"JANUS_CACHE_REMOTE_TTL", "14d"},
                                                {"JANUS_CACHE_REMOTE_MAX_SIZE", "8M"}}));
    REQUIRE(c);
    CHECK(c->remote_url == "redis://cache:6380/2");
    CHECK(c->remote_read_only);
    CHECK(c->remote_connect_timeout_ms == 150);
    CHECK(c->remote_timeout_ms == 2000);
    CHECK(c->remote_deadline_ms == 9000);
    CHECK(c->remote_session_budget_ms == 30000);
    CHECK(c->remote_ttl_seconds == 14 * 86400);
    CHECK(c->remote_max_value_bytes == 8u << 20);

    const CacheConfig d = *CacheConfig::from_environment(env({}));
    CHECK(d.remote_url.empty());
    CHECK_FALSE(d.remote_read_only);
    CHECK(d.remote_connect_timeout_ms == RemoteOptions{}.connect_timeout_ms);
    CHECK(d.remote_timeout_ms == RemoteOptions{}.operation_timeout_ms);
    CHECK(d.remote_deadline_ms == RemoteOptions{}.request_deadline_ms);
    CHECK(d.remote_session_budget_ms == 120'000);
    CHECK(d.remote_ttl_seconds == 0);
    CHECK(d.remote_max_value_bytes == kDefaultRemoteMaxValueBytes);
    CHECK(CacheConfig::from_environment(env({{"JANUS_CACHE_REMOTE", ""}}))->remote_url.empty());

    CHECK(parse_duration_seconds("90") == 90u);
    CHECK(parse_duration_seconds("15m") == 900u);
    CHECK(parse_duration_seconds("12h") == 43200u);
    CHECK(parse_duration_seconds("0") == 0u);
    CHECK_FALSE(parse_duration_seconds("1w"));
    CHECK_FALSE(parse_duration_seconds("-1"));
    CHECK_FALSE(parse_duration_seconds("99999999999999999999d"));

    const std::vector<std::pair<std::string, std::string>> bad = {
        {"JANUS_CACHE_REMOTE", "redis://host:abc"},
        {"JANUS_CACHE_REMOTE", "memcached://host"},
        {"JANUS_CACHE_REMOTE_READ_ONLY", "maybe"},
        {"JANUS_CACHE_REMOTE_CONNECT_TIMEOUT_MS", "0"},
        {"JANUS_CACHE_REMOTE_CONNECT_TIMEOUT_MS", "1.5"},
        {"JANUS_CACHE_REMOTE_TIMEOUT_MS", "600001"},
        {"JANUS_CACHE_REMOTE_TIMEOUT_MS", "fast"},
        {"JANUS_CACHE_REMOTE_DEADLINE_MS", "0"},
        {"JANUS_CACHE_REMOTE_DEADLINE_MS", "600001"},
        {"JANUS_CACHE_REMOTE_SESSION_BUDGET_MS", "-5"},
        {"JANUS_CACHE_ALLOW_SHARED", "perhaps"},
        {"JANUS_CACHE_REMOTE_TTL", "soon"},
        {"JANUS_CACHE_REMOTE_TTL", "9000000000000001"},
        {"JANUS_CACHE_REMOTE_TTL", "18446744073709551615"},
        {"JANUS_CACHE_REMOTE_TTL", "104166666667d"},
        {"JANUS_CACHE_REMOTE_MAX_SIZE", "0"},
        {"JANUS_CACHE_REMOTE_MAX_SIZE", "1G"},
    };
    for (const auto& [var, value] : bad) {
        INFO(var << "=" << value);
        auto r = CacheConfig::from_environment(env({{var, value}}));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::invalid_argument);
        CHECK(r.error().message.find(var) != std::string::npos);
        CHECK(r.error().message.find(value) != std::string::npos);
    }
    // The TTL cap is Redis' (kRemoteMaxTtlSeconds): the longest accepted, one more refused, naming the limit.
    CHECK(CacheConfig::from_environment(env({{"JANUS_CACHE_REMOTE_TTL", "9000000000000000"}}))->remote_ttl_seconds == kRemoteMaxTtlSeconds);
    CHECK(CacheConfig::from_environment(env({{"JANUS_CACHE_REMOTE_TTL", "104166666666d"}}))->remote_ttl_seconds == 104166666666ull * 86400);
    auto too_long = CacheConfig::from_environment(env({{"JANUS_CACHE_REMOTE_TTL", "104166666667d"}}));
    REQUIRE_FALSE(too_long);
    CHECK(too_long.error().message == "JANUS_CACHE_REMOTE_TTL='104166666667d' is not valid: expected at most 9000000000000000 seconds, "
                                      "the longest expiry Redis accepts (this is 9000000000028800)");

    auto secret = CacheConfig::from_environment(env({{"JANUS_CACHE_REMOTE", "redis://:topsecret@host:x"}}));
    REQUIRE_FALSE(secret);
    CHECK(secret.error().message.find("topsecret") == std::string::npos);
}

TEST_CASE("the compactor's threshold and executable come from JANUS_CACHE_COMPACT_THRESHOLD and JANUS_CACHE_COMPACTOR", "[config]") {
    CHECK(CacheConfig::defaults().compact_threshold == 0);  // off unless asked for
    CHECK(CacheConfig::defaults().compactor_path.empty());
    auto c = CacheConfig::from_environment(env({{"JANUS_CACHE_COMPACT_THRESHOLD", " 500 "}, {"JANUS_CACHE_COMPACTOR", "/opt/jdc/jdc-compactor"}}));
    REQUIRE(c);
    CHECK(c->compact_threshold == 500);
    CHECK(c->compactor_path == "/opt/jdc/jdc-compactor");
    for (const char* bad : {"", "-1", "1e3", "12k", "many", "99999999999999999999"}) {
        auto r = CacheConfig::from_environment(env({{"JANUS_CACHE_COMPACT_THRESHOLD", bad}}));
        INFO("'" << bad << "'");
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find(std::string("JANUS_CACHE_COMPACT_THRESHOLD='") + bad + "'") != std::string::npos);
    }
    auto empty_path = CacheConfig::from_environment(env({{"JANUS_CACHE_COMPACTOR", " "}}));
    REQUIRE_FALSE(empty_path);
    CHECK(empty_path.error().message.find("JANUS_CACHE_COMPACTOR") != std::string::npos);
    CHECK(parse_count("0") == 0u);
    CHECK_FALSE(parse_count("+3"));
}

TEST_CASE("JANUS_CACHE_COMPRESSION chooses the payload codec of stored and sent arenas", "[config][compression]") {
    const CacheConfig d = CacheConfig::defaults();
    CHECK(d.compression_codec == CodecChoice::automatic);
    CHECK(choose_codec(64 * 1024, d.storage_compression()) == PayloadCodec::lz4);
    CHECK(choose_codec(64 * 1024 - 1, d.storage_compression()) == PayloadCodec::none);
    CHECK(choose_codec(4 * 1024, d.transfer_compression()) == PayloadCodec::zstd);
    CHECK(choose_codec(1 << 20, d.store_options().compression) == PayloadCodec::lz4);

    for (auto [text, want] : {std::pair{"zstd", CodecChoice::zstd}, std::pair{" LZ4 ", CodecChoice::lz4},
                              std::pair{"none", CodecChoice::none}, std::pair{"off", CodecChoice::none},
                              std::pair{"auto", CodecChoice::automatic}}) {
        INFO(text);
        auto c = CacheConfig::from_environment(env({{"JANUS_CACHE_COMPRESSION", text}}));
        REQUIRE(c);
        CHECK(c->compression_codec == want);
    }
    auto zstd = CacheConfig::from_environment(env({{"JANUS_CACHE_COMPRESSION", "zstd"}}));
    CHECK(choose_codec(1 << 20, zstd->storage_compression()) == PayloadCodec::zstd);
    CHECK(choose_codec(1 << 20, zstd->transfer_compression()) == PayloadCodec::zstd);
    auto none = CacheConfig::from_environment(env({{"JANUS_CACHE_COMPRESSION", "none"}}));
    CHECK(choose_codec(1 << 20, none->storage_compression()) == PayloadCodec::none);

    CacheConfig off = CacheConfig::defaults();
    off.enable_compression = false;  // the seed's switch turns payload compression off too
    CHECK(choose_codec(1 << 20, off.storage_compression()) == PayloadCodec::none);
    CHECK(choose_codec(1 << 20, off.transfer_compression()) == PayloadCodec::none);

    auto bad = CacheConfig::from_environment(env({{"JANUS_CACHE_COMPRESSION", "gzip"}}));
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == ErrorCode::invalid_argument);
    CHECK(bad.error().message == "JANUS_CACHE_COMPRESSION='gzip' is not valid: expected auto, lz4, zstd or none");
}

TEST_CASE("JANUS_CACHE_WRITE_THROUGH writes each table at once; off by default", "[config]") {
    CHECK_FALSE(CacheConfig::defaults().write_through);
    auto on = CacheConfig::from_environment(env({{"JANUS_CACHE_WRITE_THROUGH", "yes"}}));
    REQUIRE(on);
    CHECK(on->write_through);
    auto bad = CacheConfig::from_environment(env({{"JANUS_CACHE_WRITE_THROUGH", "sometimes"}}));
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message == "JANUS_CACHE_WRITE_THROUGH='sometimes' is not valid: expected 1/true/yes/on or 0/false/no/off");
}
