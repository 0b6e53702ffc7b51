// Shared by bench_arena and bench_scaling: one dispatch table encoded by jdc and by
// every peer (FlatBuffers, Cap'n Proto, protobuf), sampled calls, and the benchmark
// bodies that measure all of them the same way. bench_arena runs them on the seed's
// size classes, bench_scaling on 10 to 100,000 entries.
//
// Benchmark bodies (the registering program names them "BM_<Who><What>/<size>",
// <Who> = Jdc or a peer's kName):
//   jdc_serialize        build_arena(table, registry): validate, lay out, checksum
//   jdc_load             ArenaView::open (full verify, XXH3) + BoundArena::bind
//   jdc_verify           verify_arena(full) alone
//   jdc_bind             BoundArena::bind on an open view alone
//   jdc_load_file        LoadedArena::open(path, mode) + bind
//   jdc_first_lookup     open + bind + one lookup (bytes in memory)
//   jdc_steady_lookup    one BoundArena::lookup, cycling over the sampled calls
//   xxh3_checksum        XXH3-64 over the arena's bytes (what verification hashes)
//   peer_encode<P>       the peer's encoder over the same fields and local type table
//   peer_verify<P>       the peer's own verification alone
//   peer_load<P>         the peer's verify + fixup (optionally the index checks jdc makes)
//   peer_load_file<P>    read the file (open + fstat + read + close) + peer_load
//   peer_first_lookup<P> peer_load + one lookup
//   peer_steady_lookup<P> one lookup through the peer's accessors (same algorithm as jdc)
// Counters: `bytes` = size of the encoding (= bytes on disk: files hold the encoded bytes
// and nothing else); the steady lookups add the outcome mix of the sampled calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "jdc/loaded_arena.hpp"
#include "bench_caches.hpp"
#include "bench_support.hpp"
#include "peers/capnp_peer.hpp"
#include "peers/fb_peer.hpp"
#include "peers/pb_peer.hpp"
#include "support/random_model.hpp"

namespace jdc::bench {

inline constexpr std::size_t kSampledTuples = 256;

// A peer's encoding, copied into 8-byte aligned storage (Cap'n Proto reads words).
class AlignedBytes {
public:
    void assign(std::span<const std::uint8_t> bytes);
    std::span<const std::uint8_t> span() const {
        return {reinterpret_cast<const std::uint8_t*>(words_.data()), size_};
    }
    std::size_t size() const { return size_; }

private:
    std::vector<std::uint64_t> words_;
    std::size_t size_ = 0;
};

struct TableFixture {
    std::string label;  // "small", "1000", ...: the benchmark name's argument
    testing::RandomModel model;
    std::vector<std::byte> arena;         // plain: entries and types only
    std::vector<std::byte> stored_arena;  // as the cache stores it: the default forms
                                          // (dispatch index from 8 entries) and a key
    CacheKey stored_key;
    AlignedBytes fb, capnp, pb;
    std::filesystem::path arena_path;  // the encodings as files (peer_load_file, jdc_load_file)
    std::filesystem::path fb_path, capnp_path, pb_path;
    std::vector<TypeId> tuples;        // kSampledTuples argument tuples, `arity` ids each
    std::size_t method_calls = 0;      // how many sampled tuples resolve to a method,
    std::size_t ambiguous_calls = 0;   // are ambiguous, or have no method
    std::size_t no_method_calls = 0;

    std::span<const TypeId> tuple(std::size_t k) const {
        const std::size_t arity = model.table.arity();
        return {tuples.data() + k * arity, arity};
    }
    template <class P> const AlignedBytes& peer() const;
    template <class P> const std::filesystem::path& peer_path() const;
};

template <> inline const AlignedBytes& TableFixture::peer<FbPeer>() const { return fb; }
template <> inline const AlignedBytes& TableFixture::peer<CapnpPeer>() const { return capnp; }
template <> inline const AlignedBytes& TableFixture::peer<PbPeer>() const { return pb; }
template <> inline const std::filesystem::path& TableFixture::peer_path<FbPeer>() const { return fb_path; }
template <> inline const std::filesystem::path& TableFixture::peer_path<CapnpPeer>() const { return capnp_path; }
template <> inline const std::filesystem::path& TableFixture::peer_path<PbPeer>() const { return pb_path; }

// Builds the model (make_random_model(kModelSeed, options)), every encoding, and the
// files when `dir` is not empty; samples kSampledTuples calls uniformly over the
// hierarchy (fixed seed). Checks that jdc and every peer agree on every sampled call,
// and that the reference resolver agrees on the first `reference_checks` of them (the
// reference resolver is quadratic in the applicable methods: slow on huge tables).
// Prints one line about the table to stderr. Returns the reason on failure.
std::optional<std::string> make_table_fixture(TableFixture& fx, const std::string& label,
                                              const testing::RandomModelOptions& options, const std::filesystem::path& dir,
                                              std::size_t reference_checks = kSampledTuples);

// The outcome mix of the sampled calls (lookups that find an ambiguity stop early).
void set_outcomes(benchmark::State& state, const TableFixture& fx);
inline void set_bytes(benchmark::State& state, std::size_t bytes) {
    state.counters["bytes"] = static_cast<double>(bytes);
}

// --- jdc -----------------------------------------------------------------------------
void jdc_serialize(benchmark::State& state, const TableFixture* fx);
void jdc_load(benchmark::State& state, const TableFixture* fx);
void jdc_serialize_stored(benchmark::State& state, const TableFixture* fx);
void jdc_load_stored(benchmark::State& state, const TableFixture* fx);
void jdc_verify(benchmark::State& state, const TableFixture* fx);
void jdc_bind(benchmark::State& state, const TableFixture* fx);
void jdc_load_file(benchmark::State& state, const TableFixture* fx, LoadMode mode);
void jdc_first_lookup(benchmark::State& state, const TableFixture* fx);
void jdc_steady_lookup(benchmark::State& state, const TableFixture* fx);
void xxh3_checksum(benchmark::State& state, const TableFixture* fx);

// --- peers ---------------------------------------------------------------------------
template <class P>
void peer_encode(benchmark::State& state, const TableFixture* fx) {
    std::size_t size = 0;
    for (auto _ : state) {
        typename P::Encoded encoded = P::encode(fx->model.table, fx->model.registry);
        const std::span<const std::uint8_t> bytes = P::bytes(encoded);
        size = bytes.size();
        const std::uint8_t* p = bytes.data();
        benchmark::DoNotOptimize(p);
        benchmark::ClobberMemory();
    }
    set_bytes(state, size);
}

template <class P>
void peer_verify(benchmark::State& state, const TableFixture* fx) {
    const auto bytes = fx->peer<P>().span();
    for (auto _ : state) {
        bool ok = P::verify(bytes);
        if (!ok) return fail(state, std::string(P::kName) + " encoding does not verify");
        benchmark::DoNotOptimize(ok);
    }
    set_bytes(state, bytes.size());
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
}

template <class P>
void peer_load(benchmark::State& state, const TableFixture* fx, IndexChecks checks) {
    const auto bytes = fx->peer<P>().span();
    for (auto _ : state) {
        typename P::Bound bound;
        if (!bound.load(bytes, fx->model.registry, checks)) return fail(state, std::string(P::kName) + " load failed");
        benchmark::DoNotOptimize(bound);
    }
    set_bytes(state, bytes.size());
}

// Reads into a fresh buffer each time, as a process loading the file would.
template <class P>
void peer_load_file(benchmark::State& state, const TableFixture* fx) {
    const std::string path = fx->peer_path<P>().string();
    for (auto _ : state) {
        std::vector<std::uint8_t> buffer;
        if (!read_whole_file(path.c_str(), buffer)) return fail(state, "cannot read " + path);
        typename P::Bound bound;
        if (!bound.load(buffer, fx->model.registry, IndexChecks::skip))
            return fail(state, std::string(P::kName) + " load failed");
        benchmark::DoNotOptimize(bound);
        benchmark::DoNotOptimize(buffer);
    }
    set_bytes(state, fx->peer<P>().size());
}

template <class P>
void peer_first_lookup(benchmark::State& state, const TableFixture* fx) {
    const auto bytes = fx->peer<P>().span();
    std::size_t k = 0;
    for (auto _ : state) {
        typename P::Bound bound;
        if (!bound.load(bytes, fx->model.registry, IndexChecks::skip))
            return fail(state, std::string(P::kName) + " load failed");
        Resolution r = bound.lookup(fx->tuple(k));
        benchmark::DoNotOptimize(r);
        if (++k == kSampledTuples) k = 0;
    }
}

template <class P>
void peer_steady_lookup(benchmark::State& state, const TableFixture* fx) {
    typename P::Bound bound;
    if (!bound.load(fx->peer<P>().span(), fx->model.registry, IndexChecks::run))
        return fail(state, std::string(P::kName) + " load failed");
    std::size_t k = 0;
    for (auto _ : state) {
        Resolution r = bound.lookup(fx->tuple(k));
        benchmark::DoNotOptimize(r);
        if (++k == kSampledTuples) k = 0;
    }
    set_outcomes(state, *fx);
}

using TableFixtures = std::vector<std::unique_ptr<TableFixture>>;

// Registers `name/<label>` for every fixture of `all` (owning or plain pointers),
// labels together so that a filter such as BM_JdcSerialize shows one operation across
// the sizes.
template <class Fixtures, class Fn, class... Extra>
void register_tables(const std::string& name, const Fixtures& all, Fn fn, Extra... extra) {
    for (const auto& fx : all) {
        const TableFixture* p = &*fx;
        benchmark::RegisterBenchmark((name + "/" + fx->label).c_str(),
                                     [=](benchmark::State& state) { fn(state, p, extra...); })
            ->Unit(benchmark::kMicrosecond);
    }
}

// The peer benchmarks both programs run: BM_<kName>{Encode,LoadVerify,FirstLookup,SteadyLookup}.
template <class P, class Fixtures>
void register_peer_core(const Fixtures& all) {
    const std::string n = P::kName;
    register_tables("BM_" + n + "Encode", all, peer_encode<P>);
    register_tables("BM_" + n + "LoadVerify", all, peer_load<P>, IndexChecks::skip);
    register_tables("BM_" + n + "FirstLookup", all, peer_first_lookup<P>);
    register_tables("BM_" + n + "SteadyLookup", all, peer_steady_lookup<P>);
}

// A temporary directory under /tmp, removed by the destructor.
class TempDir {
public:
    explicit TempDir(const char* prefix);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    bool ok() const { return !path_.empty(); }

private:
    std::filesystem::path path_;
};

}  // namespace jdc::bench
