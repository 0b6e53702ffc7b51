#include "jdc/payload_codec.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include <lz4.h>
#include <lz4hc.h>
#include <xxhash.h>
#include <zstd.h>

#include "util/byte_checks.hpp"

namespace jdc {
namespace {

using namespace arena;
using detail::hex;
using detail::load;
using detail::n;

// Every output byte of an LZ4 block is a literal (one input byte each) or part of a
// match; the longest match per input byte is one 255-valued length byte. So no valid
// block of c bytes decodes to more than 255 * c bytes: a larger claim is rejected
// before anything is allocated.
constexpr std::uint64_t kLz4MaxExpansion = 255;

constexpr int kLz4MaxLevel = LZ4HC_CLEVEL_MAX;

void reseal_metadata(Header& h, std::span<std::byte> header_bytes) {
    std::memcpy(header_bytes.data(), &h, kHeaderSize);
    h.metadata_checksum = XXH3_64bits(header_bytes.data(), kMetadataChecksumCoverage);
    std::memcpy(header_bytes.data() + offsetof(Header, metadata_checksum), &h.metadata_checksum, 8);
}

// One compression and one decompression context per thread: creating a zstd context
// allocates and initializes hundreds of KiB, more than compressing a small arena costs.
struct ZstdContexts {
    std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx{nullptr, ZSTD_freeCCtx};
    std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx{nullptr, ZSTD_freeDCtx};
};
ZstdContexts& zstd_contexts() {
    thread_local ZstdContexts contexts;
    return contexts;
}

// LZ4HC's state is 256 KiB; LZ4_compress_HC would allocate and free one per call.
void* lz4hc_state() {
    thread_local std::unique_ptr<std::byte[]> state(new std::byte[static_cast<std::size_t>(LZ4_sizeofStateHC())]);
    return state.get();
}

Result<std::size_t> compress_lz4(std::span<const std::byte> src, std::span<std::byte> dst, int level) {
    const auto* in = reinterpret_cast<const char*>(src.data());
    auto* out = reinterpret_cast<char*>(dst.data());
    const int in_size = static_cast<int>(src.size());
    const int capacity = static_cast<int>(dst.size());
    const int written = level <= 1 ? LZ4_compress_default(in, out, in_size, capacity)
                                   : LZ4_compress_HC_extStateHC(lz4hc_state(), in, out, in_size, capacity, level);
    // With capacity >= LZ4_compressBound the library guarantees success.
    if (written <= 0) return make_error(ErrorCode::invalid_argument, "LZ4 compression of " + n(src.size()) + " bytes failed");
    return static_cast<std::size_t>(written);
}

Result<std::size_t> compress_zstd(std::span<const std::byte> src, std::span<std::byte> dst, int level) {
    auto& ctx = zstd_contexts().cctx;
    if (!ctx) ctx.reset(ZSTD_createCCtx());
    if (!ctx) throw std::bad_alloc();  // as any other allocation of the library would
    ZSTD_CCtx_reset(ctx.get(), ZSTD_reset_session_and_parameters);
    // The frame must record its content size: the reader checks it before allocating.
    // zstd's own content checksum is left off: data_checksum covers the same bytes.
    ZSTD_CCtx_setParameter(ctx.get(), ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(ctx.get(), ZSTD_c_contentSizeFlag, 1);
    ZSTD_CCtx_setParameter(ctx.get(), ZSTD_c_checksumFlag, 0);
    const std::size_t written = ZSTD_compress2(ctx.get(), dst.data(), dst.size(), src.data(), src.size());
    if (ZSTD_isError(written))
        return make_error(ErrorCode::invalid_argument,
                          "zstd compression of " + n(src.size()) + " bytes failed: " + ZSTD_getErrorName(written));
    return written;
}

Result<void> check_level(PayloadCodec codec, int level) {
    int lowest = 0, highest = 0;
    switch (codec) {
        case PayloadCodec::lz4: highest = kLz4MaxLevel; break;
        case PayloadCodec::zstd:
            lowest = ZSTD_minCLevel();
            highest = ZSTD_maxCLevel();
            break;
        case PayloadCodec::none: break;
    }
    if (level < lowest || level > highest)
        return make_error(ErrorCode::invalid_argument, std::string(to_string(codec)) + " level " + std::to_string(level) +
                                                           " is outside " + std::to_string(lowest) + ".." + std::to_string(highest));
    return {};
}

// More expansion than kMaxCompressionRatio (C13f): data_size > ratio * compressed_size,
// without the multiplication, which a made-up compressed_size could overflow.
bool exceeds_ratio(std::uint64_t data_size, std::uint64_t compressed_size) {
    return data_size / kMaxCompressionRatio > compressed_size ||
           (data_size / kMaxCompressionRatio == compressed_size && data_size % kMaxCompressionRatio != 0);
}

// The most bytes `codec` can write for `data_size` input bytes; 0 when the codec cannot
// take that much input at all.
std::uint64_t compress_bound(PayloadCodec codec, std::uint64_t data_size) {
    if (codec == PayloadCodec::lz4) {
        if (data_size > LZ4_MAX_INPUT_SIZE) return 0;
        return static_cast<std::uint64_t>(LZ4_compressBound(static_cast<int>(data_size)));
    }
    const std::size_t bound = ZSTD_compressBound(data_size);
    return ZSTD_isError(bound) ? 0 : bound;
}

// The checks of a compressed arena that need no decoding, in the order of
// compressed-arena-v1.md §5 (C1-C13). On success `header` holds the stored header.
Result<void> check_compressed(std::span<const std::byte> bytes, const VerifyLimits& limits, Header& header) {
    const std::uint64_t size = bytes.size();
    if (size >= 4 && load<std::uint32_t>(bytes, 0) != kMagic)  // C1
        return make_error(ErrorCode::bad_magic, "not a jdc arena: magic is " + hex(load<std::uint32_t>(bytes, 0)) +
                                                    ", expected " + hex(kMagic) + " (\"JDCA\")");
    if (size < kHeaderSize)  // C2
        return make_error(ErrorCode::truncated, "compressed arena is " + n(size) + " bytes, shorter than its " +
                                                    n(kHeaderSize) + "-byte header");
    const Header& h = header = load<Header>(bytes, 0);
    if (!is_readable_major(h.version_major))  // C3
        return make_error(ErrorCode::unsupported_version, "arena format version " + n(h.version_major) + "." +
                                                              n(h.version_minor) + " is not supported: this reader reads formats " +
                                                              n(kOldestReadableMajor) + ".x to " + n(kVersionMajor) + ".x");
    const std::uint64_t expected_meta = XXH3_64bits(bytes.data(), kMetadataChecksumCoverage);
    if (h.metadata_checksum != expected_meta)  // C4
        return make_error(ErrorCode::checksum_mismatch, "header checksum mismatch: stored " + hex(h.metadata_checksum) +
                                                            ", computed " + hex(expected_meta));
    if (h.payload_codec == static_cast<std::uint8_t>(PayloadCodec::none))  // C5
        return make_error(ErrorCode::invalid_argument,
                          "arena is not compressed (payload codec 0): open it in place (ArenaView::open), do not decompress it");
    if (h.payload_codec >= kPayloadCodecCount)  // C6
        return make_error(ErrorCode::unsupported_version, "payload codec " + n(h.payload_codec) +
                                                              " is unknown to this reader (it knows 1 = LZ4, 2 = zstd)");
    const auto codec = static_cast<PayloadCodec>(h.payload_codec);
    const std::string name(to_string(codec));
    if (h.header_size != kHeaderSize)  // C7
        return make_error(ErrorCode::corrupt, "header_size is " + n(h.header_size) + ", expected " + n(kHeaderSize));
    if (h.total_size > limits.max_total_size)  // C8
        return make_error(ErrorCode::limit_exceeded, "compressed arena declares " + n(h.total_size) +
                                                         " bytes uncompressed, over the limit of " + n(limits.max_total_size) +
                                                         " (nothing was allocated or decompressed)");
    if (h.total_size < kHeaderSize || h.total_size % kAlignment != 0)  // C9
        return make_error(ErrorCode::corrupt, "compressed arena declares total_size " + n(h.total_size) +
                                                  ", which is not a multiple of 8 of at least " + n(kHeaderSize));
    if (size < kCompressedHeaderSize)  // C10
        return make_error(ErrorCode::truncated, "compressed arena is " + n(size) + " bytes, shorter than its " +
                                                    n(kCompressedHeaderSize) + "-byte header and prefix");
    const auto prefix = load<CompressedPrefix>(bytes, kHeaderSize);
    const std::uint64_t present = size - kCompressedHeaderSize;
    if (prefix.compressed_size > present)  // C11
        return make_error(ErrorCode::truncated, "compressed arena declares " + n(prefix.compressed_size) +
                                                    " compressed bytes but only " + n(present) + " are present");
    if (prefix.compressed_size < present)
        return make_error(ErrorCode::corrupt, "compressed arena declares " + n(prefix.compressed_size) + " compressed bytes but " +
                                                  n(present) + " are present (trailing bytes)");
    const std::span<const std::byte> compressed = bytes.subspan(kCompressedHeaderSize);
    const std::uint64_t computed = XXH3_64bits(compressed.data(), compressed.size());
    if (computed != prefix.compressed_checksum)  // C12
        return make_error(ErrorCode::checksum_mismatch, "compressed data checksum mismatch: stored " +
                                                            hex(prefix.compressed_checksum) + ", computed " + hex(computed));
    // C13: sizes the codec cannot produce. The data is intact (C12), so these are
    // bytes a writer made up: a header that lies about total_size, or a bomb.
    const std::uint64_t data_size = h.total_size - kHeaderSize;
    const std::uint64_t bound = compress_bound(codec, data_size);
    if (bound == 0)
        return make_error(ErrorCode::corrupt, "the header declares " + n(data_size) + " bytes of data, more than " + name +
                                                  " compresses in one piece");
    if (compressed.size() > bound)
        return make_error(ErrorCode::corrupt, n(compressed.size()) + " bytes of " + name + " data are more than " + name +
                                                  " ever writes for the " + n(data_size) + " bytes the header declares");
    if (codec == PayloadCodec::lz4 && data_size > kLz4MaxExpansion * compressed.size())
        return make_error(ErrorCode::corrupt, "an LZ4 block of " + n(compressed.size()) + " bytes cannot expand to the " +
                                                  n(data_size) + " bytes the header declares (at most " +
                                                  n(kLz4MaxExpansion) + " times)");
    if (codec == PayloadCodec::zstd) {
        const unsigned long long content = ZSTD_getFrameContentSize(compressed.data(), compressed.size());
        if (content == ZSTD_CONTENTSIZE_ERROR)
            return make_error(ErrorCode::corrupt, "compressed data does not start with a zstd frame header");
        if (content == ZSTD_CONTENTSIZE_UNKNOWN)
            return make_error(ErrorCode::corrupt, "the zstd frame does not record its content size");
        if (content != data_size)
            return make_error(ErrorCode::corrupt, "the zstd frame declares " + n(content) + " bytes of content, the header " +
                                                      n(data_size) + " (total_size " + n(h.total_size) + " - 128)");
        const std::size_t frame = ZSTD_findFrameCompressedSize(compressed.data(), compressed.size());
        if (ZSTD_isError(frame))
            return make_error(ErrorCode::corrupt, std::string("malformed zstd frame: ") + ZSTD_getErrorName(frame));
        if (frame != compressed.size())
            return make_error(ErrorCode::corrupt, "the zstd frame ends after " + n(frame) + " of the " + n(compressed.size()) +
                                                      " compressed bytes (one frame and nothing else is allowed)");
    }
    // C13f: sizes the codec can produce but no real arena has (kMaxCompressionRatio).
    if (exceeds_ratio(data_size, compressed.size()))
        return make_error(ErrorCode::limit_exceeded, n(compressed.size()) + " bytes of " + name + " data declare " + n(data_size) +
                                                         " bytes, an expansion of more than " + n(kMaxCompressionRatio) +
                                                         " times, which no real arena reaches (nothing was allocated or decompressed)");
    return {};
}

// C14: decodes exactly data.size() bytes, or fails.
Result<void> decode(PayloadCodec codec, std::span<const std::byte> compressed, std::span<std::byte> data) {
    if (codec == PayloadCodec::lz4) {
        // C13 bounded both sizes by LZ4_MAX_INPUT_SIZE, so they fit an int.
        const int got = LZ4_decompress_safe(reinterpret_cast<const char*>(compressed.data()),
                                            reinterpret_cast<char*>(data.data()), static_cast<int>(compressed.size()),
                                            static_cast<int>(data.size()));
        if (got < 0)
            return make_error(ErrorCode::corrupt, "the LZ4 block is malformed or expands beyond the " + n(data.size()) +
                                                      " bytes the header declares");
        if (static_cast<std::uint64_t>(got) != data.size())
            return make_error(ErrorCode::corrupt, "the LZ4 block decodes to " + n(static_cast<std::uint64_t>(got)) +
                                                      " bytes, the header declares " + n(data.size()));
        return {};
    }
    auto& ctx = zstd_contexts().dctx;
    if (!ctx) ctx.reset(ZSTD_createDCtx());
    if (!ctx) throw std::bad_alloc();
    const std::size_t got = ZSTD_decompressDCtx(ctx.get(), data.data(), data.size(), compressed.data(), compressed.size());
    if (ZSTD_isError(got))
        return make_error(ErrorCode::corrupt, "the zstd frame does not decode to the " + n(data.size()) +
                                                  " bytes the header declares: " + ZSTD_getErrorName(got));
    if (got != data.size())
        return make_error(ErrorCode::corrupt, "the zstd frame decodes to " + n(got) + " bytes, the header declares " + n(data.size()));
    return {};
}

// C14-C15 on bytes that passed check_compressed; `out` is h.total_size bytes. The
// verified view of the result.
Result<ArenaView> decode_checked(std::span<const std::byte> bytes, Header h, std::span<std::byte> out, const VerifyLimits& limits) {
    const auto codec = static_cast<PayloadCodec>(h.payload_codec);
    if (auto r = decode(codec, bytes.subspan(kCompressedHeaderSize), out.subspan(kHeaderSize)); !r) return tl::unexpected(r.error());
    h.payload_codec = static_cast<std::uint8_t>(PayloadCodec::none);
    reseal_metadata(h, out);
    // C15: the header fields other than the codec, and the decoded bytes, are only as
    // good as the full verification says; data_checksum closes the loop end to end.
    auto view = ArenaView::open(out, limits);
    if (!view) return make_error(view.error().code, "decompressed arena: " + view.error().message);
    return view;
}

}  // namespace

std::string_view to_string(PayloadCodec codec) noexcept {
    switch (codec) {
        case PayloadCodec::none: return "none";
        case PayloadCodec::lz4: return "lz4";
        case PayloadCodec::zstd: return "zstd";
    }
    return "unknown";
}

PayloadCodec payload_codec_of(std::span<const std::byte> bytes) noexcept {
    if (bytes.size() < kHeaderSize) return PayloadCodec::none;
    const auto h = load<Header>(bytes, 0);
    if (h.magic != kMagic || !is_readable_major(h.version_major)) return PayloadCodec::none;
    if (h.metadata_checksum != XXH3_64bits(bytes.data(), kMetadataChecksumCoverage)) return PayloadCodec::none;
    return static_cast<PayloadCodec>(h.payload_codec);
}

namespace {

// compress_arena; `too_compressible` is set when the arena compresses more than
// kMaxCompressionRatio, the one refusal compress_by_policy turns into "keep it raw".
Result<std::vector<std::byte>> compress_checked(std::span<const std::byte> arena, PayloadCodec codec, int level, bool& too_compressible) {
    too_compressible = false;
    if (codec != PayloadCodec::lz4 && codec != PayloadCodec::zstd)
        return make_error(ErrorCode::invalid_argument, "cannot compress with payload codec " +
                                                           n(static_cast<std::uint8_t>(codec)) + " (" +
                                                           std::string(to_string(codec)) + "): choose lz4 or zstd");
    if (auto r = check_level(codec, level); !r) return tl::unexpected(r.error());
    if (is_compressed_arena(arena))
        return make_error(ErrorCode::invalid_argument, "arena is already compressed (payload codec " +
                                                           n(static_cast<std::uint8_t>(payload_codec_of(arena))) + ")");
    if (auto r = verify_arena(arena, VerifyLevel::full); !r)
        return make_error(ErrorCode::invalid_argument, "only a valid raw arena can be compressed: " + r.error().message);

    const std::span<const std::byte> data = arena.subspan(kHeaderSize);
    const std::uint64_t bound = compress_bound(codec, data.size());
    if (bound == 0)
        return make_error(ErrorCode::invalid_argument, "arena of " + n(arena.size()) + " bytes is too large for " +
                                                           std::string(to_string(codec)));
    std::vector<std::byte> out(kCompressedHeaderSize + bound);
    const std::span<std::byte> dst = std::span(out).subspan(kCompressedHeaderSize);
    auto written = codec == PayloadCodec::lz4 ? compress_lz4(data, dst, level) : compress_zstd(data, dst, level);
    if (!written) return tl::unexpected(written.error());
    if (exceeds_ratio(data.size(), *written)) {
        too_compressible = true;
        return make_error(ErrorCode::invalid_argument, "arena of " + n(arena.size()) + " bytes compresses to " + n(*written) + " bytes of " +
                                                           std::string(to_string(codec)) + " data, more than " + n(kMaxCompressionRatio) +
                                                           " times smaller, which readers refuse (kMaxCompressionRatio): keep it raw");
    }
    out.resize(kCompressedHeaderSize + *written);

    Header h = load<Header>(arena, 0);
    h.payload_codec = static_cast<std::uint8_t>(codec);
    reseal_metadata(h, out);
    const CompressedPrefix prefix{*written, XXH3_64bits(out.data() + kCompressedHeaderSize, *written)};
    std::memcpy(out.data() + kHeaderSize, &prefix, sizeof prefix);
    return out;
}

}  // namespace

Result<std::vector<std::byte>> compress_arena(std::span<const std::byte> arena, PayloadCodec codec, int level) {
    bool too_compressible = false;
    return compress_checked(arena, codec, level, too_compressible);
}

Result<std::uint64_t> decompressed_size(std::span<const std::byte> bytes, const VerifyLimits& limits) {
    Header h;
    if (auto r = check_compressed(bytes, limits, h); !r) return tl::unexpected(r.error());
    return h.total_size;
}

Result<void> decompress_arena_into(std::span<const std::byte> bytes, std::span<std::byte> out, const VerifyLimits& limits) {
    Header h;
    if (auto r = check_compressed(bytes, limits, h); !r) return r;
    if (out.size() != h.total_size)
        return make_error(ErrorCode::invalid_argument, "output buffer is " + n(out.size()) + " bytes, the arena needs " + n(h.total_size));
    if (auto view = decode_checked(bytes, h, out, limits); !view) return tl::unexpected(view.error());
    return {};
}

Result<ArenaView> decompress_arena_view(std::span<const std::byte> bytes, std::span<std::byte> out, const VerifyLimits& limits) {
    Header h;
    if (auto r = check_compressed(bytes, limits, h); !r) return tl::unexpected(r.error());
    if (out.size() != h.total_size)
        return make_error(ErrorCode::invalid_argument, "output buffer is " + n(out.size()) + " bytes, the arena needs " + n(h.total_size));
    return decode_checked(bytes, h, out, limits);
}

Result<std::vector<std::byte>> decompress_arena(std::span<const std::byte> bytes, const VerifyLimits& limits) {
    Header h;
    if (auto r = check_compressed(bytes, limits, h); !r) return tl::unexpected(r.error());
    std::vector<std::byte> out(h.total_size);
    if (auto view = decode_checked(bytes, h, out, limits); !view) return tl::unexpected(view.error());
    return out;
}

std::string_view to_string(CodecChoice choice) noexcept {
    switch (choice) {
        case CodecChoice::automatic: return "auto";
        case CodecChoice::none: return "none";
        case CodecChoice::lz4: return "lz4";
        case CodecChoice::zstd: return "zstd";
    }
    return "unknown";
}

std::optional<CodecChoice> parse_codec_choice(std::string_view text) noexcept {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    const auto is = [&](std::string_view word) {
        return text.size() == word.size() && std::equal(text.begin(), text.end(), word.begin(), [](char a, char b) {
                   return std::tolower(static_cast<unsigned char>(a)) == b;
               });
    };
    if (is("auto") || is("automatic")) return CodecChoice::automatic;
    if (is("none") || is("off")) return CodecChoice::none;
    if (is("lz4")) return CodecChoice::lz4;
    if (is("zstd")) return CodecChoice::zstd;
    return std::nullopt;
}

PayloadCodec choose_codec(std::uint64_t arena_size, const CompressionPolicy& policy) noexcept {
    if (arena_size < policy.min_size) return PayloadCodec::none;
    switch (policy.codec) {
        case CodecChoice::none: return PayloadCodec::none;
        case CodecChoice::lz4: return PayloadCodec::lz4;
        case CodecChoice::zstd: return PayloadCodec::zstd;
        case CodecChoice::automatic: break;
    }
    return policy.use == PayloadUse::transfer ? PayloadCodec::zstd : PayloadCodec::lz4;
}

Result<std::optional<std::vector<std::byte>>> compress_by_policy(std::span<const std::byte> arena,
                                                                  const CompressionPolicy& policy) {
    const PayloadCodec codec = choose_codec(arena.size(), policy);
    if (codec == PayloadCodec::none) return std::nullopt;
    bool too_compressible = false;
    auto packed = compress_checked(arena, codec, policy.level, too_compressible);
    if (too_compressible) return std::nullopt;  // readers would refuse it: it stays raw
    if (!packed) return tl::unexpected(packed.error());
    if (static_cast<double>(packed->size()) > policy.max_ratio * static_cast<double>(arena.size())) return std::nullopt;
    return std::optional(std::move(*packed));
}

}  // namespace jdc
