// The store directory around the fuzzed index of cache_index_open_never_crashes: the
// keys it uses, shared with make_seed_corpus so that seed indexes list them.
#pragma once

#include <filesystem>
#include <string>

#include "jdc/cache_key.hpp"

namespace jdc::fuzzing {

inline constexpr CacheKey kIndexKeptKey{0x00aa55aa55aa55aaull, 0x1111111111111111ull};  // a valid arena always in the directory
inline constexpr CacheKey kIndexNewKey{0xff00ff00ff00ff00ull, 0x2222222222222241ull};   // put and removed by every input

// objects/<hh>/<key>.jdca (format-spec/cache-directory-v1.md §1).
inline std::filesystem::path loose_path(const std::filesystem::path& root, const CacheKey& key) {
    const std::string hex = key.to_hex();
    return root / "objects" / hex.substr(0, 2) / (hex + ".jdca");
}

}  // namespace jdc::fuzzing
