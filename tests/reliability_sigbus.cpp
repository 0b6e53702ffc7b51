// Reliability: a file truncated under a live mapping, the SIGBUS policy of local_store.hpp.
//
// jdc never truncates or rewrites a published file; when something else does, what
// happens depends on how the bytes were loaded. Each case runs in a forked child that
// loads a large arena (over LoadedArena::kReadThreshold, so `automatic` maps it),
// truncates the file as an outside tool would, then reads every byte of what it
// loaded. The claims: read mode (LoadMode::read, the setting for network filesystems)
// keeps working on its private copy and still verifies; mapped loads (automatic above
// the threshold, map, packs) die of SIGBUS, which is the documented behavior, not a
// silent wrong read. The parent checks how each child ended.
#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>

#include <unistd.h>

#include "jdc/local_store.hpp"
#include "jdc/detail/mapped_pack.hpp"
#include "jdc/pack.hpp"
#include "support/arena_samples.hpp"
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

using namespace jdc;
using jdc::testing::arena_for;
using jdc::testing::key_for;
namespace fs = std::filesystem;

namespace {

// Child exit codes; a mapped load is expected to die of SIGBUS before reaching them.
enum Exit { kReadAll = 0, kSetupFailed = 3, kBytesChanged = 4 };

const std::vector<std::byte>& large_arena() {
    static const std::vector<std::byte> a = arena_for(42, 4000);
    return a;
}

// A sanitizer runtime reports SIGBUS as its own error and exits or aborts; the policy
// under test is the kernel's signal, so children restore the default action first.
void default_sigbus() { ::signal(SIGBUS, SIG_DFL); }

// Every byte, summed: a read of each page, which the compiler cannot drop.
std::uint64_t touch(std::span<const std::byte> bytes) {
    std::uint64_t sum = 0;
    for (std::byte b : bytes) sum += static_cast<std::uint8_t>(b);
    return sum;
}

std::uint64_t expected_sum() { return touch(large_arena()); }

// In a child: open a store over `root` with `mode`, get the arena, truncate its file,
// read every byte and verify. Returns the child's outcome.
testing::ChildOutcome load_truncate_read(const fs::path& root, LoadMode mode) {
    return testing::run_in_child([&] {
        default_sigbus();
        StoreOptions o;
        o.load_mode = mode;
        auto store = LocalStore::open(root, o);
        if (!store) return kSetupFailed;
        auto got = store->get(key_for(42));
        if (!got) return kSetupFailed;
        if (::truncate(store->loose_path(key_for(42)).c_str(), 4096) != 0) return kSetupFailed;
        if (touch(got->view().bytes()) != expected_sum()) return kBytesChanged;
        return verify_arena(got->view().bytes(), VerifyLevel::full) ? kReadAll : kBytesChanged;
    });
}

}  // namespace

TEST_CASE("SIGBUS policy: a truncated file kills mapped readers and spares read mode", "[reliability][sigbus]") {
    REQUIRE(large_arena().size() > LoadedArena::kReadThreshold);
    testing::TempDir dir;
    auto put_fresh = [&] {
        auto store = LocalStore::open(dir.path);
        REQUIRE(store);
        REQUIRE(store->put({key_for(42), large_arena()}));
    };

    SECTION("read mode: a private copy, immune") {
        put_fresh();
        const testing::ChildOutcome outcome = load_truncate_read(dir.path, LoadMode::read);
        INFO("child " << outcome.describe());
        CHECK(outcome.ok());
    }
    SECTION("automatic mode maps an arena over the threshold: SIGBUS") {
        put_fresh();
        const testing::ChildOutcome outcome = load_truncate_read(dir.path, LoadMode::automatic);
        INFO("child " << outcome.describe());
        CHECK(outcome.signal == SIGBUS);
    }
    SECTION("map mode: SIGBUS") {
        put_fresh();
        const testing::ChildOutcome outcome = load_truncate_read(dir.path, LoadMode::map);
        INFO("child " << outcome.describe());
        CHECK(outcome.signal == SIGBUS);
    }
    SECTION("a pack is always mapped: SIGBUS") {
        const std::vector<PackInput> inputs = {{key_for(42), large_arena()}};
        auto bytes = build_pack(inputs, 1);
        REQUIRE(bytes);
        const fs::path file = dir.path / "p.jdcp";
        REQUIRE(write_file_atomically(file, *bytes));
        const testing::ChildOutcome outcome = testing::run_in_child([&] {
            default_sigbus();
            auto pack = MappedPack::open(file);
            if (!pack) return kSetupFailed;
            auto found = pack->find(key_for(42));
            if (!found || !*found) return kSetupFailed;
            if (::truncate(file.c_str(), 4096) != 0) return kSetupFailed;
            return touch(**found) == expected_sum() ? kReadAll : kBytesChanged;
        });
        INFO("child " << outcome.describe());
        CHECK(outcome.signal == SIGBUS);
    }
    SECTION("after the truncation, the next reader gets a clear error and the entry is dropped") {
        put_fresh();
        auto store = LocalStore::open(dir.path);
        REQUIRE(store);
        REQUIRE(::truncate(store->loose_path(key_for(42)).c_str(), 4096) == 0);
        auto got = store->get(key_for(42));
        REQUIRE_FALSE(got);
        CHECK(got.error().code == ErrorCode::truncated);
        CHECK_FALSE(store->find(key_for(42)));
    }
}
