// Fuzz target: decompress_arena never crashes, never exceeds its cap, and what it
// returns is a valid arena (format-spec/compressed-arena-v1.md).
//
// For the input as given and for a copy with the header checksum and the
// compressed-bytes checksum re-sealed (so mutations reach the size checks and the
// LZ4 / zstd decoders instead of stopping at checksum_mismatch):
//   - decompressed_size and decompress_arena return, with a non-empty reason and an
//     error class the reader may use; they agree: a failure of the checks before
//     decoding is also decompress_arena's failure, word for word;
//   - a declared size is never over the cap (kCap, far below the default 1 GiB);
//   - on success: the result has the declared size, is a raw arena
//     (payload_codec_of = none), ArenaView::open accepts it, decompress_arena_into
//     gives the same bytes, and compressing it again with the input's codec and
//     decompressing gives it back; verify_arena on the compressed input refuses it
//     as unsupported_version (compressed, decompress first).
// An input that is itself a valid raw arena is compressed with both codecs and must
// round-trip byte for byte.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include <xxhash.h>

#include "fuzz_support.hpp"
#include "jdc/arena_verify.hpp"
#include "jdc/arena_view.hpp"
#include "jdc/payload_codec.hpp"

namespace {

using namespace jdc;

constexpr std::uint64_t kCap = 1u << 20;

VerifyLimits capped() {
    VerifyLimits limits;
    limits.max_total_size = kCap;
    return limits;
}

// A raw arena given to decompress is the caller's mistake (C5), not damage.
bool is_reader_error(ErrorCode c) { return fuzzing::is_verifier_error(c) || c == ErrorCode::invalid_argument; }

// What a writer does last: the compressed bytes' checksum, then the header's.
void reseal_compressed(std::span<std::byte> bytes) {
    if (bytes.size() < arena::kHeaderSize) return;
    if (bytes.size() >= arena::kCompressedHeaderSize) {
        const std::uint64_t sum =
            XXH3_64bits(bytes.data() + arena::kCompressedHeaderSize, bytes.size() - arena::kCompressedHeaderSize);
        std::memcpy(bytes.data() + arena::kHeaderSize + offsetof(arena::CompressedPrefix, compressed_checksum), &sum, 8);
    }
    const std::uint64_t meta = XXH3_64bits(bytes.data(), arena::kMetadataChecksumCoverage);
    std::memcpy(bytes.data() + offsetof(arena::Header, metadata_checksum), &meta, 8);
}

void round_trip_raw(std::span<const std::byte> raw) {
    for (PayloadCodec codec : {PayloadCodec::lz4, PayloadCodec::zstd}) {
        auto packed = compress_arena(raw, codec);
        JDC_FUZZ_CHECK(packed.has_value(), "a verified raw arena does not compress: " + packed.error().message);
        auto back = decompress_arena(*packed);
        JDC_FUZZ_CHECK(back.has_value(), "a compressed arena does not decompress: " + back.error().message);
        JDC_FUZZ_CHECK(back->size() == raw.size() && std::memcmp(back->data(), raw.data(), raw.size()) == 0,
                       "round trip changed the arena");
    }
}

void exercise(std::span<const std::byte> bytes) {
    const VerifyLimits limits = capped();
    const auto size = decompressed_size(bytes, limits);
    const auto arena = decompress_arena(bytes, limits);
    for (const Error* e : {size ? nullptr : &size.error(), arena ? nullptr : &arena.error()}) {
        if (e == nullptr) continue;
        JDC_FUZZ_CHECK(is_reader_error(e->code), "unexpected error class " + std::string(to_string(e->code)));
        JDC_FUZZ_CHECK(!e->message.empty(), "rejection without a reason");
    }
    if (!size) {
        JDC_FUZZ_CHECK(!arena, "decompressed what decompressed_size rejected: " + size.error().message);
        JDC_FUZZ_CHECK(arena.error().code == size.error().code && arena.error().message == size.error().message,
                       "checks disagree: '" + size.error().message + "' vs '" + arena.error().message + "'");
        if (size.error().code == ErrorCode::invalid_argument && verify_arena(bytes, VerifyLevel::full)) round_trip_raw(bytes);
        return;
    }
    JDC_FUZZ_CHECK(*size <= kCap, "declared size " + std::to_string(*size) + " passed a cap of " + std::to_string(kCap));
    if (!arena) return;

    JDC_FUZZ_CHECK(arena->size() == *size, "result size differs from the declared size");
    JDC_FUZZ_CHECK(payload_codec_of(*arena) == PayloadCodec::none, "result is not a raw arena");
    JDC_FUZZ_CHECK(ArenaView::open(*arena, limits).has_value(), "ArenaView::open refuses a decompressed arena");
    std::vector<std::byte> into(*size);
    JDC_FUZZ_CHECK(decompress_arena_into(bytes, into, limits).has_value() && into == *arena, "decompress_arena_into differs");
    const auto refused = verify_arena(bytes, VerifyLevel::full);
    JDC_FUZZ_CHECK(!refused && refused.error().code == ErrorCode::unsupported_version,
                   "verify_arena does not refuse a compressed arena as compressed");

    const PayloadCodec codec = payload_codec_of(bytes);
    auto again = compress_arena(*arena, codec);
    JDC_FUZZ_CHECK(again.has_value(), "a decompressed arena does not compress again: " + again.error().message);
    auto back = decompress_arena(*again, limits);
    JDC_FUZZ_CHECK(back.has_value() && *back == *arena, "recompressing does not round-trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::byte> raw(reinterpret_cast<const std::byte*>(data), size);
    exercise(raw);
    if (size >= arena::kHeaderSize) {
        std::vector<std::byte> sealed(raw.begin(), raw.end());
        reseal_compressed(sealed);
        exercise(sealed);
        // A raw arena mutated with both of its checksums resealed: the compress side.
        std::vector<std::byte> raw_sealed(raw.begin(), raw.end());
        fuzzing::reseal(raw_sealed);
        if (verify_arena(raw_sealed, VerifyLevel::full)) round_trip_raw(raw_sealed);
    }
    return 0;
}
