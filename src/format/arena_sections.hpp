// Internal: where verification found each section of an arena. Shared by the
// verifier (which fills it) and ArenaView (which reads through it), so the
// directory is parsed once per open.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "jdc/arena_format.hpp"
#include "jdc/arena_verify.hpp"

namespace jdc::detail {

struct SectionRange {
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
    bool present = false;
};

struct ArenaSections {
    arena::Header header{};
    SectionRange strings, types, signature, entries, parameters;
    SectionRange dispatch_index;  // optional
};

Result<ArenaSections> verify_and_locate(std::span<const std::byte> bytes, VerifyLevel level, const VerifyLimits& limits);

}  // namespace jdc::detail
