#include "bench_tables.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

#include <xxhash.h>

#include "jdc/arena_builder.hpp"
#include "jdc/arena_verify.hpp"
#include "jdc/arena_view.hpp"
#include "jdc/detail/atomic_file.hpp"
#include "jdc/resolver.hpp"

namespace jdc::bench {

void AlignedBytes::assign(std::span<const std::uint8_t> bytes) {
    words_.assign((bytes.size() + 7) / 8, 0);
    if (!bytes.empty()) std::memcpy(words_.data(), bytes.data(), bytes.size());
    size_ = bytes.size();
}

namespace {

std::optional<std::string> write(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
    const std::span<const std::byte> as_bytes(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
    if (auto ok = write_file_atomically(path, as_bytes); !ok) return "write " + path.string() + ": " + ok.error().message;
    return std::nullopt;
}

template <class P>
std::optional<std::string> encode_peer(const TableFixture& fx, AlignedBytes& out) {
    const typename P::Encoded encoded = P::encode(fx.model.table, fx.model.registry);
    out.assign(P::bytes(encoded));
    if (!P::verify(out.span())) return std::string(P::kName) + " encoding does not verify";
    return std::nullopt;
}

// What the cache writes: the default forms for the table's size, under a key.
ArenaBuildOptions stored_options(const TableFixture& fx) {
    ArenaBuildOptions options(1, DispatchForms::for_table(fx.model.table));
    options.key = fx.stored_key;
    return options;
}

}  // namespace

std::optional<std::string> make_table_fixture(TableFixture& fx, const std::string& label,
                                              const testing::RandomModelOptions& options, const std::filesystem::path& dir,
                                              std::size_t reference_checks) {
    fx.label = label;
    fx.model = testing::make_random_model(kModelSeed, options);
    const TypeRegistry& reg = fx.model.registry;
    auto arena = build_arena(fx.model.table, reg);
    if (!arena) return "build_arena: " + arena.error().message;
    fx.arena = std::move(*arena);
    fx.stored_key = CacheKey{0x6a64632062656e63ull, options.implementations};
    auto stored = build_arena(fx.model.table, reg, {}, stored_options(fx));
    if (!stored) return "build_arena (stored): " + stored.error().message;
    fx.stored_arena = std::move(*stored);
    if (auto e = encode_peer<FbPeer>(fx, fx.fb)) return e;
    if (auto e = encode_peer<CapnpPeer>(fx, fx.capnp)) return e;
    if (auto e = encode_peer<PbPeer>(fx, fx.pb)) return e;

    if (!dir.empty()) {
        fx.arena_path = dir / (label + ".jdca");
        fx.fb_path = dir / (label + ".jdcf");
        fx.capnp_path = dir / (label + ".capnp.bin");
        fx.pb_path = dir / (label + ".pb.bin");
        if (auto ok = write_file_atomically(fx.arena_path, fx.arena); !ok) return "write arena: " + ok.error().message;
        if (auto e = write(fx.fb_path, fx.fb.span())) return e;
        if (auto e = write(fx.capnp_path, fx.capnp.span())) return e;
        if (auto e = write(fx.pb_path, fx.pb.span())) return e;
    }

    // Argument tuples: uniform over the hierarchy's types (root included), fixed seed.
    const std::size_t arity = fx.model.table.arity();
    std::mt19937_64 rng(kModelSeed ^ options.implementations);
    const auto& types = fx.model.user_types;
    for (std::size_t k = 0; k < kSampledTuples * arity; ++k) fx.tuples.push_back(types[rng() % types.size()]);

    // Every resolver must agree on every tuple (the reference on the first ones).
    auto view = ArenaView::open(fx.arena);
    if (!view) return "ArenaView::open: " + view.error().message;
    auto bound = BoundArena::bind(*view, reg);
    if (!bound) return "BoundArena::bind: " + bound.error().message;
    auto stored_view = ArenaView::open(fx.stored_arena);
    if (!stored_view) return "ArenaView::open (stored): " + stored_view.error().message;
    auto stored_bound = BoundArena::bind_keyed(*stored_view, reg, fx.stored_key, fx.model.table.signature.parameter_types);
    if (!stored_bound) return "BoundArena::bind_keyed: " + stored_bound.error().message;
    FbPeer::Bound fb;
    CapnpPeer::Bound capnp;
    PbPeer::Bound pb;
    if (!fb.load(fx.fb.span(), reg, IndexChecks::run)) return std::string("the FlatBuffers peer does not load");
    if (!capnp.load(fx.capnp.span(), reg, IndexChecks::run)) return std::string("the Cap'n Proto peer does not load");
    if (!pb.load(fx.pb.span(), reg, IndexChecks::run)) return std::string("the protobuf peer does not load");
    for (std::size_t k = 0; k < kSampledTuples; ++k) {
        const Resolution got = bound->lookup(fx.tuple(k));
        if (k < reference_checks && !got.same_outcome(resolve_reference(fx.model.table, reg, fx.tuple(k))))
            return "jdc and the reference resolver disagree on tuple " + std::to_string(k);
        if (!got.same_outcome(stored_bound->lookup(fx.tuple(k))))
            return "the plain and the stored arena disagree on tuple " + std::to_string(k);
        if (!got.same_outcome(fb.lookup(fx.tuple(k))) || !got.same_outcome(capnp.lookup(fx.tuple(k))) ||
            !got.same_outcome(pb.lookup(fx.tuple(k))))
            return "jdc and a peer disagree on tuple " + std::to_string(k);
        fx.method_calls += got.kind == ResolutionKind::method;
        fx.ambiguous_calls += got.kind == ResolutionKind::ambiguous;
        fx.no_method_calls += got.kind == ResolutionKind::no_method;
    }
    std::fprintf(stderr,
                 "%-6s: %zu entries, %u local types; jdc %zu B, FlatBuffers %zu B, Cap'n Proto %zu B, protobuf %zu B; "
                 "%zu sampled calls: %zu method, %zu ambiguous, %zu no method\n",
                 label.c_str(), fx.model.table.implementations.size(), view->type_count(), fx.arena.size(), fx.fb.size(),
                 fx.capnp.size(), fx.pb.size(), kSampledTuples, fx.method_calls, fx.ambiguous_calls, fx.no_method_calls);
    return std::nullopt;
}

void set_outcomes(benchmark::State& state, const TableFixture& fx) {
    state.counters["method"] = static_cast<double>(fx.method_calls);
    state.counters["ambiguous"] = static_cast<double>(fx.ambiguous_calls);
    state.counters["no_method"] = static_cast<double>(fx.no_method_calls);
}

void jdc_serialize(benchmark::State& state, const TableFixture* fx) {
    std::size_t size = 0;
    for (auto _ : state) {
        auto arena = build_arena(fx->model.table, fx->model.registry);
        if (!arena) return fail(state, arena.error().message);
        size = arena->size();
        benchmark::DoNotOptimize(arena);
    }
    set_bytes(state, size);
    state.counters["entries"] = static_cast<double>(fx->model.table.implementations.size());
    state.counters["hierarchy_types"] = static_cast<double>(fx->model.user_types.size());
}

void jdc_load(benchmark::State& state, const TableFixture* fx) {
    for (auto _ : state) {
        auto view = ArenaView::open(fx->arena);
        if (!view) return fail(state, view.error().message);
        auto bound = BoundArena::bind(*view, fx->model.registry);
        if (!bound) return fail(state, bound.error().message);
        benchmark::DoNotOptimize(bound);
    }
    set_bytes(state, fx->arena.size());
}

void jdc_serialize_stored(benchmark::State& state, const TableFixture* fx) {
    const ArenaBuildOptions options = stored_options(*fx);
    std::size_t size = 0;
    for (auto _ : state) {
        auto arena = build_arena(fx->model.table, fx->model.registry, {}, options);
        if (!arena) return fail(state, arena.error().message);
        size = arena->size();
        benchmark::DoNotOptimize(arena);
    }
    set_bytes(state, size);
}

void jdc_load_stored(benchmark::State& state, const TableFixture* fx) {
    const std::span<const TypeId> declared = fx->model.table.signature.parameter_types;
    for (auto _ : state) {
        auto view = ArenaView::open(fx->stored_arena);
        if (!view) return fail(state, view.error().message);
        auto bound = BoundArena::bind_keyed(*view, fx->model.registry, fx->stored_key, declared);
        if (!bound) return fail(state, bound.error().message);
        benchmark::DoNotOptimize(bound);
    }
    set_bytes(state, fx->stored_arena.size());
}

void jdc_verify(benchmark::State& state, const TableFixture* fx) {
    for (auto _ : state) {
        auto ok = verify_arena(fx->arena, VerifyLevel::full);
        if (!ok) return fail(state, ok.error().message);
        benchmark::DoNotOptimize(ok);
    }
    set_bytes(state, fx->arena.size());
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * fx->arena.size()));
}

void jdc_bind(benchmark::State& state, const TableFixture* fx) {
    auto view = ArenaView::open(fx->arena);
    if (!view) return fail(state, view.error().message);
    for (auto _ : state) {
        auto bound = BoundArena::bind(*view, fx->model.registry);
        if (!bound) return fail(state, bound.error().message);
        benchmark::DoNotOptimize(bound);
    }
}

void jdc_load_file(benchmark::State& state, const TableFixture* fx, LoadMode mode) {
    for (auto _ : state) {
        auto loaded = LoadedArena::open(fx->arena_path, mode);
        if (!loaded) return fail(state, loaded.error().message);
        auto bound = BoundArena::bind(loaded->view(), fx->model.registry);
        if (!bound) return fail(state, bound.error().message);
        // Only locals are passed to DoNotOptimize: it treats a non-const lvalue as
        // written, and a write inside the PROT_READ mapping faults.
        benchmark::DoNotOptimize(bound);
    }
    set_bytes(state, fx->arena.size());
}

void jdc_first_lookup(benchmark::State& state, const TableFixture* fx) {
    std::size_t k = 0;
    for (auto _ : state) {
        auto view = ArenaView::open(fx->arena);
        if (!view) return fail(state, view.error().message);
        auto bound = BoundArena::bind(*view, fx->model.registry);
        if (!bound) return fail(state, bound.error().message);
        Resolution r = bound->lookup(fx->tuple(k));
        benchmark::DoNotOptimize(r);
        if (++k == kSampledTuples) k = 0;
    }
}

void jdc_steady_lookup(benchmark::State& state, const TableFixture* fx) {
    auto view = ArenaView::open(fx->arena);
    if (!view) return fail(state, view.error().message);
    auto bound = BoundArena::bind(*view, fx->model.registry);
    if (!bound) return fail(state, bound.error().message);
    std::size_t k = 0;
    for (auto _ : state) {
        Resolution r = bound->lookup(fx->tuple(k));
        benchmark::DoNotOptimize(r);
        if (++k == kSampledTuples) k = 0;
    }
    set_outcomes(state, *fx);
}

void xxh3_checksum(benchmark::State& state, const TableFixture* fx) {
    for (auto _ : state) {
        XXH64_hash_t h = XXH3_64bits(fx->arena.data(), fx->arena.size());
        benchmark::DoNotOptimize(h);
    }
    set_bytes(state, fx->arena.size());
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * fx->arena.size()));
}

TempDir::TempDir(const char* prefix) {
    std::string templ = std::string("/tmp/") + prefix + "-XXXXXX";
    if (::mkdtemp(templ.data()) != nullptr)
        path_ = templ;
    else
        std::perror("mkdtemp");
}

TempDir::~TempDir() {
    if (path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

}  // namespace jdc::bench
