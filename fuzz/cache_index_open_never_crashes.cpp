// Fuzz target: a damaged cache index gives an error or a rebuild, never a crash, and
// the store on top of it stays usable.
//
// The input is the content of `index.jdci` (format-spec/cache-directory-v1.md §3),
// tried as given and with every used slot's checksum recomputed (so mutations reach
// the placement logic). The index only exists as a shared mapping of a file, so the
// target writes the bytes into a scratch store directory (on /dev/shm when there is
// one) that also holds one valid loose arena. Then:
//   - CacheIndex::open fails with a permitted error class and a reason, or opens;
//     an opened index answers summary(), entries() and find() for every listed key
//     (never another key's metadata), takes access records and counters, and, when
//     has_room_for(1) says so, put() either makes a new key findable with exactly
//     the metadata given (and erase() removes it again) or says it found no slot;
//   - LocalStore::open over the original bytes succeeds (rebuilding the index when
//     it cannot be trusted); the arena in the directory is served byte for byte or
//     is a miss, never an error; a new put is served back byte for byte, and remove
//     finds it; nothing is left dirty.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <xxhash.h>

#include "cache_index_fixture.hpp"
#include "fuzz_support.hpp"
#include "jdc/arena_builder.hpp"
#include "jdc/detail/cache_index.hpp"
#include "jdc/local_store.hpp"
#include "seed_models.hpp"

namespace {

using namespace jdc;
namespace fs = std::filesystem;

using fuzzing::kIndexKeptKey;
using fuzzing::kIndexNewKey;
using fuzzing::loose_path;

struct Scratch {
    fs::path root;
    std::vector<std::byte> kept_arena;
    std::vector<std::byte> new_arena;
};

std::vector<std::byte> seed_arena(std::size_t which) {
    const fuzzing::SeedModel& s = fuzzing::kSeedModels[which];
    const auto m = testing::make_random_model(s.seed, s.options);
    auto bytes = build_arena(m.table, m.registry, {}, {fuzzing::kSeedCreatedAtNs});
    JDC_FUZZ_CHECK(bytes.has_value(), "building a seed arena failed");
    return *bytes;
}

void remove_scratch();

const Scratch& scratch() {
    static Scratch* s = [] {
        auto* x = new Scratch;
        const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
        x->root = base / ("jdc-fuzz-index." + std::to_string(::getpid()));
        fs::remove_all(x->root);
        x->kept_arena = seed_arena(0);
        x->new_arena = seed_arena(1);
        std::atexit(remove_scratch);
        return x;
    }();
    return *s;
}

void remove_scratch() {
    std::error_code ec;
    fs::remove_all(scratch().root, ec);
}

void write_file(const fs::path& path, std::span<const std::byte> bytes) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    JDC_FUZZ_CHECK(fd >= 0, "cannot create " + path.string());
    const ssize_t written = bytes.empty() ? 0 : ::write(fd, bytes.data(), bytes.size());
    ::close(fd);
    JDC_FUZZ_CHECK(written == static_cast<ssize_t>(bytes.size()), "cannot write " + path.string());
}

// Recomputes the checksum of every slot that is not empty (slot state byte != 0).
void reseal_slots(std::span<std::byte> bytes) {
    using namespace index_format;
    for (std::size_t at = sizeof(Header); at + sizeof(Slot) <= bytes.size(); at += sizeof(Slot)) {
        Slot s;
        std::memcpy(&s, bytes.data() + at, sizeof s);
        if (s.state == kEmpty) continue;
        s.checksum = static_cast<std::uint32_t>(XXH3_64bits(bytes.data() + at, kSlotChecksumCoverage));
        std::memcpy(bytes.data() + at, &s, sizeof s);
    }
}

bool same_metadata(const IndexEntry& a, const IndexEntry& b) {
    return a.key == b.key && a.size == b.size && a.created_ns == b.created_ns && a.format_version == b.format_version &&
           a.config_hash == b.config_hash && a.location == b.location;
}

void exercise_index(const fs::path& file) {
    auto index = CacheIndex::open(file);
    if (!index) {
        fuzzing::check_rejection(index.error(), "CacheIndex::open");
        return;
    }
    fuzzing::Sink sink;
    const IndexSummary summary = index->summary();
    sink.mix(summary.live_count + summary.total_bytes + summary.hits);
    for (const IndexEntry& e : index->entries()) {
        const auto found = index->find(e.key);
        if (found) JDC_FUZZ_CHECK(found->key == e.key, "find() returned another key's metadata");
        index->record_access(e.key, 1'800'000'000'000'000'000ull);
        sink.mix(e.size);
    }
    index->add(IndexCounter::hits);
    index->add(IndexCounter::bytes_read, 4096);
    (void)index->retired();

    if (!index->has_room_for(1)) return;
    IndexEntry fresh;
    fresh.key = kIndexNewKey;
    fresh.size = 4096;
    fresh.created_ns = 77;
    fresh.format_version = 0x00010000;
    fresh.config_hash = 99;
    index->set_dirty(true);
    const bool stored = index->put(fresh);
    index->set_dirty(false);
    if (!stored) return;  // every slot live despite the counts: said, and the store rebuilds (exercise_store)
    const auto found = index->find(kIndexNewKey);
    JDC_FUZZ_CHECK(found && same_metadata(*found, fresh), "put() into an index with room did not make the key findable");
    const auto erased = index->erase(kIndexNewKey);
    JDC_FUZZ_CHECK(erased && same_metadata(*erased, fresh), "erase() did not find what put() stored");
    JDC_FUZZ_CHECK(!index->find(kIndexNewKey), "an erased key is still found");
    volatile std::uint64_t keep = sink.value();
    (void)keep;
}

bool same_bytes(std::span<const std::byte> a, std::span<const std::byte> b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0;
}

void exercise_store(const Scratch& s) {
    StoreOptions options;
    options.automatic_maintenance = false;  // the index's byte total may be garbage: no eviction of the kept arena
    auto store = LocalStore::open(s.root, options);
    JDC_FUZZ_CHECK(store.has_value(), "LocalStore::open over a damaged index failed: " + store.error().message);

    auto kept = store->get(kIndexKeptKey);
    if (kept) {
        JDC_FUZZ_CHECK(same_bytes(kept->view().bytes(), s.kept_arena), "the kept arena came back with other bytes");
    } else {
        JDC_FUZZ_CHECK(kept.error().code == ErrorCode::not_found, "the kept arena failed with " + kept.error().message);
    }
    auto put = store->put({kIndexNewKey, s.new_arena});
    JDC_FUZZ_CHECK(put.has_value(), "put failed after opening over a damaged index: " + put.error().message);
    auto got = store->get(kIndexNewKey);
    JDC_FUZZ_CHECK(got.has_value(), "a put was not served back: " + got.error().message);
    JDC_FUZZ_CHECK(same_bytes(got->view().bytes(), s.new_arena), "a put came back with other bytes");
    auto removed = store->remove(kIndexNewKey);
    JDC_FUZZ_CHECK(removed && *removed, "remove() did not find the put entry");
    JDC_FUZZ_CHECK(!store->stats().index.dirty, "the index was left dirty");
}

void run(const Scratch& s, std::span<const std::byte> index_bytes) {
    const fs::path index_file = s.root / "index.jdci";
    write_file(index_file, index_bytes);
    exercise_index(index_file);
    write_file(index_file, index_bytes);  // exercise_index wrote through the mapping
    exercise_store(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const Scratch& s = scratch();
    // The same directory for every input: the kept arena (put back in case an earlier
    // input's index let it be dropped), no new key, no index until run() writes one.
    const fs::path kept = loose_path(s.root, kIndexKeptKey);
    fs::create_directories(kept.parent_path());
    if (!fs::exists(kept)) write_file(kept, s.kept_arena);
    ::unlink(loose_path(s.root, kIndexNewKey).c_str());

    const std::span<const std::byte> raw(reinterpret_cast<const std::byte*>(data), size);
    run(s, raw);
    if (size > sizeof(index_format::Header)) {
        std::vector<std::byte> sealed(raw.begin(), raw.end());
        reseal_slots(sealed);
        if (!std::equal(sealed.begin(), sealed.end(), raw.begin())) run(s, sealed);  // a store round costs milliseconds
    }
    return 0;
}
