// Fuzz support: property checks that abort, checksum re-sealing, and reading small
// values out of fuzz input.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include <xxhash.h>

#include "jdc/arena_format.hpp"
#include "jdc/error.hpp"

// A violated property is a finding: print it and abort, so libFuzzer (and the
// replay driver, and CI) records a crash with this message.
#define JDC_FUZZ_CHECK(cond, what)                                                                           \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            std::fprintf(stderr, "%s:%d: property violated: %s\n  %s\n", __FILE__, __LINE__, #cond,         \
                         std::string(what).c_str());                                                        \
            std::abort();                                                                                    \
        }                                                                                                    \
    } while (0)

namespace jdc::fuzzing {

// The error classes a verifier of untrusted bytes may report (arenas, packs, the
// cache index, the dependency state): anything else (io, not_found, ...) from a
// pure check of bytes is a finding.
inline bool is_verifier_error(ErrorCode c) {
    switch (c) {
        case ErrorCode::bad_magic:
        case ErrorCode::unsupported_version:
        case ErrorCode::truncated:
        case ErrorCode::corrupt:
        case ErrorCode::checksum_mismatch:
        case ErrorCode::limit_exceeded: return true;
        default: return false;
    }
}

// A rejection of untrusted bytes names a permitted error class and gives a reason.
inline void check_rejection(const Error& e, std::string_view what) {
    JDC_FUZZ_CHECK(is_verifier_error(e.code), std::string(what) + ": unexpected error class " + std::string(to_string(e.code)) + ": " + e.message);
    JDC_FUZZ_CHECK(!e.message.empty(), std::string(what) + ": rejection without a reason");
}

// Recomputes both checksums in place, as a writer does last (format-spec §7):
// data_checksum over [128, min(total_size, size)), then metadata_checksum over
// [0, 120). Mutated inputs almost never carry valid checksums, so without this the
// fuzzer would rarely get past them to the structural checks. No-op below 128 bytes.
inline void reseal(std::span<std::byte> bytes) {
    if (bytes.size() < arena::kHeaderSize) return;
    std::uint64_t total_size;
    std::memcpy(&total_size, bytes.data() + offsetof(arena::Header, total_size), 8);
    const std::uint64_t end = std::min<std::uint64_t>(total_size, bytes.size());
    const std::uint64_t data_len = end > arena::kHeaderSize ? end - arena::kHeaderSize : 0;
    const std::uint64_t data = XXH3_64bits(bytes.data() + arena::kHeaderSize, data_len);
    std::memcpy(bytes.data() + offsetof(arena::Header, data_checksum), &data, 8);
    const std::uint64_t meta = XXH3_64bits(bytes.data(), arena::kMetadataChecksumCoverage);
    std::memcpy(bytes.data() + offsetof(arena::Header, metadata_checksum), &meta, 8);
}

// Folds bytes into a value the optimizer cannot drop.
class Sink {
public:
    void mix(std::uint64_t v) noexcept { state_ = (state_ ^ v) * 0x100000001b3ull; }
    void mix(std::string_view s) noexcept {
        mix(s.size());
        for (char c : s) mix(static_cast<unsigned char>(c));
    }
    std::uint64_t value() const noexcept { return state_; }

private:
    std::uint64_t state_ = 0xcbf29ce484222325ull;
};

// Consumes fuzz input front to back; past the end every read yields zeros.
class ByteReader {
public:
    ByteReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

    std::uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
    std::uint32_t u32() {
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v |= std::uint32_t{u8()} << (8 * i);
        return v;
    }
    std::uint64_t u64() { return u32() | (std::uint64_t{u32()} << 32); }
    // Up to max_length raw bytes (length from the next byte).
    std::string string(std::size_t max_length) {
        // The length byte is read first: as two arguments of one call, the order of
        // u8() and size_ - pos_ would be unspecified (g++ and clang differ), and
        // reading the remaining size before u8() advanced overran by one byte.
        const std::size_t wanted = u8() % (max_length + 1);
        const std::size_t n = std::min<std::size_t>(wanted, size_ - pos_);
        std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
        pos_ += n;
        return s;
    }
    bool empty() const noexcept { return pos_ >= size_; }

private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
};

}  // namespace jdc::fuzzing
