// jdc — payload compression of arenas (LZ4, zstd): the compact form for storage and
// transfer.
//
// format-spec/compressed-arena-v1.md is the normative, byte-by-byte description;
// this is its grammar. All integers little-endian.
//
//   compressed_arena := header(128) | u64 compressed_size | u64 compressed_checksum
//                       | u8 compressed[compressed_size]
//
//   header      the arena's own header (arena_format.hpp), unchanged except for
//               payload_codec (1 = one LZ4 block, 2 = one zstd frame with its content
//               size) and the metadata checksum, resealed over the changed byte.
//               total_size and data_checksum keep the uncompressed arena's values, so
//               the decompressed result is verified end to end by verify_arena(full).
//   compressed  the codec's encoding of the arena's bytes [128, total_size).
//   compressed_checksum  XXH3-64 (seed 0) of `compressed`: damage is caught before
//               any decompressor reads the bytes.
//   No alignment or padding: a compressed arena is never read in place.
//
// Why compress at all, and when not: the raw arena is the zero-copy form (mapped or
// read, verified, used in place). A compressed one must be decompressed into an owned
// buffer first, which costs more than reading the raw bytes from the page cache, so it
// pays only where bytes are scarce (cache size, disk, network). choose_codec() is the
// policy; its defaults and the measurements behind them are in CompressionPolicy.
//
// Decompression treats its input as untrusted: the header, every declared size and
// the compressed bytes' checksum are checked, total_size is held to
// VerifyLimits::max_total_size, and the data may expand at most kMaxCompressionRatio
// times, before anything is allocated or decoded (a decompression bomb is rejected by
// its header, not discovered by running it); the decoder must produce exactly the
// declared size; the result passes verify_arena(full) before it is returned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "jdc/arena_format.hpp"
#include "jdc/arena_verify.hpp"
#include "jdc/arena_view.hpp"
#include "jdc/error.hpp"
#include "jdc/export.hpp"

namespace jdc {

// Values are part of the on-disk format (header byte 37); never renumber.
enum class PayloadCodec : std::uint8_t {
    none = 0,  // the sections are stored raw and read in place
    lz4 = 1,   // one LZ4 block (liblz4 block format, no frame)
    zstd = 2,  // one zstd frame that records its content size
};
inline constexpr std::uint8_t kPayloadCodecCount = 3;

// "none", "lz4", "zstd"; "unknown" for a value without a name.
JDC_API std::string_view to_string(PayloadCodec codec) noexcept;

namespace arena {

// What follows the header of a compressed arena.
struct CompressedPrefix {
    std::uint64_t compressed_size;      // bytes of the codec's output after this prefix
    std::uint64_t compressed_checksum;  // XXH3-64, seed 0, of those bytes
};
static_assert(sizeof(CompressedPrefix) == 16);
static_assert(offsetof(CompressedPrefix, compressed_checksum) == 8);

// Header plus prefix: where the compressed bytes start.
inline constexpr std::size_t kCompressedHeaderSize = kHeaderSize + sizeof(CompressedPrefix);  // 144

}  // namespace arena

// The most an arena's data may expand: total_size - 128 is at most this many times
// compressed_size. Readers refuse a compressed arena that claims more, before they
// allocate (limit_exceeded); writers keep such an arena raw. Without it, a 2.2 KiB
// zstd frame of zeros declaring 64 MiB passes every other check and costs a reader a
// 64 MiB allocation and decode per lookup; with it, that needs 1 MiB of input.
//
// Measured (2026-12-03, data bytes over compressed bytes, the build's liblz4 1.9.4 and
// libzstd 1.5.4): tests/support/random_model tables of 1 to 30,000 implementations over 1
// to 20,000 types, arity 1 to 6, every dispatch form: at most 2.6 (LZ4), 3.5 (LZ4HC-12),
// 4.5 (zstd-3), 5.7 (zstd-19 and 22). The 1,000 tables of a `janusc gen --size 1000`
// project: at most 2.0 (LZ4), 3.0 (zstd-19). The most regular tables a generator could
// make (sequential type names, one method per type, one module and file, up to 50,000
// methods, or all of them on one type): at most 4.0 (LZ4) and 17.8 (zstd-19). Only a
// degenerate table of identical methods exceeds it (1,000 copies: LZ4 128, zstd 299;
// 50,000: LZ4 250, zstd 6,000): no compiler writes one, and it is stored raw. 64 leaves
// 3.6 times the most regular table's ratio.
inline constexpr std::uint64_t kMaxCompressionRatio = 64;

// The codec an intact arena header declares: the bytes hold at least a header whose
// magic, major version and metadata checksum are right. Anything else (too short,
// not an arena, damaged header) is PayloadCodec::none; a value without a name is
// returned as it is (decompress_arena then rejects it). O(1): triage only, nothing
// beyond the header is checked.
JDC_API PayloadCodec payload_codec_of(std::span<const std::byte> bytes) noexcept;
inline bool is_compressed_arena(std::span<const std::byte> bytes) noexcept {
    return payload_codec_of(bytes) != PayloadCodec::none;
}

// Compresses a raw arena. `arena` must pass verify_arena(full) with the default
// limits; `level` 0 means the codec's default:
//   lz4:  0 or 1 = LZ4 (fast), 2-12 = LZ4HC at that level (smaller, slower to write;
//         reading is as fast);
//   zstd: ZSTD_minCLevel() (negative: faster) .. ZSTD_maxCLevel() (22); 0 = 3.
// Errors: invalid_argument for codec none or an unknown codec, a level out of range,
// an input that is not a valid raw arena (the message says why, e.g. already
// compressed), or one that compresses more than kMaxCompressionRatio (readers would
// refuse it: store it raw). Deterministic for a given input, codec and level with this library
// build's liblz4 / libzstd.
JDC_API Result<std::vector<std::byte>> compress_arena(std::span<const std::byte> arena, PayloadCodec codec, int level = 0);

// Checks a compressed arena as far as possible without decoding it (the checks
// C1-C13 of compressed-arena-v1.md: header, sizes against `limits`, against what
// the codec can produce and against kMaxCompressionRatio, the compressed bytes'
// checksum) and returns the size of the arena it holds: the buffer
// decompress_arena_into needs. O(compressed size). Errors: bad_magic, truncated,
// unsupported_version (an unknown codec), checksum_mismatch, corrupt, limit_exceeded
// (total_size over limits.max_total_size, or more expansion than kMaxCompressionRatio);
// invalid_argument for a raw (uncompressed) arena.
JDC_API Result<std::uint64_t> decompressed_size(std::span<const std::byte> bytes, const VerifyLimits& limits = {});

// Decompresses into `out`, which must be exactly decompressed_size() bytes and must
// not overlap `bytes`. On success `out` holds a raw arena (payload_codec 0, metadata
// checksum resealed) that has passed verify_arena(full, limits): the arena that was
// compressed, byte for byte. On failure `out` holds unspecified bytes. Errors: those
// of decompressed_size; corrupt when the codec's data is malformed or decodes to any
// size but the declared one; then those of verify_arena (message prefixed
// "decompressed arena: "); invalid_argument when `out` has the wrong size.
JDC_API Result<void> decompress_arena_into(std::span<const std::byte> bytes, std::span<std::byte> out,
                                           const VerifyLimits& limits = {});

// decompress_arena_into, returning the view of `out` that verification opened, so
// that a reader does not verify the same bytes again (ArenaView::open). The view is
// valid while `out` is.
JDC_API Result<ArenaView> decompress_arena_view(std::span<const std::byte> bytes, std::span<std::byte> out, const VerifyLimits& limits = {});

// decompress_arena_into a new buffer of the right size.
JDC_API Result<std::vector<std::byte>> decompress_arena(std::span<const std::byte> bytes, const VerifyLimits& limits = {});

// ---------------------------------------------------------------------------
// Policy: which arenas to compress, with which codec.

enum class CodecChoice : std::uint8_t { automatic, none, lz4, zstd };

// "auto", "none", "lz4", "zstd" (the spelling of JANUS_CACHE_COMPRESSION).
JDC_API std::string_view to_string(CodecChoice choice) noexcept;
// The inverse of to_string, case-insensitive, surrounding blanks ignored ("off" also
// means none); nullopt for anything else.
JDC_API std::optional<CodecChoice> parse_codec_choice(std::string_view text) noexcept;

// What the compressed bytes are for; decides the codec CodecChoice::automatic picks.
enum class PayloadUse : std::uint8_t {
    storage,   // local cache files: decoded on every load, so decode speed rules (LZ4)
    transfer,  // network or remote tier: bytes on the wire rule (zstd)
};

// Defaults from bench/bench_codec.cpp (random_model tables, 2 cores, CPU time):
//   - Compression never makes a warm local load faster: ArenaView::open of a raw arena
//     verifies 4-8 GB/s; decompress_arena (decode + verify) runs ~2 GB/s with LZ4 and
//     ~0.7 GB/s with zstd. So for storage it buys space, and pays for it on every load.
//   - LZ4 vs zstd on the large table (1000 entries, 81.5 KiB): ratio 0.47 vs 0.33
//     (zstd-3), decode + verify 40 us vs 105-110 us (raw open: 11-15 us). For storage LZ4 gives
//     most of the saving at a third of zstd's load cost. On a wire at 100 MB/s the 11 KiB
//     zstd saves over LZ4 take ~110 us, more than its extra 60 us of decoding: zstd.
//   - storage min_size 64 KiB: from there a table saves >= ~30 KiB (8 disk blocks)
//     for ~+25 us per load, and compressing costs ~+70 % of build_arena's time (LZ4
//     115-130 us vs 168 us for the large table). The seed's small and medium classes (under
//     100 implementations, 1.4 and 6.8 KiB here) are the many, often loaded tables: they
//     would save less than a 4 KiB block each, and stay zero-copy.
//   - transfer min_size 4 KiB: below it an arena fits about as many packets either way.
//   - max_ratio 0.875: a table that does not shrink by 1/8 (unusually random names) is
//     kept raw: the load cost would buy almost nothing.
//   - level 0 (codec default: LZ4 fast, zstd 3): zstd-19 gains only 0.33 -> 0.28 for
//     ~100x the compression time (31-34 ms for the large table), LZ4HC-9 0.47 -> 0.42 for
//     ~30x; both decode as fast as the defaults.
struct CompressionPolicy {
    CodecChoice codec = CodecChoice::automatic;
    PayloadUse use = PayloadUse::storage;
    std::uint64_t min_size = 64 * 1024;  // arenas smaller than this stay raw
    double max_ratio = 0.875;            // compressed / raw above this: stay raw
    int level = 0;                       // compress_arena's level; 0 = codec default

    static CompressionPolicy for_storage() { return {}; }
    // Nothing compressed: the stores' default when they are used directly (the cache
    // layer turns compression on from CacheConfig).
    static CompressionPolicy off() {
        CompressionPolicy p;
        p.codec = CodecChoice::none;
        return p;
    }
    static CompressionPolicy for_transfer() {
        CompressionPolicy p;
        p.use = PayloadUse::transfer;
        p.min_size = 4 * 1024;
        return p;
    }
};

// The codec for an arena of `arena_size` bytes: none below policy.min_size or when
// policy.codec is none; else the chosen codec, or for automatic LZ4 (storage) or zstd
// (transfer).
JDC_API PayloadCodec choose_codec(std::uint64_t arena_size, const CompressionPolicy& policy) noexcept;

// Applies the policy to a raw arena: the compressed arena, or std::nullopt when the
// arena should stay raw (choose_codec says none, the result's ratio is above
// policy.max_ratio, or it compresses more than kMaxCompressionRatio, which readers
// refuse). Errors: those of compress_arena (invalid_argument).
JDC_API Result<std::optional<std::vector<std::byte>>> compress_by_policy(std::span<const std::byte> arena,
                                                                  const CompressionPolicy& policy);

}  // namespace jdc
