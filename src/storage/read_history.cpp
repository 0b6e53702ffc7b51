#include "storage/read_history.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <unordered_set>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "jdc/detail/atomic_file.hpp"
#include "util/unique_fd.hpp"

namespace jdc {
namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t kMagic = 0x4843444Au;  // bytes "JDCH"
constexpr std::uint16_t kVersionMajor = 1, kVersionMinor = 0;
constexpr std::size_t kHeaderSize = 32, kKeySize = 16;
constexpr std::size_t kChecksumOffset = 24;

struct Header {
    std::uint32_t magic;
    std::uint16_t version_major;
    std::uint16_t version_minor;
    std::uint32_t key_count;
    std::uint32_t reserved;
    std::uint64_t written_at_ns;
    std::uint64_t checksum;  // XXH3_64bits of bytes [0, 24) and of the keys, as one stream
};
static_assert(sizeof(Header) == kHeaderSize && offsetof(Header, checksum) == kChecksumOffset);

std::uint64_t checksum_of(std::span<const std::byte> bytes) {
    XXH3_state_t* state = XXH3_createState();
    XXH3_64bits_reset(state);
    XXH3_64bits_update(state, bytes.data(), kChecksumOffset);
    XXH3_64bits_update(state, bytes.data() + kHeaderSize, bytes.size() - kHeaderSize);
    const std::uint64_t h = XXH3_64bits_digest(state);
    XXH3_freeState(state);
    return h;
}

// The whole file, if it is a regular file (not a link) of at most `max_size` bytes.
std::optional<std::vector<std::byte>> read_small_file(const fs::path& file, std::size_t max_size) {
    const detail::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || static_cast<std::uint64_t>(st.st_size) > max_size)
        return std::nullopt;
    std::vector<std::byte> bytes(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
        if (n <= 0) return std::nullopt;  // an error, or the file shrank: not the history we stat()ed
        done += static_cast<std::size_t>(n);
    }
    return bytes;
}

}  // namespace

fs::path read_history_path(const fs::path& store_root) { return store_root / "reads.jdch"; }

std::vector<CacheKey> load_read_history(const fs::path& store_root) {
    const auto bytes = read_small_file(read_history_path(store_root), kHeaderSize + kKeySize * kReadHistoryMaxKeys);
    if (!bytes || bytes->size() < kHeaderSize) return {};
    Header h;
    std::memcpy(&h, bytes->data(), sizeof h);
    if (h.magic != kMagic || h.version_major != kVersionMajor || h.key_count > kReadHistoryMaxKeys ||
        bytes->size() != kHeaderSize + kKeySize * std::size_t{h.key_count} || h.checksum != checksum_of(*bytes))
        return {};
    std::vector<CacheKey> keys(h.key_count);
    for (std::size_t i = 0; i < keys.size(); ++i) {
        std::memcpy(&keys[i].hi, bytes->data() + kHeaderSize + kKeySize * i, 8);
        std::memcpy(&keys[i].lo, bytes->data() + kHeaderSize + kKeySize * i + 8, 8);
    }
    return keys;
}

std::vector<CacheKey> merge_read_history(std::span<const CacheKey> session, std::span<const CacheKey> previous,
                                         const std::function<bool(const CacheKey&)>& keep) {
    std::vector<CacheKey> out;
    std::unordered_set<CacheKey, CacheKeyHash> seen;
    for (const auto* keys : {&session, &previous})
        for (const CacheKey& k : *keys) {
            if (out.size() == kReadHistoryMaxKeys) return out;
            if (k.is_zero() || !seen.insert(k).second || !keep(k)) continue;
            out.push_back(k);
        }
    return out;
}

Result<void> save_read_history(const fs::path& store_root, const fs::path& staging_dir, std::span<const CacheKey> keys,
                               std::uint64_t written_at_ns) {
    const std::size_t count = std::min(keys.size(), kReadHistoryMaxKeys);
    std::vector<std::byte> bytes(kHeaderSize + kKeySize * count);
    for (std::size_t i = 0; i < count; ++i) {
        std::memcpy(bytes.data() + kHeaderSize + kKeySize * i, &keys[i].hi, 8);
        std::memcpy(bytes.data() + kHeaderSize + kKeySize * i + 8, &keys[i].lo, 8);
    }
    Header h{kMagic, kVersionMajor, kVersionMinor, static_cast<std::uint32_t>(count), 0, written_at_ns, 0};
    std::memcpy(bytes.data(), &h, sizeof h);
    h.checksum = checksum_of(bytes);
    std::memcpy(bytes.data(), &h, sizeof h);
    auto staged = StagedFile::stage(staging_dir, "reads.jdch", bytes, Durability::no_sync);
    if (!staged) return tl::unexpected(staged.error());
    return staged->publish(read_history_path(store_root));
}

}  // namespace jdc
