// stats.json and history.jsonl (src/cache/metrics_report.hpp), and what a session
// notes about its misses (src/cache/session_metrics.hpp).
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "cache/metrics_report.hpp"
#include "cache/session_metrics.hpp"
#include "support/temp_dir.hpp"

using namespace jdc;
using namespace jdc::detail;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

json read_json_file(const fs::path& p) {
    std::ifstream in(p);
    return json::parse(in);
}

std::size_t line_count(const fs::path& p) {
    std::ifstream in(p);
    std::size_t n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
}

SessionRecord session_with(std::uint64_t hits, std::uint64_t misses, std::uint64_t started_ns) {
    SessionMetrics m;
    m.start();
    for (std::uint64_t i = 0; i < hits; ++i) m.count_hit(10);
    for (std::uint64_t i = 0; i < misses; ++i) m.count_miss(MissReason::source_changed, 100, "t" + std::to_string(i), "src/core.jn");
    m.end();
    SessionRecord r = m.record();
    r.started_ns = started_ns;
    r.ended_ns = started_ns + 1;
    return r;
}

}  // namespace

TEST_CASE("a session's end writes stats.json (schema 2, reasons by json_name) and a line of history", "[metrics][history]") {
    testing::TempDir dir;
    fs::create_directories(dir.path / "tmp");
    SessionMetrics m;
    m.start();
    m.count_hit(5, 100);
    m.count_miss(MissReason::source_changed, 1000, "area", "src/shapes.jn");
    m.count_miss(MissReason::source_changed, 1000, "perimeter", "src/shapes.jn");
    m.count_miss(MissReason::never_seen, 1000, "draw", "");
    m.count_miss(MissReason::corrupt, 1000, "fill", "checksum mismatch at offset 300");
    m.end();
    auto totals = add_session_to_stats(dir.path, m.record());
    REQUIRE(totals);
    CHECK(totals->lifetime.misses == 4);

    const json stats = read_json_file(dir.path / "stats.json");
    CHECK(stats["schema_version"] == kJsonSchemaVersion);
    CHECK(stats["lifetime"]["misses_by_reason"]["source_changed"] == 2);
    CHECK(stats["lifetime"]["misses_by_reason"]["never_seen"] == 1);
    for (const auto& [key, value] : stats["lifetime"]["misses_by_reason"].items()) CHECK(key.find(' ') == std::string::npos);

    const auto history = read_session_history(dir.path);
    REQUIRE(history.size() == 1);
    const SessionRecord& r = history.front();
    CHECK(r.metrics.hits == 1);
    CHECK(r.metrics.misses_by_reason[static_cast<std::size_t>(MissReason::source_changed)] == 2);
    CHECK(r.missed_tables == std::vector<std::string>{"area", "draw", "fill", "perimeter"});
    CHECK_FALSE(r.missed_tables_omitted);
    REQUIRE(r.causes.size() == 3);
    CHECK(r.causes[0].reason == MissReason::source_changed);  // most misses first
    CHECK(r.causes[0].detail == "src/shapes.jn");
    CHECK(r.causes[0].misses == 2);
    for (const MissCause& c : r.causes)
        if (c.reason == MissReason::corrupt) CHECK(c.detail.empty());  // an error message is not an input that changes
    CHECK(r.started_ns > 0);
    CHECK(r.ended_ns >= r.started_ns);
}

TEST_CASE("stats.json of schema 1 (reasons named in words) is still read", "[metrics]") {
    testing::TempDir dir;
    std::ofstream(dir.path / "stats.json")
        << R"({"lifetime": {"lookups": 10, "hits": 7, "misses": 3, "misses_by_reason": {"source changed": 2, "compiler version changed": 1}},
              "last_session": {"lookups": 1}, "mean_build_ns": 42})";
    const auto m = read_recorded_metrics(dir.path);
    REQUIRE(m);
    CHECK(m->lifetime.misses_by_reason[static_cast<std::size_t>(MissReason::source_changed)] == 2);
    CHECK(m->lifetime.misses_by_reason[static_cast<std::size_t>(MissReason::compiler_changed)] == 1);
    CHECK(m->mean_build_ns == 42);
}

TEST_CASE("stats.json is rewritten in place when the new document fits in it, replaced whole when not", "[metrics]") {
    testing::TempDir dir;
    fs::create_directories(dir.path / "tmp");
    const fs::path stats = dir.path / "stats.json";
    const auto inode_of = [&] {
        struct stat st {};
        return ::stat(stats.c_str(), &st) == 0 ? st.st_ino : ino_t{0};
    };
    REQUIRE(add_session_to_stats(dir.path, session_with(1, 1, 1000)));  // created, with room to grow
    const ino_t created = inode_of();
    const auto size = fs::file_size(stats);
    REQUIRE(add_session_to_stats(dir.path, session_with(20, 300, 2000)));
    CHECK(inode_of() == created);  // the same file, overwritten
    CHECK(fs::file_size(stats) == size);
    auto m = read_recorded_metrics(dir.path);
    REQUIRE(m);
    CHECK(m->lifetime.hits == 21);
    CHECK(m->lifetime.misses == 301);
    CHECK(m->last_session.hits == 20);

    // Too short for the document (written by hand, or by an older jdc): replaced whole.
    std::ofstream(stats, std::ios::trunc) << R"({"lifetime": {"hits": 1}})";
    const ino_t short_file = inode_of();
    REQUIRE(add_session_to_stats(dir.path, session_with(1, 0, 3000)));
    CHECK(inode_of() != short_file);
    m = read_recorded_metrics(dir.path);
    REQUIRE(m);
    CHECK(m->lifetime.hits == 2);
}

TEST_CASE("history.jsonl is bounded: past twice kHistorySessions lines it keeps the newest", "[metrics][history]") {
    testing::TempDir dir;
    fs::create_directories(dir.path / "tmp");
    const std::size_t sessions = 2 * kHistorySessions + 50;
    for (std::size_t i = 1; i <= sessions; ++i) {
        // Large enough lines that the file passes the size at which it is checked.
        REQUIRE(add_session_to_stats(dir.path, session_with(i, 40, i * 1000)));
    }
    const std::size_t lines = line_count(dir.path / "history.jsonl");
    CHECK(lines >= kHistorySessions);
    CHECK(lines <= 2 * kHistorySessions);
    const auto history = read_session_history(dir.path);
    REQUIRE(history.size() == kHistorySessions);
    CHECK(history.back().started_ns == sessions * 1000);  // the newest last
    CHECK(history.front().started_ns == (sessions - kHistorySessions + 1) * 1000);
    CHECK(read_session_history(dir.path, 5).size() == 5);
}

TEST_CASE("a history line cut short by a killed writer is skipped", "[metrics][history]") {
    testing::TempDir dir;
    fs::create_directories(dir.path / "tmp");
    REQUIRE(add_session_to_stats(dir.path, session_with(1, 1, 1000)));
    std::ofstream(dir.path / "history.jsonl", std::ios::app) << R"({"schema_version": 2, "started_ns": 5, "metr)";
    std::ofstream(dir.path / "history.jsonl", std::ios::app) << "\n";
    REQUIRE(add_session_to_stats(dir.path, session_with(2, 2, 3000)));
    const auto history = read_session_history(dir.path);
    REQUIRE(history.size() == 2);
    CHECK(history[0].started_ns == 1000);
    CHECK(history[1].started_ns == 3000);
}

TEST_CASE("zero_recorded_metrics clears the totals, keeps the mean build time and the history", "[metrics]") {
    testing::TempDir dir;
    fs::create_directories(dir.path / "tmp");
    REQUIRE(add_session_to_stats(dir.path, session_with(3, 2, 1000)));
    const std::uint64_t mean = read_recorded_metrics(dir.path)->mean_build_ns;
    CHECK(mean == 100);
    CHECK(recorded_metrics_zeroed_at(dir.path) == 0);
    REQUIRE(zero_recorded_metrics(dir.path));
    const auto m = read_recorded_metrics(dir.path);
    REQUIRE(m);
    CHECK(m->lifetime.lookups == 0);
    CHECK(m->last_session.lookups == 0);
    CHECK(m->mean_build_ns == mean);
    CHECK(recorded_metrics_zeroed_at(dir.path) > 0);
    CHECK(read_session_history(dir.path).size() == 1);
    // The next session counts from zero and the zeroing time stays recorded.
    REQUIRE(add_session_to_stats(dir.path, session_with(1, 0, 2000)));
    CHECK(read_recorded_metrics(dir.path)->lifetime.lookups == 1);
    CHECK(read_recorded_metrics(dir.path)->mean_build_ns == mean);
    CHECK(recorded_metrics_zeroed_at(dir.path) > 0);
}

TEST_CASE("a session names at most kMaxMissedTablesPerSession tables and kMaxMissCausesPerSession causes", "[metrics]") {
    SessionMetrics m;
    m.start();
    for (std::size_t i = 0; i <= kMaxMissedTablesPerSession; ++i)
        m.count_miss(MissReason::source_changed, 1, "table" + std::to_string(i), "src/f" + std::to_string(i) + ".jn");
    const SessionRecord r = m.record();
    CHECK(r.metrics.misses == kMaxMissedTablesPerSession + 1);
    CHECK(r.missed_tables.empty());
    CHECK(r.missed_tables_omitted);
    CHECK(r.causes.size() == kMaxMissCausesPerSession);
    CHECK(r.other_cause_misses == kMaxMissedTablesPerSession + 1 - kMaxMissCausesPerSession);
    m.start();  // a new session starts clean
    m.count_miss(MissReason::evicted, 1, "again", "");
    CHECK(m.record().missed_tables == std::vector<std::string>{"again"});
    CHECK_FALSE(m.record().missed_tables_omitted);
}

TEST_CASE("session records survive their JSON form", "[metrics][history]") {
    SessionRecord r = session_with(4, 3, 77);
    r.metrics.remote_hits = 2;
    const auto back = session_record_from_json(json::parse(session_record_json(r).dump()));
    REQUIRE(back);
    CHECK(back->metrics.hits == 4);
    CHECK(back->metrics.remote_hits == 2);
    CHECK(back->missed_tables == r.missed_tables);
    REQUIRE(back->causes.size() == 1);
    CHECK(back->causes[0].detail == "src/core.jn");
    CHECK(back->causes[0].misses == 3);
    CHECK_FALSE(session_record_from_json(json::parse("[1, 2]")));
    CHECK_FALSE(session_record_from_json(json::parse(R"({"started_ns": 1})")));
}
