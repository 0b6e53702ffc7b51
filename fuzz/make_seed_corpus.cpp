// Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/).
//
//   make_seed_corpus OUT_DIR
//
// arena_verify_never_crashes: one valid arena per model of seed_models.hpp and the
// `jdc sample` table, each with a fixed timestamp (reproducible bytes); prefixes of
// two of them cut inside the magic, the header, the directory and the sections; and
// one with trailing bytes.
// arena_build_read_roundtrip: inputs that select each arity and each edit flag (see
// decode() in arena_build_read_roundtrip.cpp for the byte layout).
// payload_decode_never_crashes: see write_payload_corpus.
// Re-run after changing the format or seed_models.hpp; the output is deterministic.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "jdc/arena_builder.hpp"
#include "jdc/payload_codec.hpp"
#include "seed_models.hpp"

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

std::vector<std::byte> build(const jdc::testing::RandomModel& m, jdc::DispatchForms forms = {}) {
    jdc::ArenaBuildOptions options;
    options.created_at_ns = jdc::fuzzing::kSeedCreatedAtNs;
    options.forms = forms;
    auto bytes = jdc::build_arena(m.table, m.registry, {}, options);
    if (!bytes) {
        std::fprintf(stderr, "make_seed_corpus: %s\n", bytes.error().message.c_str());
        std::exit(1);
    }
    return *bytes;
}

void write_verify_corpus(const fs::path& dir) {
    fs::create_directories(dir);
    std::vector<std::pair<std::string, std::vector<std::byte>>> arenas;
    for (const auto& s : jdc::fuzzing::kSeedModels)
        arenas.emplace_back(s.name, build(jdc::testing::make_random_model(s.seed, s.options)));
    arenas.emplace_back("shapes", build(jdc::fuzzing::make_shapes_model()));
    // v1.1: the optimized sections too, so the fuzzer starts inside them.
    arenas.emplace_back("shapes-forms", build(jdc::fuzzing::make_shapes_model(), jdc::DispatchForms::all()));
    for (const auto& s : jdc::fuzzing::kSeedModels)
        arenas.emplace_back(std::string(s.name) + "-forms", build(jdc::testing::make_random_model(s.seed, s.options), jdc::DispatchForms::all()));
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
    return 0;
}
