// jdc — an arena loaded from a file: the bytes (mapped or read) plus a verified view.
//
// Storage layer. Loading = open + (mmap | read) + verify(full); nothing proportional
// to the entry count is parsed or copied beyond what read() itself copies.
// Mapped files are mapped read-only (Boost.Interprocess file_mapping + mapped_region)
// and never written to. Small files are read into an owned buffer instead, because
// on these machines read() of a few KiB costs a tenth of mmap + munmap, and a read
// buffer cannot SIGBUS if another process truncates the file (cache files are never
// truncated by jdc; see format-spec/arena-v1.md, "Files").
//
// A file may also hold a compressed arena (format-spec/compressed-arena-v1.md): it is
// checked, decompressed into an owned buffer (bounded by limits.max_total_size) and
// verified, so every reader sees a raw arena; stored_codec() says which it was.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

#include "jdc/arena_view.hpp"
#include "jdc/export.hpp"
#include "jdc/payload_codec.hpp"

namespace jdc {

enum class LoadMode : std::uint8_t {
    automatic,  // read() up to kReadThreshold bytes, mmap above
    map,        // always mmap
    read,       // always read() into an owned buffer
};

enum class SymlinkPolicy : std::uint8_t {
    follow,  // ordinary file access (tools opening a file a person named)
    refuse,  // cache stores: a symlink planted in the store could point anywhere
};

class JDC_API LoadedArena {
public:
    static constexpr std::uint64_t kReadThreshold = 256 * 1024;

    // Errors: not_found (no such file), io (not a regular file, a refused symlink,
    // permission, read or map failure), limit_exceeded (file, or the arena a
    // compressed file holds, larger than limits.max_total_size), every error of
    // verify_arena(full), and for a compressed file those of decompress_arena_into.
    static Result<LoadedArena> open(const std::filesystem::path& path, LoadMode mode = LoadMode::automatic,
                                    const VerifyLimits& limits = {}, SymlinkPolicy symlinks = SymlinkPolicy::follow);

    // `relative` opened beneath the directory `dir_fd` with openat2(RESOLVE_BENEATH |
    // RESOLVE_NO_SYMLINKS): one system call refuses a symlink or ".." anywhere on the
    // path, with no window between a check and the open (cache stores hold a
    // descriptor of their root). `display` names the file in messages. Errors as
    // open(), with io for a symlink or ".." on the path. Only where
    // can_open_beneath() (Linux 5.6 and later, not refused by a sandbox).
    static Result<LoadedArena> open_beneath(int dir_fd, const std::filesystem::path& relative, const std::filesystem::path& display,
                                            LoadMode mode = LoadMode::automatic, const VerifyLimits& limits = {});
    static bool can_open_beneath() noexcept;

    LoadedArena(LoadedArena&&) noexcept;
    LoadedArena& operator=(LoadedArena&&) noexcept;
    ~LoadedArena();

    // Valid as long as this LoadedArena lives (it owns the mapping or buffer).
    const ArenaView& view() const noexcept { return view_; }
    std::span<const std::byte> bytes() const noexcept { return view_.bytes(); }
    bool is_mapped() const noexcept;
    // How the file stored the arena (none: raw, used in place) and its size on disk.
    PayloadCodec stored_codec() const noexcept { return stored_codec_; }
    std::uint64_t stored_size() const noexcept { return stored_size_; }

private:
    struct Storage;
    LoadedArena(std::unique_ptr<Storage> storage, ArenaView view, PayloadCodec stored_codec, std::uint64_t stored_size);
    // Reads or maps an open regular file of `file_size` bytes; the caller closes `fd`.
    static Result<LoadedArena> load(int fd, std::uint64_t file_size, const std::filesystem::path& path, LoadMode mode,
                                    const VerifyLimits& limits);
    std::unique_ptr<Storage> storage_;
    ArenaView view_;
    PayloadCodec stored_codec_ = PayloadCodec::none;
    std::uint64_t stored_size_ = 0;
};

// Reads a whole file (at most max_size bytes) into memory: the raw bytes, unverified.
// For tools that must report on files that do not verify, and for derived files of
// the cache (the dependency state: SymlinkPolicy::refuse). Only a regular file is
// read: a FIFO or device is refused without blocking.
JDC_API Result<std::vector<std::byte>> read_file_bytes(const std::filesystem::path& path, std::uint64_t max_size,
                                                       SymlinkPolicy symlinks = SymlinkPolicy::follow);

}  // namespace jdc
