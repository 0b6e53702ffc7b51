// Internal: XXH3-64 over a canonical byte encoding (little-endian integers,
// u32-length-prefixed strings), streamed: no buffer, no allocation. The encodings
// behind structural hashes and table hashes are defined in format-spec/arena-v1.md
// in exactly these terms; streaming and one-shot XXH3 give the same digest.
#pragma once

#include <cstdint>
#include <string_view>

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

namespace jdc::detail {

// Bits: 64 (XXH3_64bits) or 128 (XXH3_128bits); the byte encoding is the same.
template <int Bits>
class BasicHashStream {
    static_assert(Bits == 64 || Bits == 128);

public:
    BasicHashStream() noexcept {
        XXH3_INITSTATE(&state_);
        if constexpr (Bits == 64) XXH3_64bits_reset(&state_);
        else XXH3_128bits_reset(&state_);
    }
    BasicHashStream(const BasicHashStream&) = delete;
    BasicHashStream& operator=(const BasicHashStream&) = delete;

    void u8(std::uint8_t v) noexcept { bytes(&v, 1); }
    void u32(std::uint32_t v) noexcept { bytes(&v, 4); }  // host is little-endian (arena_format.hpp)
    void u64(std::uint64_t v) noexcept { bytes(&v, 8); }
    void str(std::string_view s) noexcept {
        u32(static_cast<std::uint32_t>(s.size()));
        bytes(s.data(), s.size());
    }
    void bytes(const void* p, std::size_t n) noexcept {
        if constexpr (Bits == 64) XXH3_64bits_update(&state_, p, n);
        else XXH3_128bits_update(&state_, p, n);
    }
    auto digest() const noexcept {
        if constexpr (Bits == 64) return XXH3_64bits_digest(&state_);
        else return XXH3_128bits_digest(&state_);  // XXH128_hash_t {low64, high64}
    }

private:
    XXH3_state_t state_;
};

using HashStream = BasicHashStream<64>;
using HashStream128 = BasicHashStream<128>;

}  // namespace jdc::detail
