#include "jdc/detail/mapped_pack.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>

#include "util/forward_error.hpp"
#include "util/unique_fd.hpp"

namespace jdc {
namespace bip = boost::interprocess;

struct MappedPack::Storage {
    std::filesystem::path path;
    PackLimits limits;          // the ones the pack was opened with; verify() uses them too
    FileIdentity identity;
    bip::mapped_region region;  // heap-held: its address survives moves of the MappedPack
};

namespace {

Error with_path(Error e, const std::filesystem::path& path) {
    e.message = "'" + path.string() + "': " + e.message;
    return e;
}

Result<struct stat> stat_fd(int fd, const std::filesystem::path& path) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return make_error(ErrorCode::io, "cannot stat '" + path.string() + "': " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return make_error(ErrorCode::io, "'" + path.string() + "' is not a regular file");
    return st;
}

// Refuses anything but a regular file before Boost opens it: O_NONBLOCK, so that a
// FIFO is refused instead of blocking the open until some writer appears.
Result<void> check_regular_file(const std::filesystem::path& path) {
    const detail::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd) {
        const int err = errno;
        return make_error(err == ENOENT ? ErrorCode::not_found : ErrorCode::io,
                          "cannot open '" + path.string() + "': " + std::strerror(err));
    }
    JDC_FORWARD_IF_ERROR(stat_fd(fd.get(), path));
    return {};
}

}  // namespace

MappedPack::MappedPack(std::unique_ptr<Storage> storage, PackView view) : storage_(std::move(storage)), view_(view) {}
MappedPack::MappedPack(MappedPack&&) noexcept = default;
MappedPack& MappedPack::operator=(MappedPack&&) noexcept = default;
MappedPack::~MappedPack() = default;

const std::filesystem::path& MappedPack::path() const noexcept { return storage_->path; }
FileIdentity MappedPack::file_identity() const noexcept { return storage_->identity; }

Result<MappedPack> MappedPack::open(const std::filesystem::path& path, const PackLimits& limits) {
    JDC_FORWARD_IF_ERROR(check_regular_file(path));
    auto storage = std::make_unique<Storage>();
    storage->path = path;
    storage->limits = limits;
    try {
        bip::file_mapping file(path.c_str(), bip::read_only);
        // The size comes from the descriptor being mapped, not from the name: if the
        // pack was replaced by rename() since the check above, we map the new file with
        // its own size, never a smaller file with the old size (which would SIGBUS).
        auto st = stat_fd(file.get_mapping_handle().handle, path);
        if (!st) return tl::unexpected(st.error());
        const auto size = static_cast<std::uint64_t>(st->st_size);
        storage->identity = {static_cast<std::uint64_t>(st->st_dev), static_cast<std::uint64_t>(st->st_ino)};
        if (size > limits.max_total_size)
            return make_error(ErrorCode::limit_exceeded, "'" + path.string() + "' is " + std::to_string(size) +
                                                             " bytes, over the limit of " + std::to_string(limits.max_total_size));
        if (size == 0) return make_error(ErrorCode::truncated, "'" + path.string() + "' is empty");
        // The region keeps the pages mapped after `file` (and its descriptor) closes.
        storage->region = bip::mapped_region(file, bip::read_only, 0, static_cast<std::size_t>(size));
    } catch (const bip::interprocess_exception& e) {
        return make_error(e.get_native_error() == ENOENT ? ErrorCode::not_found : ErrorCode::io,
                          "cannot map '" + path.string() + "': " + e.what());
    }
    const std::span<const std::byte> bytes(static_cast<const std::byte*>(storage->region.get_address()),
                                           storage->region.get_size());
    auto view = PackView::open(bytes, limits);
    if (!view) return tl::unexpected(with_path(view.error(), path));
    return MappedPack(std::move(storage), *view);
}

Result<std::optional<std::span<const std::byte>>> MappedPack::find(const CacheKey& key) const {
    auto r = view_.find(key);
    if (!r) return tl::unexpected(with_path(r.error(), storage_->path));
    return r;
}

Result<void> MappedPack::verify(const VerifyLimits& arena_limits) const {
    auto r = verify_pack(bytes(), VerifyLevel::full, arena_limits, storage_->limits);
    if (!r) return tl::unexpected(with_path(r.error(), storage_->path));
    return {};
}

bool MappedPack::advise_willneed(std::uint64_t offset, std::uint64_t length) const noexcept {
    const std::span<const std::byte> all = bytes();
    if (offset >= all.size() || length == 0) return true;
    length = std::min<std::uint64_t>(length, all.size() - offset);
    static const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    const auto base = reinterpret_cast<std::uintptr_t>(all.data());  // the mapping: page-aligned
    const std::uint64_t first = offset / page * page;
    return ::madvise(reinterpret_cast<void*>(base + first), static_cast<std::size_t>(offset + length - first), MADV_WILLNEED) == 0;
}

}  // namespace jdc
