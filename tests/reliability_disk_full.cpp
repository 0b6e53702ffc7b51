// Reliability: a full disk, simulated with RLIMIT_FSIZE in a forked child.
//
// With SIGXFSZ ignored, a write past the limit fails with EFBIG instead of killing
// the process, the way a full disk fails it with ENOSPC: every jdc write path meets
// it. Each scenario runs one kind of write in a child under a limit chosen so that it
// fails at a different step (staging an arena, growing the index after the arenas
// were staged, rebuilding the index, recreating a missing index, saving the
// dependency state). The claims: the call fails with an io error that names the
// reason; afterwards, without the limit, every entry cached before is served with its
// bytes, nothing of the failed write is indexed or published half-written, no
// temporary file is left, and the store is valid.
#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>

#include <sys/resource.h>
#include <unistd.h>

#include "jdc/dependency_tracker.hpp"
#include "jdc/local_store.hpp"
#include "support/arena_samples.hpp"
#include "support/child_process.hpp"
#include "support/store_checks.hpp"
#include "support/temp_dir.hpp"

using namespace jdc;
using jdc::testing::arena_for;
using jdc::testing::key_for;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kCached = 30;  // entries put before the disk fills: an index of 64 slots

// Child exit codes.
enum Exit { kClearError = 0, kSucceeded = 1, kOtherError = 2, kSetupFailed = 3 };

// Runs `write` in a child whose files cannot grow past `limit` bytes.
testing::ChildOutcome under_file_size_limit(rlim_t limit, const std::function<Result<void>()>& write) {
    return testing::run_in_child([&] {
        ::signal(SIGXFSZ, SIG_IGN);
        const struct rlimit lim {limit, limit};
        if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) return kSetupFailed;
        const Result<void> r = write();
        if (r) return kSucceeded;
        const bool clear = r.error().code == ErrorCode::io && r.error().message.find(std::strerror(EFBIG)) != std::string::npos;
        if (!clear) std::fprintf(stderr, "unclear error: %s\n", r.error().message.c_str());
        return clear ? kClearError : kOtherError;
    });
}

Result<void> put_many(const fs::path& root, std::uint64_t first, std::uint64_t count, std::uint32_t implementations) {
    auto store = LocalStore::open(root);
    if (!store) return tl::unexpected(store.error());
    std::vector<std::vector<std::byte>> arenas;
    std::vector<PutRequest> batch;
    for (std::uint64_t n = first; n < first + count; ++n) arenas.push_back(arena_for(n, implementations));
    for (std::uint64_t i = 0; i < count; ++i) batch.push_back({key_for(first + i), arenas[i]});
    return store->put_batch(batch);
}

}  // namespace

TEST_CASE("a full disk fails every kind of write with a clear error and loses nothing", "[reliability][disk-full]") {
    testing::TempDir dir;
    const fs::path state_file = dir.path / "deps.jdcd";
    {
        auto store = LocalStore::open(dir.path);
        REQUIRE(store);
        for (std::uint64_t n = 0; n < kCached; ++n) REQUIRE(store->put({key_for(n), arena_for(n)}));
        DependencyTracker deps;
        const fs::path sources[] = {"/src/b.jn", "/src/c.jn"};
        REQUIRE(deps.set_imports("/src/a.jn", sources));
        REQUIRE(deps.save(state_file));
    }
    const auto state_before = read_file_bytes(state_file, 1 << 20);
    REQUIRE(state_before);
    REQUIRE(arena_for(100, 200).size() > 8192);
    REQUIRE(arena_for(100, 4).size() < 2048);

    struct Scenario {
        const char* name;
        rlim_t limit;
        std::function<Result<void>()> write;
        std::uint64_t first_new_key, new_keys;
    };
    const Scenario scenarios[] = {
        // Staging the arena's temporary file fails (posix_fallocate or write).
        {"an arena larger than the room left", 8192, [&] { return put_many(dir.path, 100, 1, 200); }, 100, 1},
        // Every arena stages, then growing the index (8,384 bytes for 128 slots) fails.
        {"a batch whose index growth does not fit", 8192, [&] { return put_many(dir.path, 200, 20, 4); }, 200, 20},
        // The new index (4,288 bytes for 64 slots) cannot be written.
        {"rebuilding the index", 4096,
         [&]() -> Result<void> {
             auto store = LocalStore::open(dir.path);
             if (!store) return tl::unexpected(store.error());
             return store->rebuild_index("disk full test");
         },
         0, 0},
        // A missing index must be recreated before anything can be served.
        {"opening a store whose index is missing", 4096,
         [&]() -> Result<void> {
             fs::remove(dir.path / "index.jdci");
             auto store = LocalStore::open(dir.path);
             if (!store) return tl::unexpected(store.error());
             return {};
         },
         0, 0},
        {"saving the dependency state", 64,
         [&]() -> Result<void> {
             DependencyTracker deps;
             const fs::path sources[] = {"/src/d.jn", "/src/e.jn", "/src/f.jn"};
             if (auto r = deps.set_imports("/src/a.jn", sources); !r) return r;
             return deps.save(state_file);
         },
         0, 0},
    };
    for (const Scenario& s : scenarios) {
        INFO("scenario: " << s.name);
        const testing::ChildOutcome outcome = under_file_size_limit(s.limit, s.write);
        INFO("child " << outcome.describe() << " (0: clear io error, 1: succeeded, 2: other error)");
        CHECK(outcome.ok());

        auto store = LocalStore::open(dir.path);
        REQUIRE(store);
        for (std::uint64_t n = 0; n < kCached; ++n) CHECK(testing::serves(*store, key_for(n), arena_for(n)));
        for (std::uint64_t n = s.first_new_key; n < s.first_new_key + s.new_keys; ++n) {
            CHECK_FALSE(store->find(key_for(n)));
            CHECK_FALSE(fs::exists(store->loose_path(key_for(n))));
        }
        CHECK(testing::is_empty_directory(dir.path / "tmp"));
        for (const auto& f : fs::directory_iterator(dir.path))  // the state file is staged beside itself
            CHECK(f.path().filename().string().find(".tmp.") == std::string::npos);
        const auto state_now = read_file_bytes(state_file, 1 << 20);
        REQUIRE(state_now);
        CHECK(*state_now == *state_before);
        testing::check_store_valid(dir.path);
    }
    std::printf("reliability: disk full: %zu scenarios, each a clear io error, %llu entries intact\n", std::size(scenarios),
                static_cast<unsigned long long>(kCached));
}
