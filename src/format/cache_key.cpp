#include "jdc/cache_key.hpp"

#include "util/hex.hpp"

namespace jdc {

std::string CacheKey::to_hex() const {
    std::string s;
    s.reserve(32);
    detail::append_hex(s, hi);
    detail::append_hex(s, lo);
    return s;
}

std::optional<CacheKey> CacheKey::from_hex(std::string_view hex) noexcept {
    if (hex.size() != 32) return std::nullopt;
    CacheKey k;
    for (std::size_t i = 0; i < 32; ++i) {
        const int v = detail::hex_digit_value(hex[i]);
        if (v < 0) return std::nullopt;
        std::uint64_t& half = i < 16 ? k.hi : k.lo;
        half = (half << 4) | static_cast<unsigned>(v);
    }
    return k;
}

}  // namespace jdc
