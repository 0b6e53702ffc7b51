#include "util/utf8.hpp"

#include <cstddef>
#include <cstdint>

namespace jdc::detail {
namespace {

// The length of the well-formed sequence at `at`, or 0 with `bad` set to the length of
// its maximal ill-formed subpart (at least 1).
std::size_t sequence_at(std::string_view s, std::size_t at, std::size_t& bad) noexcept {
    const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(s[i]); };
    const std::uint8_t b0 = byte(at);
    if (b0 < 0x80) return 1;
    std::size_t length = 0;
    std::uint8_t lo = 0x80, hi = 0xBF;  // the range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) length = 2;
    else if (b0 == 0xE0) length = 3, lo = 0xA0;
    else if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) length = 3;
    else if (b0 == 0xED) length = 3, hi = 0x9F;  // no surrogates
    else if (b0 == 0xF0) length = 4, lo = 0x90;
    else if (b0 >= 0xF1 && b0 <= 0xF3) length = 4;
    else if (b0 == 0xF4) length = 4, hi = 0x8F;  // nothing above U+10FFFF
    if (length == 0) {
        bad = 1;  // a continuation byte, C0, C1 or F5..FF: never a lead byte
        return 0;
    }
    for (std::size_t k = 1; k < length; ++k) {
        const bool in_range = at + k < s.size() && byte(at + k) >= (k == 1 ? lo : 0x80) && byte(at + k) <= (k == 1 ? hi : 0xBF);
        if (!in_range) {
            bad = k;
            return 0;
        }
    }
    return length;
}

}  // namespace

bool is_valid_utf8(std::string_view text) noexcept {
    std::size_t bad = 0;
    for (std::size_t at = 0; at < text.size();) {
        const std::size_t n = sequence_at(text, at, bad);
        if (n == 0) return false;
        at += n;
    }
    return true;
}

std::string to_valid_utf8(std::string_view text) {
    if (is_valid_utf8(text)) return std::string(text);
    std::string out;
    out.reserve(text.size() + 8);
    std::size_t bad = 0;
    for (std::size_t at = 0; at < text.size();) {
        if (const std::size_t n = sequence_at(text, at, bad); n != 0) {
            out.append(text.substr(at, n));
            at += n;
        } else {
            out += "\xEF\xBF\xBD";
            at += bad;
        }
    }
    return out;
}

}  // namespace jdc::detail
