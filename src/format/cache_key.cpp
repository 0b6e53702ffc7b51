#include "jdc/cache_key.hpp"

namespace jdc {

std::string CacheKey::to_hex() const {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s(32, '0');
    for (int i = 0; i < 16; ++i) {
        s[i] = digits[(hi >> (60 - 4 * i)) & 0xF];
        s[16 + i] = digits[(lo >> (60 - 4 * i)) & 0xF];
    }
    return s;
}

std::optional<CacheKey> CacheKey::from_hex(std::string_view hex) noexcept {
    if (hex.size() != 32) return std::nullopt;
    CacheKey k;
    for (std::size_t i = 0; i < 32; ++i) {
        const char c = hex[i];
        unsigned v;
        if (c >= '0' && c <= '9') v = unsigned(c - '0');
        else if (c >= 'a' && c <= 'f') v = unsigned(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v = unsigned(c - 'A' + 10);
        else return std::nullopt;
        std::uint64_t& half = i < 16 ? k.hi : k.lo;
        half = (half << 4) | v;
    }
    return k;
}

}  // namespace jdc
