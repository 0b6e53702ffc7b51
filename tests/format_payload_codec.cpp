// Tests for src/format/payload_codec.cpp: compressed arenas (format-spec/compressed-arena-v1.md).
//
// Round trips over random tables and the golden arenas; every truncation and every
// single-bit flip of a compressed arena; damage behind resealed checksums; lying
// sizes and decompression bombs; the policy. Compressed arenas are also written by
// hand here, straight from the spec with liblz4 / libzstd, so the layout is checked
// independently of the writer under test.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <lz4.h>
#include <xxhash.h>
#include <zstd.h>

#include "jdc/arena_builder.hpp"
#include "jdc/arena_format.hpp"
#include "jdc/arena_verify.hpp"
#include "jdc/arena_view.hpp"
#include "jdc/detail/atomic_file.hpp"
#include "jdc/loaded_arena.hpp"
#include "jdc/payload_codec.hpp"
#include "support/compression_bomb.hpp"
#include "support/random_model.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace jdc;
using arena::CompressedPrefix;
using arena::Header;
using arena::kCompressedHeaderSize;
using arena::kHeaderSize;
using Bytes = std::vector<std::byte>;

constexpr PayloadCodec kCodecs[] = {PayloadCodec::lz4, PayloadCodec::zstd};

Bytes build(std::uint64_t seed, const testing::RandomModelOptions& options) {
    const auto m = testing::make_random_model(seed, options);
    auto bytes = build_arena(m.table, m.registry, {}, {1'700'000'000'000'000'000ull + seed});
    REQUIRE(bytes);
    return *bytes;
}

// Random tables of several shapes, from one implementation-less arena to ~80 KiB.
const std::vector<Bytes>& random_arenas() {
    static const std::vector<Bytes> all = [] {
        std::vector<Bytes> v;
        v.push_back(build(1, testing::small_table_options()));
        v.push_back(build(2, testing::medium_table_options()));
        v.push_back(build(3, testing::large_table_options()));
        v.push_back(build(4, {6, 1, 3, 5, true}));    // single inheritance, arity 3
        v.push_back(build(5, {4, 2, 2, 0, false}));   // no implementations
        v.push_back(build(6, {10, 3, 4, 40, false})); // arity 4
        return v;
    }();
    return all;
}

// The goldens of every arena version (compressed-arena-v1.md §9: the container holds
// 1.x and 2.x arenas alike).
std::vector<std::pair<std::string, Bytes>> golden_arenas() {
    std::vector<std::pair<std::string, Bytes>> v;
    for (const char* version : {"v1.0", "v1.1", "v2.0"}) {
        for (const auto& f : std::filesystem::directory_iterator(std::filesystem::path(JDC_TEST_DATA) / version)) {
            if (f.path().extension() != ".jdca") continue;
            auto bytes = read_file_bytes(f.path(), 1 << 20);
            REQUIRE(bytes);
            v.emplace_back(std::string(version) + "/" + f.path().filename().string(), std::move(*bytes));
        }
    }
    REQUIRE(v.size() >= 10);
    return v;
}

Bytes compressed(const Bytes& raw, PayloadCodec codec, int level = 0) {
    auto packed = compress_arena(raw, codec, level);
    REQUIRE(packed);
    return *packed;
}

Header header_of(const Bytes& bytes) {
    Header h;
    std::memcpy(&h, bytes.data(), kHeaderSize);
    return h;
}

// What a writer does after changing header bytes: reseal the metadata checksum.
void put_header(Bytes& bytes, Header h) {
    std::memcpy(bytes.data(), &h, kHeaderSize);
    h.metadata_checksum = XXH3_64bits(bytes.data(), arena::kMetadataChecksumCoverage);
    std::memcpy(bytes.data(), &h, kHeaderSize);
}

// A compressed arena assembled by hand from compressed-arena-v1.md §2: `payload` is
// the codec's output for some data, `h` the header to put in front (codec set here).
Bytes assemble(Header h, PayloadCodec codec, const Bytes& payload) {
    Bytes out(kCompressedHeaderSize + payload.size());
    h.payload_codec = static_cast<std::uint8_t>(codec);
    put_header(out, h);
    const CompressedPrefix prefix{payload.size(), XXH3_64bits(payload.data(), payload.size())};
    std::memcpy(out.data() + kHeaderSize, &prefix, sizeof prefix);
    std::memcpy(out.data() + kCompressedHeaderSize, payload.data(), payload.size());
    return out;
}

Bytes lz4_block(const std::byte* data, std::size_t size) {
    Bytes out(static_cast<std::size_t>(LZ4_compressBound(static_cast<int>(size))));
    const int n = LZ4_compress_default(reinterpret_cast<const char*>(data), reinterpret_cast<char*>(out.data()),
                                       static_cast<int>(size), static_cast<int>(out.size()));
    REQUIRE(n > 0);
    out.resize(static_cast<std::size_t>(n));
    return out;
}

Bytes zstd_frame(const std::byte* data, std::size_t size, int level = 3) {
    Bytes out(ZSTD_compressBound(size));
    const std::size_t n = ZSTD_compress(out.data(), out.size(), data, size, level);
    REQUIRE_FALSE(ZSTD_isError(n));
    out.resize(n);
    return out;
}

// The data part of a raw arena ([128, total_size)) compressed by hand.
Bytes compress_by_hand(const Bytes& raw, PayloadCodec codec) {
    const std::byte* data = raw.data() + kHeaderSize;
    const std::size_t size = raw.size() - kHeaderSize;
    return assemble(header_of(raw), codec, codec == PayloadCodec::lz4 ? lz4_block(data, size) : zstd_frame(data, size));
}

Bytes payload_of(const Bytes& packed) { return Bytes(packed.begin() + kCompressedHeaderSize, packed.end()); }

// Recomputes the compressed-bytes checksum after the payload was edited.
void reseal_payload(Bytes& packed) {
    const std::uint64_t sum = XXH3_64bits(packed.data() + kCompressedHeaderSize, packed.size() - kCompressedHeaderSize);
    std::memcpy(packed.data() + kHeaderSize + offsetof(CompressedPrefix, compressed_checksum), &sum, 8);
}

std::string codec_name(PayloadCodec c) { return std::string(to_string(c)); }

}  // namespace

TEST_CASE("compressed arenas round-trip byte for byte, both codecs, several levels", "[format][payload_codec]") {
    std::vector<std::pair<std::string, Bytes>> inputs = golden_arenas();
    for (std::size_t i = 0; i < random_arenas().size(); ++i) inputs.emplace_back("random " + std::to_string(i), random_arenas()[i]);
    const std::pair<PayloadCodec, int> configs[] = {{PayloadCodec::lz4, 0}, {PayloadCodec::lz4, 9},  {PayloadCodec::zstd, 0},
                                                    {PayloadCodec::zstd, 1}, {PayloadCodec::zstd, -5}, {PayloadCodec::zstd, 19}};
    for (const auto& [name, raw] : inputs) {
        for (const auto& [codec, level] : configs) {
            INFO(name << ", " << to_string(codec) << " level " << level);
            const Bytes packed = compressed(raw, codec, level);
            const Header h = header_of(packed);
            const Header original = header_of(raw);
            CHECK(h.payload_codec == static_cast<std::uint8_t>(codec));
            CHECK(h.total_size == raw.size());
            CHECK(h.data_checksum == original.data_checksum);
            CHECK(std::memcmp(&h, &original, offsetof(Header, payload_codec)) == 0);
            CHECK(payload_codec_of(packed) == codec);
            CHECK(is_compressed_arena(packed));
            CHECK_FALSE(is_compressed_arena(raw));
            CHECK(compressed(raw, codec, level) == packed);  // deterministic

            auto size = decompressed_size(packed);
            REQUIRE(size);
            CHECK(*size == raw.size());
            auto back = decompress_arena(packed);
            REQUIRE(back);
            CHECK(*back == raw);
            Bytes into(raw.size());
            REQUIRE(decompress_arena_into(packed, into));
            CHECK(into == raw);
            CHECK(ArenaView::open(*back));
        }
    }
}

TEST_CASE("the writer's bytes are the layout of the spec: a hand-made container matches and decodes", "[format][payload_codec]") {
    for (const Bytes& raw : random_arenas()) {
        // LZ4_compress_default and zstd level 3 are what level 0 means.
        CHECK(compress_by_hand(raw, PayloadCodec::lz4) == compressed(raw, PayloadCodec::lz4));
        const Bytes by_hand = compress_by_hand(raw, PayloadCodec::zstd);
        auto back = decompress_arena(by_hand);
        REQUIRE(back);
        CHECK(*back == raw);
        // zstd's frame checksum is optional for writers; the reader checks it when present.
        ZSTD_CCtx* cctx = ZSTD_createCCtx();
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
        Bytes frame(ZSTD_compressBound(raw.size()));
        const std::size_t n = ZSTD_compress2(cctx, frame.data(), frame.size(), raw.data() + kHeaderSize, raw.size() - kHeaderSize);
        ZSTD_freeCCtx(cctx);
        REQUIRE_FALSE(ZSTD_isError(n));
        frame.resize(n);
        auto with_checksum = decompress_arena(assemble(header_of(raw), PayloadCodec::zstd, frame));
        REQUIRE(with_checksum);
        CHECK(*with_checksum == raw);
    }
}

TEST_CASE("verify_arena says a compressed arena must be decompressed first", "[format][payload_codec]") {
    for (PayloadCodec codec : kCodecs) {
        const Bytes packed = compressed(random_arenas()[2], codec);
        for (VerifyLevel level : {VerifyLevel::header, VerifyLevel::full}) {
            auto r = verify_arena(packed, level);
            REQUIRE_FALSE(r);
            CHECK(r.error().code == ErrorCode::unsupported_version);
            CHECK_THAT(r.error().message, Catch::Contains(codec_name(codec) + "-compressed") &&
                                              Catch::Contains("decompress_arena"));
        }
        CHECK_FALSE(ArenaView::open(packed));
    }
}

TEST_CASE("every truncation and trailing bytes are rejected with their class", "[format][payload_codec]") {
    for (PayloadCodec codec : kCodecs) {
        const Bytes packed = compressed(random_arenas()[0], codec);
        for (std::size_t len = 0; len < packed.size(); ++len) {
            INFO(to_string(codec) << ": first " << len << " of " << packed.size() << " bytes");
            const std::span<const std::byte> cut(packed.data(), len);
            auto r = decompress_arena(cut);
            REQUIRE_FALSE(r);
            CHECK(r.error().code == ErrorCode::truncated);
            CHECK_FALSE(decompressed_size(cut));
        }
        Bytes longer = packed;
        longer.push_back(std::byte{0});
        auto r = decompress_arena(longer);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::corrupt);
        CHECK_THAT(r.error().message, Catch::Contains("trailing"));
    }
}

TEST_CASE("every single-bit flip of a compressed arena is rejected, with the class of the first failing check",
          "[format][payload_codec]") {
    for (PayloadCodec codec : kCodecs) {
        const Bytes packed = compressed(random_arenas()[1], codec);
        for (std::size_t bit = 0; bit < packed.size() * 8; ++bit) {
            Bytes damaged = packed;
            damaged[bit / 8] ^= std::byte(1u << (bit % 8));
            const std::size_t at = bit / 8;
            INFO(to_string(codec) << ": bit " << bit << " (byte " << at << ")");
            auto r = decompress_arena(damaged);
            REQUIRE_FALSE(r);
            ErrorCode expected = ErrorCode::checksum_mismatch;  // header, its checksum, payload, payload checksum
            if (at < 4) expected = ErrorCode::bad_magic;
            else if (at == 4 || at == 5) expected = ErrorCode::unsupported_version;  // major version, before the checksum
            else if (at >= kHeaderSize && at < kHeaderSize + 8) {
                // compressed_size: a larger value is truncation, a smaller one trailing bytes.
                CompressedPrefix p;
                std::memcpy(&p, damaged.data() + kHeaderSize, sizeof p);
                expected = p.compressed_size > packed.size() - kCompressedHeaderSize ? ErrorCode::truncated : ErrorCode::corrupt;
            }
            CHECK(r.error().code == expected);
            CHECK_FALSE(r.error().message.empty());
        }
    }
}

TEST_CASE("damage behind a resealed payload checksum is rejected or decodes to the original", "[format][payload_codec]") {
    // A flip the decoder does not notice must change the decoded bytes, which the
    // arena's own data checksum then catches, unless it decodes to the very same bytes
    // (e.g. a match offset moved to an identical earlier run): then the result is right.
    for (PayloadCodec codec : kCodecs) {
        const Bytes raw = random_arenas()[0];
        const Bytes packed = compressed(raw, codec);
        std::size_t rejected = 0;
        for (std::size_t bit = kCompressedHeaderSize * 8; bit < packed.size() * 8; ++bit) {
            Bytes damaged = packed;
            damaged[bit / 8] ^= std::byte(1u << (bit % 8));
            reseal_payload(damaged);
            INFO(to_string(codec) << ": payload bit " << bit);
            auto r = decompress_arena(damaged);
            if (r) {
                CHECK(*r == raw);
                continue;
            }
            ++rejected;
            const ErrorCode c = r.error().code;
            CHECK((c == ErrorCode::corrupt || c == ErrorCode::checksum_mismatch || c == ErrorCode::truncated));
        }
        CHECK(rejected > (packed.size() - kCompressedHeaderSize) * 8 / 2);
    }
}

TEST_CASE("a damaged arena inside a well-formed container fails the final full verification", "[format][payload_codec]") {
    Bytes raw = random_arenas()[0];
    // Damage one section byte and reseal the arena's checksums, as a malicious writer
    // would: every container check passes; only verify(full) of the result can tell.
    Header h = header_of(raw);
    std::uint64_t bogus_offset = 3;  // the first directory entry's offset: misaligned
    std::memcpy(raw.data() + h.section_dir_offset + 8, &bogus_offset, 8);
    h.data_checksum = XXH3_64bits(raw.data() + kHeaderSize, raw.size() - kHeaderSize);
    put_header(raw, h);
    REQUIRE_FALSE(verify_arena(raw, VerifyLevel::full));
    for (PayloadCodec codec : kCodecs) {
        auto r = decompress_arena(compress_by_hand(raw, codec));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::corrupt);
        CHECK_THAT(r.error().message, Catch::StartsWith("decompressed arena: ") && Catch::Contains("aligned"));
    }
    // A data checksum that does not match the decoded bytes.
    Bytes stale = random_arenas()[0];
    Header s = header_of(stale);
    s.data_checksum ^= 1;
    put_header(stale, s);
    for (PayloadCodec codec : kCodecs) {
        auto r = decompress_arena(compress_by_hand(stale, codec));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::checksum_mismatch);
        CHECK_THAT(r.error().message, Catch::StartsWith("decompressed arena: data checksum mismatch"));
    }
}

TEST_CASE("decompression bombs are rejected by their header, before anything is allocated", "[format][payload_codec]") {
    const Bytes raw = random_arenas()[1];
    const std::uint64_t two_gib = std::uint64_t{1} << 31;
    for (PayloadCodec codec : kCodecs) {
        INFO(to_string(codec));
        Bytes bomb = compressed(raw, codec);
        Header h = header_of(bomb);
        h.total_size = two_gib;
        put_header(bomb, h);

        // Over the cap: limit_exceeded, naming both sizes.
        auto r = decompress_arena(bomb);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::limit_exceeded);
        CHECK_THAT(r.error().message, Catch::Contains("2147483648") && Catch::Contains("1073741824"));
        VerifyLimits small;
        small.max_total_size = 4096;
        auto capped = decompress_arena(compressed(raw, codec), small);  // a real 6.8 KiB arena, 4 KiB cap
        REQUIRE_FALSE(capped);
        CHECK(capped.error().code == ErrorCode::limit_exceeded);
        CHECK_THAT(capped.error().message, Catch::Contains(std::to_string(raw.size())) && Catch::Contains("4096"));

        // Under a raised cap the claim is still impossible for the data present.
        VerifyLimits huge;
        huge.max_total_size = std::uint64_t{1} << 32;
        auto lie = decompressed_size(bomb, huge);
        REQUIRE_FALSE(lie);
        CHECK(lie.error().code == ErrorCode::corrupt);
        if (codec == PayloadCodec::lz4)
            CHECK_THAT(lie.error().message, Catch::Contains(std::to_string(two_gib - 128)) && Catch::Contains("in one piece"));
        else
            CHECK_THAT(lie.error().message, Catch::Contains("zstd frame declares " + std::to_string(raw.size() - 128)));

        // 1 GiB: within both codecs' reach and the default cap, still no allocation.
        h.total_size = std::uint64_t{1} << 30;
        put_header(bomb, h);
        auto gib = decompressed_size(bomb);
        REQUIRE_FALSE(gib);
        CHECK(gib.error().code == ErrorCode::corrupt);
        if (codec == PayloadCodec::lz4)
            CHECK_THAT(gib.error().message, Catch::Contains("cannot expand") && Catch::Contains(std::to_string((1u << 30) - 128)));
        else
            CHECK_THAT(gib.error().message, Catch::Contains("zstd frame declares " + std::to_string(raw.size() - 128)));
    }
}

TEST_CASE("a value that expands more than kMaxCompressionRatio is refused before anything is allocated", "[format][payload_codec]") {
    // Issue 20, attack 4: a small zstd frame of zeros declaring the remote's 64 MiB cap
    // passed every check before decoding. LZ4 cannot claim more than 255 times, so its
    // bomb is 16 MiB from 64 KiB.
    for (const auto& [codec, total_size] : {std::pair{PayloadCodec::zstd, std::uint64_t{64} << 20}, std::pair{PayloadCodec::lz4, std::uint64_t{16} << 20}}) {
        INFO(to_string(codec));
        const Bytes bomb = testing::compression_bomb(codec, total_size);
        const std::uint64_t data = total_size - kHeaderSize, packed = bomb.size() - kCompressedHeaderSize;
        REQUIRE(data > kMaxCompressionRatio * packed);
        VerifyLimits cap;
        cap.max_total_size = total_size;  // exactly at the cap, as in the attack
        auto size = decompressed_size(bomb, cap);
        REQUIRE_FALSE(size);
        CHECK(size.error().code == ErrorCode::limit_exceeded);
        CHECK_THAT(size.error().message, Catch::Contains(std::to_string(packed) + " bytes of " + codec_name(codec) + " data declare " +
                                                         std::to_string(data) + " bytes") &&
                                             Catch::Contains("more than 64 times") && Catch::Contains("nothing was allocated"));
        auto decoded = decompress_arena(bomb, cap);
        REQUIRE_FALSE(decoded);
        CHECK(decoded.error().code == ErrorCode::limit_exceeded);

        // A local cache file gets the same bound (LoadedArena::open decompresses).
        testing::TempDir dir;
        const auto path = dir.path / "bomb.jdca";
        REQUIRE(write_file_atomically(path, bomb));
        auto loaded = LoadedArena::open(path, LoadMode::read, cap);
        REQUIRE_FALSE(loaded);
        CHECK(loaded.error().code == ErrorCode::limit_exceeded);
    }
    // Real arenas stay far below the bound (the figures are in payload_codec.hpp).
    for (const Bytes& raw : random_arenas())
        for (PayloadCodec codec : kCodecs) CHECK(decompressed_size(compressed(raw, codec, codec == PayloadCodec::lz4 ? 12 : 19)));
}

TEST_CASE("writers keep raw an arena that compresses more than readers accept", "[format][payload_codec]") {
    // A degenerate table: 1,000 identical methods (LZ4 ~128:1, zstd ~300:1). Valid, but
    // no compiler writes it; readers would refuse its compressed form.
    TypeRegistry registry;
    const TypeId any = *registry.add("Any", TypeKind::struct_);
    DispatchTable table;
    table.signature_name = "f";
    table.signature.parameter_types = {any};
    table.signature.return_type = kTypeI32;
    for (int i = 0; i < 1000; ++i) table.implementations.push_back({{"f", "m", 1}, {any}, kTypeI32, 0, {"a.jn", 1, 1}, 0, 0});
    auto raw = build_arena(table, registry, {}, {1'700'000'000'000'000'000ull});
    REQUIRE(raw);
    for (PayloadCodec codec : kCodecs) {
        INFO(to_string(codec));
        auto packed = compress_arena(*raw, codec);
        REQUIRE_FALSE(packed);
        CHECK(packed.error().code == ErrorCode::invalid_argument);
        CHECK_THAT(packed.error().message, Catch::Contains("more than 64 times smaller") && Catch::Contains("keep it raw"));
        CompressionPolicy policy = CompressionPolicy::for_transfer();
        policy.codec = codec == PayloadCodec::lz4 ? CodecChoice::lz4 : CodecChoice::zstd;
        auto kept = compress_by_policy(*raw, policy);
        REQUIRE(kept);
        CHECK_FALSE(kept->has_value());
    }
}

TEST_CASE("an LZ4 block that decodes to more or fewer bytes than declared is corrupt", "[format][payload_codec]") {
    const Bytes raw = random_arenas()[1];
    for (std::int64_t delta : {std::int64_t{-8}, std::int64_t{8}, 136 - static_cast<std::int64_t>(raw.size())}) {
        INFO("total_size " << raw.size() << " + " << delta);
        Bytes packed = compressed(raw, PayloadCodec::lz4);
        Header h = header_of(packed);
        h.total_size = static_cast<std::uint64_t>(static_cast<std::int64_t>(h.total_size) + delta);
        put_header(packed, h);
        auto r = decompress_arena(packed);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::corrupt);
        if (delta > 0)
            CHECK_THAT(r.error().message, Catch::Contains("decodes to " + std::to_string(raw.size() - 128)));
        else
            CHECK_THAT(r.error().message, Catch::Contains("expands beyond") || Catch::Contains("cannot expand") ||
                                              Catch::Contains("ever writes"));
    }
}

TEST_CASE("a zstd frame whose content size lies is corrupt", "[format][payload_codec]") {
    const Bytes raw = random_arenas()[1];
    const Bytes packed = compressed(raw, PayloadCodec::zstd);
    // Frame header (RFC 8878 §3.1.1.1): magic (4), descriptor (1), window descriptor
    // unless single-segment (1), dictionary id (0/1/2/4), content size (1/2/4/8; the
    // 2-byte form stores size - 256).
    const Bytes frame = payload_of(packed);
    const auto descriptor = static_cast<unsigned>(frame[4]);
    const unsigned fcs_flag = descriptor >> 6, single_segment = (descriptor >> 5) & 1, dict_flag = descriptor & 3;
    const std::size_t dict_sizes[] = {0, 1, 2, 4};
    const std::size_t fcs_at = 5 + (single_segment ? 0 : 1) + dict_sizes[dict_flag];
    REQUIRE(fcs_flag == 1);  // a 6.8 KiB arena: the 2-byte form
    for (int delta : {-8, +8}) {
        INFO("frame and header claim " << delta << " bytes more than the frame holds");
        Bytes lying = frame;
        std::uint16_t stored;
        std::memcpy(&stored, lying.data() + fcs_at, 2);
        REQUIRE(stored + 256u == raw.size() - kHeaderSize);
        stored = static_cast<std::uint16_t>(stored + delta);
        std::memcpy(lying.data() + fcs_at, &stored, 2);
        Header h = header_of(packed);
        h.total_size = static_cast<std::uint64_t>(static_cast<std::int64_t>(h.total_size) + delta);
        REQUIRE(ZSTD_getFrameContentSize(lying.data(), lying.size()) == h.total_size - kHeaderSize);
        auto r = decompress_arena(assemble(h, PayloadCodec::zstd, lying));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::corrupt);
        CHECK_THAT(r.error().message, Catch::Contains("zstd frame does not decode to the " + std::to_string(h.total_size - kHeaderSize)));
    }
    // The frame says one size, the header another: caught before decoding.
    Bytes other = packed;
    Header h = header_of(other);
    h.total_size += 8;
    put_header(other, h);
    auto r = decompressed_size(other);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::corrupt);
    CHECK_THAT(r.error().message, Catch::Contains("zstd frame declares " + std::to_string(raw.size() - kHeaderSize)));
}

TEST_CASE("a zstd payload must be one frame that records its size, and nothing else", "[format][payload_codec]") {
    const Bytes raw = random_arenas()[0];
    const std::byte* data = raw.data() + kHeaderSize;
    const std::size_t size = raw.size() - kHeaderSize;
    const Header h = header_of(raw);

    // Two frames holding the two halves: the first frame's size is not the header's.
    Bytes two = zstd_frame(data, size / 2);
    const Bytes second = zstd_frame(data + size / 2, size - size / 2);
    two.insert(two.end(), second.begin(), second.end());
    auto r = decompress_arena(assemble(h, PayloadCodec::zstd, two));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::corrupt);

    // One whole frame followed by a skippable frame (magic 0x184D2A50, 4-byte length).
    Bytes trailing = zstd_frame(data, size);
    const std::uint8_t skippable[] = {0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 1, 2, 3, 4};
    for (std::uint8_t b : skippable) trailing.push_back(std::byte{b});
    r = decompress_arena(assemble(h, PayloadCodec::zstd, trailing));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::corrupt);
    CHECK_THAT(r.error().message, Catch::Contains("one frame and nothing else"));

    // A streamed frame without its content size.
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
    Bytes unsized(ZSTD_compressBound(size));
    const std::size_t n = ZSTD_compress2(cctx, unsized.data(), unsized.size(), data, size);
    ZSTD_freeCCtx(cctx);
    REQUIRE_FALSE(ZSTD_isError(n));
    unsized.resize(n);
    r = decompress_arena(assemble(h, PayloadCodec::zstd, unsized));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::corrupt);
    CHECK_THAT(r.error().message, Catch::Contains("content size"));

    // An LZ4 block labelled as zstd.
    r = decompress_arena(assemble(h, PayloadCodec::zstd, lz4_block(data, size)));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::corrupt);
}

TEST_CASE("no LZ4 block expands more than 255 times, the bound the reader enforces", "[format][payload_codec]") {
    // The most compressible input there is: the reader's bound must hold, and not by far.
    const Bytes zeros(8u << 20);
    const Bytes block = lz4_block(zeros.data(), zeros.size());
    CHECK(zeros.size() <= 255 * block.size());
    CHECK(zeros.size() > 250 * block.size());
}

TEST_CASE("unknown codecs, raw arenas and bad requests get clear errors", "[format][payload_codec]") {
    const Bytes raw = random_arenas()[0];

    SECTION("codec 3 is unknown to this reader") {
        Bytes packed = compressed(raw, PayloadCodec::lz4);
        Header h = header_of(packed);
        h.payload_codec = 3;
        put_header(packed, h);
        CHECK(payload_codec_of(packed) == static_cast<PayloadCodec>(3));
        CHECK(to_string(payload_codec_of(packed)) == "unknown");
        auto r = decompress_arena(packed);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::unsupported_version);
        CHECK_THAT(r.error().message, Catch::Contains("payload codec 3") && Catch::Contains("unknown"));
        auto v = verify_arena(packed, VerifyLevel::full);
        REQUIRE_FALSE(v);
        CHECK(v.error().code == ErrorCode::unsupported_version);
        CHECK_THAT(v.error().message, Catch::Contains("payload codec 3") && Catch::Contains("unknown"));
    }
    SECTION("a raw arena is not decompressed") {
        auto r = decompress_arena(raw);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::invalid_argument);
        CHECK_THAT(r.error().message, Catch::Contains("not compressed"));
    }
    SECTION("bytes that are no arena") {
        Bytes junk(300, std::byte{0x5A});
        auto r = decompress_arena(junk);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::bad_magic);
        CHECK(payload_codec_of(junk) == PayloadCodec::none);
    }
    SECTION("a damaged header declares no codec") {
        Bytes packed = compressed(raw, PayloadCodec::zstd);
        packed[40] ^= std::byte{1};
        CHECK(payload_codec_of(packed) == PayloadCodec::none);
        CHECK(payload_codec_of(std::span(packed).first(100)) == PayloadCodec::none);
    }
    SECTION("compressing needs a valid raw arena, a codec and a level in range") {
        const Bytes packed = compressed(raw, PayloadCodec::lz4);
        auto again = compress_arena(packed, PayloadCodec::zstd);
        REQUIRE_FALSE(again);
        CHECK(again.error().code == ErrorCode::invalid_argument);
        CHECK_THAT(again.error().message, Catch::Contains("already compressed"));

        Bytes damaged = raw;
        damaged.back() ^= std::byte{1};
        auto bad = compress_arena(damaged, PayloadCodec::lz4);
        REQUIRE_FALSE(bad);
        CHECK(bad.error().code == ErrorCode::invalid_argument);
        CHECK_THAT(bad.error().message, Catch::Contains("valid raw arena") && Catch::Contains("checksum"));

        auto none = compress_arena(raw, PayloadCodec::none);
        REQUIRE_FALSE(none);
        CHECK(none.error().code == ErrorCode::invalid_argument);
        auto unknown = compress_arena(raw, static_cast<PayloadCodec>(7));
        REQUIRE_FALSE(unknown);
        CHECK(unknown.error().code == ErrorCode::invalid_argument);

        for (auto [codec, level] : {std::pair{PayloadCodec::lz4, 13}, std::pair{PayloadCodec::lz4, -1},
                                    std::pair{PayloadCodec::zstd, ZSTD_maxCLevel() + 1}, std::pair{PayloadCodec::zstd, ZSTD_minCLevel() - 1}}) {
            auto r = compress_arena(raw, codec, level);
            REQUIRE_FALSE(r);
            CHECK(r.error().code == ErrorCode::invalid_argument);
            CHECK_THAT(r.error().message, Catch::Contains("level " + std::to_string(level)));
        }
    }
    SECTION("the output buffer must have the arena's size") {
        const Bytes packed = compressed(raw, PayloadCodec::zstd);
        Bytes out(raw.size() - 8);
        auto r = decompress_arena_into(packed, out);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::invalid_argument);
        CHECK_THAT(r.error().message, Catch::Contains(std::to_string(raw.size())));
    }
}

TEST_CASE("the policy compresses large arenas only, with the codec of the use", "[format][payload_codec]") {
    const CompressionPolicy storage = CompressionPolicy::for_storage();
    const CompressionPolicy transfer = CompressionPolicy::for_transfer();
    CHECK(choose_codec(64 * 1024 - 1, storage) == PayloadCodec::none);
    CHECK(choose_codec(64 * 1024, storage) == PayloadCodec::lz4);
    CHECK(choose_codec(4095, transfer) == PayloadCodec::none);
    CHECK(choose_codec(4096, transfer) == PayloadCodec::zstd);

    CompressionPolicy forced = storage;
    forced.codec = CodecChoice::zstd;
    CHECK(choose_codec(1 << 20, forced) == PayloadCodec::zstd);
    CHECK(choose_codec(1024, forced) == PayloadCodec::none);  // the threshold still holds
    forced.codec = CodecChoice::none;
    CHECK(choose_codec(1 << 30, forced) == PayloadCodec::none);
    forced.codec = CodecChoice::lz4;
    forced.use = PayloadUse::transfer;
    CHECK(choose_codec(1 << 20, forced) == PayloadCodec::lz4);

    const Bytes& large = random_arenas()[2];  // ~80 KiB
    REQUIRE(large.size() >= storage.min_size);
    auto packed = compress_by_policy(large, storage);
    REQUIRE(packed);
    REQUIRE(packed->has_value());
    CHECK(payload_codec_of(**packed) == PayloadCodec::lz4);
    CHECK((*packed)->size() < large.size() * storage.max_ratio);

    auto small = compress_by_policy(random_arenas()[0], storage);
    REQUIRE(small);
    CHECK_FALSE(small->has_value());

    CompressionPolicy demanding = transfer;
    demanding.max_ratio = 0.05;  // no table shrinks to 5 %: stays raw
    auto kept = compress_by_policy(large, demanding);
    REQUIRE(kept);
    CHECK_FALSE(kept->has_value());

    CompressionPolicy bad_level = storage;
    bad_level.level = 99;
    auto r = compress_by_policy(large, bad_level);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::invalid_argument);
}
