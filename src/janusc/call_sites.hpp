// janusc — call sites resolved through their generic function's dispatch table.
//
// A call's static argument types (program.hpp, CallSite) stand for every tuple of
// their subtypes: the call's *cone*. Resolving the call over its cone tells what a
// compiler wants to know about it:
//   - resolved statically: one method wins every tuple of the cone (the call can be
//     devirtualized; the summary names the method);
//   - dynamic: several methods are reachable (how many);
//   - a warning when some tuple of the cone is ambiguous (with the tuple and two
//     methods that compete for it) or has no method (with the tuple).
//
// The answers come from the table as the cache returned it (CachedTable: loaded or
// just built, the same bytes), so they are identical with and without the cache.
//
// Today every tuple of the cone is resolved with jdc's reference resolver
// (resolve_cone_reference is that enumeration: the oracle). CallSiteResolver::answer
// is the one place the build resolves a call: it runs the same enumeration, memoized
// and on the methods that can apply to the cone. Resolving through the table's
// compressed form instead changes that function only, and the oracle stays to test
// it against (tests/janusc_call_sites.cpp compares the two on generated programs).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "janusc/diagnostic.hpp"
#include "janusc/program.hpp"
#include "jdc/cached_table.hpp"
#include "jdc/resolver.hpp"

namespace janusc {

// One tuple of argument types (a witness), at most kMaxArity of them.
struct TypeTuple {
    std::array<jdc::TypeId, kMaxArity> storage{};
    std::uint32_t arity = 0;

    std::span<const jdc::TypeId> types() const noexcept { return std::span<const jdc::TypeId>(storage).first(arity); }
    bool operator==(const TypeTuple&) const = default;
};

struct Ambiguity {
    TypeTuple tuple;  // the first ambiguous tuple of the cone, in cone order
    // Two of the methods that compete for it (table entry indexes): the first two in
    // source order among the applicable methods no other applicable one is more
    // specific than. Source order, not table order: --opt-level reorders entries.
    std::uint32_t first = 0, second = 0;
    bool operator==(const Ambiguity&) const = default;
};

struct CallSiteAnswer {
    std::uint64_t tuples = 0;             // in the cone
    std::uint32_t methods_reachable = 0;  // table entries that win at least one tuple of the cone
    std::uint32_t method = 0;             // when methods_reachable == 1: that entry
    std::optional<Ambiguity> ambiguity;
    std::optional<TypeTuple> no_method;   // the first tuple of the cone without a method, in cone order

    bool resolved_statically() const noexcept { return methods_reachable == 1 && !ambiguity && !no_method; }
    bool dynamic() const noexcept { return methods_reachable > 1; }
    bool operator==(const CallSiteAnswer&) const = default;
};

// The oracle. Resolves every tuple of the cone of `static_types` (position p ranges
// over program.subtypes_of(static_types[p])) with jdc::resolve_reference on `table`.
// Cone order: lexicographic by type id, the first argument varying slowest; so the
// first witness is usually the static types themselves (a type's id is larger than
// its supertypes'). Precondition: static_types.size() == table.arity(), 1..kMaxArity.
//
// No cap is needed on the enumeration: an argument whose static type is not a
// subtype of the declared parameter type is a compile error, so a cone lies within
// the tuples the table was checked over, at most kMaxTuplesPerTable (dispatch.hpp).
// A cone that large costs as much as the exhaustive check did before dispatch
// matrices (seconds); resolving through the compressed table removes that cost.
CallSiteAnswer resolve_cone_reference(const jdc::DispatchTable& table, const Program& program, std::span<const jdc::TypeId> static_types);

// The same enumeration with `resolve(tuple)` answering each tuple (resolve_cone_reference
// passes jdc::resolve_reference itself; CallSiteResolver a memo of it, as cones overlap).
CallSiteAnswer resolve_cone_by_tuples(const jdc::DispatchTable& table, const Program& program, std::span<const jdc::TypeId> static_types,
                                      const std::function<jdc::Resolution(std::span<const jdc::TypeId>)>& resolve);

// The pair Ambiguity names for an ambiguous `tuple` (see there).
std::pair<std::uint32_t, std::uint32_t> competing_methods(const jdc::DispatchTable& table, const jdc::TypeRegistry& registry,
                                                          std::span<const jdc::TypeId> tuple);

// Answers the call sites of one generic function from its table. Calls with the same
// static types share one answer (a program makes the same call in many places), and
// cones share the resolution of the tuples they have in common (the cone of a type
// holds the cones of its subtypes). Not thread-safe: one per generic function and thread.
class CallSiteResolver {
public:
    // Both must outlive the resolver.
    CallSiteResolver(const Program& program, const jdc::CachedTable& table) : program_(program), table_(table) {}

    const CallSiteAnswer& answer(std::span<const jdc::TypeId> static_types);
    // The table as the answers' entry indexes mean it.
    const jdc::DispatchTable& table();

private:
    const Program& program_;
    const jdc::CachedTable& table_;
    std::optional<jdc::DispatchTable> copy_;  // the oracle's input, copied out of the arena once
    using Key = std::array<jdc::TypeId, kMaxArity>;  // static types or a tuple, unused positions 0
    struct KeyHash {
        std::size_t operator()(const Key& k) const noexcept {
            std::uint64_t h = 0x9e3779b97f4a7c15ull;
            for (jdc::TypeId t : k) h = (h ^ t) * 0x100000001b3ull;
            return static_cast<std::size_t>(h ^ (h >> 29));
        }
    };
    std::unordered_map<Key, CallSiteAnswer, KeyHash> answers_;  // node-based: answers stay where they are
    std::unordered_map<Key, jdc::Resolution, KeyHash> resolutions_;  // by tuple
};

struct ResolvedCallSite {
    std::string summary_line;  // its line in its module's dispatch summary
    bool resolved_statically = false, dynamic = false, warned = false;
};

// What the build reports: every call site (Program::call_sites order) resolved, and
// every warning.
struct CallSiteResults {
    std::vector<ResolvedCallSite> sites;
    Diagnostics warnings;  // every one, sorted by file and position; not yet bounded per file
    std::size_t resolved_statically = 0, dynamic = 0;
    std::size_t ambiguous = 0, no_method = 0;  // call sites with each warning
    std::uint64_t cpu_ns = 0;                  // summed over the threads
};

// Resolves every call site of `program`; tables[g] is generic function g's table.
// Runs on `jobs` threads, one generic function at a time per thread.
CallSiteResults resolve_call_sites(const Program& program, std::span<const jdc::CachedTable* const> tables, unsigned jobs);

// `collide(a: Circle, b: Shape)`: a method as warnings quote it: parameter types from
// the table entry, names from the source.
std::string method_text(const Program& program, const Generic& generic, const jdc::Implementation& impl);

// The first `max_per_file` diagnostics of each file, order kept (`sorted` by file).
Diagnostics first_per_file(const Diagnostics& sorted, std::size_t max_per_file);

}  // namespace janusc
