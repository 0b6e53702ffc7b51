// Test support: damage a file in place, as a bad disk or a stray write would.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>

namespace jdc::testing {

// XORs the byte at `offset` with 0x5A; the file keeps its size.
inline void flip_byte(const std::filesystem::path& file, std::uint64_t offset) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(offset));
    const char c = static_cast<char>(f.get());
    f.seekp(static_cast<std::streamoff>(offset));
    f.put(static_cast<char>(c ^ 0x5A));
}

}  // namespace jdc::testing
