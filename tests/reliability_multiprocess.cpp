// Reliability: writers, readers, an evictor and a rebuilder on one store at once.
//
// Every key has exactly one arena (as in a content-addressed cache), so a reader can
// tell a wrong table from a right one byte for byte. Readers use all three load modes
// (read, map, automatic) and keep some arenas alive across later operations, so
// mappings of files that evictions unlink and index files that growth and rebuilds
// replace stay in use. The size limit is a fraction of the keys' total, so eviction
// runs all the time. Bounded by operation counts, seeded, no timing assumptions.
#include <catch2/catch.hpp>

#include <cstdio>
#include <random>
#include <vector>

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

constexpr std::uint64_t kKeys = 160;  // more than an index of 64 slots holds: it grows along the way

// What a child did, sent to the parent through a pipe.
struct Tally {
    std::uint64_t operations = 0, hits = 0, misses = 0, wrong = 0, errors = 0, rebuilds = 0;
};

// Child exit codes.
enum Exit { kOk = 0, kOpenFailed = 10, kFailed = 11, kWrongTable = 12 };

// Arenas of 2 to 60 entries: from under 1 KiB to a few KiB, distinct per key.
const std::vector<std::vector<std::byte>>& arenas() {
    static const std::vector<std::vector<std::byte>> all = [] {
        std::vector<std::vector<std::byte>> v;
        for (std::uint64_t n = 0; n < kKeys; ++n) v.push_back(arena_for(n, 2 + static_cast<std::uint32_t>(n * 7 % 59)));
        return v;
    }();
    return all;
}

bool is_expected(const StoredArena& got, std::uint64_t n) {
    const auto bytes = got.view().bytes();
    const auto& want = arenas()[n];
    return got.key() == key_for(n) && std::equal(bytes.begin(), bytes.end(), want.begin(), want.end());
}

int writer(const fs::path& root, const StoreOptions& options, std::uint64_t seed, int operations, Tally& t) {
    auto store = LocalStore::open(root, options);
    if (!store) return kOpenFailed;
    std::mt19937_64 rng(seed);
    for (int op = 0; op < operations; ++op, ++t.operations) {
        if (rng() % 5 == 0) {  // a batch: one lock, one growth check
            std::vector<PutRequest> batch;
            const std::uint64_t first = rng() % kKeys;
            for (std::uint64_t i = 0; i < 4; ++i) batch.push_back({key_for((first + i) % kKeys), arenas()[(first + i) % kKeys]});
            if (!store->put_batch(batch)) ++t.errors;
        } else {
            const std::uint64_t n = rng() % kKeys;
            if (!store->put({key_for(n), arenas()[n]})) ++t.errors;
        }
    }
    return t.errors == 0 ? kOk : kFailed;
}

int reader(const fs::path& root, StoreOptions options, std::uint64_t seed, int operations, Tally& t) {
    const LoadMode modes[] = {LoadMode::read, LoadMode::map, LoadMode::automatic};
    options.load_mode = modes[seed % 3];
    auto store = LocalStore::open(root, options);
    if (!store) return kOpenFailed;
    std::mt19937_64 rng(seed);
    std::vector<std::pair<std::uint64_t, StoredArena>> kept;  // outlive evictions and index replacements
    for (int op = 0; op < operations; ++op, ++t.operations) {
        const std::uint64_t n = rng() % kKeys;
        auto got = store->get(key_for(n));
        if (!got) {
            // A miss is the only acceptable failure: nothing here is damaged.
            if (got.error().code == ErrorCode::not_found) {
                ++t.misses;
            } else {
                std::fprintf(stderr, "reader: %s\n", got.error().message.c_str());
                ++t.errors;
            }
            continue;
        }
        ++t.hits;
        if (!is_expected(*got, n)) ++t.wrong;
        if (rng() % 8 == 0) kept.emplace_back(n, std::move(*got));
    }
    for (const auto& [n, arena] : kept)
        if (!is_expected(arena, n) || !verify_arena(arena.view().bytes(), VerifyLevel::full)) ++t.wrong;
    if (t.wrong > 0) return kWrongTable;
    return t.errors == 0 ? kOk : kFailed;
}

int evictor(const fs::path& root, const StoreOptions& options, int operations, Tally& t) {
    auto store = LocalStore::open(root, options);
    if (!store) return kOpenFailed;
    for (int op = 0; op < operations; ++op, ++t.operations) {
        auto r = op % 4 == 0 ? store->cleanup() : store->evict();
        if (!r) ++t.errors;
        ::usleep(200);  // leave the lock to the others between rounds
    }
    return t.errors == 0 ? kOk : kFailed;
}

int rebuilder(const fs::path& root, const StoreOptions& options, int operations, Tally& t) {
    auto store = LocalStore::open(root, options);
    if (!store) return kOpenFailed;
    for (int op = 0; op < operations; ++op, ++t.operations) {
        if (!store->rebuild_index("reliability test")) ++t.errors;
        ++t.rebuilds;
        ::usleep(2000);
    }
    return t.errors == 0 ? kOk : kFailed;
}

}  // namespace

TEST_CASE("writers, readers, an evictor and a rebuilder share one store: readers get the right table or a miss",
          "[reliability][multiprocess]") {
    testing::TempDir dir;
    (void)arenas();  // built once, before forking
    std::uint64_t all_bytes = 0;
    for (const auto& a : arenas()) all_bytes += a.size();
    // The limit bounds the directory: what the files besides the entries take (index,
    // shard directories) measured in a store holding every key, plus half the entries.
    std::uint64_t fixed_bytes = 0;
    {
        testing::TempDir full;
        auto store = LocalStore::open(full.path);
        REQUIRE(store);
        for (std::uint64_t n = 0; n < kKeys; ++n) REQUIRE(store->put({key_for(n), arenas()[n]}));
        fixed_bytes = store->budget().fixed_bytes;
    }
    StoreOptions options;
    options.max_size_bytes = fixed_bytes + (all_bytes + kKeys * kPackBytesPerEntry) / 2;
    options.reader_grace_ns = 0;  // eviction really races the readers
    {
        // Half the keys cached before anyone starts, so readers hit from the first step.
        auto store = LocalStore::open(dir.path, options);
        REQUIRE(store);
        for (std::uint64_t n = 0; n < kKeys; n += 2) REQUIRE(store->put({key_for(n), arenas()[n]}));
    }

    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    std::vector<pid_t> children;
    std::vector<std::string> roles;
    auto start = [&](const std::string& role, auto body) {
        children.push_back(testing::spawn([&, body] {
            ::close(pipe_fds[0]);
            Tally t;
            const int code = body(t);
            (void)!::write(pipe_fds[1], &t, sizeof t);
            return code;
        }));
        roles.push_back(role);
    };
    constexpr int kWriters = 2, kReaders = 3;
    for (int w = 0; w < kWriters; ++w)
        start("writer", [&, w](Tally& t) { return writer(dir.path, options, 10 + w, 300, t); });
    for (int r = 0; r < kReaders; ++r)
        start("reader", [&, r](Tally& t) { return reader(dir.path, options, 20 + r, 800, t); });
    start("evictor", [&](Tally& t) { return evictor(dir.path, options, 200, t); });
    start("rebuilder", [&](Tally& t) { return rebuilder(dir.path, options, 25, t); });
    ::close(pipe_fds[1]);

    Tally total;
    for (std::size_t i = 0; i < children.size(); ++i) {
        const testing::ChildOutcome outcome = testing::wait_for(children[i]);
        INFO(roles[i] << " " << outcome.describe());
        CHECK(outcome.ok());
    }
    Tally t;
    while (::read(pipe_fds[0], &t, sizeof t) == static_cast<ssize_t>(sizeof t)) {
        total.operations += t.operations;
        total.hits += t.hits;
        total.misses += t.misses;
        total.wrong += t.wrong;
        total.errors += t.errors;
        total.rebuilds += t.rebuilds;
    }
    ::close(pipe_fds[0]);
    CHECK(total.wrong == 0);
    CHECK(total.errors == 0);
    CHECK(total.hits > 0);
    // Writers evict after their own puts too: the index counts every eviction.
    auto after = LocalStore::open(dir.path, options);
    REQUIRE(after);
    const std::uint64_t evictions = after->stats().index.evictions;
    CHECK(evictions > 0);
    std::printf("reliability: multiprocess: %zu processes, %llu operations, %llu hits, %llu misses, %llu evictions, "
                "%llu rebuilds, %llu wrong tables\n",
                children.size(), static_cast<unsigned long long>(total.operations), static_cast<unsigned long long>(total.hits),
                static_cast<unsigned long long>(total.misses), static_cast<unsigned long long>(evictions),
                static_cast<unsigned long long>(total.rebuilds), static_cast<unsigned long long>(total.wrong));

    // Afterwards: a clean index that agrees with the directory, no temp file left.
    testing::check_store_valid(dir.path);
    CHECK(testing::is_empty_directory(dir.path / "tmp"));
}
