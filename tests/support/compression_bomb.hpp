// Test support: decompression bombs. A compressed arena (compressed-arena-v1.md) that
// passes every check a reader can make without decoding except the expansion bound
// (kMaxCompressionRatio): a real arena's header with total_size raised, the metadata
// checksum resealed, total_size - 128 zero bytes compressed as one LZ4 block or one
// zstd frame that records its content size, and a right size and checksum in the
// prefix. Decoded, it is not a valid arena (the data checksum is the small arena's),
// so a reader without the bound allocates and decodes total_size bytes before it
// finds out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <lz4.h>
#include <xxhash.h>
#include <zstd.h>

#include "jdc/arena_format.hpp"
#include "jdc/payload_codec.hpp"
#include "support/arena_samples.hpp"

namespace jdc::testing {

// `total_size`: a multiple of 8; for LZ4 at most 255 times what zeros compress to
// (LZ4 cannot claim more, and the reader's older check C13c says so).
inline std::vector<std::byte> compression_bomb(PayloadCodec codec, std::uint64_t total_size) {
    const std::vector<std::byte> zeros(total_size - arena::kHeaderSize);
    std::vector<std::byte> payload;
    if (codec == PayloadCodec::lz4) {
        payload.resize(static_cast<std::size_t>(LZ4_compressBound(static_cast<int>(zeros.size()))));
        const int n = LZ4_compress_default(reinterpret_cast<const char*>(zeros.data()), reinterpret_cast<char*>(payload.data()),
                                           static_cast<int>(zeros.size()), static_cast<int>(payload.size()));
        if (n <= 0) throw std::runtime_error("compression_bomb: LZ4 failed");
        payload.resize(static_cast<std::size_t>(n));
    } else {
        payload.resize(ZSTD_compressBound(zeros.size()));
        const std::size_t n = ZSTD_compress(payload.data(), payload.size(), zeros.data(), zeros.size(), 3);
        if (ZSTD_isError(n)) throw std::runtime_error("compression_bomb: zstd failed");
        payload.resize(n);
    }
    const std::vector<std::byte> real = arena_for(1);
    arena::Header h;
    std::memcpy(&h, real.data(), arena::kHeaderSize);
    h.total_size = total_size;
    h.payload_codec = static_cast<std::uint8_t>(codec);
    std::vector<std::byte> out(arena::kCompressedHeaderSize + payload.size());
    std::memcpy(out.data(), &h, arena::kHeaderSize);
    h.metadata_checksum = XXH3_64bits(out.data(), arena::kMetadataChecksumCoverage);
    std::memcpy(out.data(), &h, arena::kHeaderSize);
    const arena::CompressedPrefix prefix{payload.size(), XXH3_64bits(payload.data(), payload.size())};
    std::memcpy(out.data() + arena::kHeaderSize, &prefix, sizeof prefix);
    std::memcpy(out.data() + arena::kCompressedHeaderSize, payload.data(), payload.size());
    return out;
}

}  // namespace jdc::testing
