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

class HashStream {
public:
    HashStream() noexcept {
        XXH3_INITSTATE(&state_);
        XXH3_64bits_reset(&state_);
    }
    HashStream(const HashStream&) = delete;
    HashStream& operator=(const HashStream&) = delete;

    void u8(std::uint8_t v) noexcept { bytes(&v, 1); }
    void u32(std::uint32_t v) noexcept { bytes(&v, 4); }  // host is little-endian (arena_format.hpp)
    void u64(std::uint64_t v) noexcept { bytes(&v, 8); }
    void str(std::string_view s) noexcept {
        u32(static_cast<std::uint32_t>(s.size()));
        bytes(s.data(), s.size());
    }
    void bytes(const void* p, std::size_t n) noexcept { XXH3_64bits_update(&state_, p, n); }
    std::uint64_t digest() const noexcept { return XXH3_64bits_digest(&state_); }

private:
    XXH3_state_t state_;
};

}  // namespace jdc::detail
