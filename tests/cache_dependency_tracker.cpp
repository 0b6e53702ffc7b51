#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "jdc/dependency_tracker.hpp"
#include "support/dependency_state_example.hpp"
#include "support/temp_dir.hpp"

using namespace jdc;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kSecond = 1'000'000'000;

std::int64_t now_ns() {
    struct timespec ts {};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * kSecond + ts.tv_nsec;
}

void set_mtime(const fs::path& p, std::int64_t ns) {
    struct timespec times[2];
    times[0].tv_sec = ns / kSecond;  // atime
    times[0].tv_nsec = ns % kSecond;
    times[1] = times[0];
    REQUIRE(::utimensat(AT_FDCWD, p.c_str(), times, 0) == 0);
}

// Writes a source file and stamps it with a distinct mtime an hour in the past, as an
// editor saving it seconds apart would: every write changes the stat.
void write_source(const fs::path& p, const std::string& content) {
    static std::int64_t next_mtime = now_ns() - 3600 * kSecond;
    {
        std::ofstream out(p, std::ios::binary | std::ios::trunc);
        out << content;
        REQUIRE(out.good());
    }
    next_mtime += kSecond;
    set_mtime(p, next_mtime);
}

void write_raw(const fs::path& p, std::span<const std::byte> bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
}

ContentHash xxh128(const std::string& s) {
    const XXH128_hash_t h = XXH3_128bits(s.data(), s.size());
    return ContentHash{h.high64, h.low64};
}

std::vector<fs::path> paths(std::initializer_list<fs::path> list) { return list; }

// a -> b -> c, e -> c, d alone; each file's content names it.
struct Project {
    testing::TempDir dir;
    fs::path a = dir.path / "a.jn", b = dir.path / "b.jn", c = dir.path / "c.jn", d = dir.path / "d.jn",
             e = dir.path / "e.jn";
    Project() {
        for (const auto& p : {a, b, c, d, e}) write_source(p, "module " + p.stem().string() + "\n");
    }
    void wire(DependencyTracker& t) const {
        REQUIRE(t.set_imports(a, paths({b})));
        REQUIRE(t.set_imports(b, paths({c})));
        REQUIRE(t.set_imports(e, paths({c})));
    }
};

}  // namespace

TEST_CASE("an unchanged file is read once, then served from the stat cache", "[deps]") {
    testing::TempDir dir;
    const auto file = dir.path / "a.jn";
    write_source(file, "module a\n");
    DependencyTracker t;
    t.begin_build(now_ns());

    const auto h1 = t.content_hash(file);
    REQUIRE(h1);
    CHECK(*h1 == xxh128("module a\n"));
    CHECK(t.metrics().files_read == 1);
    CHECK(t.metrics().bytes_read == 9);
    REQUIRE(t.cached_entry(file));
    CHECK_FALSE(t.cached_entry(file)->racy);

    // Same build: memoised, no system call at all.
    REQUIRE(t.content_hash(file) == *h1);
    CHECK(t.metrics().memo_hits == 1);
    CHECK(t.metrics().stat_calls == 1);

    // Next build: one stat, which matches: not opened.
    t.begin_build(now_ns());
    REQUIRE(t.content_hash(file) == *h1);
    CHECK(t.metrics().stat_calls == 2);
    CHECK(t.metrics().stat_cache_hits == 1);
    CHECK(t.metrics().files_read == 1);
}

TEST_CASE("a modified file is re-read and its hash changes", "[deps]") {
    testing::TempDir dir;
    const auto file = dir.path / "a.jn";
    write_source(file, "module a\n");
    DependencyTracker t;
    t.begin_build(now_ns());
    const auto h1 = t.content_hash(file);
    REQUIRE(h1);

    write_source(file, "module A\n");  // same size, new mtime
    t.begin_build(now_ns());
    const auto h2 = t.content_hash(file);
    REQUIRE(h2);
    CHECK(*h2 == xxh128("module A\n"));
    CHECK(*h2 != *h1);
    CHECK(t.metrics().files_read == 2);
}

TEST_CASE("a file stamped at the build start is racy: re-read next build despite same size and mtime", "[deps][racy]") {
    testing::TempDir dir;
    const auto file = dir.path / "a.jn";
    const std::int64_t start = now_ns();
    DependencyTracker t;
    t.begin_build(start);

    write_source(file, "AAAA");
    set_mtime(file, start);
    const auto h1 = t.content_hash(file);
    REQUIRE(h1);
    REQUIRE(t.cached_entry(file));
    CHECK(t.cached_entry(file)->racy);
    CHECK(t.cached_entry(file)->mtime_ns == start);

    write_source(file, "BBBB");  // same size
    set_mtime(file, start);      // same mtime
    struct stat st {};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK(static_cast<std::uint64_t>(st.st_size) == t.cached_entry(file)->size);

    t.begin_build(start + 10 * kSecond);
    const auto h2 = t.content_hash(file);
    REQUIRE(h2);
    CHECK(*h2 == xxh128("BBBB"));
    CHECK(*h2 != *h1);
    CHECK(t.metrics().files_read == 2);
    // Hashed in a build that started after its mtime and ctime: no longer racy.
    CHECK_FALSE(t.cached_entry(file)->racy);

    t.begin_build(start + 20 * kSecond);
    REQUIRE(t.content_hash(file) == *h2);
    CHECK(t.metrics().files_read == 2);
    CHECK(t.metrics().stat_cache_hits == 1);
}

TEST_CASE("a racy entry is re-read even when its stat is identical, once", "[deps][racy]") {
    testing::TempDir dir;
    const auto file = dir.path / "a.jn";
    const std::int64_t start = now_ns();
    write_source(file, "module a\n");
    set_mtime(file, start);
    DependencyTracker t;
    t.begin_build(start);
    REQUIRE(t.content_hash(file));
    CHECK(t.cached_entry(file)->racy);

    t.begin_build(start + 10 * kSecond);
    REQUIRE(t.content_hash(file));
    CHECK(t.metrics().files_read == 2);
    CHECK(t.metrics().racy_rereads == 1);
    CHECK_FALSE(t.cached_entry(file)->racy);

    t.begin_build(start + 20 * kSecond);
    REQUIRE(t.content_hash(file));
    CHECK(t.metrics().files_read == 2);
    CHECK(t.metrics().stat_cache_hits == 1);
}

TEST_CASE("a file changed after the build started is racy even with an old mtime (touch -r)", "[deps][racy]") {
    testing::TempDir dir;
    const auto file = dir.path / "a.jn";
    DependencyTracker t;
    t.begin_build(now_ns() - 10 * kSecond);  // the build started before the write below
    write_source(file, "module a\n");        // mtime an hour ago, ctime now
    REQUIRE(t.content_hash(file));
    CHECK(t.cached_entry(file)->racy);
}

TEST_CASE("begin_build() without a time floors the coarse clock to a whole second", "[deps][racy]") {
    DependencyTracker t;
    const std::int64_t before = now_ns();
    t.begin_build();
    CHECK(t.build_start_ns() % kSecond == 0);
    CHECK(t.build_start_ns() <= before);
    CHECK(t.build_start_ns() > before - 2 * kSecond);
}

TEST_CASE("a touched file with the same content is re-read but changes no hash", "[deps]") {
    Project p;
    DependencyTracker t;
    p.wire(t);
    t.begin_build(now_ns());
    const auto before = t.transitive_hash(p.a);
    REQUIRE(before);
    const auto reads = t.metrics().files_read;

    set_mtime(p.c, now_ns() - 100 * kSecond);  // touch: stat changes, content does not
    t.begin_build(now_ns());
    const auto after = t.transitive_hash(p.a);
    REQUIRE(after);
    CHECK(*after == *before);
    CHECK(t.metrics().files_read == reads + 1);  // c only
    CHECK(t.metrics().stat_cache_hits == 2);     // a and b
}

TEST_CASE("transitive hashes change through the import chain, and only there", "[deps]") {
    Project p;
    DependencyTracker t;
    p.wire(t);
    t.begin_build(now_ns());
    const auto a1 = t.transitive_hash(p.a), b1 = t.transitive_hash(p.b), d1 = t.transitive_hash(p.d);
    REQUIRE(a1);
    REQUIRE(b1);
    REQUIRE(d1);
    CHECK(*a1 != *b1);
    const auto recorded = t.transitive_file_hashes(p.a);
    REQUIRE(recorded);
    REQUIRE(recorded->size() == 3);
    CHECK((*recorded)[0].path == p.a);
    CHECK((*recorded)[1].path == p.b);
    CHECK((*recorded)[2].path == p.c);

    SECTION("changing c changes a and b, not d") {
        write_source(p.c, "module c changed\n");
        t.begin_build(now_ns());
        const auto a2 = t.transitive_hash(p.a), b2 = t.transitive_hash(p.b), d2 = t.transitive_hash(p.d);
        REQUIRE(a2);
        CHECK(*a2 != *a1);
        CHECK(*b2 != *b1);
        CHECK(*d2 == *d1);
        const auto changes = t.changes_since(*recorded);
        REQUIRE(changes.size() == 1);
        CHECK(changes[0].path == p.c);
        CHECK(changes[0].change == FileChange::content_changed);
        CHECK(changes[0].previous == (*recorded)[2].hash);
    }
    SECTION("changing unrelated d leaves a alone") {
        write_source(p.d, "module d changed\n");
        t.begin_build(now_ns());
        CHECK(t.transitive_hash(p.a) == *a1);
        CHECK(t.transitive_hash(p.d) != *d1);
    }
    SECTION("a new import changes the hash, and dropping it restores it") {
        REQUIRE(t.set_imports(p.b, paths({p.c, p.d})));
        const auto a2 = t.transitive_hash(p.a);
        REQUIRE(a2);
        CHECK(*a2 != *a1);
        REQUIRE(t.set_imports(p.b, paths({p.c})));
        CHECK(t.transitive_hash(p.a) == *a1);
    }
    SECTION("deleting c makes a's hash an error naming c and who imports it") {
        fs::remove(p.c);
        t.begin_build(now_ns());
        const auto a2 = t.transitive_hash(p.a);
        REQUIRE_FALSE(a2);
        CHECK(a2.error().code == ErrorCode::not_found);
        CHECK_THAT(a2.error().message, Catch::Contains(p.c.string()));
        CHECK_THAT(a2.error().message, Catch::Contains(p.b.string()));
        CHECK_THAT(a2.error().message, Catch::Contains(p.a.string()));
        const auto changes = t.changes_since(*recorded);
        REQUIRE(changes.size() == 1);
        CHECK(changes[0].change == FileChange::deleted);
        CHECK_FALSE(t.cached_entry(p.c));
    }
}

TEST_CASE("import cycles terminate and hash stably", "[deps]") {
    Project p;
    DependencyTracker t;
    REQUIRE(t.set_imports(p.a, paths({p.b})));
    REQUIRE(t.set_imports(p.b, paths({p.a})));
    REQUIRE(t.set_imports(p.c, paths({p.c})));  // imports itself

    const auto deps_a = t.transitive_dependencies(p.a);
    REQUIRE(deps_a);
    CHECK(*deps_a == paths({p.a, p.b}));
    CHECK(t.transitive_dependencies(p.b) == paths({p.b, p.a}));
    CHECK(t.transitive_dependencies(p.c) == paths({p.c}));
    CHECK(t.dependents_of(p.a) == paths({p.b}));
    CHECK(t.dependents_of(p.c) == paths({}));

    t.begin_build(now_ns());
    const auto h1 = t.transitive_hash(p.a);
    REQUIRE(h1);
    CHECK(t.transitive_hash(p.a) == *h1);
    CHECK(t.transitive_hash(p.b) != *h1);  // same closure, different root
    t.begin_build(now_ns());
    CHECK(t.transitive_hash(p.a) == *h1);
    REQUIRE(t.transitive_hash(p.c));

    write_source(p.b, "module b changed\n");
    t.begin_build(now_ns());
    CHECK(t.transitive_hash(p.a) != *h1);
}

TEST_CASE("dependents_of follows importers transitively and tracks replaced imports", "[deps]") {
    Project p;
    DependencyTracker t;
    p.wire(t);
    CHECK(t.dependents_of(p.c) == paths({p.a, p.b, p.e}));
    CHECK(t.dependents_of(p.b) == paths({p.a}));
    CHECK(t.dependents_of(p.a) == paths({}));
    CHECK(t.dependents_of(p.d) == paths({}));
    CHECK(t.dependents_of(p.dir.path / "never-seen.jn") == paths({}));
    CHECK(t.imports_of(p.a) == paths({p.b}));

    REQUIRE(t.set_imports(p.a, paths({p.d, p.d})));  // replaces; duplicates ignored
    CHECK(t.imports_of(p.a) == paths({p.d}));
    CHECK(t.dependents_of(p.c) == paths({p.b, p.e}));
    CHECK(t.dependents_of(p.d) == paths({p.a}));

    t.forget(p.e);
    CHECK(t.imports_of(p.e) == paths({}));
    CHECK(t.dependents_of(p.c) == paths({p.b}));
}

TEST_CASE("paths are absolute and lexically normal: one file, however it is spelled", "[deps]") {
    Project p;
    DependencyTracker t;
    REQUIRE(t.set_imports(p.a, paths({p.dir.path / "sub" / ".." / "b.jn"})));
    CHECK(t.imports_of(p.dir.path / "." / "a.jn") == paths({p.b}));
    CHECK(t.dependents_of(p.b) == paths({p.a}));

    const auto rel = DependencyTracker::normalize("x/../b.jn");
    REQUIRE(rel);
    CHECK(*rel == fs::current_path() / "b.jn");
    CHECK(DependencyTracker::normalize(p.dir.path / "b.jn/") == p.b);
    CHECK(DependencyTracker::normalize("/..") == fs::path("/"));

    const auto empty = DependencyTracker::normalize("");
    REQUIRE_FALSE(empty);
    CHECK(empty.error().code == ErrorCode::invalid_argument);
    const auto nul = DependencyTracker::normalize(std::string("a\0b", 3));
    REQUIRE_FALSE(nul);
    CHECK(nul.error().code == ErrorCode::invalid_argument);
    const auto longp = DependencyTracker::normalize("/" + std::string(5000, 'x'));
    REQUIRE_FALSE(longp);
    CHECK(longp.error().code == ErrorCode::limit_exceeded);
    CHECK_FALSE(t.set_imports(p.a, paths({""})));
    CHECK(t.imports_of(p.a) == paths({p.b}));  // unchanged by the failed call
}

TEST_CASE("a missing file is not_found naming it", "[deps]") {
    testing::TempDir dir;
    DependencyTracker t;
    const auto missing = dir.path / "nope.jn";
    const auto h = t.content_hash(missing);
    REQUIRE_FALSE(h);
    CHECK(h.error().code == ErrorCode::not_found);
    CHECK_THAT(h.error().message, Catch::Contains(missing.string()));

    const auto under_file = t.content_hash(dir.path / "nope.jn" / "x.jn");
    REQUIRE_FALSE(under_file);
    CHECK(under_file.error().code == ErrorCode::not_found);

    // The graph itself needs no file.
    REQUIRE(t.set_imports(missing, paths({dir.path / "other.jn"})));
    CHECK(t.transitive_dependencies(missing) == paths({missing, dir.path / "other.jn"}));
}

TEST_CASE("an unreadable file or a directory is an io error naming the path and the reason", "[deps]") {
    testing::TempDir dir;
    DependencyTracker t;
    const auto file = dir.path / "secret.jn";
    write_source(file, "module secret\n");
    REQUIRE(::chmod(file.c_str(), 0) == 0);
    const auto h = t.content_hash(file);
    if (::geteuid() == 0) {
        WARN("running as root: chmod 000 does not deny reading, assertion skipped");
    } else {
        REQUIRE_FALSE(h);
        CHECK(h.error().code == ErrorCode::io);
        CHECK_THAT(h.error().message, Catch::Contains(file.string()));
        CHECK_THAT(h.error().message, Catch::Contains(std::strerror(EACCES)));
        const auto changes = t.changes_since(std::vector<FileHash>{{file, xxh128("module secret\n")}});
        REQUIRE(changes.size() == 1);
        CHECK(changes[0].change == FileChange::unreadable);
        CHECK_THAT(changes[0].detail, Catch::Contains(std::strerror(EACCES)));
    }

    fs::create_directory(dir.path / "sub.jn");
    const auto d = t.content_hash(dir.path / "sub.jn");
    REQUIRE_FALSE(d);
    CHECK(d.error().code == ErrorCode::io);
    CHECK_THAT(d.error().message, Catch::Contains("not a regular file"));
}

TEST_CASE("compare says whether and how a file differs from a recorded hash", "[deps]") {
    testing::TempDir dir;
    DependencyTracker t;
    const auto file = dir.path / "a.jn";
    write_source(file, "one\n");
    const ContentHash one = xxh128("one\n");
    CHECK(t.compare(file, one) == FileChange::unchanged);
    CHECK(t.compare(file, std::nullopt) == FileChange::added);
    CHECK(t.compare(file, xxh128("two\n")) == FileChange::content_changed);
    fs::remove(file);
    t.begin_build(now_ns());
    CHECK(t.compare(file, one) == FileChange::deleted);
    const auto neither = t.compare(file, std::nullopt);
    REQUIRE_FALSE(neither);
    CHECK(neither.error().code == ErrorCode::not_found);
}

TEST_CASE("state survives save and load; changed_files explains what changed since", "[deps][state]") {
    Project p;
    const auto state = p.dir.path / "deps.state";
    std::vector<std::byte> saved;
    ContentHash a1;
    {
        DependencyTracker t;
        CHECK(t.load(state).status == StateLoadStatus::missing);
        CHECK(t.load(state).warning.empty());
        p.wire(t);
        t.begin_build(now_ns());
        a1 = *t.transitive_hash(p.a);
        REQUIRE(t.content_hash(p.d));
        REQUIRE(t.save(state));
        saved = *t.to_bytes();
        CHECK(t.changed_files().empty());
    }
    for (const auto& entry : fs::directory_iterator(p.dir.path))
        CHECK_THAT(entry.path().filename().string(), !Catch::Contains(".tmp."));

    DependencyTracker t;
    const StateLoad loaded = t.load(state);
    CHECK(loaded.status == StateLoadStatus::loaded);
    CHECK(loaded.warning.empty());
    CHECK(*t.to_bytes() == saved);  // canonical: the same bytes back
    CHECK(t.imports_of(p.a) == paths({p.b}));
    CHECK(t.dependents_of(p.c) == paths({p.a, p.b, p.e}));
    REQUIRE(t.cached_entry(p.c));
    CHECK(t.cached_entry(p.c)->hash == xxh128("module c\n"));

    t.begin_build(now_ns());
    CHECK(t.transitive_hash(p.a) == a1);
    CHECK(t.metrics().files_read == 0);  // all from the loaded stat cache
    CHECK(t.changed_files().empty());
    // Nothing changed: the file is left as it is (an atomic rewrite would give it a
    // new inode); a state that differs is written.
    const auto inode_of = [](const fs::path& f) {
        struct stat st {};
        return ::stat(f.c_str(), &st) == 0 ? st.st_ino : ino_t{0};
    };
    const ino_t before = inode_of(state);
    REQUIRE(before != 0);
    REQUIRE(t.save(state));
    CHECK(inode_of(state) == before);
    // Saved elsewhere, over a file of the same size: written there all the same.
    const auto elsewhere = p.dir.path / "other.state";
    std::ofstream(elsewhere, std::ios::binary) << std::string(saved.size(), 'x');
    REQUIRE(t.save(elsewhere));
    DependencyTracker copy;
    CHECK(copy.load(elsewhere).status == StateLoadStatus::loaded);

    write_source(p.c, "module c changed\n");
    fs::remove(p.d);
    write_source(p.dir.path / "f.jn", "module f\n");
    REQUIRE(t.set_imports(p.e, paths({p.c, p.dir.path / "f.jn"})));
    t.begin_build(now_ns());
    REQUIRE(t.content_hash(p.dir.path / "f.jn"));  // hashed: known from now on
    const auto changes = t.changed_files();
    REQUIRE(changes.size() == 3);
    CHECK(changes[0].path == p.c);
    CHECK(changes[0].change == FileChange::content_changed);
    CHECK(changes[0].previous == xxh128("module c\n"));
    CHECK(changes[0].current == xxh128("module c changed\n"));
    CHECK(changes[1].path == p.d);
    CHECK(changes[1].change == FileChange::deleted);
    CHECK(changes[2].path == p.dir.path / "f.jn");
    CHECK(changes[2].change == FileChange::added);

    REQUIRE(t.save(state));  // the new baseline
    CHECK(t.changed_files().empty());
    CHECK(inode_of(state) != before);
    DependencyTracker reloaded;
    CHECK(reloaded.load(state).status == StateLoadStatus::loaded);
    CHECK(*reloaded.to_bytes() == *t.to_bytes());
}

TEST_CASE("base_directory makes transitive hashes independent of where the project is", "[deps]") {
    Project one, two;
    DependencyTracker t1({one.dir.path}), t2({two.dir.path}), abs1, abs2;
    one.wire(t1);
    two.wire(t2);
    one.wire(abs1);
    two.wire(abs2);
    CHECK(*t1.transitive_hash(one.a) == *t2.transitive_hash(two.a));
    CHECK(*abs1.transitive_hash(one.a) != *abs2.transitive_hash(two.a));
}

// ---- Damaged state files: always an empty state plus a warning, never a crash -------------

namespace {

std::vector<std::byte> sample_state(Project& p) {
    DependencyTracker t;
    p.wire(t);
    REQUIRE(t.set_imports(p.c, paths({p.c})));
    t.begin_build(now_ns());
    REQUIRE(t.transitive_hash(p.a));
    REQUIRE(t.transitive_hash(p.e));
    auto bytes = t.to_bytes();
    REQUIRE(bytes);
    return *bytes;
}

void reseal(std::vector<std::byte>& bytes) {
    REQUIRE(bytes.size() >= 32);
    const std::uint64_t sum = XXH3_64bits(bytes.data(), bytes.size() - 8);
    std::memcpy(bytes.data() + bytes.size() - 8, &sum, 8);
}

// After a failed load the tracker holds nothing of the old state.
void check_empty(DependencyTracker& t, const Project& p) {
    CHECK(t.imports_of(p.a).empty());
    CHECK_FALSE(t.cached_entry(p.a));
    CHECK(t.dependents_of(p.c) == paths({}));
}

}  // namespace

TEST_CASE("every truncation of a state file loads as an empty state with a warning", "[deps][state][corrupt]") {
    Project p;
    const auto good = sample_state(p);
    DependencyTracker t;
    REQUIRE(t.load_bytes(good).status == StateLoadStatus::loaded);
    for (std::size_t len = 0; len < good.size(); ++len) {
        REQUIRE(t.load_bytes(good).status == StateLoadStatus::loaded);
        const StateLoad r = t.load_bytes(std::span(good).first(len));
        REQUIRE(r.status == StateLoadStatus::discarded);
        CHECK_FALSE(r.warning.empty());
        CHECK(r.reason.has_value());
    }
    check_empty(t, p);

    // Through a file: the warning names it.
    const auto file = p.dir.path / "deps.state";
    write_raw(file, std::span(good).first(good.size() / 2));
    const StateLoad r = t.load(file);
    CHECK(r.status == StateLoadStatus::discarded);
    CHECK(r.reason == ErrorCode::truncated);
    CHECK_THAT(r.warning, Catch::Contains(file.string()));
    write_raw(file, {});
    CHECK(t.load(file).status == StateLoadStatus::discarded);
}

TEST_CASE("every single bit flip, and random multiple flips, are rejected", "[deps][state][corrupt]") {
    Project p;
    const auto good = sample_state(p);
    DependencyTracker t;
    for (std::size_t bit = 0; bit < good.size() * 8; ++bit) {
        auto bad = good;
        bad[bit / 8] ^= std::byte(1u << (bit % 8));
        const StateLoad r = t.load_bytes(bad);
        REQUIRE(r.status == StateLoadStatus::discarded);
        CHECK_FALSE(r.warning.empty());
    }
    std::mt19937_64 rng(42);
    for (int i = 0; i < 2000; ++i) {
        auto bad = good;
        const int flips = 2 + static_cast<int>(rng() % 8);
        for (int f = 0; f < flips; ++f) bad[rng() % bad.size()] ^= std::byte(1u << (rng() % 8));
        if (bad == good) continue;
        REQUIRE(t.load_bytes(bad).status == StateLoadStatus::discarded);
    }
    check_empty(t, p);
}

TEST_CASE("damage behind a valid checksum is caught by the structural checks", "[deps][state][corrupt]") {
    Project p;
    const auto good = sample_state(p);
    DependencyTracker t;
    auto expect = [&](std::vector<std::byte> bad, ErrorCode code) {
        reseal(bad);
        const StateLoad r = t.load_bytes(bad);
        CHECK(r.status == StateLoadStatus::discarded);
        CHECK(r.reason == code);
        INFO(r.warning);
    };
    auto with_u32 = [&](std::size_t at, std::uint32_t v) {
        auto b = good;
        std::memcpy(b.data() + at, &v, 4);
        return b;
    };
    expect(with_u32(0, 0x12345678), ErrorCode::bad_magic);
    expect(with_u32(4, 2), ErrorCode::unsupported_version);  // major 2, minor 0
    expect(with_u32(4, 1u | (1u << 16)), ErrorCode::unsupported_version);  // 1.1
    expect(with_u32(8, 1), ErrorCode::unsupported_version);  // flags
    expect(with_u32(12, 0xFFFFFFFFu), ErrorCode::limit_exceeded);
    expect(with_u32(12, 1'000'000), ErrorCode::corrupt);  // cannot fit
    expect(with_u32(12, 1), ErrorCode::corrupt);          // bytes after the last record
    expect(with_u32(12, 0), ErrorCode::corrupt);
    {
        auto b = good;  // payload_size one short: a byte after the trailer
        std::uint64_t n;
        std::memcpy(&n, b.data() + 16, 8);
        --n;
        std::memcpy(b.data() + 16, &n, 8);
        expect(b, ErrorCode::corrupt);
        n += 2;
        std::memcpy(b.data() + 16, &n, 8);
        expect(b, ErrorCode::truncated);
    }
    {
        auto b = good;  // first path: "/tmp/..." -> "//mp/..." is not normal
        b[24 + 4 + 1] = std::byte('/');
        expect(b, ErrorCode::corrupt);
        b = good;  // a relative path
        b[24 + 4] = std::byte('x');
        expect(b, ErrorCode::corrupt);
        b = with_u32(24, 0);  // empty path
        expect(b, ErrorCode::corrupt);
        b = with_u32(24, 5000);  // too long
        expect(b, ErrorCode::corrupt);
    }
    {
        // First record: path, flags (has stat), 56 bytes of stat, then import count and imports.
        std::uint32_t path_len;
        std::memcpy(&path_len, good.data() + 24, 4);
        const std::size_t flags_at = 24 + 4 + path_len;
        REQUIRE(good[flags_at] == std::byte{1});  // a.jn: has stat, not racy
        auto b = good;
        b[flags_at] = std::byte{2};  // racy without a stat
        expect(b, ErrorCode::corrupt);
        b[flags_at] = std::byte{4};  // unknown flag
        expect(b, ErrorCode::corrupt);
        const std::size_t count_at = flags_at + 1 + 56;
        std::uint32_t count;
        std::memcpy(&count, good.data() + count_at, 4);
        REQUIRE(count == 1);  // a imports b
        expect(with_u32(count_at + 4, 99), ErrorCode::corrupt);  // index out of range
        expect(with_u32(count_at + 4, 0xFFFFFFFFu), ErrorCode::corrupt);
        expect(with_u32(count_at, 0xFFFFFFFFu), ErrorCode::corrupt);  // import count
        expect(with_u32(count_at, 3), ErrorCode::corrupt);
    }
    check_empty(t, p);
}

TEST_CASE("random damage behind a valid checksum never crashes; what loads re-serialises identically",
          "[deps][state][corrupt]") {
    Project p;
    const auto good = sample_state(p);
    DependencyTracker t;
    std::mt19937_64 rng(7);
    int loaded = 0;
    for (int i = 0; i < 20000; ++i) {
        auto bad = good;
        const int edits = 1 + static_cast<int>(rng() % 4);
        for (int e = 0; e < edits; ++e) {
            const std::size_t at = 24 + rng() % (bad.size() - 32);  // the payload
            switch (rng() % 3) {
                case 0: bad[at] ^= std::byte(1u << (rng() % 8)); break;
                case 1: bad[at] = std::byte(rng() & 0xFF); break;
                default: bad[at] = std::byte(rng() % 4); break;  // small counts and flags
            }
        }
        reseal(bad);
        const StateLoad r = t.load_bytes(bad);
        if (r.status == StateLoadStatus::loaded) {
            ++loaded;
            CHECK(*t.to_bytes() == bad);
        } else {
            CHECK_FALSE(r.warning.empty());
        }
    }
    INFO("accepted mutants: " << loaded);
    SUCCEED();
}

TEST_CASE("a state file that cannot be read is discarded with a warning; a failed load empties the state",
          "[deps][state][corrupt]") {
    Project p;
    DependencyTracker t;
    p.wire(t);
    fs::create_directory(p.dir.path / "deps.state");
    const StateLoad r = t.load(p.dir.path / "deps.state");
    CHECK(r.status == StateLoadStatus::discarded);
    CHECK(r.reason == ErrorCode::io);
    CHECK_THAT(r.warning, Catch::Contains("deps.state"));
    check_empty(t, p);
}

TEST_CASE("the spec's worked example, encoded by hand, loads and re-encodes byte for byte", "[deps][state]") {
    const auto bytes = testing::dependency_state_spec_example();
    CHECK(bytes.size() == 180);
    DependencyTracker t;
    const StateLoad r = t.load_bytes(bytes);
    INFO(r.warning);
    REQUIRE(r.status == StateLoadStatus::loaded);
    CHECK(t.imports_of("/p/a.jn") == paths({"/p/b.jn"}));
    CHECK(t.dependents_of("/p/b.jn") == paths({"/p/a.jn"}));
    const auto b = t.cached_entry("/p/b.jn");
    REQUIRE(b);
    CHECK(b->racy);
    CHECK(b->inode == 1235);
    CHECK(b->hash == xxh128("module b\n"));
    CHECK_FALSE(t.cached_entry("/p/a.jn")->racy);
    CHECK(*t.to_bytes() == bytes);
    if (std::getenv("JDC_DUMP_SPEC_EXAMPLE")) {
        for (std::size_t i = 0; i < bytes.size(); ++i)
            std::printf("%02x%s", static_cast<unsigned>(bytes[i]), i % 16 == 15 ? "\n" : " ");
        std::printf("\n");
    }
}

TEST_CASE("transitive_hash follows the spec's encoding (§6) and its test vector", "[deps]") {
    testing::TempDir dir;
    write_source(dir.path / "a.jn", "module a\n");
    write_source(dir.path / "b.jn", "module b\n");
    DependencyTracker t({dir.path});
    REQUIRE(t.set_imports(dir.path / "a.jn", paths({dir.path / "b.jn"})));
    const auto h = t.transitive_hash(dir.path / "a.jn");
    REQUIRE(h);

    XXH3_state_t* s = XXH3_createState();
    XXH3_128bits_reset(s);
    auto u32 = [&](std::uint32_t v) { XXH3_128bits_update(s, &v, 4); };
    auto u64 = [&](std::uint64_t v) { XXH3_128bits_update(s, &v, 8); };
    auto name = [&](std::string_view n) {
        u32(static_cast<std::uint32_t>(n.size()));
        XXH3_128bits_update(s, n.data(), n.size());
    };
    name("a.jn");  // the root
    u64(2);        // files in the closure, then (name, hash) sorted by name
    name("a.jn");
    u64(xxh128("module a\n").hi);
    u64(xxh128("module a\n").lo);
    name("b.jn");
    u64(xxh128("module b\n").hi);
    u64(xxh128("module b\n").lo);
    const XXH128_hash_t expected = XXH3_128bits_digest(s);
    XXH3_freeState(s);
    CHECK(h->hi == expected.high64);
    CHECK(h->lo == expected.low64);
    CHECK(h->to_hex() == "1133da163cbc4adacf40c7c688d0a657");  // the spec's test vector
}
