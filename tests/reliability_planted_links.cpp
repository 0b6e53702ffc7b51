// Reliability: symlinks and `..` planted in a cache directory are refused, never followed.
//
// A shared cache can be written by others. Whatever they plant, the store must not
// read, write, map or delete anything outside its directory through it. Each scenario
// plants one link, into an "outside" directory holding a valid arena under an entry's
// name (so following the link would succeed and go unnoticed) and a bystander file.
// Links are planted both before the store is opened and while it is open. The claims:
// the operations that would pass through the link fail with an io error (or, for
// derived files, replace the link itself), the outside directory is byte for byte
// what it was, and entries elsewhere in the store keep working.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>

#include <unistd.h>

#include "jdc/dependency_tracker.hpp"
#include "jdc/local_store.hpp"
#include "jdc/pack.hpp"
#include "support/arena_samples.hpp"
#include "support/store_checks.hpp"
#include "support/temp_dir.hpp"

using namespace jdc;
using jdc::testing::arena_for;
using jdc::testing::key_for;
namespace fs = std::filesystem;

namespace {

// Every regular file under `dir` with its content: what "untouched" is compared against.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        if (!e.is_regular_file()) continue;
        std::ifstream in(e.path(), std::ios::binary);
        out[fs::relative(e.path(), dir).string()] = std::string(std::istreambuf_iterator<char>(in), {});
    }
    return out;
}

struct Fixture {
    testing::TempDir dir;
    fs::path root = dir.path / "cache";
    fs::path outside = dir.path / "outside";
    const CacheKey victim = key_for(7);  // its shard or file gets replaced by a link
    const CacheKey other = key_for(8);   // in another shard: must keep working
    std::map<std::string, std::string> outside_before;

    Fixture() {
        REQUIRE(victim.to_hex().substr(0, 2) != other.to_hex().substr(0, 2));
        auto store = LocalStore::open(root);
        REQUIRE(store);
        REQUIRE(store->put({victim, arena_for(7)}));
        REQUIRE(store->put({other, arena_for(8)}));
        // Outside: what a followed link would find, laid out as the store would name it.
        const fs::path shard = outside / victim.to_hex().substr(0, 2);
        fs::create_directories(shard);
        fs::copy_file(store->loose_path(victim), shard / store->loose_path(victim).filename());
        std::ofstream(outside / "bystander.txt") << "not jdc's";
        std::ofstream(outside / "CACHEDIR.TAG.target");  // existing files are never truncated either
        outside_before = snapshot(outside);
    }
    fs::path shard_of(const CacheKey& k) const { return root / "objects" / k.to_hex().substr(0, 2); }
    void replace_with_link(const fs::path& p, const fs::path& target) const {
        fs::remove_all(p);
        fs::create_symlink(target, p);
    }
    void check_outside_untouched() const { CHECK(snapshot(outside) == outside_before); }
};

bool refused(const Result<void>& r) { return !r && r.error().code == ErrorCode::io; }

template <class T>
bool refused(const Result<T>& r) {
    return !r && r.error().code == ErrorCode::io;
}

}  // namespace

TEST_CASE("a shard directory replaced by a symlink, or by a link up with `..`, is refused", "[reliability][links]") {
    for (const char* kind : {"absolute", "relative, through ..", "just .."}) {
        INFO("objects/<hh> -> a link, " << kind);
        Fixture f;
        const std::string hh = f.victim.to_hex().substr(0, 2);
        const fs::path target = std::string(kind) == "absolute" ? f.outside / hh
                                : std::string(kind) == "just .." ? fs::path("..")
                                                                 : fs::path("../../outside") / hh;
        f.replace_with_link(f.shard_of(f.victim), target);
        auto store = LocalStore::open(f.root);
        REQUIRE(store);
        CHECK(refused(store->get(f.victim)));
        const auto a = arena_for(7);
        CHECK(refused(store->put({f.victim, a})));
        CHECK(store->rebuild_index("planted link test"));  // counts the link as foreign, follows nothing
        CHECK_FALSE(store->find(f.victim));
        CHECK(testing::serves(*store, f.other, arena_for(8)));
        f.check_outside_untouched();
        CHECK(testing::is_empty_directory(f.root / "tmp"));
    }
}

TEST_CASE("an arena replaced by a symlink is refused, and its target neither read nor deleted", "[reliability][links]") {
    Fixture f;
    auto store = LocalStore::open(f.root);
    REQUIRE(store);
    const fs::path file = store->loose_path(f.victim);
    f.replace_with_link(file, f.outside / f.victim.to_hex().substr(0, 2) / file.filename());
    CHECK(refused(store->get(f.victim)));
    CHECK(fs::is_symlink(file));  // not "damage": not deleted either
    CHECK(store->rebuild_index("planted link test"));
    CHECK_FALSE(store->find(f.victim));
    CHECK(testing::serves(*store, f.other, arena_for(8)));
    f.check_outside_untouched();
}

TEST_CASE("store directories replaced by symlinks while the store is open are not followed", "[reliability][links]") {
    Fixture f;
    auto store = LocalStore::open(f.root);
    REQUIRE(store);
    const auto a = arena_for(7);

    SECTION("objects/") {
        // Moved aside and replaced, as someone with write access to the cache could.
        fs::rename(f.root / "objects", f.dir.path / "objects.moved");
        fs::create_directory_symlink(f.outside, f.root / "objects");
        CHECK(refused(store->get(f.victim)));
        CHECK(refused(store->put({f.victim, a})));
        CHECK(refused(store->put({key_for(9), arena_for(9)})));
        CHECK(refused(store->rebuild_index("planted link test")));
        CHECK(refused(store->evict()));
        CHECK(refused(store->remove(f.victim)));
        CHECK(refused(LocalStore::open(f.root)));
    }
    SECTION("tmp/") {
        f.replace_with_link(f.root / "tmp", f.outside);
        CHECK(refused(store->put({key_for(9), arena_for(9)})));
        CHECK(refused(store->rebuild_index("planted link test")));  // would stage the new index there
        CHECK(refused(store->cleanup()));                           // would delete "stale temp files" there
        CHECK(testing::serves(*store, f.other, arena_for(8)));      // reading needs no tmp/
    }
    SECTION("packs/") {
        const auto packed = arena_for(20);
        const std::vector<PackInput> inputs = {{key_for(20), packed}};
        auto pack = build_pack(inputs, 1);
        REQUIRE(pack);
        REQUIRE(write_file_atomically(f.outside / "planted.jdcp", *pack));
        f.outside_before = snapshot(f.outside);
        f.replace_with_link(f.root / "packs", f.outside);
        CHECK(refused(store->rebuild_index("planted link test")));  // would map and index the planted pack
        CHECK_FALSE(store->find(key_for(20)));
        CHECK(refused(LocalStore::open(f.root)));
    }
    f.check_outside_untouched();
}

TEST_CASE("store files replaced by symlinks are refused or replaced, never written through", "[reliability][links]") {
    Fixture f;
    SECTION("lock") {
        f.replace_with_link(f.root / "lock", f.outside / "bystander.txt");
        CHECK(refused(LocalStore::open(f.root)));
    }
    SECTION("index.jdci") {
        f.replace_with_link(f.root / "index.jdci", f.outside / "bystander.txt");
        auto store = LocalStore::open(f.root);  // derived data: rebuilt, the link replaced by a file
        REQUIRE(store);
        CHECK_FALSE(fs::is_symlink(f.root / "index.jdci"));
        CHECK(testing::serves(*store, f.victim, arena_for(7)));
    }
    SECTION("CACHEDIR.TAG, dangling") {
        f.replace_with_link(f.root / "CACHEDIR.TAG", f.outside / "new-file");
        CHECK(LocalStore::open(f.root));
        CHECK_FALSE(fs::exists(f.outside / "new-file"));
    }
    SECTION("CACHEDIR.TAG, to an existing file") {
        f.replace_with_link(f.root / "CACHEDIR.TAG", f.outside / "CACHEDIR.TAG.target");
        CHECK(LocalStore::open(f.root));
    }
    SECTION("the dependency state") {
        f.replace_with_link(f.root / "deps.jdcd", f.outside / "bystander.txt");
        DependencyTracker deps;
        const fs::path imports[] = {"/src/b.jn"};
        REQUIRE(deps.set_imports("/src/a.jn", imports));
        CHECK(deps.save(f.root / "deps.jdcd"));  // replaces the link itself
        CHECK_FALSE(fs::is_symlink(f.root / "deps.jdcd"));
    }
    f.check_outside_untouched();
}
