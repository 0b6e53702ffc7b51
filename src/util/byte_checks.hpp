// Internal: the small pieces every verifier of untrusted bytes uses (arena, pack):
// overflow-safe range checks, unaligned little-endian loads, and number text for
// error messages. Nothing here knows a format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "util/hex.hpp"  // hex(): number text for error messages

namespace jdc::detail {

// [offset, offset + length) lies within [0, size), without forming offset + length
// (which could wrap) or any out-of-range pointer.
constexpr bool in_range(std::uint64_t offset, std::uint64_t length, std::uint64_t size) noexcept {
    return length <= size && offset <= size - length;
}

// Reads a T at `offset` with memcpy (no alignment or aliasing assumptions). The
// caller has checked in_range(offset, sizeof(T), bytes.size()).
template <class T>
T load(std::span<const std::byte> bytes, std::uint64_t offset) noexcept {
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof(T));
    return value;
}

inline std::string n(std::uint64_t v) { return std::to_string(v); }

}  // namespace jdc::detail
