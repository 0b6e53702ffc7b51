// Internal: hexadecimal text of numbers, the two forms the library writes.
//  - Fixed width, lowercase, zero-padded (append_hex, hex64): names and records that
//    other code parses back or compares as text (cache keys, the 64-bit hashes of the
//    inputs log, temporary file names). Written without printf: records are built once
//    per type of every stored table.
//  - 0x-prefixed without leading zeros (hex): numbers in error messages, for a person.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace jdc::detail {

inline constexpr char kHexDigits[] = "0123456789abcdef";

// Appends the low `digits` hex digits of `v` (at most 16), most significant first.
inline void append_hex(std::string& out, std::uint64_t v, int digits = 16) {
    char text[16];  // digits <= 16
    for (int i = digits - 1; i >= 0; --i, v >>= 4) text[i] = kHexDigits[v & 0xF];
    out.append(text, static_cast<std::size_t>(digits));
}

// 16 lowercase hex digits: "00000000075bcd15".
inline std::string hex64(std::uint64_t v) {
    std::string out;
    out.reserve(16);
    append_hex(out, v);
    return out;
}

// "0x4143444a"; "0x0" for zero.
inline std::string hex(std::uint64_t v) {
    std::string s = "0x";
    bool started = false;
    for (int shift = 60; shift >= 0; shift -= 4) {
        const unsigned d = (v >> shift) & 0xF;
        if (d != 0 || started || shift == 0) {
            s += kHexDigits[d];
            started = true;
        }
    }
    return s;
}

// The value of one hex digit (either case); -1 for anything else.
constexpr int hex_digit_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Only the digits the fixed-width form writes (0-9, a-f).
constexpr bool is_lower_hex(std::string_view s) noexcept {
    for (const char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

}  // namespace jdc::detail
