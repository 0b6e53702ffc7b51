// bench_codec — payload compression of arenas (payload_codec.hpp): ratio, and speed
// of compression and decompression, LZ4 and zstd, against the zero-copy open.
//
// Tables from tests/support/random_model.hpp: the seed's size classes small (8
// entries), medium (64), large (1000), arity 2, plus xlarge (10,000 entries over 2,000
// types, arity 3: about 1 MiB) to see where the curves go. Codec configurations:
// lz4 (LZ4 fast, level 0), lz4hc-9, zstd-1, zstd-3 (zstd's default), zstd-19.
//
// Benchmarks (names are "<benchmark>/<size>[/<codec>]"):
//   BM_OpenRaw           ArenaView::open on the raw arena (full verify): the zero-copy
//                        load that a compressed arena gives up
//   BM_Compress          compress_arena (verifies its input, then compresses)
//   BM_Decompress        decompress_arena: header and size checks, checksum of the
//                        compressed bytes, a new buffer, decode, verify(full)
//   BM_DecompressInto    decompress_arena_into a buffer allocated once: the same
//                        without the allocation and zero-fill of a std::vector
// bytes_per_second is over the raw (uncompressed) arena size for every benchmark.
// Counters: raw_bytes, compressed_bytes (header and prefix included) and ratio =
// compressed_bytes / raw_bytes.
//
// Before anything runs, every configuration round-trips every table byte for byte;
// the binary exits with status 1 when one does not, or a benchmark reports an error.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "jdc/arena_builder.hpp"
#include "jdc/arena_view.hpp"
#include "jdc/payload_codec.hpp"
#include "support/random_model.hpp"

namespace {

using namespace jdc;

bool g_failed = false;

void fail(benchmark::State& state, const std::string& why) {
    g_failed = true;
    state.SkipWithError(why.c_str());
}

struct Fixture {
    std::string size_name;
    std::vector<std::byte> raw;
};

struct Config {
    const char* name;
    PayloadCodec codec;
    int level;
};

constexpr Config kConfigs[] = {
    {"lz4", PayloadCodec::lz4, 0},     {"lz4hc-9", PayloadCodec::lz4, 9}, {"zstd-1", PayloadCodec::zstd, 1},
    {"zstd-3", PayloadCodec::zstd, 3}, {"zstd-19", PayloadCodec::zstd, 19},
};

void set_counters(benchmark::State& state, const Fixture& fx, std::size_t compressed) {
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * fx.raw.size()));
    state.counters["raw_bytes"] = static_cast<double>(fx.raw.size());
    state.counters["compressed_bytes"] = static_cast<double>(compressed);
    state.counters["ratio"] = static_cast<double>(compressed) / static_cast<double>(fx.raw.size());
}

void BM_OpenRaw(benchmark::State& state, const Fixture* fx) {
    for (auto _ : state) {
        auto view = ArenaView::open(fx->raw);
        if (!view) return fail(state, view.error().message);
        benchmark::DoNotOptimize(view->entry_count());
    }
    set_counters(state, *fx, fx->raw.size());
}

void BM_Compress(benchmark::State& state, const Fixture* fx, Config c) {
    std::size_t compressed = 0;
    for (auto _ : state) {
        auto packed = compress_arena(fx->raw, c.codec, c.level);
        if (!packed) return fail(state, packed.error().message);
        compressed = packed->size();
        benchmark::DoNotOptimize(packed->data());
    }
    set_counters(state, *fx, compressed);
}

void BM_Decompress(benchmark::State& state, const Fixture* fx, Config c) {
    const auto packed = compress_arena(fx->raw, c.codec, c.level);
    if (!packed) return fail(state, packed.error().message);
    for (auto _ : state) {
        auto arena = decompress_arena(*packed);
        if (!arena) return fail(state, arena.error().message);
        benchmark::DoNotOptimize(arena->data());
    }
    set_counters(state, *fx, packed->size());
}

void BM_DecompressInto(benchmark::State& state, const Fixture* fx, Config c) {
    const auto packed = compress_arena(fx->raw, c.codec, c.level);
    if (!packed) return fail(state, packed.error().message);
    std::unique_ptr<std::byte[]> buffer(new std::byte[fx->raw.size()]);
    const std::span<std::byte> out(buffer.get(), fx->raw.size());
    for (auto _ : state) {
        auto r = decompress_arena_into(*packed, out);
        if (!r) return fail(state, r.error().message);
        benchmark::DoNotOptimize(buffer.get());
    }
    set_counters(state, *fx, packed->size());
}

// Every configuration must give back the arena it was given, byte for byte.
bool round_trips(const Fixture& fx) {
    for (const Config& c : kConfigs) {
        std::string problem;
        if (auto packed = compress_arena(fx.raw, c.codec, c.level); !packed)
            problem = packed.error().message;
        else if (auto back = decompress_arena(*packed); !back)
            problem = back.error().message;
        else if (*back != fx.raw)
            problem = "bytes differ";
        if (!problem.empty()) {
            std::fprintf(stderr, "bench_codec: %s does not round-trip the %s arena: %s\n", c.name, fx.size_name.c_str(),
                         problem.c_str());
            return false;
        }
    }
    return true;
}

void register_all(const std::vector<std::unique_ptr<Fixture>>& fixtures) {
    for (const auto& fx : fixtures)
        benchmark::RegisterBenchmark(("BM_OpenRaw/" + fx->size_name).c_str(), BM_OpenRaw, fx.get())
            ->Unit(benchmark::kMicrosecond);
    const std::pair<const char*, void (*)(benchmark::State&, const Fixture*, Config)> per_codec[] = {
        {"BM_Compress", BM_Compress}, {"BM_Decompress", BM_Decompress}, {"BM_DecompressInto", BM_DecompressInto}};
    for (const auto& [name, fn] : per_codec)
        for (const auto& fx : fixtures)
            for (const Config& c : kConfigs)
                benchmark::RegisterBenchmark((std::string(name) + "/" + fx->size_name + "/" + c.name).c_str(), fn, fx.get(), c)
                    ->Unit(benchmark::kMicrosecond);
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

    const std::pair<const char*, testing::RandomModelOptions> sizes[] = {
        {"small", testing::small_table_options()},
        {"medium", testing::medium_table_options()},
        {"large", testing::large_table_options()},
        {"xlarge", {2000, 2, 3, 10000, true}},
    };
    std::vector<std::unique_ptr<Fixture>> fixtures;
    for (const auto& [name, options] : sizes) {
        const auto model = testing::make_random_model(42, options);
        auto raw = build_arena(model.table, model.registry, {}, {1'700'000'000'000'000'000ull});
        if (!raw) {
            std::fprintf(stderr, "bench_codec: cannot build the %s arena: %s\n", name, raw.error().message.c_str());
            return 1;
        }
        auto fx = std::make_unique<Fixture>(Fixture{name, std::move(*raw)});
        if (!round_trips(*fx)) return 1;
        fixtures.push_back(std::move(fx));
    }
    register_all(fixtures);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    if (g_failed) {
        std::fprintf(stderr, "bench_codec: at least one benchmark reported an error\n");
        return 1;
    }
    return 0;
}
