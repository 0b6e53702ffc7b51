// Test support: what a valid store looks like from outside, checked with Catch2.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <set>
#include <span>
#include <string>

#include <catch2/catch.hpp>

#include "jdc/local_store.hpp"

namespace jdc::testing {

// A store is valid when its index is clean and agrees with the directory: every
// loose entry has its file and verifies in full, every file under objects/ has its
// entry, and the index's byte total is the files' total.
inline void check_store_valid(const std::filesystem::path& root) {
    namespace fs = std::filesystem;
    auto store = LocalStore::open(root);
    REQUIRE(store);
    std::set<std::string> indexed;
    std::uint64_t indexed_bytes = 0;
    for (const IndexEntry& e : store->entries()) {
        if (e.location != EntryLocation::loose) continue;
        indexed.insert(e.key.to_hex());
        indexed_bytes += e.size;
    }
    std::set<std::string> on_disk;
    std::uint64_t disk_bytes = 0;
    for (const auto& f : fs::recursive_directory_iterator(root / "objects")) {
        if (!f.is_regular_file()) continue;
        on_disk.insert(f.path().stem().string());
        disk_bytes += f.file_size();
    }
    CHECK(indexed == on_disk);
    CHECK(indexed_bytes == disk_bytes);
    CHECK(store->stats().index.total_bytes == indexed_bytes);
    CHECK_FALSE(store->stats().index.dirty);
    for (const std::string& hex : indexed) {
        auto got = store->get(*CacheKey::from_hex(hex));
        INFO("entry " << hex);
        CHECK(got);
    }
}

// The entry is served, and with exactly these bytes.
inline bool serves(LocalStore& store, const CacheKey& key, std::span<const std::byte> expected) {
    auto got = store.get(key);
    if (!got) return false;
    const auto bytes = got->view().bytes();
    return std::equal(bytes.begin(), bytes.end(), expected.begin(), expected.end());
}

inline bool is_empty_directory(const std::filesystem::path& dir) {
    return std::filesystem::is_directory(dir) && std::filesystem::is_empty(dir);
}

}  // namespace jdc::testing
