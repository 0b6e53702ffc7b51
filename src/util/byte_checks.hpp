// Internal: the small pieces every verifier of untrusted bytes uses (arena, pack):
// overflow-safe range checks, unaligned little-endian loads, and number text for
// error messages. Nothing here knows a format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

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

// 0x-prefixed lowercase hex without leading zeros: "0x4143444a".
inline std::string hex(std::uint64_t v) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s = "0x";
    bool started = false;
    for (int shift = 60; shift >= 0; shift -= 4) {
        const unsigned d = (v >> shift) & 0xF;
        if (d != 0 || started || shift == 0) {
            s += digits[d];
            started = true;
        }
    }
    return s;
}

inline std::string n(std::uint64_t v) { return std::to_string(v); }

}  // namespace jdc::detail
