// Replay driver: runs a fuzz target over files, without libFuzzer.
//
// Linked with one target's LLVMFuzzerTestOneInput, it makes that target a plain
// executable: `replay_<target> PATH...` runs every regular file under each PATH
// (directories recursively, in sorted order) once. A violated property aborts, as
// under libFuzzer, so CI with any compiler checks the checked-in corpus and every
// crash file ever added to it. Exits 2 when no input was found, so a wrong corpus
// path cannot pass silently.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

bool run_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
        return false;
    }
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // A fresh heap copy of exactly the input's size, as libFuzzer passes it, so ASan
    // catches a read one past the end.
    std::vector<std::uint8_t> exact(bytes.begin(), bytes.end());
    exact.shrink_to_fit();
    LLVMFuzzerTestOneInput(exact.data(), exact.size());
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    std::size_t runs = 0;
    bool read_errors = false;
    for (int i = 1; i < argc; ++i) {
        const fs::path root(argv[i]);
        std::vector<fs::path> files;
        std::error_code ec;
        if (fs::is_directory(root, ec)) {
            for (const auto& entry : fs::recursive_directory_iterator(root, ec))
                if (entry.is_regular_file()) files.push_back(entry.path());
            if (ec) {
                std::fprintf(stderr, "replay: cannot list %s: %s\n", root.c_str(), ec.message().c_str());
                read_errors = true;
            }
        } else if (fs::is_regular_file(root, ec)) {
            files.push_back(root);
        } else {
            std::fprintf(stderr, "replay: no such file or directory: %s\n", root.c_str());
            read_errors = true;
        }
        std::sort(files.begin(), files.end());
        for (const fs::path& f : files) {
            if (run_file(f))
                ++runs;
            else
                read_errors = true;
        }
    }
    std::printf("replay: ran %zu inputs\n", runs);
    if (read_errors) return 1;
    return runs == 0 ? 2 : 0;
}
