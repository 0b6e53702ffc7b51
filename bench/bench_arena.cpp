// bench_arena — what it costs to write, load and query a jdc arena, against the
// seed's figures and against a FlatBuffers peer holding the same data.
//
// Three tables from tests/support/random_model.hpp, the seed's size classes:
// small (8 entries), medium (64), large (1000), all of arity 2.
//
// Benchmarks (names are "<benchmark>/<size>"):
//   BM_JdcSerialize       build_arena(table, registry): validate, lay out, checksum
//   BM_JdcDeserialize     ArenaView::open (full verify, XXH3) + BoundArena::bind: "load"
//   BM_JdcVerifyOnly      verify_arena(full) alone          } where the load
//   BM_JdcBindOnly        BoundArena::bind on an open view  } time goes
//   BM_Xxh3Checksum       XXH3-64 over the arena's bytes    }
//   BM_JdcLoadFileRead    LoadedArena::open(path, read) + bind
//   BM_JdcLoadFileMap     LoadedArena::open(path, map) + bind
//   BM_OsReadFile         open + fstat + read + close of the arena file  } the OS's share
//   BM_OsMapFile          open + mmap + touch a page + munmap + close    } of a file load
//   BM_JdcFirstLookup     open + bind + one lookup (bytes in memory)
//   BM_JdcSteadyLookup    one BoundArena::lookup, cycling over sampled argument tuples
//   BM_FbEncode           FlatBufferBuilder, same fields, same local type table
//   BM_FbVerifyOnly       flatbuffers::Verifier alone
//   BM_FbLoadVerify       Verifier + GetRoot + fixup (types -> live registry: id hint,
//                         else structural hash; names compared): the peer of BM_JdcDeserialize
//   BM_FbLoadVerifyChecked  the same plus the index checks jdc's verifier does and the
//                         FlatBuffers verifier cannot (every type index < type count,
//                         every parameter list of the table's arity): equal safety
//   BM_FbLoadFileRead     read the file + BM_FbLoadVerify
//   BM_FbFirstLookup      verify + fixup + one lookup
//   BM_FbSteadyLookup     the tournament of BoundArena::lookup, read through the
//                         FlatBuffers accessors
// Counters: `bytes` = size of the encoded table (= bytes on disk; files are the
// encoded bytes and nothing else).
//
// Before any benchmark runs, every sampled tuple is resolved three ways (reference
// resolver, jdc, FlatBuffers peer) and must agree; the binary exits with status 1
// when they do not, or when any benchmark reports an error.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <benchmark/benchmark.h>
#include <xxhash.h>

#include "dispatch_table_generated.h"
#include "jdc/arena_builder.hpp"
#include "jdc/arena_verify.hpp"
#include "jdc/arena_view.hpp"
#include "jdc/atomic_file.hpp"
#include "jdc/loaded_arena.hpp"
#include "jdc/resolver.hpp"
#include "bench_support.hpp"
#include "support/random_model.hpp"

namespace {

using namespace jdc;
namespace fbs = jdc::bench::fb;

constexpr std::uint32_t kNoLocal = 0xFFFFFFFFu;
constexpr std::size_t kSampledTuples = 256;
constexpr std::uint64_t kModelSeed = 20261124;

using jdc::bench::fail;

// ---------------------------------------------------------------------------------
// The FlatBuffers peer: encode, bind (fixup) and lookup.

// Table-local type list in order of first mention, as the jdc builder makes it, so
// both encodings hold the same indexes.
class LocalTypes {
public:
    explicit LocalTypes(const TypeRegistry& registry) : local_of_(registry.size() + 1, kNoLocal) {}
    std::uint32_t index(TypeId id) {
        if (id == kInvalidType) return kNoLocal;
        std::uint32_t& slot = local_of_[id];
        if (slot == kNoLocal) {
            slot = static_cast<std::uint32_t>(order_.size());
            order_.push_back(id);
        }
        return slot;
    }
    const std::vector<TypeId>& order() const { return order_; }

private:
    std::vector<std::uint32_t> local_of_;
    std::vector<TypeId> order_;
};

// Encodes `table` into `fbb` (finished, with the file identifier).
void fb_encode(flatbuffers::FlatBufferBuilder& fbb, const DispatchTable& table, const TypeRegistry& registry) {
    LocalTypes types(registry);
    std::vector<std::uint32_t> declared;
    declared.reserve(table.arity());
    for (TypeId t : table.signature.parameter_types) declared.push_back(types.index(t));
    const std::uint32_t declared_return = types.index(table.signature.return_type);

    std::vector<flatbuffers::Offset<fbs::Entry>> entries;
    entries.reserve(table.implementations.size());
    std::vector<std::uint32_t> params(table.arity());
    for (const Implementation& impl : table.implementations) {
        for (std::size_t p = 0; p < impl.parameter_types.size(); ++p) params[p] = types.index(impl.parameter_types[p]);
        const std::uint32_t ret = types.index(impl.return_type);
        auto name = fbb.CreateSharedString(impl.function.name);
        auto module = fbb.CreateSharedString(impl.function.module);
        auto file = fbb.CreateSharedString(impl.location.file);
        auto param_vec = fbb.CreateVector(params);
        entries.push_back(fbs::CreateEntry(fbb, impl.function.id, name, module, file, impl.location.line,
                                           impl.location.column, impl.effects, impl.specificity_rank,
                                           impl.call_frequency, ret, param_vec));
    }
    std::vector<flatbuffers::Offset<fbs::Type>> type_offsets;
    type_offsets.reserve(types.order().size());
    for (TypeId id : types.order()) {
        const Type& t = *registry.find(id);
        type_offsets.push_back(fbs::CreateType(fbb, fbb.CreateSharedString(t.name), t.structural_hash,
                                               static_cast<fbs::TypeKind>(t.kind), id));
    }
    auto root = fbs::CreateDispatchTable(fbb, fbb.CreateSharedString(table.signature_name),
                                         static_cast<std::uint32_t>(table.arity()), fbb.CreateVector(declared),
                                         declared_return, fbb.CreateVector(type_offsets), fbb.CreateVector(entries));
    fbs::FinishDispatchTableBuffer(fbb, root);
}

bool fb_verify(std::span<const std::uint8_t> bytes) {
    flatbuffers::Verifier verifier(bytes.data(), bytes.size());
    return fbs::VerifyDispatchTableBuffer(verifier);
}

// The index checks jdc's verifier makes and the FlatBuffers verifier cannot: without
// them a lookup on untrusted bytes can index out of the live-type map.
bool fb_check_indexes(const fbs::DispatchTable& root) {
    const std::uint32_t arity = root.arity();
    const std::uint32_t type_count = root.types()->size();
    auto local_ok = [&](std::uint32_t i) { return i < type_count; };
    auto return_ok = [&](std::uint32_t i) { return i == kNoLocal || i < type_count; };
    if (root.declared_params()->size() != arity || !return_ok(root.declared_return())) return false;
    for (std::uint32_t d : *root.declared_params())
        if (!local_ok(d)) return false;
    for (const fbs::Entry* e : *root.entries()) {
        const auto* params = e->param_types();
        if (params->size() != arity || !return_ok(e->return_type())) return false;
        for (std::uint32_t p : *params)
            if (!local_ok(p)) return false;
    }
    return true;
}

// FlatBuffers counterpart of BoundArena: the same fixup (local types -> live ids: the
// writer's id if it still names the same type, else by structural hash; names compared
// either way) and the same lookup algorithm.
class FbBound {
public:
    static std::optional<FbBound> bind(const fbs::DispatchTable* root, const TypeRegistry& registry) {
        FbBound bound(root, registry);
        const auto* types = root->types();
        const std::uint32_t count = types->size();
        TypeId* live = bound.inline_live_.data();
        if (count > kInlineTypes) {
            bound.heap_live_ = std::make_unique<TypeId[]>(count);
            live = bound.heap_live_.get();
        }
        for (std::uint32_t i = 0; i < count; ++i) {
            const fbs::Type* t = types->Get(i);
            const std::uint64_t hash = t->structural_hash();
            const std::string_view name(t->name()->c_str(), t->name()->size());
            if (const Type* hinted = registry.find(t->id_hint());
                hinted != nullptr && hinted->structural_hash == hash && hinted->name == name) {
                live[i] = t->id_hint();
                continue;
            }
            const TypeId id = registry.find_by_structural_hash(hash);
            if (id == kInvalidType || registry.find(id)->name != name) return std::nullopt;
            live[i] = id;
        }
        return bound;
    }

    Resolution lookup(std::span<const TypeId> args) const noexcept {
        const std::uint32_t arity = root_->arity();
        const auto* entries = root_->entries();
        const std::uint32_t n = entries->size();
        if (args.size() != arity) return Resolution::none();
        const TypeId* live = this->live();
        const TypeRegistry& reg = *registry_;

        auto param = [&](std::uint32_t entry, std::uint32_t pos) { return live[entries->Get(entry)->param_types()->Get(pos)]; };
        auto applies = [&](std::uint32_t entry) {
            for (std::uint32_t p = 0; p < arity; ++p)
                if (!reg.is_subtype(args[p], param(entry, p))) return false;
            return true;
        };
        auto as_specific = [&](std::uint32_t a, std::uint32_t b) {
            for (std::uint32_t p = 0; p < arity; ++p)
                if (!reg.is_subtype(param(a, p), param(b, p))) return false;
            return true;
        };
        std::uint32_t best = n;
        for (std::uint32_t i = 0; i < n; ++i) {
            if (!applies(i)) continue;
            if (best == n || (as_specific(i, best) && !as_specific(best, i))) best = i;
        }
        if (best == n) return Resolution::none();
        for (std::uint32_t i = 0; i < n; ++i) {
            if (i == best || !applies(i)) continue;
            if (!as_specific(best, i) || as_specific(i, best)) return Resolution::ambiguous(best, i);
        }
        return Resolution::method(best);
    }

private:
    FbBound(const fbs::DispatchTable* root, const TypeRegistry& registry) : root_(root), registry_(&registry) {}
    static constexpr std::size_t kInlineTypes = 16;  // as BoundArena
    const fbs::DispatchTable* root_;
    const TypeRegistry* registry_;
    std::array<TypeId, kInlineTypes> inline_live_{};
    std::unique_ptr<TypeId[]> heap_live_;
    const TypeId* live() const noexcept { return heap_live_ ? heap_live_.get() : inline_live_.data(); }
};

// Verify + GetRoot + fixup, optionally with the index checks.
enum class IndexChecks : std::uint8_t { skip, run };

std::optional<FbBound> fb_load(std::span<const std::uint8_t> bytes, const TypeRegistry& registry, IndexChecks checks) {
    if (!fb_verify(bytes)) return std::nullopt;
    const fbs::DispatchTable* root = fbs::GetDispatchTable(bytes.data());
    if (checks == IndexChecks::run && !fb_check_indexes(*root)) return std::nullopt;
    return FbBound::bind(root, registry);
}

using jdc::bench::read_whole_file;

// ---------------------------------------------------------------------------------
// Fixtures: one per size class, built once before the benchmarks run.

struct Fixture {
    std::string size_name;
    testing::RandomModel model;
    std::vector<std::byte> arena;
    std::vector<std::uint8_t> fb_bytes;  // owned copy of the finished FlatBuffer
    std::filesystem::path arena_path;
    std::filesystem::path fb_path;
    std::vector<TypeId> tuples;  // kSampledTuples argument tuples, `arity` ids each
    std::size_t tuple_count = 0;
    std::size_t method_calls = 0;     // how many sampled tuples resolve to a method,
    std::size_t ambiguous_calls = 0;  // are ambiguous, or have no method
    std::size_t no_method_calls = 0;

    std::span<const TypeId> tuple(std::size_t k) const {
        const std::size_t arity = model.table.arity();
        return {tuples.data() + k * arity, arity};
    }
    std::span<const std::uint8_t> fb() const { return fb_bytes; }
};

std::optional<std::string> make_fixture(Fixture& fx, const std::string& name, const testing::RandomModelOptions& options,
                                        const std::filesystem::path& dir) {
    fx.size_name = name;
    fx.model = testing::make_random_model(kModelSeed, options);
    const TypeRegistry& reg = fx.model.registry;
    auto arena = build_arena(fx.model.table, reg);
    if (!arena) return "build_arena: " + arena.error().message;
    fx.arena = std::move(*arena);

    flatbuffers::FlatBufferBuilder fbb;
    fb_encode(fbb, fx.model.table, reg);
    fx.fb_bytes.assign(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());

    fx.arena_path = dir / (name + ".jdca");
    fx.fb_path = dir / (name + ".jdcf");
    if (auto ok = write_file_atomically(fx.arena_path, fx.arena); !ok) return "write arena: " + ok.error().message;
    const std::span<const std::byte> fb_as_bytes(reinterpret_cast<const std::byte*>(fx.fb_bytes.data()), fx.fb_bytes.size());
    if (auto ok = write_file_atomically(fx.fb_path, fb_as_bytes); !ok) return "write flatbuffer: " + ok.error().message;

    // Argument tuples: uniform over the hierarchy's types (root included), fixed seed.
    const std::size_t arity = fx.model.table.arity();
    std::mt19937_64 rng(kModelSeed ^ options.implementations);
    const auto& types = fx.model.user_types;
    fx.tuple_count = kSampledTuples;
    for (std::size_t k = 0; k < kSampledTuples * arity; ++k) fx.tuples.push_back(types[rng() % types.size()]);

    // The three resolvers must agree on every tuple.
    auto view = ArenaView::open(fx.arena);
    if (!view) return "ArenaView::open: " + view.error().message;
    auto bound = BoundArena::bind(*view, reg);
    if (!bound) return "BoundArena::bind: " + bound.error().message;
    auto fb_bound = fb_load(fx.fb(), reg, IndexChecks::run);
    if (!fb_bound) return std::string("FlatBuffers peer does not verify or bind");
    for (std::size_t k = 0; k < fx.tuple_count; ++k) {
        const Resolution want = resolve_reference(fx.model.table, reg, fx.tuple(k));
        const Resolution jdc_got = bound->lookup(fx.tuple(k));
        const Resolution fb_got = fb_bound->lookup(fx.tuple(k));
        if (!want.same_outcome(jdc_got) || !want.same_outcome(fb_got))
            return "resolvers disagree on tuple " + std::to_string(k);
        fx.method_calls += want.kind == ResolutionKind::method;
        fx.ambiguous_calls += want.kind == ResolutionKind::ambiguous;
        fx.no_method_calls += want.kind == ResolutionKind::no_method;
    }
    std::fprintf(stderr,
                 "%-6s: %zu entries, %u local types, arena %zu B, flatbuffer %zu B; %zu sampled calls: "
                 "%zu method, %zu ambiguous, %zu no method\n",
                 name.c_str(), fx.model.table.implementations.size(), view->type_count(), fx.arena.size(),
                 fx.fb_bytes.size(), fx.tuple_count, fx.method_calls, fx.ambiguous_calls, fx.no_method_calls);
    return std::nullopt;
}

void set_bytes(benchmark::State& state, std::size_t bytes) { state.counters["bytes"] = static_cast<double>(bytes); }

// The outcome mix of the sampled calls (lookups that find an ambiguity stop early).
void set_outcomes(benchmark::State& state, const Fixture* fx) {
    state.counters["method"] = static_cast<double>(fx->method_calls);
    state.counters["ambiguous"] = static_cast<double>(fx->ambiguous_calls);
    state.counters["no_method"] = static_cast<double>(fx->no_method_calls);
}

// ---------------------------------------------------------------------------------
// jdc benchmarks

void BM_JdcSerialize(benchmark::State& state, const Fixture* fx) {
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

void BM_JdcDeserialize(benchmark::State& state, const Fixture* fx) {
    for (auto _ : state) {
        auto view = ArenaView::open(fx->arena);
        if (!view) return fail(state, view.error().message);
        auto bound = BoundArena::bind(*view, fx->model.registry);
        if (!bound) return fail(state, bound.error().message);
        benchmark::DoNotOptimize(bound);
    }
    set_bytes(state, fx->arena.size());
}

void BM_JdcVerifyOnly(benchmark::State& state, const Fixture* fx) {
    for (auto _ : state) {
        auto ok = verify_arena(fx->arena, VerifyLevel::full);
        if (!ok) return fail(state, ok.error().message);
        benchmark::DoNotOptimize(ok);
    }
    set_bytes(state, fx->arena.size());
}

void BM_JdcBindOnly(benchmark::State& state, const Fixture* fx) {
    auto view = ArenaView::open(fx->arena);
    if (!view) return fail(state, view.error().message);
    for (auto _ : state) {
        auto bound = BoundArena::bind(*view, fx->model.registry);
        if (!bound) return fail(state, bound.error().message);
        benchmark::DoNotOptimize(bound);
    }
}

void BM_Xxh3Checksum(benchmark::State& state, const Fixture* fx) {
    for (auto _ : state) {
        XXH64_hash_t h = XXH3_64bits(fx->arena.data(), fx->arena.size());
        benchmark::DoNotOptimize(h);
    }
    set_bytes(state, fx->arena.size());
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * fx->arena.size()));
}

void BM_JdcLoadFile(benchmark::State& state, const Fixture* fx, LoadMode mode) {
    for (auto _ : state) {
        auto loaded = LoadedArena::open(fx->arena_path, mode);
        if (!loaded) return fail(state, loaded.error().message);
        auto bound = BoundArena::bind(loaded->view(), fx->model.registry);
        if (!bound) return fail(state, bound.error().message);
        // Only locals are passed to DoNotOptimize: a non-const lvalue inside the
        // PROT_READ mapping would be "written" and fault (DESIGN.md, pitfalls).
        benchmark::DoNotOptimize(bound);
    }
    set_bytes(state, fx->arena.size());
}

// The operating system's share of a file load: the same syscalls, no verification.
void BM_OsReadFile(benchmark::State& state, const Fixture* fx) {
    const std::string path = fx->arena_path.string();
    std::vector<std::uint8_t> buffer;
    for (auto _ : state) {
        if (!read_whole_file(path.c_str(), buffer)) return fail(state, "cannot read " + path);
        benchmark::DoNotOptimize(buffer);
    }
    set_bytes(state, fx->arena.size());
}

void BM_OsMapFile(benchmark::State& state, const Fixture* fx) {
    const std::string path = fx->arena_path.string();
    for (auto _ : state) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return fail(state, "cannot open " + path);
        const std::size_t size = fx->arena.size();
        void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            ::close(fd);
            return fail(state, "cannot map " + path);
        }
        std::byte first;  // touch one page; copy out, never DoNotOptimize the mapping itself
        std::memcpy(&first, p, 1);
        benchmark::DoNotOptimize(first);
        ::munmap(p, size);
        ::close(fd);
    }
    set_bytes(state, fx->arena.size());
}

void BM_JdcFirstLookup(benchmark::State& state, const Fixture* fx) {
    std::size_t k = 0;
    for (auto _ : state) {
        auto view = ArenaView::open(fx->arena);
        if (!view) return fail(state, view.error().message);
        auto bound = BoundArena::bind(*view, fx->model.registry);
        if (!bound) return fail(state, bound.error().message);
        Resolution r = bound->lookup(fx->tuple(k));
        benchmark::DoNotOptimize(r);
        if (++k == fx->tuple_count) k = 0;
    }
}

void BM_JdcSteadyLookup(benchmark::State& state, const Fixture* fx) {
    auto view = ArenaView::open(fx->arena);
    if (!view) return fail(state, view.error().message);
    auto bound = BoundArena::bind(*view, fx->model.registry);
    if (!bound) return fail(state, bound.error().message);
    std::size_t k = 0;
    for (auto _ : state) {
        Resolution r = bound->lookup(fx->tuple(k));
        benchmark::DoNotOptimize(r);
        if (++k == fx->tuple_count) k = 0;
    }
    set_outcomes(state, fx);
}

// ---------------------------------------------------------------------------------
// FlatBuffers peer benchmarks

void BM_FbEncode(benchmark::State& state, const Fixture* fx) {
    std::size_t size = 0;
    for (auto _ : state) {
        flatbuffers::FlatBufferBuilder fbb;
        fb_encode(fbb, fx->model.table, fx->model.registry);
        size = fbb.GetSize();
        const std::uint8_t* p = fbb.GetBufferPointer();
        benchmark::DoNotOptimize(p);
        benchmark::ClobberMemory();
    }
    set_bytes(state, size);
}

void BM_FbVerifyOnly(benchmark::State& state, const Fixture* fx) {
    for (auto _ : state) {
        bool ok = fb_verify(fx->fb());
        if (!ok) return fail(state, "flatbuffer does not verify");
        benchmark::DoNotOptimize(ok);
    }
    set_bytes(state, fx->fb_bytes.size());
}

void BM_FbLoadVerify(benchmark::State& state, const Fixture* fx, IndexChecks checks) {
    for (auto _ : state) {
        auto bound = fb_load(fx->fb(), fx->model.registry, checks);
        if (!bound) return fail(state, "flatbuffer does not verify or bind");
        benchmark::DoNotOptimize(bound);
    }
    set_bytes(state, fx->fb_bytes.size());
}

void BM_FbLoadFileRead(benchmark::State& state, const Fixture* fx) {
    const std::string path = fx->fb_path.string();
    for (auto _ : state) {
        std::vector<std::uint8_t> buffer;
        if (!read_whole_file(path.c_str(), buffer)) return fail(state, "cannot read " + path);
        auto bound = fb_load(buffer, fx->model.registry, IndexChecks::skip);
        if (!bound) return fail(state, "flatbuffer does not verify or bind");
        benchmark::DoNotOptimize(bound);
        benchmark::DoNotOptimize(buffer);
    }
    set_bytes(state, fx->fb_bytes.size());
}

void BM_FbFirstLookup(benchmark::State& state, const Fixture* fx) {
    std::size_t k = 0;
    for (auto _ : state) {
        auto bound = fb_load(fx->fb(), fx->model.registry, IndexChecks::skip);
        if (!bound) return fail(state, "flatbuffer does not verify or bind");
        Resolution r = bound->lookup(fx->tuple(k));
        benchmark::DoNotOptimize(r);
        if (++k == fx->tuple_count) k = 0;
    }
}

void BM_FbSteadyLookup(benchmark::State& state, const Fixture* fx) {
    auto bound = fb_load(fx->fb(), fx->model.registry, IndexChecks::run);
    if (!bound) return fail(state, "flatbuffer does not verify or bind");
    std::size_t k = 0;
    for (auto _ : state) {
        Resolution r = bound->lookup(fx->tuple(k));
        benchmark::DoNotOptimize(r);
        if (++k == fx->tuple_count) k = 0;
    }
    set_outcomes(state, fx);
}

using Fixtures = std::vector<std::unique_ptr<Fixture>>;

// Registers `name/<size>` for every size, sizes together so that a filter such as
// BM_JdcSerialize shows one operation across the size classes.
template <class Fn, class... Extra>
void add(const std::string& name, const Fixtures& all, Fn fn, Extra... extra) {
    for (const auto& fx : all) {
        const Fixture* p = fx.get();
        benchmark::RegisterBenchmark((name + "/" + fx->size_name).c_str(),
                                     [=](benchmark::State& state) { fn(state, p, extra...); })
            ->Unit(benchmark::kMicrosecond);
    }
}

void register_all(const Fixtures& fx) {
    add("BM_JdcSerialize", fx, BM_JdcSerialize);
    add("BM_JdcDeserialize", fx, BM_JdcDeserialize);
    add("BM_JdcVerifyOnly", fx, BM_JdcVerifyOnly);
    add("BM_JdcBindOnly", fx, BM_JdcBindOnly);
    add("BM_Xxh3Checksum", fx, BM_Xxh3Checksum);
    add("BM_JdcLoadFileRead", fx, BM_JdcLoadFile, LoadMode::read);
    add("BM_JdcLoadFileMap", fx, BM_JdcLoadFile, LoadMode::map);
    add("BM_OsReadFile", fx, BM_OsReadFile);
    add("BM_OsMapFile", fx, BM_OsMapFile);
    add("BM_JdcFirstLookup", fx, BM_JdcFirstLookup);
    add("BM_JdcSteadyLookup", fx, BM_JdcSteadyLookup);
    add("BM_FbEncode", fx, BM_FbEncode);
    add("BM_FbVerifyOnly", fx, BM_FbVerifyOnly);
    add("BM_FbLoadVerify", fx, BM_FbLoadVerify, IndexChecks::skip);
    add("BM_FbLoadVerifyChecked", fx, BM_FbLoadVerify, IndexChecks::run);
    add("BM_FbLoadFileRead", fx, BM_FbLoadFileRead);
    add("BM_FbFirstLookup", fx, BM_FbFirstLookup);
    add("BM_FbSteadyLookup", fx, BM_FbSteadyLookup);
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

    char dir_template[] = "/tmp/jdc-bench-XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) {
        std::perror("mkdtemp");
        return 1;
    }
    const std::filesystem::path dir = dir_template;

    const std::pair<const char*, testing::RandomModelOptions> sizes[] = {
        {"small", testing::small_table_options()},
        {"medium", testing::medium_table_options()},
        {"large", testing::large_table_options()},
    };
    Fixtures fixtures;
    int status = 0;
    for (const auto& [name, options] : sizes) {
        auto fx = std::make_unique<Fixture>();
        if (auto error = make_fixture(*fx, name, options, dir)) {
            std::fprintf(stderr, "bench_arena: setup of %s failed: %s\n", name, error->c_str());
            status = 1;
            break;
        }
        fixtures.push_back(std::move(fx));
    }
    if (status == 0) {
        register_all(fixtures);
        benchmark::RunSpecifiedBenchmarks();
        if (jdc::bench::run_failed()) {
            std::fprintf(stderr, "bench_arena: at least one benchmark reported an error\n");
            status = 1;
        }
    }
    benchmark::Shutdown();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return status;
}
