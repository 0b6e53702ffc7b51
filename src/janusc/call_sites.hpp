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
// Witness tuples are the first such tuples in *cone order*: lexicographic by type id,
// the first argument varying slowest; so the first witness is usually the static
// types themselves (a type's id is larger than its supertypes').
//
// The answers come from the table as the cache returned it (CachedTable: loaded or
// just built, the same bytes), so they are identical with and without the cache.
//
// CallSiteResolver::answer is the one place the build resolves a call. It asks the
// table, through BoundArena::resolve_cone: at each position the cone's types are
// grouped by behaviour (the poles of the arena's compressed table; for a table
// stored without one, the sets of methods accepting them), and one lookup resolves
// each tuple of groups, on the group's smallest id. So the work is the sum of the
// cones' sizes plus one lookup per tuple of behaviours, not one resolution per tuple
// of types. The answer is the one the enumeration of every tuple of the cone with
// jdc's reference resolver gives (the oracle, tests/support/cone_oracle.hpp;
// tests/janusc_call_sites.cpp compares them on generated programs, with tables
// built, loaded from the cache and built without it).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
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

// The pair Ambiguity names for an ambiguous `tuple` (see there), from the table as the
// cache returned it or from a copy of it (the same pair).
std::pair<std::uint32_t, std::uint32_t> competing_methods(const jdc::CachedTable& table, const jdc::TypeRegistry& registry,
                                                          std::span<const jdc::TypeId> tuple);
std::pair<std::uint32_t, std::uint32_t> competing_methods(const jdc::DispatchTable& table, const jdc::TypeRegistry& registry,
                                                          std::span<const jdc::TypeId> tuple);

// Answers the call sites of one generic function from its table (entry indexes are the
// table's). Calls with the same static types have the same answer: resolve_call_sites
// asks once per distinct static types. Not thread-safe: one per function and thread.
class CallSiteResolver {
public:
    // Both must outlive the resolver.
    CallSiteResolver(const Program& program, const jdc::CachedTable& table) : program_(program), table_(table) {}

    // Precondition: static_types.size() == the table's arity, 1..kMaxArity, each a
    // subtype of its declared parameter type (what analyze() guarantees of a call).
    CallSiteAnswer answer(std::span<const jdc::TypeId> static_types) const;

private:
    const Program& program_;
    const jdc::CachedTable& table_;
    mutable std::vector<jdc::TypeId> parameters_;  // the entries' parameter types, when an answer needs them
};

struct ResolvedCallSite {
    SourcePos pos;  // of the call
    // Its outcome, what its summary line says after the position ("f(T) over N tuples:
    // outcome; warning...\n"): outcome_length bytes at outcome_offset in
    // CallSiteResults::outcomes, shared by the calls with the same static types.
    std::size_t outcome_offset = 0;
    std::uint32_t outcome_length = 0;
    bool resolved_statically = false, dynamic = false, warned = false;
};

// What the build reports: every call site (Program::call_sites order) resolved, and
// every warning.
struct CallSiteResults {
    std::vector<ResolvedCallSite> sites;
    std::string outcomes;  // every distinct outcome line, end to end
    Diagnostics warnings;  // every one, sorted by file and position; not yet bounded per file
    std::size_t resolved_statically = 0, dynamic = 0;
    std::size_t ambiguous = 0, no_method = 0;  // call sites with each warning
    std::uint64_t cpu_ns = 0;                  // summed over the threads
    std::uint64_t resolve_cpu_ns = 0;          // ... of which answering calls from the tables (the rest: rendering outcomes)

    std::string_view outcome(std::size_t i) const noexcept {
        return std::string_view(outcomes).substr(sites[i].outcome_offset, sites[i].outcome_length);
    }
    // Call site i's line in its module's dispatch summary: "  LINE:COL " + its outcome.
    std::string summary_line(std::size_t i) const;
    void append_summary_line(std::string& out, std::size_t i) const;
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
