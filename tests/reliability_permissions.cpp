// Reliability: read-only cache directories and permission denied.
//
// Root ignores file modes, so each scenario runs its store operations in a forked
// child that first becomes `nobody` (uid/gid 65534; without root the test's own user
// already obeys modes). The store is created by the parent, handed to `nobody` where
// the scenario wants it writable, then one directory or file is made read-only or
// unreadable. The claims: what cannot be done fails with an io error that names the
// path and the reason (EACCES's text), what can still be done works, and afterwards
// every entry cached before is served with its bytes, the entry the child could not
// read was not deleted as damaged, no temporary file is left, and the store is valid.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <functional>

#include <sys/stat.h>
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

constexpr std::uint64_t kCached = 12;
const CacheKey kNewKey = key_for(1000);

// Child exit codes.
enum Exit { kAsExpected = 0, kCannotDropRoot = 3, kUnexpected = 4 };

void chown_tree(const fs::path& root, uid_t uid, gid_t gid) {
    REQUIRE(::lchown(root.c_str(), uid, gid) == 0);
    for (const auto& e : fs::recursive_directory_iterator(root)) REQUIRE(::lchown(e.path().c_str(), uid, gid) == 0);
}

// An io error naming `path` and saying "Permission denied".
bool denied(const Result<void>& r, const fs::path& path) {
    if (r) return false;
    const bool clear = r.error().code == ErrorCode::io && r.error().message.find(path.string()) != std::string::npos &&
                       r.error().message.find(std::strerror(EACCES)) != std::string::npos;
    if (!clear) std::fprintf(stderr, "unexpected: %s\n", r.error().message.c_str());
    return clear;
}

template <class T>
Result<void> as_void(const Result<T>& r) {
    if (!r) return tl::unexpected(r.error());
    return {};
}

struct Scenario {
    const char* name;
    bool writable_by_nobody;                       // chown the store to nobody first
    std::function<void(const fs::path&)> restrict;  // then take away one permission
    std::function<bool(const fs::path&)> check;     // run as nobody: true when all held
};

// Each scenario gets its own store, so one cannot hide another's damage.
void run(const Scenario& s) {
    INFO("scenario: " << s.name);
    testing::TempDir dir;
    REQUIRE(::chmod(dir.path.c_str(), 0755) == 0);  // mkdtemp makes it 0700: nobody could not even look
    const fs::path root = dir.path / "cache";
    {
        auto store = LocalStore::open(root);
        REQUIRE(store);
        for (std::uint64_t n = 0; n < kCached; ++n) REQUIRE(store->put({key_for(n), arena_for(n)}));
    }
    if (s.writable_by_nobody) chown_tree(root, testing::kNobody, testing::kNobody);
    s.restrict(root);

    const testing::ChildOutcome outcome = testing::run_in_child([&] {
        if (!testing::drop_root()) return kCannotDropRoot;
        return s.check(root) ? kAsExpected : kUnexpected;
    });
    INFO("child " << outcome.describe() << " (3: cannot become nobody, 4: an expectation failed, see stderr)");
    CHECK(outcome.ok());

    auto store = LocalStore::open(root);  // as the parent: modes do not stop it
    REQUIRE(store);
    for (std::uint64_t n = 0; n < kCached; ++n) CHECK(testing::serves(*store, key_for(n), arena_for(n)));
    CHECK(testing::is_empty_directory(root / "tmp"));
    testing::check_store_valid(root);
}

}  // namespace

TEST_CASE("a cache directory another user owns: opening it is a clear error, and nothing is lost",
          "[reliability][permissions]") {
    run({"read-only for this user", false, [](const fs::path&) {},
         [](const fs::path& root) { return denied(as_void(LocalStore::open(root)), root); }});
    run({"not even readable", false, [](const fs::path& root) { REQUIRE(::chmod(root.c_str(), 0700) == 0); },
         [](const fs::path& root) { return denied(as_void(LocalStore::open(root)), root); }});
    run({"lock file not writable", true,
         [](const fs::path& root) {
             REQUIRE(::lchown((root / "lock").c_str(), 0, 0) == 0);
             REQUIRE(::chmod((root / "lock").c_str(), 0444) == 0);
         },
         [](const fs::path& root) { return denied(as_void(LocalStore::open(root)), root / "lock"); }});
}

TEST_CASE("a store this user may only partly write: what is denied fails clearly, the rest works",
          "[reliability][permissions]") {
    run({"tmp/ not writable", true, [](const fs::path& root) { REQUIRE(::chmod((root / "tmp").c_str(), 0555) == 0); },
         [](const fs::path& root) {
             auto store = LocalStore::open(root);
             if (!store) return false;
             const auto a = arena_for(1000);
             return testing::serves(*store, key_for(3), arena_for(3)) && denied(store->put({kNewKey, a}), root / "tmp");
         }});
    run({"the key's shard not writable", true,
         [](const fs::path& root) {
             const fs::path shard = root / "objects" / kNewKey.to_hex().substr(0, 2);
             fs::create_directories(shard);
             REQUIRE(::lchown(shard.c_str(), testing::kNobody, testing::kNobody) == 0);
             REQUIRE(::chmod(shard.c_str(), 0555) == 0);
         },
         [](const fs::path& root) {
             auto store = LocalStore::open(root);
             if (!store) return false;
             const auto a = arena_for(1000);
             return denied(store->put({kNewKey, a}), store->loose_path(kNewKey)) && !store->find(kNewKey) &&
                    testing::serves(*store, key_for(4), arena_for(4));
         }});
    run({"objects/ not writable and the key needs a new shard", true,
         [](const fs::path& root) {
             fs::remove_all(root / "objects" / kNewKey.to_hex().substr(0, 2));
             REQUIRE(::chmod((root / "objects").c_str(), 0555) == 0);
         },
         [](const fs::path& root) {
             auto store = LocalStore::open(root);
             if (!store) return false;
             const auto a = arena_for(1000);
             return denied(store->put({kNewKey, a}), root / "objects");
         }});
    run({"one entry unreadable", true,
         [](const fs::path& root) {
             auto store = LocalStore::open(root);
             REQUIRE(store);
             REQUIRE(::chmod(store->loose_path(key_for(5)).c_str(), 0) == 0);
         },
         [](const fs::path& root) {
             auto store = LocalStore::open(root);
             if (!store) return false;
             auto got = store->get(key_for(5));
             // Not damage: the entry stays for those who can read it.
             return !got && got.error().code == ErrorCode::io &&
                    got.error().message.find(std::strerror(EACCES)) != std::string::npos && store->find(key_for(5)) &&
                    fs::exists(store->loose_path(key_for(5))) && testing::serves(*store, key_for(6), arena_for(6));
         }});
    run({"index.jdci read-only in a writable directory", true,
         [](const fs::path& root) {
             REQUIRE(::lchown((root / "index.jdci").c_str(), 0, 0) == 0);
             REQUIRE(::chmod((root / "index.jdci").c_str(), 0444) == 0);
         },
         [](const fs::path& root) {
             // The index is derived data: it is rebuilt beside the one it cannot write.
             auto store = LocalStore::open(root);
             if (!store) return false;
             for (std::uint64_t n = 0; n < kCached; ++n)
                 if (!testing::serves(*store, key_for(n), arena_for(n))) return false;
             return true;
         }});
}

TEST_CASE("a store this user cannot write, opened read-only: every entry served, every write refused",
          "[reliability][permissions][read-only]") {
    const auto read_only = [](const fs::path& root) {
        StoreOptions options;
        options.read_only = true;
        auto store = LocalStore::open(root, options);
        if (!store) {
            std::fprintf(stderr, "open: %s\n", store.error().message.c_str());
            return false;
        }
        for (std::uint64_t n = 0; n < kCached; ++n)
            if (!testing::serves(*store, key_for(n), arena_for(n))) return false;
        const auto a = arena_for(1000);
        const auto refused = [](const Result<void>& r) {
            return !r && r.error().code == ErrorCode::io && r.error().message.find("opened read-only") != std::string::npos;
        };
        return !store->get(kNewKey) && refused(store->put({kNewKey, a})) && refused(as_void(store->remove(key_for(1)))) &&
               refused(as_void(store->evict())) && refused(as_void(store->clear())) && store->read_only();
    };
    run({"another user's store", false, [](const fs::path&) {}, read_only});
    run({"tmp/ and the lock file not writable either", true,
         [](const fs::path& root) {
             REQUIRE(::lchown((root / "lock").c_str(), 0, 0) == 0);
             REQUIRE(::chmod((root / "lock").c_str(), 0444) == 0);
             REQUIRE(::chmod((root / "tmp").c_str(), 0555) == 0);
         },
         read_only});
}
