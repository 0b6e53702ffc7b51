// Test support: small valid arenas keyed by a number, for storage tests.
#pragma once

#include <cstdint>
#include <vector>

#include "jdc/arena_builder.hpp"
#include "jdc/cache_key.hpp"
#include "support/random_model.hpp"

namespace jdc::testing {

inline CacheKey key_for(std::uint64_t n) { return {0x1000 + n * 0x9E3779B97F4A7C15ull, (n + 1) * 0xC2B2AE3D27D4EB4Full}; }

// A valid arena of roughly `implementations` * 80 bytes, distinct per seed.
inline std::vector<std::byte> arena_for(std::uint64_t seed, std::uint32_t implementations = 4) {
    auto m = make_random_model(seed, {8, 2, 2, implementations, true});
    auto bytes = build_arena(m.table, m.registry, {}, {1'700'000'000'000'000'000ull + seed});
    return bytes ? std::move(*bytes) : std::vector<std::byte>{};
}

}  // namespace jdc::testing
