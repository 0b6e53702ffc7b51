// Test support: cache indexes damaged in ways their checksums cannot see.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>

#include <xxhash.h>

#include "jdc/detail/cache_index.hpp"

namespace jdc::testing {

// Writes `slot` over slot `index` of an index file, sealing its checksum (so only
// its placement can be wrong), and nothing else.
inline void plant_slot(const std::filesystem::path& index_file, std::uint64_t index, index_format::Slot slot) {
    using namespace index_format;
    slot.checksum = static_cast<std::uint32_t>(XXH3_64bits(&slot, kSlotChecksumCoverage));
    std::fstream f(index_file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(sizeof(Header) + index * sizeof(Slot)));
    f.write(reinterpret_cast<const char*>(&slot), sizeof slot);
}

// Overwrites every slot of an index file with a live, intact entry of a key that
// nothing in a store holds (hi = 0xDEAD0000 + slot, lo = slot, so each sits in its
// home slot), leaving the header's counts as they were: what a torn, never-fsynced
// index can look like after a power failure. The header still says there is room.
inline void fill_every_slot(const std::filesystem::path& index_file) {
    using namespace index_format;
    Header h{};
    std::ifstream(index_file, std::ios::binary).read(reinterpret_cast<char*>(&h), sizeof h);
    for (std::uint64_t i = 0; i < h.capacity; ++i) {
        Slot s{};
        s.key_hi = 0xDEAD0000 + i;
        s.key_lo = i;
        s.size = 64;
        s.format_version = 0x00010000;
        s.state = kLive;
        plant_slot(index_file, i, s);
    }
}

}  // namespace jdc::testing
