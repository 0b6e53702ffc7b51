// Test support: cache indexes damaged in ways their checksums cannot see.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>

#include <xxhash.h>

#include "jdc/cache_index.hpp"

namespace jdc::testing {

// Overwrites every slot of an index file with a live, intact entry of a key that
// nothing in a store holds (hi = 0xDEAD0000 + slot, lo = slot, so each sits in its
// home slot), leaving the header's counts as they were: what a torn, never-fsynced
// index can look like after a power failure. The header still says there is room.
inline void fill_every_slot(const std::filesystem::path& index_file) {
    using namespace index_format;
    std::fstream f(index_file, std::ios::in | std::ios::out | std::ios::binary);
    Header h{};
    f.read(reinterpret_cast<char*>(&h), sizeof h);
    for (std::uint64_t i = 0; i < h.capacity; ++i) {
        Slot s{};
        s.key_hi = 0xDEAD0000 + i;
        s.key_lo = i;
        s.size = 64;
        s.format_version = 0x00010000;
        s.state = kLive;
        s.checksum = static_cast<std::uint32_t>(XXH3_64bits(&s, kSlotChecksumCoverage));
        f.seekp(static_cast<std::streamoff>(sizeof(Header) + i * sizeof(Slot)));
        f.write(reinterpret_cast<const char*>(&s), sizeof s);
    }
}

}  // namespace jdc::testing
