// Fuzz target: loading a dependency state file never crashes, uses nothing of a
// damaged file, and what it accepts is the canonical encoding of what it loaded.
//
// The input is the content of a state file (format-spec/dependency-state-v1.md), tried
// as given and re-sealed (payload_size set to fit the input and the trailer checksum
// recomputed, so mutations reach the record checks of §5). Then:
//   - load_bytes() reports `loaded`, or `discarded` with a permitted error class and a
//     warning; a discarded file leaves an empty state (to_bytes() is the empty file);
//   - a loaded file is its own canonical encoding (§5: to_bytes() gives back exactly
//     the input), and the import graph answers for every recorded file as the file
//     says: imports_of, transitive_dependencies (the file first, sorted after),
//     dependents_of, cached_entry (present exactly for records with a stat entry);
//   - after editing the graph (set_imports, forget), to_bytes() loads again into a
//     fresh tracker and re-encodes to the same bytes.
// No file is opened: the paths in the input name arbitrary files of this machine, so
// nothing here hashes or stats them.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include <xxhash.h>

#include "fuzz_support.hpp"
#include "jdc/dependency_tracker.hpp"

namespace {

using namespace jdc;
namespace fs = std::filesystem;

constexpr std::size_t kHeaderSize = 24, kTrailerSize = 8, kStatSize = 56;

struct Record {
    std::string path;
    bool has_stat = false;
    std::vector<std::uint32_t> imports;
};

// Decodes a file load_bytes() accepted, so every length in it has been checked.
std::vector<Record> records_of(std::span<const std::byte> bytes) {
    std::uint32_t count = 0;
    std::memcpy(&count, bytes.data() + 12, 4);
    std::vector<Record> out(count);
    std::size_t at = kHeaderSize;
    auto u32 = [&] {
        std::uint32_t v = 0;
        std::memcpy(&v, bytes.data() + at, 4);
        at += 4;
        return v;
    };
    for (Record& r : out) {
        const std::uint32_t len = u32();
        r.path.assign(reinterpret_cast<const char*>(bytes.data() + at), len);
        at += len;
        r.has_stat = (static_cast<std::uint8_t>(bytes[at++]) & 1) != 0;
        if (r.has_stat) at += kStatSize;
        r.imports.resize(u32());
        for (std::uint32_t& i : r.imports) i = u32();
    }
    return out;
}

std::vector<std::byte> empty_state() {
    DependencyTracker empty;
    auto bytes = empty.to_bytes();
    JDC_FUZZ_CHECK(bytes.has_value(), "an empty tracker cannot be encoded");
    return *bytes;
}

bool same(std::span<const std::byte> a, std::span<const std::byte> b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0;
}

void check_graph(const DependencyTracker& tracker, const std::vector<Record>& records, fuzzing::Sink& sink) {
    for (std::size_t i = 0; i < records.size(); ++i) {
        const fs::path path = records[i].path;
        std::vector<std::string> want;  // in record order, which is byte order
        for (std::uint32_t t : records[i].imports) want.push_back(records[t].path);
        std::vector<std::string> got;
        for (const fs::path& p : tracker.imports_of(path)) got.push_back(p.native());
        std::sort(got.begin(), got.end());
        JDC_FUZZ_CHECK(got == want, "imports_of differs from the file: " + records[i].path);
        JDC_FUZZ_CHECK(tracker.cached_entry(path).has_value() == records[i].has_stat, "cached_entry differs from the file");

        auto closure = tracker.transitive_dependencies(path);
        JDC_FUZZ_CHECK(closure.has_value(), "transitive_dependencies failed: " + closure.error().message);
        JDC_FUZZ_CHECK(!closure->empty() && closure->front() == path, "the closure does not start with the file");
        std::vector<std::string> rest;
        for (auto it = closure->begin() + 1; it != closure->end(); ++it) rest.push_back(it->native());
        JDC_FUZZ_CHECK(std::is_sorted(rest.begin(), rest.end()), "the closure is not sorted by path");
        for (const std::string& p : want)
            JDC_FUZZ_CHECK(p == records[i].path || std::binary_search(rest.begin(), rest.end(), p), "a direct import is not in the closure");
        auto dependents = tracker.dependents_of(path);
        JDC_FUZZ_CHECK(dependents.has_value(), "dependents_of failed: " + dependents.error().message);
        sink.mix(closure->size() + dependents->size());
    }
}

void exercise(std::span<const std::byte> bytes) {
    DependencyTracker tracker;
    const StateLoad load = tracker.load_bytes(bytes);
    if (load.status != StateLoadStatus::loaded) {
        JDC_FUZZ_CHECK(load.status == StateLoadStatus::discarded, "load_bytes reported a missing file");
        JDC_FUZZ_CHECK(load.reason && fuzzing::is_verifier_error(*load.reason), "discarded with an unexpected error class");
        JDC_FUZZ_CHECK(!load.warning.empty(), "discarded without a warning");
        auto now = tracker.to_bytes();
        JDC_FUZZ_CHECK(now && same(*now, empty_state()), "a discarded file left state behind");
        return;
    }
    auto encoded = tracker.to_bytes();
    JDC_FUZZ_CHECK(encoded.has_value(), "a loaded state cannot be encoded: " + encoded.error().message);
    JDC_FUZZ_CHECK(same(*encoded, bytes), "an accepted file is not the canonical encoding of what it loaded");

    fuzzing::Sink sink;
    const std::vector<Record> records = records_of(bytes);
    check_graph(tracker, records, sink);

    if (records.size() >= 2) {
        // Edits: the first file imports the last two instead, the second is forgotten.
        const fs::path first = records.front().path;
        const std::vector<fs::path> imports = {records.back().path, records[records.size() / 2].path};
        auto set = tracker.set_imports(first, imports);
        JDC_FUZZ_CHECK(set.has_value(), "set_imports on loaded paths failed: " + set.error().message);
        tracker.forget(records[1].path);
        auto edited = tracker.to_bytes();
        JDC_FUZZ_CHECK(edited.has_value(), "an edited state cannot be encoded");
        DependencyTracker again;
        const StateLoad reload = again.load_bytes(*edited);
        JDC_FUZZ_CHECK(reload.status == StateLoadStatus::loaded, "an encoded state does not load: " + reload.warning);
        auto re_encoded = again.to_bytes();
        JDC_FUZZ_CHECK(re_encoded && same(*re_encoded, *edited), "encoding is not stable across a reload");
        check_graph(again, records_of(*edited), sink);
    }
    volatile std::uint64_t keep = sink.value();
    (void)keep;
}

// payload_size := what the input holds, then the trailer checksum over header + payload.
void reseal(std::span<std::byte> bytes) {
    if (bytes.size() < kHeaderSize + kTrailerSize) return;
    const std::uint64_t payload = bytes.size() - kHeaderSize - kTrailerSize;
    std::memcpy(bytes.data() + 16, &payload, 8);
    const std::uint64_t sum = XXH3_64bits(bytes.data(), bytes.size() - kTrailerSize);
    std::memcpy(bytes.data() + bytes.size() - kTrailerSize, &sum, 8);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::byte> raw(reinterpret_cast<const std::byte*>(data), size);
    exercise(raw);
    if (size >= kHeaderSize + kTrailerSize) {
        std::vector<std::byte> sealed(raw.begin(), raw.end());
        reseal(sealed);
        exercise(sealed);
    }
    return 0;
}
