// Tests for src/format/pack.cpp: building packs, O(1) open, lookups, iteration and
// full verification, including hostile bytes.
//
// Why checksums are re-sealed in the structural tests: the header checksum and the
// slot checksums cover every header and index byte, so unsealed damage is caught as
// checksum_mismatch first. Re-sealing (what a buggy or malicious writer would do) is
// the only way to reach the deeper checks: bounds, key prefix, reachability, counts.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <xxhash.h>

#include "jdc/arena_builder.hpp"
#include "jdc/arena_view.hpp"
#include "jdc/pack.hpp"
#include "jdc/pack_format.hpp"
#include "jdc/resolver.hpp"
#include "support/arena_samples.hpp"
#include "support/random_model.hpp"

namespace {

using namespace jdc;
using jdc::testing::random_keys;
using testing::for_each_tuple;

constexpr std::uint64_t kTime = 1'700'000'000'000'000'000ull;

struct Table {
    testing::RandomModel model;
    std::vector<std::byte> arena;
};

Table make_table(std::uint64_t seed, std::uint32_t implementations) {
    Table t{testing::make_random_model(seed, {12, 2, 2, implementations, true}), {}};
    ArenaBuildOptions options;
    options.created_at_ns = kTime;
    auto bytes = build_arena(t.model.table, t.model.registry, {}, options);
    REQUIRE(bytes);
    t.arena = std::move(*bytes);
    return t;
}

// A few distinct tables, shared by the tests (building them is the slow part).
const std::vector<Table>& tables() {
    static const std::vector<Table> all = [] {
        std::vector<Table> v;
        for (std::uint64_t seed = 1; seed <= 8; ++seed) v.push_back(make_table(seed, static_cast<std::uint32_t>(seed * 3)));
        return v;
    }();
    return all;
}

// keys[i] holds tables()[i % tables().size()].
std::vector<PackInput> inputs_for(const std::vector<CacheKey>& keys) {
    std::vector<PackInput> in;
    for (std::size_t i = 0; i < keys.size(); ++i) in.push_back({keys[i], tables()[i % tables().size()].arena});
    return in;
}

std::vector<std::byte> build(const std::vector<CacheKey>& keys, std::uint64_t created = kTime) {
    auto bytes = build_pack(inputs_for(keys), created);
    REQUIRE(bytes);
    return std::move(*bytes);
}

bool same_bytes(std::span<const std::byte> a, std::span<const std::byte> b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

// Verifies, binds and resolves every tuple, comparing with the reference resolver.
void check_arena_usable(std::span<const std::byte> bytes, const Table& t) {
    auto view = ArenaView::open(bytes);
    REQUIRE(view);
    auto bound = BoundArena::bind(*view, t.model.registry);
    REQUIRE(bound);
    for_each_tuple(t.model.user_types, t.model.table.arity(), [&](std::span<const TypeId> args) {
        REQUIRE(bound->lookup(args).same_outcome(resolve_reference(t.model.table, t.model.registry, args)));
    });
}

// Typed patches of a pack, then re-sealing the checksums a writer would compute.
class PackEditor {
public:
    explicit PackEditor(std::vector<std::byte> bytes) : bytes_(std::move(bytes)) {}

    template <class T>
    T get(std::uint64_t offset) const {
        REQUIRE(offset + sizeof(T) <= bytes_.size());
        T v;
        std::memcpy(&v, bytes_.data() + offset, sizeof(T));
        return v;
    }
    template <class T>
    void set(std::uint64_t offset, T v) {
        REQUIRE(offset + sizeof(T) <= bytes_.size());
        std::memcpy(bytes_.data() + offset, &v, sizeof(T));
    }

    pack::Header header() const { return get<pack::Header>(0); }
    void set_header(pack::Header h) { set(0, h); }
    void reseal_header() {
        auto h = header();
        h.header_checksum = XXH3_64bits(bytes_.data(), pack::kHeaderChecksumCoverage);
        set_header(h);
    }

    static std::uint64_t slot_at(std::uint64_t index) { return pack::kIndexOffset + index * pack::kSlotSize; }
    pack::Slot slot(std::uint64_t index) const { return get<pack::Slot>(slot_at(index)); }
    void set_slot(std::uint64_t index, pack::Slot s) { set(slot_at(index), s); }
    void set_sealed_slot(std::uint64_t index, pack::Slot s) {
        set_slot(index, s);
        s.slot_checksum = XXH3_64bits(bytes_.data() + slot_at(index), pack::kSlotChecksumCoverage);
        set_slot(index, s);
    }
    // The slot holding `key` (REQUIREs that there is one).
    std::uint64_t slot_of(const CacheKey& key) const {
        for (std::uint64_t i = 0; i < header().bucket_count; ++i)
            if (slot(i).key_hi == key.hi && slot(i).key_lo == key.lo) return i;
        FAIL("key not in the index");
        return 0;
    }

    std::vector<std::byte>& bytes() { return bytes_; }

private:
    std::vector<std::byte> bytes_;
};

ErrorCode open_error(std::span<const std::byte> bytes) {
    auto v = PackView::open(bytes);
    REQUIRE_FALSE(v);
    INFO(v.error().message);
    // Header-level verification and open are the same checks.
    auto r = verify_pack(bytes, VerifyLevel::header);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == v.error().code);
    CHECK(r.error().message == v.error().message);
    return v.error().code;
}

Error full_error(std::span<const std::byte> bytes) {
    auto r = verify_pack(bytes, VerifyLevel::full);
    REQUIRE_FALSE(r);
    return r.error();
}

Error find_error(std::span<const std::byte> bytes, const CacheKey& key) {
    auto v = PackView::open(bytes);
    REQUIRE(v);
    auto r = v->find(key);
    REQUIRE_FALSE(r);
    return r.error();
}

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

}  // namespace

// ---------------------------------------------------------------------------
// Round trips

TEST_CASE("every key of a pack is found, and its arena verifies, binds and resolves like the reference", "[pack]") {
    const auto keys = random_keys(40, 1);
    const auto bytes = build(keys);
    REQUIRE(verify_pack(bytes, VerifyLevel::full));
    auto pack = PackView::open(bytes);
    REQUIRE(pack);
    CHECK(pack->entry_count() == keys.size());
    CHECK(pack->bucket_count() == 64);
    CHECK(pack->created_at_ns() == kTime);
    CHECK(pack->version_minor() == 0);
    for (std::size_t i = 0; i < keys.size(); ++i) {
        auto found = pack->find(keys[i]);
        REQUIRE(found);
        REQUIRE(*found);
        const Table& t = tables()[i % tables().size()];
        CHECK(same_bytes(**found, t.arena));
        CHECK(reinterpret_cast<std::uintptr_t>((*found)->data()) % 8 ==
              reinterpret_cast<std::uintptr_t>(bytes.data()) % 8);  // arenas start 8-aligned in the pack
        check_arena_usable(**found, t);
    }
}

TEST_CASE("unknown keys and the zero key miss", "[pack]") {
    const auto keys = random_keys(30, 2);
    const auto bytes = build(keys);
    auto pack = PackView::open(bytes);
    REQUIRE(pack);
    for (const CacheKey& k : random_keys(500, 3)) {
        auto r = pack->find(k);
        REQUIRE(r);
        CHECK_FALSE(*r);
    }
    // Same home bucket as a stored key, different key: probes past it, then misses.
    const CacheKey near{keys[0].hi ^ 1, keys[0].lo};
    auto r = pack->find(near);
    REQUIRE(r);
    CHECK_FALSE(*r);
    auto zero = pack->find(CacheKey{});
    REQUIRE(zero);
    CHECK_FALSE(*zero);
}

TEST_CASE("an empty pack is a header and one empty slot", "[pack]") {
    const auto bytes = build({});
    CHECK(bytes.size() == 64 + 40);
    REQUIRE(verify_pack(bytes, VerifyLevel::full));
    auto pack = PackView::open(bytes);
    REQUIRE(pack);
    CHECK(pack->entry_count() == 0);
    CHECK(pack->bucket_count() == 1);
    CHECK(pack->header().data_offset == 104);
    CHECK(pack->header().total_size == 104);
    for (const CacheKey& k : random_keys(20, 4)) {
        auto r = pack->find(k);
        REQUIRE(r);
        CHECK_FALSE(*r);
    }
    int visited = 0;
    REQUIRE(pack->for_each_entry([&](CacheKey, std::span<const std::byte>) { ++visited; }));
    CHECK(visited == 0);
}

TEST_CASE("a pack with one entry", "[pack]") {
    const CacheKey key{0x0123456789abcdefull, 0xfedcba9876543210ull};
    const auto bytes = build({key});
    REQUIRE(verify_pack(bytes, VerifyLevel::full));
    auto pack = PackView::open(bytes);
    REQUIRE(pack);
    CHECK(pack->entry_count() == 1);
    CHECK(pack->bucket_count() == 2);
    CHECK(bytes.size() == 64 + 2 * 40 + 16 + tables()[0].arena.size());
    auto found = pack->find(key);
    REQUIRE(found);
    REQUIRE(*found);
    check_arena_usable(**found, tables()[0]);
    auto miss = pack->find({key.hi, key.lo ^ 2});
    REQUIRE(miss);
    CHECK_FALSE(*miss);
}

TEST_CASE("a pack of 20000 small entries: every key found with short probes", "[pack][large]") {
    const auto keys = random_keys(20'000, 5);
    const auto bytes = build(keys);
    auto pack = PackView::open(bytes);
    REQUIRE(pack);
    CHECK(pack->bucket_count() == 32768);  // smallest power of two at load <= 3/4
    for (std::size_t i = 0; i < keys.size(); ++i) {
        auto found = pack->find(keys[i]);
        REQUIRE(found);
        REQUIRE(*found);
        REQUIRE(same_bytes(**found, tables()[i % tables().size()].arena));
    }
    // Probe lengths, read off the index: displacement of each key from its home bucket.
    PackEditor ed(bytes);
    const std::uint64_t mask = pack->bucket_count() - 1;
    std::uint64_t total = 0, longest = 0;
    for (std::uint64_t i = 0; i < pack->bucket_count(); ++i) {
        const auto s = ed.slot(i);
        if (s.key_hi == 0 && s.key_lo == 0) continue;
        const std::uint64_t probes = ((i - (s.key_lo & mask)) & mask) + 1;
        total += probes;
        longest = std::max(longest, probes);
    }
    const double mean = double(total) / double(keys.size());
    INFO("mean probes " << mean << ", longest " << longest);
    // Linear probing at load 0.61 expects ~1.8 probes per hit (Knuth: (1 + 1/(1-a))/2).
    CHECK(mean < 2.5);
    CHECK(longest < 100);
    // A few through the full path: verify, bind, resolve.
    for (std::size_t i = 0; i < 16; ++i) check_arena_usable(**pack->find(keys[i * 1237]), tables()[(i * 1237) % tables().size()]);
    REQUIRE(verify_pack(bytes, VerifyLevel::full));
}

TEST_CASE("build_pack is deterministic and independent of input order", "[pack]") {
    const auto keys = random_keys(300, 6);
    auto in = inputs_for(keys);
    auto a = build_pack(in, kTime);
    std::mt19937_64 rng(7);
    std::shuffle(in.begin(), in.end(), rng);
    auto b = build_pack(in, kTime);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(*a == *b);
    // Another timestamp changes bytes 48-63 (created_at_ns and the header checksum) only.
    auto c = build_pack(in, kTime + 1);
    REQUIRE(c);
    REQUIRE(c->size() == a->size());
    for (std::size_t i = 0; i < a->size(); ++i)
        if ((*a)[i] != (*c)[i]) REQUIRE((i >= 48 && i < 64));
}

TEST_CASE("for_each_entry visits every entry once, in slot order", "[pack]") {
    const auto keys = random_keys(100, 8);
    const auto bytes = build(keys);
    auto pack = PackView::open(bytes);
    REQUIRE(pack);
    std::map<CacheKey, std::size_t> index_of;
    for (std::size_t i = 0; i < keys.size(); ++i) index_of[keys[i]] = i;
    PackEditor ed(bytes);
    std::vector<CacheKey> visited;
    REQUIRE(pack->for_each_entry([&](CacheKey key, std::span<const std::byte> arena) {
        REQUIRE(index_of.count(key) == 1);
        CHECK(same_bytes(arena, tables()[index_of[key] % tables().size()].arena));
        visited.push_back(key);
    }));
    REQUIRE(visited.size() == keys.size());
    std::uint64_t last_slot = 0;
    for (std::size_t i = 0; i < visited.size(); ++i) {
        const std::uint64_t slot = ed.slot_of(visited[i]);
        if (i > 0) CHECK(slot > last_slot);
        last_slot = slot;
    }
    // The reference writer lays the data out in slot order too.
    std::uint64_t last_offset = 0;
    for (const CacheKey& k : visited) {
        const std::uint64_t off = ed.slot(ed.slot_of(k)).entry_offset;
        CHECK(off > last_offset);
        last_offset = off;
    }
    auto past = pack->entry_at_slot(pack->bucket_count());
    REQUIRE_FALSE(past);
    CHECK(past.error().code == ErrorCode::invalid_argument);
}

TEST_CASE("PackDataOrder::given lays the data out in the caller's order; placement and answers do not change", "[pack]") {
    const auto keys = random_keys(200, 9);
    auto in = inputs_for(keys);
    std::mt19937_64 rng(11);
    std::shuffle(in.begin(), in.end(), rng);
    auto given = build_pack(in, kTime, PackDataOrder::given);
    auto slots = build_pack(in, kTime);
    REQUIRE(given);
    REQUIRE(slots);
    CHECK(given->size() == slots->size());
    CHECK(*given != *slots);
    REQUIRE(verify_pack(*given, VerifyLevel::full));
    auto pack = PackView::open(*given);
    REQUIRE(pack);
    PackEditor by_given(*given), by_slots(*slots);
    const std::byte* previous = nullptr;
    for (const PackInput& e : in) {
        CHECK(by_given.slot_of(e.key) == by_slots.slot_of(e.key));  // the same placement
        auto found = pack->find(e.key);
        REQUIRE(found);
        REQUIRE(*found);
        CHECK(same_bytes(**found, e.arena));
        if (previous != nullptr) CHECK((*found)->data() > previous);  // in the order given
        previous = (*found)->data();
    }
    // Deterministic for a given order.
    auto again = build_pack(in, kTime, PackDataOrder::given);
    REQUIRE(again);
    CHECK(*again == *given);
}

TEST_CASE("build_pack refuses zero keys, duplicate keys and bytes that are not arenas", "[pack]") {
    const auto& arena = tables()[0].arena;
    SECTION("zero key") {
        std::vector<PackInput> in{{{1, 2}, arena}, {{0, 0}, arena}};
        auto r = build_pack(in, kTime);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::invalid_argument);
        CHECK(contains(r.error().message, "zero key"));
    }
    SECTION("duplicate key, even with other bytes") {
        std::vector<PackInput> in{{{1, 2}, arena}, {{3, 4}, arena}, {{1, 2}, tables()[1].arena}};
        auto r = build_pack(in, kTime);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::invalid_argument);
        CHECK(contains(r.error().message, "00000000000000010000000000000002"));
        CHECK(contains(r.error().message, "twice"));
    }
    SECTION("junk, an empty span, a truncated arena, a pack") {
        std::vector<std::byte> junk(256, std::byte{0x5a});
        const std::span<const std::byte> half(arena.data(), arena.size() / 2);
        const auto a_pack = build({CacheKey{9, 9}});
        for (std::span<const std::byte> bad : {std::span<const std::byte>(junk), std::span<const std::byte>(), half,
                                                std::span<const std::byte>(a_pack)}) {
            std::vector<PackInput> in{{{1, 2}, arena}, {{5, 6}, bad}};
            auto r = build_pack(in, kTime);
            REQUIRE_FALSE(r);
            CHECK(r.error().code == ErrorCode::invalid_argument);
            CHECK(contains(r.error().message, "pack input 1"));
        }
    }
}

// ---------------------------------------------------------------------------
// Header damage: open rejects it in O(1) with a typed reason

TEST_CASE("damaged headers are rejected at open with a typed reason", "[pack][corruption]") {
    const auto keys = random_keys(10, 9);
    const auto good = build(keys);
    PackEditor ed(good);

    SECTION("not a pack") {
        ed.set<std::uint32_t>(0, 0x4143444Au);  // an arena's magic
        CHECK(open_error(ed.bytes()) == ErrorCode::bad_magic);
        CHECK(open_error(tables()[0].arena) == ErrorCode::bad_magic);
    }
    SECTION("shorter than the header") {
        for (std::size_t len : {0, 3, 4, 40, 63}) {
            INFO(len);
            CHECK(open_error(std::span<const std::byte>(good.data(), len)) == ErrorCode::truncated);
        }
    }
    SECTION("truncated after the header") {
        for (std::size_t len : {std::size_t{64}, std::size_t{100}, good.size() / 2, good.size() - 8})
            CHECK(open_error(std::span<const std::byte>(good.data(), len)) == ErrorCode::truncated);
    }
    SECTION("trailing bytes") {
        ed.bytes().resize(good.size() + 8);
        CHECK(open_error(ed.bytes()) == ErrorCode::corrupt);
    }
    SECTION("another major version, with both versions in the message") {
        auto h = ed.header();
        h.version_major = 2;
        h.version_minor = 3;
        ed.set_header(h);  // not resealed: the version is checked before the checksum
        auto v = PackView::open(ed.bytes());
        REQUIRE_FALSE(v);
        CHECK(v.error().code == ErrorCode::unsupported_version);
        CHECK(contains(v.error().message, "2.3"));
        CHECK(contains(v.error().message, "1.x"));
    }
    SECTION("a newer minor version is accepted") {
        auto h = ed.header();
        h.version_minor = 7;
        ed.set_header(h);
        ed.reseal_header();
        REQUIRE(PackView::open(ed.bytes()));
        REQUIRE(verify_pack(ed.bytes(), VerifyLevel::full));
    }
    SECTION("any header bit flipped") {
        for (std::size_t bit = 0; bit < 64 * 8; ++bit) {
            PackEditor e(good);
            e.bytes()[bit / 8] ^= std::byte(1u << (bit % 8));
            const ErrorCode c = open_error(e.bytes());
            INFO("bit " << bit);
            if (bit < 32) CHECK(c == ErrorCode::bad_magic);
            else if (bit < 48) CHECK(c == ErrorCode::unsupported_version);
            else CHECK(c == ErrorCode::checksum_mismatch);
        }
    }
    SECTION("re-sealed structural damage") {
        auto h = ed.header();
        ErrorCode want = ErrorCode::corrupt;
        std::string reason;
        SECTION("index_offset") { h.index_offset = 72; reason = "index_offset"; }
        SECTION("bucket_count 0") { h.bucket_count = 0; reason = "power of two"; }
        SECTION("bucket_count not a power of two") { h.bucket_count = 24; reason = "power of two"; }
        SECTION("bucket_count larger than the file") { h.bucket_count = 1ull << 20; reason = "does not fit"; }
        SECTION("bucket_count whose index size overflows") { h.bucket_count = 1ull << 62; reason = "limit"; want = ErrorCode::limit_exceeded; }
        SECTION("data_offset") { h.data_offset += 8; reason = "data_offset"; }
        SECTION("entry_count over 3/4 of the buckets") { h.entry_count = 13; reason = "3/4"; }
        SECTION("total_size not a multiple of 8") {
            ed.bytes().resize(good.size() + 4);
            h.total_size = ed.bytes().size();
            reason = "multiple of 8";
        }
        SECTION("total_size over the limit") { h.total_size = 1ull << 40; reason = "limit"; want = ErrorCode::limit_exceeded; }
        ed.set_header(h);
        ed.reseal_header();
        auto v = PackView::open(ed.bytes());
        REQUIRE_FALSE(v);
        INFO(v.error().message);
        CHECK(v.error().code == want);
        CHECK(contains(v.error().message, reason));
    }
    SECTION("bucket_count 2^62 with generous limits: overflow-safe, corrupt") {
        auto h = ed.header();
        h.bucket_count = 1ull << 62;
        ed.set_header(h);
        ed.reseal_header();
        PackLimits unlimited{~0ull, ~0ull};
        auto v = PackView::open(ed.bytes(), unlimited);
        REQUIRE_FALSE(v);
        CHECK(v.error().code == ErrorCode::corrupt);
    }
}

// ---------------------------------------------------------------------------
// Index damage: lookups that read a damaged slot fail; verify_pack(full) finds all

TEST_CASE("damaged slots: the lookups that read them fail with a typed reason", "[pack][corruption]") {
    const auto keys = random_keys(12, 10);
    const auto good = build(keys);
    PackEditor ed(good);
    const CacheKey victim = keys[3];
    const std::uint64_t vs = ed.slot_of(victim);
    pack::Slot s = ed.slot(vs);

    SECTION("slot checksum (unsealed change)") {
        s.arena_size += 8;
        ed.set_slot(vs, s);
        auto e = find_error(ed.bytes(), victim);
        CHECK(e.code == ErrorCode::checksum_mismatch);
        CHECK(contains(e.message, "slot " + std::to_string(vs)));
        CHECK(full_error(ed.bytes()).code == ErrorCode::checksum_mismatch);
        // Open stays O(1): it does not notice.
        REQUIRE(PackView::open(ed.bytes()));
    }
    SECTION("flipped key: a lookup probing past the slot fails instead of missing silently") {
        s.key_lo ^= 1ull << 40;  // same home bucket, different key
        ed.set_slot(vs, s);
        CHECK(find_error(ed.bytes(), victim).code == ErrorCode::checksum_mismatch);
    }
    SECTION("offset pointing at another entry (re-sealed): the key prefix catches it") {
        const std::uint64_t other = ed.slot_of(keys[4]);
        s.entry_offset = ed.slot(other).entry_offset;
        s.arena_size = ed.slot(other).arena_size;
        ed.set_sealed_slot(vs, s);
        auto e = find_error(ed.bytes(), victim);
        CHECK(e.code == ErrorCode::corrupt);
        CHECK(contains(e.message, "belongs to key " + keys[4].to_hex()));
        CHECK(full_error(ed.bytes()).code == ErrorCode::corrupt);
        // The other key is still served correctly.
        auto pack = PackView::open(ed.bytes());
        REQUIRE(pack);
        auto r = pack->find(keys[4]);
        REQUIRE(r);
        REQUIRE(*r);
        CHECK(same_bytes(**r, tables()[4].arena));
    }
    SECTION("offset into the middle of an entry (re-sealed)") {
        s.entry_offset += 128;
        ed.set_sealed_slot(vs, s);
        CHECK(find_error(ed.bytes(), victim).code == ErrorCode::corrupt);
    }
    SECTION("misaligned offset (re-sealed)") {
        s.entry_offset += 4;
        ed.set_sealed_slot(vs, s);
        auto e = find_error(ed.bytes(), victim);
        CHECK(e.code == ErrorCode::corrupt);
        CHECK(contains(e.message, "aligned"));
    }
    SECTION("slot pointing out of range (re-sealed)") {
        const auto h = ed.header();
        std::uint64_t offset = 0, size = 0;
        SECTION("past the end") { offset = h.total_size; size = s.arena_size; }
        SECTION("running over the end") { offset = s.entry_offset; size = h.total_size; }
        SECTION("into the index") { offset = pack::kIndexOffset; size = 8; }
        SECTION("into the header") { offset = 0; size = 8; }
        SECTION("size that wraps") { offset = s.entry_offset; size = ~0ull - 7; }
        SECTION("offset that wraps") { offset = ~0ull - 7; size = 16; }
        s.entry_offset = offset;
        s.arena_size = size;
        ed.set_sealed_slot(vs, s);
        auto e = find_error(ed.bytes(), victim);
        INFO(e.message);
        CHECK(e.code == ErrorCode::corrupt);
        CHECK((contains(e.message, "outside the data area") || contains(e.message, "aligned")));
        CHECK(full_error(ed.bytes()).code == ErrorCode::corrupt);
    }
    SECTION("an empty slot with garbage in it") {
        std::uint64_t empty = 0;
        while (!(ed.slot(empty).key_hi == 0 && ed.slot(empty).key_lo == 0)) ++empty;
        ed.set<std::uint64_t>(PackEditor::slot_at(empty) + 24, 1);
        auto e = full_error(ed.bytes());
        CHECK(e.code == ErrorCode::corrupt);
        CHECK(contains(e.message, "not empty"));
        // A lookup whose probe ends there reports it.
        const CacheKey probe{123, empty};
        CHECK(find_error(ed.bytes(), probe).code == ErrorCode::corrupt);
    }
}

TEST_CASE("index damage only a full verification sees is reported with its reason", "[pack][corruption]") {
    const auto keys = random_keys(10, 11);  // 16 buckets, room for one more entry
    const auto good = build(keys);
    PackEditor ed(good);
    const auto h = ed.header();
    const std::uint64_t mask = h.bucket_count - 1;
    auto is_empty = [&](std::uint64_t i) { return ed.slot(i).key_hi == 0 && ed.slot(i).key_lo == 0; };

    SECTION("entry_count disagrees with the index") {
        auto hh = h;
        hh.entry_count -= 1;
        ed.set_header(hh);
        ed.reseal_header();
        REQUIRE(PackView::open(ed.bytes()));
        auto e = full_error(ed.bytes());
        CHECK(e.code == ErrorCode::corrupt);
        CHECK(contains(e.message, "entry_count"));
    }
    SECTION("a key stored twice") {
        // Copy a used slot into the first empty slot after it: reachable, sealed, valid.
        const std::uint64_t from = ed.slot_of(keys[0]);
        std::uint64_t to = (from + 1) & mask;
        while (!is_empty(to)) to = (to + 1) & mask;
        ed.set_slot(to, ed.slot(from));
        auto hh = h;
        hh.entry_count += 1;
        ed.set_header(hh);
        ed.reseal_header();
        auto e = full_error(ed.bytes());
        INFO(e.message);
        CHECK(e.code == ErrorCode::corrupt);
        CHECK(contains(e.message, "two slots"));
    }
    SECTION("a slot that probing cannot reach") {
        // Move an entry to a slot with an empty slot between it and its home bucket.
        const std::uint64_t from = ed.slot_of(keys[0]);
        const std::uint64_t home = keys[0].lo & mask;
        std::uint64_t gap = home;
        while (!is_empty(gap)) gap = (gap + 1) & mask;
        std::uint64_t to = (gap + 1) & mask;
        while (!is_empty(to)) to = (to + 1) & mask;
        ed.set_slot(to, ed.slot(from));
        ed.set_slot(from, pack::Slot{});
        auto e = full_error(ed.bytes());
        INFO(e.message);
        CHECK(e.code == ErrorCode::corrupt);
        CHECK(contains(e.message, "unreachable"));
        // Lookups miss it (the slot cannot be found, which is what F3 exists for).
        auto pack = PackView::open(ed.bytes());
        REQUIRE(pack);
        auto r = pack->find(keys[0]);
        REQUIRE(r);
        CHECK_FALSE(*r);
    }
    SECTION("overlapping entries") {
        // Point a slot at a copy of its key placed inside another entry's arena: every
        // per-slot check passes, the arena would even be found, but bytes are shared.
        const std::uint64_t a = ed.slot_of(keys[0]);
        const std::uint64_t b = ed.slot_of(keys[1]);
        auto sa = ed.slot(a);
        const auto sb = ed.slot(b);
        const std::uint64_t inside = sb.entry_offset + 16 + 64;
        ed.set<std::uint64_t>(inside, keys[0].hi);
        ed.set<std::uint64_t>(inside + 8, keys[0].lo);
        sa.entry_offset = inside;
        sa.arena_size = 8;
        ed.set_sealed_slot(a, sa);
        auto e = full_error(ed.bytes());
        INFO(e.message);
        // The arena of b changed (its checksum would catch that too); overlap comes first.
        CHECK(e.code == ErrorCode::corrupt);
        CHECK(contains(e.message, "overlap"));
    }
}

TEST_CASE("a corrupted arena inside a pack: found, refused by ArenaView, reported by verify_pack(full)", "[pack][corruption]") {
    const auto keys = random_keys(12, 12);
    const auto good = build(keys);
    PackEditor ed(good);
    const std::uint64_t vs = ed.slot_of(keys[5]);
    const auto s = ed.slot(vs);
    ed.bytes()[s.entry_offset + 16 + 200] ^= std::byte{0x10};
    REQUIRE(verify_pack(ed.bytes(), VerifyLevel::header));
    auto pack = PackView::open(ed.bytes());
    REQUIRE(pack);
    auto found = pack->find(keys[5]);
    REQUIRE(found);
    REQUIRE(*found);  // located: lookups do not verify arenas
    auto view = ArenaView::open(**found);
    REQUIRE_FALSE(view);
    CHECK(view.error().code == ErrorCode::checksum_mismatch);
    auto e = full_error(ed.bytes());
    CHECK(e.code == ErrorCode::checksum_mismatch);
    CHECK(contains(e.message, "slot " + std::to_string(vs)));
    CHECK(contains(e.message, keys[5].to_hex()));
    CHECK(contains(e.message, "data checksum"));
}

TEST_CASE("every single-bit flip is rejected by verify_pack(full); lookups never return another table", "[pack][corruption]") {
    const auto keys = random_keys(3, 13);
    const auto good = build(keys);
    std::size_t bits = 0;
    for (std::size_t byte = 0; byte < good.size(); ++byte) {
        for (unsigned bit = 0; bit < 8; ++bit, ++bits) {
            auto bad = good;
            bad[byte] ^= std::byte(1u << bit);
            INFO("byte " << byte << " bit " << bit);
            REQUIRE_FALSE(verify_pack(bad, VerifyLevel::full));
            auto pack = PackView::open(bad);
            if (!pack) continue;
            for (std::size_t k = 0; k < keys.size(); ++k) {
                auto r = pack->find(keys[k]);
                if (!r) continue;            // a damaged slot on the probe path: reported
                REQUIRE(*r);                 // never a silent miss
                if (ArenaView::open(**r))    // if the caller accepts it, it is the right table
                    REQUIRE(same_bytes(**r, tables()[k].arena));
            }
        }
    }
    CHECK(bits == good.size() * 8);
}
