// jdc — what decides a dispatch table: the inputs a compiler gives the build cache.
//
// Cache layer. The contract of this header:
//
//     If two builds give equal TableInputs (with equal BuildIdentity, over registries
//     that agree on the domains of the declared parameter types), the tables their
//     builders produce are byte-identical arenas, apart from created_at_ns.
//
// The cache key (BuildCacheManager::cache_key) is a hash of exactly these inputs, so
// an equal key means "this stored table is the one the builder would produce", and
// anything that does not change them — a comment, a method body, a type declared
// elsewhere in the hierarchy, a file re-saved — keeps the key (early cutoff, as in
// Bazel's action keys or Salsa). What the key covers:
//
//   build identity          compiler version, hash of the flags that shape tables
//   the generic function    name; declared parameter types and return type (by
//                           structural hash, which covers every supertype up to the
//                           roots)
//   its dispatch domains    for each declared parameter type, the digest of its
//                           domain (type_domain.hpp): which argument types exist and
//                           how they relate — a subtype added to it changes the key, a
//                           type added anywhere else does not
//   its methods             every field the arena stores of each method: name,
//                           module, id, parameter and return types (by structural
//                           hash), effects, source file, line and column — except
//                           what the builder derives from them (call frequencies,
//                           specificity ranks)
//   sources (optional)      content hashes of files whose *bytes* the table depends
//                           on; most compilers have none (a source file change is a
//                           reason to re-read the file, not to rebuild a table whose
//                           inputs are unchanged)
//
// Arenas number types by canonical domain rank, never by registry id, so the ids a
// compiler gives its types are not an input (arena_format.hpp). The builder must be a
// function of these inputs and the registry's domains: anything else it reads (profile
// data, an option not in config_hash) breaks the contract.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "jdc/cache_key.hpp"
#include "jdc/dispatch_table.hpp"
#include "jdc/export.hpp"

namespace jdc {

// The build as a whole: the same for every table of one compiler invocation.
struct BuildIdentity {
    std::string compiler_version;
    std::uint64_t config_hash = 0;  // hash of the flags and optimization settings that affect tables
};

struct SourceInput {
    std::string path;       // as the compiler names it (normalised by the caller)
    CacheKey content_hash;  // e.g. DependencyTracker::transitive_hash
};

// One method as the key sees it: what the arena will store about it, except what the
// builder derives. The views must stay valid during the call that takes the inputs
// (getOrBuildDispatchTable, cache_key, explain): a compiler points them into its own
// program, so computing a key allocates nothing per method.
struct MethodInput {
    std::string_view name;    // FunctionId::name
    std::string_view module;  // FunctionId::module
    std::uint32_t id = 0;     // FunctionId::id
    std::span<const TypeId> parameter_types;
    TypeId return_type = kInvalidType;
    std::uint32_t effects = 0;
    std::string_view file;  // SourceLocation
    std::uint32_t line = 0;
    std::uint32_t column = 0;
};

// One table.
struct TableInputs {
    std::string name;  // the generic function
    TypeSignature signature;
    // Every method of the table, in the order the builder receives them. When the
    // compiler cannot list them before building (the seed's form of
    // getOrBuildDispatchTable), `methods_known` is false: the key then covers the
    // name, signature and domains only, and the builder must be a function of those.
    std::vector<MethodInput> methods;
    bool methods_known = true;
    std::vector<SourceInput> sources;  // files whose bytes the table depends on: usually none
};

// The method inputs of a table the compiler already has (views into `table`, which
// must outlive them).
JDC_API std::vector<MethodInput> method_inputs(const DispatchTable& table);

}  // namespace jdc
