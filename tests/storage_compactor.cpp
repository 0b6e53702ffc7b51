// The compactor: what a run packs, drops and leaves alone; readers in other processes
// while it runs; and runs killed with SIGKILL at random moments. Bounded and seeded.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

#include "jdc/arena_builder.hpp"
#include "jdc/arena_optimizer.hpp"
#include "jdc/compactor.hpp"
#include "jdc/pack.hpp"
#include "jdc/resolver.hpp"
#include "jdc/store_check.hpp"
#include "storage/read_history.hpp"
#include "storage/store_lock.hpp"
#include "support/arena_samples.hpp"
#include "support/file_damage.hpp"
#include "support/lock_holder.hpp"
#include "support/temp_dir.hpp"

using namespace jdc;
using jdc::testing::arena_for;
using jdc::testing::flip_byte;
using jdc::testing::key_for;
namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t kImplementations = 3;

// What a compiler sees of entry n: the answer of every lookup over the model's types.
// The compactor may rewrite an arena's bytes (reoptimize), never these answers.
using Answers = std::vector<Resolution>;

// The model behind arena_for(n, kImplementations), made once per n.
const testing::RandomModel& model_for(std::uint64_t n) {
    static std::map<std::uint64_t, testing::RandomModel> models;
    auto it = models.find(n);
    if (it == models.end()) it = models.emplace(n, testing::make_random_model(n, {8, 2, 2, kImplementations, true})).first;
    return it->second;
}

std::vector<Resolution> lookups_of(const ArenaView& view, std::uint64_t n) {
    const auto& model = model_for(n);
    auto bound = BoundArena::bind(view, model.registry);
    REQUIRE(bound);
    std::vector<Resolution> out;
    testing::for_each_tuple(model.user_types, 2, [&](std::span<const TypeId> args) { out.push_back(bound->lookup(args)); });
    return out;
}

Answers answers_of(LocalStore& store, std::uint64_t n) {
    auto got = store.get(key_for(n), AccessMode::inspect);
    INFO("entry " << n << ": " << (got ? "" : got.error().message));
    REQUIRE(got);
    return lookups_of(got->view(), n);
}

bool same_answers(const Answers& a, const Answers& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](const Resolution& x, const Resolution& y) {
               return x.same_outcome(y);
           });
}

void check_same_answers(LocalStore& store, const std::map<std::uint64_t, Answers>& before) {
    for (const auto& [n, want] : before) {
        INFO("entry " << n);
        CHECK(same_answers(answers_of(store, n), want));
    }
}

std::vector<PutRequest> puts_for(std::uint64_t first, std::uint64_t count, std::vector<std::vector<std::byte>>& keep) {
    std::vector<PutRequest> puts;
    for (std::uint64_t n = first; n < first + count; ++n) {
        keep.push_back(arena_for(n, kImplementations));
        puts.push_back({key_for(n), keep.back()});
    }
    return puts;
}

void put_range(LocalStore& store, std::uint64_t first, std::uint64_t count) {
    std::vector<std::vector<std::byte>> keep;
    keep.reserve(count);
    const auto puts = puts_for(first, count, keep);
    REQUIRE(store.put_batch(puts));
}

// A pack file holding entries [first, first + count), published into the store's packs/.
void write_pack(const fs::path& root, const std::string& name, std::uint64_t first, std::uint64_t count) {
    std::vector<std::vector<std::byte>> keep;
    keep.reserve(count);
    std::vector<PackInput> inputs;
    for (const PutRequest& p : puts_for(first, count, keep)) inputs.push_back({p.key, p.arena});
    auto pack = build_pack(inputs, 1'700'000'000'000'000'000ull + first);
    REQUIRE(pack);
    REQUIRE(write_file_atomically(root / "packs" / name, *pack));
}

std::size_t files_in(const fs::path& dir) {
    std::size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file()) ++n;
    return n;
}

void check_valid(const fs::path& root) {
    auto check = check_store(root);
    REQUIRE(check);
    for (const StoreProblem& p : check->problems) FAIL_CHECK(p.file.string() << ": " << to_string(p.kind) << ": " << p.message);
}

StoreOptions quiet() {
    StoreOptions o;
    o.automatic_maintenance = false;
    return o;
}

}  // namespace

TEST_CASE("compaction packs loose entries and every key answers identically afterwards", "[compactor]") {
    testing::TempDir dir;
    auto store = LocalStore::open(dir.path, quiet());
    REQUIRE(store);
    put_range(*store, 0, 150);
    write_pack(dir.path, "old.jdcp", 150, 50);
    REQUIRE(store->rebuild_index("test"));
    std::map<std::uint64_t, Answers> before;
    for (std::uint64_t n = 0; n < 200; ++n) before[n] = answers_of(*store, n);

    auto report = compact_store(*store);
    REQUIRE(report);
    CHECK(report->outcome == CompactionOutcome::compacted);
    CHECK(report->entries_packed == 200);  // the small old pack is merged in
    CHECK(report->loose_packed == 150);
    CHECK(report->dropped.empty());
    CHECK(report->loose_before == 150);
    CHECK(report->loose_after == 0);
    CHECK(report->packs_before == 1);
    CHECK(report->packs_after == 1);
    CHECK(report->disk_bytes_after < report->disk_bytes_before);
    CHECK(files_in(dir.path / "objects") == 0);
    CHECK_FALSE(fs::exists(dir.path / "packs" / "old.jdcp"));
    CHECK(store->stats().index.live_count == 200);
    for (const IndexEntry& e : store->entries()) CHECK(e.location == EntryLocation::packed);
    check_same_answers(*store, before);

    // A store opened afresh finds the same, and the work is done: a rerun does nothing.
    auto reopened = LocalStore::open(dir.path, quiet());
    REQUIRE(reopened);
    check_same_answers(*reopened, before);
    auto again = compact_store(*reopened);
    REQUIRE(again);
    CHECK(again->outcome == CompactionOutcome::nothing_to_do);
    check_valid(dir.path);
}

TEST_CASE("compaction drops invalid, missing and unreferenced entries and nothing else", "[compactor]") {
    testing::TempDir dir;
    auto store = LocalStore::open(dir.path, quiet());
    REQUIRE(store);
    write_pack(dir.path, "a.jdcp", 100, 10);
    write_pack(dir.path, "b.jdcp", 110, 10);
    put_range(*store, 0, 20);
    REQUIRE(store->rebuild_index("test"));
    REQUIRE(*store->remove(key_for(105)));               // evicted: its packed copy is unreferenced
    flip_byte(store->loose_path(key_for(3)), 200);        // invalid
    fs::remove(store->loose_path(key_for(4)));            // missing
    {
        const auto orphan = arena_for(500, kImplementations);  // a loose file the index does not know
        fs::create_directories(store->loose_path(key_for(500)).parent_path());
        REQUIRE(write_file_atomically(store->loose_path(key_for(500)), orphan));
    }
    const std::uint64_t corrupt_before = store->stats().index.corrupt_drops;

    auto report = compact_store(*store);
    REQUIRE(report);
    CHECK(report->dropped_for(DropReason::invalid) == 1);
    CHECK(report->dropped_for(DropReason::missing) == 1);
    CHECK(report->dropped_for(DropReason::unreferenced) == 2);
    for (const DroppedEntry& d : report->dropped) {
        if (d.reason == DropReason::invalid) CHECK(d.key == key_for(3));
        if (d.reason == DropReason::missing) CHECK(d.key == key_for(4));
        if (d.reason == DropReason::unreferenced) CHECK((d.key == key_for(105) || d.key == key_for(500)));
    }
    CHECK(report->entries_packed == 18 + 19);
    CHECK(report->packs_before == 2);
    CHECK(report->packs_after == 1);  // two small packs merged
    CHECK(store->stats().index.corrupt_drops == corrupt_before + 1);
    CHECK(files_in(dir.path / "objects") == 0);
    for (std::uint64_t n : {3, 4, 105, 500}) CHECK_FALSE(store->find(key_for(n)));
    for (std::uint64_t n = 0; n < 120; ++n) {
        if (n == 3 || n == 4 || n == 105 || (n >= 20 && n < 100)) continue;
        auto got = store->get(key_for(n));
        INFO("entry " << n);
        CHECK(got);
    }
    check_valid(dir.path);
}

TEST_CASE("what the transform returns is stored when it verifies; otherwise the arena is kept", "[compactor]") {
    testing::TempDir dir;
    auto store = LocalStore::open(dir.path, quiet());
    REQUIRE(store);
    put_range(*store, 0, 10);
    const auto replacement = arena_for(1000, 6);
    CompactionOptions options;
    options.transform = [&](const ArenaView& view, const IndexEntry& entry) -> Result<std::vector<std::byte>> {
        if (entry.key == key_for(1)) return replacement;
        if (entry.key == key_for(2)) return make_error(ErrorCode::invalid_argument, "cannot optimize this one");
        if (entry.key == key_for(3)) return std::vector<std::byte>(64, std::byte{7});  // junk: fails verification
        return reoptimize(view, entry);
    };
    auto report = compact_store(*store, options);
    REQUIRE(report);
    CHECK(report->entries_rewritten == 1);
    CHECK(report->transform_failures == 2);
    CHECK(report->entries_packed == 10);
    auto rewritten = store->get(key_for(1));
    REQUIRE(rewritten);
    CHECK(rewritten->view().bytes().size() == replacement.size());
    CHECK(store->find(key_for(1))->size == replacement.size());
    CHECK(store->find(key_for(1))->created_ns == rewritten->view().created_at_ns());
    for (std::uint64_t n : {2, 3}) {
        auto kept = store->get(key_for(n));
        REQUIRE(kept);
        const auto want = arena_for(n, kImplementations);
        CHECK(std::equal(kept->view().bytes().begin(), kept->view().bytes().end(), want.begin(), want.end()));
    }
}

TEST_CASE("entries written or removed while the compactor runs are left as the writers left them", "[compactor]") {
    testing::TempDir dir;
    auto store = LocalStore::open(dir.path, quiet());
    REQUIRE(store);
    put_range(*store, 0, 10);
    auto writer = LocalStore::open(dir.path, quiet());  // another user of the cache
    REQUIRE(writer);
    const auto newer = arena_for(77, 5);
    bool wrote = false;
    CompactionOptions options;
    options.transform = [&](const ArenaView& view, const IndexEntry& entry) {
        if (!wrote) {  // between the compactor's snapshot and its commit
            wrote = true;
            REQUIRE(writer->put({key_for(5), newer}));
            REQUIRE(*writer->remove(key_for(6)));
        }
        return reoptimize(view, entry);
    };
    auto report = compact_store(*store, options);
    REQUIRE(report);
    CHECK(report->changed_meanwhile == 2);
    CHECK(report->entries_packed == 8);
    const auto five = store->find(key_for(5));
    REQUIRE(five);
    CHECK(five->location == EntryLocation::loose);
    CHECK(fs::exists(store->loose_path(key_for(5))));
    auto got = store->get(key_for(5));
    REQUIRE(got);
    CHECK(got->view().bytes().size() == newer.size());
    CHECK_FALSE(store->find(key_for(6)));
    // The pack holds stale copies of 5 and 6; nothing serves them, and the next run drops them.
    auto reopened = LocalStore::open(dir.path, quiet());
    REQUIRE(reopened);
    CHECK_FALSE(reopened->get(key_for(6)));
    CHECK(reopened->get(key_for(5))->view().bytes().size() == newer.size());
}

TEST_CASE("a second compactor finds the first one's lock held and does nothing", "[compactor]") {
    testing::TempDir dir;
    auto store = LocalStore::open(dir.path, quiet());
    REQUIRE(store);
    put_range(*store, 0, 5);
    testing::LockHeldElsewhere other_compactor(compactor_lock_path(dir.path));
    CompactionOptions options;
    options.lock_mode = CompactorLockMode::try_only;
    auto report = compact_store(*store, options);
    REQUIRE(report);
    CHECK(report->outcome == CompactionOutcome::busy);
    CHECK(store->loose_entry_count() == 5);
    other_compactor.release();
    auto after = compact_store(*store, options);
    REQUIRE(after);
    CHECK(after->outcome == CompactionOutcome::compacted);
}

namespace {

enum ReaderExit { kReaderOk = 0, kReaderOpenFailed = 20, kReaderMiss = 21, kReaderWrongAnswer = 22, kReaderNoRounds = 23 };

// Looks every key up, round after round, until `stop` appears; a fresh store every
// few rounds, so that opening also races with the compactor.
int reader(const fs::path& root, const fs::path& stop, const std::map<std::uint64_t, Answers>& want) {
    std::optional<LocalStore> store;
    int rounds = 0;
    for (; !fs::exists(stop) || rounds == 0; ++rounds) {
        if (rounds % 4 == 0) {
            store.reset();
            auto opened = LocalStore::open(root);
            if (!opened) return kReaderOpenFailed;
            store.emplace(std::move(*opened));
        }
        for (const auto& [n, answers] : want) {
            auto got = store->get(key_for(n));
            if (!got) return kReaderMiss;
            if (!same_answers(lookups_of(got->view(), n), answers)) return kReaderWrongAnswer;
        }
    }
    return rounds > 0 ? kReaderOk : kReaderNoRounds;
}

}  // namespace

TEST_CASE("readers in other processes get the same answers while the compactor runs", "[compactor][multiprocess]") {
    testing::TempDir dir;
    constexpr std::uint64_t kKeys = 100;
    const fs::path stop = dir.path / "stop-readers";
    {
        auto store = LocalStore::open(dir.path / "cache", quiet());
        REQUIRE(store);
        put_range(*store, 0, kKeys);
    }
    std::vector<pid_t> readers;
    auto store = LocalStore::open(dir.path / "cache", quiet());
    REQUIRE(store);
    std::map<std::uint64_t, Answers> before;
    for (std::uint64_t n = 0; n < kKeys; ++n) before[n] = answers_of(*store, n);
    // Rounds: pack a third, then add loose entries and compact again (merging the small
    // packs), with entries the readers do not ask for being added and removed between.
    for (int round = 0; round < 5; ++round) {
        if (round == 0) {
            for (int r = 0; r < 3; ++r) {
                const pid_t pid = ::fork();
                REQUIRE(pid >= 0);
                if (pid == 0) {
                    int rc = kReaderWrongAnswer;  // a failed REQUIRE must not go on running tests in the child
                    try {
                        rc = reader(dir.path / "cache", stop, before);
                    } catch (...) {
                    }
                    ::_exit(rc);
                }
                readers.push_back(pid);
            }
        }
        put_range(*store, 1000 + 100 * round, 50);
        if (round > 0) REQUIRE(*store->remove(key_for(1000 + 100 * (round - 1))));
        auto report = compact_store(*store);
        REQUIRE(report);
        CHECK(report->outcome == CompactionOutcome::compacted);
    }
    std::ofstream(stop) << "stop";
    for (pid_t pid : readers) {
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        INFO("reader exit status " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1));
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == kReaderOk);
    }
    CHECK(store->stats().index.corrupt_drops == 0);
    check_valid(dir.path / "cache");
}

TEST_CASE("a compactor killed with SIGKILL at random moments while 4 builders write leaves a valid cache and a rerun completes", "[compactor][crash]") {
    testing::TempDir dir;
    std::map<std::uint64_t, Answers> expected;
    std::uint64_t next_key = 0;
    auto add_entries = [&](LocalStore& store, std::uint64_t count) {
        put_range(store, next_key, count);
        for (std::uint64_t n = next_key; n < next_key + count; ++n) expected[n] = answers_of(store, n);
        next_key += count;
    };
    auto run_child = [&] {
        const pid_t pid = ::fork();
        if (pid == 0) {
            auto store = LocalStore::open(dir.path);
            ::_exit(store && compact_store(*store) ? 0 : 1);
        }
        return pid;
    };
    auto run_undisturbed = [&] {
        const pid_t pid = run_child();
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFEXITED(status));
        REQUIRE(WEXITSTATUS(status) == 0);
    };
    {
        auto store = LocalStore::open(dir.path, quiet());
        REQUIRE(store);
        add_entries(*store, 200);
    }
    run_undisturbed();
    // Kill moments are drawn from [0, span). The span starts wide and narrows by a
    // quarter whenever a run finishes before its kill, so it settles around a run's
    // length on any machine without timing one.
    long long span_us = 50'000;

    std::mt19937_64 rng(20261125);
    int killed = 0;
    constexpr std::uint64_t kBuilders = 4, kBuilderPuts = 3;
    // At least 25 rounds, and on until 10 of them were kills: the machine's load moves
    // run times, so a run that finished before its kill narrows the range.
    for (int round = 0; round < 25 || (killed < 10 && round < 100); ++round) {
        {
            auto store = LocalStore::open(dir.path, quiet());
            REQUIRE(store);
            add_entries(*store, 10);  // new loose entries: work for the next run
        }
        const pid_t pid = run_child();
        REQUIRE(pid > 0);
        // Four builders write new entries while the compactor runs and is killed.
        std::vector<pid_t> builders;
        for (std::uint64_t b = 0; b < kBuilders; ++b) {
            const pid_t builder = ::fork();
            if (builder == 0) {
                auto store = LocalStore::open(dir.path, quiet());
                bool ok = static_cast<bool>(store);
                for (std::uint64_t i = 0; ok && i < kBuilderPuts; ++i) {
                    const std::uint64_t n = next_key + b * kBuilderPuts + i;
                    ok = static_cast<bool>(store->put({key_for(n), arena_for(n, kImplementations)}));
                }
                ::_exit(ok ? 0 : 1);
            }
            REQUIRE(builder > 0);
            builders.push_back(builder);
        }
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % static_cast<std::uint64_t>(span_us)));
        ::kill(pid, SIGKILL);
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        for (const pid_t builder : builders) {
            int builder_status = 0;
            REQUIRE(::waitpid(builder, &builder_status, 0) == builder);
            REQUIRE(WIFEXITED(builder_status));
            REQUIRE(WEXITSTATUS(builder_status) == 0);
        }
        // What the builders' entries must answer: their arenas as built, not as stored.
        for (std::uint64_t n = next_key; n < next_key + kBuilders * kBuilderPuts; ++n) {
            const auto built = arena_for(n, kImplementations);
            auto view = ArenaView::open(built);
            REQUIRE(view);
            expected[n] = lookups_of(*view, n);
        }
        next_key += kBuilders * kBuilderPuts;
        if (WIFSIGNALED(status)) {
            ++killed;
        } else {
            REQUIRE(WEXITSTATUS(status) == 0);
            span_us = std::max<long long>(200, span_us * 3 / 4);
        }

        // Whatever the moment, every entry answers as before (opening repairs an index
        // the kill left dirty), and nothing in the cache is invalid.
        auto store = LocalStore::open(dir.path, quiet());
        REQUIRE(store);
        INFO("round " << round);
        check_same_answers(*store, expected);
        auto check = check_store(dir.path);
        REQUIRE(check);
        for (const StoreProblem& p : check->problems)
            CHECK(p.kind == StoreProblemKind::unindexed_file);  // loose files already packed: the next run removes them
    }
    CHECK(killed >= 10);

    auto store = LocalStore::open(dir.path, quiet());
    REQUIRE(store);
    auto final_run = compact_store(*store);
    REQUIRE(final_run);
    CHECK(store->loose_entry_count() == 0);
    CHECK(files_in(dir.path / "objects") == 0);
    CHECK(store->list_files()->packs.size() == 1);
    for (const auto& f : fs::directory_iterator(dir.path / "tmp"))
        CHECK(f.path().filename().string().rfind("compactor-pack", 0) != 0);
    check_same_answers(*store, expected);
    check_valid(dir.path);
}

TEST_CASE("the default transform keeps the dispatch index where it pays and drops it where the scan is as fast", "[compactor][forms]") {
    testing::TempDir dir;
    auto store = LocalStore::open(dir.path, quiet());
    REQUIRE(store);
    const testing::RandomModel big = testing::make_random_model(3, {12, 2, 2, 20, true});
    const testing::RandomModel small = testing::make_random_model(4, {12, 2, 2, DispatchForms::kMinEntriesForTable - 1, true});
    const ArenaBuildOptions options(1, DispatchForms::all());  // an index for both, as an older writer might have done
    const CacheKey with_index = key_for(9001), below_threshold = key_for(9002), plain = key_for(9003);
    auto big_bytes = build_arena(big.table, big.registry, {}, options);
    auto small_bytes = build_arena(small.table, small.registry, {}, options);
    auto plain_bytes = build_arena(small.table, small.registry, {}, ArenaBuildOptions(1));  // no index: kept as is
    REQUIRE((big_bytes && small_bytes && plain_bytes));
    REQUIRE(store->put({with_index, *big_bytes, 0}));
    REQUIRE(store->put({below_threshold, *small_bytes, 0}));
    REQUIRE(store->put({plain, *plain_bytes, 0}));

    auto report = compact_store(*store);
    REQUIRE(report);
    auto got_big = store->get(with_index);
    auto got_small = store->get(below_threshold);
    auto got_plain = store->get(plain);
    REQUIRE((got_big && got_small && got_plain));
    auto bytes_of = [](const StoredArena& a) { return std::vector<std::byte>(a.view().bytes().begin(), a.view().bytes().end()); };
    CHECK(bytes_of(*got_big) == *big_bytes);  // re-encoding is canonical: nothing to change
    CHECK_FALSE(got_small->view().has_dispatch_index());
    CHECK(bytes_of(*got_plain) == *plain_bytes);
    for (const auto* pair : {&got_big, &got_small}) {
        const testing::RandomModel& m = pair == &got_big ? big : small;
        auto bound = BoundArena::bind((*pair)->view(), m.registry);
        REQUIRE(bound);
        testing::for_each_tuple(m.user_types, 2, [&](std::span<const TypeId> args) {
            CHECK(bound->lookup(args).same_outcome(resolve_reference(m.table, m.registry, args)));
        });
    }
}

TEST_CASE("the compactor's transform applies the builders' rule at every size and arity the bench measured", "[compactor][forms]") {
    for (std::uint32_t arity = 1; arity <= 3; ++arity)
        for (std::uint32_t n = 1; n <= 12; ++n) {
            CAPTURE(arity, n);
            const testing::RandomModel m = testing::make_random_model(900 + 20 * arity + n, {10, 2, arity, n, true});
            auto bytes = build_arena(m.table, m.registry, {}, ArenaBuildOptions(1, DispatchForms::all()));
            REQUIRE(bytes);
            auto view = ArenaView::open(*bytes);
            REQUIRE(view);
            auto out = reoptimize(*view, IndexEntry{});
            REQUIRE(out);
            auto after = ArenaView::open(*out);
            REQUIRE(after);
            CHECK(after->has_dispatch_index() == DispatchForms::wants_table(n));
            // What the builders write for this table, byte for byte (apart from nothing:
            // same table, same creation time, same forms).
            auto written = build_arena(m.table, m.registry, {}, ArenaBuildOptions(1, DispatchForms::for_table(m.table)));
            REQUIRE(written);
            CHECK(*out == *written);
            if (!after->has_dispatch_index()) {
                CHECK(after->optimization_type() == OptimizationType::none);
                CHECK(after->memory_saved() == 0);
                CHECK(after->compression_ratio() == 1.0);
            }
        }
}

namespace {

// The offsets of `keys`' arenas in the one pack of the store at `root`.
std::vector<std::uint64_t> offsets_in_pack(const fs::path& root, const std::vector<CacheKey>& keys) {
    auto listing = list_store_files(root);
    REQUIRE(listing);
    REQUIRE(listing->packs.size() == 1);
    std::ifstream in(listing->packs[0].path, std::ios::binary);
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto bytes = std::as_bytes(std::span<const char>(chars));
    auto pack = PackView::open(bytes);
    REQUIRE(pack);
    std::vector<std::uint64_t> out;
    for (const CacheKey& k : keys) {
        auto found = pack->find(k);
        REQUIRE(found);
        REQUIRE(*found);
        out.push_back(static_cast<std::uint64_t>((*found)->data() - bytes.data()));
    }
    return out;
}

}  // namespace

TEST_CASE("the read history: the session's keys first, then the previous ones, only those kept; damage reads as none", "[compactor][history]") {
    testing::TempDir dir;
    fs::create_directories(dir.path / "tmp");
    CHECK(load_read_history(dir.path).empty());  // missing
    const std::vector<CacheKey> session{key_for(3), key_for(1), key_for(3), key_for(9)};
    const std::vector<CacheKey> previous{key_for(7), key_for(1), key_for(8), key_for(2)};
    const auto merged = merge_read_history(session, previous, [](const CacheKey& k) { return !(k == key_for(8)); });
    CHECK(merged == std::vector<CacheKey>{key_for(3), key_for(1), key_for(9), key_for(7), key_for(2)});
    REQUIRE(save_read_history(dir.path, dir.path / "tmp", merged, 42));
    CHECK(load_read_history(dir.path) == merged);
    testing::flip_byte(read_history_path(dir.path), 40);
    CHECK(load_read_history(dir.path).empty());
}

TEST_CASE("the compactor lays the new pack out in the order the last builds read it; jdc optimize does not repeat it", "[compactor][history]") {
    testing::TempDir dir;
    auto store = LocalStore::open(dir.path, quiet());
    REQUIRE(store);
    put_range(*store, 0, 40);
    std::vector<CacheKey> history;
    for (std::uint64_t n : {31, 4, 17, 0, 39, 22}) history.push_back(key_for(n));
    REQUIRE(save_read_history(dir.path, store->temp_directory(), history, 1));

    auto report = compact_store(*store);
    REQUIRE(report);
    CHECK(report->outcome == CompactionOutcome::compacted);
    CHECK(report->in_read_order);
    const auto offsets = offsets_in_pack(dir.path, history);
    CHECK(std::is_sorted(offsets.begin(), offsets.end()));
    // The history's entries come first, together.
    std::vector<CacheKey> rest;
    for (std::uint64_t n = 0; n < 40; ++n)
        if (std::find(history.begin(), history.end(), key_for(n)) == history.end()) rest.push_back(key_for(n));
    const auto rest_offsets = offsets_in_pack(dir.path, rest);
    CHECK(*std::min_element(rest_offsets.begin(), rest_offsets.end()) > offsets.back());

    CompactionOptions all;
    all.rewrite_all = true;
    auto again = compact_store(*store, all);
    REQUIRE(again);
    CHECK(again->outcome == CompactionOutcome::nothing_to_do);  // one pack, in read order already

    std::reverse(history.begin(), history.end());  // the builds now read another order
    REQUIRE(save_read_history(dir.path, store->temp_directory(), history, 2));
    auto reordered = compact_store(*store, all);
    REQUIRE(reordered);
    CHECK(reordered->outcome == CompactionOutcome::compacted);
    const auto new_offsets = offsets_in_pack(dir.path, history);
    CHECK(std::is_sorted(new_offsets.begin(), new_offsets.end()));
    check_valid(dir.path);
}

TEST_CASE("over its size limit, the compactor rewrites every pack holding evicted copies, and du shrinks", "[compactor][limit]") {
    testing::TempDir dir;
    auto store = LocalStore::open(dir.path, quiet());
    REQUIRE(store);
    std::vector<std::vector<std::byte>> keep;
    REQUIRE(store->put_packed(puts_for(0, 40, keep)));
    for (std::uint64_t n = 0; n < 4; ++n) REQUIRE(store->remove(key_for(n)));  // evicted: a tenth of the pack dead
    std::map<std::uint64_t, Answers> before;
    for (std::uint64_t n = 4; n < 40; ++n) before[n] = answers_of(*store, n);

    auto within = compact_store(*store);
    REQUIRE(within);
    CHECK(within->outcome == CompactionOutcome::nothing_to_do);  // under the limit, a tenth dead is left

    auto du = measure_disk_usage(dir.path);
    REQUIRE(du);
    StoreOptions tight = quiet();
    tight.max_size_bytes = du->total() - 1;
    auto small = LocalStore::open(dir.path, tight);
    REQUIRE(small);
    auto report = compact_store(*small);
    REQUIRE(report);
    CHECK(report->outcome == CompactionOutcome::compacted);
    CHECK(report->over_limit);
    CHECK(report->entries_packed == 36);
    auto after = measure_disk_usage(dir.path);
    REQUIRE(after);
    CHECK(after->packs < du->packs);
    check_same_answers(*small, before);
    check_valid(dir.path);
}
