// bench_arena — what it costs to write, load and query a jdc arena, against the
// seed's figures and against three peers holding the same data: FlatBuffers (with its
// Verifier), Cap'n Proto (zero-copy, checks on access) and protobuf (parsed into
// objects).
//
// Three tables from tests/support/random_model.hpp, the seed's size classes:
// small (8 entries), medium (64), large (1000), all of arity 2.
//
// Benchmarks (names are "<benchmark>/<size>"; bench_tables.hpp has the shared bodies):
//   BM_JdcSerialize       build_arena(table, registry): validate, lay out, checksum
//   BM_JdcDeserialize     ArenaView::open (full verify, XXH3) + BoundArena::bind: "load"
//   BM_JdcSerializeStored build_arena as the cache calls it: the default dispatch forms
//                         for the table's size (the compressed table from 8 entries) and a key
//   BM_JdcDeserializeStored  ArenaView::open + BoundArena::bind_keyed of that arena: the
//                         load of what the cache really stores
//   BM_JdcVerifyOnly      verify_arena(full) alone          } where the load
//   BM_JdcBindOnly        BoundArena::bind on an open view  } time goes
//   BM_Xxh3Checksum       XXH3-64 over the arena's bytes    }
//   BM_JdcLoadFileRead    LoadedArena::open(path, read) + bind
//   BM_JdcLoadFileMap     LoadedArena::open(path, map) + bind
//   BM_OsReadFile         open + fstat + read + close of the arena file  } the OS's share
//   BM_OsMapFile          open + fstat + mmap + touch a page + munmap    } of a file load
//                         + close                                        }
//   BM_JdcFirstLookup     open + bind + one lookup (bytes in memory)
//   BM_JdcSteadyLookup    one BoundArena::lookup, cycling over sampled argument tuples
// and for each peer <P> = Fb, Capnp, Pb (bench/peers/):
//   BM_<P>Encode          the peer's builder, same fields, same local type table
//   BM_<P>VerifyOnly      the peer's own verification alone (FlatBuffers: Verifier;
//                         Cap'n Proto: a totalSize() walk; protobuf: a parse)
//   BM_<P>LoadVerify      verification + fixup (types -> live registry: id hint, else
//                         structural hash; names compared): the peer of BM_JdcDeserialize
//                         (Cap'n Proto: reader + getRoot + fixup; it checks on access)
//   BM_<P>LoadVerifyChecked  the same plus the index checks jdc's verifier does and the
//                         peers cannot (every type index < type count, every parameter
//                         list of the table's arity): equal safety
//   BM_<P>LoadFileRead    read the file + BM_<P>LoadVerify
//   BM_<P>FirstLookup     verify + fixup + one lookup
//   BM_<P>SteadyLookup    the tournament of BoundArena::lookup, read through the peer's
//                         accessors (protobuf: its parsed objects)
// Counters: `bytes` = size of the encoded table (= bytes on disk; files are the
// encoded bytes and nothing else).
//
// Before any benchmark runs, every sampled tuple is resolved by the reference
// resolver, jdc and every peer, and they must agree; the binary exits with status 1
// when they do not, or when any benchmark reports an error.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_support.hpp"
#include "bench_tables.hpp"

namespace {

using namespace jdc;
using namespace jdc::bench;

// The operating system's share of a file load: the same syscalls, no verification.
void BM_OsReadFile(benchmark::State& state, const TableFixture* fx) {
    const std::string path = fx->arena_path.string();
    std::vector<std::uint8_t> buffer;
    for (auto _ : state) {
        if (!read_whole_file(path.c_str(), buffer)) return fail(state, "cannot read " + path);
        benchmark::DoNotOptimize(buffer);
    }
    set_bytes(state, fx->arena.size());
}

void BM_OsMapFile(benchmark::State& state, const TableFixture* fx) {
    const std::string path = fx->arena_path.string();
    for (auto _ : state)
        if (!map_touch_unmap(path.c_str())) return fail(state, "cannot map " + path);
    set_bytes(state, fx->arena.size());
}

template <class P>
void register_peer(const TableFixtures& fx) {
    register_peer_core<P>(fx);  // Encode, LoadVerify, FirstLookup, SteadyLookup
    const std::string n = std::string("BM_") + P::kName;
    register_tables(n + "VerifyOnly", fx, peer_verify<P>);
    register_tables(n + "LoadVerifyChecked", fx, peer_load<P>, IndexChecks::run);
    register_tables(n + "LoadFileRead", fx, peer_load_file<P>);
}

void register_all(const TableFixtures& fx) {
    register_tables("BM_JdcSerialize", fx, jdc_serialize);
    register_tables("BM_JdcDeserialize", fx, jdc_load);
    register_tables("BM_JdcSerializeStored", fx, jdc_serialize_stored);
    register_tables("BM_JdcDeserializeStored", fx, jdc_load_stored);
    register_tables("BM_JdcVerifyOnly", fx, jdc_verify);
    register_tables("BM_JdcBindOnly", fx, jdc_bind);
    register_tables("BM_Xxh3Checksum", fx, xxh3_checksum);
    register_tables("BM_JdcLoadFileRead", fx, jdc_load_file, LoadMode::read);
    register_tables("BM_JdcLoadFileMap", fx, jdc_load_file, LoadMode::map);
    register_tables("BM_OsReadFile", fx, BM_OsReadFile);
    register_tables("BM_OsMapFile", fx, BM_OsMapFile);
    register_tables("BM_JdcFirstLookup", fx, jdc_first_lookup);
    register_tables("BM_JdcSteadyLookup", fx, jdc_steady_lookup);
    register_peer<FbPeer>(fx);
    register_peer<CapnpPeer>(fx);
    register_peer<PbPeer>(fx);
}

}  // namespace

int main(int argc, char** argv) {
    jdc::bench::settle_malloc();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

    const TempDir dir("jdc-bench");
    if (!dir.ok()) return 1;
    TableFixtures fixtures;
    int status = 0;
    for (const auto& [name, options] : size_classes()) {
        auto fx = std::make_unique<TableFixture>();
        if (auto error = make_table_fixture(*fx, name, options, dir.path())) {
            std::fprintf(stderr, "bench_arena: setup of %s failed: %s\n", name, error->c_str());
            status = 1;
            break;
        }
        fixtures.push_back(std::move(fx));
    }
    if (status == 0) {
        register_all(fixtures);
        status = run_benchmarks("bench_arena");
    }
    benchmark::Shutdown();
    return status;
}
