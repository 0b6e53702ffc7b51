#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <thread>

#include <csignal>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jdc/local_store.hpp"
#include "jdc/pack.hpp"
#include "support/arena_samples.hpp"
#include "support/damaged_index.hpp"
#include "support/temp_dir.hpp"

using namespace jdc;
using jdc::testing::arena_for;
using jdc::testing::key_for;
namespace fs = std::filesystem;

namespace {

StoreOptions quiet_options(std::vector<std::string>* log = nullptr) {
    StoreOptions o;
    if (log != nullptr) o.log = [log](const std::string& line) { log->push_back(line); };
    return o;
}

std::size_t loose_file_count(const fs::path& root) {
    std::size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(root / "objects"))
        if (e.is_regular_file()) ++n;
    return n;
}

// A directory laid out by hand as a cache (packs written before any open) carries the
// tag a store writes, or open() takes it for someone else's non-empty directory.
void mark_as_cache(const fs::path& root) {
    fs::create_directories(root);
    std::ofstream(root / "CACHEDIR.TAG") << "Signature: 8a477f597d28d172789f06886806bc55\n";
}

bool contains(const std::vector<std::string>& lines, const std::string& part) {
    for (const auto& l : lines)
        if (l.find(part) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("put then get returns the verified arena; unknown keys miss", "[store]") {
    testing::TempDir dir;
    auto store = LocalStore::open(dir.path / "cache");
    REQUIRE(store);
    CHECK(fs::exists(dir.path / "cache" / "CACHEDIR.TAG"));
    const auto a = arena_for(1);
    REQUIRE(store->put({key_for(1), a, 42}));
    auto got = store->get(key_for(1));
    REQUIRE(got);
    CHECK(std::equal(got->view().bytes().begin(), got->view().bytes().end(), a.begin(), a.end()));
    CHECK(got->location() == EntryLocation::loose);
    const auto meta = store->find(key_for(1));
    REQUIRE(meta);
    CHECK(meta->size == a.size());
    CHECK(meta->config_hash == 42);
    CHECK(meta->format_version == arena::kVersionWord);
    CHECK(meta->access_count == 1);

    auto miss = store->get(key_for(2));
    REQUIRE_FALSE(miss);
    CHECK(miss.error().code == ErrorCode::not_found);
    const StoreStats st = store->stats();
    CHECK(st.index.hits == 1);
    CHECK(st.index.misses == 1);
    CHECK(st.index.live_count == 1);
    CHECK(st.index.total_bytes == a.size());
    CHECK(st.index.bytes_written == a.size());
    CHECK(fs::exists(store->loose_path(key_for(1))));
}

TEST_CASE("open refuses a directory that is not empty and not a cache, unless told to adopt it", "[store]") {
    testing::TempDir dir;
    // A repository's .git/ has an objects/ directory too: it was once taken for a cache.
    const fs::path git = dir.path / "repo" / ".git";
    fs::create_directories(git / "objects");
    std::ofstream(git / "HEAD") << "ref: refs/heads/main\n";
    auto refused = LocalStore::open(git);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == ErrorCode::invalid_argument);
    CHECK(refused.error().message.find("refusing to make '" + git.string() + "' a cache directory: it is not empty and has no CACHEDIR.TAG") == 0);
    CHECK(refused.error().message.find("jdc init --force") != std::string::npos);
    CHECK_FALSE(fs::exists(git / "CACHEDIR.TAG"));  // nothing written
    CHECK_FALSE(fs::exists(git / "lock"));
    CHECK_FALSE(fs::exists(git / "tmp"));

    // New, empty, or already a cache: opened.
    CHECK(LocalStore::open(dir.path / "new" / "cache"));
    fs::create_directories(dir.path / "empty");
    CHECK(LocalStore::open(dir.path / "empty"));
    CHECK(LocalStore::open(dir.path / "empty"));  // reopened: it has its tag now
    fs::remove(dir.path / "empty" / "CACHEDIR.TAG");
    CHECK(LocalStore::open(dir.path / "empty"));  // a cache whose tag was deleted still has its index

    StoreOptions adopt;
    adopt.adopt_non_empty_directory = true;
    REQUIRE(LocalStore::open(git, adopt));
    CHECK(fs::exists(git / "CACHEDIR.TAG"));
    CHECK(fs::exists(git / "HEAD"));  // what was there stays
}

TEST_CASE("zero_counters sets the index's counters to zero for every process", "[store]") {
    testing::TempDir dir;
    auto store = LocalStore::open(dir.path / "cache");
    REQUIRE(store);
    const auto a = arena_for(1);
    REQUIRE(store->put({key_for(1), a, 0}));
    REQUIRE(store->get(key_for(1)));
    (void)store->get(key_for(2));
    auto other = LocalStore::open(dir.path / "cache");  // another opener shares the counters
    REQUIRE(other);
    CHECK(other->stats().index.hits == 1);
    REQUIRE(other->zero_counters());
    const IndexSummary s = store->stats().index;
    CHECK(s.hits == 0);
    CHECK(s.misses == 0);
    CHECK(s.bytes_written == 0);
    CHECK(s.bytes_read == 0);
    CHECK(s.live_count == 1);  // entries are not counters
    REQUIRE(store->get(key_for(1)));
    CHECK(other->stats().index.hits == 1);
}

TEST_CASE("put refuses junk and the zero key; a failed put leaves the store unchanged", "[store]") {
    testing::TempDir dir;
    auto store = LocalStore::open(dir.path);
    REQUIRE(store);
    REQUIRE(store->put({key_for(1), arena_for(1)}));
    std::vector<std::byte> junk(200, std::byte{7});
    auto r = store->put({key_for(2), junk});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::invalid_argument);
    CHECK_FALSE(store->put({CacheKey{}, arena_for(2)}));
    CHECK(store->stats().index.live_count == 1);
    CHECK(loose_file_count(dir.path) == 1);
    CHECK(fs::is_empty(dir.path / "tmp"));
}

TEST_CASE("a batch of puts takes the lock once and grows the index as needed", "[store]") {
    testing::TempDir dir;
    auto store = LocalStore::open(dir.path);
    REQUIRE(store);
    std::vector<std::vector<std::byte>> arenas;
    for (std::uint64_t n = 0; n < 300; ++n) arenas.push_back(arena_for(n, 1));
    std::vector<PutRequest> batch;
    for (std::uint64_t n = 0; n < 300; ++n) batch.push_back({key_for(n), arenas[n]});
    REQUIRE(store->put_batch(batch));
    CHECK(store->stats().index.live_count == 300);
    CHECK(store->stats().index.capacity >= 300 * 10 / 7);
    std::vector<CacheKey> keys;
    for (std::uint64_t n = 0; n < 300; ++n) keys.push_back(key_for(n));
    for (auto& r : store->get_batch(keys)) CHECK(r);
    CHECK(loose_file_count(dir.path) == 300);
}

TEST_CASE("size eviction removes least recently used entries down to the low-water mark", "[store][eviction]") {
    testing::TempDir dir;
    StoreOptions o;
    o.reader_grace_ns = 0;
    o.automatic_maintenance = false;
    auto store = LocalStore::open(dir.path, o);
    REQUIRE(store);
    std::vector<std::vector<std::byte>> arenas;
    for (std::uint64_t n = 0; n < 10; ++n) arenas.push_back(arena_for(n));
    for (std::uint64_t n = 0; n < 10; ++n) REQUIRE(store->put({key_for(n), arenas[n]}));
    // Touch entries so that LRU order is 0,2,4,6,8,1,3,5,7,9 (oldest first).
    for (std::uint64_t n : {0, 2, 4, 6, 8, 1, 3, 5, 7, 9}) {
        REQUIRE(store->get(key_for(n)));
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    const std::uint64_t total = store->stats().index.total_bytes;
    StoreOptions tight = o;
    tight.max_size_bytes = total / 2;
    tight.low_water_percent = 80;
    auto small = LocalStore::open(dir.path, tight);
    REQUIRE(small);
    auto report = small->evict();
    REQUIRE(report);
    CHECK(report->removed_by_size > 0);
    CHECK(small->stats().index.total_bytes <= tight.max_size_bytes * 80 / 100);
    // The evicted ones are a prefix of the LRU order.
    const std::uint64_t order[] = {0, 2, 4, 6, 8, 1, 3, 5, 7, 9};
    for (std::size_t i = 0; i < 10; ++i) {
        const bool gone = !small->find(key_for(order[i]));
        CHECK(gone == (i < report->removed_by_size));
        CHECK(fs::exists(small->loose_path(key_for(order[i]))) == !gone);
    }
    CHECK(small->stats().index.evictions == report->removed_by_size);
}

TEST_CASE("size eviction spares entries read within the reader grace period, but not over the limit", "[store][eviction]") {
    testing::TempDir dir;
    StoreOptions o;
    o.automatic_maintenance = false;
    o.reader_grace_ns = 3600 * kNanosPerSecond;
    auto store = LocalStore::open(dir.path, o);
    REQUIRE(store);
    for (std::uint64_t n = 0; n < 8; ++n) REQUIRE(store->put({key_for(n), arena_for(n)}));
    // 0-3 last read two hours ago, 4-7 now: a rebuilt index takes the last access from
    // the files' modification times.
    for (std::uint64_t n = 0; n < 8; ++n) {
        const struct timespec times[2] = {{0, UTIME_OMIT}, {::time(nullptr) - (n < 4 ? 7200 : 0), 0}};
        REQUIRE(::utimensat(AT_FDCWD, store->loose_path(key_for(n)).c_str(), times, 0) == 0);
    }
    REQUIRE(store->rebuild_index("test: set last accesses"));
    const SizeBudget before = store->budget();
    std::uint64_t recent = 0;  // what 4-7 count
    for (std::uint64_t n = 4; n < 8; ++n) recent += store->find(key_for(n))->size + kPackBytesPerEntry;

    SECTION("the old entries suffice: the recent ones stay, though the low-water mark is not reached") {
        StoreOptions tight = o;
        tight.max_size_bytes = before.fixed_bytes + recent + 1;  // 4-7 fit; 80 % of it they do not
        auto small = LocalStore::open(dir.path, tight);
        REQUIRE(small);
        auto report = small->evict();
        REQUIRE(report);
        CHECK(report->removed_by_size == 4);
        CHECK(report->removed_in_grace == 0);
        CHECK(report->kept_in_grace == 4);
        for (std::uint64_t n = 0; n < 8; ++n) CHECK(small->find(key_for(n)).has_value() == (n >= 4));
        CHECK(small->budget().total() <= tight.max_size_bytes);
    }
    SECTION("they do not: recent entries go too, least recently used first, until the budget fits the limit") {
        StoreOptions tight = o;
        tight.max_size_bytes = before.fixed_bytes + recent / 2;
        auto small = LocalStore::open(dir.path, tight);
        REQUIRE(small);
        auto report = small->evict();
        REQUIRE(report);
        CHECK(report->removed_in_grace >= 2);
        CHECK(report->removed_by_size == 4 + report->removed_in_grace);
        CHECK(small->budget().total() <= tight.max_size_bytes);
        CHECK(small->find(key_for(7)));  // the most recent stays
    }
}

TEST_CASE("automatic maintenance keeps the directory within its limit after every put", "[store][eviction]") {
    testing::TempDir dir;
    std::uint64_t fixed = 0;
    {
        auto empty = LocalStore::open(dir.path);
        REQUIRE(empty);
        fixed = empty->budget().fixed_bytes;
    }
    StoreOptions o;
    o.reader_grace_ns = 0;
    // Room for the empty store, 12 shard directories and about 4 entries.
    o.max_size_bytes = fixed + 12 * kDirectoryBytes + 4 * (arena_for(0).size() + kPackBytesPerEntry);
    auto store = LocalStore::open(dir.path, o);
    REQUIRE(store);
    for (std::uint64_t n = 0; n < 12; ++n) {
        REQUIRE(store->put({key_for(n), arena_for(n)}));
        INFO("after put " << n);
        CHECK(store->budget().total() <= o.max_size_bytes);
    }
    CHECK(store->stats().index.evictions >= 6);
    CHECK(store->get(key_for(11)));  // the newest survives
    CHECK(loose_file_count(dir.path) == store->stats().index.live_count);
}

TEST_CASE("the budget counts the files and directories that are not entries, as du does", "[store][eviction]") {
    testing::TempDir dir;
    auto store = LocalStore::open(dir.path);
    REQUIRE(store);
    for (std::uint64_t n = 0; n < 20; ++n) REQUIRE(store->put({key_for(n), arena_for(n)}));
    std::ofstream(dir.path / "stats.json") << std::string(10000, 'x');  // a cache-layer file at the root
    const SizeBudget b = store->budget();
    CHECK(b.entry_bytes == store->stats().index.total_bytes);
    CHECK(b.pack_bytes == 20 * kPackBytesPerEntry);
    auto usage = measure_disk_usage(dir.path);
    REQUIRE(usage);
    CHECK(usage->loose >= b.entry_bytes);  // loose files round up to blocks
    CHECK(usage->index > 0);
    CHECK(usage->other_files >= 10000);
    CHECK(usage->packs == 0);
    CHECK(usage->temporary == 0);
    CHECK(usage->foreign == 0);
    // Everything but the entries: the root's files (index, stats, lock, tag) and the
    // directories, which the budget counts one block per shard.
    CHECK(b.fixed_bytes >= usage->index + usage->other_files);
    CHECK(b.fixed_bytes <= usage->index + usage->other_files + usage->directories + 4 * kDirectoryBytes);
}

TEST_CASE("age eviction removes entries unused for max_age", "[store][eviction]") {
    testing::TempDir dir;
    StoreOptions o;
    o.automatic_maintenance = false;
    o.max_age_ns = 50'000'000;  // 50 ms
    auto store = LocalStore::open(dir.path, o);
    REQUIRE(store);
    REQUIRE(store->put({key_for(1), arena_for(1)}));
    REQUIRE(store->put({key_for(2), arena_for(2)}));
    std::this_thread::sleep_for(std::chrono::milliseconds(120));
    REQUIRE(store->get(key_for(2)));  // used recently: stays
    auto report = store->evict();
    REQUIRE(report);
    CHECK(report->removed_by_age == 1);
    CHECK_FALSE(store->find(key_for(1)));
    CHECK(store->find(key_for(2)));
}

TEST_CASE("an entry that fails verification is dropped, counted and never served", "[store][validity]") {
    testing::TempDir dir;
    std::vector<std::string> log;
    auto store = LocalStore::open(dir.path, quiet_options(&log));
    REQUIRE(store);
    const auto a = arena_for(3);
    REQUIRE(store->put({key_for(3), a}));
    {
        std::fstream f(store->loose_path(key_for(3)), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(a.size() - 5));
        f.put('\x5A');
    }
    auto r = store->get(key_for(3));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::checksum_mismatch);
    CHECK_FALSE(store->find(key_for(3)));
    CHECK_FALSE(fs::exists(store->loose_path(key_for(3))));
    CHECK(store->stats().index.corrupt_drops == 1);
    CHECK(contains(log, "dropped cache entry " + key_for(3).to_hex()));
    auto again = store->get(key_for(3));
    REQUIRE_FALSE(again);
    CHECK(again.error().code == ErrorCode::not_found);
}

TEST_CASE("a missing, corrupt or dirty index is rebuilt from the directory with a message", "[store][recovery]") {
    testing::TempDir dir;
    {
        auto store = LocalStore::open(dir.path);
        REQUIRE(store);
        for (std::uint64_t n = 0; n < 20; ++n) REQUIRE(store->put({key_for(n), arena_for(n)}));
    }
    std::vector<std::string> log;
    SECTION("missing") { fs::remove(dir.path / "index.jdci"); }
    SECTION("corrupt") {
        std::ofstream(dir.path / "index.jdci", std::ios::binary | std::ios::trunc) << "garbage";
    }
    SECTION("left dirty by a crashed writer") {
        auto idx = CacheIndex::open(dir.path / "index.jdci");
        REQUIRE(idx);
        idx->set_dirty(true);
    }
    auto store = LocalStore::open(dir.path, quiet_options(&log));
    REQUIRE(store);
    CHECK(contains(log, "rebuilt cache index"));
    CHECK(store->stats().index.live_count == 20);
    CHECK_FALSE(store->stats().index.dirty);
    for (std::uint64_t n = 0; n < 20; ++n) {
        auto got = store->get(key_for(n));
        REQUIRE(got);
        CHECK(got->view().created_at_ns() == 1'700'000'000'000'000'000ull + n);
    }
}

TEST_CASE("rebuilding drops invalid files and ignores foreign ones", "[store][recovery]") {
    testing::TempDir dir;
    {
        auto store = LocalStore::open(dir.path);
        REQUIRE(store);
        REQUIRE(store->put({key_for(1), arena_for(1)}));
        REQUIRE(store->put({key_for(2), arena_for(2)}));
        std::ofstream(store->loose_path(key_for(2)), std::ios::binary | std::ios::trunc) << "not an arena";
        std::ofstream(dir.path / "objects" / "README") << "hello";
    }
    fs::remove(dir.path / "index.jdci");
    std::vector<std::string> log;
    auto store = LocalStore::open(dir.path, quiet_options(&log));
    REQUIRE(store);
    CHECK(store->stats().index.live_count == 1);
    CHECK(store->stats().index.corrupt_drops == 1);
    CHECK(contains(log, "1 invalid files removed"));
    CHECK(contains(log, "1 foreign files ignored"));
    CHECK(fs::exists(dir.path / "objects" / "README"));
}

TEST_CASE("stale temporary files are removed by cleanup after the grace period", "[store][recovery]") {
    testing::TempDir dir;
    auto store = LocalStore::open(dir.path);
    REQUIRE(store);
    const fs::path old_file = dir.path / "tmp" / "abc.jdca.tmp.4242.deadbeef";
    const fs::path fresh_file = dir.path / "tmp" / ("def.jdca.tmp." + std::to_string(::getpid()) + ".cafebabe");
    std::ofstream(old_file) << "half written two hours ago";
    std::ofstream(fresh_file) << "in progress";
    fs::last_write_time(old_file, fs::file_time_type::clock::now() - std::chrono::hours(2));
    auto report = store->cleanup();  // default grace: one hour
    REQUIRE(report);
    CHECK(report->removed_temp_files == 1);
    CHECK_FALSE(fs::exists(old_file));
    CHECK(fs::exists(fresh_file));  // may belong to a live writer, here or on another machine
    CHECK(store->stats().index.last_cleanup_ns > 0);
}

TEST_CASE("symlinks planted in the store are refused, not followed", "[store][safety]") {
    testing::TempDir dir;
    testing::TempDir elsewhere;
    auto store = LocalStore::open(dir.path / "cache");
    REQUIRE(store);
    const auto a = arena_for(5);
    REQUIRE(store->put({key_for(5), a}));
    const fs::path real = store->loose_path(key_for(5));
    fs::rename(real, elsewhere.path / "x.jdca");
    fs::create_symlink(elsewhere.path / "x.jdca", real);
    auto r = store->get(key_for(5));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::io);

    SECTION("a symlinked store directory") {
        fs::remove_all(dir.path / "cache" / "tmp");
        fs::create_directory_symlink(elsewhere.path, dir.path / "cache" / "tmp");
        auto reopened = LocalStore::open(dir.path / "cache");
        REQUIRE_FALSE(reopened);
        CHECK(reopened.error().message.find("symlink") != std::string::npos);
    }
}

TEST_CASE("packed entries are found through the index and the pack", "[store][packs]") {
    testing::TempDir dir;
    std::vector<std::vector<std::byte>> arenas;
    for (std::uint64_t n = 0; n < 50; ++n) arenas.push_back(arena_for(n, 2));
    std::vector<PackInput> inputs;
    for (std::uint64_t n = 0; n < 50; ++n) inputs.push_back({key_for(n), arenas[n]});
    auto pack = build_pack(inputs, 1234);
    REQUIRE(pack);
    fs::create_directories(dir.path / "packs");
    mark_as_cache(dir.path);
    REQUIRE(write_file_atomically(dir.path / "packs" / "p1.jdcp", *pack));
    auto store = LocalStore::open(dir.path);  // no index yet: rebuilt from loose files and packs
    REQUIRE(store);
    CHECK(store->stats().pack_count == 1);
    CHECK(store->stats().index.live_count == 50);
    for (std::uint64_t n = 0; n < 50; ++n) {
        auto got = store->get(key_for(n));
        REQUIRE(got);
        CHECK(got->location() == EntryLocation::packed);
        CHECK(got->view().bytes().size() == arenas[n].size());
    }
    // A loose put of a packed key wins.
    REQUIRE(store->put({key_for(3), arenas[4]}));
    auto replaced = store->get(key_for(3));
    REQUIRE(replaced);
    CHECK(replaced->location() == EntryLocation::loose);
}

TEST_CASE("a cache directory that cannot be created is a clear error", "[store][safety]") {
    testing::TempDir dir;
    std::ofstream(dir.path / "file") << "x";
    auto r = LocalStore::open(dir.path / "file" / "cache");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::io);
    CHECK(r.error().message.find("file") != std::string::npos);
}

TEST_CASE("SIGBUS policy: an entry read into memory is immune to the file being truncated", "[store][safety]") {
    testing::TempDir dir;
    StoreOptions o;
    o.load_mode = LoadMode::read;
    auto store = LocalStore::open(dir.path, o);
    REQUIRE(store);
    const auto a = arena_for(8, 40);
    REQUIRE(store->put({key_for(8), a}));
    auto got = store->get(key_for(8));
    REQUIRE(got);
    // Someone outside jdc truncates the file under the live entry.
    ::truncate(store->loose_path(key_for(8)).c_str(), 0);
    CHECK(verify_arena(got->view().bytes(), VerifyLevel::full));
    CHECK(got->view().entry(39).name() == "method_39");
    // The next get sees the damage, drops the entry and reports it.
    auto again = store->get(key_for(8));
    REQUIRE_FALSE(again);
    CHECK(again.error().code == ErrorCode::truncated);
    CHECK_FALSE(store->find(key_for(8)));
}

TEST_CASE("a full disk during put is a clear error and the store stays intact", "[store][safety]") {
    // RLIMIT_FSIZE makes writes fail (EFBIG) in a child, as a full disk would (ENOSPC).
    testing::TempDir dir;
    {
        auto store = LocalStore::open(dir.path);
        REQUIRE(store);
        REQUIRE(store->put({key_for(1), arena_for(1)}));
    }
    const auto big = arena_for(2, 400);
    REQUIRE(big.size() > 8192);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::signal(SIGXFSZ, SIG_IGN);
        struct rlimit lim {8192, 8192};
        ::setrlimit(RLIMIT_FSIZE, &lim);
        auto store = LocalStore::open(dir.path);
        if (!store) ::_exit(2);
        auto r = store->put({key_for(2), big});
        const bool clear = !r && r.error().code == ErrorCode::io && r.error().message.find("cannot") != std::string::npos;
        ::_exit(clear ? 0 : 1);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    auto store = LocalStore::open(dir.path);
    REQUIRE(store);
    CHECK(store->get(key_for(1)));
    CHECK_FALSE(store->find(key_for(2)));
    CHECK(store->stats().index.live_count == 1);
    CHECK(fs::is_empty(dir.path / "tmp"));
    CHECK(loose_file_count(dir.path) == 1);
}

TEST_CASE("dropping a damaged entry repairs a dirty index instead of hiding it", "[store][recovery]") {
    testing::TempDir dir;
    auto store = LocalStore::open(dir.path);
    REQUIRE(store);
    REQUIRE(store->put({key_for(1), arena_for(1)}));
    REQUIRE(store->put({key_for(2), arena_for(2)}));
    // A writer died after publishing key 3 and before indexing it: dirty index, orphan file.
    fs::create_directories(store->loose_path(key_for(3)).parent_path());
    REQUIRE(write_file_atomically(store->loose_path(key_for(3)), arena_for(3)));
    {
        auto idx = CacheIndex::open(dir.path / "index.jdci");
        REQUIRE(idx);
        idx->set_dirty(true);
    }
    std::ofstream(store->loose_path(key_for(2)), std::ios::binary | std::ios::trunc) << "damaged";
    auto r = store->get(key_for(2));
    REQUIRE_FALSE(r);
    CHECK_FALSE(store->stats().index.dirty);
    CHECK(store->find(key_for(3)));  // the rebuild found the orphan
    CHECK_FALSE(store->find(key_for(2)));
    CHECK(store->get(key_for(1)));
}

TEST_CASE("a writer notices that the index it mapped was replaced without being retired", "[store][recovery]") {
    testing::TempDir dir;
    auto first = LocalStore::open(dir.path);
    REQUIRE(first);
    REQUIRE(first->put({key_for(1), arena_for(1)}));
    fs::remove(dir.path / "index.jdci");  // e.g. deleted by hand as a recovery step
    auto second = LocalStore::open(dir.path);  // rebuilds a new index file
    REQUIRE(second);
    REQUIRE(first->put({key_for(2), arena_for(2)}));  // must land in the new index, not the orphan
    CHECK(second->find(key_for(2)));
    CHECK(second->find(key_for(1)));
    CHECK(second->stats().index.live_count == 2);
}

TEST_CASE("an entry over one reader's own limits is a miss for it, not deleted for everyone", "[store][validity]") {
    testing::TempDir dir;
    const auto a = arena_for(6, 40);
    {
        auto store = LocalStore::open(dir.path);
        REQUIRE(store);
        REQUIRE(store->put({key_for(6), a}));
    }
    StoreOptions strict;
    strict.limits.max_total_size = a.size() - 8;
    auto picky = LocalStore::open(dir.path, strict);
    REQUIRE(picky);
    auto r = picky->get(key_for(6));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::limit_exceeded);
    auto store = LocalStore::open(dir.path);
    REQUIRE(store);
    CHECK(store->get(key_for(6)));
    CHECK(store->stats().index.corrupt_drops == 0);
}

TEST_CASE("a packed copy the index no longer describes is never served", "[store][packs]") {
    testing::TempDir dir;
    const auto old_bytes = arena_for(1, 2), new_bytes = arena_for(2, 5);
    const PackInput old_input{key_for(1), old_bytes}, new_input{key_for(1), new_bytes};
    fs::create_directories(dir.path / "packs");
    mark_as_cache(dir.path);
    REQUIRE(write_file_atomically(dir.path / "packs" / "old.jdcp", *build_pack({&old_input, 1}, 100)));
    auto reader = LocalStore::open(dir.path);  // maps old.jdcp only
    REQUIRE(reader);
    REQUIRE(reader->get(key_for(1))->view().bytes().size() == old_bytes.size());

    // What a compactor does after a put replaced the entry: a newer pack, the index
    // pointing at its copy; old.jdcp is still there (and still mapped by the reader).
    REQUIRE(write_file_atomically(dir.path / "packs" / "new.jdcp", *build_pack({&new_input, 1}, 200)));
    auto writer = LocalStore::open(dir.path);
    REQUIRE(writer);
    REQUIRE(writer->modify([&](CacheIndex& index) -> Result<void> {
        IndexEntry e = *index.find(key_for(1));
        e.size = new_bytes.size();
        e.created_ns = ArenaView::open(new_bytes)->created_at_ns();
        CHECK(index.put(e));
        return {};
    }));
    auto got = reader->get(key_for(1));
    REQUIRE(got);
    CHECK(got->view().bytes().size() == new_bytes.size());
    CHECK(reader->stats().pack_count == 2);  // it mapped the new pack on the way
}

TEST_CASE("rebuilding the index skips a damaged pack slot and keeps the entries after it", "[store][recovery][packs]") {
    testing::TempDir dir;
    std::vector<std::vector<std::byte>> arenas;
    std::vector<PackInput> inputs;
    for (std::uint64_t n = 0; n < 40; ++n) arenas.push_back(arena_for(n, 2));
    for (std::uint64_t n = 0; n < 40; ++n) inputs.push_back({key_for(n), arenas[n]});
    auto pack = build_pack(inputs, 1234);
    REQUIRE(pack);
    auto view = PackView::open(*pack);
    REQUIRE(view);
    std::uint64_t used_slot = 0;
    while (!*view->entry_at_slot(used_slot)) ++used_slot;
    (*pack)[64 + 40 * used_slot + 16] ^= std::byte{1};  // its entry offset: the slot checksum fails
    fs::create_directories(dir.path / "packs");
    mark_as_cache(dir.path);
    REQUIRE(write_file_atomically(dir.path / "packs" / "p.jdcp", *pack));
    std::vector<std::string> log;
    auto store = LocalStore::open(dir.path, quiet_options(&log));
    REQUIRE(store);
    CHECK(store->stats().index.live_count == 39);
    CHECK(contains(log, "1 damaged pack slots skipped"));
}

TEST_CASE("clear removes every entry, loose and packed, and keeps the counters", "[store]") {
    testing::TempDir dir;
    auto store = LocalStore::open(dir.path);
    REQUIRE(store);
    for (std::uint64_t n = 0; n < 10; ++n) REQUIRE(store->put({key_for(n), arena_for(n)}));
    const auto packed = arena_for(50);
    const PackInput input{key_for(50), packed};
    REQUIRE(write_file_atomically(dir.path / "packs" / "p.jdcp", *build_pack({&input, 1}, 1)));
    REQUIRE(store->rebuild_index("test"));
    REQUIRE(store->get(key_for(1)));
    std::ofstream(dir.path / "objects" / "README") << "foreign";
    auto other = LocalStore::open(dir.path);  // another process's view of the same cache
    REQUIRE(other);

    auto cleared = store->clear();
    REQUIRE(cleared);
    CHECK(cleared->entries_removed == 11);
    CHECK(cleared->loose_files_removed == 10);
    CHECK(cleared->packs_removed == 1);
    CHECK(store->stats().index.live_count == 0);
    CHECK(store->stats().index.hits == 1);
    CHECK(store->stats().pack_count == 0);
    CHECK(loose_file_count(dir.path) == 1);  // the foreign file
    CHECK(fs::is_empty(dir.path / "tmp"));
    auto gone = other->get(key_for(50));
    REQUIRE_FALSE(gone);
    CHECK(gone.error().code == ErrorCode::not_found);
    CHECK_FALSE(other->get(key_for(3)));
}

TEST_CASE("an inspecting get changes nothing: no access, no counters, no drop", "[store]") {
    testing::TempDir dir;
    auto store = LocalStore::open(dir.path);
    REQUIRE(store);
    const auto a = arena_for(3);
    REQUIRE(store->put({key_for(3), a}));
    const IndexEntry before = *store->find(key_for(3));
    REQUIRE(store->get(key_for(3), AccessMode::inspect));
    CHECK_FALSE(store->get(key_for(4), AccessMode::inspect));
    CHECK(store->find(key_for(3))->access_count == before.access_count);
    CHECK(store->stats().index.hits == 0);
    CHECK(store->stats().index.misses == 0);
    {
        std::fstream f(store->loose_path(key_for(3)), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(a.size() - 5));
        f.put('\x5A');
    }
    CHECK_FALSE(store->get(key_for(3), AccessMode::inspect));
    CHECK(store->find(key_for(3)));  // a serving get would have dropped it
    CHECK(fs::exists(store->loose_path(key_for(3))));
}

TEST_CASE("a put into an index fuller than its header counts rebuilds it and is served", "[store][recovery]") {
    testing::TempDir dir;
    std::vector<std::string> log;
    {
        auto store = LocalStore::open(dir.path);
        REQUIRE(store);
        REQUIRE(store->put({key_for(1), arena_for(1)}));
    }
    testing::fill_every_slot(dir.path / "index.jdci");  // torn: every slot live, counts say 1
    auto store = LocalStore::open(dir.path, quiet_options(&log));
    REQUIRE(store);
    const auto a = arena_for(2);
    REQUIRE(store->put({key_for(2), a}));
    CHECK(contains(log, "more entries than its header counted"));
    auto got = store->get(key_for(2));  // before the fix: published, never indexed, a miss forever
    REQUIRE(got);
    CHECK(got->view().bytes().size() == a.size());
    CHECK(store->get(key_for(1)));
    CHECK(store->stats().index.live_count == 2);  // the rebuild keeps what the directory holds
    CHECK_FALSE(store->stats().index.dirty);
}

TEST_CASE("a reader notices on a miss that the index it mapped was replaced without being retired", "[store][recovery]") {
    testing::TempDir dir;
    auto reader = LocalStore::open(dir.path);
    REQUIRE(reader);
    REQUIRE(reader->put({key_for(1), arena_for(1)}));
    REQUIRE(reader->get(key_for(1)));
    fs::remove(dir.path / "index.jdci");  // deleted by hand: nobody can mark the old mapping retired
    auto writer = LocalStore::open(dir.path);  // rebuilds a new index file
    REQUIRE(writer);
    REQUIRE(writer->put({key_for(2), arena_for(2)}));
    CHECK(reader->get(key_for(2)));  // before: a miss for as long as the reader lived
    CHECK(reader->get(key_for(1)));
}

namespace {

// Every arena compressed, whatever its size, so that small samples exercise the path.
StoreOptions compressing_options(CodecChoice codec) {
    StoreOptions o;
    o.compression = CompressionPolicy::for_storage();
    o.compression.codec = codec;
    o.compression.min_size = 0;
    o.compression.max_ratio = 1.0;
    return o;
}

std::vector<std::byte> file_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> out(chars.size());
    std::memcpy(out.data(), chars.data(), chars.size());
    return out;
}

}  // namespace

TEST_CASE("compressed storage: the file holds the codec's form, readers get the raw arena", "[store][compression]") {
    const CodecChoice codec = GENERATE(CodecChoice::lz4, CodecChoice::zstd);
    INFO(to_string(codec));
    testing::TempDir dir;
    auto store = LocalStore::open(dir.path, compressing_options(codec));
    REQUIRE(store);
    const auto a = arena_for(11, 64);  // ~5 KiB of repetitive records: compresses well
    REQUIRE(store->put({key_for(11), a}));

    const auto on_disk = file_bytes(store->loose_path(key_for(11)));
    CHECK(payload_codec_of(on_disk) == (codec == CodecChoice::lz4 ? PayloadCodec::lz4 : PayloadCodec::zstd));
    CHECK(on_disk.size() < a.size());
    const auto meta = store->find(key_for(11));
    REQUIRE(meta);
    CHECK(meta->size == on_disk.size());  // the index accounts for bytes on disk
    CHECK(store->stats().index.total_bytes == on_disk.size());

    auto got = store->get(key_for(11));
    REQUIRE(got);
    CHECK(std::equal(got->view().bytes().begin(), got->view().bytes().end(), a.begin(), a.end()));

    // A rebuilt index keeps the compressed entry with its size on disk.
    REQUIRE(store->rebuild_index("test"));
    const auto rebuilt = store->find(key_for(11));
    REQUIRE(rebuilt);
    CHECK(rebuilt->size == on_disk.size());
    CHECK(store->get(key_for(11)));

    // A store opened without compression still reads it.
    auto plain = LocalStore::open(dir.path);
    REQUIRE(plain);
    auto again = plain->get(key_for(11));
    REQUIRE(again);
    CHECK(again->view().bytes().size() == a.size());
}

TEST_CASE("compressed storage: small arenas and arenas that do not shrink stay raw", "[store][compression]") {
    testing::TempDir dir;
    StoreOptions options;
    options.compression = CompressionPolicy::for_storage();  // LZ4 from 64 KiB
    auto store = LocalStore::open(dir.path, options);
    REQUIRE(store);
    const auto small = arena_for(12);
    REQUIRE(store->put({key_for(12), small}));
    CHECK(payload_codec_of(file_bytes(store->loose_path(key_for(12)))) == PayloadCodec::none);
    CHECK(store->find(key_for(12))->size == small.size());

    StoreOptions strict = compressing_options(CodecChoice::lz4);
    strict.compression.max_ratio = 0.01;  // nothing shrinks that much
    auto store2 = LocalStore::open(dir.path / "strict", strict);
    REQUIRE(store2);
    REQUIRE(store2->put({key_for(12), small}));
    CHECK(payload_codec_of(file_bytes(store2->loose_path(key_for(12)))) == PayloadCodec::none);
}

TEST_CASE("compressed storage: a damaged compressed entry is dropped, counted and never decoded", "[store][compression][validity]") {
    testing::TempDir dir;
    std::vector<std::string> log;
    StoreOptions options = compressing_options(CodecChoice::lz4);
    options.log = [&log](const std::string& line) { log.push_back(line); };
    auto store = LocalStore::open(dir.path, options);
    REQUIRE(store);
    const auto a = arena_for(13, 64);
    REQUIRE(store->put({key_for(13), a}));
    const fs::path file = store->loose_path(key_for(13));
    const auto size = fs::file_size(file);
    {
        std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(size - 7));  // inside the LZ4 block
        f.put('\x5A');
    }
    auto r = store->get(key_for(13));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::checksum_mismatch);
    CHECK(r.error().message.find(file.string()) != std::string::npos);
    CHECK_FALSE(store->find(key_for(13)));
    CHECK_FALSE(fs::exists(file));
    CHECK(store->stats().index.corrupt_drops == 1);
    CHECK(contains(log, "dropped cache entry " + key_for(13).to_hex()));
}

TEST_CASE("compressed storage: an entry whose declared arena is over the reader's limit is a miss, not a bomb", "[store][compression][validity]") {
    testing::TempDir dir;
    auto writer = LocalStore::open(dir.path, compressing_options(CodecChoice::zstd));
    REQUIRE(writer);
    const auto a = arena_for(14, 64);
    REQUIRE(writer->put({key_for(14), a}));
    StoreOptions tight;
    tight.limits.max_total_size = a.size() - 1;  // the compressed file is smaller: only its header tells
    auto reader = LocalStore::open(dir.path, tight);
    REQUIRE(reader);
    auto r = reader->get(key_for(14));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::limit_exceeded);
    CHECK(reader->find(key_for(14)));  // one reader's limits are no reason to delete it
}

TEST_CASE("put_packed stores many arenas as one pack, indexed and served like any entry", "[store][packs]") {
    testing::TempDir dir;
    auto store = LocalStore::open(dir.path);
    REQUIRE(store);
    std::vector<std::vector<std::byte>> arenas;
    for (std::uint64_t n = 0; n < 40; ++n) arenas.push_back(arena_for(100 + n));
    REQUIRE(store->put({key_for(100), arena_for(999)}));  // a loose copy the pack supersedes
    std::vector<PutRequest> requests;
    for (std::uint64_t n = 0; n < 40; ++n) requests.push_back({key_for(100 + n), arenas[n], 5});
    REQUIRE(store->put_packed(requests));

    CHECK(store->stats().pack_count == 1);
    CHECK(loose_file_count(dir.path) == 0);  // the superseded loose copy is gone
    for (std::uint64_t n = 0; n < 40; ++n) {
        auto got = store->get(key_for(100 + n));
        REQUIRE(got);
        CHECK(got->location() == EntryLocation::packed);
        CHECK(std::equal(got->view().bytes().begin(), got->view().bytes().end(), arenas[n].begin(), arenas[n].end()));
        CHECK(store->find(key_for(100 + n))->config_hash == 5);
    }
    // Another process (a fresh open) and a rebuilt index see the same entries.
    auto other = LocalStore::open(dir.path);
    REQUIRE(other);
    CHECK(other->get(key_for(120)));
    REQUIRE(other->rebuild_index("test"));
    CHECK(other->stats().index.live_count == 40);
    CHECK(other->get(key_for(139)));

    // Junk is refused before anything is written.
    const std::vector<std::byte> junk(200, std::byte{7});
    std::vector<PutRequest> bad = {{key_for(200), arenas[0]}, {key_for(201), junk}};
    auto r = store->put_packed(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::invalid_argument);
    CHECK(store->stats().pack_count == 1);
    CHECK_FALSE(store->find(key_for(200)));
    CHECK(store->put_packed({}));
}

TEST_CASE("prefetch asks the kernel for the packed copies of the keys given, joined into ranges; loose and absent keys are counted", "[store][packs][prefetch]") {
    testing::TempDir dir;
    auto store = LocalStore::open(dir.path);
    REQUIRE(store);
    std::vector<std::vector<std::byte>> arenas;
    for (std::uint64_t n = 0; n < 20; ++n) arenas.push_back(arena_for(n));
    std::vector<PutRequest> puts;
    for (std::uint64_t n = 0; n < 20; ++n) puts.push_back({key_for(n), arenas[n]});
    REQUIRE(store->put_packed(puts));
    REQUIRE(store->put({key_for(100), arena_for(100)}));  // loose

    std::vector<CacheKey> keys{key_for(3), key_for(100), key_for(7), key_for(999), key_for(12)};
    const PrefetchReport r = store->prefetch(keys);
    CHECK(r.entries == 3);
    CHECK(r.not_packed == 2);  // one loose, one absent
    CHECK(r.bytes == arenas[3].size() + arenas[7].size() + arenas[12].size() + 3 * pack::kEntryPrefixSize);
    CHECK(r.ranges == 1);  // a small pack: neighbours closer than the join gap
    CHECK(store->prefetch({}).entries == 0);
    // It changes nothing: no access recorded, nothing counted.
    CHECK(store->stats().index.hits == 0);
}
