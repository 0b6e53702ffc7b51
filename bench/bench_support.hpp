// Shared by the benchmark programs: failure reporting and the OS floor of a file load.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include <cstring>

#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

namespace jdc::bench {

// Set by fail(); every program's main exits with status 1 when it is set.
inline bool g_failed = false;

// Marks the run failed and the benchmark skipped with `why`.
inline void fail(benchmark::State& state, const std::string& why) {
    g_failed = true;
    state.SkipWithError(why.c_str());
}

// Fixes glibc malloc's policy for the whole run: blocks up to 64 MiB come from the heap,
// and the heap is not trimmed below 128 MiB. By default glibc maps large blocks and
// returns freed memory at the top of the heap to the kernel, adjusting both thresholds
// to what the process has freed so far; then an encoder whose output is just over the
// current threshold pays fresh page faults on every call, and the same benchmark costs
// 3x more in one program than in another (Cap'n Proto's 160 KB encode did). Every
// program calls this first, so every encoder runs on a warm heap, as in a long-lived
// compiler.
inline void settle_malloc() {
    ::mallopt(M_MMAP_THRESHOLD, 64 << 20);
    ::mallopt(M_TRIM_THRESHOLD, 128 << 20);
}

// Runs the registered benchmarks: 0, or 1 (with a message) when one of them failed.
inline int run_benchmarks(const char* program) {
    benchmark::RunSpecifiedBenchmarks();
    if (!g_failed) return 0;
    std::fprintf(stderr, "%s: at least one benchmark reported an error\n", program);
    return 1;
}

// Whole file into `out`: open + fstat + read + close, the syscalls a read load makes.
template <class Byte>
bool read_whole_file(const char* path, std::vector<Byte>& out) {
    static_assert(sizeof(Byte) == 1);
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st {};
    bool ok = ::fstat(fd, &st) == 0;
    if (ok) {
        out.resize(static_cast<std::size_t>(st.st_size));
        std::size_t done = 0;
        while (ok && done < out.size()) {
            const ssize_t got = ::read(fd, out.data() + done, out.size() - done);
            ok = got > 0;
            if (ok) done += static_cast<std::size_t>(got);
        }
    }
    ::close(fd);
    return ok;
}

// open + fstat + mmap + touch the first page + munmap + close, the syscalls a mapped
// load makes. The byte is copied out, never read through DoNotOptimize: its inline
// asm takes a non-const lvalue as written, and a write inside a PROT_READ mapping faults.
inline bool map_touch_unmap(const char* path) {
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st {};
    void* p = ::fstat(fd, &st) == 0 && st.st_size > 0
                  ? ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0)
                  : MAP_FAILED;
    const bool ok = p != MAP_FAILED;
    if (ok) {
        std::byte first;
        std::memcpy(&first, p, 1);
        benchmark::DoNotOptimize(first);
        ::munmap(p, static_cast<std::size_t>(st.st_size));
    }
    ::close(fd);
    return ok;
}

}  // namespace jdc::bench
