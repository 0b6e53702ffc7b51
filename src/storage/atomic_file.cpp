#include "jdc/detail/atomic_file.hpp"

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <unistd.h>

#include "util/hex.hpp"
#include "util/unique_fd.hpp"

namespace jdc {
namespace {

constexpr std::string_view kTempMarker = ".tmp.";
constexpr std::size_t kPreallocateFrom = 64 * 1024;

// NAME.tmp.PID.RANDOM: the pid keeps processes apart, the random part the threads of
// one and a pid reused after a crash left a file behind (O_EXCL refuses a name
// taken). The generator is seeded once per process from the clock, the pid and a
// per-process address (a std::random_device per thread cost more than the file it
// named on a small build's session end) and stepped atomically (splitmix64).
std::string temp_name_for(std::string_view name_hint) {
    static std::atomic<std::uint64_t> state{static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
                                            (static_cast<std::uint64_t>(::getpid()) << 32) ^ reinterpret_cast<std::uintptr_t>(&state)};
    std::uint64_t z = state.fetch_add(0x9E3779B97F4A7C15ull, std::memory_order_relaxed) + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    std::string name = std::string(name_hint) + std::string(kTempMarker) + std::to_string(::getpid()) + ".";
    detail::append_hex(name, z, 8);
    return name;
}

tl::unexpected<Error> os_error(const std::string& what, const std::filesystem::path& p, int err) {
    return make_error(err == ENOENT ? ErrorCode::not_found : ErrorCode::io,
                      what + " '" + p.string() + "': " + std::strerror(err));
}

Result<void> fsync_directory(const std::filesystem::path& dir) {
    const detail::UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dfd) return os_error("cannot open directory to fsync", dir, errno);
    if (::fsync(dfd.get()) != 0) return os_error("cannot fsync directory", dir, errno);
    return {};
}

}  // namespace

Result<StagedFile> StagedFile::stage(const std::filesystem::path& staging_dir, std::string_view name_hint,
                                     std::span<const std::byte> bytes, Durability durability) {
    const std::filesystem::path temp = staging_dir / temp_name_for(name_hint);
    detail::UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd) return os_error("cannot create temporary file", temp, errno);
    StagedFile staged(temp, durability);  // removes the temp file on every early return

    if (bytes.size() > kPreallocateFrom) {
        // posix_fallocate returns the error instead of setting errno. EINVAL/EOPNOTSUPP
        // mean the filesystem cannot preallocate (some network filesystems): the write
        // below then reports a full disk itself, as it does for small files (one
        // system call fewer where a session ends by writing several of them).
        const int err = ::posix_fallocate(fd.get(), 0, static_cast<off_t>(bytes.size()));
        if (err != 0 && err != EINVAL && err != EOPNOTSUPP) return os_error("cannot reserve space for", temp, err);
    }
    if (const int err = detail::write_all(fd.get(), bytes); err != 0) return os_error("cannot write", temp, err);
    if (durability == Durability::fsync && ::fsync(fd.get()) != 0) return os_error("cannot fsync", temp, errno);
    // close() can report a write error the kernel deferred (NFS): the file is not published then.
    if (const int err = fd.close(); err != 0) return os_error("cannot close", temp, err);
    return staged;
}

Result<void> StagedFile::publish(const std::filesystem::path& target) {
    if (temp_.empty()) return make_error(ErrorCode::invalid_argument, "staged file was already published");
    if (::rename(temp_.c_str(), target.c_str()) != 0) return os_error("cannot publish", target, errno);
    temp_.clear();
    if (durability_ == Durability::fsync)
        return fsync_directory(target.has_parent_path() ? target.parent_path() : std::filesystem::path("."));
    return {};
}

StagedFile::StagedFile(StagedFile&& other) noexcept : temp_(std::move(other.temp_)), durability_(other.durability_) {
    other.temp_.clear();
}

StagedFile& StagedFile::operator=(StagedFile&& other) noexcept {
    if (this != &other) {
        if (!temp_.empty()) ::unlink(temp_.c_str());
        temp_ = std::move(other.temp_);
        durability_ = other.durability_;
        other.temp_.clear();
    }
    return *this;
}

StagedFile::~StagedFile() {
    if (!temp_.empty()) ::unlink(temp_.c_str());
}

Result<void> write_file_atomically(const std::filesystem::path& target, std::span<const std::byte> bytes, Durability durability) {
    const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
    auto staged = StagedFile::stage(dir, target.filename().string(), bytes, durability);
    if (!staged) return tl::unexpected(staged.error());
    return staged->publish(target);
}

Result<std::filesystem::path> move_aside(const std::filesystem::path& file, const std::filesystem::path& staging_dir,
                                         std::string_view name_hint) {
    const std::filesystem::path aside = staging_dir / temp_name_for(name_hint);
    if (::rename(file.c_str(), aside.c_str()) != 0) return os_error("cannot move aside", file, errno);
    return aside;
}

bool parse_temp_name(std::string_view filename, long& pid) noexcept {
    const std::size_t at = filename.rfind(kTempMarker);
    if (at == std::string_view::npos) return false;
    const std::string_view rest = filename.substr(at + kTempMarker.size());
    const std::size_t dot = rest.find('.');
    if (dot == std::string_view::npos || dot == 0) return false;
    const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + dot, pid);
    return ec == std::errc() && ptr == rest.data() + dot && pid > 0;
}

}  // namespace jdc
