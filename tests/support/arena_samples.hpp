// Test support: small valid arenas keyed by a number, for storage tests.
#pragma once

#include <cstdint>
#include <random>
#include <set>
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

// `count` distinct non-zero random keys, the same for the same seed.
inline std::vector<CacheKey> random_keys(std::size_t count, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::set<CacheKey> seen;
    std::vector<CacheKey> keys;
    while (keys.size() < count) {
        const CacheKey k{rng(), rng()};
        if (!k.is_zero() && seen.insert(k).second) keys.push_back(k);
    }
    return keys;
}

}  // namespace jdc::testing
