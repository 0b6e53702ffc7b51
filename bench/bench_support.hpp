// Shared by the benchmark programs: failure reporting and the OS floor of a read load.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <fcntl.h>
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

}  // namespace jdc::bench
