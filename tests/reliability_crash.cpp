// Reliability: writers and a maintenance process killed with SIGKILL at random points.
//
// Each round starts two writers and one process that rebuilds the index, cleans up
// and evicts in a loop, and kills all three at random moments: once the writers have
// completed a random number of puts (so every round makes progress however slow the
// machine is), each after its own random delay of up to 4 ms (seeded). Writers report
// every put that returned success through a pipe, so the parent knows which puts
// completed. The claims checked after every round: the
// store opens (repairing whatever the kills left), and every completed put, of this
// round and all earlier ones, is served with its own bytes. At the end the store is
// valid and cleanup leaves no temporary file. The index grows several times along the
// way, so kills land in growth and rebuilds as well as in plain puts.
#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

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

constexpr int kRounds = 30;
constexpr std::uint32_t kKeysPerWriterRound = 150;

std::vector<std::byte> arena_of(std::uint32_t n) { return arena_for(n, 2 + n % 6); }

// Puts its keys one by one (every fourth step a batch of three), reporting each
// completed key; then waits to be killed.
[[noreturn]] void writer(const fs::path& root, std::uint32_t first_key, int report_fd, std::uint64_t seed) {
    auto store = LocalStore::open(root);
    if (!store) ::_exit(10);
    std::mt19937_64 rng(seed);
    std::uint32_t n = first_key;
    const std::uint32_t end = first_key + kKeysPerWriterRound;
    while (n < end) {
        const std::uint32_t count = rng() % 4 == 0 ? std::min<std::uint32_t>(3, end - n) : 1;
        std::vector<std::vector<std::byte>> bytes;
        std::vector<PutRequest> batch;
        for (std::uint32_t i = 0; i < count; ++i) bytes.push_back(arena_of(n + i));
        for (std::uint32_t i = 0; i < count; ++i) batch.push_back({key_for(n + i), bytes[i]});
        if (!store->put_batch(batch)) ::_exit(11);
        // Reported only after put returned: a key in the pipe is a completed put.
        for (std::uint32_t i = 0; i < count; ++i, ++n)
            if (::write(report_fd, &n, sizeof n) != static_cast<ssize_t>(sizeof n)) ::_exit(12);
    }
    for (;;) ::pause();
}

[[noreturn]] void maintainer(const fs::path& root, std::uint64_t seed) {
    auto store = LocalStore::open(root);
    if (!store) ::_exit(10);
    std::mt19937_64 rng(seed);
    for (;;) {
        // A rebuild holds the lock while it reads every file's header: not too often,
        // and a pause after each step, or the writers would mostly wait.
        switch (rng() % 8) {
            case 0: (void)store->rebuild_index("reliability test"); break;
            case 1:
            case 2: (void)store->cleanup(); break;
            default: (void)store->evict(); break;
        }
        ::usleep(500);
    }
}

}  // namespace

TEST_CASE("writers and maintenance killed with SIGKILL at random points lose no completed put", "[reliability][crash]") {
    testing::TempDir dir;
    std::mt19937_64 rng(20260117);
    std::vector<std::uint32_t> completed;
    int kills = 0, processes = 0;
    for (int round = 0; round < kRounds; ++round) {
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        std::vector<pid_t> children;
        for (std::uint32_t w = 0; w < 2; ++w) {
            const std::uint32_t first = (static_cast<std::uint32_t>(round) * 2 + w) * kKeysPerWriterRound;
            const std::uint64_t seed = rng();
            children.push_back(testing::spawn([&, first, seed] {
                ::close(fds[0]);
                writer(dir.path, first, fds[1], seed);
                return 0;
            }));
        }
        const std::uint64_t maintenance_seed = rng();
        children.push_back(testing::spawn([&] {
            ::close(fds[0]);
            ::close(fds[1]);  // so the pipe ends when both writers do
            maintainer(dir.path, maintenance_seed);
            return 0;
        }));
        ::close(fds[1]);
        processes += static_cast<int>(children.size());

        // After a random number of completed puts, kill the three at independent
        // random moments within the next 4 ms.
        const std::size_t before = completed.size();
        const std::size_t wait_for_puts = rng() % 25;
        std::uint32_t n = 0;
        while (completed.size() - before < wait_for_puts && ::read(fds[0], &n, sizeof n) == static_cast<ssize_t>(sizeof n))
            completed.push_back(n);
        std::vector<std::pair<int, pid_t>> schedule;
        for (pid_t pid : children) schedule.emplace_back(static_cast<int>(rng() % 4'000), pid);
        std::sort(schedule.begin(), schedule.end());
        int slept = 0;
        for (const auto& [at, pid] : schedule) {
            std::this_thread::sleep_for(std::chrono::microseconds(at - slept));
            slept = at;
            ::kill(pid, SIGKILL);
        }
        for (pid_t pid : children) {
            const testing::ChildOutcome outcome = testing::wait_for(pid);
            INFO("round " << round << ": child " << outcome.describe());
            CHECK(outcome.signal == SIGKILL);
            if (outcome.signal == SIGKILL) ++kills;
        }
        while (::read(fds[0], &n, sizeof n) == static_cast<ssize_t>(sizeof n)) completed.push_back(n);
        ::close(fds[0]);

        // Recovery, then every completed put of this round is there with its bytes.
        auto store = LocalStore::open(dir.path);
        REQUIRE(store);
        for (std::size_t i = before; i < completed.size(); ++i) {
            INFO("round " << round << ", key " << completed[i]);
            CHECK(testing::serves(*store, key_for(completed[i]), arena_of(completed[i])));
        }
    }

    // Every completed put of every round, once more after all the later kills.
    {
        StoreOptions no_grace;
        no_grace.temp_grace_ns = 0;  // every writer is dead: their temporary files are garbage
        auto store = LocalStore::open(dir.path, no_grace);
        REQUIRE(store);
        std::uint64_t missing = 0;
        for (std::uint32_t n : completed)
            if (!testing::serves(*store, key_for(n), arena_of(n))) ++missing;
        CHECK(missing == 0);
        REQUIRE(store->cleanup());
    }
    CHECK(kills == processes);  // nobody ends any other way: writers wait to be killed
    std::printf("reliability: crash: %d rounds, %d processes, %d SIGKILLs, %zu completed puts all readable\n", kRounds,
                processes, kills, completed.size());
    testing::check_store_valid(dir.path);
    CHECK(testing::is_empty_directory(dir.path / "tmp"));
}
