#include "jdc/local_store.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_set>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jdc/detail/mapped_pack.hpp"
#include "jdc/loaded_arena.hpp"
#include "jdc/pack.hpp"
#include "storage/store_lock.hpp"
#include "util/clock.hpp"
#include "util/forward_error.hpp"
#include "util/unique_fd.hpp"

#include <xxhash.h>

namespace jdc {
namespace fs = std::filesystem;

namespace {

constexpr const char* kCachedirTag =
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by jdc, the Janus dispatch cache.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n";

std::uint64_t mtime_ns(const struct stat& st) {
    return static_cast<std::uint64_t>(st.st_mtim.tv_sec) * kNanosPerSecond + static_cast<std::uint64_t>(st.st_mtim.tv_nsec);
}

// A directory of the store that already exists must still be one: the store's own
// directories are checked when it opens, but whoever can write the cache can replace
// them later. Absence is left to the caller (a miss when reading, an error from
// mkdir or open when writing). A link planted between this check and the use that
// follows it is not caught; one planted at any other time is.
Result<void> refuse_replaced_directory(const fs::path& dir) {
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) {
        if (errno == ENOENT) return {};
        return make_error(ErrorCode::io, "cannot stat '" + dir.string() + "': " + std::strerror(errno));
    }
    if (S_ISLNK(st.st_mode)) return make_error(ErrorCode::io, "refusing '" + dir.string() + "': it is a symlink");
    if (!S_ISDIR(st.st_mode)) return make_error(ErrorCode::io, "refusing '" + dir.string() + "': not a directory");
    return {};
}

// A directory of the store: created when missing; a symlink or a non-directory in
// its place is refused (it could point anywhere).
Result<void> ensure_directory(const fs::path& dir) {
    struct stat st {};
    if (::lstat(dir.c_str(), &st) == 0) {  // one syscall on the path of every put
        if (S_ISDIR(st.st_mode)) return {};
        return make_error(ErrorCode::io, "refusing '" + dir.string() + (S_ISLNK(st.st_mode) ? "': it is a symlink" : "': not a directory"));
    }
    if (errno != ENOENT) return make_error(ErrorCode::io, "cannot stat '" + dir.string() + "': " + std::strerror(errno));
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
        return make_error(ErrorCode::io, "cannot create directory '" + dir.string() + "': " + std::strerror(errno));
    return refuse_replaced_directory(dir);  // created by someone else meanwhile: check what it is
}

// Writes the cache directory tag unless something is there already. O_EXCL never
// follows a symlink, so a dangling link planted as the tag is not written through.
void write_cachedir_tag(const fs::path& tag) {
    const detail::UniqueFd fd(::open(tag.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!fd) return;  // there already, or not writable: the tag only helps backup tools
    const std::string_view text(kCachedirTag);
    (void)!::write(fd.get(), text.data(), text.size());
}

// A directory that is not empty and is not marked as a cache is someone else's:
// making it one would write jdc's files among theirs (a repository's .git/, which has
// an objects/ directory, was once taken for a cache). A cache is marked by its
// CACHEDIR.TAG (any entry of that name: the tag may have been replaced by a link,
// which the store then refuses elsewhere) or, should the tag be gone, its index.
Result<void> refuse_foreign_directory(const fs::path& root) {
    const auto marked = [&] {
        for (const char* marker : {"CACHEDIR.TAG", "index.jdci"}) {
            struct stat st {};
            if (::lstat((root / marker).c_str(), &st) == 0) return true;
        }
        return false;
    };
    // An existing cache (every open but the first) is not listed.
    if (marked()) return {};
    // Listed, then looked at again: a process making this directory a cache writes the
    // tag before anything else, so a directory found non-empty has its tag by then.
    std::error_code ec;
    fs::directory_iterator it(root, ec);
    // Missing (created below), not a directory or unreadable: what follows says which.
    if (ec) return {};
    if (it == fs::directory_iterator()) return {};  // empty
    if (marked()) return {};
    return make_error(ErrorCode::invalid_argument,
                      "refusing to make '" + root.string() + "' a cache directory: it is not empty and has no CACHEDIR.TAG, so it "
                      "belongs to something else; give a new or empty directory, or mark this one as a cache on purpose "
                      "(jdc init --force --dir '" + root.string() + "')");
}

bool is_regular_file_no_follow(const fs::path& p, struct stat* out = nullptr) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
    if (out != nullptr) *out = st;
    return true;
}

std::uint32_t version_word(std::uint16_t major, std::uint16_t minor) { return (std::uint32_t{major} << 16) | minor; }

StoreFile store_file(const fs::path& p, const struct stat& st, CacheKey key = {}) {
    StoreFile f;
    f.path = p;
    f.identity = {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
    f.size = static_cast<std::uint64_t>(st.st_size);
    f.disk_bytes = static_cast<std::uint64_t>(st.st_blocks) * 512;
    f.mtime_ns = mtime_ns(st);
    f.key = key;
    return f;
}

tl::unexpected<Error> listing_error(const fs::path& dir, const std::error_code& ec) {
    return make_error(ErrorCode::io, "cannot list '" + dir.string() + "': " + ec.message());
}

// objects/<hh>/<key>.jdca, where <hh> is the key's first two hex digits.
Result<void> list_loose_files(const fs::path& objects, StoreListing& out) {
    std::error_code ec;
    fs::directory_iterator shard(objects, ec);
    if (ec == std::errc::no_such_file_or_directory) return {};  // nothing stored yet
    for (fs::directory_iterator end; !ec && shard != end; shard.increment(ec)) {
        struct stat st {};
        // A shard left empty may be removed meanwhile (the compactor does): gone, not foreign.
        if (::lstat(shard->path().c_str(), &st) != 0 && errno == ENOENT) continue;
        if (!S_ISDIR(st.st_mode)) {
            ++out.foreign;
            continue;
        }
        std::error_code ec2;
        fs::directory_iterator it(shard->path(), ec2);
        if (ec2 == std::errc::no_such_file_or_directory) continue;
        if (ec2) return listing_error(shard->path(), ec2);
        for (fs::directory_iterator end2; !ec2 && it != end2; it.increment(ec2)) {
            const fs::path& p = it->path();
            const std::string stem = p.stem().string();
            const auto key = CacheKey::from_hex(stem);
            struct stat fst {};
            if (!key || p.extension() != ".jdca" || stem.substr(0, 2) != shard->path().filename().string() ||
                !is_regular_file_no_follow(p, &fst)) {
                ++out.foreign;
                continue;
            }
            out.loose.push_back(store_file(p, fst, *key));
        }
        if (ec2) return listing_error(shard->path(), ec2);
    }
    if (ec) return listing_error(objects, ec);
    return {};
}

Result<void> list_plain_files(const fs::path& dir, std::string_view extension, std::vector<StoreFile>& out, std::uint64_t* foreign) {
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec == std::errc::no_such_file_or_directory) return {};
    for (fs::directory_iterator end; !ec && it != end; it.increment(ec)) {
        struct stat st {};
        if ((extension.empty() || it->path().extension() == extension) && is_regular_file_no_follow(it->path(), &st))
            out.push_back(store_file(it->path(), st));
        else if (foreign != nullptr)
            ++*foreign;
    }
    if (ec) return listing_error(dir, ec);
    return {};
}

// Newest first: a key found in two packs is taken from the newer one (packs are
// written from the latest entries, so a newer pack never holds an older copy).
void order_newest_first(std::vector<std::shared_ptr<MappedPack>>& packs) {
    std::sort(packs.begin(), packs.end(), [](const auto& a, const auto& b) {
        if (a->created_at_ns() != b->created_at_ns()) return a->created_at_ns() > b->created_at_ns();
        return a->path() < b->path();
    });
}

// The arena header fields a packed copy is matched against the index entry with.
bool copy_matches(std::span<const std::byte> arena_bytes, const IndexEntry& meta) noexcept {
    if (arena_bytes.size() != meta.size || arena_bytes.size() < sizeof(arena::Header)) return false;
    std::uint64_t created = 0;
    std::memcpy(&created, arena_bytes.data() + offsetof(arena::Header, created_at_ns), sizeof created);
    return created == meta.created_ns;
}

// An arena's own header says when it was written and in which version, so an index
// rebuilt from the directory keeps both. Only the header is read: the header-level
// checks of every reader (read_arena_header: magic, readable version, metadata
// checksum), the file's size against it and the key against the file's name, without
// the O(size) data checksum, which the first get() of the entry performs anyway.
std::optional<arena::Header> read_file_header(const fs::path& file, std::uint64_t file_size, const CacheKey& file_key) {
    std::byte head[arena::kCompressedHeaderSize];
    const detail::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (!fd) return std::nullopt;
    const ssize_t n = ::pread(fd.get(), head, sizeof head, 0);
    if (n < static_cast<ssize_t>(sizeof(arena::Header))) return std::nullopt;
    const auto h = jdc::read_arena_header(std::span<const std::byte>(head, static_cast<std::size_t>(n)));
    if (!h) return std::nullopt;
    if (const CacheKey k = arena_key(*h); !k.is_zero() && k != file_key) return std::nullopt;  // another key's arena
    // A raw arena is exactly total_size bytes; a compressed one (compressed-arena-v1.md)
    // is its header, the 16-byte prefix and compressed_size bytes.
    if (h->payload_codec == static_cast<std::uint8_t>(PayloadCodec::none)) {
        if (h->total_size != file_size) return std::nullopt;
    } else {
        if (n != static_cast<ssize_t>(sizeof head)) return std::nullopt;
        arena::CompressedPrefix prefix;
        std::memcpy(&prefix, head + sizeof(arena::Header), sizeof prefix);
        if (prefix.compressed_size > file_size || file_size - prefix.compressed_size != arena::kCompressedHeaderSize) return std::nullopt;
    }
    return *h;
}

// An arena stored under `key` must say it answers `key` (or say nothing: arenas
// written without a key). Another key's arena under this name was put there by
// something other than the store (a swapped file): damage, dropped like any other.
Result<void> check_put_key(const PutRequest& r) {
    auto h = jdc::read_arena_header(r.arena);
    if (!h) return make_error(ErrorCode::invalid_argument, "refusing to store " + r.key.to_hex() + ": " + h.error().message);
    if (const CacheKey carried = arena_key(*h); !carried.is_zero() && carried != r.key)
        return make_error(ErrorCode::invalid_argument, "refusing to store the arena of key " + carried.to_hex() + " under key " + r.key.to_hex());
    return {};
}

Result<void> check_arena_key(const ArenaView& view, const CacheKey& key) {
    const CacheKey carried = view.key();
    if (carried.is_zero() || carried == key) return {};
    return make_error(ErrorCode::corrupt, "cache entry " + key.to_hex() + " holds the arena of key " + carried.to_hex());
}

}  // namespace

struct LocalStore::State {
    fs::path root;
    // The root, held open so that reads resolve entry paths beneath it in one checked
    // system call (LoadedArena::open_beneath); empty where openat2 is unavailable.
    detail::UniqueFd root_fd;
    StoreOptions options;
    std::shared_ptr<StoreLock> lock;

    mutable std::mutex index_mutex;  // guards the `index` pointer, not the index itself
    std::shared_ptr<CacheIndex> index;

    // The mapped packs, newest first: an immutable set replaced as a whole, so that a
    // reader takes it with one reference count (no copy on the hot path).
    using PackSet = std::vector<std::shared_ptr<MappedPack>>;
    mutable std::mutex packs_mutex;
    std::shared_ptr<const PackSet> packs = std::make_shared<const PackSet>();

    fs::path index_file() const { return root / "index.jdci"; }
    fs::path objects_dir() const { return root / "objects"; }
    fs::path packs_dir() const { return root / "packs"; }
    fs::path tmp_dir() const { return root / "tmp"; }
    fs::path shard_dir(const CacheKey& key) const { return objects_dir() / key.to_hex().substr(0, 2); }
    fs::path loose_path(const CacheKey& key) const { return shard_dir(key) / (key.to_hex() + ".jdca"); }

    // Every store directory this operation touches is still a directory, not a link
    // planted since the store was opened.
    Result<void> check_directories(std::initializer_list<fs::path> dirs) const {
        for (const fs::path& dir : dirs)
            if (auto r = refuse_replaced_directory(dir); !r) return r;
        return {};
    }
    Result<void> check_all_directories() const { return check_directories({objects_dir(), packs_dir(), tmp_dir()}); }

    void log(const std::string& line) const {
        if (options.log) options.log(line);
    }
    IndexAccess index_access() const { return options.read_only ? IndexAccess::read_only : IndexAccess::shared; }
    // Every write of a store opened read-only fails here, before it touches anything.
    Result<void> check_writable(std::string_view what) const {
        if (!options.read_only) return {};
        return make_error(ErrorCode::io, "cannot " + std::string(what) + " in '" + root.string() + "': the store was opened read-only");
    }
    Result<StoredArena> get_by_path(const CacheKey& key);
    tl::unexpected<Error> lock_error(const ScopedStoreLock& guard) const {
        return make_error(ErrorCode::io, "cannot lock '" + (root / "lock").string() + "': " + guard.failure());
    }

    // The current index; reopens it when another process replaced the file.
    Result<std::shared_ptr<CacheIndex>> current_index() {
        std::lock_guard<std::mutex> guard(index_mutex);
        if (index && !index->retired()) return index;
        auto opened = CacheIndex::open(index_file(), index_access());
        if (!opened) return tl::unexpected(opened.error());
        index = std::make_shared<CacheIndex>(std::move(*opened));
        return index;
    }
    // For a miss: an index replaced without being marked retired (its replacer died
    // in between, or it was deleted and another process made a new one) would hide
    // every entry added since, for as long as this process lives. Maps the file that
    // is there now, if one opens; else keeps `seen`. One stat(), on misses only, and
    // at most one per kReplacedCheckNs: a clean build misses every table, and a stat
    // per miss was a tenth of its cache overhead. An entry hidden for that long is
    // built again, never read wrong.
    static constexpr std::uint64_t kReplacedCheckNs = 50'000'000;
    std::atomic<std::uint64_t> replaced_checked_ns{0};
    std::shared_ptr<CacheIndex> refresh_if_replaced(const std::shared_ptr<CacheIndex>& seen) {
        const std::uint64_t now = detail::steady_ns();
        std::uint64_t last = replaced_checked_ns.load(std::memory_order_relaxed);
        if (last != 0 && now - last < kReplacedCheckNs) return seen;
        if (!replaced_checked_ns.compare_exchange_strong(last, now, std::memory_order_relaxed)) return seen;  // another thread looks
        if (seen->is_file_at(index_file())) return seen;
        auto opened = CacheIndex::open(index_file(), index_access());
        if (!opened) return seen;
        std::lock_guard<std::mutex> guard(index_mutex);
        index = std::make_shared<CacheIndex>(std::move(*opened));
        return index;
    }
    void forget_index() {
        std::lock_guard<std::mutex> guard(index_mutex);
        index.reset();
    }

    std::shared_ptr<const PackSet> current_packs() const {
        std::lock_guard<std::mutex> guard(packs_mutex);
        return packs;
    }
    // Maps every pack in packs/ (new packs appear when the compactor publishes them,
    // old ones disappear when it has replaced them). A pack already mapped is kept, not
    // mapped again; one no longer there is released (readers still holding arenas of
    // it keep its mapping alive).
    Result<void> load_packs() {
        if (auto r = check_directories({packs_dir()}); !r) return r;
        std::vector<StoreFile> files;
        if (auto r = list_plain_files(packs_dir(), ".jdcp", files, nullptr); !r) return r;
        const std::shared_ptr<const PackSet> previous_set = current_packs();
        const PackSet& previous = *previous_set;
        PackSet found;
        for (const StoreFile& f : files) {
            const auto same = std::find_if(previous.begin(), previous.end(),
                                           [&](const auto& p) { return p->file_identity() == f.identity; });
            if (same != previous.end()) {
                found.push_back(*same);
                continue;
            }
            auto pack = MappedPack::open(f.path);
            if (!pack) {
                log("jdc: ignoring pack: " + pack.error().message);
                continue;
            }
            found.push_back(std::make_shared<MappedPack>(std::move(*pack)));
        }
        order_newest_first(found);
        auto set = std::make_shared<const PackSet>(std::move(found));
        std::lock_guard<std::mutex> guard(packs_mutex);
        packs = std::move(set);
        return {};
    }
    Result<StoredArena> open_loose(const CacheKey& key) const;
    Result<StoredArena> open_packed(const CacheKey& key, const IndexEntry& meta);

    Result<void> rebuild_index_locked(const std::string& reason);
    Result<std::shared_ptr<CacheIndex>> index_for_writing();
    Result<void> ensure_room(std::shared_ptr<CacheIndex>& idx, std::uint64_t new_entries);
    // Under the store lock: the index to write, repaired and with room for `new_entries`.
    Result<std::shared_ptr<CacheIndex>> index_with_room(std::uint64_t new_entries) {
        auto idx = index_for_writing();
        if (!idx) return tl::unexpected(idx.error());
        JDC_FORWARD_IF_ERROR(ensure_room(*idx, new_entries));
        return idx;
    }
    Result<MaintenanceReport> evict_locked(CacheIndex& idx, std::uint64_t now);
    std::uint64_t fixed_bytes() const;
    SizeBudget budget_of(const IndexSummary& summary) const {
        return {summary.total_bytes, summary.live_count * kPackBytesPerEntry, fixed_bytes()};
    }
    // After puts: over the limit (or due for cleanup), evict.
    Result<void> maintain_locked(CacheIndex& idx, std::uint64_t now, bool cleanup_due);
    void remove_temp_files(MaintenanceReport& report, std::uint64_t now);
    void drop_invalid(const CacheKey& key, const Error& why);

    State() = default;
    State(const State&) = delete;
    State& operator=(const State&) = delete;
};

LocalStore::LocalStore(std::unique_ptr<State> state) : s_(std::move(state)) {}
LocalStore::LocalStore(LocalStore&&) noexcept = default;
LocalStore& LocalStore::operator=(LocalStore&&) noexcept = default;
LocalStore::~LocalStore() = default;

const fs::path& LocalStore::root() const noexcept { return s_->root; }
const StoreOptions& LocalStore::options() const noexcept { return s_->options; }
fs::path LocalStore::loose_path(const CacheKey& key) const { return s_->loose_path(key); }

Result<LocalStore> LocalStore::open(const fs::path& root, StoreOptions options) {
    if (options.low_water_percent > 100)
        return make_error(ErrorCode::invalid_argument, "low_water_percent must be at most 100");
    auto state = std::make_unique<State>();
    state->root = root;
    state->options = std::move(options);
    if (state->options.read_only) return open_read_only(std::move(state));

    // Create the parents of the root as needed, then refuse symlinks from the root down.
    std::error_code ec;
    if (root.has_parent_path() && !fs::exists(root.parent_path(), ec)) {
        fs::create_directories(root.parent_path(), ec);
        if (ec) return make_error(ErrorCode::io, "cannot create directory '" + root.parent_path().string() + "': " + ec.message());
    }
    if (!state->options.adopt_non_empty_directory) JDC_FORWARD_IF_ERROR(refuse_foreign_directory(root));
    // The tag first: another process opening the same new directory meanwhile must
    // never find it non-empty and untagged (refuse_foreign_directory would refuse it).
    JDC_FORWARD_IF_ERROR(ensure_directory(state->root));
    write_cachedir_tag(root / "CACHEDIR.TAG");
    for (const fs::path& dir : {state->objects_dir(), state->packs_dir(), state->tmp_dir()})
        JDC_FORWARD_IF_ERROR(ensure_directory(dir));
    if (LoadedArena::can_open_beneath()) state->root_fd.reset(::open(root.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));

    auto lock = StoreLock::for_file(root / "lock");
    if (!lock) return tl::unexpected(lock.error());
    state->lock = *lock;
    JDC_FORWARD_IF_ERROR(state->load_packs());

    auto idx = CacheIndex::open(state->index_file());
    if (idx && idx->summary().dirty) {
        // A writer sets `dirty` while it changes the index. If nobody holds the lock
        // now, that writer died mid-change: the index cannot be trusted.
        ScopedStoreLock guard(*state->lock, ScopedStoreLock::Mode::try_only);
        if (guard.owns()) {
            auto again = CacheIndex::open(state->index_file());
            if (again && again->summary().dirty) {
                if (auto r = state->rebuild_index_locked("the index was left mid-update by a writer that crashed"); !r)
                    return tl::unexpected(r.error());
            }
        }
    } else if (!idx) {
        ScopedStoreLock guard(*state->lock);
        if (!guard.owns()) return make_error(ErrorCode::io, "cannot lock '" + (root / "lock").string() + "': " + guard.failure());
        auto again = CacheIndex::open(state->index_file());  // another process may have made it meanwhile
        if (!again) {
            const std::string reason = again.error().code == ErrorCode::not_found ? "the index was missing"
                                                                                    : "the index was unreadable (" + again.error().message + ")";
            JDC_FORWARD_IF_ERROR(state->rebuild_index_locked(reason));
        }
    }
    if (idx && !idx->summary().dirty) state->index = std::make_shared<CacheIndex>(std::move(*idx));  // mapped once
    JDC_FORWARD_IF_ERROR(state->current_index());
    return LocalStore(std::move(state));
}

Result<LocalStore> LocalStore::open_read_only(std::unique_ptr<State> state) {
    const fs::path& root = state->root;
    struct stat st {};
    if (::lstat(root.c_str(), &st) != 0)
        return make_error(errno == ENOENT ? ErrorCode::not_found : ErrorCode::io,
                          "cannot open cache directory '" + root.string() + "': " + std::strerror(errno));
    if (S_ISLNK(st.st_mode)) return make_error(ErrorCode::io, "refusing '" + root.string() + "': it is a symlink");
    if (!S_ISDIR(st.st_mode)) return make_error(ErrorCode::io, "refusing '" + root.string() + "': not a directory");
    if (::faccessat(AT_FDCWD, root.c_str(), R_OK | X_OK, AT_EACCESS) != 0)
        return make_error(ErrorCode::io, "cannot read cache directory '" + root.string() + "': " + std::strerror(errno));
    JDC_FORWARD_IF_ERROR(state->check_all_directories());
    if (LoadedArena::can_open_beneath()) state->root_fd.reset(::open(root.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (auto packs = state->load_packs(); !packs)
        state->log("jdc: cannot read the packs of '" + root.string() + "' (" + packs.error().message + "): serving loose entries only");
    (void)state->current_index();  // for stats; lookups go by path, with or without it
    return LocalStore(std::move(state));
}

// A lookup of a store opened read-only: no index, no lock, nothing dropped or counted.
Result<StoredArena> LocalStore::State::get_by_path(const CacheKey& key) {
    auto found = open_loose(key);  // a loose file shadows packed copies of its key
    if (!found && found.error().code == ErrorCode::not_found) {
        found = make_error(ErrorCode::not_found, "no cache entry " + key.to_hex());
        const auto pack_set = current_packs();
        for (const auto& pack : *pack_set) {  // newest first
            auto in_pack = pack->find(key);
            if (!in_pack || !*in_pack) continue;  // a damaged slot: another pack may hold a good copy
            auto view = ArenaView::open(**in_pack, options.limits);
            if (!view) {
                found = tl::unexpected(std::move(view.error()));
                continue;
            }
            found = StoredArena(key, EntryLocation::packed, pack, *view);
            break;
        }
    }
    if (found)
        if (auto keyed = check_arena_key(found->view(), key); !keyed) return tl::unexpected(std::move(keyed.error()));
    return found;
}

// ---- rebuilding ---------------------------------------------------------------

Result<void> LocalStore::State::rebuild_index_locked(const std::string& reason) {
    if (auto r = check_all_directories(); !r) return r;
    if (auto r = load_packs(); !r) return r;  // packs published since we opened count too
    StoreListing listing;
    if (auto r = list_loose_files(objects_dir(), listing); !r) return r;
    std::vector<IndexEntry> entries;
    std::uint64_t dropped = 0, damaged_slots = 0;
    const std::uint64_t foreign = listing.foreign;
    for (const StoreFile& f : listing.loose) {
        const auto header = read_file_header(f.path, f.size, f.key);
        if (!header) {
            ::unlink(f.path.c_str());
            ++dropped;
            continue;
        }
        IndexEntry e;
        e.key = f.key;
        e.size = f.size;
        e.created_ns = header->created_at_ns;
        e.last_access_ns = f.mtime_ns;
        e.format_version = version_word(header->version_major, header->version_minor);
        e.location = EntryLocation::loose;
        entries.push_back(e);
    }
    std::unordered_set<CacheKey, CacheKeyHash> known;
    for (const IndexEntry& e : entries) known.insert(e.key);
    const auto pack_set = current_packs();
    for (const auto& pack : *pack_set) {  // newest first
        // Slot by slot: a damaged slot loses its own entry, not every entry after it.
        for (std::uint64_t slot = 0; slot < pack->view().bucket_count(); ++slot) {
            auto entry = pack->view().entry_at_slot(slot);
            if (!entry) {
                ++damaged_slots;
                continue;
            }
            if (!*entry || (*entry)->arena.size() < sizeof(arena::Header)) continue;
            const CacheKey key = (*entry)->key;
            arena::Header h;
            std::memcpy(&h, (*entry)->arena.data(), sizeof h);
            // Loose copies are newer than packed ones (packs are only written from them),
            // and a key in two packs is taken from the newer pack.
            if (!known.insert(key).second) continue;
            IndexEntry e;
            e.key = key;
            e.size = (*entry)->arena.size();
            e.created_ns = h.created_at_ns;
            e.last_access_ns = pack->created_at_ns();
            e.format_version = version_word(h.version_major, h.version_minor);
            e.location = EntryLocation::packed;
            entries.push_back(e);
        }
    }

    // Keep the old file mapped, if it maps at all, to mark it retired once the new one
    // is in place: that is how other processes learn to reopen.
    auto previous = CacheIndex::open(index_file());
    std::optional<IndexSummary> old;
    if (previous) old = previous->summary();
    if (old) old->corrupt_drops += dropped;
    IndexSummary fresh{};
    fresh.created_ns = detail::wall_clock_ns();
    fresh.corrupt_drops = dropped;
    auto written = CacheIndex::write_new(index_file(), tmp_dir(), entries, 0, old ? &*old : &fresh, old ? old->last_cleanup_ns : 0);
    if (!written) return written;
    if (previous) previous->mark_retired();
    {
        std::lock_guard<std::mutex> guard(index_mutex);
        if (index) index->mark_retired();
        index.reset();
    }
    log("jdc: rebuilt cache index of '" + root.string() + "' (" + reason + "): " + std::to_string(entries.size()) + " entries" +
        (dropped ? ", " + std::to_string(dropped) + " invalid files removed" : "") +
        (damaged_slots ? ", " + std::to_string(damaged_slots) + " damaged pack slots skipped" : "") +
        (foreign ? ", " + std::to_string(foreign) + " foreign files ignored" : ""));
    return {};
}

Result<void> LocalStore::rebuild_index(const std::string& reason) {
    JDC_FORWARD_IF_ERROR(s_->check_writable("rebuild the index"));
    ScopedStoreLock guard(*s_->lock);
    if (!guard.owns()) return s_->lock_error(guard);
    return s_->rebuild_index_locked(reason);
}

// ---- writing --------------------------------------------------------------------

// Under the lock: the index to change, rebuilt first if a crashed writer left it dirty.
Result<std::shared_ptr<CacheIndex>> LocalStore::State::index_for_writing() {
    JDC_FORWARD_IF_ERROR(check_all_directories());
    auto idx = current_index();
    if (idx && !(*idx)->is_file_at(index_file())) {
        // The name points elsewhere, yet nobody marked our mapping retired: its
        // replacer died in between, or the file was deleted. Map what is there now.
        forget_index();
        idx = current_index();
    }
    if (!idx) {
        forget_index();
        JDC_FORWARD_IF_ERROR(rebuild_index_locked("the index was unreadable (" + idx.error().message + ")"));
        return current_index();
    }
    if ((*idx)->summary().dirty) {
        JDC_FORWARD_IF_ERROR(rebuild_index_locked("the index was left mid-update by a writer that crashed"));
        return current_index();
    }
    return idx;
}

Result<void> LocalStore::State::ensure_room(std::shared_ptr<CacheIndex>& idx, std::uint64_t new_entries) {
    if (idx->has_room_for(new_entries)) return {};
    const IndexSummary summary = idx->summary();
    std::vector<IndexEntry> all = idx->entries();
    idx->set_dirty(true);  // if we die before retiring it, whoever maps it next rebuilds
    auto written = CacheIndex::write_new(index_file(), tmp_dir(), all, (summary.live_count + new_entries) * 2, &summary, summary.last_cleanup_ns);
    if (!written) {
        idx->set_dirty(false);
        return written;
    }
    idx->mark_retired();
    auto fresh = current_index();
    if (!fresh) return tl::unexpected(fresh.error());
    idx = *fresh;
    return {};
}

// The index entry of an arena just published (its header says when and in which version
// it was written).
static IndexEntry published_entry(const PutRequest& r, std::uint64_t stored_size, std::uint64_t now, EntryLocation where) {
    arena::Header h;
    std::memcpy(&h, r.arena.data(), sizeof h);
    IndexEntry e;
    e.key = r.key;
    e.size = stored_size;
    e.created_ns = h.created_at_ns;
    e.last_access_ns = now;
    e.format_version = version_word(h.version_major, h.version_minor);
    e.config_hash = r.config_hash;
    e.location = where;
    return e;
}

Result<void> LocalStore::put(const PutRequest& request) { return put_batch(std::span<const PutRequest>(&request, 1)); }

Result<void> LocalStore::put_batch(std::span<const PutRequest> requests) {
    JDC_FORWARD_IF_ERROR(s_->check_writable("store"));
    // Verify and stage outside the lock: the lock is held only to rename and index.
    if (auto r = s_->check_directories({s_->tmp_dir(), s_->objects_dir()}); !r) return r;
    std::vector<StagedFile> staged;
    staged.reserve(requests.size());
    std::vector<std::uint64_t> stored_sizes;  // bytes on disk: compressed or raw
    stored_sizes.reserve(requests.size());
    for (const PutRequest& r : requests) {
        if (r.key.is_zero()) return make_error(ErrorCode::invalid_argument, "the all-zero cache key is reserved");
        if (auto ok = verify_arena(r.arena, r.verified ? VerifyLevel::header : VerifyLevel::full, s_->options.limits); !ok)
            return make_error(ErrorCode::invalid_argument, "refusing to store " + r.key.to_hex() + ": " + ok.error().message);
        JDC_FORWARD_IF_ERROR(check_put_key(r));
        auto compressed = compress_by_policy(r.arena, s_->options.compression);
        if (!compressed) return make_error(ErrorCode::invalid_argument, "cannot compress " + r.key.to_hex() + ": " + compressed.error().message);
        const std::span<const std::byte> stored = *compressed ? std::span<const std::byte>(**compressed) : r.arena;
        auto file = StagedFile::stage(s_->tmp_dir(), r.key.to_hex(), stored, s_->options.durability);
        if (!file) return tl::unexpected(file.error());
        staged.push_back(std::move(*file));
        stored_sizes.push_back(stored.size());
    }

    ScopedStoreLock guard(*s_->lock);
    if (!guard.owns()) return s_->lock_error(guard);
    auto idx = s_->index_with_room(requests.size());
    if (!idx) return tl::unexpected(idx.error());
    CacheIndex& index_ref = **idx;
    const std::uint64_t now = detail::wall_clock_ns();

    index_ref.set_dirty(true);
    Result<void> outcome;
    std::uint64_t written_bytes = 0;
    bool index_full = false;
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const PutRequest& r = requests[i];
        if (auto d = ensure_directory(s_->shard_dir(r.key)); !d) {
            outcome = d;
            break;
        }
        if (auto p = staged[i].publish(s_->loose_path(r.key)); !p) {
            outcome = p;
            if (!staged[i].temp_path().empty()) break;  // not renamed: nothing published
            // Renamed, but the directory fsync failed: the file is live, so index it.
        }
        if (!index_ref.put(published_entry(r, stored_sizes[i], now, EntryLocation::loose))) index_full = true;  // published, but not indexed: the rebuild below finds it
        written_bytes += stored_sizes[i];
        if (!outcome) break;
    }
    index_ref.add(IndexCounter::bytes_written, written_bytes);
    if (index_full) {
        // Left dirty on purpose: if the rebuild fails, the next writer repeats it.
        auto rebuilt = s_->rebuild_index_locked("the index held more entries than its header counted");
        if (!rebuilt) return rebuilt;
        return outcome;
    }
    index_ref.set_dirty(false);
    if (!outcome) return outcome;

    if (s_->options.automatic_maintenance) {
        const IndexSummary summary = index_ref.summary();
        return s_->maintain_locked(index_ref, now, now - std::min(now, summary.last_cleanup_ns) > s_->options.cleanup_interval_ns);
    }
    return {};
}

Result<void> LocalStore::put_packed(std::span<const PutRequest> requests) {
    JDC_FORWARD_IF_ERROR(s_->check_writable("store"));
    // Arenas the compression policy compresses are large (64 KiB and up by default):
    // they stay loose files, compressed, where a file's cost is small beside their size.
    std::vector<PutRequest> loose, packed;
    for (const PutRequest& r : requests)
        (choose_codec(r.arena.size(), s_->options.compression) != PayloadCodec::none ? loose : packed).push_back(r);
    if (!loose.empty()) {
        if (auto r = put_batch(loose); !r) return r;
        if (packed.empty()) return {};
        requests = packed;
    }
    if (requests.empty()) return {};
    if (auto r = s_->check_directories({s_->tmp_dir(), s_->packs_dir()}); !r) return r;
    std::vector<PackInput> inputs;
    inputs.reserve(requests.size());
    for (const PutRequest& r : requests) {
        if (r.key.is_zero()) return make_error(ErrorCode::invalid_argument, "the all-zero cache key is reserved");
        if (auto ok = verify_arena(r.arena, r.verified ? VerifyLevel::header : VerifyLevel::full, s_->options.limits); !ok)
            return make_error(ErrorCode::invalid_argument, "refusing to store " + r.key.to_hex() + ": " + ok.error().message);
        JDC_FORWARD_IF_ERROR(check_put_key(r));
        inputs.push_back({r.key, r.arena});
    }
    const std::uint64_t now = detail::wall_clock_ns();
    auto pack = build_pack(inputs, now);
    if (!pack) return tl::unexpected(pack.error());
    auto staged = StagedFile::stage(s_->tmp_dir(), "put-pack", *pack, s_->options.durability);
    if (!staged) return tl::unexpected(staged.error());
    const fs::path target = s_->packs_dir() / pack_file_name(*pack);

    ScopedStoreLock guard(*s_->lock);
    if (!guard.owns()) return s_->lock_error(guard);
    auto idx = s_->index_with_room(requests.size());
    if (!idx) return tl::unexpected(idx.error());
    CacheIndex& index_ref = **idx;
    if (auto r = s_->check_directories({s_->packs_dir(), s_->objects_dir()}); !r) return r;
    if (auto p = staged->publish(target); !p) {
        if (!staged->temp_path().empty()) return p;  // not renamed: nothing published
    }
    index_ref.set_dirty(true);
    std::uint64_t written_bytes = 0;
    bool index_full = false;
    std::vector<fs::path> superseded;
    for (const PutRequest& r : requests) {
        if (const auto old = index_ref.find(r.key); old && old->location == EntryLocation::loose) superseded.push_back(s_->loose_path(r.key));
        if (!index_ref.put(published_entry(r, r.arena.size(), now, EntryLocation::packed))) index_full = true;
        written_bytes += r.arena.size();
    }
    // A loose file shadows packed copies of its key (cache-directory-v1.md §2), so the
    // copies these entries replace go, before the index says "packed".
    for (const fs::path& file : superseded) ::unlink(file.c_str());
    index_ref.add(IndexCounter::bytes_written, written_bytes);
    if (auto r = s_->load_packs(); !r) s_->log("jdc: cannot map the new pack " + target.string() + ": " + r.error().message);
    if (index_full) return s_->rebuild_index_locked("the index held more entries than its header counted");
    index_ref.set_dirty(false);
    if (s_->options.automatic_maintenance) return s_->maintain_locked(index_ref, now, false);
    return {};
}

// ---- reading --------------------------------------------------------------------

void LocalStore::State::drop_invalid(const CacheKey& key, const Error& why) {
    ScopedStoreLock guard(*lock);
    if (!guard.owns()) {
        log("jdc: cannot drop damaged cache entry " + key.to_hex() + " now: " + lock_error(guard).value().message);
        return;
    }
    auto idx = index_for_writing();  // also repairs a dirty index first, never hides it
    if (!idx) return;
    const auto meta = (*idx)->find(key);
    if (!meta) return;  // already gone
    if (meta->location == EntryLocation::loose) {
        auto again = LoadedArena::open(loose_path(key), LoadMode::read, options.limits, SymlinkPolicy::refuse);
        if (again || !is_damage(again.error().code)) return;  // replaced by a good file, or not damage after all
    }
    (*idx)->set_dirty(true);
    (*idx)->erase(key);
    if (meta->location == EntryLocation::loose) ::unlink(loose_path(key).c_str());
    (*idx)->add(IndexCounter::corrupt_drops);
    (*idx)->set_dirty(false);
    log("jdc: dropped cache entry " + key.to_hex() + ": " + why.message);
}

Result<StoredArena> LocalStore::State::open_loose(const CacheKey& key) const {
    const fs::path file = loose_path(key);
    Result<LoadedArena> loaded = make_error(ErrorCode::not_found, "");
    if (root_fd) {
        // One openat2 refuses a link anywhere below the root, with no window between
        // the check and the open: the hot path of a warm build.
        const std::string hex = key.to_hex();
        const std::string relative = "objects/" + hex.substr(0, 2) + "/" + hex + ".jdca";
        loaded = LoadedArena::open_beneath(root_fd.get(), relative, file, options.load_mode, options.limits);
    } else {
        // The file itself is opened with O_NOFOLLOW; the directories above it are
        // checked here (objects/ first: lstat of the shard would follow a link there).
        JDC_FORWARD_IF_ERROR(check_directories({objects_dir(), file.parent_path()}));
        loaded = LoadedArena::open(file, options.load_mode, options.limits, SymlinkPolicy::refuse);
    }
    if (!loaded) return tl::unexpected(std::move(loaded.error()));
    auto owner = std::make_shared<LoadedArena>(std::move(*loaded));
    const ArenaView view = owner->view();
    return StoredArena(key, EntryLocation::loose, std::move(owner), view);
}

Result<StoredArena> LocalStore::State::open_packed(const CacheKey& key, const IndexEntry& meta) {
    std::optional<Error> failure;
    for (int pass = 0; pass < 2; ++pass) {
        const auto pack_set = current_packs();
        for (const auto& pack : *pack_set) {
            auto in_pack = pack->find(key);
            if (!in_pack) {
                failure = in_pack.error();  // a damaged slot in one pack: another may hold a good copy
                continue;
            }
            // Absent, or an older copy that the index no longer describes (a pack the
            // compactor has replaced, still mapped here).
            if (!*in_pack || !copy_matches(**in_pack, meta)) continue;
            auto view = ArenaView::open(**in_pack, options.limits);
            if (view) return StoredArena(key, EntryLocation::packed, pack, *view);
            failure = view.error();
        }
        if (failure) break;
        if (pass == 0 && !load_packs()) break;  // a pack published after we mapped the set
    }
    if (failure) return tl::unexpected(std::move(*failure));
    return make_error(ErrorCode::not_found, "no cache entry " + key.to_hex() + " (indexed, but in no pack)");
}

// The hot path of a warm build: one index probe, one open + read (or mmap) + verify.
// Nothing is allocated for messages unless something fails.
Result<StoredArena> LocalStore::get(const CacheKey& key, AccessMode mode) {
    if (s_->options.read_only) return s_->get_by_path(key);
    // A compactor moving the entry into a pack unlinks the file the index named a
    // moment ago; the index then names the pack. Three looks cover a move and a
    // concurrent rebuild of the index; a key still not found after them is a miss.
    constexpr int kLooks = 3;
    std::shared_ptr<CacheIndex> idx;
    std::optional<Error> failure;
    for (int look = 0; look < kLooks; ++look) {
        auto current = s_->current_index();
        if (!current) return tl::unexpected(current.error());
        idx = std::move(*current);
        auto meta = idx->find(key);
        if (!meta) {
            // An index replaced without being marked retired would hide every entry
            // added since: one stat() on a miss finds out.
            idx = s_->refresh_if_replaced(idx);
            meta = idx->find(key);
        }
        if (!meta) {
            failure.reset();
            break;
        }
        auto found = meta->location == EntryLocation::loose ? s_->open_loose(key) : s_->open_packed(key, *meta);
        if (found)
            if (auto keyed = check_arena_key(found->view(), key); !keyed) found = tl::unexpected(std::move(keyed.error()));
        if (found) {
            if (mode == AccessMode::serve) {
                idx->record_access(key, detail::wall_clock_ns());
                idx->add(IndexCounter::hits);
                idx->add(IndexCounter::bytes_read, found->view().bytes().size());
            }
            return found;
        }
        failure = std::move(found.error());
        if (failure->code != ErrorCode::not_found) break;
    }
    if (mode == AccessMode::serve) idx->add(IndexCounter::misses);
    if (!failure) return make_error(ErrorCode::not_found, "no cache entry " + key.to_hex());
    if (mode == AccessMode::serve && is_damage(failure->code)) s_->drop_invalid(key, *failure);  // never served again
    return tl::unexpected(std::move(*failure));
}

std::vector<Result<StoredArena>> LocalStore::get_batch(std::span<const CacheKey> keys) {
    std::vector<Result<StoredArena>> out;
    out.reserve(keys.size());
    for (const CacheKey& k : keys) out.push_back(get(k));
    return out;
}

PrefetchReport LocalStore::prefetch(std::span<const CacheKey> keys) {
    // Entries less than this apart are read ahead as one range: the gap costs less
    // than another request.
    constexpr std::uint64_t kJoinGap = 64 * 1024;
    PrefetchReport report;
    {
        const detail::UniqueFd fd(::open(s_->index_file().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
        if (fd) (void)::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_WILLNEED);
    }
    auto idx = s_->current_index();
    if (!idx || keys.empty()) return report;
    const auto pack_set = s_->current_packs();  // shared, not copied
    const std::vector<std::shared_ptr<MappedPack>>& packs = *pack_set;
    for (const auto& pack : packs) (void)pack->advise_willneed(0, pack->view().header().data_offset);  // the finds below read them
    std::vector<std::vector<std::pair<std::uint64_t, std::uint64_t>>> ranges(packs.size());  // [begin, end) per pack
    for (const CacheKey& key : keys) {
        const auto meta = (*idx)->find(key);
        if (!meta || meta->location != EntryLocation::packed) {
            ++report.not_packed;
            continue;
        }
        for (std::size_t p = 0; p < packs.size(); ++p) {
            auto found = packs[p]->find(key);
            if (!found || !*found || !copy_matches(**found, *meta)) continue;
            const auto begin = static_cast<std::uint64_t>((*found)->data() - packs[p]->bytes().data()) - pack::kEntryPrefixSize;
            ranges[p].emplace_back(begin, begin + pack::kEntryPrefixSize + (*found)->size());
            ++report.entries;
            report.bytes += pack::kEntryPrefixSize + (*found)->size();
            break;
        }
    }
    for (std::size_t p = 0; p < packs.size(); ++p) {
        auto& r = ranges[p];
        std::sort(r.begin(), r.end());
        for (std::size_t i = 0; i < r.size();) {
            std::uint64_t begin = r[i].first, end = r[i].second;
            for (++i; i < r.size() && r[i].first <= end + kJoinGap; ++i) end = std::max(end, r[i].second);
            (void)packs[p]->advise_willneed(begin, end - begin);
            ++report.ranges;
        }
    }
    return report;
}

std::optional<IndexEntry> LocalStore::find(const CacheKey& key) const {
    auto idx = s_->current_index();
    if (!idx) return std::nullopt;
    return (*idx)->find(key);
}

std::vector<IndexEntry> LocalStore::entries() const {
    auto idx = s_->current_index();
    if (!idx) return {};
    return (*idx)->entries();
}

Result<bool> LocalStore::remove(const CacheKey& key) {
    JDC_FORWARD_IF_ERROR(s_->check_writable("remove an entry"));
    ScopedStoreLock guard(*s_->lock);
    if (!guard.owns()) return s_->lock_error(guard);
    auto idx = s_->index_for_writing();
    if (!idx) return tl::unexpected(idx.error());
    (*idx)->set_dirty(true);
    const auto erased = (*idx)->erase(key);
    if (erased && erased->location == EntryLocation::loose) ::unlink(s_->loose_path(key).c_str());
    (*idx)->set_dirty(false);
    return erased.has_value();
}

// ---- maintenance ----------------------------------------------------------------

// The files at the root (the index, the cache layer's files, locks, the tag) and the
// directories, as allocated on disk; shard directories by count (one block each), so
// that no shard is stat()ed on the path of a put.
std::uint64_t LocalStore::State::fixed_bytes() const {
    std::uint64_t n = 0;
    const auto allocated = [](const fs::path& p, bool directory) -> std::uint64_t {
        struct stat st {};
        if (::lstat(p.c_str(), &st) != 0 || (directory ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))) return 0;
        return static_cast<std::uint64_t>(st.st_blocks) * 512;
    };
    for (const fs::path& dir : {root, objects_dir(), packs_dir(), tmp_dir()}) n += allocated(dir, true);
    std::error_code ec;
    for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
        n += allocated(it->path(), false);
    for (fs::directory_iterator it(objects_dir(), ec), end; !ec && it != end; it.increment(ec)) n += kDirectoryBytes;
    return n;
}

Result<void> LocalStore::State::maintain_locked(CacheIndex& idx, std::uint64_t now, bool cleanup_due) {
    if (cleanup_due) {
        MaintenanceReport report;
        remove_temp_files(report, now);
    }
    if (cleanup_due || budget_of(idx.summary()).total() > options.max_size_bytes) {
        auto evicted = evict_locked(idx, now);
        if (!evicted) return tl::unexpected(evicted.error());
    }
    if (cleanup_due) idx.set_last_cleanup(now);
    return {};
}

Result<MaintenanceReport> LocalStore::State::evict_locked(CacheIndex& idx, std::uint64_t now) {
    MaintenanceReport report;
    std::vector<IndexEntry> all = idx.entries();
    auto drop = [&](const IndexEntry& e) {
        idx.erase(e.key);
        if (e.location == EntryLocation::loose) ::unlink(loose_path(e.key).c_str());
        report.bytes_freed += e.size;
        idx.add(IndexCounter::evictions);
    };
    idx.set_dirty(true);
    // Age: not used for max_age.
    std::vector<IndexEntry> remaining;
    for (const IndexEntry& e : all) {
        if (now > e.last_access_ns && now - e.last_access_ns > options.max_age_ns) {
            drop(e);
            ++report.removed_by_age;
        } else {
            remaining.push_back(e);
        }
    }
    // Size: least recently used first, down to the low-water mark of the limit, every
    // entry counted with what packing it costs and the rest of the directory beside.
    const std::uint64_t fixed = fixed_bytes();
    const IndexSummary summary = idx.summary();
    std::uint64_t total = summary.total_bytes + summary.live_count * kPackBytesPerEntry + fixed;
    if (total > options.max_size_bytes) {
        const std::uint64_t target = options.max_size_bytes / 100 * options.low_water_percent +
                                     options.max_size_bytes % 100 * options.low_water_percent / 100;
        std::sort(remaining.begin(), remaining.end(),
                  [](const IndexEntry& a, const IndexEntry& b) { return a.last_access_ns < b.last_access_ns; });
        std::vector<const IndexEntry*> in_grace;
        for (const IndexEntry& e : remaining) {
            if (total <= target) break;
            if (e.last_access_ns + options.reader_grace_ns > now) {
                in_grace.push_back(&e);
                continue;
            }
            drop(e);
            ++report.removed_by_size;
            total -= std::min(total, e.size + kPackBytesPerEntry);
        }
        // The grace defers eviction; it never holds the directory over its limit.
        for (const IndexEntry* e : in_grace) {
            if (total <= options.max_size_bytes) {
                ++report.kept_in_grace;
                continue;
            }
            drop(*e);
            ++report.removed_by_size;
            ++report.removed_in_grace;
            total -= std::min(total, e->size + kPackBytesPerEntry);
        }
    }
    idx.set_dirty(false);
    report.bytes_after = idx.summary().total_bytes;
    report.budget_after = budget_of(idx.summary()).total();
    if (report.removed_by_age + report.removed_by_size > 0)
        log("jdc: evicted " + std::to_string(report.removed_by_age) + " entries by age and " + std::to_string(report.removed_by_size) +
            " by size" + (report.removed_in_grace ? " (" + std::to_string(report.removed_in_grace) + " read within the grace period)" : "") +
            ", freeing " + std::to_string(report.bytes_freed) + " bytes");
    return report;
}

void LocalStore::State::remove_temp_files(MaintenanceReport& report, std::uint64_t now) {
    std::error_code ec;
    for (fs::directory_iterator it(tmp_dir(), ec), end; !ec && it != end; it.increment(ec)) {
        struct stat st {};
        if (::lstat(it->path().c_str(), &st) != 0 || S_ISDIR(st.st_mode)) continue;
        // By age only: a writer's pid says nothing when the cache is shared between
        // containers or machines, and removing a live writer's file loses its put.
        const bool old = now > mtime_ns(st) && now - mtime_ns(st) >= options.temp_grace_ns;
        if (old && ::unlink(it->path().c_str()) == 0) ++report.removed_temp_files;
    }
}

Result<MaintenanceReport> LocalStore::evict() {
    JDC_FORWARD_IF_ERROR(s_->check_writable("evict"));
    ScopedStoreLock guard(*s_->lock);
    if (!guard.owns()) return s_->lock_error(guard);
    auto idx = s_->index_for_writing();
    if (!idx) return tl::unexpected(idx.error());
    return s_->evict_locked(**idx, detail::wall_clock_ns());
}

Result<MaintenanceReport> LocalStore::cleanup() {
    JDC_FORWARD_IF_ERROR(s_->check_writable("clean up"));
    ScopedStoreLock guard(*s_->lock);
    if (!guard.owns()) return s_->lock_error(guard);
    auto idx = s_->index_for_writing();
    if (!idx) return tl::unexpected(idx.error());
    const std::uint64_t now = detail::wall_clock_ns();
    MaintenanceReport temps;
    s_->remove_temp_files(temps, now);
    auto report = s_->evict_locked(**idx, now);
    if (!report) return report;
    report->removed_temp_files = temps.removed_temp_files;
    (*idx)->set_last_cleanup(now);
    return report;
}

// ---- structural changes from outside, clearing, listing ---------------------------

Result<void> LocalStore::modify(const std::function<Result<void>(CacheIndex&)>& change) {
    JDC_FORWARD_IF_ERROR(s_->check_writable("change the index"));
    Result<void> outcome;
    {
        ScopedStoreLock guard(*s_->lock);
        if (!guard.owns()) return s_->lock_error(guard);
        auto idx = s_->index_for_writing();
        if (!idx) return tl::unexpected(idx.error());
        (*idx)->set_dirty(true);
        outcome = change(**idx);
        (*idx)->set_dirty(false);
    }
    if (auto r = s_->load_packs(); !r && outcome) return r;
    return outcome;
}

Result<ClearReport> LocalStore::clear() {
    JDC_FORWARD_IF_ERROR(s_->check_writable("clear"));
    ClearReport report;
    std::vector<fs::path> aside;  // unlinked once the lock is released (see move_aside)
    {
        ScopedStoreLock guard(*s_->lock);
        if (!guard.owns()) return s_->lock_error(guard);
        auto idx = s_->index_for_writing();
        if (!idx) return tl::unexpected(idx.error());
        StoreListing listing;
        JDC_FORWARD_IF_ERROR(list_loose_files(s_->objects_dir(), listing));
        JDC_FORWARD_IF_ERROR(list_plain_files(s_->packs_dir(), ".jdcp", listing.packs, nullptr));

        // First the empty index (readers miss from here on), then the files: a crash in
        // between leaves unindexed files, which the compactor or a rerun removes.
        const IndexSummary summary = (*idx)->summary();
        (*idx)->set_dirty(true);  // if we die before retiring it, whoever maps it next rebuilds
        auto written = CacheIndex::write_new(s_->index_file(), s_->tmp_dir(), {}, 0, &summary, summary.last_cleanup_ns);
        if (!written) {
            (*idx)->set_dirty(false);
            return tl::unexpected(written.error());
        }
        (*idx)->mark_retired();
        s_->forget_index();
        report.entries_removed = summary.live_count;
        for (const auto* files : {&listing.loose, &listing.packs})
            for (const StoreFile& f : *files) {
                auto moved = move_aside(f.path, s_->tmp_dir(), "cleared");
                if (!moved) continue;
                aside.push_back(std::move(*moved));
                ++(files == &listing.loose ? report.loose_files_removed : report.packs_removed);
                report.bytes_removed += f.size;
            }
    }
    for (const fs::path& f : aside) ::unlink(f.c_str());
    JDC_FORWARD_IF_ERROR(s_->load_packs());
    JDC_FORWARD_IF_ERROR(s_->current_index());
    return report;
}

Result<StoreListing> list_store_files(const fs::path& root) {
    StoreListing listing;
    JDC_FORWARD_IF_ERROR(list_loose_files(root / "objects", listing));
    JDC_FORWARD_IF_ERROR(list_plain_files(root / "packs", ".jdcp", listing.packs, &listing.foreign));
    JDC_FORWARD_IF_ERROR(list_plain_files(root / "tmp", "", listing.temporary, nullptr));
    return listing;
}

Result<StoreListing> LocalStore::list_files() const { return list_store_files(s_->root); }

std::uint64_t LocalStore::loose_entry_count() const {
    std::uint64_t n = 0;
    for (const IndexEntry& e : entries())
        if (e.location == EntryLocation::loose) ++n;
    return n;
}

fs::path LocalStore::packs_directory() const { return s_->packs_dir(); }
fs::path LocalStore::temp_directory() const { return s_->tmp_dir(); }

std::uint64_t StoreListing::loose_bytes() const noexcept {
    std::uint64_t n = 0;
    for (const StoreFile& f : loose) n += f.size;
    return n;
}

std::uint64_t StoreListing::pack_bytes() const noexcept {
    std::uint64_t n = 0;
    for (const StoreFile& f : packs) n += f.size;
    return n;
}

std::uint64_t StoreListing::disk_bytes() const noexcept {
    std::uint64_t n = 0;
    for (const auto* files : {&loose, &packs})
        for (const StoreFile& f : *files) n += f.disk_bytes;
    return n;
}

Result<void> LocalStore::zero_counters() {
    JDC_FORWARD_IF_ERROR(s_->check_writable("zero the counters"));
    auto idx = s_->current_index();
    if (!idx) return tl::unexpected(idx.error());
    (*idx)->reset_counters();
    return {};
}

SizeBudget LocalStore::budget() const {
    IndexSummary summary;
    if (auto idx = s_->current_index()) summary = (*idx)->summary();
    return s_->budget_of(summary);
}

Result<DiskUsage> measure_disk_usage(const fs::path& root) {
    DiskUsage usage;
    std::unordered_set<std::uint64_t> seen;  // inodes: a hard link counts once, as du counts it
    std::error_code ec;
    const auto add = [&](const fs::path& p, std::uint64_t DiskUsage::*part) -> std::optional<struct stat> {
        struct stat st {};
        if (::lstat(p.c_str(), &st) != 0) return std::nullopt;
        if (seen.insert(static_cast<std::uint64_t>(st.st_ino)).second) usage.*part += static_cast<std::uint64_t>(st.st_blocks) * 512;
        return st;
    };
    const auto root_stat = add(root, &DiskUsage::directories);
    if (!root_stat) return make_error(ErrorCode::io, "cannot stat '" + root.string() + "': " + std::strerror(errno));
    if (!S_ISDIR(root_stat->st_mode)) return make_error(ErrorCode::io, "'" + root.string() + "' is not a directory");
    for (fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end; !ec && it != end; it.increment(ec)) {
        const fs::path& p = it->path();
        const fs::path relative = p.lexically_relative(root);
        const std::string top = relative.begin()->string();
        const bool at_root = std::next(relative.begin()) == relative.end();
        struct stat st {};
        if (::lstat(p.c_str(), &st) != 0) continue;  // gone meanwhile
        std::uint64_t DiskUsage::*part = &DiskUsage::foreign;
        if (S_ISDIR(st.st_mode)) part = &DiskUsage::directories;
        else if (top == "tmp") part = &DiskUsage::temporary;
        else if (at_root) part = relative == "index.jdci" ? &DiskUsage::index : &DiskUsage::other_files;
        else if (top == "objects" && p.extension() == ".jdca") part = &DiskUsage::loose;
        else if (top == "packs" && p.extension() == ".jdcp" && !at_root) part = &DiskUsage::packs;
        add(p, part);
    }
    if (ec) return make_error(ErrorCode::io, "cannot list '" + root.string() + "': " + ec.message());
    return usage;
}

StoreStats LocalStore::stats() const {
    StoreStats st;
    if (auto idx = s_->current_index()) st.index = (*idx)->summary();
    st.max_size_bytes = s_->options.max_size_bytes;
    st.pack_count = s_->current_packs()->size();
    return st;
}

}  // namespace jdc
