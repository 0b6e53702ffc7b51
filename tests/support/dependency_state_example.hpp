// Test support: the worked example of format-spec/dependency-state-v1.md §7, encoded
// by hand from the spec rather than by the writer (tests/cache_dependency_tracker.cpp
// checks the writer against it; fuzz/make_seed_corpus.cpp seeds a corpus with it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <xxhash.h>

namespace jdc::testing {

inline std::vector<std::byte> dependency_state_spec_example() {
    std::vector<std::byte> out;
    auto put = [&](const void* p, std::size_t n) {
        const auto* b = static_cast<const std::byte*>(p);
        out.insert(out.end(), b, b + n);
    };
    auto u8 = [&](std::uint8_t v) { put(&v, 1); };
    auto u16 = [&](std::uint16_t v) { put(&v, 2); };
    auto u32 = [&](std::uint32_t v) { put(&v, 4); };
    auto u64 = [&](std::uint64_t v) { put(&v, 8); };
    auto str = [&](std::string_view s) {
        u32(static_cast<std::uint32_t>(s.size()));
        put(s.data(), s.size());
    };
    auto stat = [&](std::uint64_t mtime, std::uint64_t inode, const std::string& content) {
        const XXH128_hash_t h = XXH3_128bits(content.data(), content.size());
        u64(content.size());
        u64(mtime);
        u64(mtime + 500'000'000);  // ctime
        u64(inode);
        u64(2049);  // device
        u64(h.high64);
        u64(h.low64);
    };
    out.insert(out.end(), {std::byte{'J'}, std::byte{'D'}, std::byte{'C'}, std::byte{'D'}});
    u16(1);
    u16(0);
    u32(0);  // flags
    u32(2);  // records
    u64(0);  // payload size, patched below
    str("/p/a.jn");
    u8(1);  // has stat
    stat(1'700'000'000'000'000'000ull, 1234, "module a\n");
    u32(1);  // one import:
    u32(1);  //   record 1, /p/b.jn
    str("/p/b.jn");
    u8(3);  // has stat, racy
    stat(1'700'000'001'000'000'000ull, 1235, "module b\n");
    u32(0);  // no imports
    const std::uint64_t payload = out.size() - 24;
    std::memcpy(out.data() + 16, &payload, 8);
    u64(XXH3_64bits(out.data(), out.size()));
    return out;
}

}  // namespace jdc::testing
