#include "jdc/loaded_arena.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <boost/interprocess/mapped_region.hpp>

#include "storage/fd_mapping.hpp"
#include "util/forward_error.hpp"
#include "util/unique_fd.hpp"

namespace jdc {
namespace bip = boost::interprocess;

struct LoadedArena::Storage {
    // Exactly one of the two is used.
    std::unique_ptr<std::uint64_t[]> buffer;  // 8-aligned, as the format requires
    std::optional<bip::mapped_region> region;
};

namespace {

std::string errno_text(int err) { return std::strerror(err); }

Result<std::uint64_t> open_regular(const std::filesystem::path& path, detail::UniqueFd& fd_out, SymlinkPolicy symlinks) {
    // O_NONBLOCK: a FIFO planted where a file belongs is refused below instead of
    // blocking the open until a writer appears. It has no effect on regular files.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | (symlinks == SymlinkPolicy::refuse ? O_NOFOLLOW : 0));
    if (fd < 0) {
        const int err = errno;
        if (err == ELOOP && symlinks == SymlinkPolicy::refuse)
            return make_error(ErrorCode::io, "refusing '" + path.string() + "': it is a symlink");
        return make_error(err == ENOENT ? ErrorCode::not_found : ErrorCode::io,
                          "cannot open '" + path.string() + "': " + errno_text(err));
    }
    fd_out.reset(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0) return make_error(ErrorCode::io, "cannot stat '" + path.string() + "': " + errno_text(errno));
    if (!S_ISREG(st.st_mode)) return make_error(ErrorCode::io, "'" + path.string() + "' is not a regular file");
    return static_cast<std::uint64_t>(st.st_size);
}

Result<void> read_all(int fd, std::byte* out, std::uint64_t size, const std::filesystem::path& path) {
    std::uint64_t done = 0;
    while (done < size) {
        const ssize_t r = ::pread(fd, out + done, size - done, static_cast<off_t>(done));
        if (r < 0) {
            if (errno == EINTR) continue;
            return make_error(ErrorCode::io, "cannot read '" + path.string() + "': " + errno_text(errno));
        }
        if (r == 0)
            return make_error(ErrorCode::truncated, "'" + path.string() + "' shrank to " + std::to_string(done) + " bytes while being read");
        done += static_cast<std::uint64_t>(r);
    }
    return {};
}

}  // namespace

LoadedArena::LoadedArena(std::unique_ptr<Storage> storage, ArenaView view, PayloadCodec stored_codec, std::uint64_t stored_size)
    : storage_(std::move(storage)), view_(view), stored_codec_(stored_codec), stored_size_(stored_size) {}
LoadedArena::LoadedArena(LoadedArena&&) noexcept = default;
LoadedArena& LoadedArena::operator=(LoadedArena&&) noexcept = default;
LoadedArena::~LoadedArena() = default;

bool LoadedArena::is_mapped() const noexcept { return storage_ && storage_->region.has_value(); }

Result<LoadedArena> LoadedArena::open(const std::filesystem::path& path, LoadMode mode, const VerifyLimits& limits,
                                      SymlinkPolicy symlinks) {
    detail::UniqueFd fd;
    auto size = open_regular(path, fd, symlinks);
    if (!size) return tl::unexpected(size.error());
    return load(fd.get(), *size, path, mode, limits);
}

bool LoadedArena::can_open_beneath() noexcept {
    static const bool available = [] {
        // An empty path with no flags is EINVAL or ENOENT where openat2 exists, ENOSYS
        // on kernels before 5.6 and EPERM under seccomp filters that do not know it.
        struct open_how how {};
        const long r = ::syscall(SYS_openat2, AT_FDCWD, "", &how, sizeof how);
        if (r >= 0) ::close(static_cast<int>(r));
        return r >= 0 || (errno != ENOSYS && errno != EPERM);
    }();
    return available;
}

Result<LoadedArena> LoadedArena::open_beneath(int dir_fd, const std::filesystem::path& relative, const std::filesystem::path& display,
                                              LoadMode mode, const VerifyLimits& limits) {
    struct open_how how {};
    how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long r;
    do {
        r = ::syscall(SYS_openat2, dir_fd, relative.c_str(), &how, sizeof how);
    } while (r < 0 && (errno == EAGAIN || errno == EINTR));  // EAGAIN: a rename raced the lookup
    if (r < 0) {
        const int err = errno;
        if (err == ELOOP || err == EXDEV)
            return make_error(ErrorCode::io, "refusing '" + display.string() + "': a symlink or '..' on its path");
        return make_error(err == ENOENT ? ErrorCode::not_found : ErrorCode::io, "cannot open '" + display.string() + "': " + errno_text(err));
    }
    const detail::UniqueFd fd(static_cast<int>(r));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return make_error(ErrorCode::io, "cannot stat '" + display.string() + "': " + errno_text(errno));
    if (!S_ISREG(st.st_mode)) return make_error(ErrorCode::io, "'" + display.string() + "' is not a regular file");
    return load(fd.get(), static_cast<std::uint64_t>(st.st_size), display, mode, limits);
}

Result<LoadedArena> LoadedArena::load(int fd, std::uint64_t file_size, const std::filesystem::path& path, LoadMode mode,
                                      const VerifyLimits& limits) {
    if (file_size > limits.max_total_size)
        return make_error(ErrorCode::limit_exceeded, "'" + path.string() + "' is " + std::to_string(file_size) +
                                                         " bytes, over the limit of " + std::to_string(limits.max_total_size));
    if (file_size == 0) return make_error(ErrorCode::truncated, "'" + path.string() + "' is empty");

    auto storage = std::make_unique<Storage>();
    std::span<const std::byte> bytes;
    const bool use_map = mode == LoadMode::map || (mode == LoadMode::automatic && file_size > kReadThreshold);
    if (use_map) {
        try {
            storage->region.emplace(detail::FdMappable(fd), bip::read_only, 0, static_cast<std::size_t>(file_size));
        } catch (const bip::interprocess_exception& e) {
            return make_error(ErrorCode::io, "cannot map '" + path.string() + "': " + e.what());
        }
        bytes = {static_cast<const std::byte*>(storage->region->get_address()), storage->region->get_size()};
    } else {
        storage->buffer = std::make_unique_for_overwrite<std::uint64_t[]>((file_size + 7) / 8);
        auto* out = reinterpret_cast<std::byte*>(storage->buffer.get());
        JDC_FORWARD_IF_ERROR(read_all(fd, out, file_size, path));
        bytes = {out, static_cast<std::size_t>(file_size)};
    }
    const auto with_path = [&](Error e) {
        e.message = "'" + path.string() + "': " + e.message;
        return tl::unexpected(std::move(e));
    };
    const PayloadCodec codec = payload_codec_of(bytes);
    if (codec != PayloadCodec::none) {
        // The compressed bytes are checked (sizes against the limits, checksum) before
        // anything is allocated for the result, then dropped once decoded; the decoded
        // arena is verified once, by the decompression.
        const auto raw_size = decompressed_size(bytes, limits);
        if (!raw_size) return with_path(raw_size.error());
        auto decoded = std::make_unique<Storage>();
        decoded->buffer = std::make_unique_for_overwrite<std::uint64_t[]>((*raw_size + 7) / 8);
        const std::span<std::byte> out(reinterpret_cast<std::byte*>(decoded->buffer.get()), static_cast<std::size_t>(*raw_size));
        auto view = decompress_arena_view(bytes, out, limits);
        if (!view) return with_path(view.error());
        return LoadedArena(std::move(decoded), *view, codec, file_size);
    }
    auto view = ArenaView::open(bytes, limits);
    if (!view) return with_path(view.error());
    return LoadedArena(std::move(storage), *view, codec, file_size);
}

Result<std::vector<std::byte>> read_file_bytes(const std::filesystem::path& path, std::uint64_t max_size, SymlinkPolicy symlinks) {
    detail::UniqueFd fd;
    auto size = open_regular(path, fd, symlinks);
    if (!size) return tl::unexpected(size.error());
    if (*size > max_size)
        return make_error(ErrorCode::limit_exceeded, "'" + path.string() + "' is " + std::to_string(*size) +
                                                         " bytes, over the limit of " + std::to_string(max_size));
    std::vector<std::byte> out(*size);
    JDC_FORWARD_IF_ERROR(read_all(fd.get(), out.data(), *size, path));
    return out;
}

}  // namespace jdc
