#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cache/remote_tier.hpp"
#include "jdc/arena_builder.hpp"
#include "jdc/build_cache_manager.hpp"
#include "jdc/remote_store.hpp"
#include "support/fake_redis.hpp"
#include "support/random_model.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"

using namespace jdc;
using jdc::testing::RedisServer;
using jdc::testing::SilentServer;
using jdc::testing::TempDir;
namespace fs = std::filesystem;

namespace {

// A program of `count` generic functions, each with its own hierarchy: what two
// machines building the same commit would both compile.
struct Program {
    std::vector<testing::RandomModel> models;
    std::atomic<int> builds{0};

    explicit Program(std::size_t count) {
        for (std::size_t i = 0; i < count; ++i) models.push_back(testing::make_random_model(1000 + i, {12, 2, 2, 12, true}));
    }
    TableInputs inputs(std::size_t i) const {
        TableInputs in;
        in.name = "fn" + std::to_string(i);
        in.signature = models[i].table.signature;
        in.sources = {{"src/fn" + std::to_string(i) + ".jn", {i + 1, 7}}};
        in.methods = method_inputs(models[i].table);
        return in;
    }
    TableBuilder builder(std::size_t i) {
        return [this, i](const TableInputs&, const TypeRegistry&) -> Result<BuiltTable> {
            ++builds;
            return BuiltTable{models[i].table, {}};
        };
    }
};

const BuildIdentity kIdentity{"janusc 1", 7};

CacheConfig remote_config(const fs::path& dir, const std::string& url) {
    CacheConfig c;
    c.cache_directory = dir;
    c.remote_url = url;
    c.remote_connect_timeout_ms = 300;
    c.remote_timeout_ms = 300;
    return c;
}

// Looks up tables [first, last) in a session that is already started; checks each
// against its model.
void look_up(BuildCacheManager& m, Program& p, std::size_t first, std::size_t last, std::vector<TableOrigin>* origins = nullptr) {
    for (std::size_t i = first; i < last; ++i) {
        auto t = m.getOrBuildDispatchTable(p.inputs(i), p.models[i].registry, p.builder(i));
        REQUIRE(t);
        CHECK(t->to_table() == p.models[i].table);
        if (origins != nullptr) origins->push_back(t->origin());
    }
}

// One build session over every table of `p`; returns the session's metrics.
CacheMetrics build_all(const CacheConfig& config, Program& p, std::vector<TableOrigin>* origins = nullptr) {
    auto m = BuildCacheManager::create(config, kIdentity);
    REQUIRE(m);
    REQUIRE(m->startBuildSession());
    look_up(*m, p, 0, p.models.size(), origins);
    REQUIRE(m->endBuildSession());
    return m->session_metrics();
}

std::uint64_t remote_attempts(const CacheMetrics& m) {
    return m.remote_hits + m.remote_misses + m.remote_rejects + m.remote_errors + m.remote_timeouts + m.remote_writes;
}

bool all_are(const std::vector<TableOrigin>& origins, TableOrigin o) {
    return std::all_of(origins.begin(), origins.end(), [o](TableOrigin x) { return x == o; });
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string report_of(const BuildCacheManager& m) {
    std::ostringstream out;
    m.generateBuildReport(out);
    return out.str();
}

}  // namespace

TEST_CASE("two machines share one Redis: the second gets remote hits and identical tables", "[remote][redis]") {
    RedisServer server;
    for (const std::string& url : {server.url(), server.unix_url(2)}) {
        INFO(url);
        TempDir machine_a, machine_b;
        Program p(12);

        const CacheMetrics a = build_all(remote_config(machine_a.path, url), p);
        CHECK(a.misses == 12);
        CHECK(a.remote_misses == 12);
        CHECK(a.remote_writes == 12);
        CHECK(a.remote_bytes_out > 0);
        CHECK(a.remote_errors + a.remote_timeouts == 0);
        CHECK(p.builds == 12);

        std::vector<TableOrigin> origins;
        const CacheMetrics b = build_all(remote_config(machine_b.path, url), p, &origins);
        CHECK(p.builds == 12);  // nothing built on the second machine
        CHECK(b.hits == 12);
        CHECK(b.remote_hits == 12);
        CHECK(b.remote_bytes_in == a.remote_bytes_out);
        CHECK(b.remote_writes == 0);
        CHECK(all_are(origins, TableOrigin::remote));

        // The hits were written to machine B's own cache: with its remote gone, B hits
        // locally and never asks the remote.
        origins.clear();
        const std::uint16_t nobody = testing::free_loopback_port();
        const CacheMetrics b2 = build_all(remote_config(machine_b.path, "redis://127.0.0.1:" + std::to_string(nobody)), p, &origins);
        CHECK(b2.hits == 12);
        CHECK(remote_attempts(b2) == 0);
        CHECK(all_are(origins, TableOrigin::cache));
        CHECK(p.builds == 12);
    }
}

TEST_CASE("the reports show the remote only when one is configured", "[remote][redis][report]") {
    RedisServer server;
    TempDir dir, plain;
    Program p(2);
    build_all(remote_config(dir.path, server.url()), p);

    auto m = BuildCacheManager::create(remote_config(dir.path / "second", server.url()), kIdentity);
    REQUIRE(m);
    REQUIRE(m->startBuildSession());
    look_up(*m, p, 0, 2);
    REQUIRE(m->endBuildSession());
    const std::string text = report_of(*m);
    CHECK(contains(text, "remote:       redis://127.0.0.1:" + std::to_string(server.port()) + "/0, on"));
    CHECK(contains(text, "2 hits, 0 misses, 0 rejected, 0 written"));
    const auto j = nlohmann::json::parse(m->build_report_json());
    CHECK(j["remote"]["state"] == "on");
    CHECK(j["remote"]["read_only"] == false);
    CHECK(j["remote"]["session"]["hits"] == 2);
    CHECK(j["remote"]["session"]["bytes_in"].get<std::uint64_t>() > 0);
    CHECK(j["remote"]["lifetime"]["hits"] == 2);
    CHECK(j["session"]["hits"] == 2);

    // The persisted totals keep the remote counters for the next session's lifetime.
    auto again = BuildCacheManager::create(remote_config(dir.path / "second", server.url()), kIdentity);
    REQUIRE(again);
    REQUIRE(again->startBuildSession());
    CHECK(again->lifetime_metrics().remote_hits == 2);

    CacheConfig local_only;
    local_only.cache_directory = plain.path;
    const CacheMetrics none = build_all(local_only, p);
    CHECK(remote_attempts(none) == 0);
    auto l = BuildCacheManager::create(local_only, kIdentity);
    REQUIRE(l);
    CHECK_FALSE(contains(report_of(*l), "remote"));
    CHECK_FALSE(nlohmann::json::parse(l->build_report_json()).contains("remote"));
}

TEST_CASE("Redis killed mid-build: the build finishes locally and the stats show the error", "[remote][redis][failure]") {
    RedisServer server;
    TempDir dir;
    Program p(16);
    auto m = BuildCacheManager::create(remote_config(dir.path, server.url()), kIdentity);
    REQUIRE(m);
    REQUIRE(m->startBuildSession());
    look_up(*m, p, 0, 8);
    REQUIRE(m->endBuildSession());  // sends the queued writes
    CHECK(m->session_metrics().remote_writes == 8);
    CHECK(server.client().dbsize() == 8);

    REQUIRE(m->startBuildSession());
    look_up(*m, p, 8, 12);  // their writes are queued
    const CacheMetrics before = m->session_metrics();
    server.kill();
    look_up(*m, p, 12, 16);  // every table is still built and correct
    const CacheMetrics after = m->session_metrics();
    CHECK(after.misses == 8);
    CHECK(after.remote_errors + after.remote_timeouts == 1);
    // One failed attempt, then the remote is off: no further waits.
    CHECK(remote_attempts(after) == remote_attempts(before) + 1);
    const std::string text = report_of(*m);
    CHECK(contains(text, "switched off"));
    CHECK(contains(text, "remote off:"));
    const auto j = nlohmann::json::parse(m->build_report_json());
    CHECK(j["remote"]["state"] == "off");
    CHECK(j["remote"]["session"]["errors"].get<std::uint64_t>() + j["remote"]["session"]["timeouts"].get<std::uint64_t>() == 1);
    REQUIRE(m->endBuildSession());  // the queued writes are dropped: the remote is off
    CHECK(m->session_metrics().remote_writes == 0);
    CHECK(remote_attempts(m->session_metrics()) == remote_attempts(after));
    CHECK(m->store()->stats().index.live_count == 16);

    // A new session tries the remote again (it is still dead: one more failure).
    REQUIRE(m->startBuildSession());
    CHECK(nlohmann::json::parse(m->build_report_json())["remote"]["state"] == "on");
    Program q(18);
    look_up(*m, q, 16, 18);
    CHECK(m->session_metrics().remote_errors == 1);
    CHECK(remote_attempts(m->session_metrics()) == 1);
    REQUIRE(m->endBuildSession());
}

TEST_CASE("a server that accepts but never answers costs one timeout per session", "[remote][failure][timeout]") {
    SilentServer silent;
    TempDir dir;
    Program p(6);
    std::vector<TableOrigin> origins;
    const CacheMetrics m = build_all(remote_config(dir.path, silent.url()), p, &origins);
    CHECK(m.remote_timeouts == 1);
    CHECK(remote_attempts(m) == 1);
    CHECK(m.misses == 6);
    CHECK(all_are(origins, TableOrigin::built));
}

TEST_CASE("AUTH with a wrong password switches the remote off with a clear reason", "[remote][redis][auth]") {
    RedisServer server({"right-password", {}});
    TempDir dir;
    Program p(3);
    auto m = BuildCacheManager::create(remote_config(dir.path, "redis://:wrong-password@127.0.0.1:" + std::to_string(server.port())), kIdentity);
    REQUIRE(m);
    REQUIRE(m->startBuildSession());
    look_up(*m, p, 0, 3);
    CHECK(m->session_metrics().remote_errors == 1);
    const auto j = nlohmann::json::parse(m->build_report_json());
    const std::string reason = j["remote"]["off_reason"];
    CHECK(contains(reason, "AUTH refused: WRONGPASS"));
    CHECK_FALSE(contains(reason, "wrong-password"));
    CHECK_FALSE(contains(report_of(*m), "wrong-password"));
    CHECK(j["remote"]["url"] == "redis://:***@127.0.0.1:" + std::to_string(server.port()) + "/0");
}

TEST_CASE("a corrupted value planted in Redis is rejected and not written locally", "[remote][redis][untrusted]") {
    RedisServer server;
    auto raw = server.client();
    TempDir dir;
    Program p(2);
    auto m = BuildCacheManager::create(remote_config(dir.path, server.url()), kIdentity);
    REQUIRE(m);
    const CacheKey key = m->cache_key(p.inputs(0), p.models[0].registry);
    const std::string name = remote_key_name(key);
    auto good = build_arena(p.models[0].table, p.models[0].registry, {});
    REQUIRE(good);
    std::string damaged(reinterpret_cast<const char*>(good->data()), good->size());

    SECTION("damaged bytes") { damaged[damaged.size() / 2] ^= 0x01; }
    SECTION("a valid arena of another table, under this table's key") {
        auto other = build_arena(p.models[1].table, p.models[1].registry, {});
        REQUIRE(other);
        damaged.assign(reinterpret_cast<const char*>(other->data()), other->size());
    }
    raw.set(name, damaged);

    REQUIRE(m->startBuildSession());
    // A builder that fails: nothing at all may reach the local store.
    auto failing = [](const TableInputs&, const TypeRegistry&) -> Result<BuiltTable> {
        return make_error(ErrorCode::invalid_argument, "the compiler found an error");
    };
    auto t = m->getOrBuildDispatchTable(p.inputs(0), p.models[0].registry, failing);
    REQUIRE_FALSE(t);
    CHECK(m->session_metrics().remote_rejects == 1);
    CHECK(m->session_metrics().remote_errors == 0);  // a bad value says nothing about the server
    CHECK_FALSE(m->store()->find(key));

    // With a working builder the table is built, stored locally, and the remote value
    // is replaced by the good one.
    auto built = m->getOrBuildDispatchTable(p.inputs(0), p.models[0].registry, p.builder(0));
    REQUIRE(built);
    CHECK(built->origin() == TableOrigin::built);
    CHECK(built->to_table() == p.models[0].table);
    CHECK(m->session_metrics().remote_rejects == 2);
    REQUIRE(m->endBuildSession());  // the session's tables are written to the store
    REQUIRE(m->store()->find(key));
    const auto healed = raw.get(name);
    REQUIRE(healed);
    auto healed_view = ArenaView::open(std::as_bytes(std::span<const char>(healed->data(), healed->size())));
    REQUIRE(healed_view);
    CHECK(healed_view->signature_name() == p.models[0].table.signature_name);
}

TEST_CASE("read-only mode fetches but never writes the remote", "[remote][redis][read-only]") {
    RedisServer server;
    auto raw = server.client();
    TempDir laptop, ci, laptop2;
    Program p(5);

    CacheConfig ro = remote_config(laptop.path, server.url());
    ro.remote_read_only = true;
    const CacheMetrics first = build_all(ro, p);
    CHECK(first.misses == 5);
    CHECK(first.remote_misses == 5);
    CHECK(first.remote_writes == 0);
    CHECK(first.remote_bytes_out == 0);
    CHECK(raw.dbsize() == 0);

    build_all(remote_config(ci.path, server.url()), p);  // CI writes
    CHECK(raw.dbsize() == 5);

    ro.cache_directory = laptop2.path;
    const CacheMetrics second = build_all(ro, p);
    CHECK(second.remote_hits == 5);
    CHECK(raw.dbsize() == 5);

    auto m = BuildCacheManager::create(ro, kIdentity);
    REQUIRE(m);
    CHECK(contains(report_of(*m), "(read-only)"));
}

TEST_CASE("the spec's ACL reader: read-only mode hits; a write is refused with NOPERM and switches the remote off", "[remote][redis][acl]") {
    RedisServer server;
    auto raw = server.client();
    // format-spec/remote-cache-v1.md, section 6, as ACL SETUSER arguments.
    REQUIRE(raw.command({"ACL", "SETUSER", "jdc-reader", "on", ">reader-pw", "~jdc:*", "+getrange", "+ping", "+select"}) == "OK");
    TempDir ci, laptop, careless;
    Program p(4);
    build_all(remote_config(ci.path, server.url()), p);  // CI writes as the default user

    const std::string reader_url = "redis://jdc-reader:reader-pw@127.0.0.1:" + std::to_string(server.port());
    CacheConfig ro = remote_config(laptop.path, reader_url);
    ro.remote_read_only = true;
    const CacheMetrics hits = build_all(ro, p);
    CHECK(hits.remote_hits == 4);
    CHECK(hits.remote_errors == 0);

    Program more(6);  // tables 4 and 5 are not on the server: their misses try to write
    auto m = BuildCacheManager::create(remote_config(careless.path, reader_url), kIdentity);
    REQUIRE(m);
    REQUIRE(m->startBuildSession());
    look_up(*m, more, 4, 6);
    REQUIRE(m->endBuildSession());  // the queued writes go out, and are refused
    CHECK(m->session_metrics().remote_errors == 1);
    CHECK(m->session_metrics().remote_writes == 0);
    CHECK(contains(nlohmann::json::parse(m->build_report_json())["remote"]["off_reason"].get<std::string>(), "NOPERM"));
    CHECK(raw.dbsize() == 4);
}

TEST_CASE("writes go out in pipelined batches: when the queue is full, at the session's end, at destruction", "[remote][redis][batch]") {
    RedisServer server;
    auto raw = server.client();
    SECTION("a full queue is sent by the store() that filled it") {
        detail::SessionMetrics metrics;
        const detail::CacheLog silent;
        auto tier = detail::RemoteTier::create(remote_config("unused", server.url()), metrics, silent);
        REQUIRE(tier);
        Program p(1);
        auto arena = build_arena(p.models[0].table, p.models[0].registry, {});
        REQUIRE(arena);
        for (std::uint64_t i = 1; i < detail::kRemoteBatchEntries; ++i)
            CHECK((*tier)->store({{i, 1}, *arena, 0}).outcome == detail::RemoteOutcome::queued);
        CHECK(raw.dbsize() == 0);
        const detail::RemoteResult full = (*tier)->store({{0, 1}, *arena, 0});
        CHECK(full.outcome == detail::RemoteOutcome::stored);
        CHECK(full.writes == detail::kRemoteBatchEntries);
        CHECK(full.bytes == detail::kRemoteBatchEntries * arena->size());
        CHECK(raw.dbsize() == static_cast<long long>(detail::kRemoteBatchEntries));
        CHECK(metrics.session().remote_writes == detail::kRemoteBatchEntries);  // the tier counts its own writes
        CHECK((*tier)->store({{7, 7}, *arena, 0}).outcome == detail::RemoteOutcome::queued);
        tier->reset();  // destruction sends the rest
        CHECK(raw.dbsize() == static_cast<long long>(detail::kRemoteBatchEntries) + 1);
        CHECK(metrics.session().remote_writes == detail::kRemoteBatchEntries + 1);
    }
    SECTION("through the manager") {
        TempDir dir;
        Program p(6);
        auto m = BuildCacheManager::create(remote_config(dir.path, server.url()), kIdentity);
        REQUIRE(m);
        REQUIRE(m->startBuildSession());
        look_up(*m, p, 0, 3);
        CHECK(raw.dbsize() == 0);  // queued
        CHECK(m->session_metrics().remote_writes == 0);
        REQUIRE(m->endBuildSession());
        CHECK(raw.dbsize() == 3);
        CHECK(m->session_metrics().remote_writes == 3);

        REQUIRE(m->startBuildSession());
        look_up(*m, p, 3, 6);
        m = make_error(ErrorCode::invalid_argument, "destroyed without endBuildSession()");
        CHECK(raw.dbsize() == 6);
    }
}

TEST_CASE("a TTL from the configuration is set on remote writes", "[remote][redis]") {
    RedisServer server;
    TempDir dir;
    Program p(1);
    CacheConfig c = remote_config(dir.path, server.url());
    c.remote_ttl_seconds = 86400;
    auto m = BuildCacheManager::create(c, kIdentity);
    REQUIRE(m);
    REQUIRE(m->startBuildSession());
    look_up(*m, p, 0, 1);
    REQUIRE(m->endBuildSession());
    const long long ttl = server.client().ttl(remote_key_name(m->cache_key(p.inputs(0), p.models[0].registry)));
    CHECK(ttl > 0);
    CHECK(ttl <= 86400);
}

TEST_CASE("many threads share the remote through the manager", "[remote][redis][threads]") {
    RedisServer server;
    TempDir writer, reader;
    Program p(24);
    build_all(remote_config(writer.path, server.url()), p);

    auto m = BuildCacheManager::create(remote_config(reader.path, server.url()), kIdentity);
    REQUIRE(m);
    REQUIRE(m->startBuildSession());
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (std::size_t i = 0; i < p.models.size(); ++i) {
                auto table = m->getOrBuildDispatchTable(p.inputs(i), p.models[i].registry, p.builder(i));
                if (!table || !(table->to_table() == p.models[i].table)) ++wrong;
            }
        });
    for (auto& t : threads) t.join();
    CHECK(wrong == 0);
    const CacheMetrics s = m->session_metrics();
    CHECK(s.hits == 4 * 24);
    CHECK(s.remote_errors + s.remote_timeouts == 0);
    CHECK(s.remote_hits >= 24);  // each table came from the remote at least once; later from either tier
    REQUIRE(m->endBuildSession());
}

TEST_CASE("caching disabled: the remote is not used either", "[remote][disabled]") {
    TempDir dir;
    Program p(2);
    CacheConfig c = remote_config(dir.path / "cache", "redis://127.0.0.1:1");
    c.enabled = false;
    const CacheMetrics m = build_all(c, p);
    CHECK(remote_attempts(m) == 0);
    CHECK(m.misses == 2);
}

TEST_CASE("a malformed remote URL in the configuration stops create() with a clear error", "[remote][config]") {
    TempDir dir;
    auto m = BuildCacheManager::create(remote_config(dir.path, "redis://host:99999"), kIdentity);
    REQUIRE_FALSE(m);
    CHECK(m.error().code == ErrorCode::invalid_argument);
    CHECK(contains(m.error().message, "port '99999'"));
}

// ---------------------------------------------------------------- session budgets (issue 20)
//
// A FakeRedis stands in for a server that costs without ever helping: values that are
// rejected, answers dripped slowly. Each budget bounds what a session spends on it.

namespace {

using jdc::testing::FakeConnection;
using jdc::testing::FakeRedis;

std::size_t count_of(const std::vector<std::string>& commands, const std::string& name) {
    return static_cast<std::size_t>(std::count(commands.begin(), commands.end(), name));
}

// Answers PING and writes; GETRANGE with `value` (dripped `interval` apart when not 0).
jdc::testing::FakeRedisScript serving(std::string value, std::chrono::milliseconds interval = {}) {
    return [value, interval](FakeConnection& c, const std::vector<std::string>& command) {
        if (command[0] == "PING") c.send("+PONG\r\n");
        else if (command[0] != "GETRANGE") c.send("+OK\r\n");
        else if (interval.count() == 0) c.send(value);
        else c.drip(value, interval);
    };
}

std::string report_json_remote(const BuildCacheManager& m, const char* field) {
    return nlohmann::json::parse(m.build_report_json())["remote"].value(field, std::string());
}

}  // namespace

TEST_CASE("values rejected one after another switch the remote off once the session's budget is spent", "[remote][hostile][budget]") {
    // Attack 4's cost: each rejected value was downloaded (and decoded) again at every
    // lookup, and rejections never switched the remote off.
    const std::string not_an_arena(200, 'x');
    FakeRedis server(serving("$200\r\n" + not_an_arena + "\r\n"));
    TempDir dir;
    Program p(10);
    CacheConfig config = remote_config(dir.path, server.url());
    config.remote_session_max_rejects = 3;
    std::vector<TableOrigin> origins;
    auto m = BuildCacheManager::create(config, kIdentity);
    REQUIRE(m);
    REQUIRE(m->startBuildSession());
    look_up(*m, p, 0, p.models.size(), &origins);
    REQUIRE(m->endBuildSession());
    const CacheMetrics s = m->session_metrics();
    CHECK(s.remote_rejects == 3);
    CHECK(s.remote_errors == 1);  // the switch-off
    CHECK(s.misses == 10);
    CHECK(all_are(origins, TableOrigin::built));
    CHECK(count_of(server.commands(), "GETRANGE") == 3);
    CHECK(contains(report_json_remote(*m, "off_reason"), "3 values rejected in this session"));
    CHECK(contains(report_of(*m), "values rejected in this session"));

    // A new session tries again, with a budget of its own.
    REQUIRE(m->startBuildSession());
    look_up(*m, p, 0, p.models.size());  // all local hits now: the remote is not asked
    REQUIRE(m->endBuildSession());
    CHECK(m->session_metrics().remote_rejects == 0);
}

TEST_CASE("a server that answers slowly switches the remote off once the session's time budget is spent", "[remote][hostile][budget]") {
    // Attack 3's cousin: every answer within the per-request deadline, but each slow.
    // "$0" (a miss) dripped a byte every 40 ms: 200 ms per lookup.
    FakeRedis server(serving("$0\r\n\r\n", std::chrono::milliseconds(40)));
    TempDir dir;
    Program p(10);
    CacheConfig config = remote_config(dir.path, server.url());
    config.remote_session_budget_ms = 500;
    auto m = BuildCacheManager::create(config, kIdentity);
    REQUIRE(m);
    REQUIRE(m->startBuildSession());
    look_up(*m, p, 0, p.models.size());
    REQUIRE(m->endBuildSession());
    const CacheMetrics s = m->session_metrics();
    // How many lookups fit in the budget depends on the machine; that no more than
    // three can (each takes at least the 200 ms of its drip) does not.
    CHECK(s.remote_misses >= 1);
    CHECK(s.remote_misses <= 4);
    CHECK(s.remote_errors == 1);
    CHECK(count_of(server.commands(), "GETRANGE") <= 4);
    CHECK(contains(report_json_remote(*m, "off_reason"), "more than its budget of"));
}

TEST_CASE("JANUS_CACHE_REMOTE_DEADLINE_MS bounds a whole request, not just the gap between bytes", "[remote][hostile][deadline]") {
    // Attack 3: a byte every 100 ms never trips a 300 ms idle timeout.
    FakeRedis server(serving("$0\r\n\r\n", std::chrono::milliseconds(100)));
    TempDir dir;
    Program p(4);
    auto env = [](std::string_view name) -> std::optional<std::string> {
        if (name == "JANUS_CACHE_REMOTE_DEADLINE_MS") return "300";
        return std::nullopt;
    };
    auto config = CacheConfig::from_environment(env, remote_config(dir.path, server.url()));
    REQUIRE(config);
    REQUIRE(config->remote_deadline_ms == 300);
    // The reply (6 bytes, 600 ms) would complete without a deadline: a timeout here
    // is the deadline at work, whatever the machine's speed.
    const CacheMetrics s = build_all(*config, p);
    CHECK(s.remote_timeouts == 1);
    CHECK(remote_attempts(s) == 1);
    CHECK(s.misses == 4);
}

// ---------------------------------------------------------------- the team secret (issue 20)

TEST_CASE("with a team secret only sealed values are used: a forged value with the right key is rejected", "[remote][redis][secret]") {
    // Attack 1, taken further: a writer (or anyone on the link) that computes the key and
    // the checksums can store a well-formed arena of the wrong table under the right
    // key. Without a secret it is served; with one it must carry the secret's seal.
    RedisServer server;
    auto raw = server.client();
    TempDir reader_dir, plain_dir, plain2_dir, reader2_dir;
    Program p(1);
    CacheConfig with_secret = remote_config(reader_dir.path, server.url());
    with_secret.remote_secret = "correct horse battery staple";
    auto m = BuildCacheManager::create(with_secret, kIdentity);
    REQUIRE(m);
    const CacheKey key = m->cache_key(p.inputs(0), p.models[0].registry);
    const std::string name = remote_key_name(key);

    // The same function, signature and types; one method's line differs: the table
    // from before an edit, say.
    DispatchTable forged_table = p.models[0].table;
    REQUIRE_FALSE(forged_table.implementations.empty());
    forged_table.implementations[0].location.line += 1;
    ArenaBuildOptions keyed;
    keyed.key = key;
    auto forged = build_arena(forged_table, p.models[0].registry, {}, keyed);
    REQUIRE(forged);

    SECTION("stored raw, without a seal") {
        raw.set(name, std::string(reinterpret_cast<const char*>(forged->data()), forged->size()));
    }
    SECTION("sealed with another secret") {
        RemoteOptions other;
        other.secret = "another team";
        auto endpoint = parse_remote_url(server.url());
        REQUIRE(endpoint);
        auto writer = RemoteStore::connect(*endpoint, other);
        REQUIRE(writer);
        REQUIRE(writer->put({key, *forged, 0}));
        const auto stored = raw.get(name);
        REQUIRE(stored);
        CHECK(stored->substr(0, 8) == "JDCSEAL1");
        CHECK(stored->size() == forged->size() + 40);
    }

    // Without the secret the forged table is served: what the seal is for.
    {
        Program plain_program(1);
        auto plain = BuildCacheManager::create(remote_config(plain_dir.path, server.url()), kIdentity);
        REQUIRE(plain);
        REQUIRE(plain->startBuildSession());
        auto t = plain->getOrBuildDispatchTable(plain_program.inputs(0), plain_program.models[0].registry, plain_program.builder(0));
        REQUIRE(t);
        CHECK(t->origin() == TableOrigin::remote);
        CHECK(t->to_table() == forged_table);
    }

    // With the secret it is rejected, and the table is built.
    REQUIRE(m->startBuildSession());
    auto t = m->getOrBuildDispatchTable(p.inputs(0), p.models[0].registry, p.builder(0));
    REQUIRE(t);
    CHECK(t->origin() == TableOrigin::built);
    CHECK(t->to_table() == p.models[0].table);
    CHECK(m->session_metrics().remote_rejects == 1);
    CHECK(m->session_metrics().remote_errors == 0);
    REQUIRE(m->endBuildSession());  // writes the built table, sealed, over the forged one

    const auto sealed = raw.get(name);
    REQUIRE(sealed);
    CHECK(sealed->substr(0, 8) == "JDCSEAL1");

    // Another machine with the secret gets it; so does one without (the seal skipped).
    for (const fs::path& dir : {reader2_dir.path, plain2_dir.path}) {
        CacheConfig c = remote_config(dir, server.url());
        if (dir == reader2_dir.path) c.remote_secret = with_secret.remote_secret;
        Program q(1);
        auto other = BuildCacheManager::create(c, kIdentity);
        REQUIRE(other);
        REQUIRE(other->startBuildSession());
        auto got = other->getOrBuildDispatchTable(q.inputs(0), q.models[0].registry, q.builder(0));
        REQUIRE(got);
        CHECK(got->origin() == TableOrigin::remote);
        CHECK(got->to_table() == p.models[0].table);
        CHECK(q.builds == 0);
    }
}

TEST_CASE("values decompressed past the session's budget switch the remote off", "[remote][redis][budget]") {
    // Attack 4's other half: values that decompress are each allocated and decoded;
    // the session's total is bounded too.
    RedisServer server;
    TempDir ci, laptop;
    Program p(0);
    for (std::size_t i = 0; i < 3; ++i) p.models.push_back(testing::make_random_model(2000 + i, testing::large_table_options()));
    build_all(remote_config(ci.path, server.url()), p);  // CI fills the remote, compressed (zstd from 4 KiB)
    REQUIRE(p.builds == 3);

    CacheConfig config = remote_config(laptop.path, server.url());
    config.remote_session_max_decoded_bytes = 1;  // the first value decoded spends it
    auto m = BuildCacheManager::create(config, kIdentity);
    REQUIRE(m);
    REQUIRE(m->startBuildSession());
    std::vector<TableOrigin> origins;
    look_up(*m, p, 0, p.models.size(), &origins);
    REQUIRE(m->endBuildSession());
    const CacheMetrics s = m->session_metrics();
    CHECK(s.remote_hits == 1);  // served: it was fetched and verified before the budget was counted
    CHECK(s.remote_errors == 1);
    CHECK(p.builds == 5);
    CHECK(origins == std::vector<TableOrigin>{TableOrigin::remote, TableOrigin::built, TableOrigin::built});
    CHECK(contains(report_json_remote(*m, "off_reason"), "decompressed"));
}
