// Fuzz target: verify_arena never crashes, and what it accepts is safe to read.
//
// For the input as given and for a copy with both checksums re-sealed (so mutations
// reach the structural checks instead of stopping at checksum_mismatch):
//   - verify(header) and verify(full) return, with a non-empty reason on failure,
//     an error class the verifier may use, and consistent levels: a header failure
//     is also the full failure (same class and message: the full level runs the
//     header checks first), and full success implies header success;
//   - ArenaView::open accepts exactly what verify(full) accepts;
//   - if accepted: every accessor reads in bounds (ASan), binding to registries of
//     the local type names and of the seed models either fails cleanly or binds,
//     and when it binds, every scan lookup equals the reference resolver run on
//     the table the bound arena decodes to (to_table()), and so does lookup() when
//     the arena has no dispatch index; the index, which verification cannot check
//     against the entries (arena-v2.md §10.3), answers well formed.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "arena_exercise.hpp"
#include "fuzz_support.hpp"
#include "jdc/arena_verify.hpp"
#include "jdc/arena_view.hpp"
#include "jdc/resolver.hpp"
#include "seed_models.hpp"

namespace {

using namespace jdc;

// Lookups per binding; keeps each input well under 10 ms even with large tables.
constexpr std::uint64_t kMaxTuples = 200;

struct KnownRegistry {
    testing::RandomModel model;
    std::vector<TypeId> lookup_types;  // every registered type, built-ins included
};

const std::vector<KnownRegistry>& known_registries() {
    static const std::vector<KnownRegistry> all = [] {
        std::vector<KnownRegistry> v;
        auto add = [&](testing::RandomModel m) {
            KnownRegistry k{std::move(m), {}};
            for (const Type& t : k.model.registry.types()) k.lookup_types.push_back(t.id);
            v.push_back(std::move(k));
        };
        for (const fuzzing::SeedModel& s : fuzzing::kSeedModels) add(testing::make_random_model(s.seed, s.options));
        add(fuzzing::make_shapes_model());
        return v;
    }();
    return all;
}

// Binds and, on success, compares every lookup with the reference resolver over
// the decoded table.
void check_bound_lookups(const ArenaView& view, const TypeRegistry& registry, std::span<const TypeId> lookup_types,
                         fuzzing::Sink& sink) {
    auto bound = BoundArena::bind(view, registry);
    if (!bound) {
        JDC_FUZZ_CHECK(bound.error().code == ErrorCode::stale, "bind failed with " + std::string(to_string(bound.error().code)));
        JDC_FUZZ_CHECK(!bound.error().message.empty(), "bind failed without a reason");
        return;
    }
    const DispatchTable table = bound->to_table();
    JDC_FUZZ_CHECK(table.arity() == view.arity() && table.implementations.size() == view.entry_count(), "to_table shape");
    // The scan reads the entries and nothing else: it must equal the oracle. The
    // dispatch index is derived data that verification cannot check against the
    // entries without the writer's registry (arena-v2.md §10.3, §10.5): a re-sealed
    // mutation of a cell or a parameter type may make them answer differently. What
    // must hold for them is that every answer is well formed and every read in bounds.
    const auto check_well_formed = [&](const Resolution& r, const char* form) {
        if (r.kind == ResolutionKind::no_method) return;
        JDC_FUZZ_CHECK(r.index < view.entry_count(), std::string(form) + " lookup index out of range");
        if (r.kind == ResolutionKind::ambiguous)
            JDC_FUZZ_CHECK(r.index < r.other && r.other < view.entry_count(),
                           std::string(form) + " ambiguity witnesses out of order");
    };
    fuzzing::for_each_tuple_capped(lookup_types, view.arity(), kMaxTuples, [&](std::span<const TypeId> args) {
        const Resolution scanned = bound->lookup_scan(args);
        const Resolution want = resolve_reference(table, registry, args);
        JDC_FUZZ_CHECK(scanned.same_outcome(want), "scan lookup differs from resolve_reference on the decoded table");
        check_well_formed(scanned, "scan");
        const Resolution got = bound->lookup(args);
        check_well_formed(got, "lookup");
        if (!view.has_dispatch_index())
            JDC_FUZZ_CHECK(got.same_outcome(want), "lookup without optional forms differs from the scan");
        check_well_formed(bound->lookup_table(args), "table");
        sink.mix(got.index);
        sink.mix(scanned.index);
    }, view.table_hash());
    // Wrong-arity calls are no_method, never a read past a row.
    const std::vector<TypeId> longer(view.arity() + 1, kTypeI32);
    JDC_FUZZ_CHECK(bound->lookup(longer).kind == ResolutionKind::no_method, "wrong arity must be no_method");
}

void exercise(std::span<const std::byte> bytes) {
    const auto header = verify_arena(bytes, VerifyLevel::header);
    const auto full = verify_arena(bytes, VerifyLevel::full);
    for (const auto* r : {&header, &full})
        if (!*r) fuzzing::check_rejection(r->error(), "verify_arena");
    if (!header) {
        JDC_FUZZ_CHECK(!full, "full accepted what header rejected: " + header.error().message);
        JDC_FUZZ_CHECK(full.error().code == header.error().code && full.error().message == header.error().message,
                       "header and full disagree: '" + header.error().message + "' vs '" + full.error().message + "'");
    }

    auto view = ArenaView::open(bytes);
    JDC_FUZZ_CHECK(view.has_value() == full.has_value(), "ArenaView::open and verify(full) disagree");
    if (!view) return;

    fuzzing::Sink sink;
    sink.mix(fuzzing::read_every_accessor(*view));

    // A registry holding the arena's own type names: binds only where hashes match
    // (types without supertypes), usually fails as stale.
    std::vector<TypeId> added;
    const TypeRegistry names_registry = fuzzing::registry_of_local_names(*view, added);
    std::vector<TypeId> all_ids;
    for (const Type& t : names_registry.types()) all_ids.push_back(t.id);
    check_bound_lookups(*view, names_registry, all_ids, sink);

    // The registries the seeds were built from: mutated seeds whose type table is
    // intact bind, and then every lookup is checked.
    for (const KnownRegistry& k : known_registries()) check_bound_lookups(*view, k.model.registry, k.lookup_types, sink);

    volatile std::uint64_t keep = sink.value();
    (void)keep;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::byte> raw(reinterpret_cast<const std::byte*>(data), size);
    exercise(raw);
    if (size >= arena::kHeaderSize) {
        std::vector<std::byte> sealed(raw.begin(), raw.end());
        fuzzing::reseal(sealed);
        exercise(sealed);
    }
    return 0;
}
