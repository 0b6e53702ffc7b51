// Starting jdc-compactor in the background: finding the executable, at most one per
// cache, and the build cache manager doing it when loose entries pile up.
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jdc/build_cache_manager.hpp"
#include "jdc/compactor.hpp"
#include "cache/compactor_launch.hpp"
#include "storage/store_lock.hpp"
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
    CHECK(read_all(record) == "--dir " + cache.string() + " --once --detach\n");

    // Another process compacting this cache: nothing is started.
    testing::LockHeldElsewhere other_compactor(compactor_lock_path(cache));
    auto busy = launch_compactor(cache, script, false);
    other_compactor.release();
    REQUIRE(busy);
    CHECK(busy->outcome == LaunchOutcome::already_running);
    CHECK(read_all(record) == "--dir " + cache.string() + " --once --detach\n");  // not run again

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

    SECTION("off by default") {
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
        CHECK(read_all(record) == "--dir " + config.cache_directory.string() + " --once --detach\n");
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
    config.compact_threshold = 8;
    config.compactor_path = built_compactor();
    build_tables(config, 8);

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
