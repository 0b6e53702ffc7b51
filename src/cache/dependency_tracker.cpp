#include "jdc/dependency_tracker.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <set>
#include <string_view>
#include <unordered_map>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include "jdc/loaded_arena.hpp"  // read_file_bytes
#include "util/unique_fd.hpp"

namespace fs = std::filesystem;

namespace jdc {

static_assert(std::endian::native == std::endian::little, "the state file and hash encodings are little-endian");

// ---- The state file (format-spec/dependency-state-v1.md) ---------------------------------
//
//   file    := header record* trailer                    little-endian, unaligned
//   header  := magic:u32 "JDCD"  version_major:u16 = 1  version_minor:u16 = 0
//              flags:u32 = 0  record_count:u32  payload_size:u64          (24 bytes)
//   record  := path_len:u32  path:u8[path_len]  rflags:u8  stat?  import_count:u32
//              import:u32[import_count]
//   stat    := size:u64  mtime_ns:i64  ctime_ns:i64  inode:u64  device:u64
//              hash_hi:u64  hash_lo:u64                    (56 bytes, when rflags bit 0)
//   trailer := checksum:u64 = XXH3_64bits(bytes [0, 24 + payload_size))
//
// Records are sorted by path (bytes, strictly increasing); imports are record indices,
// strictly increasing. rflags: bit 0 has stat, bit 1 racy (only with bit 0).
namespace {

constexpr std::uint32_t kMagic = 0x4443444Au;  // bytes "JDCD"
constexpr std::uint16_t kVersionMajor = 1;
constexpr std::uint16_t kVersionMinor = 0;
constexpr std::size_t kHeaderSize = 24;
constexpr std::size_t kTrailerSize = 8;
constexpr std::size_t kStatSize = 56;
constexpr std::size_t kMinRecordSize = 4 + 1 + 1 + 4;  // one-byte path, flags, no stat, no imports
constexpr std::uint8_t kHasStat = 1;
constexpr std::uint8_t kRacy = 2;

class Writer {
public:
    void u8(std::uint8_t v) { put(&v, 1); }
    void u16(std::uint16_t v) { put(&v, 2); }
    void u32(std::uint32_t v) { put(&v, 4); }
    void u64(std::uint64_t v) { put(&v, 8); }
    void put(const void* p, std::size_t n) {
        const auto* b = static_cast<const std::byte*>(p);
        out.insert(out.end(), b, b + n);
    }
    std::vector<std::byte> out;
};

// A cursor over untrusted bytes: every read is bounds-checked first.
class Reader {
public:
    explicit Reader(std::span<const std::byte> bytes) : bytes_(bytes) {}
    std::size_t offset() const { return off_; }
    std::size_t remaining() const { return bytes_.size() - off_; }
    bool has(std::size_t len) const { return len <= bytes_.size() && off_ <= bytes_.size() - len; }
    template <class T>
    bool read(T& v) {
        if (!has(sizeof v)) return false;
        std::memcpy(&v, bytes_.data() + off_, sizeof v);
        off_ += sizeof v;
        return true;
    }
    bool read_string(std::size_t len, std::string& s) {
        if (!has(len)) return false;
        s.assign(reinterpret_cast<const char*>(bytes_.data() + off_), len);
        off_ += len;
        return true;
    }

private:
    std::span<const std::byte> bytes_;
    std::size_t off_ = 0;
};

template <class T>
T load_le(std::span<const std::byte> bytes, std::size_t at) {
    T v;
    std::memcpy(&v, bytes.data() + at, sizeof v);
    return v;
}

std::int64_t timespec_ns(const struct timespec& ts) {
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

StatCacheEntry entry_from_stat(const struct stat& st) {
    StatCacheEntry e;
    e.size = static_cast<std::uint64_t>(st.st_size);
    e.mtime_ns = timespec_ns(st.st_mtim);
    e.ctime_ns = timespec_ns(st.st_ctim);
    e.inode = static_cast<std::uint64_t>(st.st_ino);
    e.device = static_cast<std::uint64_t>(st.st_dev);
    return e;
}

bool same_stat(const StatCacheEntry& a, const StatCacheEntry& b) {
    return a.size == b.size && a.mtime_ns == b.mtime_ns && a.ctime_ns == b.ctime_ns && a.inode == b.inode &&
           a.device == b.device;
}

std::string in_quotes(std::string_view path) { return "'" + std::string(path) + "'"; }

// What normalize() produces: absolute, lexically normal, no trailing separator, no NUL.
bool is_normal_absolute(std::string_view s) {
    if (s.empty() || s.size() > DependencyTracker::kMaxPathBytes || s.front() != '/') return false;
    if (s.find('\0') != std::string_view::npos) return false;
    if (s.size() > 1 && s.back() == '/') return false;
    return fs::path(s).lexically_normal().native() == s;
}

struct Node {
    std::string path;
    std::optional<StatCacheEntry> stat;
    std::uint64_t checked_generation = 0;  // the build in which `stat` was last confirmed
    std::vector<std::uint32_t> imports;    // node ids, sorted, unique
    std::vector<std::uint32_t> importers;  // node ids, sorted, unique
};

void insert_sorted(std::vector<std::uint32_t>& v, std::uint32_t x) {
    const auto it = std::lower_bound(v.begin(), v.end(), x);
    if (it == v.end() || *it != x) v.insert(it, x);
}

void erase_sorted(std::vector<std::uint32_t>& v, std::uint32_t x) {
    const auto it = std::lower_bound(v.begin(), v.end(), x);
    if (it != v.end() && *it == x) v.erase(it);
}

}  // namespace

std::string_view to_string(FileChange change) noexcept {
    switch (change) {
        case FileChange::unchanged: return "unchanged";
        case FileChange::content_changed: return "content changed";
        case FileChange::deleted: return "deleted";
        case FileChange::added: return "added";
        case FileChange::unreadable: return "unreadable";
    }
    return "unknown";
}

struct DependencyTracker::Impl {
    std::string base;  // normalised base directory, or empty
    std::vector<Node> nodes;
    std::unordered_map<std::string, std::uint32_t> ids;
    std::map<std::string, ContentHash> baseline;  // path -> hash at the last load/save
    std::int64_t build_start_ns = 0;
    std::uint64_t generation = 1;
    DependencyMetrics metrics;
    std::vector<std::byte> buffer = std::vector<std::byte>(64 * 1024);
    // XXH3-64 of the state file as loaded or last saved: a build that changed nothing
    // has nothing to write (every warm build rewrote it unchanged: a file created,
    // written and renamed at the end of a build that may take 20 ms in all).
    std::optional<std::uint64_t> file_digest;
    std::string file_path;  // the file file_digest describes

    std::optional<std::uint32_t> find(const std::string& path) const {
        const auto it = ids.find(path);
        if (it == ids.end()) return std::nullopt;
        return it->second;
    }

    std::uint32_t intern(const std::string& path) {
        const auto [it, inserted] = ids.try_emplace(path, static_cast<std::uint32_t>(nodes.size()));
        if (inserted) nodes.push_back(Node{path, std::nullopt, 0, {}, {}});
        return it->second;
    }

    void clear_state() {
        nodes.clear();
        ids.clear();
        baseline.clear();
        file_digest.reset();
    }

    // Worth saving and reporting: it has a hash or takes part in the graph.
    static bool is_live(const Node& n) { return n.stat || !n.imports.empty() || !n.importers.empty(); }

    std::string hash_name(const std::string& path) const {
        if (base.empty()) return path;
        if (base == "/") return path.size() > 1 ? path.substr(1) : path;
        if (path.size() > base.size() && path.compare(0, base.size(), base) == 0 && path[base.size()] == '/')
            return path.substr(base.size() + 1);
        return path;
    }

    Result<ContentHash> hash_node(std::uint32_t id);
    Result<StatCacheEntry> read_and_hash(const std::string& path);
    std::vector<std::uint32_t> closure(std::uint32_t root, std::vector<std::uint32_t>* parent) const;
    Result<std::vector<FileHash>> file_hashes(std::uint32_t root);
    Result<void> decode(std::span<const std::byte> bytes);
    void reset_baseline();
};

// ---- Content hashes ---------------------------------------------------------------------

Result<StatCacheEntry> DependencyTracker::Impl::read_and_hash(const std::string& path) {
    const detail::UniqueFd owned(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!owned) {
        const int err = errno;
        return make_error(err == ENOENT || err == ENOTDIR ? ErrorCode::not_found : ErrorCode::io,
                          "cannot open " + in_quotes(path) + ": " + std::strerror(err));
    }
    const int fd = owned.get();

    struct stat before {};
    if (::fstat(fd, &before) != 0) return make_error(ErrorCode::io, "cannot stat " + in_quotes(path) + ": " + std::strerror(errno));
    if (!S_ISREG(before.st_mode)) return make_error(ErrorCode::io, in_quotes(path) + " is not a regular file");

    XXH3_state_t state;
    XXH3_INITSTATE(&state);
    XXH3_128bits_reset(&state);
    for (;;) {
        const ssize_t r = ::read(fd, buffer.data(), buffer.size());
        if (r < 0) {
            if (errno == EINTR) continue;
            return make_error(ErrorCode::io, "cannot read " + in_quotes(path) + ": " + std::strerror(errno));
        }
        if (r == 0) break;
        XXH3_128bits_update(&state, buffer.data(), static_cast<std::size_t>(r));
        metrics.bytes_read += static_cast<std::uint64_t>(r);
    }
    const XXH128_hash_t digest = XXH3_128bits_digest(&state);

    StatCacheEntry e = entry_from_stat(before);
    e.hash = ContentHash{digest.high64, digest.low64};
    struct stat after {};
    const bool changed_while_read = ::fstat(fd, &after) != 0 || !same_stat(e, entry_from_stat(after));
    e.racy = changed_while_read || e.mtime_ns >= build_start_ns || e.ctime_ns >= build_start_ns;
    return e;
}

Result<ContentHash> DependencyTracker::Impl::hash_node(std::uint32_t id) {
    Node& n = nodes[id];
    if (n.stat && n.checked_generation == generation) {
        ++metrics.memo_hits;
        return n.stat->hash;
    }
    struct stat st {};
    ++metrics.stat_calls;
    if (::stat(n.path.c_str(), &st) != 0) {
        const int err = errno;
        if (err == ENOENT || err == ENOTDIR) {
            n.stat.reset();
            return make_error(ErrorCode::not_found, "no such file " + in_quotes(n.path));
        }
        return make_error(ErrorCode::io, "cannot stat " + in_quotes(n.path) + ": " + std::strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        n.stat.reset();
        return make_error(ErrorCode::io, in_quotes(n.path) + " is not a regular file");
    }
    const StatCacheEntry now = entry_from_stat(st);
    const bool stat_matches = n.stat && same_stat(*n.stat, now);
    if (stat_matches && !n.stat->racy) {
        ++metrics.stat_cache_hits;
        n.checked_generation = generation;
        return n.stat->hash;
    }
    const bool racy_reread = stat_matches;
    auto fresh = read_and_hash(n.path);
    if (!fresh) {
        n.stat.reset();  // whatever it was, the entry no longer describes a readable file
        return tl::unexpected(fresh.error());
    }
    ++metrics.files_read;
    if (racy_reread) ++metrics.racy_rereads;
    n.stat = *fresh;
    n.checked_generation = generation;
    return fresh->hash;
}

// ---- Graph walks --------------------------------------------------------------------------

// `root` and every node reachable from it through imports (breadth first, unsorted).
// `parent`, when given, receives for each reached node the node it was reached from.
std::vector<std::uint32_t> DependencyTracker::Impl::closure(std::uint32_t root, std::vector<std::uint32_t>* parent) const {
    std::vector<bool> seen(nodes.size());
    if (parent) parent->assign(nodes.size(), root);
    std::vector<std::uint32_t> order{root};
    seen[root] = true;
    for (std::size_t i = 0; i < order.size(); ++i) {
        for (const std::uint32_t next : nodes[order[i]].imports) {
            if (seen[next]) continue;
            seen[next] = true;
            if (parent) (*parent)[next] = order[i];
            order.push_back(next);
        }
    }
    return order;
}

Result<std::vector<FileHash>> DependencyTracker::Impl::file_hashes(std::uint32_t root) {
    std::vector<std::uint32_t> parent;
    std::vector<std::uint32_t> members = closure(root, &parent);
    std::sort(members.begin(), members.end(), [&](std::uint32_t a, std::uint32_t b) { return nodes[a].path < nodes[b].path; });
    std::vector<FileHash> out;
    out.reserve(members.size());
    for (const std::uint32_t id : members) {
        auto h = hash_node(id);
        if (!h) {
            Error e = h.error();
            if (id != root) {
                e.message += ", imported by " + in_quotes(nodes[parent[id]].path);
                if (parent[id] != root) e.message += ", a dependency of " + in_quotes(nodes[root].path);
            }
            return tl::unexpected(std::move(e));
        }
        out.push_back(FileHash{nodes[id].path, *h});
    }
    return out;
}

// ---- Construction and builds ----------------------------------------------------------------

DependencyTracker::DependencyTracker(DependencyTrackerOptions options) : impl_(std::make_unique<Impl>()) {
    if (!options.base_directory.empty()) {
        auto base = normalize(options.base_directory);
        if (base) impl_->base = base->native();  // one that cannot be normalised is ignored
    }
    begin_build();
}

DependencyTracker::~DependencyTracker() = default;
DependencyTracker::DependencyTracker(DependencyTracker&&) noexcept = default;
DependencyTracker& DependencyTracker::operator=(DependencyTracker&&) noexcept = default;

void DependencyTracker::begin_build(std::int64_t start_ns) {
    impl_->build_start_ns = start_ns;
    ++impl_->generation;
}

void DependencyTracker::begin_build() {
    struct timespec ts {};
    ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    begin_build(static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000);
}

std::int64_t DependencyTracker::build_start_ns() const noexcept { return impl_->build_start_ns; }

const DependencyMetrics& DependencyTracker::metrics() const noexcept { return impl_->metrics; }

Result<fs::path> DependencyTracker::normalize(const fs::path& file) {
    const std::string& s = file.native();
    if (s.empty()) return make_error(ErrorCode::invalid_argument, "empty path");
    if (s.find('\0') != std::string::npos) return make_error(ErrorCode::invalid_argument, "path contains a NUL byte");
    std::error_code ec;
    const fs::path abs = fs::absolute(file, ec);
    if (ec) return make_error(ErrorCode::io, "cannot make " + in_quotes(s) + " absolute: " + ec.message());
    fs::path norm = abs.lexically_normal();
    if (!norm.has_filename() && norm != norm.root_path()) norm = norm.parent_path();
    if (norm.native().size() > kMaxPathBytes)
        return make_error(ErrorCode::limit_exceeded, "path " + in_quotes(norm.native().substr(0, 64)) + "... is longer than " +
                                                         std::to_string(kMaxPathBytes) + " bytes");
    assert(is_normal_absolute(norm.native()));
    return norm;
}

// ---- Content hashes and the graph: public API ---------------------------------------------

Result<ContentHash> DependencyTracker::content_hash(const fs::path& file) {
    auto path = normalize(file);
    if (!path) return tl::unexpected(path.error());
    return impl_->hash_node(impl_->intern(path->native()));
}

std::optional<StatCacheEntry> DependencyTracker::cached_entry(const fs::path& file) const {
    auto path = normalize(file);
    if (!path) return std::nullopt;
    const auto id = impl_->find(path->native());
    if (!id) return std::nullopt;
    return impl_->nodes[*id].stat;
}

Result<void> DependencyTracker::set_imports(const fs::path& file, std::span<const fs::path> imports) {
    auto path = normalize(file);
    if (!path) return tl::unexpected(path.error());
    std::vector<std::string> targets;
    targets.reserve(imports.size());
    for (const fs::path& imp : imports) {
        auto p = normalize(imp);
        if (!p) return tl::unexpected(p.error());
        targets.push_back(p->native());
    }
    Impl& im = *impl_;
    const std::uint32_t id = im.intern(path->native());
    std::vector<std::uint32_t> next;
    next.reserve(targets.size());
    for (const std::string& t : targets) next.push_back(im.intern(t));
    std::sort(next.begin(), next.end());
    next.erase(std::unique(next.begin(), next.end()), next.end());

    for (const std::uint32_t old : im.nodes[id].imports) erase_sorted(im.nodes[old].importers, id);
    for (const std::uint32_t t : next) insert_sorted(im.nodes[t].importers, id);
    im.nodes[id].imports = std::move(next);
    return {};
}

std::vector<fs::path> DependencyTracker::imports_of(const fs::path& file) const {
    std::vector<fs::path> out;
    auto path = normalize(file);
    if (!path) return out;
    const auto id = impl_->find(path->native());
    if (!id) return out;
    for (const std::uint32_t i : impl_->nodes[*id].imports) out.emplace_back(impl_->nodes[i].path);
    std::sort(out.begin(), out.end());
    return out;
}

Result<std::vector<fs::path>> DependencyTracker::transitive_dependencies(const fs::path& file) const {
    auto path = normalize(file);
    if (!path) return tl::unexpected(path.error());
    std::vector<fs::path> out{*path};
    const auto id = impl_->find(path->native());
    if (!id) return out;
    std::vector<std::uint32_t> members = impl_->closure(*id, nullptr);
    std::vector<std::string> rest;
    for (std::size_t i = 1; i < members.size(); ++i) rest.push_back(impl_->nodes[members[i]].path);
    std::sort(rest.begin(), rest.end());
    for (std::string& r : rest) out.emplace_back(std::move(r));
    return out;
}

Result<std::vector<FileHash>> DependencyTracker::transitive_file_hashes(const fs::path& file) {
    auto path = normalize(file);
    if (!path) return tl::unexpected(path.error());
    return impl_->file_hashes(impl_->intern(path->native()));
}

Result<ContentHash> DependencyTracker::transitive_hash(const fs::path& file) {
    auto path = normalize(file);
    if (!path) return tl::unexpected(path.error());
    auto files = impl_->file_hashes(impl_->intern(path->native()));
    if (!files) return tl::unexpected(files.error());
    std::vector<std::pair<std::string, ContentHash>> named;
    named.reserve(files->size());
    for (const FileHash& f : *files) named.emplace_back(impl_->hash_name(f.path.native()), f.hash);
    std::sort(named.begin(), named.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

    // format-spec/dependency-state-v1.md §6
    XXH3_state_t state;
    XXH3_INITSTATE(&state);
    XXH3_128bits_reset(&state);
    const std::string root = impl_->hash_name(path->native());
    const auto root_len = static_cast<std::uint32_t>(root.size());
    XXH3_128bits_update(&state, &root_len, 4);
    XXH3_128bits_update(&state, root.data(), root.size());
    const std::uint64_t count = named.size();
    XXH3_128bits_update(&state, &count, 8);
    for (const auto& [name, hash] : named) {
        const auto len = static_cast<std::uint32_t>(name.size());
        XXH3_128bits_update(&state, &len, 4);
        XXH3_128bits_update(&state, name.data(), name.size());
        XXH3_128bits_update(&state, &hash.hi, 8);
        XXH3_128bits_update(&state, &hash.lo, 8);
    }
    const XXH128_hash_t digest = XXH3_128bits_digest(&state);
    return ContentHash{digest.high64, digest.low64};
}

Result<std::vector<fs::path>> DependencyTracker::dependents_of(const fs::path& file) const {
    auto path = normalize(file);
    if (!path) return tl::unexpected(path.error());
    std::vector<fs::path> out;
    const auto id = impl_->find(path->native());
    if (!id) return out;
    const auto& nodes = impl_->nodes;
    std::vector<bool> seen(nodes.size());
    std::vector<std::uint32_t> queue{*id};
    seen[*id] = true;
    std::vector<std::string> found;
    for (std::size_t i = 0; i < queue.size(); ++i) {
        for (const std::uint32_t by : nodes[queue[i]].importers) {
            if (seen[by]) continue;
            seen[by] = true;
            queue.push_back(by);
            found.push_back(nodes[by].path);
        }
    }
    std::sort(found.begin(), found.end());
    for (std::string& f : found) out.emplace_back(std::move(f));
    return out;
}

void DependencyTracker::forget(const fs::path& file) {
    auto path = normalize(file);
    if (!path) return;
    const auto id = impl_->find(path->native());
    if (!id) return;
    Node& n = impl_->nodes[*id];
    for (const std::uint32_t old : n.imports) erase_sorted(impl_->nodes[old].importers, *id);
    n.imports.clear();
    n.stat.reset();
}

// ---- Explaining changes ----------------------------------------------------------------------

Result<FileChange> DependencyTracker::compare(const fs::path& file, std::optional<ContentHash> previous) {
    auto now = content_hash(file);
    if (!now) {
        if (now.error().code == ErrorCode::not_found && previous) return FileChange::deleted;
        return tl::unexpected(now.error());
    }
    if (!previous) return FileChange::added;
    return *now == *previous ? FileChange::unchanged : FileChange::content_changed;
}

namespace {

// One line of changes_since()/changed_files(), or nullopt when nothing is to be said.
std::optional<ChangedFile> describe(const std::string& path, std::optional<ContentHash> previous,
                                    const Result<ContentHash>& now) {
    ChangedFile c;
    c.path = path;
    c.previous = previous;
    if (now) {
        c.current = *now;
        if (previous && *previous == *now) return std::nullopt;
        c.change = previous ? FileChange::content_changed : FileChange::added;
        return c;
    }
    if (now.error().code == ErrorCode::not_found) {
        if (!previous) return std::nullopt;
        c.change = FileChange::deleted;
        return c;
    }
    c.change = FileChange::unreadable;
    c.detail = now.error().message;
    return c;
}

}  // namespace

std::vector<ChangedFile> DependencyTracker::changes_since(std::span<const FileHash> previous) {
    std::vector<ChangedFile> out;
    for (const FileHash& f : previous) {
        auto path = normalize(f.path);
        if (!path) continue;  // nothing a tracker could have recorded
        if (auto c = describe(path->native(), f.hash, impl_->hash_node(impl_->intern(path->native())))) out.push_back(std::move(*c));
    }
    std::sort(out.begin(), out.end(), [](const ChangedFile& a, const ChangedFile& b) { return a.path < b.path; });
    return out;
}

std::vector<ChangedFile> DependencyTracker::changed_files() {
    Impl& im = *impl_;
    std::set<std::string> paths;
    for (const auto& [path, hash] : im.baseline) paths.insert(path);
    for (const Node& n : im.nodes)
        if (n.stat) paths.insert(n.path);
    std::vector<ChangedFile> out;
    for (const std::string& path : paths) {
        const auto b = im.baseline.find(path);
        const std::optional<ContentHash> previous = b == im.baseline.end() ? std::nullopt : std::optional(b->second);
        if (auto c = describe(path, previous, im.hash_node(im.intern(path)))) out.push_back(std::move(*c));
    }
    return out;  // std::set iterates in path order
}

// ---- Persistence -------------------------------------------------------------------------------

void DependencyTracker::Impl::reset_baseline() {
    baseline.clear();
    for (const Node& n : nodes)
        if (n.stat) baseline.emplace(n.path, n.stat->hash);
}

Result<std::vector<std::byte>> DependencyTracker::to_bytes() const {
    const auto& nodes = impl_->nodes;
    std::vector<std::uint32_t> kept;
    for (std::uint32_t i = 0; i < nodes.size(); ++i)
        if (Impl::is_live(nodes[i])) kept.push_back(i);
    if (kept.size() > kMaxFiles)
        return make_error(ErrorCode::limit_exceeded, "dependency state has " + std::to_string(kept.size()) +
                                                         " files, more than the limit of " + std::to_string(kMaxFiles));
    std::sort(kept.begin(), kept.end(), [&](std::uint32_t a, std::uint32_t b) { return nodes[a].path < nodes[b].path; });
    std::vector<std::uint32_t> index_of(nodes.size(), 0);
    for (std::uint32_t i = 0; i < kept.size(); ++i) index_of[kept[i]] = i;

    Writer w;
    w.u32(kMagic);
    w.u16(kVersionMajor);
    w.u16(kVersionMinor);
    w.u32(0);  // flags
    w.u32(static_cast<std::uint32_t>(kept.size()));
    w.u64(0);  // payload_size, patched below
    std::vector<std::uint32_t> imports;
    for (const std::uint32_t id : kept) {
        const Node& n = nodes[id];
        w.u32(static_cast<std::uint32_t>(n.path.size()));
        w.put(n.path.data(), n.path.size());
        w.u8(n.stat ? static_cast<std::uint8_t>(kHasStat | (n.stat->racy ? kRacy : 0)) : 0);
        if (n.stat) {
            const StatCacheEntry& s = *n.stat;
            w.u64(s.size);
            w.u64(static_cast<std::uint64_t>(s.mtime_ns));
            w.u64(static_cast<std::uint64_t>(s.ctime_ns));
            w.u64(s.inode);
            w.u64(s.device);
            w.u64(s.hash.hi);
            w.u64(s.hash.lo);
        }
        imports.clear();
        for (const std::uint32_t t : n.imports) imports.push_back(index_of[t]);
        std::sort(imports.begin(), imports.end());
        w.u32(static_cast<std::uint32_t>(imports.size()));
        for (const std::uint32_t t : imports) w.u32(t);
    }
    const std::uint64_t payload_size = w.out.size() - kHeaderSize;
    std::memcpy(w.out.data() + 16, &payload_size, 8);
    w.u64(XXH3_64bits(w.out.data(), w.out.size()));
    return std::move(w.out);
}

Result<void> DependencyTracker::save(const fs::path& state_file, Durability durability) {
    auto bytes = to_bytes();
    if (!bytes) return tl::unexpected(bytes.error());
    const std::uint64_t digest = XXH3_64bits(bytes->data(), bytes->size());
    struct stat st {};
    const bool unchanged = impl_->file_digest == digest && impl_->file_path == state_file.native() &&
                           ::lstat(state_file.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
                           static_cast<std::uint64_t>(st.st_size) == bytes->size();
    if (!unchanged)
        if (auto r = write_file_atomically(state_file, *bytes, durability); !r) return r;
    impl_->file_digest = digest;
    impl_->file_path = state_file.native();
    impl_->reset_baseline();
    return {};
}

// Verification order (dependency-state-v1.md §5): size, magic, size, version and flags,
// payload size, checksum, then the records one by one. Nothing is kept unless all pass.
Result<void> DependencyTracker::Impl::decode(std::span<const std::byte> bytes) {
    const std::size_t size = bytes.size();
    if (size < 4) return make_error(ErrorCode::truncated, std::to_string(size) + " bytes, too short for a magic number");
    if (load_le<std::uint32_t>(bytes, 0) != kMagic) return make_error(ErrorCode::bad_magic, "not a dependency state file (bad magic)");
    if (size < kHeaderSize + kTrailerSize)
        return make_error(ErrorCode::truncated, std::to_string(size) + " bytes, shorter than header and trailer (32)");
    const auto major = load_le<std::uint16_t>(bytes, 4);
    const auto minor = load_le<std::uint16_t>(bytes, 6);
    if (major != kVersionMajor || minor != kVersionMinor)
        return make_error(ErrorCode::unsupported_version,
                          "version " + std::to_string(major) + "." + std::to_string(minor) + ", this reader reads 1.0");
    const auto flags = load_le<std::uint32_t>(bytes, 8);
    if (flags != 0) return make_error(ErrorCode::unsupported_version, "unknown header flags " + std::to_string(flags));
    const auto record_count = load_le<std::uint32_t>(bytes, 12);
    const auto payload_size = load_le<std::uint64_t>(bytes, 16);
    const std::size_t payload_room = size - kHeaderSize - kTrailerSize;
    if (payload_size > payload_room)
        return make_error(ErrorCode::truncated, "payload of " + std::to_string(payload_size) + " bytes, but only " +
                                                    std::to_string(payload_room) + " present");
    if (payload_size < payload_room)
        return make_error(ErrorCode::corrupt, std::to_string(payload_room - payload_size) + " bytes after the trailer");
    const std::size_t covered = kHeaderSize + static_cast<std::size_t>(payload_size);
    if (XXH3_64bits(bytes.data(), covered) != load_le<std::uint64_t>(bytes, covered))
        return make_error(ErrorCode::checksum_mismatch, "checksum mismatch");
    if (record_count > DependencyTracker::kMaxFiles)
        return make_error(ErrorCode::limit_exceeded, std::to_string(record_count) + " records, over the limit of " +
                                                         std::to_string(DependencyTracker::kMaxFiles));
    if (record_count > payload_size / kMinRecordSize)
        return make_error(ErrorCode::corrupt, std::to_string(record_count) + " records cannot fit in " +
                                                  std::to_string(payload_size) + " bytes");

    std::vector<Node> parsed;
    parsed.reserve(record_count);
    Reader r(bytes.first(covered).subspan(kHeaderSize));
    auto bad = [&](const std::string& why) {
        return make_error(ErrorCode::corrupt, "record " + std::to_string(parsed.size()) + " at payload offset " +
                                                  std::to_string(r.offset()) + ": " + why);
    };
    for (std::uint32_t i = 0; i < record_count; ++i) {
        Node n;
        std::uint32_t path_len = 0;
        if (!r.read(path_len)) return bad("path length runs past the payload");
        if (path_len == 0 || path_len > DependencyTracker::kMaxPathBytes) return bad("path length " + std::to_string(path_len) + " out of range");
        if (!r.read_string(path_len, n.path)) return bad("path runs past the payload");
        if (!is_normal_absolute(n.path)) return bad("path is not absolute and normal");
        if (!parsed.empty() && !(parsed.back().path < n.path)) return bad("paths not strictly increasing");
        std::uint8_t rflags = 0;
        if (!r.read(rflags)) return bad("flags run past the payload");
        if ((rflags & ~(kHasStat | kRacy)) != 0 || rflags == kRacy) return bad("invalid flags " + std::to_string(rflags));
        if (rflags & kHasStat) {
            if (!r.has(kStatSize)) return bad("stat runs past the payload");
            StatCacheEntry s;
            std::uint64_t mtime = 0, ctime = 0;
            r.read(s.size);
            r.read(mtime);
            r.read(ctime);
            r.read(s.inode);
            r.read(s.device);
            r.read(s.hash.hi);
            r.read(s.hash.lo);
            s.mtime_ns = static_cast<std::int64_t>(mtime);
            s.ctime_ns = static_cast<std::int64_t>(ctime);
            s.racy = (rflags & kRacy) != 0;
            n.stat = s;
        }
        std::uint32_t import_count = 0;
        if (!r.read(import_count)) return bad("import count runs past the payload");
        if (import_count > record_count) return bad("import count " + std::to_string(import_count) + " exceeds the record count");
        if (!r.has(std::size_t{import_count} * 4)) return bad("imports run past the payload");
        n.imports.resize(import_count);
        for (std::uint32_t k = 0; k < import_count; ++k) {
            r.read(n.imports[k]);
            if (n.imports[k] >= record_count) return bad("import index " + std::to_string(n.imports[k]) + " out of range");
            if (k > 0 && n.imports[k] <= n.imports[k - 1]) return bad("imports not strictly increasing");
        }
        parsed.push_back(std::move(n));
    }
    if (r.remaining() != 0) return bad(std::to_string(r.remaining()) + " bytes after the last record");

    for (std::uint32_t i = 0; i < parsed.size(); ++i)
        for (const std::uint32_t t : parsed[i].imports) parsed[t].importers.push_back(i);  // i ascending: stays sorted
    for (std::uint32_t i = 0; i < parsed.size(); ++i)
        if (!is_live(parsed[i]))
            return make_error(ErrorCode::corrupt, "record " + std::to_string(i) + " has no stat, no imports and no importers");

    clear_state();
    nodes = std::move(parsed);
    for (std::uint32_t i = 0; i < nodes.size(); ++i) ids.emplace(nodes[i].path, i);
    reset_baseline();
    return {};
}

namespace {

StateLoad discarded(const Error& e, const std::string& what) {
    StateLoad out;
    out.status = StateLoadStatus::discarded;
    out.reason = e.code;
    out.warning = "ignoring " + what + " (" + std::string(to_string(e.code)) + ": " + e.message + "); starting empty";
    return out;
}

}  // namespace

StateLoad DependencyTracker::load_bytes(std::span<const std::byte> bytes) {
    auto r = impl_->decode(bytes);
    if (r) return StateLoad{StateLoadStatus::loaded, std::nullopt, {}};
    impl_->clear_state();
    return discarded(r.error(), "dependency state");
}

StateLoad DependencyTracker::load(const fs::path& state_file) {
    const std::string what = "dependency state " + in_quotes(state_file.native());
    // Like every file of the cache: a link planted in its place is refused, not followed.
    auto bytes = read_file_bytes(state_file, kMaxStateFileBytes, SymlinkPolicy::refuse);
    if (!bytes) {
        impl_->clear_state();
        if (bytes.error().code == ErrorCode::not_found) return StateLoad{};  // missing: empty, silently
        return discarded(bytes.error(), what);
    }
    auto r = impl_->decode(*bytes);
    if (r) {
        impl_->file_digest = XXH3_64bits(bytes->data(), bytes->size());
        impl_->file_path = state_file.native();
        return StateLoad{StateLoadStatus::loaded, std::nullopt, {}};
    }
    impl_->clear_state();
    return discarded(r.error(), what);
}

}  // namespace jdc
