// check_store finds exactly what is invalid in a cache directory, changing nothing;
// repair_store removes exactly that.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>

#include "jdc/compactor.hpp"
#include "jdc/store_check.hpp"
#include "support/arena_samples.hpp"
#include "support/file_damage.hpp"
#include "support/temp_dir.hpp"

using namespace jdc;
using jdc::testing::arena_for;
using jdc::testing::flip_byte;
using jdc::testing::key_for;
namespace fs = std::filesystem;

namespace {

// A store with entries 0..29 loose and 30..59 in one pack.
fs::path make_store(const fs::path& root) {
    auto store = LocalStore::open(root);
    REQUIRE(store);
    for (std::uint64_t n = 0; n < 60; ++n) REQUIRE(store->put({key_for(n), arena_for(n)}));
    auto report = compact_store(*store);
    REQUIRE(report);
    for (std::uint64_t n = 0; n < 30; ++n) REQUIRE(store->put({key_for(n), arena_for(n)}));
    auto listing = store->list_files();
    REQUIRE(listing);
    REQUIRE(listing->packs.size() == 1);
    return listing->packs[0].path;
}

// Offset of entry n's arena inside the pack file.
std::uint64_t offset_in_pack(const fs::path& pack_file, std::uint64_t n) {
    auto pack = MappedPack::open(pack_file);
    REQUIRE(pack);
    auto found = pack->find(key_for(n));
    REQUIRE(found);
    REQUIRE(*found);
    return static_cast<std::uint64_t>((*found)->data() - pack->bytes().data());
}

std::set<CacheKey> keys_of(const StoreCheckReport& r) {
    std::set<CacheKey> keys;
    for (const StoreProblem& p : r.problems)
        if (p.key) keys.insert(*p.key);
    return keys;
}

}  // namespace

TEST_CASE("a sound cache directory checks valid", "[check]") {
    testing::TempDir dir;
    make_store(dir.path);
    auto check = check_store(dir.path);
    REQUIRE(check);
    CHECK(check->valid());
    CHECK(check->loose_files == 30);
    CHECK(check->packed_arenas == 60);  // 0..29 packed and loose again (loose wins), 30..59 packed
    CHECK(check->packs == 1);
    CHECK(check->index_entries == 60);
}

TEST_CASE("check_store reports exactly the damaged entries and repair_store removes exactly them", "[check]") {
    testing::TempDir dir;
    const fs::path pack = make_store(dir.path);
    {
        auto store = LocalStore::open(dir.path);
        REQUIRE(store);
        flip_byte(store->loose_path(key_for(2)), 300);
        flip_byte(store->loose_path(key_for(17)), 150);
    }
    flip_byte(pack, offset_in_pack(pack, 44) + 200);
    std::uint64_t progress_calls = 0;
    StoreCheckOptions options;
    options.progress = [&](std::uint64_t, std::uint64_t) { ++progress_calls; };
    auto check = check_store(dir.path, options);
    REQUIRE(check);
    CHECK(progress_calls > 0);
    REQUIRE(check->problems.size() == 3);
    CHECK(keys_of(*check) == std::set<CacheKey>{key_for(2), key_for(17), key_for(44)});
    for (const StoreProblem& p : check->problems) {
        if (p.key == key_for(44)) {
            CHECK(p.kind == StoreProblemKind::invalid_packed_entry);
            CHECK(p.file == pack);
        } else {
            CHECK(p.kind == StoreProblemKind::invalid_loose_file);
        }
        CHECK_FALSE(p.message.empty());
    }
    // Checking changed nothing: the files are still there and still damaged.
    auto again = check_store(dir.path);
    REQUIRE(again);
    CHECK(again->problems.size() == 3);

    auto store = LocalStore::open(dir.path);
    REQUIRE(store);
    auto repaired = repair_store(*store, *check);
    REQUIRE(repaired);
    CHECK(repaired->loose_files_removed == 2);
    CHECK(repaired->packs_rewritten == 1);
    CHECK(repaired->packed_entries_dropped == 1);
    CHECK_FALSE(repaired->index_rebuilt);
    auto after = check_store(dir.path);
    REQUIRE(after);
    CHECK(after->valid());
    for (std::uint64_t n = 0; n < 60; ++n) {
        INFO("entry " << n);
        const bool damaged = n == 2 || n == 17 || n == 44;
        CHECK(store->find(key_for(n)).has_value() == !damaged);
        if (!damaged) CHECK(store->get(key_for(n)));
    }
    CHECK(store->loose_entry_count() == 28);  // repairing a pack does not pack loose files
}

TEST_CASE("index problems are found and fixed by rebuilding the index", "[check]") {
    testing::TempDir dir;
    make_store(dir.path);
    SECTION("a dangling entry") {
        auto store = LocalStore::open(dir.path);
        REQUIRE(store);
        fs::remove(store->loose_path(key_for(5)));
        auto check = check_store(dir.path);
        REQUIRE(check);
        REQUIRE(check->problems.size() == 1);
        CHECK(check->problems[0].kind == StoreProblemKind::dangling_entry);
        CHECK(check->problems[0].key == key_for(5));
        auto repaired = repair_store(*store, *check);
        REQUIRE(repaired);
        CHECK(repaired->index_rebuilt);
        // The packed copy of 5 serves it again: the rebuilt index falls back to it.
        CHECK(store->get(key_for(5)));
    }
    SECTION("a missing index") {
        fs::remove(dir.path / "index.jdci");
        auto check = check_store(dir.path);
        REQUIRE(check);
        REQUIRE(check->problems.size() == 1);
        CHECK(check->problems[0].kind == StoreProblemKind::index_unreadable);
        CHECK_FALSE(fs::exists(dir.path / "index.jdci"));  // a check does not repair
    }
    SECTION("an unindexed file") {
        auto store = LocalStore::open(dir.path);
        REQUIRE(store);
        const auto bytes = arena_for(99);
        fs::create_directories(store->loose_path(key_for(99)).parent_path());
        REQUIRE(write_file_atomically(store->loose_path(key_for(99)), bytes));
        auto check = check_store(dir.path);
        REQUIRE(check);
        REQUIRE(check->problems.size() == 1);
        CHECK(check->problems[0].kind == StoreProblemKind::unindexed_file);
        REQUIRE(repair_store(*store, *check));
        CHECK(store->get(key_for(99)));
    }
    auto after = check_store(dir.path);
    REQUIRE(after);
    if (fs::exists(dir.path / "index.jdci")) CHECK(after->valid());
}

TEST_CASE("checking a directory that is not there is not_found", "[check]") {
    testing::TempDir dir;
    auto check = check_store(dir.path / "nothing");
    REQUIRE_FALSE(check);
    CHECK(check.error().code == ErrorCode::not_found);
}
