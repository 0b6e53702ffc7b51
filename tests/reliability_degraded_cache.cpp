// Reliability: the cache never fails a build it could have done without the cache.
//
// A warm cache is made by the parent; each scenario then takes something away (the
// right to write the directory, tmp/, the packs, the directory itself, or room on the
// disk, simulated with RLIMIT_FSIZE and SIGXFSZ ignored as in reliability_disk_full)
// and runs a whole build session through BuildCacheManager in a forked child, as
// `nobody` when the test runs as root (root ignores file modes). The claims: the
// manager opens, the session starts and ends without an error, every table is the
// right one (served from what can still be read, else built), the manager says how
// much of the cache it used (cache_access(), with a reason and one log line), the
// failed derived-data or store writes are counted; afterwards the cache still serves
// what it held, holds no temporary file and passes check_store (jdc validate).
#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jdc/build_cache_manager.hpp"
#include "jdc/store_check.hpp"
#include "support/child_process.hpp"
#include "support/random_model.hpp"
#include "support/store_checks.hpp"  // is_empty_directory
#include "support/temp_dir.hpp"

using namespace jdc;
namespace fs = std::filesystem;

namespace {

const testing::RandomModelOptions kShape{20, 2, 2, 30, true};
const BuildIdentity kIdentity{"janusc 1", 7};

// One generic function of a random hierarchy, and the inputs a compiler would pass.
struct Project {
    testing::RandomModel model;
    int builds = 0;

    explicit Project(std::uint64_t seed) : model(testing::make_random_model(seed, kShape)) {}
    TableInputs inputs() const {
        TableInputs in;
        in.name = model.table.signature_name;
        in.signature = model.table.signature;
        in.methods = method_inputs(model.table);
        in.sources = {{"src/shapes.jn", {1, 1}}};
        return in;
    }
    TableBuilder builder() {
        return [this](const TableInputs&, const TypeRegistry&) -> Result<BuiltTable> {
            ++builds;
            return BuiltTable{model.table, {}};
        };
    }
};

CacheConfig config_in(const fs::path& dir, bool write_through = false) {
    CacheConfig c;
    c.cache_directory = dir;
    c.write_through = write_through;
    c.compact_threshold = 0;  // no background compactor racing the checks
    return c;
}

// What one session in a child saw; exit codes say which expectation failed.
constexpr int kAsExpected = 0, kCannotDropRoot = 3, kCreateFailed = 4, kSessionFailed = 5, kWrongTable = 6, kUnexpected = 7;

struct Session {
    CacheAccess access = CacheAccess::read_write;
    std::string reason;
    CacheMetrics metrics;
    int builds = 0;
    std::vector<std::string> log;
};

// Runs a session looking up `projects` in the cache at `root`; returns what failed.
int run_session(const fs::path& root, std::vector<Project*> projects, Session& out, bool write_through = false) {
    auto manager = BuildCacheManager::create(config_in(root, write_through), kIdentity,
                                             [&out](const std::string& line) { out.log.push_back(line); });
    if (!manager) {
        std::fprintf(stderr, "create: %s\n", manager.error().message.c_str());
        return kCreateFailed;
    }
    if (auto r = manager->startBuildSession(); !r) {
        std::fprintf(stderr, "start: %s\n", r.error().message.c_str());
        return kSessionFailed;
    }
    for (Project* p : projects) {
        auto t = manager->getOrBuildDispatchTable(p->inputs(), p->model.registry, p->builder());
        if (!t) {
            std::fprintf(stderr, "lookup: %s\n", t.error().message.c_str());
            return kSessionFailed;
        }
        if (!(t->to_table() == p->model.table)) return kWrongTable;
        out.builds += p->builds;
    }
    if (auto r = manager->endBuildSession(); !r) {
        std::fprintf(stderr, "end: %s\n", r.error().message.c_str());
        return kSessionFailed;
    }
    out.access = manager->cache_access();
    out.reason = manager->cache_access_reason();
    out.metrics = manager->session_metrics();
    std::ostringstream report;
    manager->generateBuildReport(report);
    out.log.push_back("report: " + report.str());
    return kAsExpected;
}

// Lines of `log` that contain `text`.
std::size_t lines_with(const std::vector<std::string>& log, const std::string& text) {
    std::size_t n = 0;
    for (const auto& line : log) n += line.find(text) != std::string::npos ? 1 : 0;
    return n;
}

bool expect(bool ok, const char* what, const Session& s) {
    if (!ok) {
        std::fprintf(stderr, "expectation failed: %s (access %d, reason '%s', %d builds)\n", what, static_cast<int>(s.access),
                     s.reason.c_str(), s.builds);
        for (const auto& line : s.log) std::fprintf(stderr, "  log: %s\n", line.c_str());
    }
    return ok;
}

void chown_tree(const fs::path& root, uid_t uid, gid_t gid) {
    if (::geteuid() != 0) return;  // without root the test's own user owns it already
    REQUIRE(::lchown(root.c_str(), uid, gid) == 0);
    for (const auto& e : fs::recursive_directory_iterator(root)) REQUIRE(::lchown(e.path().c_str(), uid, gid) == 0);
}

// A cache holding `warm`'s table (in a pack, as a session writes it), then the check.
struct Fixture {
    testing::TempDir dir;
    fs::path root;
    Project warm{77};

    Fixture() {
        REQUIRE(::chmod(dir.path.c_str(), 0755) == 0);  // mkdtemp makes it 0700: nobody could not even look
        root = dir.path / "cache";
        Session s;
        REQUIRE(run_session(root, {&warm}, s) == kAsExpected);
        REQUIRE(s.builds == 1);
        warm.builds = 0;
    }
    // Afterwards, as the parent: the warm table is still served, nothing half-written.
    void check_cache_intact() {
        Project again{77};
        Session s;
        REQUIRE(run_session(root, {&again}, s) == kAsExpected);
        CHECK(s.builds == 0);
        CHECK(s.access == CacheAccess::read_write);
        CHECK(testing::is_empty_directory(root / "tmp"));
        auto check = check_store(root);  // loose files, packs and the index agree
        REQUIRE(check);
        for (const auto& problem : check->problems) FAIL_CHECK(problem.file.string() << ": " << problem.message);
        CHECK(check->packs >= 1);
    }
};

testing::ChildOutcome as_nobody(const std::function<int()>& body) {
    return testing::run_in_child([&] {
        if (!testing::drop_root()) return kCannotDropRoot;
        return body();
    });
}

testing::ChildOutcome under_file_size_limit(rlim_t limit, const std::function<int()>& body) {
    return testing::run_in_child([&] {
        ::signal(SIGXFSZ, SIG_IGN);
        const struct rlimit lim {limit, limit};
        if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) return kUnexpected;
        return body();
    });
}

#define CHILD_OK(outcome)                                                                                               \
    do {                                                                                                                \
        const testing::ChildOutcome o_ = (outcome);                                                                     \
        INFO("child " << o_.describe()                                                                                  \
                      << " (3: cannot become nobody, 4: create failed, 5: the session failed, 6: wrong table, "         \
                         "7: an expectation failed; see stderr)");                                                     \
        CHECK(o_.ok());                                                                                                 \
    } while (false)

}  // namespace

TEST_CASE("a cache this user cannot write is read: hits served, nothing written, one line says so",
          "[reliability][degraded]") {
    Fixture f;  // owned by root, 0755: read-only for nobody (a CI image, a shared mount)
    Project cold{78};
    CHILD_OK(as_nobody([&] {
        Session s;
        if (int r = run_session(f.root, {&f.warm, &cold}, s); r != kAsExpected) return r;
        const bool ok = expect(s.builds == 1, "only the table not cached is built", s) &&
                        expect(s.metrics.hits == 1 && s.metrics.misses == 1, "one hit, one miss", s) &&
                        expect(s.access == CacheAccess::read_only, "read-only", s) &&
                        expect(s.reason.find(std::strerror(EACCES)) != std::string::npos, "the reason names EACCES", s) &&
                        expect(lines_with(s.log, "is read-only for this build") == 1, "one line says so", s) &&
                        expect(lines_with(s.log, "cache:        read-only") == 1, "the report says so", s);
        return ok ? kAsExpected : kUnexpected;
    }));
    // Nothing of the cold table was written.
    Project cold_again{78};
    Session after;
    REQUIRE(run_session(f.root, {&cold_again}, after) == kAsExpected);
    CHECK(after.builds == 1);
    f.check_cache_intact();
}

TEST_CASE("tmp/ or packs/ not writable: the cache is used read-only and the build succeeds", "[reliability][degraded]") {
    for (const char* sub : {"tmp", "packs"}) {
        INFO("not writable: " << sub);
        Fixture f;
        chown_tree(f.root, testing::kNobody, testing::kNobody);
        REQUIRE(::chmod((f.root / sub).c_str(), 0555) == 0);
        Project cold{78};
        CHILD_OK(as_nobody([&] {
            Session s;
            if (int r = run_session(f.root, {&f.warm, &cold}, s); r != kAsExpected) return r;
            const bool ok = expect(s.builds == 1, "only the table not cached is built", s) &&
                            expect(s.access == CacheAccess::read_only, "read-only", s) &&
                            expect(s.reason.find((f.root / sub).string()) != std::string::npos, "the reason names the directory", s);
            return ok ? kAsExpected : kUnexpected;
        }));
        REQUIRE(::chmod((f.root / sub).c_str(), 0755) == 0);
        f.check_cache_intact();
    }
}

TEST_CASE("packs/ unreadable: loose entries are still served, packed tables built, the build succeeds",
          "[reliability][degraded]") {
    Fixture f;
    Project loose{79};
    {
        Session s;  // one table stored as a loose file
        REQUIRE(run_session(f.root, {&loose}, s, true) == kAsExpected);
        loose.builds = 0;
    }
    chown_tree(f.root, testing::kNobody, testing::kNobody);
    if (::geteuid() == 0) REQUIRE(::lchown((f.root / "packs").c_str(), 0, 0) == 0);
    REQUIRE(::chmod((f.root / "packs").c_str(), 0700) == 0);
    CHILD_OK(as_nobody([&] {
        Session s;
        if (int r = run_session(f.root, {&f.warm, &loose}, s); r != kAsExpected) return r;
        const bool ok = expect(s.builds == 1, "the packed table is built, the loose one served", s) &&
                        expect(s.metrics.hits == 1, "one hit", s) && expect(s.access != CacheAccess::none, "the cache is used", s);
        return ok ? kAsExpected : kUnexpected;
    }));
    REQUIRE(::chmod((f.root / "packs").c_str(), 0755) == 0);
    f.check_cache_intact();
}

TEST_CASE("a cache directory this user cannot read: not used, every table built, one line says so",
          "[reliability][degraded]") {
    Fixture f;
    REQUIRE(::chmod(f.root.c_str(), 0700) == 0);  // root's
    CHILD_OK(as_nobody([&] {
        Session s;
        if (int r = run_session(f.root, {&f.warm}, s); r != kAsExpected) return r;
        const bool ok = expect(s.builds == 1, "built", s) && expect(s.access == CacheAccess::none, "not used", s) &&
                        expect(s.reason.find(f.root.string()) != std::string::npos, "the reason names the directory", s) &&
                        expect(lines_with(s.log, "not used") >= 1, "a line says so", s);
        return ok ? kAsExpected : kUnexpected;
    }));
    REQUIRE(::chmod(f.root.c_str(), 0755) == 0);
    f.check_cache_intact();
}

TEST_CASE("a full disk: a 100% hit build succeeds though stats.json cannot be written; a miss build stops storing",
          "[reliability][degraded][disk-full]") {
    Fixture f;
    SECTION("every table a hit: the failed derived-data writes are counted, not returned") {
        CHILD_OK(under_file_size_limit(0, [&] {
            Session s;
            if (int r = run_session(f.root, {&f.warm}, s); r != kAsExpected) return r;
            const bool ok = expect(s.builds == 0 && s.metrics.hits == 1, "served", s) &&
                            expect(s.metrics.derived_errors >= 1, "derived-data errors counted", s) &&
                            expect(lines_with(s.log, "derived data; the build is unaffected") >= 1, "logged", s);
            return ok ? kAsExpected : kUnexpected;
        }));
    }
    SECTION("tables built: the store write fails, the session goes on read-only") {
        Project cold1{78}, cold2{80};
        CHILD_OK(under_file_size_limit(0, [&] {
            Session s;
            if (int r = run_session(f.root, {&f.warm, &cold1, &cold2}, s, true); r != kAsExpected) return r;
            const bool ok = expect(s.builds == 2 && s.metrics.hits == 1, "the warm table served, the others built", s) &&
                            expect(s.metrics.store_errors >= 1, "store errors counted", s) &&
                            expect(s.access == CacheAccess::read_only, "read-only from the first failed write", s) &&
                            expect(s.reason.find(std::strerror(EFBIG)) != std::string::npos, "the reason names the error", s) &&
                            expect(lines_with(s.log, "nothing more is stored in this session") == 1, "one line says so", s);
            return ok ? kAsExpected : kUnexpected;
        }));
    }
    f.check_cache_intact();
}

TEST_CASE("a cache directory every user may write, or another user's, is used with one warning unless allowed",
          "[reliability][degraded][shared]") {
    Fixture f;
    auto warnings = [&](bool allow_shared) {
        std::vector<std::string> log;
        CacheConfig config = config_in(f.root);
        config.allow_shared = allow_shared;
        auto m = BuildCacheManager::create(config, kIdentity, [&log](const std::string& line) { log.push_back(line); });
        REQUIRE(m);
        CHECK(m->cache_access() == CacheAccess::read_write);
        return log;
    };
    CHECK(lines_with(warnings(false), "warning:") == 0);  // this user's, 0755

    REQUIRE(::chmod(f.root.c_str(), 0777) == 0);
    auto log = warnings(false);
    CHECK(lines_with(log, "warning:") == 1);
    CHECK(lines_with(log, "is writable by every user") == 1);
    CHECK(lines_with(log, "JANUS_CACHE_ALLOW_SHARED=1") == 1);
    CHECK(lines_with(warnings(true), "warning:") == 0);
    REQUIRE(::chmod(f.root.c_str(), 0755) == 0);

    if (::geteuid() == 0) {
        REQUIRE(::lchown(f.root.c_str(), testing::kNobody, testing::kNobody) == 0);
        log = warnings(false);
        CHECK(lines_with(log, "is owned by another user (uid 65534)") == 1);
        CHECK(lines_with(warnings(true), "warning:") == 0);
        REQUIRE(::lchown(f.root.c_str(), 0, 0) == 0);
    }
}
