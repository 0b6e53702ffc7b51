// Fuzz target: build_arena -> verify -> ArenaView -> BoundArena gives back the table.
//
// The input chooses a random model (the options and the seed of
// jdc::testing::make_random_model) and then edits it: names and strings taken
// verbatim from the input (empty, duplicated, any bytes), duplicated methods,
// source locations, effects, profile data, optimization record, timestamp. Then:
//   - build_arena succeeds (the table is valid) and is deterministic;
//   - verify(header) and verify(full) accept it; the header fields say what was
//     written (sizes, counts, table_hash, optimization record, timestamp);
//   - BoundArena::bind to the model's registry succeeds, to_table() == the table,
//     and lookup() == resolve_reference() for every argument tuple over the model's
//     types plus an unrelated built-in;
//   - binding to an equivalent registry whose ids are shifted gives the same answers
//     under the id mapping, and binding to a registry where one mentioned type changed
//     its definition fails as stale;
//   - format 2.0: with a key (an input bit), the header carries it, bind_keyed with it
//     answers as bind does and with another key is refused; with declared types inside
//     the hierarchy (another bit) all of the above holds over their domains.
// Sizes are capped so that one input runs in well under 10 ms.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "arena_exercise.hpp"
#include "fuzz_support.hpp"
#include "jdc/arena_builder.hpp"
#include "jdc/arena_verify.hpp"
#include "jdc/arena_view.hpp"
#include "jdc/resolver.hpp"
#include "support/random_model.hpp"

namespace {

using namespace jdc;

// Lookups per binding (each also runs the reference resolver, which allocates per
// subtype test and dominates the time under ASan): enumerate small products, sample
// larger ones.
constexpr std::uint64_t kMaxTuples = 96;

struct Input {
    testing::RandomModel model;
    OptimizationResult optimization;
    std::uint64_t created_at_ns = 1;
    bool change_a_type = false;
};

Input decode(const std::uint8_t* data, std::size_t size) {
    fuzzing::ByteReader in(data, size);
    testing::RandomModelOptions o;
    o.arity = in.u8() % 4;
    // (user types + root + i32)^arity tuples, each resolved twice: keep it small.
    const std::uint32_t max_user_types = o.arity >= 3 ? 8 : o.arity == 2 ? 20 : 40;
    o.user_types = in.u8() % (max_user_types + 1);
    o.max_supertypes = 1 + in.u8() % 3;
    o.implementations = in.u8() % 21;
    const std::uint8_t flags = in.u8();
    o.include_root_method = (flags & 1) != 0;
    const std::uint64_t seed = in.u64();

    Input x{testing::make_random_model(seed, o), {}, in.u64() | 1, (flags & 128) != 0};
    DispatchTable& t = x.model.table;
    // Bits of created_at_ns (bit 0 is always set: 0 would mean "now") choose format 2.0
    // features: bit 3 declares the parameters inside the hierarchy (each method's types
    // moved into the declared types' domains), bit 2 writes a key (below, in main).
    if ((x.created_at_ns & 8) != 0 && o.arity > 0 && x.model.user_types.size() > 2) {
        const auto& users = x.model.user_types;
        for (std::uint32_t p = 0; p < o.arity; ++p) t.signature.parameter_types[p] = users[1 + (seed >> (8 * p)) % (users.size() - 1)];
        for (Implementation& impl : t.implementations)
            for (std::uint32_t p = 0; p < o.arity; ++p) {
                const auto members = x.model.registry.domain(t.signature.parameter_types[p]).members();
                impl.parameter_types[p] = members[impl.parameter_types[p] % members.size()];
            }
        for (Implementation& impl : t.implementations) impl.specificity_rank = specificity_rank(impl, x.model.registry);
    }
    if (flags & 2) {
        std::string name = in.string(24);
        if (!name.empty()) t.signature_name = std::move(name);  // writers refuse empty names
    }
    if (flags & 4) {
        for (Implementation& impl : t.implementations) {
            impl.function.name = in.string(12);
            impl.function.module = in.string(12);
            impl.location.file = in.string(16);
        }
    }
    if (flags & 8) {
        const TypeId returns[] = {kInvalidType, kTypeI32, kTypeString, x.model.root};
        t.signature.return_type = returns[in.u8() % 4];
        for (Implementation& impl : t.implementations) impl.return_type = returns[in.u8() % 4];
    }
    if (flags & 16) {
        x.optimization.type = static_cast<OptimizationType>(in.u8() % kOptimizationTypeCount);
        x.optimization.memory_saved = in.u64();
        x.optimization.compression_ratio = (in.u32() % 4'000'001u) / 1000.0;  // [0, 4000]
    }
    if ((flags & 32) && !t.implementations.empty()) {
        // Same parameter types as an existing method: ambiguity on its arguments.
        const Implementation copy = t.implementations[in.u8() % t.implementations.size()];
        t.implementations.push_back(copy);
        t.implementations.back().function.id = in.u32();
    }
    if (flags & 64) {
        for (Implementation& impl : t.implementations) {
            impl.function.id = in.u32();
            impl.location.line = in.u32();
            impl.location.column = in.u32();
            impl.effects = in.u8() & kKnownEffectBits;
            impl.specificity_rank = in.u32();
            impl.call_frequency = in.u64();
        }
    }
    return x;
}

// The same hierarchy registered after an extra type, so every id is one higher
// (the writer's id hints all miss and binding falls back to structural hashes).
// With `changed` set, `changed_type` gets another kind: a changed definition.
TypeRegistry shifted_registry(const TypeRegistry& original, std::unordered_map<TypeId, TypeId>& id_map, TypeId changed_type) {
    TypeRegistry shifted;
    (void)shifted.add("fuzz::Unrelated", TypeKind::function);
    for (TypeId b : {kTypeI32, kTypeF64, kTypeBool, kTypeString}) id_map[b] = b;
    for (const Type& t : original.types()) {
        if (t.id < kFirstUserType) continue;
        std::vector<TypeId> supers;
        for (TypeId s : t.supertypes) supers.push_back(id_map.at(s));
        const TypeKind kind = t.id == changed_type ? (t.kind == TypeKind::enum_ ? TypeKind::struct_ : TypeKind::enum_) : t.kind;
        auto id = shifted.add(t.name, kind, supers);
        JDC_FUZZ_CHECK(id.has_value(), "re-registering the model failed");
        id_map[t.id] = *id;
    }
    return shifted;
}

DispatchTable map_table(DispatchTable t, const std::unordered_map<TypeId, TypeId>& id_map) {
    auto map = [&](TypeId& id) {
        if (id != kInvalidType) id = id_map.at(id);
    };
    for (TypeId& p : t.signature.parameter_types) map(p);
    map(t.signature.return_type);
    for (Implementation& impl : t.implementations) {
        for (TypeId& p : impl.parameter_types) map(p);
        map(impl.return_type);
    }
    return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const Input x = decode(data, size);
    const TypeRegistry& registry = x.model.registry;
    const DispatchTable& table = x.model.table;
    ArenaBuildOptions build;
    build.created_at_ns = x.created_at_ns;
    // One input bit chooses the dispatch index; its header record is computed. (Bit 1:
    // bit 0 of created_at_ns is always set.)
    const bool forms = (x.created_at_ns & 2) != 0;
    if (forms) build.forms = DispatchForms::all();
    // Another writes a key (never the zero key: that is "none").
    const CacheKey key = (x.created_at_ns & 4) != 0 ? CacheKey{x.created_at_ns, ~x.created_at_ns} : CacheKey{};
    build.key = key;

    auto bytes = build_arena(table, registry, x.optimization, build);
    JDC_FUZZ_CHECK(bytes.has_value(), "build_arena refused a valid table: " + bytes.error().message);
    auto again = build_arena(table, registry, x.optimization, build);
    JDC_FUZZ_CHECK(again.has_value() && *again == *bytes, "build_arena is not deterministic");

    auto header_ok = verify_arena(*bytes, VerifyLevel::header);
    JDC_FUZZ_CHECK(header_ok.has_value(), "verify(header) rejected a built arena: " + header_ok.error().message);
    auto full_ok = verify_arena(*bytes, VerifyLevel::full);
    JDC_FUZZ_CHECK(full_ok.has_value(), "verify(full) rejected a built arena: " + full_ok.error().message);
    auto view = ArenaView::open(*bytes);
    JDC_FUZZ_CHECK(view.has_value(), "ArenaView::open rejected a built arena");

    const arena::Header& h = view->header();
    JDC_FUZZ_CHECK(h.total_size == bytes->size() && h.total_size % 8 == 0, "total_size");
    JDC_FUZZ_CHECK(view->version_major() == arena::kVersionMajor && view->version_minor() == arena::kVersionMinor, "version");
    JDC_FUZZ_CHECK(view->table_hash() == table_content_hash(table, registry), "table_hash");
    JDC_FUZZ_CHECK(view->created_at_ns() == x.created_at_ns, "created_at_ns");
    JDC_FUZZ_CHECK(view->key() == key, "key");
    JDC_FUZZ_CHECK(view->has_dispatch_index() == forms, "dispatch index written as asked (these models stay far below the matrix limit)");
    if (!forms) {
        JDC_FUZZ_CHECK(view->optimization_type() == x.optimization.type, "optimization_type");
        JDC_FUZZ_CHECK(view->memory_saved() == x.optimization.memory_saved, "memory_saved");
        JDC_FUZZ_CHECK(h.compression_ratio_ppm == static_cast<std::uint32_t>(std::llround(x.optimization.compression_ratio * 1e6)),
                       "compression_ratio_ppm");
    }
    JDC_FUZZ_CHECK(view->signature_name() == table.signature_name, "signature_name");
    JDC_FUZZ_CHECK(view->arity() == table.arity() && view->entry_count() == table.implementations.size(), "counts");
    fuzzing::read_every_accessor(*view);

    auto bound = BoundArena::bind(*view, registry);
    JDC_FUZZ_CHECK(bound.has_value(), "bind to the writer's registry failed: " + bound.error().message);
    JDC_FUZZ_CHECK(bound->to_table() == table, "to_table() differs from the table that was built");

    std::vector<TypeId> lookup_types = x.model.user_types;
    lookup_types.push_back(kTypeI32);  // unrelated to every parameter type: no method
    fuzzing::for_each_tuple_capped(lookup_types, table.arity(), kMaxTuples, [&](std::span<const TypeId> args) {
        const Resolution want = resolve_reference(table, registry, args);
        JDC_FUZZ_CHECK(bound->lookup_scan(args).same_outcome(want), "scan lookup differs from resolve_reference");
        JDC_FUZZ_CHECK(bound->lookup_table(args).same_outcome(want), "table lookup differs from resolve_reference");
    }, x.created_at_ns);

    // Keyed binding: the key written, and only that key, binds; then the same answers.
    if (!key.is_zero()) {
        auto keyed = BoundArena::bind_keyed(*view, registry, key, table.signature.parameter_types);
        JDC_FUZZ_CHECK(keyed.has_value(), "bind_keyed with the arena's key failed: " + keyed.error().message);
        JDC_FUZZ_CHECK(keyed->has_form(DispatchForm::compressed_table) == bound->has_form(DispatchForm::compressed_table), "keyed index");
        fuzzing::for_each_tuple_capped(lookup_types, table.arity(), kMaxTuples, [&](std::span<const TypeId> args) {
            JDC_FUZZ_CHECK(keyed->lookup(args).same_outcome(bound->lookup(args)), "keyed lookup differs");
        }, x.created_at_ns + 2);
        const auto other = BoundArena::bind_keyed(*view, registry, CacheKey{key.hi, key.lo ^ 1}, table.signature.parameter_types);
        JDC_FUZZ_CHECK(!other && other.error().code == ErrorCode::stale, "bind_keyed must refuse another key");
    }

    // Ids moved: same answers through the hash fallback.
    std::unordered_map<TypeId, TypeId> id_map;
    const TypeRegistry shifted = shifted_registry(registry, id_map, kInvalidType);
    auto rebound = BoundArena::bind(*view, shifted);
    JDC_FUZZ_CHECK(rebound.has_value(), "bind to an id-shifted registry failed: " + rebound.error().message);
    JDC_FUZZ_CHECK(rebound->to_table() == map_table(table, id_map), "to_table() under shifted ids");
    std::vector<TypeId> mapped(table.arity());
    fuzzing::for_each_tuple_capped(lookup_types, table.arity(), kMaxTuples, [&](std::span<const TypeId> args) {
        for (std::size_t p = 0; p < args.size(); ++p) mapped[p] = id_map.at(args[p]);
        JDC_FUZZ_CHECK(rebound->lookup(mapped).same_outcome(bound->lookup(args)), "lookup under shifted ids");
    }, x.created_at_ns + 1);

    // A mentioned type changed its definition: stale.
    if (x.change_a_type && !table.implementations.empty() && table.arity() > 0) {
        const TypeId victim = table.implementations.back().parameter_types.back();
        if (victim >= kFirstUserType) {
            std::unordered_map<TypeId, TypeId> map2;
            const TypeRegistry changed = shifted_registry(registry, map2, victim);
            auto stale = BoundArena::bind(*view, changed);
            JDC_FUZZ_CHECK(!stale && stale.error().code == ErrorCode::stale, "bind must fail as stale after a type changed");
        }
    }
    return 0;
}
