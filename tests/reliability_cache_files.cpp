// Reliability: the cache's own files (stats.json, inputs.jdcl, deps.jdcd, the locks)
// are opened like arenas, and the inputs log survives an append cut short.
//
// Issue 20, attacks 8 and 9: a FIFO planted at stats.json or inputs.jdcl hung
// `janusc build`, `jdc stats` and `jdc explain` (they were opened without O_NONBLOCK
// or a type check); an append to inputs.jdcl cut short left a line without its
// newline, to which the next record was glued, and both were lost. Each scenario that
// could hang runs in a forked child with an alarm: a hang ends it with SIGALRM, which
// the parent reports as a failure instead of waiting for the suite's timeout.
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "cache/inputs_log.hpp"
#include "jdc/build_cache_manager.hpp"
#include "jdc/cache_records.hpp"
#include "jdc/dependency_tracker.hpp"
#include "storage/store_lock.hpp"
#include "support/child_process.hpp"
#include "support/random_model.hpp"
#include "support/temp_dir.hpp"

using namespace jdc;
namespace fs = std::filesystem;

namespace {

// A few generic functions, as a compiler would pass them.
struct Tables {
    std::vector<testing::RandomModel> models;
    explicit Tables(std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) models.push_back(testing::make_random_model(500 + i, {10, 2, 2, 6, true}));
    }
    TableInputs inputs(std::size_t i) const {
        TableInputs in;
        in.name = "generic_" + std::to_string(i);
        in.signature = models[i].table.signature;
        in.methods = method_inputs(models[i].table);
        return in;
    }
    TableBuilder builder(std::size_t i) const {
        return [this, i](const TableInputs&, const TypeRegistry&) -> Result<BuiltTable> { return BuiltTable{models[i].table, {}}; };
    }
};

const BuildIdentity kIdentity{"janusc 1", 7};

CacheConfig config_in(const fs::path& dir) {
    CacheConfig c;
    c.cache_directory = dir;
    return c;
}

// One session looking up every table; false when any step failed.
bool session(const fs::path& dir, const Tables& t) {
    auto m = BuildCacheManager::create(config_in(dir), kIdentity);
    if (!m || !m->startBuildSession()) return false;
    for (std::size_t i = 0; i < t.models.size(); ++i) {
        auto table = m->getOrBuildDispatchTable(t.inputs(i), t.models[i].registry, t.builder(i));
        if (!table || !(table->to_table() == t.models[i].table)) return false;
    }
    return static_cast<bool>(m->endBuildSession());
}

// Runs `body` in a child that an alarm ends if it hangs: 0 when body() returned true.
testing::ChildOutcome without_hanging(const std::function<bool()>& body) {
    return testing::run_in_child([&] {
        ::alarm(60);
        return body() ? 0 : 1;
    });
}

void plant_fifo(const fs::path& p) {
    fs::remove(p);
    REQUIRE(::mkfifo(p.c_str(), 0644) == 0);
}

}  // namespace

TEST_CASE("a FIFO at a cache file is refused at once: builds, jdc stats and jdc explain do not wait on it", "[reliability][files]") {
    Tables t(3);
    for (const char* name : {"stats.json", "inputs.jdcl", "deps.jdcd"}) {
        INFO(name);
        testing::TempDir dir;
        REQUIRE(session(dir.path, t));
        plant_fifo(dir.path / name);

        // A build: every table served, the session ends (derived data is best-effort).
        auto build = without_hanging([&] { return session(dir.path, t); });
        INFO("build: child " << build.describe() << " (signal 14: it hung on the FIFO)");
        CHECK(build.ok());
        // What jdc stats and jdc explain read.
        auto tools = without_hanging([&] {
            (void)read_recorded_metrics(dir.path);
            (void)find_recorded_inputs(dir.path, std::string_view("generic_1"));
            (void)find_recorded_inputs(dir.path, CacheKey{1, 2});
            DependencyTracker deps;
            (void)deps.load(dir.path / "deps.jdcd");
            return true;
        });
        INFO("tools: child " << tools.describe());
        CHECK(tools.ok());
    }
}

TEST_CASE("a FIFO, a directory or a symlink at a lock file is refused with an io error", "[reliability][files]") {
    testing::TempDir dir;
    plant_fifo(dir.path / "fifo.lock");
    fs::create_directory(dir.path / "dir.lock");
    std::ofstream(dir.path / "target");
    fs::create_symlink(dir.path / "target", dir.path / "link.lock");
    auto outcome = without_hanging([&] {
        for (const char* name : {"fifo.lock", "dir.lock", "link.lock"}) {
            auto lock = StoreLock::for_file(dir.path / name);
            if (lock || lock.error().code != ErrorCode::io || lock.error().message.find(name) == std::string::npos) return false;
        }
        return true;
    });
    CHECK(outcome.ok());
    // A regular lock file still locks, and a second holder in another process waits or fails to try.
    auto lock = StoreLock::for_file(dir.path / "real.lock");
    REQUIRE(lock);
    ScopedStoreLock held(**lock);
    CHECK(held.owns());
    auto other = testing::run_in_child([&] {
        auto mine = StoreLock::for_file(dir.path / "real.lock");
        if (!mine) return 2;
        ScopedStoreLock attempt(**mine, ScopedStoreLock::Mode::try_only);
        return attempt.owns() ? 1 : 0;
    });
    CHECK(other.ok());
}

TEST_CASE("an inputs log append of many pieces writes every record whole, in order", "[reliability][files][inputs-log]") {
    testing::TempDir dir;
    // More pieces than one writev() takes (IOV_MAX, 1024 on Linux), some empty, after
    // a torn tail: every record whole, in order, and the torn line alone.
    std::ofstream(dir.path / "inputs.jdcl") << detail::InputsLog::name_hash("torn") << " {\"name\":\"to";
    std::vector<std::string> records;
    std::vector<std::string_view> pieces;
    std::string expected = detail::InputsLog::name_hash("torn") + " {\"name\":\"to\n";
    for (int i = 0; i < 2500; ++i) {
        const std::string name = "t" + std::to_string(i);
        records.push_back(detail::InputsLog::name_hash(name) + " {\"name\":\"" + name + "\",\"key\":\"" + std::string(i % 97, 'k') + "\"}\n");
    }
    for (std::size_t i = 0; i < records.size(); ++i) {
        if (i % 7 == 0) pieces.emplace_back();
        pieces.emplace_back(records[i]);
        expected += records[i];
    }
    REQUIRE(detail::InputsLog::append(dir.path, std::span<const std::string_view>(pieces)));
    std::ifstream in(dir.path / "inputs.jdcl");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(text == expected);
    const detail::InputsLog log = detail::InputsLog::load(dir.path);
    REQUIRE(log.find("t2499"));
    CHECK(log.find("t2499")->at("key") == std::string(2499 % 97, 'k'));
    CHECK_FALSE(log.find("torn"));
}

TEST_CASE("an inputs log append cut short is repaired before the next append", "[reliability][files][inputs-log]") {
    testing::TempDir dir;
    const std::string a = detail::InputsLog::name_hash("alpha") + " {\"name\":\"alpha\",\"key\":\"a\"}\n";
    const std::string b = detail::InputsLog::name_hash("beta") + " {\"name\":\"beta\",\"key\":\"b\"}\n";
    const std::string c = detail::InputsLog::name_hash("gamma") + " {\"name\":\"gamma\",\"key\":\"c\"}\n";
    REQUIRE(detail::InputsLog::append(dir.path, a));
    REQUIRE(detail::InputsLog::append(dir.path, b));
    // The next writer's disk filled up (or it was killed) in the middle of a record of alpha.
    std::ofstream(dir.path / "inputs.jdcl", std::ios::app) << detail::InputsLog::name_hash("alpha") << " {\"name\":\"alpha\",\"ke";
    REQUIRE(detail::InputsLog::append(dir.path, c));

    const detail::InputsLog log = detail::InputsLog::load(dir.path);
    REQUIRE(log.find("gamma"));  // not glued to the torn line
    CHECK(log.find("gamma")->at("key") == "c");
    REQUIRE(log.find("alpha"));  // the torn line does not hide alpha's whole record
    CHECK(log.find("alpha")->at("key") == "a");
    REQUIRE(log.find("beta"));
    std::ifstream in(dir.path / "inputs.jdcl");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(text.back() == '\n');
    CHECK(text.find("\"ke\n") != std::string::npos);  // the torn line ends where it was cut

    // Through the manager: a session's records after a torn tail are all found by jdc explain.
    testing::TempDir cache;
    Tables t(4);
    REQUIRE(session(cache.path, Tables(1)));
    std::ofstream(cache.path / "inputs.jdcl", std::ios::app) << detail::InputsLog::name_hash("generic_0") << " {\"v\":2,\"na";
    REQUIRE(session(cache.path, t));
    for (std::size_t i = 0; i < t.models.size(); ++i) {
        INFO(i);
        auto recorded = find_recorded_inputs(cache.path, std::string_view(t.inputs(i).name));
        REQUIRE(recorded);
        CHECK(recorded->name == t.inputs(i).name);
    }
}

TEST_CASE("a cache in a directory whose name is not UTF-8: reports, stats.json and explain work", "[reliability][files][utf8]") {
    testing::TempDir dir;
    const fs::path root = dir.path / "caf\xE9" / "cache";
    Tables t(2);
    auto m = BuildCacheManager::create(config_in(root), kIdentity);
    REQUIRE(m);
    REQUIRE(m->startBuildSession());
    TableInputs in = t.inputs(0);
    in.sources = {{"src/\xE9t\xE9.jn", {1, 2}}};
    REQUIRE(m->getOrBuildDispatchTable(in, t.models[0].registry, t.builder(0)));
    REQUIRE(m->endBuildSession());
    const std::string report = m->build_report_json();  // threw type_error 316
    const auto j = nlohmann::json::parse(report);
    CHECK(j["cache"]["directory"] == (dir.path / "caf\xEF\xBF\xBD" / "cache").string());
    auto recorded = find_recorded_inputs(root, std::string_view(in.name));
    REQUIRE(recorded);  // the record parses: its source path was written as valid UTF-8
    REQUIRE(recorded->sources.size() == 1);
    CHECK(recorded->sources[0].first == "src/\xEF\xBF\xBDt\xEF\xBF\xBD.jn");
    // The same non-UTF-8 source path is not reported as changed.
    auto again = BuildCacheManager::create(config_in(root), kIdentity);
    REQUIRE(again);
    in.sources = {{"src/\xE9t\xE9.jn", {1, 2}}, {"src/new.jn", {3, 4}}};
    const Explanation e = again->explain(in, t.models[0].registry);
    CHECK(e.reason == MissReason::source_changed);
    CHECK(e.detail == "src/new.jn (new)");
}
