// Internal: XXH3-64 over a canonical byte encoding (little-endian integers,
// u32-length-prefixed strings), streamed: no buffer, no allocation. The encodings
// behind structural hashes and table hashes are defined in format-spec/arena-v1.md
// in exactly these terms; streaming and one-shot XXH3 give the same digest.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

namespace jdc::detail {

// Bits: 64 (XXH3_64bits) or 128 (XXH3_128bits); the byte encoding is the same.
template <int Bits>
class BasicHashStream {
    static_assert(Bits == 64 || Bits == 128);

public:
    // The XXH3 state is set up only when the encoding outgrows the buffer: most
    // encodings (a type, a domain, a table key) fit in it and are hashed in one call,
    // which gives the same digest as the streaming form and costs a fraction of it.
    BasicHashStream() noexcept = default;
    BasicHashStream(const BasicHashStream&) = delete;
    BasicHashStream& operator=(const BasicHashStream&) = delete;

    void u8(std::uint8_t v) noexcept { bytes(&v, 1); }
    void u32(std::uint32_t v) noexcept { bytes(&v, 4); }  // host is little-endian (arena_format.hpp)
    void u64(std::uint64_t v) noexcept { bytes(&v, 8); }
    void str(std::string_view s) noexcept {
        u32(static_cast<std::uint32_t>(s.size()));
        bytes(s.data(), s.size());
    }
    // Small writes are gathered in a local buffer: XXH3's update call costs about a
    // hundred instructions whatever its size, and encodings are mostly 4-8 byte fields.
    void bytes(const void* p, std::size_t n) noexcept {
        if (n > sizeof(buffer_) - used_) {
            flush();
            if (n > sizeof(buffer_)) {
                update(p, n);
                return;
            }
        }
        std::memcpy(buffer_ + used_, p, n);
        used_ += n;
    }
    auto digest() noexcept {
        if (!streaming_) {
            if constexpr (Bits == 64) return XXH3_64bits(buffer_, used_);
            else return XXH3_128bits(buffer_, used_);  // XXH128_hash_t {low64, high64}
        }
        flush();
        if constexpr (Bits == 64) return XXH3_64bits_digest(&state_);
        else return XXH3_128bits_digest(&state_);
    }

private:
    void update(const void* p, std::size_t n) noexcept {
        if (!streaming_) {
            streaming_ = true;
            XXH3_INITSTATE(&state_);
            if constexpr (Bits == 64) XXH3_64bits_reset(&state_);
            else XXH3_128bits_reset(&state_);
        }
        if constexpr (Bits == 64) XXH3_64bits_update(&state_, p, n);
        else XXH3_128bits_update(&state_, p, n);
    }
    void flush() noexcept {
        if (used_ != 0) update(buffer_, used_);
        used_ = 0;
    }
    XXH3_state_t state_;  // set up by the first update()
    bool streaming_ = false;
    std::size_t used_ = 0;
    unsigned char buffer_[1024];
};

using HashStream = BasicHashStream<64>;
using HashStream128 = BasicHashStream<128>;

}  // namespace jdc::detail
