#include "jdc/store_check.hpp"

#include <algorithm>
#include <cstring>
#include <set>
#include <unordered_map>

#include <sys/stat.h>

#include "jdc/compactor.hpp"
#include "jdc/detail/cache_index.hpp"
#include "jdc/detail/mapped_pack.hpp"
#include "jdc/loaded_arena.hpp"
#include "storage/store_lock.hpp"
#include "util/forward_error.hpp"

namespace jdc {
namespace fs = std::filesystem;

std::string_view to_string(StoreProblemKind kind) noexcept {
    switch (kind) {
        case StoreProblemKind::invalid_loose_file: return "invalid loose file";
        case StoreProblemKind::invalid_pack: return "invalid pack";
        case StoreProblemKind::invalid_packed_entry: return "invalid packed entry";
        case StoreProblemKind::index_unreadable: return "index unreadable";
        case StoreProblemKind::dangling_entry: return "dangling index entry";
        case StoreProblemKind::unindexed_file: return "unindexed file";
        case StoreProblemKind::index_totals: return "index totals";
    }
    return "unknown";
}

namespace {

struct CopyMeta {
    std::uint64_t size, created_ns;
    bool operator<(const CopyMeta& o) const noexcept { return size != o.size ? size < o.size : created_ns < o.created_ns; }
};

// Everything the check found on disk, for comparing with the index afterwards.
struct Found {
    std::unordered_map<CacheKey, std::uint64_t, CacheKeyHash> loose_sizes;  // valid loose files
    std::unordered_map<CacheKey, std::set<CopyMeta>, CacheKeyHash> packed;  // readable pack copies
    bool packs_complete = true;  // false when a pack could not be read: its copies are unknown
};

bool is_content_error(ErrorCode code) noexcept { return code != ErrorCode::io && code != ErrorCode::not_found; }

Result<void> check_loose(const StoreListing& listing, const StoreCheckOptions& options, StoreCheckReport& report, Found& found,
                         std::uint64_t& done, std::uint64_t total) {
    for (const StoreFile& f : listing.loose) {
        if (options.progress) options.progress(done++, total);
        auto loaded = LoadedArena::open(f.path, LoadMode::read, options.limits, SymlinkPolicy::refuse);
        if (!loaded) {
            if (loaded.error().code == ErrorCode::not_found) continue;  // removed since the listing
            if (!is_content_error(loaded.error().code)) return tl::unexpected(loaded.error());
            report.problems.push_back({StoreProblemKind::invalid_loose_file, f.path, f.key, loaded.error().message});
            continue;
        }
        ++report.loose_files;
        report.bytes_verified += f.size;
        found.loose_sizes.emplace(f.key, f.size);
    }
    return {};
}

void check_pack_slots(const MappedPack& pack, const StoreCheckOptions& options, StoreCheckReport& report, Found& found,
                      std::uint64_t& done, std::uint64_t total) {
    const std::size_t problems_before = report.problems.size();
    const PackView& view = pack.view();
    for (std::uint64_t slot = 0; slot < view.bucket_count(); ++slot) {
        auto entry = view.entry_at_slot(slot);
        if (!entry) {
            report.problems.push_back({StoreProblemKind::invalid_pack, pack.path(), std::nullopt,
                                       "slot " + std::to_string(slot) + ": " + entry.error().message});
            found.packs_complete = false;  // the key of a damaged slot is unknown
            continue;
        }
        if (!*entry) continue;
        if (options.progress) options.progress(done++, total);
        const auto [key, arena_bytes] = **entry;
        ++report.packed_arenas;
        if (auto ok = verify_arena(arena_bytes, VerifyLevel::full, options.limits); !ok) {
            report.problems.push_back({StoreProblemKind::invalid_packed_entry, pack.path(), key, ok.error().message});
            continue;
        }
        report.bytes_verified += arena_bytes.size();
        arena::Header h;
        std::memcpy(&h, arena_bytes.data(), sizeof h);
        found.packed[key].insert({arena_bytes.size(), h.created_at_ns});
    }
    // Slot by slot finds each bad entry; the whole-pack rules (entry count, overlaps,
    // reachability) are checked once the entries themselves are fine.
    if (report.problems.size() == problems_before)
        if (auto ok = verify_pack(pack.bytes(), VerifyLevel::full, options.limits); !ok)
            report.problems.push_back({StoreProblemKind::invalid_pack, pack.path(), std::nullopt, ok.error().message});
}

Result<void> check_packs(const StoreListing& listing, const StoreCheckOptions& options, StoreCheckReport& report, Found& found,
                         std::uint64_t& done, std::uint64_t total) {
    for (const StoreFile& f : listing.packs) {
        auto pack = MappedPack::open(f.path);
        if (!pack) {
            if (pack.error().code == ErrorCode::not_found) continue;
            if (!is_content_error(pack.error().code)) return tl::unexpected(pack.error());
            report.problems.push_back({StoreProblemKind::invalid_pack, f.path, std::nullopt, pack.error().message});
            found.packs_complete = false;
            continue;
        }
        ++report.packs;
        check_pack_slots(*pack, options, report, found, done, total);
    }
    return {};
}

// Opens the index without repairing it. nullopt (with a problem recorded) when it
// cannot be used; an error only for I/O trouble.
Result<std::optional<CacheIndex>> open_index(const fs::path& root, StoreCheckReport& report) {
    const fs::path file = root / "index.jdci";
    auto index = CacheIndex::open(file, IndexAccess::read_only);  // read, never written: a read-only cache can be checked
    if (!index) {
        if (index.error().code == ErrorCode::io) return tl::unexpected(index.error());
        report.problems.push_back({StoreProblemKind::index_unreadable, file, std::nullopt, index.error().message});
        return std::optional<CacheIndex>();
    }
    if (index->summary().dirty) {
        // Dirty while a writer holds the lock is a change in progress, not damage.
        auto lock = StoreLock::for_file(root / "lock");
        if (!lock) return tl::unexpected(lock.error());
        ScopedStoreLock probe(**lock, ScopedStoreLock::Mode::try_only);
        if (probe.owns() && index->summary().dirty) {
            report.problems.push_back({StoreProblemKind::index_unreadable, file, std::nullopt,
                                       "the index was left mid-update by a writer that crashed"});
            return std::optional<CacheIndex>();
        }
    }
    return std::optional<CacheIndex>(std::move(*index));
}

void check_index(const CacheIndex& index, const fs::path& root, const StoreListing& listing, const Found& found,
                 StoreCheckReport& report) {
    const fs::path file = root / "index.jdci";
    const std::vector<IndexEntry> entries = index.entries();
    report.index_entries = entries.size();
    std::unordered_map<CacheKey, const IndexEntry*, CacheKeyHash> by_key;
    std::uint64_t bytes = 0;
    for (const IndexEntry& e : entries) {
        by_key.emplace(e.key, &e);
        bytes += e.size;
        if (e.location == EntryLocation::loose) {
            const auto f = found.loose_sizes.find(e.key);
            if (f == found.loose_sizes.end() && std::none_of(report.problems.begin(), report.problems.end(), [&](const StoreProblem& p) {
                    return p.kind == StoreProblemKind::invalid_loose_file && p.key == e.key;
                }))
                report.problems.push_back({StoreProblemKind::dangling_entry, file, e.key, "its loose file is missing"});
            else if (f != found.loose_sizes.end() && f->second != e.size)
                report.problems.push_back({StoreProblemKind::dangling_entry, file, e.key,
                                           "the index says " + std::to_string(e.size) + " bytes, the file has " + std::to_string(f->second)});
        } else if (found.packs_complete) {
            const auto copies = found.packed.find(e.key);
            if (copies == found.packed.end() || !copies->second.count({e.size, e.created_ns}))
                if (std::none_of(report.problems.begin(), report.problems.end(), [&](const StoreProblem& p) { return p.key == e.key; }))
                    report.problems.push_back({StoreProblemKind::dangling_entry, file, e.key, "no pack holds the copy it describes"});
        }
    }
    for (const StoreFile& f : listing.loose) {
        const auto e = by_key.find(f.key);
        if (!found.loose_sizes.count(f.key)) continue;  // invalid: reported already
        if (e == by_key.end())
            report.problems.push_back({StoreProblemKind::unindexed_file, f.path, f.key, "the index has no entry for it"});
        else if (e->second->location != EntryLocation::loose)
            report.problems.push_back({StoreProblemKind::unindexed_file, f.path, f.key, "the index says the entry is packed"});
    }
    const IndexSummary s = index.summary();
    if (s.live_count != entries.size() || s.total_bytes != bytes)
        report.problems.push_back({StoreProblemKind::index_totals, file, std::nullopt,
                                   "the header counts " + std::to_string(s.live_count) + " entries and " + std::to_string(s.total_bytes) +
                                       " bytes; its slots hold " + std::to_string(entries.size()) + " entries and " +
                                       std::to_string(bytes) + " bytes"});
}

}  // namespace

Result<StoreCheckReport> check_store(const fs::path& root, const StoreCheckOptions& options) {
    struct stat st {};
    if (::stat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return make_error(ErrorCode::not_found, "no cache directory at '" + root.string() + "'");
    auto listing = list_store_files(root);
    if (!listing) return tl::unexpected(listing.error());
    StoreCheckReport report;
    auto index = open_index(root, report);
    if (!index) return tl::unexpected(index.error());

    std::uint64_t total = listing->loose.size(), done = 0;
    for (const StoreFile& f : listing->packs)
        if (auto p = MappedPack::open(f.path)) total += p->entry_count();
    Found found;
    JDC_FORWARD_IF_ERROR(check_loose(*listing, options, report, found, done, total));
    JDC_FORWARD_IF_ERROR(check_packs(*listing, options, report, found, done, total));
    if (*index) check_index(**index, root, *listing, found, report);
    if (options.progress) options.progress(total, total);
    return report;
}

Result<StoreRepairReport> repair_store(LocalStore& store, const StoreCheckReport& check) {
    StoreRepairReport repair;
    std::vector<const StoreProblem*> loose;
    std::set<fs::path> packs;
    bool index_problems = false;
    for (const StoreProblem& p : check.problems) {
        if (p.kind == StoreProblemKind::invalid_loose_file) loose.push_back(&p);
        else if (p.kind == StoreProblemKind::invalid_pack || p.kind == StoreProblemKind::invalid_packed_entry) packs.insert(p.file);
        else index_problems = true;
    }
    if (!loose.empty()) {
        auto removed = store.modify([&](CacheIndex& index) -> Result<void> {
            for (const StoreProblem* p : loose) {
                // Only if it is still invalid: a put may have replaced it with a good file.
                auto again = LoadedArena::open(p->file, LoadMode::read, store.options().limits, SymlinkPolicy::refuse);
                if (again || !is_content_error(again.error().code)) continue;
                if (::unlink(p->file.c_str()) != 0) continue;
                ++repair.loose_files_removed;
                const auto e = p->key ? index.find(*p->key) : std::nullopt;
                if (e && e->location == EntryLocation::loose) {
                    index.erase(*p->key);
                    index.add(IndexCounter::corrupt_drops);
                }
            }
            return {};
        });
        if (!removed) return tl::unexpected(removed.error());
    }
    if (!packs.empty()) {
        CompactionOptions options;
        options.pack_loose_files = false;
        options.merge_packs = false;
        options.rewrite_packs.assign(packs.begin(), packs.end());
        auto compacted = compact_store(store, options);
        if (!compacted) return tl::unexpected(compacted.error());
        repair.packs_rewritten = packs.size();
        repair.packed_entries_dropped = compacted->dropped_for(DropReason::invalid) + compacted->dropped_for(DropReason::missing);
    }
    if (index_problems) {
        JDC_FORWARD_IF_ERROR(store.rebuild_index("jdc validate --fix"));
        repair.index_rebuilt = true;
    }
    return repair;
}

}  // namespace jdc
