// bench_scaling — how jdc's and the peers' costs grow with the number of entries in a
// table, and how close verification comes to the machine's limits.
//
// Tables: make_random_model(seed 20261124) with a fixed hierarchy of 256 user types
// (the large size class's), arity 2, and N = 5, 10, 50, 100, 1,000, 10,000, 100,000
// entries (--jdc_scale=small: 5, 50, 1,000), so only the entry count varies. 5, 50 and
// 1,000 are the sizes the serialize and load targets are stated at.
//
// Benchmarks (names are "<benchmark>/<N>"; bodies in bench_tables.hpp):
//   Scaling, every N:
//     BM_JdcSerialize, BM_JdcDeserialize (verify + bind), BM_JdcFirstLookup, BM_JdcSteadyLookup,
//     BM_JdcSerializeStored, BM_JdcDeserializeStored (the arena the cache stores: dispatch
//     index from 8 entries, a key; bound by key)
//     BM_<P>Encode, BM_<P>LoadVerify, BM_<P>LoadVerifyChecked (+ the index checks jdc's
//     verifier makes: equal safety), BM_<P>FirstLookup, BM_<P>SteadyLookup for P = Fb, Capnp, Pb
//   Limits, N = 1,000 and 100,000 (--jdc_scale=small: 1,000), bytes per second:
//     BM_JdcVerifyOnly    verify_arena(full) over the arena
//     BM_Xxh3Checksum     XXH3-64 over the same bytes
//     BM_Memcpy           memcpy of the same bytes into a buffer allocated beforehand
//     BM_<P>VerifyOnly    each peer's own verification over its own encoding
// Before the benchmarks run, jdc and every peer must agree on 256 sampled calls per
// table (the reference resolver too, on the first 256 / 64 / 16 of them as the table
// grows: it is quadratic in the applicable methods); the binary exits with status 1
// when they do not or when a benchmark reports an error.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_support.hpp"
#include "bench_tables.hpp"

namespace {

using namespace jdc;
using namespace jdc::bench;

constexpr std::uint32_t kHierarchyTypes = 256;

void BM_Memcpy(benchmark::State& state, const TableFixture* fx) {
    std::vector<std::byte> copy(fx->arena.size());
    for (auto _ : state) {
        std::memcpy(copy.data(), fx->arena.data(), fx->arena.size());
        benchmark::DoNotOptimize(copy.data());
        benchmark::ClobberMemory();
    }
    set_bytes(state, fx->arena.size());
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * fx->arena.size()));
}

template <class P>
void register_peer(const TableFixtures& all, const std::vector<const TableFixture*>& limits) {
    register_peer_core<P>(all);
    register_tables(std::string("BM_") + P::kName + "LoadVerifyChecked", all, peer_load<P>, IndexChecks::run);
    register_tables(std::string("BM_") + P::kName + "VerifyOnly", limits, peer_verify<P>);
}

void register_all(const TableFixtures& all, const std::vector<const TableFixture*>& limits) {
    register_tables("BM_JdcSerialize", all, jdc_serialize);
    register_tables("BM_JdcDeserialize", all, jdc_load);
    // The stored form up to 1,000 entries (the sizes its targets are stated at): above,
    // building the dispatch matrix of a random table takes seconds per iteration.
    std::vector<const TableFixture*> stored_sizes;
    for (const auto& fx : all)
        if (fx->model.table.implementations.size() <= 1'000) stored_sizes.push_back(&*fx);
    register_tables("BM_JdcSerializeStored", stored_sizes, jdc_serialize_stored);
    register_tables("BM_JdcDeserializeStored", stored_sizes, jdc_load_stored);
    register_tables("BM_JdcFirstLookup", all, jdc_first_lookup);
    register_tables("BM_JdcSteadyLookup", all, jdc_steady_lookup);
    register_peer<FbPeer>(all, limits);
    register_peer<CapnpPeer>(all, limits);
    register_peer<PbPeer>(all, limits);
    register_tables("BM_JdcVerifyOnly", limits, jdc_verify);
    register_tables("BM_Xxh3Checksum", limits, xxh3_checksum);
    register_tables("BM_Memcpy", limits, BM_Memcpy);
}

std::size_t reference_checks(std::uint32_t entries) {
    if (entries <= 1'000) return kSampledTuples;
    return entries <= 10'000 ? 64 : 16;
}

}  // namespace

int main(int argc, char** argv) {
    jdc::bench::settle_malloc();
    benchmark::Initialize(&argc, argv);
    bool small_scale = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--jdc_scale=small") {
            small_scale = true;
        } else if (arg != "--jdc_scale=full") {
            std::fprintf(stderr, "bench_scaling: unrecognized argument '%s'\n", argv[i]);
            return 1;
        }
    }
    const std::vector<std::uint32_t> sizes = small_scale ? std::vector<std::uint32_t>{5, 50, 1'000}
                                                         : std::vector<std::uint32_t>{5, 10, 50, 100, 1'000, 10'000, 100'000};
    const std::vector<std::uint32_t> limit_sizes = small_scale ? std::vector<std::uint32_t>{1'000}
                                                               : std::vector<std::uint32_t>{1'000, 100'000};

    TableFixtures fixtures;
    std::vector<const TableFixture*> limits;
    int status = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (std::uint32_t n : sizes) {
        auto fx = std::make_unique<TableFixture>();
        const testing::RandomModelOptions options{kHierarchyTypes, 2, 2, n, true};
        if (auto error = make_table_fixture(*fx, std::to_string(n), options, {}, reference_checks(n))) {
            std::fprintf(stderr, "bench_scaling: setup of %u entries failed: %s\n", n, error->c_str());
            status = 1;
            break;
        }
        for (std::uint32_t l : limit_sizes)
            if (l == n) limits.push_back(fx.get());
        fixtures.push_back(std::move(fx));
    }
    std::fprintf(stderr, "bench_scaling: fixtures built in %.1f s\n",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (status == 0) {
        register_all(fixtures, limits);
        status = run_benchmarks("bench_scaling");
    }
    benchmark::Shutdown();
    return status;
}
