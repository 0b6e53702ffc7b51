// jdc — full verification of a cache directory, and its repair (jdc validate [--fix]).
//
// Storage layer. check_store reads everything and changes nothing: it does not open a
// LocalStore (which would rebuild a damaged index and remove invalid files on its own),
// it maps the index and the packs read-only and reads every loose file. Each problem
// is reported once, naming the file (and key) it concerns, so that a repair removes
// exactly what was reported.
//
// What counts as a problem:
//   invalid_loose_file    a loose arena that fails verification (level full)
//   invalid_pack          a pack whose header or layout fails verification (all its
//                         entries are unreachable), or a damaged index slot in it
//   invalid_packed_entry  an arena in a pack that fails verification
//   index_unreadable      index.jdci missing, unreadable, or left dirty by a crashed writer
//   dangling_entry        an index entry whose loose file or pack copy is missing
//   unindexed_file        a valid loose file the index does not know
//   index_totals          the index header's counts or byte total disagree with its slots
// A check racing with writers may see a put between its rename and its index update
// as an unindexed file; run it on a quiet cache for a verdict.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "jdc/arena_verify.hpp"
#include "jdc/cache_key.hpp"
#include "jdc/export.hpp"
#include "jdc/local_store.hpp"

namespace jdc {

enum class StoreProblemKind : std::uint8_t {
    invalid_loose_file,
    invalid_pack,
    invalid_packed_entry,
    index_unreadable,
    dangling_entry,
    unindexed_file,
    index_totals,
};
JDC_API std::string_view to_string(StoreProblemKind kind) noexcept;

struct StoreProblem {
    StoreProblemKind kind;
    std::filesystem::path file;    // the loose file, pack or index concerned
    std::optional<CacheKey> key;   // the entry concerned, when there is one
    std::string message;           // why (the verifier's message)
};

struct StoreCheckReport {
    std::uint64_t index_entries = 0;
    std::uint64_t loose_files = 0;
    std::uint64_t packs = 0;
    std::uint64_t packed_arenas = 0;
    std::uint64_t bytes_verified = 0;
    std::vector<StoreProblem> problems;

    bool valid() const noexcept { return problems.empty(); }
};

struct StoreCheckOptions {
    VerifyLimits limits;
    // Called with (arenas verified, arenas to verify).
    std::function<void(std::uint64_t, std::uint64_t)> progress;
};

// Verifies every loose arena, every pack (header, every slot, every arena) and the
// index against them. Errors: not_found (no cache directory at `root`), io (a
// directory that cannot be listed or a file that cannot be read for a reason other
// than its content, e.g. permission).
JDC_API Result<StoreCheckReport> check_store(const std::filesystem::path& root, const StoreCheckOptions& options = {});

struct StoreRepairReport {
    std::uint64_t loose_files_removed = 0;
    std::uint64_t packs_rewritten = 0;        // rewritten without their invalid entries, or removed
    std::uint64_t packed_entries_dropped = 0;
    bool index_rebuilt = false;
};

// Removes what `check` found invalid and nothing else: invalid loose files (unless
// replaced since by a valid one), invalid arenas and slots of packs (the pack is
// rewritten by the compactor without them; a pack that does not open is removed);
// then rebuilds the index if it had problems of its own. Errors: io.
JDC_API Result<StoreRepairReport> repair_store(LocalStore& store, const StoreCheckReport& check);

}  // namespace jdc
