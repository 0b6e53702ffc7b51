#include <catch2/catch.hpp>

#include <csignal>
#include <cstring>

#include <pthread.h>

#include "jdc/remote_store.hpp"
#include "support/arena_samples.hpp"
#include "support/compression_bomb.hpp"
#include "support/fake_redis.hpp"
#include "support/redis_server.hpp"

using namespace jdc;
using jdc::testing::answer;
using jdc::testing::arena_for;
using jdc::testing::bulk;
using jdc::testing::close_after;
using jdc::testing::drip;
using jdc::testing::FakeConnection;
using jdc::testing::FakeRedis;
using jdc::testing::huge_bulk;
using jdc::testing::key_for;
using jdc::testing::RedisServer;
using jdc::testing::SilentServer;

namespace {

// Short timeouts keep the failure tests quick; loopback answers in microseconds.
RemoteOptions quick_options() {
    RemoteOptions o;
    o.connect_timeout_ms = 300;
    o.operation_timeout_ms = 300;
    return o;
}

RemoteStore connect_to(const std::string& url, const RemoteOptions& options = quick_options()) {
    auto endpoint = parse_remote_url(url);
    REQUIRE(endpoint);
    auto store = RemoteStore::connect(*endpoint, options);
    if (!store) FAIL(store.error().message);
    return std::move(*store);
}

std::string as_string(std::span<const std::byte> bytes) { return {reinterpret_cast<const char*>(bytes.data()), bytes.size()}; }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("remote URLs: every documented form parses", "[remote][url]") {
    auto tcp = parse_remote_url("redis://cache.example:7000/3");
    REQUIRE(tcp);
    CHECK(tcp->transport == RemoteTransport::tcp);
    CHECK(tcp->host == "cache.example");
    CHECK(tcp->port == 7000);
    CHECK(tcp->database == 3);
    CHECK(tcp->password.empty());

    auto defaults = parse_remote_url("redis://10.0.0.5");
    REQUIRE(defaults);
    CHECK(defaults->port == kDefaultRedisPort);
    CHECK(defaults->database == 0);
    CHECK(parse_remote_url("redis://host/")->database == 0);
    CHECK(parse_remote_url("REDIS://host")->host == "host");

    auto with_password = parse_remote_url("redis://:s3cret@host:6380");
    REQUIRE(with_password);
    CHECK(with_password->password == "s3cret");
    CHECK(with_password->username.empty());
    CHECK(with_password->describe() == "redis://:***@host:6380/0");

    auto acl = parse_remote_url("redis://ci:p%40ss%2Fw@host/1");
    REQUIRE(acl);
    CHECK(acl->username == "ci");
    CHECK(acl->password == "p@ss/w");
    CHECK(acl->database == 1);

    auto v6 = parse_remote_url("redis://[::1]:6390/2");
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->port == 6390);
    CHECK(v6->describe() == "redis://[::1]:6390/2");

    auto sock = parse_remote_url("redis+unix:///run/redis/redis.sock");
    REQUIRE(sock);
    CHECK(sock->transport == RemoteTransport::unix_socket);
    CHECK(sock->socket_path == "/run/redis/redis.sock");
    CHECK(sock->database == 0);

    auto sock_db = parse_remote_url("redis+unix://:pw@/tmp/r%20s.sock?db=4");
    REQUIRE(sock_db);
    CHECK(sock_db->socket_path == "/tmp/r s.sock");
    CHECK(sock_db->password == "pw");
    CHECK(sock_db->database == 4);
    CHECK(sock_db->describe() == "redis+unix://:***@/tmp/r s.sock?db=4");
}

TEST_CASE("remote URLs: every malformed URL gets its own clear error", "[remote][url]") {
    const std::string long_path = "redis+unix:///" + std::string(120, 'x');
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "empty"},
        {"cache.example:6379", "no scheme"},
        {"http://cache.example", "unsupported scheme 'http'"},
        {"rediss://cache.example", "TLS"},
        {"redis://", "no host"},
        {"redis://:6379", "no host"},
        {"redis://host:", "port ''"},
        {"redis://host:abc", "port 'abc'"},
        {"redis://host:0", "port '0'"},
        {"redis://host:65536", "port '65536'"},
        {"redis://host:-1", "port '-1'"},
        {"redis://host/x", "database 'x'"},
        {"redis://host/-1", "database '-1'"},
        {"redis://host/99999999999", "database '99999999999'"},
        {"redis://host/1/2", "unexpected path '/1/2'"},
        {"redis://host?db=1", "unexpected query"},
        {"redis://host#frag", "fragment"},
        {"redis://ho st", "space or control character at position 10"},
        {"redis://::1:6379", "IPv6 address must be written in brackets"},
        {"redis://[::1", "'[' without ']'"},
        {"redis://[::1]x", "unexpected 'x' after the IPv6 address"},
        {"redis://user@host", "needs a password"},
        {"redis://user:@host", "empty password"},
        {"redis://:p%zzw@host", "malformed percent escape"},
        {"redis://:pw%4@host", "malformed percent escape"},
        {"redis+unix://", "absolute socket path"},
        {"redis+unix://relative.sock", "absolute socket path"},
        {"redis+unix://:pw@relative.sock", "absolute socket path"},
        {"redis+unix:///tmp/r.sock?db=x", "database 'x'"},
        {"redis+unix:///tmp/r.sock?timeout=3", "only ?db=N"},
        {"redis+unix:///tmp/r%2.sock", "malformed percent escape"},
        {"redis+unix:///tmp/a%00b", "NUL byte"},
        {long_path, "must be shorter than 108"},
    };
    for (const auto& [url, expected] : cases) {
        INFO("URL: '" << url << "'");
        auto parsed = parse_remote_url(url);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().code == ErrorCode::invalid_argument);
        CHECK(contains(parsed.error().message, expected));
        CHECK(contains(parsed.error().message, "remote cache URL"));
    }
}

TEST_CASE("remote URLs: a password never appears in an error message", "[remote][url]") {
    for (const std::string url : {"redis://:hunter2@host:bad", "redis://ci:hunter2@host/1/2", "redis+unix://:hunter2@/tmp/s?x=1",
                                  "redis://:hunter2/x@host"}) {
        auto parsed = parse_remote_url(url);
        REQUIRE_FALSE(parsed);
        CHECK_FALSE(contains(parsed.error().message, "hunter2"));
        CHECK(contains(parsed.error().message, "***@"));
    }
}

TEST_CASE("the key scheme is jdc:a<major>:<32 hex>", "[remote]") {
    const CacheKey key{0x0123456789abcdefull, 0xfedcba9876543210ull};
    CHECK(remote_key_name(key) == "jdc:a2:0123456789abcdeffedcba9876543210");
}

TEST_CASE("put then get round-trips an arena, byte for byte, over TCP and a unix socket", "[remote][redis]") {
    RedisServer server;
    auto raw = server.client();
    for (const std::string& url : {server.url(), server.unix_url()}) {
        INFO(url);
        RemoteStore store = connect_to(url);
        CHECK(store.ping());
        const auto arena = arena_for(url.size());
        const CacheKey key = key_for(url.size());

        auto missing = store.get(key);
        REQUIRE_FALSE(missing);
        CHECK(missing.error().code == ErrorCode::not_found);

        REQUIRE(store.put({key, arena, 0}));
        // The value is exactly the arena's bytes under the documented key.
        CHECK(raw.get(remote_key_name(key)) == as_string(arena));
        CHECK(raw.ttl(remote_key_name(key)) == -1);  // no TTL configured: Redis evicts

        auto got = store.get(key);
        REQUIRE(got);
        CHECK(got->key() == key);
        CHECK(as_string(got->view().bytes()) == as_string(arena));
        CHECK(got->view().entry_count() > 0);
    }
}

TEST_CASE("a TTL is set on every put when configured", "[remote][redis]") {
    RedisServer server;
    RemoteOptions options = quick_options();
    options.ttl_seconds = 3600;
    RemoteStore store = connect_to(server.url(), options);
    REQUIRE(store.put({key_for(1), arena_for(1), 0}));
    const long long ttl = server.client().ttl(remote_key_name(key_for(1)));
    CHECK(ttl > 0);
    CHECK(ttl <= 3600);
}

TEST_CASE("the database of the URL is selected", "[remote][redis]") {
    RedisServer server;
    RemoteStore db3 = connect_to(server.url(3));
    REQUIRE(db3.put({key_for(7), arena_for(7), 0}));
    CHECK(server.client().dbsize() == 0);  // the raw client is on database 0
    CHECK(db3.get(key_for(7)));
    RemoteStore db0 = connect_to(server.url(0));
    CHECK(db0.get(key_for(7)).error().code == ErrorCode::not_found);
    RemoteStore unix3 = connect_to(server.unix_url(3));
    CHECK(unix3.get(key_for(7)));

    auto out_of_range = RemoteStore::connect(*parse_remote_url(server.url(999)), quick_options());
    REQUIRE_FALSE(out_of_range);
    CHECK(out_of_range.error().code == ErrorCode::io);
    CHECK(contains(out_of_range.error().message, "SELECT 999 refused"));
}

TEST_CASE("fetched values are untrusted: damage and oversize values are refused", "[remote][redis]") {
    RedisServer server;
    auto raw = server.client();
    RemoteStore store = connect_to(server.url());
    const auto arena = arena_for(3);
    const std::string name = remote_key_name(key_for(3));

    SECTION("a flipped byte in the data") {
        std::string damaged = as_string(arena);
        damaged[damaged.size() - 3] ^= 0x20;
        raw.set(name, damaged);
        auto got = store.get(key_for(3));
        REQUIRE_FALSE(got);
        CHECK(got.error().code == ErrorCode::checksum_mismatch);
        CHECK(contains(got.error().message, name));
    }
    SECTION("a truncated value") {
        raw.set(name, as_string(arena).substr(0, arena.size() / 2));
        auto got = store.get(key_for(3));
        REQUIRE_FALSE(got);
        CHECK(got.error().code == ErrorCode::truncated);
    }
    SECTION("something that is not an arena at all") {
        raw.set(name, "hello, this is not an arena but it is long enough to have a header of 128 bytes, or is it? "
                      "it needs to be longer than that, so here are some more words.");
        auto got = store.get(key_for(3));
        REQUIRE_FALSE(got);
        CHECK(got.error().code == ErrorCode::bad_magic);
    }
    SECTION("a value over the size cap is refused without transferring it") {
        raw.set(name, std::string(100'000, 'x'));
        RemoteOptions capped = quick_options();
        capped.max_value_bytes = 1000;
        RemoteStore small = connect_to(server.url(), capped);
        auto got = small.get(key_for(3));
        REQUIRE_FALSE(got);
        CHECK(got.error().code == ErrorCode::limit_exceeded);
        CHECK(contains(got.error().message, "longer than the cap of 1000 bytes"));
        // The connection is still good: the refusal was about the value.
        REQUIRE(small.put({key_for(4), arena_for(4), 0}));
    }
    SECTION("a value of another type than string") {
        raw.command({"LPUSH", name, "x"});
        auto got = store.get(key_for(3));
        REQUIRE_FALSE(got);
        CHECK(got.error().code == ErrorCode::io);
        CHECK(contains(got.error().message, "WRONGTYPE"));
    }
}

TEST_CASE("put refuses what a reader would refuse, and sends nothing", "[remote][redis]") {
    RedisServer server;
    RemoteStore store = connect_to(server.url());
    auto arena = arena_for(5);
    arena[arena.size() - 1] ^= std::byte{1};
    auto bad = store.put({key_for(5), arena, 0});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == ErrorCode::invalid_argument);

    RemoteOptions capped = quick_options();
    capped.max_value_bytes = 64;
    RemoteStore small = connect_to(server.url(), capped);
    auto big = small.put({key_for(6), arena_for(6), 0});
    REQUIRE_FALSE(big);
    CHECK(big.error().code == ErrorCode::limit_exceeded);
    CHECK(server.client().dbsize() == 0);
}

TEST_CASE("put_batch stores many arenas with pipelined SETs; one bad arena and nothing is sent", "[remote][redis]") {
    RedisServer server;
    auto raw = server.client();
    RemoteStore store = connect_to(server.unix_url());
    std::vector<std::vector<std::byte>> arenas;
    for (std::uint64_t i = 0; i < 50; ++i) arenas.push_back(arena_for(i));
    std::vector<PutRequest> batch;
    for (std::uint64_t i = 0; i < 50; ++i) batch.push_back({key_for(i), arenas[i], 0});
    REQUIRE(store.put_batch(batch));
    CHECK(raw.dbsize() == 50);
    for (std::uint64_t i = 0; i < 50; ++i) {
        auto got = store.get(key_for(i));
        REQUIRE(got);
        CHECK(as_string(got->view().bytes()) == as_string(arenas[i]));
    }
    CHECK(store.put_batch({}));

    arenas[10].back() ^= std::byte{1};
    for (std::uint64_t i = 0; i < 50; ++i) batch[i] = {key_for(100 + i), arenas[i], 0};
    auto bad = store.put_batch(batch);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == ErrorCode::invalid_argument);
    CHECK(contains(bad.error().message, remote_key_name(key_for(110))));
    CHECK(raw.dbsize() == 50);
}

TEST_CASE("AUTH: the right password works; a wrong or missing one is a clear error", "[remote][redis][auth]") {
    RedisServer server({"correct-horse", {}});
    RemoteStore good = connect_to(server.url());  // the URL carries the password
    REQUIRE(good.put({key_for(1), arena_for(1), 0}));
    REQUIRE(connect_to(server.unix_url()).get(key_for(1)));

    auto wrong = RemoteStore::connect(*parse_remote_url("redis://:battery-staple@127.0.0.1:" + std::to_string(server.port())),
                                      quick_options());
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().code == ErrorCode::io);
    CHECK(contains(wrong.error().message, "AUTH refused"));
    CHECK(contains(wrong.error().message, "WRONGPASS"));
    CHECK_FALSE(contains(wrong.error().message, "battery-staple"));

    // Without a password the connection succeeds and the first command is refused.
    RemoteStore anonymous = connect_to("redis://127.0.0.1:" + std::to_string(server.port()));
    auto got = anonymous.get(key_for(1));
    REQUIRE_FALSE(got);
    CHECK(got.error().code == ErrorCode::io);
    CHECK(contains(got.error().message, "NOAUTH"));
}

TEST_CASE("timeouts: a server that accepts but never answers, and one that never accepts", "[remote][timeout]") {
    SECTION("operation timeout") {
        SilentServer silent;
        RemoteStore store = connect_to(silent.url());  // the kernel completes the handshake
        auto got = store.get(key_for(1));
        REQUIRE_FALSE(got);
        CHECK(got.error().code == ErrorCode::timeout);
        CHECK(contains(got.error().message, "no answer to GETRANGE jdc:a2:"));
        CHECK(contains(got.error().message, "within 300 ms"));
        // The connection is unusable afterwards, and says so without waiting again.
        auto again = store.ping();
        REQUIRE_FALSE(again);
        CHECK(contains(again.error().message, "failed earlier"));
    }
    SECTION("connect timeout") {
        SilentServer full(0);
        full.fill_backlog();  // Linux now drops new SYNs: connect() hangs
        auto connected = RemoteStore::connect(*parse_remote_url(full.url()), quick_options());
        REQUIRE_FALSE(connected);
        CHECK(connected.error().code == ErrorCode::timeout);
        CHECK(contains(connected.error().message, "no answer to connect within 300 ms"));
    }
    SECTION("AUTH to a server that never answers times out too") {
        SilentServer silent;
        auto connected = RemoteStore::connect(*parse_remote_url("redis://:pw@127.0.0.1:" + std::to_string(silent.port())), quick_options());
        REQUIRE_FALSE(connected);
        CHECK(connected.error().code == ErrorCode::timeout);
    }
}

TEST_CASE("connection failures are io errors naming the endpoint", "[remote]") {
    const std::uint16_t nobody = jdc::testing::free_loopback_port();
    auto refused = RemoteStore::connect(*parse_remote_url("redis://127.0.0.1:" + std::to_string(nobody)), quick_options());
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == ErrorCode::io);
    CHECK(contains(refused.error().message, "redis://127.0.0.1:" + std::to_string(nobody) + "/0"));
    CHECK(contains(refused.error().message, "refused"));

    auto no_socket = RemoteStore::connect(*parse_remote_url("redis+unix:///nonexistent/redis.sock"), quick_options());
    REQUIRE_FALSE(no_socket);
    CHECK(no_socket.error().code == ErrorCode::io);
    CHECK(contains(no_socket.error().message, "/nonexistent/redis.sock"));

    RemoteOptions bad = quick_options();
    bad.operation_timeout_ms = 0;
    auto invalid = RemoteStore::connect(*parse_remote_url("redis://127.0.0.1"), bad);
    REQUIRE_FALSE(invalid);
    CHECK(invalid.error().code == ErrorCode::invalid_argument);
}

TEST_CASE("a server killed under an open connection is an io error, and SIGPIPE does not kill the process", "[remote][redis][sigpipe]") {
    // The test means something only if SIGPIPE would kill this process.
    struct sigaction current {};
    REQUIRE(sigaction(SIGPIPE, nullptr, &current) == 0);
    REQUIRE(current.sa_handler == SIG_DFL);

    SECTION("the server closed the connection; a large put writes twice and meets EPIPE") {
        SilentServer server;
        RemoteStore store = connect_to(server.url());
        server.close_next_connection();
        const auto large = arena_for(1, 30'000);  // ~2 MiB: more than the socket buffers take at once
        REQUIRE(large.size() > 1'000'000);
        auto put = store.put({key_for(1), large, 0});
        REQUIRE_FALSE(put);
        CHECK(put.error().code == ErrorCode::io);
        CHECK(contains(put.error().message, "Broken pipe"));
    }
    SECTION("redis-server killed with SIGKILL") {
        RedisServer server;
        RemoteStore store = connect_to(server.url());
        REQUIRE(store.put({key_for(1), arena_for(1), 0}));
        server.kill();
        auto got = store.get(key_for(1));
        REQUIRE_FALSE(got);
        CHECK(got.error().code == ErrorCode::io);
        auto put = store.put({key_for(2), arena_for(2, 30'000), 0});
        REQUIRE_FALSE(put);
    }
    // The guard leaves the thread as it found it: SIGPIPE neither blocked nor pending,
    // and its disposition untouched.
    sigset_t mask, pending;
    REQUIRE(pthread_sigmask(SIG_BLOCK, nullptr, &mask) == 0);
    CHECK(sigismember(&mask, SIGPIPE) == 0);
    REQUIRE(sigpending(&pending) == 0);
    CHECK(sigismember(&pending, SIGPIPE) == 0);
    REQUIRE(sigaction(SIGPIPE, nullptr, &current) == 0);
    CHECK(current.sa_handler == SIG_DFL);
}

TEST_CASE("a SIGPIPE blocked and pending before a command is left for its owner", "[remote][sigpipe]") {
    sigset_t pipe, previous, pending;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    REQUIRE(pthread_sigmask(SIG_BLOCK, &pipe, &previous) == 0);
    REQUIRE(pthread_kill(pthread_self(), SIGPIPE) == 0);

    SilentServer server;
    RemoteStore store = connect_to(server.url());
    server.close_next_connection();
    CHECK_FALSE(store.put({key_for(1), arena_for(1, 30'000), 0}));

    REQUIRE(sigpending(&pending) == 0);
    CHECK(sigismember(&pending, SIGPIPE) == 1);  // still there: it was not ours to consume
    sigset_t mask;
    REQUIRE(pthread_sigmask(SIG_BLOCK, nullptr, &mask) == 0);
    CHECK(sigismember(&mask, SIGPIPE) == 1);  // the caller's mask is restored as it was
    const timespec no_wait{0, 0};
    CHECK(sigtimedwait(&pipe, nullptr, &no_wait) == SIGPIPE);
    REQUIRE(pthread_sigmask(SIG_SETMASK, &previous, nullptr) == 0);
}

TEST_CASE("transfer compression: values go over the wire compressed and come back raw", "[remote][redis][compression]") {
    RedisServer server;
    auto raw = server.client();
    const CodecChoice codec = GENERATE(CodecChoice::automatic, CodecChoice::lz4);
    RemoteOptions options = quick_options();
    options.compression = CompressionPolicy::for_transfer();
    options.compression.codec = codec;
    options.compression.min_size = 1024;
    RemoteStore store = connect_to(server.url(), options);
    const auto large = arena_for(21, 64);  // ~5 KiB
    const auto small = arena_for(22);      // under 1 KiB: sent raw
    REQUIRE(large.size() > 1024);
    REQUIRE(small.size() < 1024);
    REQUIRE(store.put_batch(std::vector<PutRequest>{{key_for(21), large, 0}, {key_for(22), small, 0}}));

    const std::string sent = raw.get(remote_key_name(key_for(21))).value_or("");
    const std::span<const std::byte> sent_bytes(reinterpret_cast<const std::byte*>(sent.data()), sent.size());
    CHECK(payload_codec_of(sent_bytes) == (codec == CodecChoice::lz4 ? PayloadCodec::lz4 : PayloadCodec::zstd));
    CHECK(sent.size() < large.size());
    CHECK(raw.get(remote_key_name(key_for(22))) == as_string(small));

    // Any reader decodes it, whatever its own policy.
    RemoteStore reader = connect_to(server.url());
    auto got = reader.get(key_for(21));
    REQUIRE(got);
    CHECK(as_string(got->view().bytes()) == as_string(large));
}

TEST_CASE("transfer compression: damaged or oversized compressed values are refused", "[remote][redis][compression]") {
    RedisServer server;
    auto raw = server.client();
    const auto arena = arena_for(23, 64);
    auto packed = compress_arena(arena, PayloadCodec::zstd);
    REQUIRE(packed);
    const std::string name = remote_key_name(key_for(23));
    RemoteStore store = connect_to(server.url());

    SECTION("a flipped byte in the compressed data") {
        std::string damaged = as_string(*packed);
        damaged[damaged.size() - 3] ^= 0x20;
        raw.set(name, damaged);
        auto got = store.get(key_for(23));
        REQUIRE_FALSE(got);
        CHECK(got.error().code == ErrorCode::checksum_mismatch);
        CHECK(contains(got.error().message, name));
    }
    SECTION("a truncated compressed value") {
        raw.set(name, as_string(*packed).substr(0, packed->size() - 10));
        auto got = store.get(key_for(23));
        REQUIRE_FALSE(got);
        CHECK(got.error().code == ErrorCode::truncated);
    }
    SECTION("a value under the cap that would decompress over it") {
        raw.set(name, as_string(*packed));
        RemoteOptions capped = quick_options();
        capped.max_value_bytes = packed->size() + 16;  // the compressed value fits, its arena does not
        REQUIRE(capped.max_value_bytes < arena.size());
        RemoteStore small = connect_to(server.url(), capped);
        auto got = small.get(key_for(23));
        REQUIRE_FALSE(got);
        CHECK(got.error().code == ErrorCode::limit_exceeded);
        CHECK(contains(got.error().message, name));
    }
}

// ---------------------------------------------------------------- hostile servers (issue 20)
//
// A FakeRedis answers with what a real Redis never sends. Every reply is checked against
// what the command can answer before anything is buffered or allocated for it.

namespace {

// A deadline far beyond the idle bound, so that only the failure under test can fire.
RemoteOptions patient_options() {
    RemoteOptions o = quick_options();
    o.operation_timeout_ms = 2000;
    o.request_deadline_ms = 10'000;
    return o;
}

}  // namespace

TEST_CASE("a reply longer than GETRANGE asked for is a protocol error, refused before it is read", "[remote][hostile]") {
    // Attack 2: the declared length ignores the requested range; hiredis buffered the
    // whole gigabyte before the size cap was looked at.
    const std::uint64_t one_gib = std::uint64_t{1} << 30;
    FakeRedis server(huge_bulk(one_gib));
    RemoteStore store = connect_to(server.url(), patient_options());
    auto got = store.get(key_for(1));
    REQUIRE_FALSE(got);
    CHECK(got.error().code == ErrorCode::protocol);
    CHECK(contains(got.error().message, "protocol error in the reply to GETRANGE " + remote_key_name(key_for(1))));
    CHECK(contains(got.error().message, "a bulk string of 1073741824 bytes"));
    CHECK(contains(got.error().message, "at most " + std::to_string(kDefaultRemoteMaxValueBytes + 1) + " bytes"));
    CHECK(store.last_call().failure == RemoteFailure::protocol);
    CHECK(store.last_call().bytes_received <= 16 * 1024);  // one read buffer, nothing of the body kept
    CHECK_FALSE(store.usable());
    auto again = store.ping();
    REQUIRE_FALSE(again);
    CHECK(contains(again.error().message, "failed earlier"));
}

TEST_CASE("a reply one byte over the cap is a value over the cap: dropped, the connection kept", "[remote][hostile]") {
    // GETRANGE 0..cap returns cap + 1 bytes of a longer value: legitimate, and read
    // through the small buffer rather than allocated.
    RemoteOptions capped = patient_options();
    capped.max_value_bytes = 100'000;
    FakeRedis server([](FakeConnection& c, const std::vector<std::string>& command) {
        if (command[0] == "PING") c.send("+PONG\r\n");
        else if (command[0] == "GETRANGE") c.send(bulk(std::string(100'001, 'x')));
        else c.send("-ERR unexpected\r\n");
    });
    {
        RemoteStore store = connect_to(server.url(), capped);
        auto got = store.get(key_for(1));
        REQUIRE_FALSE(got);
        CHECK(got.error().code == ErrorCode::limit_exceeded);
        CHECK(contains(got.error().message, "longer than the cap of 100000 bytes"));
        CHECK(store.last_call().failure == RemoteFailure::rejected);
        CHECK(store.last_call().bytes_received > 100'000);
        CHECK(store.usable());
        CHECK(store.ping());
    }  // the fake serves one connection at a time

    capped.max_value_bytes = 99'999;  // now the same reply is two bytes more than asked for
    RemoteStore stricter = connect_to(server.url(), capped);
    auto got = stricter.get(key_for(1));
    REQUIRE_FALSE(got);
    CHECK(got.error().code == ErrorCode::protocol);
}

TEST_CASE("replies a command cannot produce are protocol errors that close the connection", "[remote][hostile]") {
    // Attack 11: "*999999999" made hiredis allocate an array of a billion pointers.
    struct Case {
        std::string reply;
        std::string expected;
    };
    SECTION("GETRANGE") {
        const std::vector<Case> cases = {
            {"*999999999\r\n", "unexpected array reply (*999999999)"},
            {"*1\r\n$2\r\nOK\r\n", "unexpected array reply"},
            {":1\r\n", "unexpected integer reply"},
            {"+OK\r\n", "unexpected status reply '+OK'"},
            {"_\r\n", "unknown type '_'"},
            {">2\r\n", "unknown type '>'"},
            {"%1\r\n", "unknown type '%'"},
            {"\x1b[2J\r\n", "unknown type '\\x1b'"},
            {"\r\n", "an empty line"},
            {"$-2\r\n", "malformed bulk string length '-2'"},
            {"$12abc\r\n", "malformed bulk string length '12abc'"},
            {"$99999999999999999999999\r\n", "malformed bulk string length"},
            {"$5\r\nhelloXY", "not followed by CRLF"},
            {"$5\n", "ends in LF without CR"},
            {"+" + std::string(5000, 'x'), "longer than 4096 bytes"},
        };
        for (const Case& c : cases) {
            INFO("reply: " << c.reply.substr(0, 40));
            FakeRedis server(answer(c.reply));
            RemoteStore store = connect_to(server.url(), patient_options());
            auto got = store.get(key_for(1));
            REQUIRE_FALSE(got);
            CHECK(got.error().code == ErrorCode::protocol);
            CHECK(contains(got.error().message, c.expected));
            CHECK(store.last_call().failure == RemoteFailure::protocol);
            CHECK_FALSE(store.usable());
        }
    }
    SECTION("SET, PING, AUTH") {
        for (const std::string reply : {"$2\r\nOK\r\n", "+QUEUED\r\n", ":1\r\n", "*1\r\n"}) {
            INFO("reply: " << reply);
            FakeRedis server(answer(reply));
            RemoteStore store = connect_to(server.url(), patient_options());
            auto put = store.put({key_for(1), arena_for(1), 0});
            REQUIRE_FALSE(put);
            CHECK(put.error().code == ErrorCode::protocol);
            CHECK(contains(put.error().message, "SET answers +OK or an error"));
        }
        for (const std::string reply : {"+OK\r\n", "$4\r\nPONG\r\n"}) {
            FakeRedis server(answer(reply));
            RemoteStore store = connect_to(server.url(), patient_options());
            auto ping = store.ping();
            REQUIRE_FALSE(ping);
            CHECK(ping.error().code == ErrorCode::protocol);
        }
        FakeRedis server(answer("*999999999\r\n"));
        auto connected = RemoteStore::connect(*parse_remote_url("redis://:pw@127.0.0.1:" + std::to_string(server.port())), patient_options());
        REQUIRE_FALSE(connected);
        CHECK(connected.error().code == ErrorCode::protocol);
        CHECK(contains(connected.error().message, "in the reply to AUTH"));
        CHECK_FALSE(contains(connected.error().message, "pw"));
    }
}

TEST_CASE("bytes after a complete reply are a protocol error of the next request", "[remote][hostile]") {
    // Sent in one write with the +OK they follow, so they are read with it.
    FakeRedis server(answer("+OK\r\n$5\r\nhello\r\n"));
    RemoteStore store = connect_to(server.url(), patient_options());
    REQUIRE(store.put({key_for(1), arena_for(1), 0}));
    auto got = store.get(key_for(1));
    REQUIRE_FALSE(got);
    CHECK(got.error().code == ErrorCode::protocol);
    CHECK(contains(got.error().message, "11 bytes arrived after the previous reply, unasked: '$5\\x0d\\x0ahello\\x0d\\x0a'"));
}

TEST_CASE("a server that drips its answer gets the request deadline", "[remote][hostile][timeout]") {
    // Attack 3: a byte every interval never trips the idle timeout; the deadline bounds
    // the whole request. Each reply below takes 4 intervals (400 ms) to drip, twice the
    // deadline, and the idle timeout (2 s) is never reached.
    RemoteOptions options = patient_options();
    options.request_deadline_ms = 200;
    const auto interval = std::chrono::milliseconds(100);
    const auto expect_deadline = [&](const Error& e, RemoteStore* store) {
        CHECK(e.code == ErrorCode::timeout);
        CHECK(contains(e.message, "did not complete within the request deadline of 200 ms"));
        if (store != nullptr) {
            CHECK(store->last_call().failure == RemoteFailure::timeout);
            CHECK_FALSE(store->usable());
        }
    };
    SECTION("get") {
        FakeRedis server(drip("$0\r\n\r\n", interval));
        RemoteStore store = connect_to(server.url(), options);
        auto got = store.get(key_for(1));
        REQUIRE_FALSE(got);
        expect_deadline(got.error(), &store);
    }
    SECTION("put and put_batch") {
        FakeRedis server(drip("+OK\r\n", interval));
        RemoteStore store = connect_to(server.url(), options);
        auto put = store.put({key_for(1), arena_for(1), 0});
        REQUIRE_FALSE(put);
        expect_deadline(put.error(), &store);
        RemoteStore batch = connect_to(server.url(), options);
        auto put_batch = batch.put_batch(std::vector<PutRequest>{{key_for(1), arena_for(1), 0}, {key_for(2), arena_for(2), 0}});
        REQUIRE_FALSE(put_batch);
        expect_deadline(put_batch.error(), &batch);
    }
    SECTION("ping") {
        FakeRedis server(drip("+PONG\r\n", interval));
        RemoteStore store = connect_to(server.url(), options);
        auto ping = store.ping();
        REQUIRE_FALSE(ping);
        expect_deadline(ping.error(), &store);
    }
    SECTION("AUTH") {
        FakeRedis server(drip("+OK\r\n", interval));
        auto connected = RemoteStore::connect(*parse_remote_url("redis://:pw@127.0.0.1:" + std::to_string(server.port())), options);
        REQUIRE_FALSE(connected);
        expect_deadline(connected.error(), nullptr);
    }
}

TEST_CASE("a compressed value declaring the whole cap is refused before it is decoded", "[remote][hostile][compression]") {
    // Attack 4: ~2 KiB of zstd declaring exactly the 64 MiB cap passed every check
    // before decoding; each lookup allocated and decoded 64 MiB.
    const auto bomb = jdc::testing::compression_bomb(PayloadCodec::zstd, kDefaultRemoteMaxValueBytes);
    REQUIRE(bomb.size() < 8 * 1024);
    FakeRedis server(answer(bulk(as_string(bomb))));
    RemoteStore store = connect_to(server.url(), patient_options());
    auto got = store.get(key_for(1));
    REQUIRE_FALSE(got);
    CHECK(got.error().code == ErrorCode::limit_exceeded);
    CHECK(contains(got.error().message, "more than 64 times"));
    CHECK(store.last_call().failure == RemoteFailure::rejected);
    CHECK(store.last_call().bytes_decoded == 0);
    CHECK(store.usable());
}

TEST_CASE("a connection closed before or during a reply is an io error", "[remote][hostile]") {
    SECTION("in the middle of a bulk string") {
        FakeRedis server(close_after("$100\r\nabc"));
        RemoteStore store = connect_to(server.url(), patient_options());
        auto got = store.get(key_for(1));
        REQUIRE_FALSE(got);
        CHECK(got.error().code == ErrorCode::io);
        CHECK(contains(got.error().message, "closed the connection in the middle of the reply"));
        CHECK(store.last_call().failure == RemoteFailure::io);
        CHECK_FALSE(store.usable());
    }
    SECTION("before answering") {
        FakeRedis server(close_after(""));
        RemoteStore store = connect_to(server.url(), patient_options());
        auto ping = store.ping();
        REQUIRE_FALSE(ping);
        CHECK(ping.error().code == ErrorCode::io);
        CHECK(contains(ping.error().message, "closed the connection without answering"));
    }
}

TEST_CASE("an error reply is quoted safely and keeps the connection usable", "[remote][hostile]") {
    FakeRedis server([](FakeConnection& c, const std::vector<std::string>& command) {
        if (command[0] == "PING") c.send("+PONG\r\n");
        else c.send("-WRONGTYPE \x1b[31mred\x1b[0m\r\n");
    });
    RemoteStore store = connect_to(server.url(), patient_options());
    auto got = store.get(key_for(1));
    REQUIRE_FALSE(got);
    CHECK(got.error().code == ErrorCode::io);
    CHECK(contains(got.error().message, "refused: WRONGTYPE \\x1b[31mred\\x1b[0m"));
    CHECK_FALSE(contains(got.error().message, "\x1b"));
    CHECK(store.last_call().failure == RemoteFailure::refused);
    CHECK(store.usable());
    CHECK(store.ping());
    CHECK(store.last_call().failure == RemoteFailure::none);
}

TEST_CASE("last_call() counts the bytes sent, received and decoded by each call", "[remote][redis][compression]") {
    RedisServer server;
    RemoteOptions options = quick_options();
    options.compression = CompressionPolicy::for_transfer();
    options.compression.min_size = 1024;
    RemoteStore store = connect_to(server.url(), options);
    const auto large = arena_for(31, 64);
    const auto small = arena_for(32);
    REQUIRE(store.put_batch(std::vector<PutRequest>{{key_for(31), large, 0}, {key_for(32), small, 0}}));
    const RemoteCallStats put = store.last_call();
    CHECK(put.failure == RemoteFailure::none);
    CHECK(put.bytes_sent > small.size());
    CHECK(put.bytes_sent < large.size() + small.size());  // the large one went compressed
    CHECK(put.bytes_received == 10);                      // +OK\r\n twice
    CHECK(put.bytes_decoded == 0);

    REQUIRE(store.get(key_for(31)));
    CHECK(store.last_call().bytes_decoded == large.size());
    CHECK(store.last_call().bytes_received < large.size());
    REQUIRE(store.get(key_for(32)));
    CHECK(store.last_call().bytes_decoded == 0);
    CHECK(store.last_call().bytes_received > small.size());

    auto miss = store.get(key_for(33));
    REQUIRE_FALSE(miss);
    CHECK(store.last_call().failure == RemoteFailure::none);  // a miss is no failure
    CHECK(store.last_call().bytes_received == 6);             // $0\r\n\r\n

    RemoteOptions capped = options;
    capped.max_value_bytes = 64;
    RemoteStore small_cap = connect_to(server.url(), capped);
    CHECK_FALSE(small_cap.put({key_for(34), large, 0}));
    CHECK(small_cap.last_call().failure == RemoteFailure::not_sent);
    CHECK(small_cap.last_call().bytes_sent == 0);
}

TEST_CASE("the TTL is capped at what Redis accepts", "[remote][redis]") {
    // Attack 10: a TTL Redis refuses made every put fail, and the remote switch off.
    RedisServer server;
    RemoteOptions options = quick_options();
    options.ttl_seconds = kRemoteMaxTtlSeconds;
    RemoteStore store = connect_to(server.url(), options);
    REQUIRE(store.put({key_for(1), arena_for(1), 0}));
    CHECK(server.client().ttl(remote_key_name(key_for(1))) > 0);

    for (std::uint64_t ttl : {kRemoteMaxTtlSeconds + 1, std::uint64_t{1} << 63, ~std::uint64_t{0}}) {
        options.ttl_seconds = ttl;
        auto over = RemoteStore::connect(*parse_remote_url(server.url()), options);
        REQUIRE_FALSE(over);
        CHECK(over.error().code == ErrorCode::invalid_argument);
        CHECK(contains(over.error().message, "a TTL of " + std::to_string(ttl) + " s is more than Redis accepts (at most 9000000000000000 s)"));
    }
}

TEST_CASE("deadlines and timeouts out of range are refused at connect", "[remote]") {
    for (std::uint32_t ms : {0u, 600'001u}) {
        RemoteOptions options = quick_options();
        options.request_deadline_ms = ms;
        auto invalid = RemoteStore::connect(*parse_remote_url("redis://127.0.0.1"), options);
        REQUIRE_FALSE(invalid);
        CHECK(invalid.error().code == ErrorCode::invalid_argument);
        CHECK(contains(invalid.error().message, "the request deadline is " + std::to_string(ms) + " ms; it must be from 1 to 600000 ms"));
    }
}
