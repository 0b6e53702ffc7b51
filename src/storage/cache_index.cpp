#include "jdc/detail/cache_index.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <string>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/interprocess/mapped_region.hpp>
#include <xxhash.h>

#include "jdc/detail/atomic_file.hpp"
#include "storage/fd_mapping.hpp"
#include "util/unique_fd.hpp"

namespace jdc {
namespace bip = boost::interprocess;
using namespace index_format;

namespace {

constexpr std::size_t kSlotWords = sizeof(Slot) / 8;
// How often find() reads a slot again that names the key but fails its checksum: a
// writer rewriting the slot (word by word) finishes within nanoseconds unless it is
// preempted, and one that dies mid-write leaves the index dirty for a rebuild.
constexpr int kTornSlotRereads = 256;

// Cross-process atomicity needs real lock-free instructions: a library fallback would
// use a lock private to each process.
static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic_ref<std::uint32_t>::is_always_lock_free);
static_assert(std::atomic_ref<std::uint64_t>::required_alignment <= 8);

// The mapping is shared between processes and written concurrently, so every access
// to it is an atomic access to an aligned word (the region is page-aligned, the
// header 192 bytes, slots 64): no torn words, and no data race in the C++ sense.
// Whole slots may still be torn across words; the slot checksum detects that.
std::atomic_ref<std::uint64_t> word_at(std::byte* base, std::size_t offset) noexcept {
    return std::atomic_ref<std::uint64_t>(*reinterpret_cast<std::uint64_t*>(base + offset));
}
std::atomic_ref<std::uint32_t> half_at(std::byte* base, std::size_t offset) noexcept {
    return std::atomic_ref<std::uint32_t>(*reinterpret_cast<std::uint32_t*>(base + offset));
}

std::uint32_t slot_checksum(const Slot& s) noexcept {
    return static_cast<std::uint32_t>(XXH3_64bits(&s, kSlotChecksumCoverage));
}

std::size_t counter_offset(IndexCounter c) noexcept {
    switch (c) {
        case IndexCounter::hits: return offsetof(Header, hits);
        case IndexCounter::misses: return offsetof(Header, misses);
        case IndexCounter::evictions: return offsetof(Header, evictions);
        case IndexCounter::corrupt_drops: return offsetof(Header, corrupt_drops);
        case IndexCounter::stale_drops: return offsetof(Header, stale_drops);
        case IndexCounter::bytes_written: return offsetof(Header, bytes_written);
        case IndexCounter::bytes_read: return offsetof(Header, bytes_read);
    }
    return offsetof(Header, hits);
}

Slot make_slot(const IndexEntry& e, std::uint8_t state) noexcept {
    Slot s{};
    s.key_hi = e.key.hi;
    s.key_lo = e.key.lo;
    s.size = e.size;
    s.created_ns = e.created_ns;
    s.config_hash = e.config_hash;
    s.format_version = e.format_version;
    s.state = state;
    s.location = static_cast<std::uint8_t>(e.location);
    s.last_access_ns = e.last_access_ns;
    s.access_count = e.access_count;
    s.checksum = slot_checksum(s);
    return s;
}

IndexEntry entry_of(const Slot& s) noexcept {
    IndexEntry e;
    e.key = {s.key_hi, s.key_lo};
    e.size = s.size;
    e.created_ns = s.created_ns;
    e.last_access_ns = s.last_access_ns;
    e.access_count = s.access_count;
    e.format_version = s.format_version;
    e.config_hash = s.config_hash;
    e.location = static_cast<EntryLocation>(s.location);
    return e;
}

std::uint64_t capacity_for(std::uint64_t entries, std::uint64_t min_capacity) noexcept {
    // Load factor at most 1/2 after a rebuild, so the table absorbs as many inserts
    // again before has_room_for() (7/10) asks for the next rebuild.
    const std::uint64_t want = std::max({kMinCapacity, min_capacity, entries * 2});
    return std::min(kMaxCapacity, std::bit_ceil(want));
}

}  // namespace

struct CacheIndex::Mapping {
    std::filesystem::path file;
    std::uint64_t device = 0, inode = 0;  // of the file mapped, to tell when the name points elsewhere
    bip::mapped_region region;
    std::byte* base = nullptr;
    std::uint64_t capacity = 0;

    std::size_t slot_offset(std::uint64_t i) const noexcept { return sizeof(Header) + i * sizeof(Slot); }

    Slot read_slot(std::uint64_t i) const noexcept {
        std::uint64_t words[kSlotWords];
        for (std::size_t w = 0; w < kSlotWords; ++w) words[w] = word_at(base, slot_offset(i) + 8 * w).load(std::memory_order_acquire);
        Slot s;
        std::memcpy(&s, words, sizeof s);
        return s;
    }
    void write_slot(std::uint64_t i, const Slot& s) noexcept {
        std::uint64_t words[kSlotWords];
        std::memcpy(words, &s, sizeof s);
        for (std::size_t w = 0; w < kSlotWords; ++w) word_at(base, slot_offset(i) + 8 * w).store(words[w], std::memory_order_release);
    }
    // A slot that is live, intact and holds `key`.
    bool holds(const Slot& s, const CacheKey& key) const noexcept {
        return s.state == kLive && s.key_hi == key.hi && s.key_lo == key.lo && s.checksum == slot_checksum(s);
    }
    std::uint64_t header_word(std::size_t offset) const noexcept { return word_at(base, offset).load(std::memory_order_acquire); }
    void set_header_word(std::size_t offset, std::uint64_t v) noexcept { word_at(base, offset).store(v, std::memory_order_release); }
};

CacheIndex::CacheIndex(std::unique_ptr<Mapping> m) : m_(std::move(m)) {}
CacheIndex::CacheIndex(CacheIndex&&) noexcept = default;
CacheIndex& CacheIndex::operator=(CacheIndex&&) noexcept = default;
CacheIndex::~CacheIndex() = default;

Result<CacheIndex> CacheIndex::open(const std::filesystem::path& file, IndexAccess access) {
    const std::string name = "cache index '" + file.string() + "'";
    const bool shared = access == IndexAccess::shared;  // else read_only
    // One open, by fd: no window between checking the file and mapping it.
    const detail::UniqueFd fd(::open(file.c_str(), (shared ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (!fd) {
        const int err = errno;
        return make_error(err == ENOENT ? ErrorCode::not_found : ErrorCode::io, "cannot open " + name + ": " + std::strerror(err));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return make_error(ErrorCode::io, "cannot stat " + name + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return make_error(ErrorCode::io, name + " is not a regular file");
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size < sizeof(Header)) return make_error(ErrorCode::truncated, name + " is " + std::to_string(size) + " bytes, shorter than its header");

    auto m = std::make_unique<Mapping>();
    m->file = file;
    m->device = static_cast<std::uint64_t>(st.st_dev);
    m->inode = static_cast<std::uint64_t>(st.st_ino);
    try {
        // Private: what this process writes (access counts, counters) stays in its own
        // copies of the pages; the file is only read.
        m->region = bip::mapped_region(detail::FdMappable(fd.get()), shared ? bip::read_write : bip::copy_on_write, 0,
                                       static_cast<std::size_t>(size));
    } catch (const bip::interprocess_exception& e) {
        return make_error(ErrorCode::io, "cannot map " + name + ": " + e.what());
    }
    m->base = static_cast<std::byte*>(m->region.get_address());
    Header h;
    std::uint64_t words[sizeof(Header) / 8];  // other processes update the header atomically
    for (std::size_t w = 0; w < std::size(words); ++w) words[w] = word_at(m->base, 8 * w).load(std::memory_order_acquire);
    std::memcpy(&h, words, sizeof h);
    if (h.magic != kMagic) return make_error(ErrorCode::bad_magic, name + " has a bad magic number");
    if (h.version_major != kVersionMajor)
        return make_error(ErrorCode::unsupported_version, name + " has format version " + std::to_string(h.version_major) + "." +
                                                              std::to_string(h.version_minor) + "; this reader reads 1.x");
    if (h.slot_size != sizeof(Slot) || h.capacity < kMinCapacity || h.capacity > kMaxCapacity || !std::has_single_bit(h.capacity))
        return make_error(ErrorCode::corrupt, name + " has an invalid slot size or capacity");
    if (size != sizeof(Header) + h.capacity * sizeof(Slot))
        return make_error(ErrorCode::truncated, name + " is " + std::to_string(size) + " bytes; its capacity needs " +
                                                    std::to_string(sizeof(Header) + h.capacity * sizeof(Slot)));
    if (h.live_count + h.tombstone_count > h.capacity) return make_error(ErrorCode::corrupt, name + " counts more entries than slots");
    m->capacity = h.capacity;
    return CacheIndex(std::move(m));
}

Result<void> CacheIndex::write_new(const std::filesystem::path& file, const std::filesystem::path& staging_dir,
                                   const std::vector<IndexEntry>& entries, std::uint64_t min_capacity,
                                   const IndexSummary* counters_from, std::uint64_t last_cleanup_ns) {
    const std::uint64_t capacity = capacity_for(entries.size(), min_capacity);
    if (entries.size() * 10 > capacity * 7)
        return make_error(ErrorCode::limit_exceeded, "cache index cannot hold " + std::to_string(entries.size()) + " entries (at most " +
                                                         std::to_string(kMaxCapacity * 7 / 10) + ")");
    std::vector<std::byte> bytes(sizeof(Header) + capacity * sizeof(Slot), std::byte{0});
    Header h{};
    h.magic = kMagic;
    h.version_major = kVersionMajor;
    h.version_minor = kVersionMinor;
    h.slot_size = sizeof(Slot);
    h.capacity = capacity;
    h.created_ns = counters_from != nullptr ? counters_from->created_ns : 0;
    h.last_cleanup_ns = last_cleanup_ns;
    if (counters_from != nullptr) {
        h.hits = counters_from->hits;
        h.misses = counters_from->misses;
        h.evictions = counters_from->evictions;
        h.corrupt_drops = counters_from->corrupt_drops;
        h.stale_drops = counters_from->stale_drops;
        h.bytes_written = counters_from->bytes_written;
        h.bytes_read = counters_from->bytes_read;
    }
    for (const IndexEntry& e : entries) {
        if (e.key.is_zero()) continue;
        std::uint64_t i = e.key.lo & (capacity - 1);
        while (true) {
            Slot existing;
            std::memcpy(&existing, bytes.data() + sizeof(Header) + i * sizeof(Slot), sizeof existing);
            if (existing.state == kEmpty) break;
            if (existing.key_hi == e.key.hi && existing.key_lo == e.key.lo) break;  // duplicate: last wins
            i = (i + 1) & (capacity - 1);
        }
        Slot old;
        std::memcpy(&old, bytes.data() + sizeof(Header) + i * sizeof(Slot), sizeof old);
        if (old.state == kLive) {
            h.total_bytes -= old.size;
        } else {
            ++h.live_count;
        }
        const Slot s = make_slot(e, kLive);
        std::memcpy(bytes.data() + sizeof(Header) + i * sizeof(Slot), &s, sizeof s);
        h.total_bytes += e.size;
    }
    std::memcpy(bytes.data(), &h, sizeof h);
    auto staged = StagedFile::stage(staging_dir, file.filename().string(), bytes, Durability::no_sync);
    if (!staged) return tl::unexpected(staged.error());
    return staged->publish(file);
}

std::optional<IndexEntry> CacheIndex::find(const CacheKey& key) const noexcept {
    const std::uint64_t mask = m_->capacity - 1;
    std::uint64_t i = key.lo & mask;
    for (std::uint64_t probes = 0; probes < m_->capacity; ++probes, i = (i + 1) & mask) {
        Slot s = m_->read_slot(i);
        if (s.state == kEmpty) return std::nullopt;
        if (m_->holds(s, key)) return entry_of(s);
        // The key is there but the checksum is not right: most likely a writer is
        // rewriting this very slot (the compactor moving the entry into a pack does,
        // keeping the key words). Answering "absent" now would be a spurious miss.
        for (int reread = 0; reread < kTornSlotRereads && s.state == kLive && s.key_hi == key.hi && s.key_lo == key.lo; ++reread) {
            std::this_thread::yield();
            s = m_->read_slot(i);
            if (m_->holds(s, key)) return entry_of(s);
        }
    }
    return std::nullopt;
}

void CacheIndex::record_access(const CacheKey& key, std::uint64_t now_ns) noexcept {
    const std::uint64_t mask = m_->capacity - 1;
    std::uint64_t i = key.lo & mask;
    for (std::uint64_t probes = 0; probes < m_->capacity; ++probes, i = (i + 1) & mask) {
        const Slot s = m_->read_slot(i);
        if (s.state == kEmpty) return;
        if (!m_->holds(s, key)) continue;
        const std::size_t off = m_->slot_offset(i);
        auto last = word_at(m_->base, off + offsetof(Slot, last_access_ns));
        std::uint64_t seen = last.load(std::memory_order_relaxed);
        while (seen < now_ns && !last.compare_exchange_weak(seen, now_ns, std::memory_order_relaxed)) {
        }
        half_at(m_->base, off + offsetof(Slot, access_count)).fetch_add(1, std::memory_order_relaxed);
        return;
    }
}

void CacheIndex::reset_counters() noexcept {
    for (IndexCounter c : {IndexCounter::hits, IndexCounter::misses, IndexCounter::evictions, IndexCounter::corrupt_drops,
                           IndexCounter::stale_drops, IndexCounter::bytes_written, IndexCounter::bytes_read})
        word_at(m_->base, counter_offset(c)).store(0, std::memory_order_relaxed);
}

void CacheIndex::add(IndexCounter counter, std::uint64_t n) noexcept {
    word_at(m_->base, counter_offset(counter)).fetch_add(n, std::memory_order_relaxed);
}

IndexSummary CacheIndex::summary() const noexcept {
    IndexSummary s;
    s.capacity = m_->capacity;
    s.live_count = m_->header_word(offsetof(Header, live_count));
    s.tombstone_count = m_->header_word(offsetof(Header, tombstone_count));
    s.total_bytes = m_->header_word(offsetof(Header, total_bytes));
    s.created_ns = m_->header_word(offsetof(Header, created_ns));
    s.last_cleanup_ns = m_->header_word(offsetof(Header, last_cleanup_ns));
    s.dirty = half_at(m_->base, offsetof(Header, dirty)).load(std::memory_order_acquire) != 0;
    s.hits = m_->header_word(offsetof(Header, hits));
    s.misses = m_->header_word(offsetof(Header, misses));
    s.evictions = m_->header_word(offsetof(Header, evictions));
    s.corrupt_drops = m_->header_word(offsetof(Header, corrupt_drops));
    s.stale_drops = m_->header_word(offsetof(Header, stale_drops));
    s.bytes_written = m_->header_word(offsetof(Header, bytes_written));
    s.bytes_read = m_->header_word(offsetof(Header, bytes_read));
    return s;
}

bool CacheIndex::is_file_at(const std::filesystem::path& file) const noexcept {
    struct stat st {};
    return ::stat(file.c_str(), &st) == 0 && static_cast<std::uint64_t>(st.st_dev) == m_->device &&
           static_cast<std::uint64_t>(st.st_ino) == m_->inode;
}

bool CacheIndex::retired() const noexcept {
    return half_at(m_->base, offsetof(Header, retired)).load(std::memory_order_acquire) != 0;
}

std::vector<IndexEntry> CacheIndex::entries() const {
    std::vector<IndexEntry> out;
    for (std::uint64_t i = 0; i < m_->capacity; ++i) {
        const Slot s = m_->read_slot(i);
        if (s.state == kLive && s.checksum == slot_checksum(s)) out.push_back(entry_of(s));
    }
    return out;
}

bool CacheIndex::has_room_for(std::uint64_t new_entries) const noexcept {
    const std::uint64_t used = m_->header_word(offsetof(Header, live_count)) + m_->header_word(offsetof(Header, tombstone_count));
    return (used + new_entries) * 10 <= m_->capacity * 7;
}

bool CacheIndex::put(const IndexEntry& entry) noexcept {
    const std::uint64_t mask = m_->capacity - 1;
    std::uint64_t i = entry.key.lo & mask;
    std::optional<std::uint64_t> reusable;
    for (std::uint64_t probes = 0; probes < m_->capacity; ++probes, i = (i + 1) & mask) {
        const Slot s = m_->read_slot(i);
        if (m_->holds(s, entry.key)) {
            const std::uint64_t total = m_->header_word(offsetof(Header, total_bytes));
            m_->set_header_word(offsetof(Header, total_bytes), total - std::min(total, s.size) + entry.size);
            m_->write_slot(i, make_slot(entry, kLive));
            return true;
        }
        if (s.state == kTombstone || (s.state == kLive && s.checksum != slot_checksum(s))) {
            if (!reusable) reusable = i;  // a damaged slot is reclaimed like a tombstone
            continue;
        }
        if (s.state == kEmpty) {
            if (!reusable) reusable = i;
            break;
        }
    }
    if (!reusable) return false;  // every slot live: the header's counts understate them
    const Slot old = m_->read_slot(*reusable);
    if (old.state == kTombstone)
        m_->set_header_word(offsetof(Header, tombstone_count), m_->header_word(offsetof(Header, tombstone_count)) - 1);
    // A damaged live slot is reused without subtracting its size: the size field may be
    // the damaged part. total_bytes may then overstate the cache until the next
    // rebuild, which errs towards evicting early, never towards growing unbounded.
    if (old.state != kLive) m_->set_header_word(offsetof(Header, live_count), m_->header_word(offsetof(Header, live_count)) + 1);
    m_->write_slot(*reusable, make_slot(entry, kLive));
    m_->set_header_word(offsetof(Header, total_bytes), m_->header_word(offsetof(Header, total_bytes)) + entry.size);
    return true;
}

std::optional<IndexEntry> CacheIndex::erase(const CacheKey& key) noexcept {
    const std::uint64_t mask = m_->capacity - 1;
    std::uint64_t i = key.lo & mask;
    std::optional<IndexEntry> erased;
    // Every copy on the probe path, not just the first: a damaged index can hold the
    // key twice, one copy behind an empty slot, and turning the slot in front of that
    // empty one into a tombstone would make the stale copy reachable: found again
    // right after being erased.
    for (std::uint64_t probes = 0; probes < m_->capacity; ++probes, i = (i + 1) & mask) {
        const Slot s = m_->read_slot(i);
        if (s.state == kEmpty) break;
        if (!m_->holds(s, key)) continue;
        Slot dead = s;
        dead.state = kTombstone;
        dead.checksum = slot_checksum(dead);
        m_->write_slot(i, dead);
        const std::uint64_t live = m_->header_word(offsetof(Header, live_count));
        m_->set_header_word(offsetof(Header, live_count), live - std::min<std::uint64_t>(live, 1));
        m_->set_header_word(offsetof(Header, tombstone_count), m_->header_word(offsetof(Header, tombstone_count)) + 1);
        const std::uint64_t total = m_->header_word(offsetof(Header, total_bytes));
        m_->set_header_word(offsetof(Header, total_bytes), total - std::min(total, s.size));
        if (!erased) erased = entry_of(s);
    }
    return erased;
}

void CacheIndex::set_dirty(bool dirty) noexcept { half_at(m_->base, offsetof(Header, dirty)).store(dirty ? 1u : 0u, std::memory_order_release); }
void CacheIndex::mark_retired() noexcept { half_at(m_->base, offsetof(Header, retired)).store(1u, std::memory_order_release); }
void CacheIndex::set_last_cleanup(std::uint64_t ns) noexcept { m_->set_header_word(offsetof(Header, last_cleanup_ns), ns); }

}  // namespace jdc
