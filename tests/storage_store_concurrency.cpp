// Multi-process tests of the local store: several processes writing, reading and
// evicting one directory, and writers killed with SIGKILL at random moments.
// Bounded and seeded: fixed operation counts, fixed kill schedule per seed.
#include <catch2/catch.hpp>

#include <csignal>
#include <random>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

#include "jdc/local_store.hpp"
#include "support/arena_samples.hpp"
#include "support/store_checks.hpp"
#include "support/temp_dir.hpp"

using namespace jdc;
using jdc::testing::arena_for;
using jdc::testing::key_for;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kKeys = 40;

// Child exit codes, so a failure says what went wrong.
enum ChildExit { kOk = 0, kOpenFailed = 10, kPutFailed = 11, kBadGet = 12, kWrongBytes = 13, kEvictFailed = 14 };

int worker(const fs::path& root, std::uint64_t seed, int operations, const StoreOptions& options) {
    auto store = LocalStore::open(root, options);
    if (!store) return kOpenFailed;
    std::mt19937_64 rng(seed);
    std::vector<std::vector<std::byte>> arenas(kKeys);
    for (std::uint64_t n = 0; n < kKeys; ++n) arenas[n] = arena_for(n, 3);
    for (int op = 0; op < operations; ++op) {
        const std::uint64_t n = rng() % kKeys;
        const unsigned what = rng() % 10;
        if (what < 4) {
            if (!store->put({key_for(n), arenas[n]})) return kPutFailed;
        } else if (what < 9) {
            auto got = store->get(key_for(n));
            if (!got) {
                if (got.error().code != ErrorCode::not_found) return kBadGet;
                continue;
            }
            const auto bytes = got->view().bytes();
            if (!std::equal(bytes.begin(), bytes.end(), arenas[n].begin(), arenas[n].end())) return kWrongBytes;
        } else {
            if (!store->evict()) return kEvictFailed;
        }
    }
    return kOk;
}

}  // namespace

TEST_CASE("four processes writing, reading and evicting under a tiny size limit stay consistent", "[store][multiprocess]") {
    testing::TempDir dir;
    // The limit bounds the directory: what it takes besides the entries (index, shard
    // directories) with every key stored, plus room for 8 entries, far below the 40.
    std::uint64_t fixed_bytes = 0;
    {
        testing::TempDir full;
        auto store = LocalStore::open(full.path);
        REQUIRE(store);
        for (std::uint64_t n = 0; n < kKeys; ++n) REQUIRE(store->put({key_for(n), arena_for(n, 3)}));
        fixed_bytes = store->budget().fixed_bytes;
    }
    StoreOptions options;
    options.max_size_bytes = fixed_bytes + 8 * (arena_for(0, 3).size() + kPackBytesPerEntry);
    options.reader_grace_ns = 0;                           // so eviction really competes with readers
    constexpr int kProcesses = 4;
    constexpr int kOperations = 400;
    std::vector<pid_t> children;
    for (int p = 0; p < kProcesses; ++p) {
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) ::_exit(worker(dir.path, 100 + p, kOperations, options));
        children.push_back(pid);
    }
    for (pid_t pid : children) {
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        INFO("child exit status " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1));
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == kOk);
    }
    testing::check_store_valid(dir.path);
    auto store = LocalStore::open(dir.path);
    REQUIRE(store);
    const IndexSummary s = store->stats().index;
    CHECK(s.evictions > 0);
    CHECK(s.hits > 0);
    CHECK(s.corrupt_drops == 0);
}

TEST_CASE("writers killed with SIGKILL at random moments lose nothing published", "[store][crash]") {
    testing::TempDir dir;
    StoreOptions options;
    options.max_size_bytes = 12 * arena_for(0, 3).size();
    options.reader_grace_ns = 0;
    std::mt19937_64 rng(2024);
    int kills = 0;
    auto spawn = [&](std::uint64_t seed) {
        const pid_t pid = ::fork();
        if (pid == 0) ::_exit(worker(dir.path, seed, 1'000'000, options));  // runs until killed
        return pid;
    };
    std::vector<pid_t> writers;
    for (int w = 0; w < 3; ++w) writers.push_back(spawn(500 + w));
    for (int round = 0; round < 25; ++round) {
        std::this_thread::sleep_for(std::chrono::microseconds(2000 + rng() % 20000));
        const std::size_t victim = rng() % writers.size();
        ::kill(writers[victim], SIGKILL);
        int status = 0;
        ::waitpid(writers[victim], &status, 0);
        if (WIFSIGNALED(status)) ++kills;
        writers[victim] = spawn(600 + round);
    }
    for (pid_t pid : writers) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    }
    CHECK(kills >= 20);

    // Reopening repairs what the kills left (a dirty index is rebuilt); cleanup
    // removes the temp files of the dead writers (all writers are gone: no grace).
    {
        StoreOptions no_grace;
        no_grace.temp_grace_ns = 0;
        auto store = LocalStore::open(dir.path, no_grace);
        REQUIRE(store);
        auto report = store->cleanup();
        REQUIRE(report);
    }
    for (const auto& f : fs::directory_iterator(dir.path / "tmp")) FAIL("temp file left behind: " << f.path());
    testing::check_store_valid(dir.path);
}
