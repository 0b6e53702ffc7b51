// Tests for src/storage/mapped_pack.cpp: pack files mapped read-only, looked up in
// place, and the errors of bad files.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include "jdc/arena_builder.hpp"
#include "jdc/arena_view.hpp"
#include "jdc/detail/atomic_file.hpp"
#include "jdc/detail/mapped_pack.hpp"
#include "jdc/resolver.hpp"
#include "support/arena_samples.hpp"
#include "support/random_model.hpp"
#include "support/temp_dir.hpp"

using namespace jdc;
using jdc::testing::random_keys;
namespace fs = std::filesystem;
using jdc::testing::TempDir;

namespace {

constexpr std::uint64_t kTime = 1'700'000'000'000'000'000ull;

struct Table {
    testing::RandomModel model;
    std::vector<std::byte> arena;
};

const std::vector<Table>& tables() {
    static const std::vector<Table> all = [] {
        std::vector<Table> v;
        for (std::uint64_t seed = 21; seed <= 26; ++seed) {
            Table t{testing::make_random_model(seed, {10, 2, 2, static_cast<std::uint32_t>(seed - 15), true}), {}};
            ArenaBuildOptions options;
            options.created_at_ns = kTime;
            auto bytes = build_arena(t.model.table, t.model.registry, {}, options);
            REQUIRE(bytes);
            t.arena = std::move(*bytes);
            v.push_back(std::move(t));
        }
        return v;
    }();
    return all;
}

// keys[i] holds tables()[i % tables().size()].
std::vector<std::byte> build(const std::vector<CacheKey>& keys) {
    std::vector<PackInput> in;
    for (std::size_t i = 0; i < keys.size(); ++i) in.push_back({keys[i], tables()[i % tables().size()].arena});
    auto bytes = build_pack(in, kTime);
    REQUIRE(bytes);
    return std::move(*bytes);
}

bool same_bytes(std::span<const std::byte> a, std::span<const std::byte> b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

bool mentions(const Error& e, const std::string& what) { return e.message.find(what) != std::string::npos; }

}  // namespace

TEST_CASE("a mapped pack serves every arena in place; each verifies, binds and resolves", "[storage][pack]") {
    TempDir dir;
    const auto keys = random_keys(200, 1);
    const auto bytes = build(keys);
    const fs::path file = dir.path / "cache.jdcp";
    REQUIRE(write_file_atomically(file, bytes, Durability::fsync));

    auto pack = MappedPack::open(file);
    REQUIRE(pack);
    CHECK(pack->entry_count() == keys.size());
    CHECK(pack->created_at_ns() == kTime);
    CHECK(pack->path() == file);
    CHECK(same_bytes(pack->bytes(), bytes));
    REQUIRE(pack->verify());

    for (std::size_t i = 0; i < keys.size(); ++i) {
        auto found = pack->find(keys[i]);
        REQUIRE(found);
        REQUIRE(*found);
        const auto& arena = **found;
        // In place: the span points into the mapping, not at a copy.
        CHECK(arena.data() >= pack->bytes().data());
        CHECK(arena.data() + arena.size() <= pack->bytes().data() + pack->bytes().size());
        const Table& t = tables()[i % tables().size()];
        REQUIRE(same_bytes(arena, t.arena));
        auto view = ArenaView::open(arena);
        REQUIRE(view);
        auto bound = BoundArena::bind(*view, t.model.registry);
        REQUIRE(bound);
        testing::for_each_tuple(t.model.user_types, t.model.table.arity(), [&](std::span<const TypeId> args) {
            REQUIRE(bound->lookup(args).same_outcome(resolve_reference(t.model.table, t.model.registry, args)));
        });
    }
    for (const CacheKey& k : random_keys(200, 2)) {
        auto r = pack->find(k);
        REQUIRE(r);
        CHECK_FALSE(*r);
    }
    std::size_t visited = 0;
    REQUIRE(pack->for_each_entry([&](CacheKey, std::span<const std::byte> arena) {
        CHECK(ArenaView::open(arena));
        ++visited;
    }));
    CHECK(visited == keys.size());

    // Spans survive moving the owner: the mapping does not move.
    const auto before = **pack->find(keys[0]);
    MappedPack moved = std::move(*pack);
    const auto after = **moved.find(keys[0]);
    CHECK(before.data() == after.data());
    CHECK(ArenaView::open(after));
}

TEST_CASE("an empty pack file maps and misses", "[storage][pack]") {
    TempDir dir;
    REQUIRE(write_file_atomically(dir.path / "empty.jdcp", build({})));
    auto pack = MappedPack::open(dir.path / "empty.jdcp");
    REQUIRE(pack);
    CHECK(pack->entry_count() == 0);
    auto r = pack->find({1, 2});
    REQUIRE(r);
    CHECK_FALSE(*r);
    REQUIRE(pack->verify());
}

TEST_CASE("a reader's mapping stays valid while the pack is replaced", "[storage][pack]") {
    TempDir dir;
    const fs::path file = dir.path / "cache.jdcp";
    const auto first = random_keys(10, 3);
    REQUIRE(write_file_atomically(file, build(first)));
    auto old_pack = MappedPack::open(file);
    REQUIRE(old_pack);
    const auto second = random_keys(30, 4);
    REQUIRE(write_file_atomically(file, build(second)));
    CHECK(old_pack->entry_count() == 10);  // old inode, still mapped
    REQUIRE(old_pack->verify());
    auto r = old_pack->find(first[3]);
    REQUIRE(r);
    REQUIRE(*r);
    CHECK(ArenaView::open(**r));
    auto new_pack = MappedPack::open(file);
    REQUIRE(new_pack);
    CHECK(new_pack->entry_count() == 30);
    auto gone = new_pack->find(first[3]);
    REQUIRE(gone);
    CHECK_FALSE(*gone);
}

TEST_CASE("bad pack files give typed errors naming the file", "[storage][pack]") {
    TempDir dir;
    const auto keys = random_keys(20, 5);
    const auto bytes = build(keys);

    SECTION("missing file") {
        auto r = MappedPack::open(dir.path / "nope.jdcp");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::not_found);
        CHECK(mentions(r.error(), "nope.jdcp"));
    }
    SECTION("a directory") {
        auto r = MappedPack::open(dir.path);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::io);
    }
    SECTION("a FIFO") {
        REQUIRE(::mkfifo((dir.path / "fifo").c_str(), 0600) == 0);
        auto r = MappedPack::open(dir.path / "fifo");  // refused, not blocked waiting for a writer
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::io);
    }
    SECTION("empty file") {
        std::ofstream(dir.path / "empty.jdcp").flush();
        auto r = MappedPack::open(dir.path / "empty.jdcp");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::truncated);
    }
    SECTION("truncated file") {
        REQUIRE(write_file_atomically(dir.path / "half.jdcp", std::span<const std::byte>(bytes.data(), bytes.size() / 2)));
        auto r = MappedPack::open(dir.path / "half.jdcp");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::truncated);
        CHECK(mentions(r.error(), "half.jdcp"));
    }
    SECTION("an arena is not a pack") {
        REQUIRE(write_file_atomically(dir.path / "t.jdca", tables()[0].arena));
        auto r = MappedPack::open(dir.path / "t.jdca");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::bad_magic);
    }
    SECTION("over the size cap: refused before mapping") {
        REQUIRE(write_file_atomically(dir.path / "t.jdcp", bytes));
        PackLimits limits;
        limits.max_total_size = 1024;
        auto r = MappedPack::open(dir.path / "t.jdcp", limits);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::limit_exceeded);
    }
    SECTION("a damaged slot: open succeeds (O(1)), the lookup that reads it fails") {
        auto bad = bytes;
        // Damage the arena_size of every used slot (unsealed): any hit reads a bad slot.
        for (std::size_t i = 0; i < 32; ++i) {
            const std::size_t at = 64 + i * 40;
            if (std::any_of(bad.begin() + at, bad.begin() + at + 16, [](std::byte b) { return b != std::byte{0}; }))
                bad[at + 24] ^= std::byte{0x08};
        }
        REQUIRE(write_file_atomically(dir.path / "slots.jdcp", bad));
        auto pack = MappedPack::open(dir.path / "slots.jdcp");
        REQUIRE(pack);
        auto r = pack->find(keys[0]);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::checksum_mismatch);
        CHECK(mentions(r.error(), "slots.jdcp"));
        auto v = pack->verify();
        REQUIRE_FALSE(v);
        CHECK(v.error().code == ErrorCode::checksum_mismatch);
        CHECK(mentions(v.error(), "slots.jdcp"));
    }
    SECTION("a damaged arena: located, then refused by ArenaView and by verify") {
        auto bad = bytes;
        bad[bad.size() - 24] ^= std::byte{0x01};  // inside the last arena
        REQUIRE(write_file_atomically(dir.path / "arena.jdcp", bad));
        auto pack = MappedPack::open(dir.path / "arena.jdcp");
        REQUIRE(pack);
        std::size_t refused = 0;
        for (const CacheKey& k : keys) {
            auto r = pack->find(k);
            REQUIRE(r);
            REQUIRE(*r);
            if (!ArenaView::open(**r)) ++refused;
        }
        CHECK(refused == 1);
        auto v = pack->verify();
        REQUIRE_FALSE(v);
        CHECK(v.error().code == ErrorCode::checksum_mismatch);
    }
}
