// jdc — what decides a dispatch table: the inputs a compiler gives the build cache.
//
// Cache layer. For each generic function the compiler describes its table by the
// inputs that decide it, and the cache key is a hash of exactly those inputs (see
// BuildCacheManager::cache_key), so every invalidation rule is a key change:
//   source file modified (content hash)        -> sources
//   dependency modified (transitive)           -> sources' transitive hashes
//   type definition changed                    -> types' structural hashes
//   generic function's signature changed       -> signature
//   compiler version changed                   -> BuildIdentity::compiler_version
//   build configuration changed                -> BuildIdentity::config_hash
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "jdc/cache_key.hpp"
#include "jdc/dispatch_table.hpp"

namespace jdc {

// The build as a whole: the same for every table of one compiler invocation.
struct BuildIdentity {
    std::string compiler_version;
    std::uint64_t config_hash = 0;  // hash of the flags and optimization settings that affect tables
};

struct SourceInput {
    std::string path;        // as the compiler names it (normalised by the caller)
    CacheKey content_hash;   // transitive: the file and everything it imports
};

// One table.
struct TableInputs {
    std::string name;                  // the generic function
    TypeSignature signature;
    std::vector<SourceInput> sources;  // files whose content determines the methods
    std::vector<TypeId> types;         // types whose definitions determine dispatch
};

}  // namespace jdc
