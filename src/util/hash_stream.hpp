// Internal: XXH3-64 over a canonical byte encoding (little-endian integers,
// u32-length-prefixed strings). The encodings behind structural hashes and table
// hashes are defined in format-spec/arena-v1.md in exactly these terms.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <xxhash.h>

namespace jdc::detail {

class HashStream {
public:
    void u8(std::uint8_t v) { bytes(&v, 1); }
    void u32(std::uint32_t v) { bytes(&v, 4); }  // host is little-endian (arena_format.hpp)
    void u64(std::uint64_t v) { bytes(&v, 8); }
    void str(std::string_view s) {
        u32(static_cast<std::uint32_t>(s.size()));
        bytes(s.data(), s.size());
    }
    void bytes(const void* p, std::size_t n) { buffer_.append(static_cast<const char*>(p), n); }
    std::uint64_t digest() const noexcept { return XXH3_64bits(buffer_.data(), buffer_.size()); }

private:
    std::string buffer_;
};

}  // namespace jdc::detail
