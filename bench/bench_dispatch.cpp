// Dispatch forms from a mapped arena: lookup latency of the scan, the compressed
// (pole) table through the generic path, and `lookup()` (the arity-specialized path a
// compiler calls) at 10 / 100 / 1,000 implementations, beside
// Janus's quoted figures; the crossover between the scan and the compressed table
// (BM_FormScan / BM_FormTable: arity 1-3, 1 to 32 implementations, the sizes where
// DispatchForms::wants_table decides;
// BM_FormLoad*: what the index adds to every load); and the dispatch matrix compressed three ways on
// the same tables: jdc's domain compression (poles, shared rows, row displacement:
// lookups stay in place), LZ4 and zstd (general-purpose: the matrix must be
// decompressed before a lookup).
//
//   build-bench/bench/bench_dispatch [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <vector>

#include <lz4.h>
#include <zstd.h>

#include "jdc/arena_builder.hpp"
#include "jdc/arena_view.hpp"
#include "jdc/detail/atomic_file.hpp"
#include "jdc/dispatch_matrix.hpp"
#include "jdc/loaded_arena.hpp"
#include "support/random_model.hpp"

namespace {

using namespace jdc;

// Arity 2 over a 100-type hierarchy with multiple inheritance, and a method on
// (Root, Root) so that most calls find one: the common shape of a binary operator.
testing::RandomModelOptions model_options(std::uint32_t implementations) {
    return {100, 2, 2, implementations, true};
}

struct Fixture {
    testing::RandomModel model;
    std::filesystem::path file;
    LoadedArena loaded;
    std::optional<BoundArena> bound;
    std::vector<TypeId> calls;  // arity * kCalls argument ids, drawn over every type
};
constexpr std::size_t kCalls = 4096;

Fixture& fixture(std::uint32_t implementations) {
    static std::map<std::uint32_t, std::unique_ptr<Fixture>> cache;
    auto& slot = cache[implementations];
    if (slot) return *slot;
    testing::RandomModel model = testing::make_random_model(1000 + implementations, model_options(implementations));
    ArenaBuildOptions options;
    options.forms = DispatchForms::all();
    auto bytes = build_arena(model.table, model.registry, {}, options);
    if (!bytes) throw std::runtime_error(bytes.error().message);
    const auto file = std::filesystem::temp_directory_path() / ("jdc-bench-dispatch-" + std::to_string(implementations) + ".jdca");
    if (!write_file_atomically(file, *bytes)) throw std::runtime_error("cannot write " + file.string());
    auto loaded = LoadedArena::open(file, LoadMode::map);  // lookups from the mapping, as a compiler does
    if (!loaded) throw std::runtime_error(loaded.error().message);
    std::vector<TypeId> calls;
    std::mt19937_64 rng(implementations);
    for (std::size_t i = 0; i < kCalls * 2; ++i) calls.push_back(model.user_types[rng() % model.user_types.size()]);
    // Bound to the registry where it will live: the fixture's own copy, never the local
    // that is moved from (a bound arena borrows its registry).
    slot = std::make_unique<Fixture>(Fixture{std::move(model), file, std::move(*loaded), std::nullopt, std::move(calls)});
    auto bound = BoundArena::bind(slot->loaded.view(), slot->model.registry);
    if (!bound) throw std::runtime_error(bound.error().message);
    if (!bound->has_form(DispatchForm::compressed_table)) throw std::runtime_error("no compressed table built");
    slot->bound.emplace(std::move(*bound));
    return *slot;
}

template <Resolution (BoundArena::*Lookup)(std::span<const TypeId>) const noexcept>
void lookup_bench(benchmark::State& state) {
    Fixture& f = fixture(static_cast<std::uint32_t>(state.range(0)));
    std::size_t i = 0;
    for (auto _ : state) {
        const Resolution r = (*f.bound.*Lookup)(std::span<const TypeId>(f.calls.data() + 2 * i, 2));
        benchmark::DoNotOptimize(r);
        i = (i + 1) % kCalls;
    }
    state.counters["implementations"] = static_cast<double>(state.range(0));
}

// --- the crossover: scan against compressed table, by arity and size -----------------

// One table of `arity` parameters and `implementations` methods over the same
// 100-type hierarchy, written twice: with the compressed table and without (the scan
// is then the only form, as DispatchForms::wants_table would leave a small table).
struct FormFixture {
    testing::RandomModel model;
    std::vector<std::byte> with_index, without_index;
    std::optional<ArenaView> view_with, view_without;
    std::optional<BoundArena> bound_with, bound_without;
    std::vector<TypeId> calls;  // arity * kCalls argument ids, drawn over every type
};

FormFixture& form_fixture(std::uint32_t arity, std::uint32_t implementations) {
    static std::map<std::pair<std::uint32_t, std::uint32_t>, std::unique_ptr<FormFixture>> cache;
    auto& slot = cache[{arity, implementations}];
    if (slot) return *slot;
    slot = std::make_unique<FormFixture>();
    FormFixture& f = *slot;
    f.model = testing::make_random_model(7000 + 100 * arity + implementations, {100, 2, arity, implementations, true});
    auto with = build_arena(f.model.table, f.model.registry, {}, ArenaBuildOptions(1, DispatchForms::all()));
    auto without = build_arena(f.model.table, f.model.registry, {}, ArenaBuildOptions(1));
    if (!with || !without) throw std::runtime_error("cannot build the form fixture");
    f.with_index = std::move(*with);
    f.without_index = std::move(*without);
    f.view_with.emplace(*ArenaView::open(f.with_index));
    f.view_without.emplace(*ArenaView::open(f.without_index));
    auto bw = BoundArena::bind(*f.view_with, f.model.registry);
    auto bo = BoundArena::bind(*f.view_without, f.model.registry);
    if (!bw || !bo || !bw->has_form(DispatchForm::compressed_table)) throw std::runtime_error("cannot bind the form fixture");
    f.bound_with.emplace(std::move(*bw));
    f.bound_without.emplace(std::move(*bo));
    std::mt19937_64 rng(arity * 1000 + implementations);
    for (std::size_t i = 0; i < kCalls * arity; ++i) f.calls.push_back(f.model.user_types[rng() % f.model.user_types.size()]);
    return f;
}

// lookup() on the arena with the index (the arity-specialized table path) or without
// it (the scan): what a compiler pays per call in either case.
void form_bench(benchmark::State& state, bool table) {
    const auto arity = static_cast<std::uint32_t>(state.range(0)), n = static_cast<std::uint32_t>(state.range(1));
    FormFixture& f = form_fixture(arity, n);
    const BoundArena& bound = table ? *f.bound_with : *f.bound_without;
    std::size_t i = 0;
    for (auto _ : state) {
        const Resolution r = bound.lookup(std::span<const TypeId>(f.calls.data() + arity * i, arity));
        benchmark::DoNotOptimize(r);
        i = (i + 1) % kCalls;
    }
    state.counters["arity"] = arity;
    state.counters["implementations"] = n;
    state.counters["arena_bytes"] = static_cast<double>(table ? f.with_index.size() : f.without_index.size());
    state.counters["wants_table"] = DispatchForms::wants_table(n) ? 1 : 0;
}
void BM_FormScan(benchmark::State& s) { form_bench(s, false); }
void BM_FormTable(benchmark::State& s) { form_bench(s, true); }
void form_args(benchmark::internal::Benchmark* b) {
    for (std::int64_t arity = 1; arity <= 3; ++arity)
        for (std::int64_t n : {1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32}) b->Args({arity, n});
}
BENCHMARK(BM_FormScan)->Apply(form_args);
BENCHMARK(BM_FormTable)->Apply(form_args);

// What the index costs once per load, whether or not a lookup follows: verifying its
// bytes (ArenaView::open, full level: checksums and the index's structure) and
// binding the arena (the rank tables of every position are located and checked).
void form_load_bench(benchmark::State& state, bool table) {
    const auto arity = static_cast<std::uint32_t>(state.range(0)), n = static_cast<std::uint32_t>(state.range(1));
    FormFixture& f = form_fixture(arity, n);
    const std::vector<std::byte>& bytes = table ? f.with_index : f.without_index;
    for (auto _ : state) {
        auto view = ArenaView::open(bytes);
        auto bound = BoundArena::bind(*view, f.model.registry);
        benchmark::DoNotOptimize(bound);
    }
}
void BM_FormLoadScan(benchmark::State& s) { form_load_bench(s, false); }
void BM_FormLoadTable(benchmark::State& s) { form_load_bench(s, true); }
BENCHMARK(BM_FormLoadScan)->Apply(form_args);
BENCHMARK(BM_FormLoadTable)->Apply(form_args);

void BM_LookupScan(benchmark::State& s) { lookup_bench<&BoundArena::lookup_scan>(s); }
void BM_LookupTable(benchmark::State& s) { lookup_bench<&BoundArena::lookup_table>(s); }
void BM_Lookup(benchmark::State& s) { lookup_bench<&BoundArena::lookup>(s); }
BENCHMARK(BM_LookupScan)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_LookupTable)->Arg(10)->Arg(100)->Arg(1000);
BENCHMARK(BM_Lookup)->Arg(10)->Arg(100)->Arg(1000);

// --- compression of the dispatch matrix -------------------------------------

// The dense matrix: one u32 result code per tuple of types of the universe.
std::vector<std::uint32_t> dense_matrix(const DispatchMatrix& m) {
    std::vector<std::uint32_t> dense;
    dense.reserve(std::size_t{m.domain_size(0)} * m.domain_size(1));
    for (std::uint32_t a = 0; a < m.domain_size(0); ++a)
        for (std::uint32_t b = 0; b < m.domain_size(1); ++b) {
            const std::uint64_t cell = std::uint64_t{m.pole_of_rank(0, a) - 1} * m.pole_count(1) + (m.pole_of_rank(1, b) - 1);
            dense.push_back(m.cells()[cell]);
        }
    return dense;
}

void BM_DomainCompress(benchmark::State& state) {
    Fixture& f = fixture(static_cast<std::uint32_t>(state.range(0)));
    std::size_t dense = 0, stored = 0;
    for (auto _ : state) {
        // Matrix + pole table, as build_arena does it.
        ArenaBuildOptions options;
        options.created_at_ns = 1;
        options.forms.compressed_table = true;
        auto with = build_arena(f.model.table, f.model.registry, {}, options);
        benchmark::DoNotOptimize(with);
        stored = ArenaView::open(*with)->section(arena::SectionKind::dispatch_index).size();
    }
    dense = DispatchMatrix::build(f.model.table, f.model.registry)->dense_bytes();
    state.counters["dense_bytes"] = static_cast<double>(dense);
    state.counters["compressed_bytes"] = static_cast<double>(stored);
    state.counters["ratio"] = dense == 0 ? 0 : static_cast<double>(stored) / static_cast<double>(dense);
    state.counters["lookup_in_place"] = 1;
}

void BM_Lz4CompressMatrix(benchmark::State& state) {
    Fixture& f = fixture(static_cast<std::uint32_t>(state.range(0)));
    const auto matrix = *DispatchMatrix::build(f.model.table, f.model.registry);
    const std::vector<std::uint32_t> dense = dense_matrix(matrix);
    const int in = static_cast<int>(dense.size() * 4);
    std::vector<char> out(static_cast<std::size_t>(LZ4_compressBound(in)));
    int n = 0;
    for (auto _ : state) {
        n = LZ4_compress_default(reinterpret_cast<const char*>(dense.data()), out.data(), in, static_cast<int>(out.size()));
        benchmark::DoNotOptimize(n);
    }
    state.counters["dense_bytes"] = in;
    state.counters["compressed_bytes"] = n;
    state.counters["ratio"] = double(n) / in;
    state.counters["lookup_in_place"] = 0;
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * in);
}

void BM_Lz4DecompressMatrix(benchmark::State& state) {
    Fixture& f = fixture(static_cast<std::uint32_t>(state.range(0)));
    const auto matrix = *DispatchMatrix::build(f.model.table, f.model.registry);
    const std::vector<std::uint32_t> dense = dense_matrix(matrix);
    const int in = static_cast<int>(dense.size() * 4);
    std::vector<char> packed(static_cast<std::size_t>(LZ4_compressBound(in)));
    const int n = LZ4_compress_default(reinterpret_cast<const char*>(dense.data()), packed.data(), in, static_cast<int>(packed.size()));
    std::vector<char> back(static_cast<std::size_t>(in));
    for (auto _ : state) benchmark::DoNotOptimize(LZ4_decompress_safe(packed.data(), back.data(), n, in));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * in);
}

void zstd_compress(benchmark::State& state, int level) {
    Fixture& f = fixture(static_cast<std::uint32_t>(state.range(0)));
    const auto matrix = *DispatchMatrix::build(f.model.table, f.model.registry);
    const std::vector<std::uint32_t> dense = dense_matrix(matrix);
    const std::size_t in = dense.size() * 4;
    std::vector<char> out(ZSTD_compressBound(in));
    std::size_t n = 0;
    for (auto _ : state) {
        n = ZSTD_compress(out.data(), out.size(), dense.data(), in, level);
        benchmark::DoNotOptimize(n);
    }
    state.counters["dense_bytes"] = static_cast<double>(in);
    state.counters["compressed_bytes"] = static_cast<double>(n);
    state.counters["ratio"] = double(n) / double(in);
    state.counters["lookup_in_place"] = 0;
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in));
}
void BM_Zstd3CompressMatrix(benchmark::State& s) { zstd_compress(s, 3); }
void BM_Zstd19CompressMatrix(benchmark::State& s) { zstd_compress(s, 19); }

void BM_ZstdDecompressMatrix(benchmark::State& state) {
    Fixture& f = fixture(static_cast<std::uint32_t>(state.range(0)));
    const auto matrix = *DispatchMatrix::build(f.model.table, f.model.registry);
    const std::vector<std::uint32_t> dense = dense_matrix(matrix);
    const std::size_t in = dense.size() * 4;
    std::vector<char> packed(ZSTD_compressBound(in));
    const std::size_t n = ZSTD_compress(packed.data(), packed.size(), dense.data(), in, 3);
    std::vector<char> back(in);
    for (auto _ : state) benchmark::DoNotOptimize(ZSTD_decompress(back.data(), in, packed.data(), n));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in));
}

BENCHMARK(BM_DomainCompress)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Lz4CompressMatrix)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Lz4DecompressMatrix)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Zstd3CompressMatrix)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Zstd19CompressMatrix)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ZstdDecompressMatrix)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
