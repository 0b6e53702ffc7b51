// jdc — the 128-bit key that addresses a cache entry.
//
// Keys are content hashes (XXH3-128 of what determines a table: see the cache layer),
// so they are uniformly distributed: stores shard by the first hex digits and hash
// tables index by the low bits directly. The all-zero key is reserved (it marks an
// empty slot in on-disk hash tables) and is never produced by hashing in practice.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "jdc/export.hpp"

namespace jdc {

struct JDC_API CacheKey {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;

    bool is_zero() const noexcept { return hi == 0 && lo == 0; }
    auto operator<=>(const CacheKey&) const = default;

    // 32 lowercase hex digits, hi first.
    std::string to_hex() const;
    // Accepts exactly 32 hex digits (either case); nullopt otherwise.
    static std::optional<CacheKey> from_hex(std::string_view hex) noexcept;
};

struct CacheKeyHash {
    std::size_t operator()(const CacheKey& k) const noexcept { return static_cast<std::size_t>(k.lo ^ (k.hi * 0x9E3779B97F4A7C15ull)); }
};

}  // namespace jdc
