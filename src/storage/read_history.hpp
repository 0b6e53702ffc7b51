// jdc (internal) — the read history: which entries the last build sessions read, in
// order, so that the next session can ask the kernel to read them ahead and the
// compactor can lay packs out in that order.
//
// Storage layer; knows keys, not builds. One file at the store root, `reads.jdch`
// (format-spec/cache-directory-v1.md §4): a 32-byte header and the keys, 16 bytes
// each, at most kReadHistoryMaxKeys. It is advisory: written by temporary file +
// rename (the last session to end wins), read as untrusted (a file that does not
// check is ignored), never a reason to fail anything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <vector>

#include "jdc/cache_key.hpp"
#include "jdc/error.hpp"

namespace jdc {

inline constexpr std::size_t kReadHistoryMaxKeys = std::size_t{1} << 16;  // 1 MiB of keys

std::filesystem::path read_history_path(const std::filesystem::path& store_root);

// The keys of the history at `store_root`, most recent session first; empty when the
// file is missing or does not check (magic, version, size, checksum).
std::vector<CacheKey> load_read_history(const std::filesystem::path& store_root);

// The history after a session that read `session` (in the order it read them, repeats
// allowed): its keys first, each once, then the keys of `previous` it did not read, in
// their order; only keys `keep` accepts (the ones still in the index), at most
// kReadHistoryMaxKeys.
std::vector<CacheKey> merge_read_history(std::span<const CacheKey> session, std::span<const CacheKey> previous,
                                         const std::function<bool(const CacheKey&)>& keep);

// Replaces the history at `store_root` with `keys` (at most kReadHistoryMaxKeys are
// written), staged in `staging_dir`. Errors: io.
Result<void> save_read_history(const std::filesystem::path& store_root, const std::filesystem::path& staging_dir,
                               std::span<const CacheKey> keys, std::uint64_t written_at_ns);

}  // namespace jdc
