// janusc — `janusc gen`: a deterministic generator of Janus projects for builds and
// benchmarks.
//
// The same options give the same bytes on every machine (its own PRNG, no
// std::uniform_*_distribution, no hash-order iteration). The project looks like a
// real code base: a few `core.*` modules that most modules import (core.base declares
// the root `Any`), packages of modules importing core modules, earlier modules of
// their own package and sometimes another package (a DAG: a module imports only
// modules generated before it); type hierarchies several levels deep with occasional
// multiple inheritance; generic functions of arity 1 (half), 2 and 3, declared over
// types whose subtrees keep the exhaustive check affordable, with methods in the
// declaring module and sometimes in modules that import it, some of them ambiguous
// for some argument types. Method bodies call other visible generic functions.
#pragma once

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

struct GeneratedProject {
    std::vector<GeneratedFile> files;  // sorted by path
    std::size_t modules = 0, types = 0, generics = 0, methods = 0;
};

// The sizes `--size` accepts: small (100 functions), medium (1,000), large (10,000)
// or a number of functions (1 to kMaxGeneratedFunctions).
inline constexpr std::size_t kMaxGeneratedFunctions = 1'000'000;
std::optional<std::size_t> parse_project_size(std::string_view text);

GeneratedProject generate_project(const GeneratorOptions& options);

// Writes the files under `out`, which must not exist or be an empty directory (a
// generator never overwrites a project). Errors: invalid_argument (not empty), io.
jdc::Result<void> write_project(const GeneratedProject& project, const std::filesystem::path& out);

}  // namespace janusc
