// Starting jdc-compactor in the background: finding the executable, at most one per
// cache, and the build cache manager doing it when loose entries pile up.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jdc/build_cache_manager.hpp"
#include "jdc/compactor.hpp"
#include "jdc/local_store.hpp"
#include "cache/compactor_launch.hpp"
#include "storage/read_history.hpp"
#include "storage/store_lock.hpp"
#include "support/arena_samples.hpp"
#include "support/lock_holder.hpp"
#include "support/random_model.hpp"
#include "support/temp_dir.hpp"

using namespace jdc;
namespace fs = std::filesystem;

namespace {

// A stand-in compactor: records its arguments, exits with `status`.
fs::path fake_compactor(const fs::path& dir, const fs::path& record, int status = 0) {
    const fs::path script = dir / "jdc-compactor";
    std::ofstream(script) << "#!/bin/sh\necho \"$@\" >> '" << record.string() << "'\nexit " << status << "\n";
    ::chmod(script.c_str(), 0755);
    return script;
}

std::string read_all(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The jdc-compactor built with these tests (build/jdc-compactor beside build/tests/).
fs::path built_compactor() { return fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "jdc-compactor"; }

// Stores `tables` tables through a manager configured with `config`, in one session.
void build_tables(const CacheConfig& config, int tables) {
    const auto model = testing::make_random_model(5, {10, 2, 2, 6, true});
    auto m = BuildCacheManager::create(config, {"test 1", 0});
    REQUIRE(m);
    REQUIRE(m->startBuildSession());
    for (int t = 0; t < tables; ++t) {
        TableInputs in;
        in.name = "table" + std::to_string(t);
        in.signature = model.table.signature;
        in.methods = method_inputs(model.table);
        auto built = m->getOrBuildDispatchTable(in, model.registry, [&](const TableInputs&, const TypeRegistry&) -> Result<BuiltTable> {
            return BuiltTable{model.table, {}};
        });
        REQUIRE(built);
    }
    REQUIRE(m->endBuildSession());
}

}  // namespace

TEST_CASE("the compactor executable is the configured one, else the one beside this program, else on PATH", "[launch]") {
    testing::TempDir dir;
    const fs::path script = fake_compactor(dir.path, dir.path / "args");
    CHECK(find_compactor_executable(script) == script);
    std::ofstream(dir.path / "not-executable") << "x";
    CHECK_FALSE(find_compactor_executable(dir.path / "not-executable"));
    CHECK_FALSE(find_compactor_executable(dir.path / "missing"));

    const char* old_path = std::getenv("PATH");
    const std::string saved = old_path != nullptr ? old_path : "";
    ::setenv("PATH", ("/nonexistent:" + dir.path.string()).c_str(), 1);
    const auto found = find_compactor_executable({});
    ::setenv("PATH", saved.c_str(), 1);
    CHECK(found == script);
}

TEST_CASE("launching runs the compactor detached, once, on the cache; not while one runs", "[launch]") {
    testing::TempDir dir;
    const fs::path cache = dir.path / "cache";
    fs::create_directories(cache);
    const fs::path record = dir.path / "args";
    const fs::path script = fake_compactor(dir.path, record);

    auto launched = launch_compactor(cache, script, false);
    REQUIRE(launched);
    CHECK(launched->outcome == LaunchOutcome::started);
    CHECK(read_all(record) == "--dir " + cache.string() + " --once --detach --low-priority\n");

    // Another process compacting this cache: nothing is started.
    testing::LockHeldElsewhere other_compactor(compactor_lock_path(cache));
    auto busy = launch_compactor(cache, script, false);
    other_compactor.release();
    REQUIRE(busy);
    CHECK(busy->outcome == LaunchOutcome::already_running);
    CHECK(read_all(record) == "--dir " + cache.string() + " --once --detach --low-priority\n");  // not run again

    auto missing = launch_compactor(cache, dir.path / "no-such-compactor", false);
    REQUIRE(missing);
    CHECK(missing->outcome == LaunchOutcome::not_found);

    const fs::path failing_dir = dir.path / "failing";
    fs::create_directories(failing_dir);
    auto failed = launch_compactor(cache, fake_compactor(failing_dir, dir.path / "args2", 3), false);
    REQUIRE_FALSE(failed);
    CHECK(failed.error().code == ErrorCode::io);
}

TEST_CASE("a build session that ends past the threshold of files starts the compactor", "[launch][manager]") {
    testing::TempDir dir;
    const fs::path record = dir.path / "args";
    CacheConfig config;
    config.cache_directory = dir.path / "cache";
    config.compactor_path = fake_compactor(dir.path, record);

    SECTION("on by default, with no variable set: one pack is not due yet") {
        CHECK(config.compact_threshold == 8);
        build_tables(config, 5);
        CHECK_FALSE(fs::exists(record));
    }
    SECTION("turned off with 0") {
        config.compact_threshold = 0;
        build_tables(config, 5);
        CHECK_FALSE(fs::exists(record));
    }
    // A session's misses are written as one pack: 5 tables, 1 file.
    SECTION("below the threshold") {
        config.compact_threshold = 2;
        build_tables(config, 5);
        CHECK_FALSE(fs::exists(record));
    }
    SECTION("at the threshold") {
        config.compact_threshold = 1;
        build_tables(config, 5);
        CHECK(read_all(record) == "--dir " + config.cache_directory.string() + " --once --detach --low-priority\n");
    }
    SECTION("a compactor that cannot be found is not an error for the build") {
        config.compact_threshold = 1;
        config.compactor_path = dir.path / "missing";
        build_tables(config, 2);
    }
}

TEST_CASE("the real jdc-compactor, started by the manager, packs the cache in the background", "[launch][manager]") {
    testing::TempDir dir;
    REQUIRE(fs::exists(built_compactor()));
    CacheConfig config;
    config.cache_directory = dir.path / "cache";
    config.compactor_path = built_compactor();
    build_tables(config, 8);  // no threshold set: the default starts it

    auto store = LocalStore::open(config.cache_directory);
    REQUIRE(store);
    // The compactor runs detached; wait for it (bounded) by taking its lock once it has
    // packed everything. No timing is asserted: only that it finishes.
    for (int waited = 0; waited < 300 && store->loose_entry_count() > 0; ++waited)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(store->loose_entry_count() == 0);
    {
        auto lock = StoreLock::for_file(compactor_lock_path(config.cache_directory));
        REQUIRE(lock);
        ScopedStoreLock wait_for_exit(**lock);
    }
    CHECK(store->list_files()->packs.size() == 1);
    // A new build is served from the pack.
    config.compact_threshold = 0;
    auto m = BuildCacheManager::create(config, {"test 1", 0});
    REQUIRE(m);
    REQUIRE(m->startBuildSession());
    const auto model = testing::make_random_model(5, {10, 2, 2, 6, true});
    for (int t = 0; t < 8; ++t) {
        TableInputs in;
        in.name = "table" + std::to_string(t);
        in.signature = model.table.signature;
        in.methods = method_inputs(model.table);
        auto got = m->getOrBuildDispatchTable(in, model.registry, [](const TableInputs&, const TypeRegistry&) -> Result<BuiltTable> {
            return make_error(ErrorCode::invalid_argument, "should have been a hit");
        });
        REQUIRE(got);
    }
    CHECK(m->session_metrics().hits == 8);
    REQUIRE(m->endBuildSession());
}

TEST_CASE("compaction is due for many small files, for dead bytes in packs, and over the size limit", "[launch]") {
    testing::TempDir dir;
    StoreOptions o;
    o.automatic_maintenance = false;
    o.reader_grace_ns = 0;
    auto store = LocalStore::open(dir.path, o);
    REQUIRE(store);
    CHECK_FALSE(compaction_due(*store, 8));  // empty

    SECTION("small loose entries and packs, counted against the threshold") {
        for (std::uint64_t n = 0; n < 7; ++n) REQUIRE(store->put({testing::key_for(n), testing::arena_for(n)}));
        CHECK_FALSE(compaction_due(*store, 8));
        REQUIRE(store->put_packed(std::vector<PutRequest>{{testing::key_for(100), testing::arena_for(100)}}));
        const auto due = compaction_due(*store, 8);
        REQUIRE(due);
        CHECK(due->find("7 small loose entries and 1 packs") != std::string::npos);
        CHECK_FALSE(compaction_due(*store, 0));  // 0: never
    }
    SECTION("dead bytes over a quarter of the packs") {
        std::vector<std::vector<std::byte>> arenas;
        std::vector<PutRequest> puts;
        for (std::uint64_t n = 0; n < 8; ++n) arenas.push_back(testing::arena_for(n));
        for (std::uint64_t n = 0; n < 8; ++n) puts.push_back({testing::key_for(n), arenas[n]});
        REQUIRE(store->put_packed(puts));
        CHECK_FALSE(compaction_due(*store, 8));
        for (std::uint64_t n = 0; n < 2; ++n) REQUIRE(store->remove(testing::key_for(n)));
        CHECK_FALSE(compaction_due(*store, 8));  // 2 of 8 equal arenas: not over a quarter
        REQUIRE(store->remove(testing::key_for(2)));
        const auto due = compaction_due(*store, 8);
        REQUIRE(due);
        CHECK(due->find("evicted or superseded") != std::string::npos);
    }
    SECTION("the directory over its limit") {
        for (std::uint64_t n = 0; n < 3; ++n) REQUIRE(store->put({testing::key_for(n), testing::arena_for(n)}));
        CHECK_FALSE(compaction_due(*store, 8));
        StoreOptions tight = o;
        tight.max_size_bytes = store->budget().fixed_bytes;  // the entries do not fit
        auto small = LocalStore::open(dir.path, tight);
        REQUIRE(small);
        const auto due = compaction_due(*small, 8);
        REQUIRE(due);
        CHECK(due->find("over its limit") != std::string::npos);
    }
}

namespace {

// One build session through a fresh manager (as a compiler run is) over tables
// named "t<first>" .. "t<first + count - 1>", read in that order; their keys.
std::vector<CacheKey> build_session(const CacheConfig& config, int first, int count) {
    const auto model = testing::make_random_model(5, {10, 2, 2, 6, true});
    auto m = BuildCacheManager::create(config, {"test 1", 0});
    REQUIRE(m);
    REQUIRE(m->startBuildSession());
    std::vector<CacheKey> keys;
    for (int t = first; t < first + count; ++t) {
        TableInputs in;
        in.name = "t" + std::to_string(t);
        in.signature = model.table.signature;
        in.methods = method_inputs(model.table);
        keys.push_back(m->cache_key(in, model.registry));
        auto built = m->getOrBuildDispatchTable(in, model.registry, [&](const TableInputs&, const TypeRegistry&) -> Result<BuiltTable> {
            return BuiltTable{model.table, {}};
        });
        REQUIRE(built);
    }
    REQUIRE(m->endBuildSession());
    return keys;
}

}  // namespace

TEST_CASE("a session's end records what it read, in order, for the next session's prefetch and the compactor", "[launch][history]") {
    testing::TempDir dir;
    CacheConfig config;
    config.cache_directory = dir.path / "cache";
    config.compact_threshold = 0;
    const auto first = build_session(config, 0, 6);
    CHECK(load_read_history(config.cache_directory) == first);
    const auto second = build_session(config, 4, 4);  // t4..t7: t4, t5 again, then two new
    std::vector<CacheKey> want = second;
    for (int i = 0; i < 4; ++i) want.push_back(first[static_cast<std::size_t>(i)]);
    CHECK(load_read_history(config.cache_directory) == want);
    // The same tables read again, in another order (threads vary it): the file is left
    // as it is (same inode: not rewritten), and so is the order it records.
    const auto inode_of = [&] {
        struct stat st {};
        return ::stat(read_history_path(config.cache_directory).c_str(), &st) == 0 ? st.st_ino : ino_t{0};
    };
    const ino_t before = inode_of();
    build_session(config, 0, 8);  // t0..t7: the keys the file holds
    CHECK(inode_of() == before);
    CHECK(load_read_history(config.cache_directory) == want);

    // The next session starts by asking the kernel for them (the store's part is
    // tested in storage_local_store); the log says so.
    auto store = LocalStore::open(config.cache_directory);
    REQUIRE(store);
    std::vector<std::string> lines;
    config.verbose = true;
    auto m = BuildCacheManager::create(config, {"test 1", 0}, [&](const std::string& line) { lines.push_back(line); });
    REQUIRE(m);
    REQUIRE(m->startBuildSession());
    for (const auto& l : lines) UNSCOPED_INFO(l);
    CHECK(std::any_of(lines.begin(), lines.end(), [](const std::string& l) { return l.find("prefetch: 8 of the 8 tables") != std::string::npos; }));
    REQUIRE(m->endBuildSession());
}

TEST_CASE("under a churn of 50 sessions with a small limit, the directory stays within its limit on disk", "[launch][churn]") {
    testing::TempDir dir;
    CacheConfig config;
    config.cache_directory = dir.path / "cache";
    config.compact_threshold = 0;  // the compactor is run below, in this process, when due
    config.reader_grace_seconds = 60;  // the default: the grace must not hold the cache over its limit
    // Room for the 12 tables of a session beside the cache's own files (index, stats,
    // history.jsonl, inputs log, read history, dependency state), about 60 KiB here.
    config.max_cache_size_bytes = 128 * 1024;
    std::uint64_t worst = 0;
    int compactions = 0;
    for (int session = 0; session < 50; ++session) {
        build_session(config, session * 4, 12);  // 4 new tables a session, 8 read again
        auto store = LocalStore::open(config.cache_directory, config.store_options());
        REQUIRE(store);
        if (compaction_due(*store, 8)) {
            CompactionOptions options;
            options.lock_mode = CompactorLockMode::try_only;
            REQUIRE(compact_store(*store, options));
            ++compactions;
        }
        auto du = measure_disk_usage(config.cache_directory);
        REQUIRE(du);
        worst = std::max(worst, du->total());
        INFO("session " << session << ": " << du->total() << " bytes on disk (packs " << du->packs << ", loose " << du->loose
                        << ", index " << du->index << ", other files " << du->other_files << ", directories " << du->directories << ")");
        CHECK(du->total() <= config.max_cache_size_bytes + kDiskLimitSlack);
        CHECK(du->temporary == 0);
    }
    // Every table of the last session is still served.
    auto store = LocalStore::open(config.cache_directory, config.store_options());
    REQUIRE(store);
    CHECK(store->stats().index.live_count >= 12);
    CHECK(store->stats().index.evictions > 0);  // 204 tables do not fit: the limit was enforced
    CHECK(compactions > 0);
    WARN("largest size on disk after a session: " << worst << " bytes (limit " << config.max_cache_size_bytes << ")");
}
