#include <catch2/catch.hpp>

#include <fstream>
#include <limits>
#include <map>

#include "jdc/cache_config.hpp"
#include "jdc/remote_store.hpp"
#include "support/temp_dir.hpp"

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
    CHECK(CacheConfig::defaults().compact_threshold == 8);  // on by default; 0 turns it off
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

TEST_CASE("age, reader grace, load mode and prefetch come from their variables and reach the store", "[config]") {
    const CacheConfig d = CacheConfig::defaults();
    CHECK(d.max_cache_age_seconds == 7ull * 24 * 3600);
    CHECK(d.reader_grace_seconds == 60);
    CHECK(d.load_mode == LoadMode::automatic);
    CHECK(d.prefetch);
    const StoreOptions defaults = d.store_options();
    CHECK(defaults.max_age_ns == 7ull * 24 * 3600 * kNanosPerSecond);
    CHECK(defaults.reader_grace_ns == 60 * kNanosPerSecond);
    CHECK(defaults.load_mode == LoadMode::automatic);

    auto c = CacheConfig::from_environment(env({{"JANUS_CACHE_MAX_AGE", "14d"},
                                                {"JANUS_CACHE_READER_GRACE", "5s"},
                                                {"JANUS_CACHE_LOAD_MODE", "Read"},
                                                {"JANUS_CACHE_PREFETCH", "0"}}));
    REQUIRE(c);
    CHECK(c->max_cache_age_seconds == 14ull * 24 * 3600);
    CHECK(c->reader_grace_seconds == 5);
    CHECK(c->load_mode == LoadMode::read);
    CHECK_FALSE(c->prefetch);
    const StoreOptions o = c->store_options();
    CHECK(o.max_age_ns == 14ull * 24 * 3600 * kNanosPerSecond);
    CHECK(o.reader_grace_ns == 5 * kNanosPerSecond);
    CHECK(o.load_mode == LoadMode::read);

    auto map = CacheConfig::from_environment(env({{"JANUS_CACHE_LOAD_MODE", "map"}, {"JANUS_CACHE_MAX_AGE", "0"}}));
    REQUIRE(map);
    CHECK(map->store_options().load_mode == LoadMode::map);
    CHECK(map->store_options().max_age_ns == std::numeric_limits<std::uint64_t>::max());  // 0: no age eviction

    for (auto [var, value] : {std::pair{"JANUS_CACHE_MAX_AGE", "soon"}, std::pair{"JANUS_CACHE_READER_GRACE", "-1"},
                              std::pair{"JANUS_CACHE_MAX_AGE", "99999999d"}, std::pair{"JANUS_CACHE_LOAD_MODE", "mmap"},
                              std::pair{"JANUS_CACHE_PREFETCH", "maybe"}}) {
        auto r = CacheConfig::from_environment(env({{var, value}}));
        INFO(var << "=" << value);
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find(std::string(var) + "='" + value + "'") != std::string::npos);
    }
}

// ---- load(): jdc.conf, precedence, origins, the project's directory ------------------

namespace {

void write_text(const std::filesystem::path& p, const std::string& text) {
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

const ConfigOrigin& origin_of(const CacheConfig& c, std::string_view key) {
    for (const ConfigOrigin& o : c.origins)
        if (o.key == key) return o;
    FAIL("no origin for " << key);
    return c.origins.front();
}

CacheConfig::Request request_for(const std::filesystem::path& dir, std::map<std::string, std::string> vars = {}) {
    CacheConfig::Request r;
    r.directory = dir;
    r.getenv = env(std::move(vars));
    return r;
}

}  // namespace

TEST_CASE("load: flag > environment > jdc.conf > default, each value with its source", "[config][file]") {
    testing::TempDir tmp;
    const auto dir = tmp.path / "cache";
    write_text(dir / "jdc.conf", "# the team's limits\n\nmax_size = 3M\n  max_age=30d  \ncompression = zstd\nwrite_through = yes\n");

    auto c = CacheConfig::load(request_for(dir, {{"JANUS_CACHE_SIZE", "2M"}}));
    REQUIRE(c);
    CHECK(c->config_file == dir / "jdc.conf");
    CHECK(c->max_cache_size_bytes == 2u << 20);  // the environment over the file
    CHECK(c->max_cache_age_seconds == 30u * 86400);
    CHECK(c->compression_codec == CodecChoice::zstd);
    CHECK(c->write_through);
    CHECK(origin_of(*c, "max_size").source == ConfigSource::environment);
    CHECK(origin_of(*c, "max_size").where == "JANUS_CACHE_SIZE");
    CHECK(origin_of(*c, "max_size").value == "2M");
    CHECK(origin_of(*c, "max_age").source == ConfigSource::config_file);
    CHECK(origin_of(*c, "max_age").where == (dir / "jdc.conf").string() + ":4");
    CHECK(origin_of(*c, "max_age").value == "30d");
    CHECK(origin_of(*c, "cleanup_interval").source == ConfigSource::default_value);
    CHECK(origin_of(*c, "cleanup_interval").value == "1d");
    CHECK(origin_of(*c, "cache_dir").source == ConfigSource::flag);
    CHECK(c->origins.front().key == "cache_dir");

    auto r = request_for(dir, {{"JANUS_CACHE_SIZE", "2M"}});
    r.flags = {{"max_size", "5M", "--max-size"}, {"max_age", "12h", "--older-than"}};
    auto flagged = CacheConfig::load(r);
    REQUIRE(flagged);
    CHECK(flagged->max_cache_size_bytes == 5u << 20);  // the flag over both
    CHECK(flagged->max_cache_age_seconds == 12u * 3600);
    CHECK(origin_of(*flagged, "max_size").source == ConfigSource::flag);
    CHECK(origin_of(*flagged, "max_age").where == "--older-than");
    CHECK(flagged->store_options().max_size_bytes == 5u << 20);
    CHECK(flagged->store_options().max_age_ns == 12ull * 3600 * kNanosPerSecond);

    auto bad_flag = request_for(dir);
    bad_flag.flags = {{"max_size", "lots", "--max-size"}};
    auto refused = CacheConfig::load(bad_flag);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message == "--max-size 'lots' is not valid: expected a positive size in bytes, optionally with K, M, G or T (e.g. 512M)");
}

TEST_CASE("load: the hardening settings are jdc.conf keys too; the secret is never shown", "[config][file][remote]") {
    testing::TempDir tmp;
    const auto dir = tmp.path / "cache";
    write_text(dir / "jdc.conf",
               "allow_shared = yes\nremote_deadline_ms = 7000\nremote_session_budget_ms = 45000\nremote_secret = team-s3cret\n");

    auto c = CacheConfig::load(request_for(dir));
    REQUIRE(c);
    CHECK(c->allow_shared);
    CHECK(c->remote_deadline_ms == 7000);
    CHECK(c->remote_session_budget_ms == 45000);
    CHECK(c->remote_secret == "team-s3cret");
    for (const char* key : {"allow_shared", "remote_deadline_ms", "remote_session_budget_ms", "remote_secret"}) {
        INFO(key);
        CHECK(origin_of(*c, key).source == ConfigSource::config_file);
    }
    CHECK(origin_of(*c, "allow_shared").value == "true");
    CHECK(origin_of(*c, "remote_deadline_ms").value == "7000");
    CHECK(origin_of(*c, "remote_secret").value == "(set)");
    CHECK(origin_of(*c, "remote_secret").variable == "JANUS_CACHE_REMOTE_SECRET");
    for (const ConfigOrigin& o : c->origins) {
        INFO(o.key);
        CHECK(o.value.find("s3cret") == std::string::npos);
        CHECK(o.where.find("s3cret") == std::string::npos);
    }

    // The environment over the file, as for every setting; the secret as given.
    auto e = CacheConfig::load(request_for(dir, {{"JANUS_CACHE_REMOTE_SECRET", " other secret "},
                                                 {"JANUS_CACHE_REMOTE_DEADLINE_MS", "100"},
                                                 {"JANUS_CACHE_ALLOW_SHARED", "0"}}));
    REQUIRE(e);
    CHECK(e->remote_secret == " other secret ");
    CHECK(e->remote_deadline_ms == 100);
    CHECK_FALSE(e->allow_shared);
    CHECK(origin_of(*e, "remote_secret").source == ConfigSource::environment);
    CHECK(origin_of(*e, "remote_secret").value == "(set)");

    // Unset: nothing to show, and what `jdc init` writes has no value for it.
    std::filesystem::remove(dir / "jdc.conf");
    auto d = CacheConfig::load(request_for(dir));
    REQUIRE(d);
    CHECK(d->remote_secret.empty());
    CHECK(origin_of(*d, "remote_secret").value.empty());
    CHECK(origin_of(*d, "remote_deadline_ms").value == "5000");
    CHECK(origin_of(*d, "remote_session_budget_ms").value == "120000");
    CHECK(origin_of(*d, "allow_shared").value == "false");
    bool described = false;
    for (const ConfigOrigin& o : describe_settings(CacheConfig::defaults()))
        if (o.key == "remote_secret") described = o.value.empty();
    CHECK(described);

    const std::string file = (dir / "jdc.conf").string();
    for (const auto& [text, message] : {std::pair<std::string, std::string>{"remote_deadline_ms = 0\n", file + ":1: remote_deadline_ms = '0' is not valid"},
                                        {"remote_session_budget_ms = 600001\n", file + ":1: remote_session_budget_ms = '600001' is not valid"},
                                        {"allow_shared = perhaps\n", file + ":1: allow_shared = 'perhaps' is not valid"}}) {
        INFO(text);
        write_text(dir / "jdc.conf", text);
        auto r = CacheConfig::load(request_for(dir));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::invalid_argument);
        CHECK(r.error().message.rfind(message, 0) == 0);
    }
}

TEST_CASE("load: a bad jdc.conf names the file, the line and the key, and nothing of it applies", "[config][file]") {
    testing::TempDir tmp;
    const auto dir = tmp.path / "cache";
    const std::string file = (dir / "jdc.conf").string();
    struct Case {
        const char* text;
        std::string message;
    };
    for (const Case& c : {Case{"max_age = 1d\nmax_size = lots\n", file + ":2: max_size = 'lots' is not valid"},
                          Case{"max_sise = 1M\n", file + ":1: unknown key 'max_sise' (the keys are: max_size, max_age"},
                          Case{"max_age = 1d\n\n# x\nmax_age = 2d\n", file + ":4: key 'max_age' is set twice (first on line 1)"},
                          Case{"max_size 1M\n", file + ":1: expected 'key = value', found 'max_size 1M'"},
                          Case{"cache_dir = /elsewhere\n", file + ":1: cache_dir cannot be set in the cache's own jdc.conf"},
                          Case{"disable = perhaps\n", file + ":1: disable = 'perhaps' is not valid: expected 1/true/yes/on or 0/false/no/off"},
                          Case{"remote = redis://:hunter2@host:x\n", file + ":1: remote is not valid: "}}) {
        INFO(c.text);
        write_text(dir / "jdc.conf", c.text);
        auto r = CacheConfig::load(request_for(dir));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::invalid_argument);
        CHECK(r.error().message.rfind(c.message, 0) == 0);
        CHECK(r.error().message.find("hunter2") == std::string::npos);
    }
}

TEST_CASE("load: no jdc.conf is the defaults; one that is not a regular file is an error", "[config][file]") {
    testing::TempDir tmp;
    auto plain = CacheConfig::load(request_for(tmp.path / "none"));
    REQUIRE(plain);
    CHECK(plain->config_file.empty());
    CHECK(plain->max_cache_size_bytes == CacheConfig::defaults().max_cache_size_bytes);
    for (const ConfigOrigin& o : plain->origins)
        if (o.key != "cache_dir") CHECK(o.source == ConfigSource::default_value);

    std::filesystem::create_directories(tmp.path / "odd" / "jdc.conf");  // a directory named jdc.conf
    auto odd = CacheConfig::load(request_for(tmp.path / "odd"));
    REQUIRE_FALSE(odd);
    CHECK(odd.error().message.find("is not a regular file") != std::string::npos);

    write_text(tmp.path / "crlf" / "jdc.conf", "max_size = 4M\r\n");  // edited on Windows
    auto crlf = CacheConfig::load(request_for(tmp.path / "crlf"));
    REQUIRE(crlf);
    CHECK(crlf->max_cache_size_bytes == 4u << 20);
}

TEST_CASE("load: JANUS_CACHE_DISABLE, disable in jdc.conf and a flag each say who turned caching off", "[config][file]") {
    testing::TempDir tmp;
    write_text(tmp.path / "c" / "jdc.conf", "disable = true\n");
    auto by_file = CacheConfig::load(request_for(tmp.path / "c"));
    REQUIRE(by_file);
    CHECK_FALSE(by_file->enabled);
    CHECK(by_file->disabled_by == "disable = true in jdc.conf");
    auto by_env = CacheConfig::load(request_for(tmp.path / "c", {{"JANUS_CACHE_DISABLE", "0"}}));
    REQUIRE(by_env);
    CHECK(by_env->enabled);  // the environment turns it back on
    auto r = request_for(tmp.path / "c", {{"JANUS_CACHE_DISABLE", "0"}});
    r.flags = {{"disable", "true", "--no-cache"}};
    auto by_flag = CacheConfig::load(r);
    REQUIRE(by_flag);
    CHECK_FALSE(by_flag->enabled);
    CHECK(by_flag->disabled_by == "--no-cache");
}

TEST_CASE("load: the directory is the flag, else JANUS_CACHE_DIR, else the nearest .janus_cache/ above the start", "[config][dir]") {
    testing::TempDir tmp;
    const auto project = tmp.path / "project";
    std::filesystem::create_directories(project / "src" / "deep");
    std::filesystem::create_directories(project / ".janus_cache");

    CacheConfig::Request from_inside;
    from_inside.start = project / "src" / "deep";
    from_inside.getenv = env({});
    auto found = CacheConfig::load(from_inside);
    REQUIRE(found);
    CHECK(found->cache_directory == std::filesystem::absolute(project) / ".janus_cache" / "dispatch_tables");
    CHECK(origin_of(*found, "cache_dir").source == ConfigSource::default_value);
    CHECK(origin_of(*found, "cache_dir").where.find("the nearest .janus_cache/ from") == 0);
    CHECK(find_project_cache_directory(project / "src") == found->cache_directory);
    CHECK(find_project_cache_directory(project) == found->cache_directory);

    // jdc.conf of the project's cache applies wherever the search starts.
    write_text(found->cache_directory / "jdc.conf", "max_size = 7M\n");
    CHECK(CacheConfig::load(from_inside)->max_cache_size_bytes == 7u << 20);

    CacheConfig::Request elsewhere;
    elsewhere.start = tmp.path / "other";
    elsewhere.getenv = env({});
    std::filesystem::create_directories(elsewhere.start);
    CHECK_FALSE(find_project_cache_directory(elsewhere.start).has_value());
    auto fresh = CacheConfig::load(elsewhere);
    REQUIRE(fresh);
    CHECK(fresh->cache_directory == elsewhere.start / ".janus_cache" / "dispatch_tables");  // where the first build creates it

    auto by_env = from_inside;
    by_env.getenv = env({{"JANUS_CACHE_DIR", (tmp.path / "shared").string()}});
    CHECK(CacheConfig::load(by_env)->cache_directory == tmp.path / "shared");
    CHECK(origin_of(*CacheConfig::load(by_env), "cache_dir").source == ConfigSource::environment);
    auto by_flag = by_env;
    by_flag.directory = tmp.path / "mine";
    by_flag.directory_flag = "--cache-dir";
    CHECK(CacheConfig::load(by_flag)->cache_directory == tmp.path / "mine");
    CHECK(origin_of(*CacheConfig::load(by_flag), "cache_dir").where == "--cache-dir");
}

TEST_CASE("sizes and durations are shown in the largest exact unit", "[config]") {
    CHECK(format_byte_size(0) == "0");
    CHECK(format_byte_size(100ull << 20) == "100M");
    CHECK(format_byte_size(2ull << 30) == "2G");
    CHECK(format_byte_size(1536) == "1536");
    CHECK(format_byte_size(3ull << 40) == "3T");
    CHECK(format_duration_seconds(0) == "0");
    CHECK(format_duration_seconds(14 * 86400) == "14d");
    CHECK(format_duration_seconds(5400) == "90m");
    CHECK(format_duration_seconds(45) == "45s");
    for (std::uint64_t bytes : {1ull, 1024ull, 123456789ull, 64ull << 20}) CHECK(parse_byte_size(format_byte_size(bytes)) == bytes);
    for (std::uint64_t s : {1ull, 60ull, 86400ull, 90061ull}) CHECK(parse_duration_seconds(format_duration_seconds(s)) == s);
    // describe_settings shows every key once, in the same syntax jdc.conf takes.
    for (const ConfigOrigin& o : describe_settings(CacheConfig::defaults())) {
        INFO(o.key);
        CHECK_FALSE(o.variable.empty());
        CHECK_FALSE(o.description.empty());
    }
}

TEST_CASE("load: age, reader grace, load mode, prefetch and the compactor's threshold are jdc.conf keys and flags", "[config][file]") {
    testing::TempDir tmp;
    const auto dir = tmp.path / "cache";
    write_text(dir / "jdc.conf", "max_age = 0\nreader_grace = 5m\nload_mode = read\nprefetch = no\ncompact_threshold = 3\n");

    auto c = CacheConfig::load(request_for(dir));
    REQUIRE(c);
    CHECK(c->max_cache_age_seconds == 0);
    CHECK(c->store_options().max_age_ns == std::numeric_limits<std::uint64_t>::max());  // 0: no age eviction
    CHECK(c->reader_grace_seconds == 300);
    CHECK(c->store_options().reader_grace_ns == 300 * kNanosPerSecond);
    CHECK(c->load_mode == LoadMode::read);
    CHECK_FALSE(c->prefetch);
    CHECK(c->compact_threshold == 3);
    for (const char* key : {"max_age", "reader_grace", "load_mode", "prefetch", "compact_threshold"}) {
        INFO(key);
        CHECK(origin_of(*c, key).source == ConfigSource::config_file);
    }
    CHECK(origin_of(*c, "reader_grace").value == "5m");
    CHECK(origin_of(*c, "load_mode").value == "read");
    CHECK(origin_of(*c, "prefetch").value == "false");
    CHECK(origin_of(*c, "compact_threshold").value == "3");

    // The environment over the file, a flag over both.
    auto r = request_for(dir, {{"JANUS_CACHE_LOAD_MODE", "map"}, {"JANUS_CACHE_PREFETCH", "1"}});
    r.flags = {{"load_mode", "auto", "--load-mode"}};
    auto e = CacheConfig::load(r);
    REQUIRE(e);
    CHECK(e->load_mode == LoadMode::automatic);
    CHECK(origin_of(*e, "load_mode").where == "--load-mode");
    CHECK(e->prefetch);
    CHECK(origin_of(*e, "prefetch").source == ConfigSource::environment);

    // Defaults, as `jdc config` and `jdc init` show them.
    std::filesystem::remove(dir / "jdc.conf");
    auto d = CacheConfig::load(request_for(dir));
    REQUIRE(d);
    CHECK(origin_of(*d, "max_age").value == "7d");
    CHECK(origin_of(*d, "reader_grace").value == "1m");
    CHECK(origin_of(*d, "load_mode").value == "auto");
    CHECK(origin_of(*d, "prefetch").value == "true");
    CHECK(origin_of(*d, "compact_threshold").value == "8");

    write_text(dir / "jdc.conf", "load_mode = mmap\n");
    auto bad = CacheConfig::load(request_for(dir));
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("jdc.conf:1: load_mode = 'mmap' is not valid: expected auto, read or map") != std::string::npos);
}
