// jdc — verification of untrusted arena bytes.
//
// Everything that reads an arena from disk or the network verifies it first, then
// reads it unchecked (the FlatBuffers model). Two levels:
//   header: O(1). Magic, version, metadata checksum, header size, total size, flags,
//           payload codec, optimization type, the count limits, and that the
//           section directory lies inside the bytes. For triage (stats, listing);
//           it does NOT make the accessors of ArenaView safe.
//   full:   header, plus the data checksum over every byte after the header, plus
//           every section, offset, count, string reference and type index.
//           O(size). The only level that ArenaView accepts.
// All range checks use the subtraction form (len <= size && off <= size - len), so
// no out-of-range pointer is ever formed (cf. Cap'n Proto CVE-2017-7892).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "jdc/arena_format.hpp"
#include "jdc/cache_key.hpp"
#include "jdc/error.hpp"
#include "jdc/export.hpp"

namespace jdc {

enum class VerifyLevel : std::uint8_t { header, full };

struct VerifyLimits {
    std::uint64_t max_total_size = std::uint64_t{1} << 30;  // 1 GiB; also bounded by u32 offsets
    std::uint32_t max_entries = 1u << 22;
    std::uint32_t max_types = 1u << 22;
    std::uint32_t max_arity = 64;
    std::uint32_t max_sections = 64;
};

// Returns nothing on success; on failure the error code classifies the problem
// (bad_magic, unsupported_version, truncated, corrupt, checksum_mismatch,
// limit_exceeded) and the message names the field, offset and values involved.
JDC_API Result<void> verify_arena(std::span<const std::byte> bytes, VerifyLevel level, const VerifyLimits& limits = {});

// The one header reader of every layer, for raw and compressed arenas alike (a
// compressed arena keeps its header uncompressed: compressed-arena-v1.md): the magic,
// a format version this library reads, and the metadata checksum (so every field of
// the header, the key included, is as written). Nothing about the payload is checked:
// for triage, routing and key checks before anything is decompressed or mapped.
// Errors: bad_magic, truncated (fewer than 128 bytes), unsupported_version,
// checksum_mismatch.
JDC_API Result<arena::Header> read_arena_header(std::span<const std::byte> bytes);

// The key an arena's header carries (zero: none). A 1.x header has no key: its bytes
// 80-95 are reserved, which 1.x readers ignore whatever they hold (arena-v1.md §1), so
// they must not make a 1.x arena answer for a key (arena-v2.md §3.2).
inline CacheKey arena_key(const arena::Header& h) noexcept {
    if (h.version_major < 2) return {};
    return {h.key_hi, h.key_lo};
}

}  // namespace jdc
