#include "jdc/compactor.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "jdc/arena_optimizer.hpp"
#include "jdc/detail/atomic_file.hpp"
#include "jdc/loaded_arena.hpp"
#include "jdc/detail/mapped_pack.hpp"
#include "jdc/pack.hpp"
#include "storage/store_lock.hpp"
#include "util/clock.hpp"
#include "util/forward_error.hpp"

namespace jdc {
namespace fs = std::filesystem;

// ---- the transform ----------------------------------------------------------------

Result<std::vector<std::byte>> reoptimize(const ArenaView& arena, const IndexEntry& /*entry*/) {
    const auto bytes = arena.bytes();
    const std::vector<std::byte> as_is(bytes.begin(), bytes.end());
    // Only an arena with a dispatch index can be re-optimized here: the index holds
    // its whole dispatch matrix, so no type registry is needed (arena_optimizer.hpp).
    // Others keep their form until a compiler writes them again. The index is kept
    // where it beats the scan (DispatchForms::for_table's threshold, measured in
    // bench/RESULTS.md) and re-encoded as the current writer would; below the
    // threshold the scan answers as fast and the index is dropped.
    if (!arena.has_dispatch_index()) return as_is;
    ReoptimizeOptions options;
    options.forms.compressed_table = arena.entry_count() >= DispatchForms::kMinEntriesForTable;
    options.forms.max_index_share = DispatchForms::kDefaultMaxIndexShare;
    auto rebuilt = reoptimize_arena(arena, options);
    if (!rebuilt) return as_is;
    return rebuilt;
}

std::string_view to_string(DropReason reason) noexcept {
    switch (reason) {
        case DropReason::invalid: return "invalid";
        case DropReason::missing: return "missing";
        case DropReason::unreferenced: return "unreferenced";
    }
    return "unknown";
}

std::uint64_t CompactionReport::dropped_for(DropReason reason) const noexcept {
    return static_cast<std::uint64_t>(
        std::count_if(dropped.begin(), dropped.end(), [&](const DroppedEntry& d) { return d.reason == reason; }));
}

fs::path compactor_lock_path(const fs::path& store_root) { return store_root / "compactor.lock"; }

namespace {

// Temporary files of the compactor in tmp/: "compactor-pack.tmp.<pid>.<random>" (a
// pack being written) and "compactor-trash.tmp.<pid>.<random>" (a replaced file moved
// aside under the store lock, to be unlinked after it). Only a compactor makes them
// and only one runs at a time, so whoever holds the compactor lock may remove every
// one of them: their makers are dead.
constexpr std::string_view kStagingHint = "compactor-pack";
constexpr std::string_view kTrashHint = "compactor-trash";

using EntryMap = std::unordered_map<CacheKey, IndexEntry, CacheKeyHash>;

std::optional<FileIdentity> identity_of(const fs::path& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    return FileIdentity{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
}

// Files replaced by the new pack: moved aside under the store lock, unlinked after it.
class Trash {
public:
    explicit Trash(fs::path tmp_dir) : tmp_dir_(std::move(tmp_dir)) {}
    // Only if `p` is still the file we read (a writer may have replaced it).
    bool take_if_same(const fs::path& p, const FileIdentity& expected) {
        const auto now = identity_of(p);
        if (!now || *now != expected) return false;
        auto aside = move_aside(p, tmp_dir_, kTrashHint);
        if (aside) files_.push_back(std::move(*aside));
        return aside.has_value();
    }
    void empty() {
        for (const fs::path& f : files_) ::unlink(f.c_str());
        files_.clear();
    }

private:
    fs::path tmp_dir_;
    std::vector<fs::path> files_;
};

// Nothing that decides which copy is current changed since the snapshot.
bool same_entry(const IndexEntry& a, const IndexEntry& b) noexcept {
    return a.key == b.key && a.location == b.location && a.size == b.size && a.created_ns == b.created_ns &&
           a.config_hash == b.config_hash && a.format_version == b.format_version;
}

std::uint64_t created_at(std::span<const std::byte> arena_bytes) noexcept {
    arena::Header h;
    std::memcpy(&h, arena_bytes.data(), sizeof h);
    return h.created_at_ns;
}

struct PackSource {
    StoreFile file;
    std::shared_ptr<MappedPack> mapped;  // null: the pack could not be opened
    std::string open_error;
    std::uint64_t live_bytes = 0, dead_bytes = 0, damaged_slots = 0;
    bool rewrite = false;
};

struct Candidate {  // an entry going into the new pack
    IndexEntry snapshot;
    std::optional<FileIdentity> loose_file;  // it came from this loose file
    std::span<const std::byte> original;
    std::vector<std::byte> rewritten;  // empty: stored as it was

    std::span<const std::byte> bytes() const noexcept {
        return rewritten.empty() ? original : std::span<const std::byte>(rewritten);
    }
};

struct Removal {  // an index entry to erase
    IndexEntry snapshot;
    std::optional<FileIdentity> loose_file;  // its damaged file, to unlink
    DropReason reason;
    std::string detail;
};

// What one run decided, before it changes anything.
struct Plan {
    std::vector<PackSource> packs;  // newest first
    std::vector<Candidate> candidates;
    std::vector<Removal> removals;
    std::vector<StoreFile> orphans;  // loose files the index does not refer to
    std::vector<DroppedEntry> dead_copies;  // in packs being rewritten
    std::vector<std::unique_ptr<LoadedArena>> loose_arenas;  // own the loose candidates' bytes

    bool rewrites_any_pack() const {
        return std::any_of(packs.begin(), packs.end(), [](const PackSource& p) { return p.rewrite; });
    }
    bool nothing_to_do() const { return candidates.empty() && removals.empty() && orphans.empty() && !rewrites_any_pack(); }
};

void remove_leftover_staging(const fs::path& tmp_dir) {
    std::error_code ec;
    for (fs::directory_iterator it(tmp_dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        long pid = 0;
        const bool ours = name.rfind(std::string(kStagingHint) + ".tmp.", 0) == 0 || name.rfind(std::string(kTrashHint) + ".tmp.", 0) == 0;
        if (ours && parse_temp_name(name, pid)) ::unlink(it->path().c_str());
    }
}

std::vector<PackSource> open_packs(const StoreListing& listing) {
    std::vector<PackSource> packs;
    for (const StoreFile& f : listing.packs) {
        PackSource p;
        p.file = f;
        if (auto mapped = MappedPack::open(f.path)) p.mapped = std::make_shared<MappedPack>(std::move(*mapped));
        else p.open_error = mapped.error().message;
        packs.push_back(std::move(p));
    }
    std::sort(packs.begin(), packs.end(), [](const PackSource& a, const PackSource& b) {
        const std::uint64_t ca = a.mapped ? a.mapped->created_at_ns() : 0, cb = b.mapped ? b.mapped->created_at_ns() : 0;
        return ca != cb ? ca > cb : a.file.path < b.file.path;
    });
    return packs;
}

struct LiveCopy {
    std::size_t pack;
    std::span<const std::byte> arena;
};
using LiveCopies = std::unordered_map<CacheKey, LiveCopy, CacheKeyHash>;

// A copy is live when the index says the key is packed with exactly this copy's size
// and creation time; the first such copy (newest pack) is the one kept.
LiveCopies classify_copies(std::vector<PackSource>& packs, const EntryMap& index) {
    LiveCopies live;
    for (std::size_t p = 0; p < packs.size(); ++p) {
        PackSource& pack = packs[p];
        if (!pack.mapped) continue;
        const PackView& view = pack.mapped->view();
        for (std::uint64_t slot = 0; slot < view.bucket_count(); ++slot) {
            auto entry = view.entry_at_slot(slot);
            if (!entry) {
                ++pack.damaged_slots;
                continue;
            }
            if (!*entry) continue;
            const auto [key, arena_bytes] = **entry;
            const auto indexed = index.find(key);
            const bool current = indexed != index.end() && indexed->second.location == EntryLocation::packed &&
                                 arena_bytes.size() == indexed->second.size && arena_bytes.size() >= sizeof(arena::Header) &&
                                 created_at(arena_bytes) == indexed->second.created_ns;
            if (current && live.emplace(key, LiveCopy{p, arena_bytes}).second) pack.live_bytes += arena_bytes.size();
            else pack.dead_bytes += arena_bytes.size();
        }
    }
    return live;
}

bool is_named(const PackSource& pack, const std::vector<fs::path>& names) {
    return std::any_of(names.begin(), names.end(), [&](const fs::path& n) {
        const auto id = identity_of(n);
        return id && *id == pack.file.identity;
    });
}

void choose_packs_to_rewrite(std::vector<PackSource>& packs, const CompactionOptions& options, bool packing_loose_files) {
    std::size_t small = 0;
    for (const PackSource& p : packs)
        if (p.mapped && p.file.size < options.small_pack_bytes) ++small;
    for (PackSource& p : packs) {
        const std::uint64_t arena_bytes = p.live_bytes + p.dead_bytes;
        const bool damaged = !p.mapped || p.damaged_slots > 0;
        const bool mostly_dead = arena_bytes > 0 && p.dead_bytes * 100 > arena_bytes * options.max_dead_percent;
        // One small pack alone is rewritten only together with something: rewriting it
        // into itself would repeat on every run.
        const bool merge_small = p.file.size < options.small_pack_bytes && (small > 1 || packing_loose_files);
        p.rewrite = damaged || is_named(p, options.rewrite_packs) || (options.merge_packs && (mostly_dead || merge_small));
    }
}

// Decides, entry by entry of the index, what goes into the new pack and what is dropped.
void plan_entries(const EntryMap& index, const StoreListing& listing, const LiveCopies& live, Plan& plan,
                  const VerifyLimits& limits, const CompactionOptions& options, CompactionReport& report) {
    std::unordered_map<CacheKey, const StoreFile*, CacheKeyHash> loose_files;
    for (const StoreFile& f : listing.loose) loose_files.emplace(f.key, &f);
    std::vector<IndexEntry> ordered;
    ordered.reserve(index.size());
    for (const auto& [key, e] : index) ordered.push_back(e);
    std::sort(ordered.begin(), ordered.end(), [](const IndexEntry& a, const IndexEntry& b) { return a.key < b.key; });

    std::uint64_t done = 0;
    for (const IndexEntry& e : ordered) {
        if (options.progress) options.progress(done++, ordered.size());
        if (e.location == EntryLocation::loose) {
            const auto file = loose_files.find(e.key);
            if (file == loose_files.end()) {
                plan.removals.push_back({e, std::nullopt, DropReason::missing, "its loose file is gone"});
                continue;
            }
            if (!options.pack_loose_files) continue;
            auto loaded = LoadedArena::open(file->second->path, LoadMode::read, limits, SymlinkPolicy::refuse);
            if (!loaded) {
                if (is_damage(loaded.error().code))
                    plan.removals.push_back({e, file->second->identity, DropReason::invalid, loaded.error().message});
                continue;  // anything else (gone meanwhile, permissions, our limits): leave it loose
            }
            ++report.entries_read;
            auto owner = std::make_unique<LoadedArena>(std::move(*loaded));
            plan.candidates.push_back({e, file->second->identity, owner->bytes(), {}});
            plan.loose_arenas.push_back(std::move(owner));
            continue;
        }
        const auto copy = live.find(e.key);
        if (copy == live.end()) {
            plan.removals.push_back({e, std::nullopt, DropReason::missing, "no pack holds the copy the index describes"});
            continue;
        }
        if (!plan.packs[copy->second.pack].rewrite) continue;
        auto verified = verify_arena(copy->second.arena, VerifyLevel::full, limits);
        if (!verified) {
            plan.removals.push_back({e, std::nullopt, DropReason::invalid,
                                     plan.packs[copy->second.pack].file.path.filename().string() + ": " + verified.error().message});
            continue;
        }
        ++report.entries_read;
        plan.candidates.push_back({e, std::nullopt, copy->second.arena, {}});
    }
}

// Loose files the index does not send readers to, and copies in rewritten packs that
// the index does not describe.
void plan_unreferenced(const EntryMap& index, const StoreListing& listing, const LiveCopies& live, Plan& plan) {
    for (const StoreFile& f : listing.loose) {
        const auto indexed = index.find(f.key);
        if (indexed == index.end() || indexed->second.location != EntryLocation::loose) plan.orphans.push_back(f);
    }
    for (std::size_t p = 0; p < plan.packs.size(); ++p) {
        const PackSource& pack = plan.packs[p];
        if (!pack.rewrite || !pack.mapped) continue;
        (void)pack.mapped->for_each_entry([&](const CacheKey& key, std::span<const std::byte> arena_bytes) {
            const auto copy = live.find(key);
            if (copy == live.end() || copy->second.pack != p || copy->second.arena.data() != arena_bytes.data())
                plan.dead_copies.push_back({key, DropReason::unreferenced, "copy in " + pack.file.path.filename().string()});
        });
    }
}

void transform_candidates(Plan& plan, const VerifyLimits& limits, const CompactionOptions& options, CompactionReport& report) {
    for (Candidate& c : plan.candidates) {
        auto view = ArenaView::open(c.original, limits);  // verified when read: this is the O(1) wrap
        if (!view) continue;
        auto out = options.transform(*view, c.snapshot);
        if (!out || !verify_arena(*out, VerifyLevel::full, limits)) {
            ++report.transform_failures;
            continue;
        }
        if (!std::equal(out->begin(), out->end(), c.original.begin(), c.original.end())) {
            c.rewritten = std::move(*out);
            ++report.entries_rewritten;
        }
    }
}

// Under the store lock: publish the pack, move the index entries that did not change
// since the snapshot onto it, apply the removals, then move aside what was replaced
// (old packs before loose files: at every step, a superseded copy in a pack is
// shadowed by a loose file or gone). `needs_rebuild` is set when the index could not
// take an entry (see below): the caller rebuilds it once the lock is released.
Result<void> commit(CacheIndex& index, LocalStore& store, Plan& plan, std::optional<StagedFile>& staged, const fs::path& target,
                    Trash& trash, CompactionReport& report, bool& needs_rebuild) {
    std::vector<const Candidate*> moving;
    for (const Candidate& c : plan.candidates) {
        const auto now = index.find(c.snapshot.key);
        const bool unchanged = now && same_entry(*now, c.snapshot) &&
                               (!c.loose_file || identity_of(store.loose_path(c.snapshot.key)) == c.loose_file);
        if (unchanged) moving.push_back(&c);
        else ++report.changed_meanwhile;
    }
    if (staged && !moving.empty()) {
        if (auto r = staged->publish(target); !r && !staged->temp_path().empty()) return r;
        report.new_pack = target;
    }
    std::vector<const Candidate*> moved;
    for (const Candidate* c : moving) {
        IndexEntry e = *index.find(c->snapshot.key);  // with the access counts readers added meanwhile
        const auto bytes = c->bytes();
        arena::Header h;
        std::memcpy(&h, bytes.data(), sizeof h);
        e.location = EntryLocation::packed;
        e.size = bytes.size();
        e.created_ns = h.created_at_ns;
        e.format_version = (std::uint32_t{h.version_major} << 16) | h.version_minor;
        if (!index.put(e)) {
            // The find() above makes this all but impossible (put probes the same
            // run and replaces the slot it found), but the index is a shared mapping
            // anyone who can write the cache can damage, and put's contract is that
            // false needs a rebuild. The entry keeps the file it had, which the
            // rebuild from the directory finds (a loose file shadows the packed copy).
            needs_rebuild = true;
            continue;
        }
        moved.push_back(c);
        ++report.entries_packed;
        if (c->loose_file) ++report.loose_packed;
    }
    for (const Removal& r : plan.removals) {
        const auto now = index.find(r.snapshot.key);
        if (!now || !same_entry(*now, r.snapshot)) continue;
        const fs::path loose = store.loose_path(r.snapshot.key);
        if (r.reason == DropReason::missing && r.snapshot.location == EntryLocation::loose && identity_of(loose)) continue;
        index.erase(r.snapshot.key);
        if (r.reason == DropReason::invalid) index.add(IndexCounter::corrupt_drops);
        if (r.loose_file) trash.take_if_same(loose, *r.loose_file);
        report.dropped.push_back({r.snapshot.key, r.reason, r.detail});
    }
    for (const PackSource& p : plan.packs)
        if (p.rewrite && p.file.path != target) trash.take_if_same(p.file.path, p.file.identity);
    report.dropped.insert(report.dropped.end(), plan.dead_copies.begin(), plan.dead_copies.end());
    for (const Candidate* c : moved)
        if (c->loose_file) trash.take_if_same(store.loose_path(c->snapshot.key), *c->loose_file);
    for (const StoreFile& f : plan.orphans) {
        const auto now = index.find(f.key);
        if ((!now || now->location != EntryLocation::loose) && trash.take_if_same(f.path, f.identity))
            report.dropped.push_back({f.key, DropReason::unreferenced, "loose file " + f.path.filename().string()});
    }
    return {};
}

void record_files(const StoreListing& listing, std::uint64_t& packs, std::uint64_t& loose, std::uint64_t& bytes, std::uint64_t& disk) {
    packs = listing.packs.size();
    loose = listing.loose.size();
    bytes = listing.loose_bytes() + listing.pack_bytes();
    disk = listing.disk_bytes();
}

}  // namespace

Result<CompactionReport> compact_store(LocalStore& store, const CompactionOptions& options) {
    const std::uint64_t started = detail::steady_ns();
    CompactionReport report;
    auto lock = StoreLock::for_file(compactor_lock_path(store.root()));
    if (!lock) return tl::unexpected(lock.error());
    ScopedStoreLock held(**lock, options.lock_mode == CompactorLockMode::wait ? ScopedStoreLock::Mode::wait : ScopedStoreLock::Mode::try_only);
    if (!held.owns()) {
        if (!held.failure().empty())
            return make_error(ErrorCode::io, "cannot lock '" + compactor_lock_path(store.root()).string() + "': " + held.failure());
        report.outcome = CompactionOutcome::busy;
        return report;
    }
    remove_leftover_staging(store.temp_directory());

    // The index first, then the files: a file written after the snapshot is newer than
    // it, and the commit re-checks everything against the index anyway.
    EntryMap index;
    for (const IndexEntry& e : store.entries()) index.emplace(e.key, e);
    auto listing = store.list_files();
    if (!listing) return tl::unexpected(listing.error());
    record_files(*listing, report.packs_before, report.loose_before, report.bytes_before, report.disk_bytes_before);

    Plan plan;
    plan.packs = open_packs(*listing);
    const LiveCopies live = classify_copies(plan.packs, index);
    const bool has_loose = options.pack_loose_files &&
                           std::any_of(index.begin(), index.end(), [](const auto& kv) { return kv.second.location == EntryLocation::loose; });
    choose_packs_to_rewrite(plan.packs, options, has_loose);
    const VerifyLimits& limits = store.options().limits;
    plan_entries(index, *listing, live, plan, limits, options, report);
    plan_unreferenced(index, *listing, live, plan);
    if (plan.nothing_to_do()) {
        record_files(*listing, report.packs_after, report.loose_after, report.bytes_after, report.disk_bytes_after);
        report.duration_ns = detail::steady_ns() - started;
        return report;
    }
    transform_candidates(plan, limits, options, report);

    std::optional<StagedFile> staged;
    fs::path target;
    if (!plan.candidates.empty()) {
        std::vector<PackInput> inputs;
        inputs.reserve(plan.candidates.size());
        for (const Candidate& c : plan.candidates) inputs.push_back({c.snapshot.key, c.bytes()});
        auto pack = build_pack(inputs, detail::wall_clock_ns());
        if (!pack) return tl::unexpected(pack.error());
        auto file = StagedFile::stage(store.temp_directory(), kStagingHint, *pack, store.options().durability);
        if (!file) return tl::unexpected(file.error());
        staged.emplace(std::move(*file));
        target = store.packs_directory() / pack_file_name(*pack);
    }
    Trash trash(store.temp_directory());
    bool needs_rebuild = false;
    auto committed = store.modify([&](CacheIndex& idx) {
        const std::uint64_t locked = detail::steady_ns();
        auto r = commit(idx, store, plan, staged, target, trash, report, needs_rebuild);
        report.lock_held_ns = detail::steady_ns() - locked;
        return r;
    });
    trash.empty();
    if (!committed) return tl::unexpected(committed.error());
    if (needs_rebuild) JDC_FORWARD_IF_ERROR(store.rebuild_index("the index held more entries than its header counted"));

    report.outcome = CompactionOutcome::compacted;
    auto after = store.list_files();
    if (!after) return tl::unexpected(after.error());
    record_files(*after, report.packs_after, report.loose_after, report.bytes_after, report.disk_bytes_after);
    report.duration_ns = detail::steady_ns() - started;
    if (options.progress) options.progress(index.size(), index.size());
    return report;
}

}  // namespace jdc
