// janusc — `janusc gen`: a deterministic generator of Janus projects for builds and
// benchmarks.
//
// The same options give the same bytes on every machine (its own PRNG, no
// std::uniform_*_distribution, no hash-order iteration). Every project it writes is a
// valid program whose dispatch tables stay within kMaxTuplesPerTable. What it draws
// from (docs/janus-language.md, "Generated projects", says the same):
//
// Modules. size/10 modules (at least 4): a few `core.*` modules that most modules
//   import (core.base declares the root `Any` and Value, Object, Number, Text,
//   Collection, Resource, Event, Error), then packages of 4-12 modules importing core
//   modules, earlier modules of their own package and sometimes another package's (a
//   DAG: a module imports only modules generated before it).
// Types. 3-7 per module (6-10 in core modules). A supertype is one of the module's
//   own types (40%), an imported module's (35%) or any visible type, the deeper of two
//   such draws (hierarchies up to 16 levels). 15% of types have two supertypes, and
//   two times in three the second shares an ancestor other than Any with the first: a
//   diamond. About 12% of types are numeric (under Number, at most 400 of them: the
//   domain of the arithmetic generics below stays within 160,000 tuples), with their
//   own multiple inheritance and diamonds.
// Generic functions. Arity 1 (50%), 2 (35%) or 3 (15%), declared over visible types
//   whose subtrees fit a tuple budget drawn log-uniformly from 4 to 3,072 (median
//   ~100); results are built-in types (85%) or a visible type. Methods: a default one
//   (65%), then 1, 2, 3, 5 or 8 (30/25/20/15/10%) in the declaring module, and 1-3
//   more in modules that import it (70% of core functions, 35% of others); each
//   parameter is the declared type (25%: partial specializations, where ambiguities
//   come from) or a visible subtype of it.
// The long tail. From 100 functions on, core.base also declares up to six generic
//   functions with many methods, as printing and arithmetic have in real code:
//   show(x: Any) -> string (up to 500 methods), plus(x: Number, y: Number) -> Number
//   (400), hash(x: Any) -> i32 (300), times(Number, Number) -> Number (250),
//   describe(x: Object) -> string (150, no default method), minus(Number, Number) ->
//   Number (100). Modules define them for their own types: show for 40% of them,
//   hash 25%, describe 15% (fewer when the cap would be exceeded), and three times in
//   four for a type with several supertypes, as code settling the ambiguity between
//   its supertypes' methods does; each numeric type adds plus/times/minus methods with
//   itself, with another visible numeric type (70%), and half-specialized ones such as
//   plus(A, Number) and plus(Number, A) (15% each), which compete for some argument
//   types as real promotion rules do.
// Bodies. Each method makes 0-6 calls (5/15/25/25/15/10/5%: 2.85 on average, fewer
//   when nothing fits) of visible generic functions: one argument is one of the
//   method's parameters or earlier results (the callee is declared over one of its
//   ancestors), the others values in scope whose static types fit; a fifth of the
//   calls go to the long tail. Results of numeric type and of declared types are
//   bound by `let` and feed later calls, so many calls have abstract argument types.
//   A call is made where every tuple of its cone (the tuples of subtypes of its
//   argument types) resolves to one method, as code calls functions defined for its
//   types and interfaces they implement; but one call on abstract types in ten is made
//   regardless: those can be ambiguous or lack a method, what a compiler warns about. A cone holds at most 64 tuples: call sites
//   are resolved by enumerating their cones. Every `return` is numeric, so a
//   benchmark that prefixes it with `1 + ` keeps the program valid.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jdc/error.hpp"

namespace janusc {

struct GeneratorOptions {
    std::size_t functions = 100;  // generic functions
    std::uint64_t seed = 1;
};

struct GeneratedFile {
    std::string path;  // relative, '/'-separated: "geometry/shapes.jn"
    std::string text;
};

// What a project is made of, as `janusc gen` prints it.
struct GeneratorStats {
    // Methods per generic function: median, 90th and 99th percentiles, maximum, and
    // how many functions have 0, 1-4, 5-9, 10-99 and 100 or more methods.
    std::size_t methods_median = 0, methods_p90 = 0, methods_p99 = 0, methods_max = 0;
    std::array<std::size_t, 5> methods_histogram{};
    std::size_t call_sites = 0;      // calls of generic functions in method bodies
    std::size_t abstract_calls = 0;  // ... with an argument whose static type has subtypes
    int max_depth = 0;               // of the type hierarchy: longest supertype chain
    double mean_depth = 0;
    std::size_t multiple_inheritance = 0;  // types with several supertypes
    std::size_t diamonds = 0;  // ... two of which share an ancestor other than Any
    std::size_t numeric_types = 0;  // under Number
};

struct GeneratedProject {
    std::vector<GeneratedFile> files;  // sorted by path
    std::size_t modules = 0, types = 0, generics = 0, methods = 0;
    GeneratorStats stats;
};

// The statistics as `janusc gen` prints them: three lines, each ending in a newline.
std::string describe_stats(const GeneratedProject& project);

// The sizes `--size` accepts: small (100 functions), medium (1,000), large (10,000)
// or a number of functions (1 to kMaxGeneratedFunctions).
inline constexpr std::size_t kMaxGeneratedFunctions = 1'000'000;
std::optional<std::size_t> parse_project_size(std::string_view text);

GeneratedProject generate_project(const GeneratorOptions& options);

// Writes the files under `out`, which must not exist or be an empty directory (a
// generator never overwrites a project). Errors: invalid_argument (not empty), io.
jdc::Result<void> write_project(const GeneratedProject& project, const std::filesystem::path& out);

}  // namespace janusc
