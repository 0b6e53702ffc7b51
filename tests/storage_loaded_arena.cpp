#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <csignal>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jdc/arena_builder.hpp"
#include "jdc/detail/atomic_file.hpp"
#include "jdc/loaded_arena.hpp"
#include "support/random_model.hpp"
#include "support/temp_dir.hpp"

using namespace jdc;
namespace fs = std::filesystem;
using jdc::testing::TempDir;

namespace {

std::vector<std::byte> sample_arena(std::uint32_t implementations) {
    auto m = testing::make_random_model(5, {40, 2, 2, implementations, true});
    auto bytes = build_arena(m.table, m.registry);
    REQUIRE(bytes);
    return *bytes;
}

}  // namespace

TEST_CASE("arenas load from files by read and by mmap, with identical views", "[storage]") {
    TempDir dir;
    const auto bytes = sample_arena(100);
    const fs::path file = dir.path / "t.jdca";
    REQUIRE(write_file_atomically(file, bytes, Durability::fsync));
    CHECK(fs::file_size(file) == bytes.size());

    auto by_read = LoadedArena::open(file, LoadMode::read);
    auto by_map = LoadedArena::open(file, LoadMode::map);
    REQUIRE(by_read);
    REQUIRE(by_map);
    CHECK_FALSE(by_read->is_mapped());
    CHECK(by_map->is_mapped());
    CHECK(std::equal(by_read->bytes().begin(), by_read->bytes().end(), bytes.begin(), bytes.end()));
    CHECK(std::equal(by_map->bytes().begin(), by_map->bytes().end(), bytes.begin(), bytes.end()));
    CHECK(by_map->view().entry_count() == 100);

    // Small files are read, large ones mapped.
    auto automatic = LoadedArena::open(file);
    REQUIRE(automatic);
    CHECK(automatic->is_mapped() == (bytes.size() > LoadedArena::kReadThreshold));
    const auto big = sample_arena(6000);
    REQUIRE(big.size() > LoadedArena::kReadThreshold);
    REQUIRE(write_file_atomically(dir.path / "big.jdca", big));
    auto big_loaded = LoadedArena::open(dir.path / "big.jdca");
    REQUIRE(big_loaded);
    CHECK(big_loaded->is_mapped());

    // The view survives moving the owner (mapping and buffer are heap-stable).
    LoadedArena moved = std::move(*by_map);
    CHECK(moved.view().entry(99).name() == "method_99");
}

TEST_CASE("bad files give typed errors naming the file", "[storage]") {
    TempDir dir;
    const auto bytes = sample_arena(10);

    SECTION("missing file") {
        auto r = LoadedArena::open(dir.path / "nope.jdca");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::not_found);
        CHECK(r.error().message.find("nope.jdca") != std::string::npos);
    }
    SECTION("a directory") {
        auto r = LoadedArena::open(dir.path);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::io);
    }
    SECTION("empty file") {
        std::ofstream(dir.path / "empty.jdca").flush();
        for (LoadMode mode : {LoadMode::read, LoadMode::map}) {
            auto r = LoadedArena::open(dir.path / "empty.jdca", mode);
            REQUIRE_FALSE(r);
            CHECK(r.error().code == ErrorCode::truncated);
        }
    }
    SECTION("truncated file, both modes") {
        const std::span<const std::byte> half(bytes.data(), bytes.size() / 2);
        REQUIRE(write_file_atomically(dir.path / "half.jdca", half));
        for (LoadMode mode : {LoadMode::read, LoadMode::map}) {
            auto r = LoadedArena::open(dir.path / "half.jdca", mode);
            REQUIRE_FALSE(r);
            CHECK(r.error().code == ErrorCode::truncated);
            CHECK(r.error().message.find("half.jdca") != std::string::npos);
        }
    }
    SECTION("corrupted byte") {
        auto bad = bytes;
        bad[bad.size() - 3] ^= std::byte{0x40};
        REQUIRE(write_file_atomically(dir.path / "bad.jdca", bad));
        auto r = LoadedArena::open(dir.path / "bad.jdca");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::checksum_mismatch);
    }
    SECTION("over the size limit") {
        REQUIRE(write_file_atomically(dir.path / "t.jdca", bytes));
        VerifyLimits limits;
        limits.max_total_size = 64;
        auto r = LoadedArena::open(dir.path / "t.jdca", LoadMode::automatic, limits);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::limit_exceeded);
    }
}

TEST_CASE("atomic publication leaves the old file intact on failure and no temp files behind", "[storage]") {
    TempDir dir;
    const auto first = sample_arena(10);
    const fs::path file = dir.path / "t.jdca";
    REQUIRE(write_file_atomically(file, first));

    SECTION("missing directory") {
        auto r = write_file_atomically(dir.path / "no" / "such" / "t.jdca", first);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::not_found);
    }
    SECTION("target is a directory: rename fails, old content stays") {
        fs::create_directory(dir.path / "sub");
        auto r = write_file_atomically(dir.path / "sub", first);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::io);
    }
    SECTION("a reader's mapping stays valid while the file is replaced") {
        auto mapped = LoadedArena::open(file, LoadMode::map);
        REQUIRE(mapped);
        const auto second = sample_arena(20);
        REQUIRE(write_file_atomically(file, second));
        CHECK(mapped->view().entry_count() == 10);  // old inode, still mapped
        CHECK(verify_arena(mapped->bytes(), VerifyLevel::full));
        auto reopened = LoadedArena::open(file);
        REQUIRE(reopened);
        CHECK(reopened->view().entry_count() == 20);
    }
    std::size_t files = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir.path)) {
        CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
        ++files;
    }
    CHECK(files >= 1);
    auto still = LoadedArena::open(file);
    REQUIRE(still);
}

TEST_CASE("a full disk is a clear error and leaves the published file intact", "[storage]") {
    // RLIMIT_FSIZE makes the write fail with EFBIG in a child process, like a full disk
    // would with ENOSPC; the parent then checks nothing was lost.
    TempDir dir;
    const auto first = sample_arena(10);
    const fs::path file = dir.path / "t.jdca";
    REQUIRE(write_file_atomically(file, first));
    const auto big = sample_arena(2000);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::signal(SIGXFSZ, SIG_IGN);
        struct rlimit lim {4096, 4096};
        ::setrlimit(RLIMIT_FSIZE, &lim);
        auto r = write_file_atomically(file, big);
        _exit(!r && r.error().code == ErrorCode::io && r.error().message.find("t.jdca") != std::string::npos ? 0 : 1);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    auto still = LoadedArena::open(file);
    REQUIRE(still);
    CHECK(still->view().entry_count() == 10);
    for (const auto& e : fs::directory_iterator(dir.path)) CHECK(e.path().filename() == "t.jdca");
}

TEST_CASE("a FIFO where an arena belongs is refused without blocking", "[storage]") {
    TempDir dir;
    REQUIRE(::mkfifo((dir.path / "fifo.jdca").c_str(), 0600) == 0);
    for (LoadMode mode : {LoadMode::read, LoadMode::map}) {
        auto r = LoadedArena::open(dir.path / "fifo.jdca", mode);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::io);
        CHECK(r.error().message.find("not a regular file") != std::string::npos);
    }
}

TEST_CASE("open_beneath opens a file below a directory and refuses links and .. on the way", "[storage][links]") {
    if (!LoadedArena::can_open_beneath()) {
        WARN("openat2 is not available here (kernel before 5.6, or a sandbox refuses it): stores check paths with lstat");
        return;
    }
    TempDir dir;
    const auto bytes = sample_arena(10);
    fs::create_directories(dir.path / "root" / "objects" / "ab");
    fs::create_directories(dir.path / "outside" / "ab");
    REQUIRE(write_file_atomically(dir.path / "root" / "objects" / "ab" / "k.jdca", bytes));
    REQUIRE(write_file_atomically(dir.path / "outside" / "ab" / "k.jdca", bytes));
    REQUIRE(write_file_atomically(dir.path / "outside" / "k.jdca", bytes));
    const int root = ::open((dir.path / "root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(root >= 0);
    const auto open_at = [&](const std::string& relative) {
        return LoadedArena::open_beneath(root, relative, dir.path / "root" / relative, LoadMode::read);
    };

    auto good = open_at("objects/ab/k.jdca");
    REQUIRE(good);
    CHECK(std::equal(good->bytes().begin(), good->bytes().end(), bytes.begin(), bytes.end()));
    CHECK(open_at("objects/ab/missing.jdca").error().code == ErrorCode::not_found);

    const auto refused = [&](const std::string& relative) {
        auto r = open_at(relative);
        INFO(relative);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::io);
        CHECK_THAT(r.error().message, Catch::Contains("symlink or '..'"));
    };
    refused("../outside/k.jdca");
    fs::create_directory_symlink(dir.path / "outside" / "ab", dir.path / "root" / "objects" / "cd");  // a shard link
    refused("objects/cd/k.jdca");
    fs::create_symlink(dir.path / "outside" / "k.jdca", dir.path / "root" / "objects" / "ab" / "link.jdca");  // a file link
    refused("objects/ab/link.jdca");
    fs::rename(dir.path / "root" / "objects", dir.path / "objects.moved");  // objects/ itself replaced
    fs::create_directory_symlink(dir.path / "outside", dir.path / "root" / "objects");
    refused("objects/ab/k.jdca");
    ::close(root);
}
