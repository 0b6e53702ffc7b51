#include <catch2/catch.hpp>

#include <random>
#include <unordered_map>

#include "jdc/detail/cache_index.hpp"
#include "support/damaged_index.hpp"
#include "support/temp_dir.hpp"

using namespace jdc;

namespace {

IndexEntry entry(std::uint64_t n, std::uint64_t size) {
    IndexEntry e;
    e.key = {0xABCD0000 + n, n * 0x9E3779B97F4A7C15ull + 1};
    e.size = size;
    e.created_ns = 1000 + n;
    e.last_access_ns = 2000 + n;
    e.format_version = 0x10000;
    e.config_hash = n * 7;
    e.location = n % 3 == 0 ? EntryLocation::packed : EntryLocation::loose;
    return e;
}

}  // namespace

TEST_CASE("an index holds, replaces and erases entries like a map", "[index]") {
    testing::TempDir dir;
    const auto file = dir.path / "index.jdci";
    REQUIRE(CacheIndex::write_new(file, dir.path, {}, 0, nullptr, 0));
    auto idx = CacheIndex::open(file);
    REQUIRE(idx);
    std::unordered_map<CacheKey, IndexEntry, CacheKeyHash> model;
    std::mt19937_64 rng(9);
    for (int op = 0; op < 4000; ++op) {
        const std::uint64_t n = rng() % 300;
        const IndexEntry e = entry(n, 100 + rng() % 1000);
        if (rng() % 3 == 0) {
            const auto erased = idx->erase(e.key);
            CHECK(erased.has_value() == (model.erase(e.key) == 1));
        } else {
            if (!idx->has_room_for(1)) {
                std::vector<IndexEntry> all = idx->entries();
                const IndexSummary s = idx->summary();
                REQUIRE(CacheIndex::write_new(file, dir.path, all, 0, &s, 0));
                idx->mark_retired();
                CHECK(idx->retired());
                idx = CacheIndex::open(file);
                REQUIRE(idx);
            }
            REQUIRE(idx->put(e));
            model[e.key] = e;
        }
    }
    std::uint64_t bytes = 0;
    for (const auto& [k, e] : model) {
        const auto found = idx->find(k);
        REQUIRE(found);
        CHECK(found->size == e.size);
        CHECK(found->config_hash == e.config_hash);
        CHECK(found->location == e.location);
        bytes += e.size;
    }
    const IndexSummary s = idx->summary();
    CHECK(s.live_count == model.size());
    CHECK(s.total_bytes == bytes);
    CHECK(idx->entries().size() == model.size());
    CHECK_FALSE(idx->find(entry(999, 1).key));
}

TEST_CASE("access tracking and counters update in place and survive reopening", "[index]") {
    testing::TempDir dir;
    const auto file = dir.path / "index.jdci";
    REQUIRE(CacheIndex::write_new(file, dir.path, {entry(1, 10), entry(2, 20)}, 0, nullptr, 0));
    {
        auto idx = CacheIndex::open(file);
        REQUIRE(idx);
        idx->record_access(entry(1, 10).key, 50'000);
        idx->record_access(entry(1, 10).key, 40'000);  // older: last access keeps the newest
        idx->add(IndexCounter::hits, 3);
        idx->add(IndexCounter::misses);
    }
    auto idx = CacheIndex::open(file);
    REQUIRE(idx);
    const auto e = idx->find(entry(1, 10).key);
    REQUIRE(e);
    CHECK(e->last_access_ns == 50'000);
    CHECK(e->access_count == 2);
    CHECK(idx->summary().hits == 3);
    CHECK(idx->summary().misses == 1);
    CHECK(idx->summary().total_bytes == 30);
}

TEST_CASE("a damaged slot reads as absent, and bad index files are refused with a reason", "[index]") {
    testing::TempDir dir;
    const auto file = dir.path / "index.jdci";
    std::vector<IndexEntry> many;
    for (std::uint64_t n = 0; n < 40; ++n) many.push_back(entry(n, 5));
    REQUIRE(CacheIndex::write_new(file, dir.path, many, 0, nullptr, 0));
    auto bytes = std::filesystem::file_size(file);

    SECTION("flipped bit inside a slot") {
        auto idx = CacheIndex::open(file);
        REQUIRE(idx);
        std::size_t found_before = idx->entries().size();
        // Flip a byte of the first live slot's size field.
        std::FILE* f = std::fopen(file.c_str(), "r+b");
        REQUIRE(f);
        for (std::uint64_t i = 0; i < (bytes - sizeof(index_format::Header)) / 64; ++i) {
            std::fseek(f, static_cast<long>(sizeof(index_format::Header) + i * 64 + 44), SEEK_SET);
            if (std::fgetc(f) == index_format::kLive) {
                std::fseek(f, static_cast<long>(sizeof(index_format::Header) + i * 64 + 16), SEEK_SET);
                std::fputc(0x7F, f);
                break;
            }
        }
        std::fclose(f);
        auto again = CacheIndex::open(file);
        REQUIRE(again);
        CHECK(again->entries().size() == found_before - 1);
    }
    SECTION("truncated") {
        std::filesystem::resize_file(file, bytes - 64);
        auto r = CacheIndex::open(file);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::truncated);
    }
    SECTION("not an index") {
        std::FILE* f = std::fopen(file.c_str(), "r+b");
        std::fputs("XXXX", f);
        std::fclose(f);
        auto r = CacheIndex::open(file);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::bad_magic);
    }
    SECTION("missing") {
        auto r = CacheIndex::open(dir.path / "nope.jdci");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::not_found);
    }
}

TEST_CASE("put reports an index whose slots are fuller than its header counts", "[index][damage]") {
    testing::TempDir dir;
    const auto file = dir.path / "index.jdci";
    std::vector<IndexEntry> few = {entry(1, 10), entry(2, 20)};
    REQUIRE(CacheIndex::write_new(file, dir.path, few, 0, nullptr, 0));
    testing::fill_every_slot(file);
    auto idx = CacheIndex::open(file);
    REQUIRE(idx);
    CHECK(idx->summary().live_count == 2);  // the header's word, not the truth
    REQUIRE(idx->has_room_for(1));
    CHECK_FALSE(idx->put(entry(3, 30)));  // no slot after all: said, not swallowed
    CHECK_FALSE(idx->find(entry(3, 30).key));
    // Erasing more entries than the header counts does not wrap its count.
    for (std::uint64_t i = 0; i < 5; ++i) CHECK(idx->erase({0xDEAD0000 + i, i}));
    CHECK(idx->summary().live_count == 0);
    CHECK(idx->summary().tombstone_count == 5);
}

TEST_CASE("erase leaves no stale copy behind, even one a damaged index hid behind an empty slot", "[index][damage]") {
    testing::TempDir dir;
    const auto file = dir.path / "index.jdci";
    REQUIRE(CacheIndex::write_new(file, dir.path, {}, 0, nullptr, 0));  // 64 empty slots
    const IndexEntry victim = entry(5, 50);
    const std::uint64_t home = victim.key.lo & 63;
    // The key's home slot is taken by another key, the next one is empty, and behind
    // it sits a stale copy of the key: unreachable, so find() misses it.
    index_format::Slot other{};
    other.key_hi = 0xBEEF;
    other.key_lo = home;
    other.state = index_format::kLive;
    testing::plant_slot(file, home, other);
    index_format::Slot stale{};
    stale.key_hi = victim.key.hi;
    stale.key_lo = victim.key.lo;
    stale.size = 7;
    stale.state = index_format::kLive;
    testing::plant_slot(file, (home + 2) & 63, stale);
    auto idx = CacheIndex::open(file);
    REQUIRE(idx);
    REQUIRE_FALSE(idx->find(victim.key));
    REQUIRE(idx->put(victim));  // lands in the empty slot, in front of the stale copy
    REQUIRE(idx->find(victim.key));
    CHECK(idx->find(victim.key)->size == 50);
    const auto erased = idx->erase(victim.key);  // the slot in front becomes a tombstone
    REQUIRE(erased);
    CHECK(erased->size == 50);
    CHECK_FALSE(idx->find(victim.key));  // before: the stale copy came back
}
