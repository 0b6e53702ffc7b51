// Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/).
//
//   make_seed_corpus OUT_DIR
//
// arena_verify_never_crashes: one valid arena per model of seed_models.hpp and the
// `jdc sample` table, each with a fixed timestamp (reproducible bytes), without and
// with the dispatch index; a table declared inside the hierarchy with a key; the
// goldens of the current format (tests/support/golden_models.hpp); prefixes of two of
// them cut inside the magic, the header, the directory and the sections; and one with
// trailing bytes. (The v1.1-* files of that corpus are seeds of the 1.1 writer, kept
// by hand: 2.0 readers read 1.x arenas, and the fuzzer should start from them too.)
// arena_build_read_roundtrip: inputs that select each arity and each edit flag (see
// decode() in arena_build_read_roundtrip.cpp for the byte layout).
// payload_decode_never_crashes: see write_payload_corpus.
// pack_verify_never_crashes: packs of seed arenas (empty, one, several, keys that
// share a home bucket and wrap around the index), prefixes and trailing bytes.
// cache_index_open_never_crashes: indexes written by CacheIndex::write_new and edited
// through CacheIndex (empty, entries loose and packed, tombstones, dirty, retired,
// capacity 128), and damaged headers.
// dependency_state_never_crashes: the worked example of dependency-state-v1.md §7,
// graphs grown from it with set_imports (cycles, self-imports, files without stat).
// Re-run after changing the format or seed_models.hpp; the output is deterministic.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "cache_index_fixture.hpp"
#include "jdc/arena_builder.hpp"
#include "jdc/payload_codec.hpp"
#include "jdc/detail/cache_index.hpp"
#include "jdc/dependency_tracker.hpp"
#include "jdc/pack.hpp"
#include "seed_models.hpp"
#include "support/damaged_index.hpp"
#include "support/golden_models.hpp"
#include "support/dependency_state_example.hpp"

namespace {

namespace fs = std::filesystem;

void write(const fs::path& path, const void* data, std::size_t size) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out) {
        std::fprintf(stderr, "make_seed_corpus: cannot write %s\n", path.c_str());
        std::exit(1);
    }
}

// The value, or the error's message and exit 1: every seed must be writable.
[[noreturn]] void fail(const jdc::Error& e) {
    std::fprintf(stderr, "make_seed_corpus: %s\n", e.message.c_str());
    std::exit(1);
}
template <class T>
T or_exit(jdc::Result<T> r) {
    if (!r) fail(r.error());
    return std::move(*r);
}
void or_exit(const jdc::Result<void>& r) {
    if (!r) fail(r.error());
}

std::vector<std::byte> build(const jdc::testing::RandomModel& m, jdc::DispatchForms forms = {}, jdc::CacheKey key = {}) {
    jdc::ArenaBuildOptions options;
    options.created_at_ns = jdc::fuzzing::kSeedCreatedAtNs;
    options.forms = forms;
    options.key = key;
    return or_exit(jdc::build_arena(m.table, m.registry, {}, options));
}

void write_verify_corpus(const fs::path& dir) {
    fs::create_directories(dir);
    std::vector<std::pair<std::string, std::vector<std::byte>>> arenas;
    for (const auto& s : jdc::fuzzing::kSeedModels)
        arenas.emplace_back(s.name, build(jdc::testing::make_random_model(s.seed, s.options)));
    arenas.emplace_back("shapes", build(jdc::fuzzing::make_shapes_model()));
    // The dispatch index too, so the fuzzer starts inside it.
    arenas.emplace_back("shapes-forms", build(jdc::fuzzing::make_shapes_model(), jdc::DispatchForms::all()));
    for (const auto& s : jdc::fuzzing::kSeedModels)
        arenas.emplace_back(std::string(s.name) + "-forms", build(jdc::testing::make_random_model(s.seed, s.options), jdc::DispatchForms::all()));
    // Format 2.0: a table declared inside the hierarchy, with a key; and the goldens of
    // tests/data/v2.0 (byte for byte: same models, timestamp and keys).
    arenas.emplace_back("inner-declared-forms",
                        build(jdc::fuzzing::make_inner_declared_model(), jdc::DispatchForms::all(), jdc::fuzzing::kInnerDeclaredKey));
    for (const jdc::testing::Golden& g : jdc::testing::goldens()) {
        jdc::ArenaBuildOptions options(jdc::testing::kGoldenTime, g.forms);
        options.key = g.key;
        arenas.emplace_back("golden-v2.0-" + g.name, or_exit(jdc::build_arena(g.table, g.registry, g.optimization, options)));
    }
    for (const auto& [name, bytes] : arenas) write(dir / (name + ".jdca"), bytes.data(), bytes.size());

    for (const auto& [name, bytes] : arenas) {
        if (name != "shapes" && name != "arity3") continue;
        const std::size_t n = bytes.size();
        // Empty and 3-byte inputs once only: they are the same for every arena.
        for (std::size_t len : {std::size_t{0}, std::size_t{3}, std::size_t{64}, std::size_t{127}, std::size_t{128},
                                std::size_t{200}, n / 2, n - 8, n - 1})
            if (len >= 4 || name == "shapes") write(dir / (name + ".truncated-" + std::to_string(len)), bytes.data(), len);
        std::vector<std::byte> trailing = bytes;
        trailing.resize(n + 8, std::byte{0});
        write(dir / (name + ".trailing-8"), trailing.data(), trailing.size());
    }
}

void write_roundtrip_corpus(const fs::path& dir) {
    fs::create_directories(dir);
    // Layout: arity, user types, max supertypes, implementations, flags, seed (8),
    // created_at (8), then edit bytes. One input per arity, plus one per edit flag.
    std::mt19937_64 rng(20261125);
    auto input = [&](std::uint8_t arity, std::uint8_t types, std::uint8_t supers, std::uint8_t impls, std::uint8_t flags,
                     std::size_t edit_bytes) {
        std::vector<std::uint8_t> v = {arity, types, supers, impls, flags};
        for (int i = 0; i < 16 + static_cast<int>(edit_bytes); ++i) v.push_back(static_cast<std::uint8_t>(rng()));
        return v;
    };
    const struct {
        const char* name;
        std::vector<std::uint8_t> bytes;
    } seeds[] = {
        {"arity0", input(0, 3, 0, 3, 0, 0)},
        {"arity1", input(1, 30, 0, 12, 1, 0)},
        {"arity2", input(2, 16, 1, 8, 1, 0)},
        {"arity3", input(3, 6, 1, 5, 1, 0)},
        {"no-implementations", input(2, 4, 1, 0, 0, 0)},
        {"edit-names", input(2, 8, 2, 6, 2 | 4, 200)},
        {"edit-return-types", input(2, 8, 2, 6, 8, 16)},
        {"edit-optimization", input(1, 8, 2, 6, 16, 16)},
        {"edit-duplicate-method", input(2, 8, 2, 6, 32, 8)},
        {"edit-profile", input(2, 8, 2, 6, 64, 300)},
        {"edit-changed-type", input(2, 8, 2, 6, 128, 0)},
        {"edit-everything", input(3, 5, 2, 10, 255, 500)},
    };
    for (const auto& s : seeds) write(dir / s.name, s.bytes.data(), s.bytes.size());
    // Format 2.0 features, chosen by bits of created_at (arena_build_read_roundtrip.cpp):
    // bit 1 the dispatch index, bit 2 a key, bit 3 declared types inside the hierarchy.
    const struct {
        const char* name;
        std::uint8_t arity, types, supers, impls, flags;
        std::uint64_t created;
    } format2[] = {
        {"format2-index-key-inner", 2, 16, 2, 10, 1, 0x0Fu},
        {"format2-key-inner-no-index", 3, 6, 2, 6, 0, 0x0Du},
        {"format2-index-inner-arity1", 1, 30, 3, 12, 0, 0x0Bu},
    };
    for (const auto& f : format2) {
        std::vector<std::uint8_t> v = {f.arity, f.types, f.supers, f.impls, f.flags};
        for (int i = 0; i < 8; ++i) v.push_back(static_cast<std::uint8_t>(rng()));
        for (int i = 0; i < 8; ++i) v.push_back(static_cast<std::uint8_t>(f.created >> (8 * i)));
        write(dir / f.name, v.data(), v.size());
    }
}

// payload_decode_never_crashes: compressed arenas of four seed models with each codec
// (and LZ4HC, zstd 19), one raw arena (the compress side), and two cut ones.
void write_payload_corpus(const fs::path& dir) {
    fs::create_directories(dir);
    std::vector<std::pair<std::string, std::vector<std::byte>>> raws;
    for (const auto& s : jdc::fuzzing::kSeedModels) {
        const std::string name = s.name;
        if (name == "small" || name == "arity0" || name == "many-types")
            raws.emplace_back(name, build(jdc::testing::make_random_model(s.seed, s.options)));
    }
    raws.emplace_back("shapes", build(jdc::fuzzing::make_shapes_model()));
    const struct {
        const char* suffix;
        jdc::PayloadCodec codec;
        int level;
    } configs[] = {{"lz4", jdc::PayloadCodec::lz4, 0}, {"zstd", jdc::PayloadCodec::zstd, 0},
                   {"lz4hc-9", jdc::PayloadCodec::lz4, 9}, {"zstd-19", jdc::PayloadCodec::zstd, 19}};
    for (const auto& [name, raw] : raws) {
        for (const auto& c : configs) {
            if (c.level != 0 && name != "many-types") continue;
            auto packed = jdc::compress_arena(raw, c.codec, c.level);
            if (!packed) {
                std::fprintf(stderr, "make_seed_corpus: %s\n", packed.error().message.c_str());
                std::exit(1);
            }
            write(dir / (name + "." + c.suffix), packed->data(), packed->size());
            if (name == "shapes")
                write(dir / (name + "." + c.suffix + ".truncated-" + std::to_string(packed->size() / 2)), packed->data(),
                      packed->size() / 2);
        }
    }
    write(dir / "shapes.raw.jdca", raws.back().second.data(), raws.back().second.size());
}

std::vector<std::byte> pack_of(const std::vector<std::pair<jdc::CacheKey, std::vector<std::byte>>>& entries) {
    std::vector<jdc::PackInput> inputs;
    for (const auto& [key, arena] : entries) inputs.push_back({key, arena});
    return or_exit(jdc::build_pack(inputs, jdc::fuzzing::kSeedCreatedAtNs));
}

void write_pack_corpus(const fs::path& dir) {
    fs::create_directories(dir);
    const auto& models = jdc::fuzzing::kSeedModels;
    auto arena = [&](std::size_t i) { return build(jdc::testing::make_random_model(models[i].seed, models[i].options)); };
    const auto shapes = build(jdc::fuzzing::make_shapes_model());
    // Small arenas only (arity0, no-implementations, arity3, shapes): a pack of several stays a few KiB.
    const std::vector<std::pair<jdc::CacheKey, std::vector<std::byte>>> several = {
        {{0x0123456789abcdefull, 0x1000000000000001ull}, arena(3)},
        {{0x1111111111111111ull, 0x2000000000000002ull}, arena(2)},
        {{0x2222222222222222ull, 0x3000000000000007ull}, arena(1)},
        {{0xfedcba9876543210ull, 0x4000000000000004ull}, shapes},
    };
    // Three keys whose home is the last bucket of 4: two of them wrap to buckets 0 and 1.
    const std::vector<std::pair<jdc::CacheKey, std::vector<std::byte>>> colliding = {
        {{1, 3}, arena(3)}, {{2, 7}, arena(3)}, {{3, 11}, arena(2)}};
    const auto packs = {std::pair{"empty", pack_of({})}, std::pair{"one", pack_of({{{7, 9}, shapes}})},
                        std::pair{"several", pack_of(several)}, std::pair{"colliding", pack_of(colliding)}};
    for (const auto& [name, bytes] : packs) write(dir / (std::string(name) + ".jdcp"), bytes.data(), bytes.size());

    const auto whole = pack_of(several);
    const std::size_t n = whole.size();
    // Cut inside the magic, the header, the index, an entry's key prefix and an arena.
    for (std::size_t len : {std::size_t{3}, std::size_t{63}, std::size_t{64}, std::size_t{100}, std::size_t{64 + 40 * 8},
                            std::size_t{64 + 40 * 8 + 8}, n / 2, n - 8})
        write(dir / ("several.truncated-" + std::to_string(len)), whole.data(), len);
    std::vector<std::byte> trailing = whole;
    trailing.resize(n + 8, std::byte{0});
    write(dir / "several.trailing-8", trailing.data(), trailing.size());
}

// The bytes of an index file made by `make` in a scratch directory.
template <class Make>
std::vector<std::byte> index_bytes(const fs::path& scratch, Make&& make) {
    const fs::path file = scratch / "index.jdci";
    make(file);
    std::ifstream in(file, std::ios::binary);
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> bytes(chars.size());
    std::memcpy(bytes.data(), chars.data(), chars.size());
    fs::remove(file);
    return bytes;
}

void write_index_corpus(const fs::path& dir) {
    using jdc::CacheIndex;
    using jdc::IndexEntry;
    fs::create_directories(dir);
    const fs::path scratch = dir / ".scratch";
    fs::create_directories(scratch);
    auto entry = [](jdc::CacheKey key, std::uint64_t size, jdc::EntryLocation where) {
        IndexEntry e;
        e.key = key;
        e.size = size;
        e.created_ns = jdc::fuzzing::kSeedCreatedAtNs;
        e.last_access_ns = jdc::fuzzing::kSeedCreatedAtNs + size;
        e.access_count = 3;
        e.format_version = 0x00010000;
        e.config_hash = size * 31;
        e.location = where;
        return e;
    };
    std::vector<IndexEntry> entries = {entry(jdc::fuzzing::kIndexKeptKey, 1000, jdc::EntryLocation::loose)};
    for (std::uint64_t i = 1; i < 12; ++i)
        entries.push_back(entry({i * 0x9E3779B97F4A7C15ull, i * 5 + (i % 3 == 0 ? 64 : 0)}, 500 + i,
                                i % 4 == 0 ? jdc::EntryLocation::packed : jdc::EntryLocation::loose));
    jdc::IndexSummary counters{};
    counters.created_ns = jdc::fuzzing::kSeedCreatedAtNs;
    counters.hits = 10;
    counters.misses = 4;
    auto write_new = [&](const fs::path& file, const std::vector<IndexEntry>& with, std::uint64_t capacity) {
        or_exit(CacheIndex::write_new(file, scratch, with, capacity, &counters, 0));
    };
    auto edit = [&](const fs::path& file, auto&& change) {
        auto index = or_exit(CacheIndex::open(file));
        change(index);
    };
    const struct {
        const char* name;
        std::vector<std::byte> bytes;
    } seeds[] = {
        {"empty", index_bytes(scratch, [&](const fs::path& f) { write_new(f, {}, 0); })},
        {"entries", index_bytes(scratch, [&](const fs::path& f) { write_new(f, entries, 0); })},
        {"tombstones", index_bytes(scratch, [&](const fs::path& f) {
             write_new(f, entries, 0);
             edit(f, [&](CacheIndex& idx) {
                 for (std::size_t i = 2; i < entries.size(); i += 3) idx.erase(entries[i].key);
             });
         })},
        {"dirty", index_bytes(scratch, [&](const fs::path& f) {
             write_new(f, entries, 0);
             edit(f, [](CacheIndex& idx) { idx.set_dirty(true); });
         })},
        {"retired", index_bytes(scratch, [&](const fs::path& f) {
             write_new(f, entries, 0);
             edit(f, [](CacheIndex& idx) { idx.mark_retired(); });
         })},
        // Regression: every slot live while the header counts 12 (a torn index). A put
        // was published but never indexed until CacheIndex::put learned to say so.
        {"slots-fuller-than-counts", index_bytes(scratch, [&](const fs::path& f) {
             write_new(f, entries, 0);
             jdc::testing::fill_every_slot(f);
         })},
        {"nearly-full", index_bytes(scratch, [&](const fs::path& f) {
             std::vector<IndexEntry> many = entries;
             for (std::uint64_t i = 0; many.size() < 44; ++i) many.push_back(entry({i + 1, i * 64 + 5}, 100 + i, jdc::EntryLocation::loose));
             write_new(f, many, 0);  // capacity 128
         })},
    };
    for (const auto& s : seeds) write(dir / (std::string(s.name) + ".jdci"), s.bytes.data(), s.bytes.size());
    const auto& base = seeds[1].bytes;  // "entries"
    write(dir / "entries.truncated-191", base.data(), 191);
    write(dir / "entries.truncated-slot", base.data(), base.size() - 64);
    std::vector<std::byte> odd = base;
    odd[16] = std::byte{65};  // capacity 65: not a power of two
    write(dir / "entries.capacity-65", odd.data(), odd.size());
    fs::remove_all(scratch);
}

void write_dependency_corpus(const fs::path& dir) {
    fs::create_directories(dir);
    const auto example = jdc::testing::dependency_state_spec_example();
    write(dir / "spec-example.jdcd", example.data(), example.size());

    auto grown = [&](auto&& edit) {
        jdc::DependencyTracker t;
        if (t.load_bytes(example).status != jdc::StateLoadStatus::loaded) {
            std::fprintf(stderr, "make_seed_corpus: the spec example does not load\n");
            std::exit(1);
        }
        edit(t);
        return or_exit(t.to_bytes());
    };
    using P = fs::path;
    const struct {
        const char* name;
        std::vector<std::byte> bytes;
    } seeds[] = {
        {"empty", grown([](jdc::DependencyTracker& t) {
             t.forget("/p/a.jn");
             t.forget("/p/b.jn");
         })},
        {"cycle", grown([](jdc::DependencyTracker& t) {
             const P b_imports[] = {"/p/a.jn", "/p/c.jn"};
             (void)t.set_imports("/p/b.jn", b_imports);
             const P c_imports[] = {"/p/c.jn", "/p/sub/d.jn"};
             (void)t.set_imports("/p/c.jn", c_imports);
         })},
        {"wide", grown([](jdc::DependencyTracker& t) {
             std::vector<P> many;
             for (int i = 0; i < 12; ++i) many.push_back("/p/lib/m" + std::to_string(i) + ".jn");
             (void)t.set_imports("/p/main.jn", many);
             const P back[] = {"/p/main.jn"};
             (void)t.set_imports(many.back(), back);
         })},
        {"odd-paths", grown([](jdc::DependencyTracker& t) {
             const P imports[] = {"/", "/p/a-b.jn", "/p/a/b.jn", "/p/\xc3\xa9t\xc3\xa9.jn"};
             (void)t.set_imports("/p/a.jn", imports);
         })},
    };
    for (const auto& s : seeds) write(dir / (std::string(s.name) + ".jdcd"), s.bytes.data(), s.bytes.size());
    write(dir / "spec-example.truncated-100", example.data(), 100);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUT_DIR   (writes OUT_DIR/<target>/...)\n", argv[0]);
        return 2;
    }
    const fs::path out(argv[1]);
    write_verify_corpus(out / "arena_verify_never_crashes");
    write_roundtrip_corpus(out / "arena_build_read_roundtrip");
    write_payload_corpus(out / "payload_decode_never_crashes");
    write_pack_corpus(out / "pack_verify_never_crashes");
    write_index_corpus(out / "cache_index_open_never_crashes");
    write_dependency_corpus(out / "dependency_state_never_crashes");
    return 0;
}
