// Shared by the benchmark programs: the OS floor of a read load.
#pragma once

#include <cstddef>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace jdc::bench {

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
