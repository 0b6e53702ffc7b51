// janusc — dispatch tables of a checked program: what the compiler asks the cache for,
// what it builds on a miss, and the dispatch summary it writes from what it gets back.
//
// On a miss the builder does the work a compiler checking multiple dispatch must do:
// it resolves every tuple of argument types the generic function can receive (every
// subtype of each declared parameter type) and records how many tuples each method
// wins as the method's call frequency, a static profile under uniformly distributed
// argument types. The summary is then computed from the table alone (cached or just
// built, the same bytes), so a build writes identical summaries with or without the cache.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "janusc/program.hpp"
#include "jdc/build_cache_manager.hpp"
#include "jdc/cached_table.hpp"

namespace janusc {

// `--opt-level`: how the builder lays out a table. Part of the build identity.
enum class OptLevel : std::uint8_t {
    none = 0,      // methods in source order
    hot_path = 1,  // methods by descending call frequency (hot_path_optimization)
};

// A generic function whose argument-type tuples exceed this is a compile error: the
// exhaustive check would take minutes, and the fix (narrower declared types) is cheap.
inline constexpr std::uint64_t kMaxTuplesPerTable = 10'000'000;

struct TupleCounts {
    std::vector<std::uint64_t> wins;  // per implementation, in table order
    std::uint64_t ambiguous = 0;
    std::uint64_t no_method = 0;
    std::uint64_t tuples = 0;
};

// The argument types each parameter of `generic` can receive: the subtypes of its
// declared type. Pointers into `program`.
std::vector<const std::vector<jdc::TypeId>*> dispatch_domains(const Program& program, const Generic& generic);
// The product of the domains' sizes, saturating at UINT64_MAX.
std::uint64_t tuple_count(const Program& program, const Generic& generic);

// Resolves every tuple of `domains` (one type list per parameter) with jdc's reference
// resolver and counts the outcomes. The expensive part of a miss; one function so that
// a faster resolver can replace it in one place.
TupleCounts resolve_all_tuples(const jdc::DispatchTable& table, const jdc::TypeRegistry& registry,
                               std::span<const std::vector<jdc::TypeId>* const> domains);

// What the cache key of `generic`'s table is made of (jdc/table_inputs.hpp): its name
// and signature, and each method as build_dispatch_table lays it out (module, types,
// place), as views into `program`. No source file: a file edit that leaves these
// unchanged keeps the table.
jdc::TableInputs table_inputs(const Program& program, const Generic& generic);

// The builder run on a miss. Errors: those of jdc::validate (a compiler bug).
jdc::Result<jdc::BuiltTable> build_dispatch_table(const Program& program, const Generic& generic, OptLevel level);

// The summary of one generic function, from its table: declared signature, tuples,
// then every method, most specific first, with the tuples it wins.
std::string dispatch_summary(const jdc::CachedTable& table, const Program& program, const Generic& generic);

}  // namespace janusc
