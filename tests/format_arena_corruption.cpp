// Tests for src/format/arena_verify.cpp against hostile bytes: truncation, every
// single-bit flip, and hand-crafted structural damage behind valid checksums.
//
// Why the checksums are re-sealed in the structural tests: both checksums cover
// every byte of an arena, so any unsealed damage is caught as checksum_mismatch
// before the structural checks run. Re-sealing (what a buggy or malicious writer
// would do) is the only way to reach, and so to test, the structural checks.
//
// Run this under ASan + UBSan (see the README of fuzz/ and scripts/fuzz.sh): the
// accepted-flip path reads every accessor, and only the sanitizers turn an
// out-of-range read there into a failure.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <xxhash.h>

#include "../fuzz/arena_exercise.hpp"
#include "jdc/arena_builder.hpp"
#include "jdc/arena_format.hpp"
#include "jdc/arena_verify.hpp"
#include "jdc/arena_view.hpp"
#include "jdc/loaded_arena.hpp"
#include "support/golden_models.hpp"
#include "support/random_model.hpp"

namespace {

namespace fs = std::filesystem;

using namespace jdc;
using arena::Header;
using arena::SectionEntry;
using arena::SectionKind;

// ---------------------------------------------------------------------------
// Sample arenas

struct Sample {
    const char* name;
    testing::RandomModel model;
    std::vector<std::byte> bytes;
};

void build_sample(Sample& s, DispatchForms forms, CacheKey key = {}) {
    ArenaBuildOptions build;
    build.created_at_ns = 1'700'000'000'000'000'000ull;  // deterministic bytes
    build.forms = forms;
    build.key = key;
    auto bytes = build_arena(s.model.table, s.model.registry, {}, build);
    REQUIRE(bytes);
    s.bytes = std::move(*bytes);
}

Sample make_sample(const char* name, std::uint64_t seed, const testing::RandomModelOptions& options, DispatchForms forms = {}) {
    Sample s{name, testing::make_random_model(seed, options), {}};
    build_sample(s, forms);
    return s;
}

// A table declared inside the hierarchy (format 2.0: domain references to both
// positions, a return type in no domain), sparse enough that its index is displaced,
// written with a key.
Sample inner_keyed_sample() {
    Sample s{"inner keyed optimized", testing::make_random_model(101, {40, 3, 2, 0, false}), {}};
    testing::RandomModel& m = s.model;
    const TypeId declared[] = {m.user_types[6], m.root};
    m.table.signature_name = "inner";
    m.table.signature = {{declared[0], declared[1]}, kTypeBool};
    std::mt19937_64 rng(101);
    for (std::uint32_t i = 0; i < 6; ++i) {
        Implementation impl;
        impl.function = {"inner", "m", i};
        for (TypeId d : declared) {
            const auto members = m.registry.domain(d).members();
            impl.parameter_types.push_back(members[rng() % members.size()]);
        }
        impl.return_type = kTypeBool;
        impl.location = {"m.jn", i + 1, 1};
        impl.specificity_rank = specificity_rank(impl, m.registry);
        m.table.implementations.push_back(std::move(impl));
    }
    build_sample(s, DispatchForms::all(), CacheKey{0x5eed, 0x6b6579});
    return s;
}

// The three shapes the brief asks for: a small random table, arity 3, and a table
// with no implementations (empty entries and parameters sections); then tables with
// the optional dispatch index (format 2.0, arena-v2.md §5.6): plain cells, displaced
// cells (sparse tables), shared rows, arity 0 and 3, and a table declared inside the
// hierarchy with a key.
const std::vector<Sample>& samples() {
    static const std::vector<Sample> all = [] {
        std::vector<Sample> v;
        v.push_back(make_sample("small", 7, testing::small_table_options()));
        v.push_back(make_sample("arity3", 11, {6, 2, 3, 5, true}));
        v.push_back(make_sample("no implementations", 13, {4, 2, 2, 0, false}));
        v.push_back(make_sample("small optimized", 7, testing::small_table_options(), DispatchForms::all()));
        v.push_back(make_sample("arity3 optimized", 11, {6, 2, 3, 5, true}, DispatchForms::all()));
        v.push_back(make_sample("sparse optimized", 19, {30, 1, 2, 4, false}, DispatchForms::all()));
        v.push_back(make_sample("sparse arity3 optimized", 16, {16, 1, 3, 6, false}, DispatchForms::all()));
        v.push_back(make_sample("arity0 optimized", 17, {3, 1, 0, 3, false}, DispatchForms::all()));
        v.push_back(inner_keyed_sample());
        return v;
    }();
    return all;
}

// The dispatch index's header and layout (arena-v2.md §5.6), read from a sample.
struct IndexAt {
    std::uint64_t offset = 0;  // of the section
    arena::DispatchIndexHeader header{};
    std::vector<std::uint32_t> domain_sizes, pole_counts;
    arena::DispatchIndexLayout layout{};
};
std::optional<IndexAt> index_of(std::span<const std::byte> bytes) {
    Header h;
    std::memcpy(&h, bytes.data(), sizeof h);
    for (std::uint32_t i = 0; i < h.section_count; ++i) {
        SectionEntry e;
        std::memcpy(&e, bytes.data() + h.section_dir_offset + sizeof(SectionEntry) * i, sizeof e);
        if (e.kind != static_cast<std::uint32_t>(SectionKind::dispatch_index)) continue;
        IndexAt x;
        x.offset = e.offset;
        std::memcpy(&x.header, bytes.data() + e.offset, sizeof x.header);
        for (std::uint32_t p = 0; p < x.header.arity; ++p) {
            arena::PositionRecord pr;
            std::memcpy(&pr, bytes.data() + e.offset + sizeof(arena::DispatchIndexHeader) + sizeof pr * p, sizeof pr);
            x.domain_sizes.push_back(pr.domain_size);
            x.pole_counts.push_back(pr.pole_count);
        }
        x.layout = arena::dispatch_index_layout(x.header, x.domain_sizes);
        return x;
    }
    return std::nullopt;
}

// ---------------------------------------------------------------------------
// Editing arenas: typed patches, then re-sealing both checksums.

class ArenaEditor {
public:
    explicit ArenaEditor(std::vector<std::byte> bytes) : bytes_(std::move(bytes)) {}

    template <class T>
    T get(std::uint64_t offset) const {
        REQUIRE(offset + sizeof(T) <= bytes_.size());
        T v;
        std::memcpy(&v, bytes_.data() + offset, sizeof(T));
        return v;
    }
    template <class T>
    void set(std::uint64_t offset, const T& v) {
        REQUIRE(offset + sizeof(T) <= bytes_.size());
        std::memcpy(bytes_.data() + offset, &v, sizeof(T));
    }

    Header header() const { return get<Header>(0); }
    void edit_header(const std::function<void(Header&)>& f) { edit_at<Header>(0, f); }

    std::uint64_t dir_offset(std::uint32_t i) const { return header().section_dir_offset + sizeof(SectionEntry) * i; }
    SectionEntry dir(std::uint32_t i) const { return get<SectionEntry>(dir_offset(i)); }
    std::uint32_t dir_index(SectionKind kind) const {
        for (std::uint32_t i = 0; i < header().section_count; ++i)
            if (dir(i).kind == static_cast<std::uint32_t>(kind)) return i;
        FAIL("no section of kind " << static_cast<std::uint32_t>(kind));
        return 0;
    }
    SectionEntry section(SectionKind kind) const { return dir(dir_index(kind)); }
    void edit_section(SectionKind kind, const std::function<void(SectionEntry&)>& f) {
        edit_at<SectionEntry>(dir_offset(dir_index(kind)), f);
    }

    void edit_signature(const std::function<void(arena::SignatureRecord&)>& f) {
        edit_at<arena::SignatureRecord>(section(SectionKind::signature).offset, f);
    }
    std::uint64_t declared_parameter_offset(std::uint32_t p) const {
        return section(SectionKind::signature).offset + sizeof(arena::SignatureRecord) + 4ull * p;
    }
    void edit_type(std::uint32_t i, const std::function<void(arena::TypeRecord&)>& f) {
        edit_at<arena::TypeRecord>(section(SectionKind::types).offset + sizeof(arena::TypeRecord) * i, f);
    }
    void edit_entry(std::uint32_t i, const std::function<void(arena::EntryRecord&)>& f) {
        edit_at<arena::EntryRecord>(section(SectionKind::entries).offset + sizeof(arena::EntryRecord) * i, f);
    }
    std::uint64_t parameter_offset(std::uint32_t entry, std::uint32_t p) const {
        return section(SectionKind::parameters).offset + 4ull * (std::uint64_t{entry} * header().type_signature_length + p);
    }

    // Grows or shrinks the byte vector without touching the header.
    void resize(std::size_t n) { bytes_.resize(n, std::byte{0}); }

    // Moves every section `delta` bytes later (delta % 8 == 0) to make room for
    // `extra` more directory entries right after the existing ones, and fixes every
    // absolute offset the format stores (section offsets and string references).
    // The new entries are left for the caller to fill (all zero).
    void grow_directory(std::uint32_t extra) {
        const Header h = header();
        const std::uint64_t delta = sizeof(SectionEntry) * extra;
        const std::uint64_t old_dir_end = h.section_dir_offset + sizeof(SectionEntry) * h.section_count;
        std::vector<std::byte> moved(bytes_.begin() + static_cast<std::ptrdiff_t>(old_dir_end), bytes_.end());
        bytes_.resize(old_dir_end);
        bytes_.resize(old_dir_end + delta, std::byte{0});
        bytes_.insert(bytes_.end(), moved.begin(), moved.end());
        edit_header([&](Header& hh) {
            hh.section_count += extra;
            hh.total_size += delta;
        });
        for (std::uint32_t i = 0; i < h.section_count; ++i)
            edit_at<SectionEntry>(dir_offset(i), [&](SectionEntry& e) { e.offset += delta; });
        const auto shift = [&](std::uint32_t& string_offset) { string_offset += static_cast<std::uint32_t>(delta); };
        edit_signature([&](arena::SignatureRecord& s) { shift(s.name_offset); });
        for (std::uint32_t i = 0; i < h.type_count; ++i) edit_type(i, [&](arena::TypeRecord& t) { shift(t.name_offset); });
        for (std::uint32_t i = 0; i < h.entry_count; ++i)
            edit_entry(i, [&](arena::EntryRecord& e) {
                shift(e.name_offset);
                shift(e.module_offset);
                shift(e.file_offset);
            });
    }

    // Adds one section (kind, flags) whose payload is appended at the end.
    void add_section(std::uint32_t kind, std::uint32_t flags, std::size_t payload_size) {
        grow_directory(1);
        const Header h = header();
        const std::uint64_t payload_offset = bytes_.size();
        resize(bytes_.size() + arena::align_up(payload_size));
        for (std::size_t i = 0; i < payload_size; ++i) bytes_[payload_offset + i] = std::byte{0xA5};
        set(dir_offset(h.section_count - 1), SectionEntry{kind, flags, payload_offset, payload_size});
        edit_header([&](Header& hh) { hh.total_size = bytes_.size(); });
    }

    // Recomputes data_checksum over [128, min(total_size, size)) and then
    // metadata_checksum over [0, 120): what a writer does last.
    ArenaEditor& reseal() {
        REQUIRE(bytes_.size() >= arena::kHeaderSize);
        const std::uint64_t end = std::min<std::uint64_t>(header().total_size, bytes_.size());
        const std::uint64_t data_len = end > arena::kHeaderSize ? end - arena::kHeaderSize : 0;
        set<std::uint64_t>(offsetof(Header, data_checksum), XXH3_64bits(bytes_.data() + arena::kHeaderSize, data_len));
        set<std::uint64_t>(offsetof(Header, metadata_checksum), XXH3_64bits(bytes_.data(), arena::kMetadataChecksumCoverage));
        return *this;
    }

    const std::vector<std::byte>& bytes() const { return bytes_; }

private:
    template <class T>
    void edit_at(std::uint64_t offset, const std::function<void(T&)>& f) {
        T v = get<T>(offset);
        f(v);
        set(offset, v);
    }

    std::vector<std::byte> bytes_;
};

std::string verify_message(std::span<const std::byte> bytes, VerifyLevel level, const VerifyLimits& limits = {}) {
    auto r = verify_arena(bytes, level, limits);
    return r ? std::string("(accepted)") : std::string(to_string(r.error().code)) + ": " + r.error().message;
}

// Binds to the model's own registry and checks every lookup against the reference
// resolver: what "accepted" must mean for a sample whose types are unchanged.
void check_lookups_match_reference(std::span<const std::byte> bytes, const testing::RandomModel& model) {
    auto view = ArenaView::open(bytes);
    REQUIRE(view);
    fuzzing::read_every_accessor(*view);
    auto bound = BoundArena::bind(*view, model.registry);
    REQUIRE(bound);
    CHECK(bound->to_table() == model.table);
    // The index is bound whenever there is one: the model's registry is the writer's.
    CHECK(bound->has_form(DispatchForm::compressed_table) == view->has_dispatch_index());
    std::size_t mismatches = 0;
    testing::for_each_tuple(model.user_types, model.table.arity(), [&](std::span<const TypeId> args) {
        const Resolution expected = resolve_reference(model.table, model.registry, args);
        if (!bound->lookup(args).same_outcome(expected) || !bound->lookup_table(args).same_outcome(expected) ||
            !bound->lookup_scan(args).same_outcome(expected))
            ++mismatches;
    });
    CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("the sample arenas verify, open and match their tables", "[format][arena][corruption]") {
    for (const Sample& s : samples()) {
        INFO("sample: " << s.name << " (" << s.bytes.size() << " bytes)");
        CHECK(verify_arena(s.bytes, VerifyLevel::header));
        CHECK(verify_arena(s.bytes, VerifyLevel::full));
        check_lookups_match_reference(s.bytes, s.model);
    }
    CHECK(samples()[2].model.table.implementations.empty());
    CHECK(samples()[1].model.table.arity() == 3);
    // The index samples cover what the structural defects below break: both cell
    // formats, shared rows, arity 0, ambiguities, a key.
    std::size_t plain = 0, displaced = 0, shared = 0, arity0 = 0, ambiguous = 0, keyed = 0;
    for (const Sample& s : samples()) {
        keyed += !ArenaView::open(s.bytes)->key().is_zero();
        const auto x = index_of(s.bytes);
        if (!x) continue;
        (x->header.cell_format == arena::kCellsPlain ? plain : displaced) += 1;
        shared += x->header.unique_rows < x->header.row_count;
        arity0 += x->header.arity == 0;
        ambiguous += x->header.ambiguity_count > 0;
    }
    CHECK(plain >= 1);
    CHECK(displaced >= 2);
    CHECK(shared >= 1);
    CHECK(arity0 == 1);
    CHECK(ambiguous >= 2);
    CHECK(keyed == 1);
}

TEST_CASE("every truncation is rejected as truncated, naming the length", "[format][arena][corruption]") {
    for (const Sample& s : samples()) {
        INFO("sample: " << s.name);
        std::size_t wrong = 0;
        for (std::size_t len = 0; len < s.bytes.size(); ++len) {
            const std::span<const std::byte> prefix(s.bytes.data(), len);
            for (VerifyLevel level : {VerifyLevel::header, VerifyLevel::full}) {
                auto r = verify_arena(prefix, level);
                const bool ok = !r &&
                                (r.error().code == ErrorCode::truncated || (len < 4 && r.error().code == ErrorCode::bad_magic)) &&
                                !r.error().message.empty() &&
                                r.error().message.find(std::to_string(len)) != std::string::npos;
                if (!ok && wrong++ < 5) {
                    INFO("length " << len << ", level " << (level == VerifyLevel::full ? "full" : "header") << ": "
                                   << verify_message(prefix, level));
                    CHECK(ok);
                }
            }
            if (len < s.bytes.size() / 2) continue;  // ArenaView::open shares the path; spot-check the second half
            CHECK_FALSE(ArenaView::open(prefix));
        }
        CHECK(wrong == 0);
    }
}

TEST_CASE("every single-bit flip is rejected: the two checksums cover every byte", "[format][arena][corruption]") {
    for (const Sample& s : samples()) {
        INFO("sample: " << s.name << " (" << s.bytes.size() << " bytes, " << s.bytes.size() * 8 << " flips)");
        std::vector<std::byte> bytes = s.bytes;
        std::size_t accepted = 0;
        std::size_t empty_reason = 0;
        std::size_t misclassified = 0;
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            // format-spec §10.2: the magic (H1) and the major version (H3) are checked
            // before the metadata checksum (H4); everything else is a checksum mismatch.
            const ErrorCode expected = i < 4   ? ErrorCode::bad_magic
                                       : i < 6 ? ErrorCode::unsupported_version
                                               : ErrorCode::checksum_mismatch;
            for (int bit = 0; bit < 8; ++bit) {
                bytes[i] ^= std::byte(1u << bit);
                auto r = verify_arena(bytes, VerifyLevel::full);
                if (r) {
                    // Not expected (see below), but if a flip ever gets through it must
                    // still be safe to read: every accessor, bind, and every lookup.
                    ++accepted;
                    UNSCOPED_INFO("flip of bit " << bit << " of byte " << i << " was accepted");
                    auto view = ArenaView::open(bytes);
                    REQUIRE(view);
                    fuzzing::read_every_accessor(*view);
                    fuzzing::Sink sink;
                    fuzzing::bind_and_look_up(*view, s.model.registry, s.model.user_types, 0, sink);
                } else {
                    if (r.error().message.empty()) ++empty_reason;
                    if (r.error().code != expected && misclassified++ < 3)
                        UNSCOPED_INFO("flip of bit " << bit << " of byte " << i << ": " << verify_message(bytes, VerifyLevel::full));
                }
                bytes[i] ^= std::byte(1u << bit);
            }
        }
        CHECK(empty_reason == 0);
        CHECK(misclassified == 0);
        // Every byte is covered by a checksum: [0, 120) by metadata_checksum, the
        // checksum fields themselves by the comparison, [128, total) by data_checksum.
        // XXH3-64 detects every single-bit change of these sizes in practice, so a
        // nonzero count here means a byte escaped both checksums.
        CHECK(accepted == 0);
        CHECK(bytes == s.bytes);
    }
}

TEST_CASE("header-level verification is O(1) and ignores the data bytes; full does not",
          "[format][arena][corruption]") {
    for (const Sample& s : samples()) {
        INFO("sample: " << s.name);
        ArenaEditor damaged(s.bytes);
        // The last byte belongs to the data area (a string or padding) in every sample.
        const std::size_t last = s.bytes.size() - 1;
        damaged.set<std::uint8_t>(last, damaged.get<std::uint8_t>(last) ^ 0xFF);
        CHECK(verify_arena(damaged.bytes(), VerifyLevel::header));
        auto full = verify_arena(damaged.bytes(), VerifyLevel::full);
        REQUIRE_FALSE(full);
        CHECK(full.error().code == ErrorCode::checksum_mismatch);
        CHECK(full.error().message.find("data checksum") != std::string::npos);
        CHECK_FALSE(ArenaView::open(damaged.bytes()));

        // Damage inside the header stays a header-level failure.
        ArenaEditor header_damaged(s.bytes);
        header_damaged.set<std::uint64_t>(offsetof(Header, memory_saved), 12345);
        auto header = verify_arena(header_damaged.bytes(), VerifyLevel::header);
        REQUIRE_FALSE(header);
        CHECK(header.error().code == ErrorCode::checksum_mismatch);
        CHECK(header.error().message.find("header checksum") != std::string::npos);
    }
}

TEST_CASE("resealing an unchanged arena reproduces the writer's checksums", "[format][arena][corruption]") {
    // Guards the helper every structural test below relies on.
    for (const Sample& s : samples()) {
        ArenaEditor e(s.bytes);
        e.set<std::uint64_t>(offsetof(Header, data_checksum), 0);
        e.set<std::uint64_t>(offsetof(Header, metadata_checksum), 0);
        CHECK(e.reseal().bytes() == s.bytes);
    }
}

namespace {

// One crafted defect: how to make it, and how the verifier must describe it.
struct Defect {
    std::string name;
    std::function<bool(ArenaEditor&, const Sample&)> make;  // false: not applicable to this sample
    ErrorCode code;
    std::vector<std::string> message_names;  // substrings the message must contain
    VerifyLimits limits{};
};

std::string n(std::uint64_t v) { return std::to_string(v); }
// 0x-prefixed lowercase hex, as the verifier's messages print values.
std::string hex_of(std::uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

// Format 2.0's type table (arena-v2.md §5.2, checks F5d-F5g): order, domain
// references and the checked reserved field, each broken behind valid checksums, one
// record at a time (F5b-F5g run per record, in that order, record by record).
void type_table_defects(const Sample& s, std::vector<Defect>& d) {
    const ArenaEditor original(s.bytes);
    const Header h = original.header();
    const std::uint32_t A = h.type_signature_length;
    const std::uint32_t tc = h.type_count;
    auto type_edit = [](std::uint32_t i, std::function<void(arena::TypeRecord&)> f) {
        return [=](ArenaEditor& e, const Sample&) {
            e.edit_type(i, f);
            return true;
        };
    };
    if (tc >= 2) {
        d.push_back({"type table out of order (two records swapped)",
                     [=](ArenaEditor& e, const Sample&) {
                         const auto a = e.get<arena::TypeRecord>(e.section(SectionKind::types).offset + 24ull * (tc - 2));
                         const auto b = e.get<arena::TypeRecord>(e.section(SectionKind::types).offset + 24ull * (tc - 1));
                         e.edit_type(tc - 2, [&](arena::TypeRecord& x) { x = b; });
                         e.edit_type(tc - 1, [&](arena::TypeRecord& x) { x = a; });
                         return true;
                     },
                     ErrorCode::corrupt, {"type " + n(tc - 1), "is not after type " + n(tc - 2), "strictly ascending"}});
        d.push_back({"two records with the same structural hash (strictly ascending: no duplicates)",
                     [=](ArenaEditor& e, const Sample&) {
                         const auto a = e.get<arena::TypeRecord>(e.section(SectionKind::types).offset);
                         e.edit_type(1, [&](arena::TypeRecord& x) { x.structural_hash = a.structural_hash; });
                         return true;
                     },
                     ErrorCode::corrupt, {"type 1", "is not after type 0"}});
        // Per record, in order: record 0's reserved field (F5g) fails before record 1's order (F5d).
        d.push_back({"record 0 reserved and record 1 out of order: record 0 is named",
                     [=](ArenaEditor& e, const Sample&) {
                         e.edit_type(0, [](arena::TypeRecord& x) { x.reserved = 7; });
                         e.edit_type(1, [](arena::TypeRecord& x) { x.structural_hash = 0; });
                         return true;
                     },
                     ErrorCode::corrupt, {"type 0 has a non-zero reserved field"}});
    }
    if (tc >= 1) {
        d.push_back({"domain position past the arity", type_edit(tc - 1, [=](arena::TypeRecord& x) { x.domain_position = static_cast<std::uint8_t>(A); }),
                     ErrorCode::corrupt, {"type " + n(tc - 1), "domain of parameter " + n(A), "of a " + n(A) + "-parameter table"}});
        d.push_back({"domain position 254 (only 0xFF means none)", type_edit(0, [](arena::TypeRecord& x) { x.domain_position = 0xFE; }),
                     ErrorCode::corrupt, {"type 0", "domain of parameter 254"}});
        d.push_back({"in no domain, but with a rank", type_edit(0, [](arena::TypeRecord& x) {
                         x.domain_position = arena::kNoDomain;
                         x.domain_rank = 3;
                     }),
                     ErrorCode::corrupt, {"type 0 is in no domain but has domain rank 3"}});
        d.push_back({"non-zero reserved field of a type record", type_edit(tc - 1, [](arena::TypeRecord& x) { x.reserved = 0x100; }),
                     ErrorCode::corrupt, {"type " + n(tc - 1) + " has a non-zero reserved field"}});
        // Within a record: position (F5e) before the reserved field (F5g); the name (F5b) before all.
        d.push_back({"bad domain position and reserved field in one record: the position is named",
                     type_edit(0, [=](arena::TypeRecord& x) {
                         x.domain_position = static_cast<std::uint8_t>(A);
                         x.reserved = 1;
                     }),
                     ErrorCode::corrupt, {"type 0 refers to the domain of parameter"}});
        d.push_back({"bad name and bad reserved field: the name is named",
                     type_edit(0, [](arena::TypeRecord& x) {
                         x.name_offset = 0;
                         x.reserved = 1;
                     }),
                     ErrorCode::corrupt, {"type 0 name", "strings section"}});
    }
}

// Format 2.0's dispatch index (arena-v2.md §5.6, checks F9a-F9p): every value a lookup
// follows without checking, broken behind valid checksums; each defect must be
// reported by the first check of §10.3 that it fails.
void dispatch_index_defects(const Sample& s, std::vector<Defect>& d) {
    const auto x = index_of(s.bytes);
    if (!x) return;
    const ArenaEditor original(s.bytes);
    const Header h = original.header();
    const std::uint32_t A = h.type_signature_length;
    const arena::DispatchIndexHeader ih = x->header;
    const arena::DispatchIndexLayout l = x->layout;
    const std::uint64_t io = x->offset;
    const std::uint64_t size = original.section(SectionKind::dispatch_index).size;
    auto at = [=](std::uint64_t offset, auto value) {
        return [=](ArenaEditor& e, const Sample&) {
            e.set(io + offset, value);
            return true;
        };
    };
    auto set_size = [](std::uint64_t new_size) {
        return [=](ArenaEditor& e, const Sample&) {
            e.edit_section(SectionKind::dispatch_index, [=](SectionEntry& y) { y.size = new_size; });
            return true;
        };
    };
    using IH = arena::DispatchIndexHeader;
    const std::string row_count = "row_count " + n(ih.row_count);
    // F9a-F9f: the header.
    d.push_back({"index section shorter than its header (F9a)", set_size(24), ErrorCode::corrupt,
                 {"dispatch_index: section is 24 bytes, shorter than its 32-byte header"}});
    d.push_back({"index arity differs from the table's (F9b)", at(offsetof(IH, arity), A + 1), ErrorCode::corrupt,
                 {"dispatch_index: arity " + n(A + 1) + " differs from the table's " + n(A)}});
    d.push_back({"unknown cell format (F9d)", at(offsetof(IH, cell_format), std::uint32_t{2}), ErrorCode::corrupt,
                 {"dispatch_index: unknown cell_format 2"}});
    d.push_back({"unknown technique bits in a 2.0 arena (F9e)", at(offsetof(IH, techniques), ih.techniques | 0x80u), ErrorCode::corrupt,
                 {"dispatch_index: unknown technique bits"}});
    d.push_back({"arity and cell format both wrong: the arity is named (F9b before F9d)",
                 [=](ArenaEditor& e, const Sample&) {
                     e.set(io + offsetof(IH, arity), A + 1);
                     e.set(io + offsetof(IH, cell_format), std::uint32_t{9});
                     return true;
                 },
                 ErrorCode::corrupt, {"dispatch_index: arity"}});
    if (A > 0)
        d.push_back({"no room for the position records (F9f)", set_size(32), ErrorCode::corrupt,
                     {"dispatch_index: section is 32 bytes, too short for " + n(A) + " position records"}});
    // F9g-F9j: position records and counts.
    if (A > 0) {
        const std::uint64_t pr = sizeof(IH);  // position[0]
        d.push_back({"a position with an empty domain (F9g)", at(pr + 8, std::uint32_t{0}), ErrorCode::corrupt,
                     {"dispatch_index: position 0 has a domain of 0 types (1..4194304 allowed)"}});
        d.push_back({"a domain over max_types (F9g)", at(pr + 8, std::uint32_t{VerifyLimits{}.max_types + 1}), ErrorCode::corrupt,
                     {"dispatch_index: position 0 has a domain of " + n(VerifyLimits{}.max_types + 1) + " types"}});
        d.push_back({"a position without poles (F9g)", at(pr + 12, std::uint32_t{0}), ErrorCode::corrupt,
                     {"dispatch_index: position 0 has 0 poles for a domain of " + n(x->domain_sizes[0]) + " types"}});
        d.push_back({"more poles than domain members (F9g)", at(pr + 12, x->domain_sizes[0] + 1), ErrorCode::corrupt,
                     {"dispatch_index: position 0 has " + n(x->domain_sizes[0] + 1) + " poles"}});
        d.push_back({"more than 65535 poles (F9g)", at(pr + 12, std::uint32_t{65536}), ErrorCode::corrupt,
                     {"dispatch_index: position 0 has 65536 poles"}});
        d.push_back({"column_count is not the last position's pole count (F9g)", at(offsetof(IH, column_count), ih.column_count + 1),
                     ErrorCode::corrupt, {"dispatch_index: column_count " + n(ih.column_count + 1) + " differs from the last position's"}});
    }
    if (A >= 2)
        d.push_back({"row_count below the product of the pole counts (F9g)", at(offsetof(IH, row_count), ih.row_count - 1),
                     ErrorCode::corrupt, {"dispatch_index: row_count " + n(ih.row_count - 1) + " is less than the product of the pole counts"}});
    d.push_back({"row_count above the product of the pole counts (F9h)", at(offsetof(IH, row_count), ih.row_count + 1), ErrorCode::corrupt,
                 {"dispatch_index: row_count " + n(ih.row_count + 1) + ", the pole counts give " + n(ih.row_count)}});
    if (A == 0)
        d.push_back({"a table without parameters with two columns (F9i)", at(offsetof(IH, column_count), std::uint32_t{2}), ErrorCode::corrupt,
                     {"dispatch_index: column_count of a table without parameters must be 1"}});
    d.push_back({"no unique rows (F9j)", at(offsetof(IH, unique_rows), std::uint32_t{0}), ErrorCode::corrupt,
                 {"dispatch_index: unique_rows 0 outside 1.." + n(ih.row_count)}});
    d.push_back({"more unique rows than rows (F9j)", at(offsetof(IH, unique_rows), ih.row_count + 1), ErrorCode::corrupt,
                 {"dispatch_index: unique_rows " + n(ih.row_count + 1) + " outside 1.." + n(ih.row_count)}});
    // F9k: the size.
    d.push_back({"index section shorter than its header describes (F9k)", set_size(size - 8), ErrorCode::corrupt,
                 {"dispatch_index: section is " + n(size - 8) + " bytes, its header describes " + n(size)}});
    // Two more cells, not one: a plain cell can fall into the padding before the
    // ambiguities, and an arena that uses that slot is valid.
    d.push_back({"two cells more than the section holds (F9k)", at(offsetof(IH, cell_count), ih.cell_count + 2), ErrorCode::corrupt,
                 {"dispatch_index: section is " + n(size) + " bytes, its header describes"}});
    if (ih.ambiguity_count > 0)
        d.push_back({"an ambiguity pair more than the section holds (F9k)", at(offsetof(IH, ambiguity_count), ih.ambiguity_count + 1),
                     ErrorCode::corrupt, {"its header describes " + n(size + 8)}});
    // F9l: poles.
    if (A > 0) {
        const std::uint32_t last_p = A - 1, last_r = x->domain_sizes[last_p] - 1;
        d.push_back({"pole 0 (F9l)", at(l.pole_of[0], std::uint16_t{0}), ErrorCode::corrupt,
                     {"dispatch_index: pole of the type of rank 0 at position 0 is 0, outside 1.." + n(x->pole_counts[0])}});
        d.push_back({"pole past the pole count (F9l)", at(l.pole_of[last_p] + 2ull * last_r, static_cast<std::uint16_t>(x->pole_counts[last_p] + 1)),
                     ErrorCode::corrupt,
                     {"dispatch_index: pole of the type of rank " + n(last_r) + " at position " + n(last_p) + " is " +
                      n(x->pole_counts[last_p] + 1)}});
    }
    // F9m: fewer cells than columns, the section shrunk to match (so F9k passes).
    {
        arena::DispatchIndexHeader fewer = ih;
        fewer.cell_count = ih.column_count - 1;
        const arena::DispatchIndexLayout fl = arena::dispatch_index_layout(fewer, x->domain_sizes);
        d.push_back({"fewer cells than columns (F9m)",
                     [=](ArenaEditor& e, const Sample&) {
                         e.set(io + offsetof(IH, cell_count), fewer.cell_count);
                         e.edit_section(SectionKind::dispatch_index, [&](SectionEntry& y) { y.size = fl.size; });
                         return true;
                     },
                     ErrorCode::corrupt, {"dispatch_index: column_count " + n(ih.column_count) + " is over cell_count " + n(fewer.cell_count)}});
    }
    // F9n: rows.
    const std::uint64_t last_row = l.rows + sizeof(arena::RowRecord) * (ih.row_count - 1);
    d.push_back({"row tagged with a unique row that does not exist (F9n)", at(last_row + 4, ih.unique_rows), ErrorCode::corrupt,
                 {"dispatch_index: row " + n(ih.row_count - 1) + " is tagged with unique row " + n(ih.unique_rows) + " of " + n(ih.unique_rows)}});
    d.push_back({"row running past the cells (F9n)", at(last_row, ih.cell_count - ih.column_count + 1), ErrorCode::corrupt,
                 {"dispatch_index: row " + n(ih.row_count - 1) + " starts at cell " + n(ih.cell_count - ih.column_count + 1) + " and runs past"}});
    d.push_back({"row whose first slot wraps in 32 bits (F9n, computed in 64)", at(last_row, std::uint32_t{0xFFFFFFFFu}), ErrorCode::corrupt,
                 {"runs past the " + n(ih.cell_count) + " cells"}});
    d.push_back({"row 0 past the cells and tagged wrongly: row 0's tag is named (F9n, per row: unique first)",
                 [=](ArenaEditor& e, const Sample&) {
                     e.set(io + l.rows, std::uint32_t{0xFFFFFFFFu});
                     e.set(io + l.rows + 4, ih.unique_rows);
                     return true;
                 },
                 ErrorCode::corrupt, {"dispatch_index: row 0 is tagged with unique row"}});
    // F9o: cells.
    if (ih.cell_format == arena::kCellsPlain) {
        d.push_back({"plain cell naming a method past the entries (F9o)", at(l.cells, h.entry_count + 1), ErrorCode::corrupt,
                     {"dispatch_index: cell 0 has invalid result " + hex_of(h.entry_count + 1)}});
        d.push_back({"plain cell naming an ambiguity that does not exist (F9o)",
                     at(l.cells + 4ull * (ih.cell_count - 1), arena::kResultAmbiguous | ih.ambiguity_count), ErrorCode::corrupt,
                     {"dispatch_index: cell " + n(ih.cell_count - 1) + " has invalid result"}});
    } else {
        std::uint32_t owned = ih.cell_count, unowned = ih.cell_count;
        for (std::uint32_t c = 0; c < ih.cell_count; ++c) {
            const auto cell = original.get<arena::PoleCell>(io + l.cells + 8ull * c);
            if (cell.owner != arena::kNoOwner && owned == ih.cell_count) owned = c;
            if (cell.owner == arena::kNoOwner && unowned == ih.cell_count) unowned = c;
        }
        const std::uint64_t oc = l.cells + 8ull * owned;
        d.push_back({"cell owned by a row that does not exist (F9o)", at(oc, ih.unique_rows), ErrorCode::corrupt,
                     {"dispatch_index: cell " + n(owned) + " (owner " + n(ih.unique_rows)}});
        d.push_back({"owned cell naming a method past the entries (F9o)", at(oc + 4, h.entry_count + 1), ErrorCode::corrupt,
                     {"dispatch_index: cell " + n(owned), "is invalid"}});
        d.push_back({"owned cell naming an ambiguity that does not exist (F9o)", at(oc + 4, arena::kResultAmbiguous | ih.ambiguity_count),
                     ErrorCode::corrupt, {"dispatch_index: cell " + n(owned), "is invalid"}});
        if (unowned < ih.cell_count)
            d.push_back({"unowned cell with a result (F9o)", at(l.cells + 8ull * unowned + 4, std::uint32_t{1}), ErrorCode::corrupt,
                         {"dispatch_index: cell " + n(unowned) + " (owner " + n(arena::kNoOwner) + ", result 0x1) is invalid"}});
    }
    // F9p: ambiguity pairs.
    if (ih.ambiguity_count > 0) {
        const std::uint64_t last = l.ambiguities + 8ull * (ih.ambiguity_count - 1);
        d.push_back({"ambiguity naming an entry past the table (F9p)", at(last + 4, h.entry_count), ErrorCode::corrupt,
                     {"dispatch_index: ambiguity " + n(ih.ambiguity_count - 1) + " names entries"}});
        d.push_back({"ambiguity pair not in order (F9p)",
                     [=](ArenaEditor& e, const Sample&) {
                         const auto first = e.get<std::uint32_t>(io + last), second = e.get<std::uint32_t>(io + last + 4);
                         e.set(io + last, second);
                         e.set(io + last + 4, first);
                         return true;
                     },
                     ErrorCode::corrupt, {"dispatch_index: ambiguity " + n(ih.ambiguity_count - 1) + " names entries"}});
        d.push_back({"ambiguity pair naming one entry twice (F9p)",
                     [=](ArenaEditor& e, const Sample&) {
                         e.set(io + last + 4, e.get<std::uint32_t>(io + last));
                         return true;
                     },
                     ErrorCode::corrupt, {"dispatch_index: ambiguity"}});
    }
    // F9 runs before F8: a damaged index that also overlaps the strings is reported as damaged.
    d.push_back({"index damaged and overlapping the strings: F9 before F8",
                 [=](ArenaEditor& e, const Sample&) {
                     e.set(io + offsetof(IH, cell_format), std::uint32_t{5});
                     const auto strings = e.section(SectionKind::strings);
                     e.edit_section(SectionKind::strings, [&](SectionEntry& y) { y.size = io + 8 - strings.offset; });
                     return true;
                 },
                 ErrorCode::corrupt, {"dispatch_index: unknown cell_format 5"}});
    // Two indexes: a known kind twice (F2d).
    d.push_back({"a second dispatch_index (F2d)",
                 [=](ArenaEditor& e, const Sample&) {
                     e.add_section(static_cast<std::uint32_t>(SectionKind::dispatch_index), 0, 32);
                     return true;
                 },
                 ErrorCode::corrupt, {"kind 6", "appears twice"}});
}

std::vector<Defect> structural_defects(const Sample& s) {
    const ArenaEditor original(s.bytes);
    const Header h = original.header();
    const std::uint64_t dir_end = h.section_dir_offset + sizeof(SectionEntry) * h.section_count;
    const std::string types_n = n(h.type_count);
    const auto sig = original.section(SectionKind::signature);
    const bool has_entries = h.entry_count > 0;
    const bool has_params = h.entry_count > 0 && h.type_signature_length > 0;

    std::vector<Defect> d;
    // --- section directory -------------------------------------------------
    d.push_back({"section offset past the end",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_section(SectionKind::types, [&](SectionEntry& x) { x.offset = h.total_size + 8; });
                     return true;
                 },
                 ErrorCode::corrupt, {"kind 2", n(h.total_size + 8), "outside"}});
    d.push_back({"section size running past the end",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_section(SectionKind::strings, [&](SectionEntry& x) { x.size = h.total_size; });
                     return true;
                 },
                 ErrorCode::corrupt, {"kind 1", "outside"}});
    d.push_back({"section size so large that offset + size wraps around",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_section(SectionKind::entries, [&](SectionEntry& x) { x.size = ~std::uint64_t{0} - 7; });
                     return true;
                 },
                 ErrorCode::corrupt, {"kind 4", "outside"}});
    d.push_back({"misaligned section",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_section(SectionKind::signature, [&](SectionEntry& x) { x.offset += 4; });
                     return true;
                 },
                 ErrorCode::corrupt, {"kind 3", n(sig.offset + 4), "aligned"}});
    d.push_back({"section overlapping the header",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_section(SectionKind::strings, [&](SectionEntry& x) { x.offset = 0; });
                     return true;
                 },
                 ErrorCode::corrupt, {"kind 1", "outside the data area", n(dir_end)}});
    d.push_back({"section overlapping the section directory",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_section(SectionKind::signature, [&](SectionEntry& x) { x.offset = h.section_dir_offset; });
                     return true;
                 },
                 ErrorCode::corrupt, {"kind 3", "outside the data area", n(dir_end)}});
    d.push_back({"section directory overlapping the header",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_header([](Header& x) { x.section_dir_offset = 64; });
                     return true;
                 },
                 ErrorCode::corrupt, {"section directory", "64", "after the header"}});
    d.push_back({"section directory running past the end",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_header([&](Header& x) { x.section_dir_offset = h.total_size - 8; });
                     return true;
                 },
                 ErrorCode::corrupt, {"section directory", n(h.total_size - 8)}});
    d.push_back({"misaligned section directory",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_header([](Header& x) { x.section_dir_offset += 4; });
                     return true;
                 },
                 ErrorCode::corrupt, {"section directory", n(h.section_dir_offset + 4)}});
    d.push_back({"duplicate section",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_section(SectionKind::entries, [](SectionEntry& x) { x.kind = static_cast<std::uint32_t>(SectionKind::types); });
                     return true;
                 },
                 ErrorCode::corrupt, {"kind 2", "twice"}});
    d.push_back({"missing required section (its entry turned into an unknown optional one)",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_section(SectionKind::parameters, [](SectionEntry& x) {
                         x.kind = 77;
                         x.flags = 0;
                     });
                     return true;
                 },
                 ErrorCode::corrupt, {"parameters", "missing"}});
    d.push_back({"missing required section (directory one entry short)",
                 [=](ArenaEditor& e, const Sample&) {
                     // The builder writes strings last in the directory.
                     if (e.dir(h.section_count - 1).kind != static_cast<std::uint32_t>(SectionKind::strings)) return false;
                     e.edit_header([](Header& x) { x.section_count -= 1; });
                     return true;
                 },
                 ErrorCode::corrupt, {"strings", "missing"}});
    d.push_back({"unknown required section kind",
                 [=](ArenaEditor& e, const Sample&) {
                     e.add_section(99, arena::kSectionRequired, 16);
                     return true;
                 },
                 ErrorCode::unsupported_version, {"kind 99", "required"}});
    d.push_back({"section count over the limit",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_header([](Header& x) { x.section_count = 65; });
                     return true;
                 },
                 ErrorCode::limit_exceeded, {"section_count", "65", "64"}});
    // --- string references -------------------------------------------------
    const auto strings = original.section(SectionKind::strings);
    d.push_back({"signature name outside the strings section",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_signature([&](arena::SignatureRecord& x) { x.name_offset = static_cast<std::uint32_t>(sig.offset); });
                     return true;
                 },
                 ErrorCode::corrupt, {"signature name", "strings section", n(sig.offset)}});
    d.push_back({"type name running past the end of the strings section",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_type(0, [&](arena::TypeRecord& x) {
                         x.name_offset = static_cast<std::uint32_t>(strings.offset + strings.size - 1);
                         x.name_length = 2;
                     });
                     return true;
                 },
                 ErrorCode::corrupt, {"type 0 name", "strings section"}});
    d.push_back({"entry name outside the strings section",
                 [=](ArenaEditor& e, const Sample&) {
                     if (!has_entries) return false;
                     e.edit_entry(0, [](arena::EntryRecord& x) { x.name_offset = 0xFFFFFFF0u; });
                     return true;
                 },
                 ErrorCode::corrupt, {"entry 0 name", "strings section", n(0xFFFFFFF0u)}});
    d.push_back({"entry module with a length that wraps offset + length",
                 [=](ArenaEditor& e, const Sample&) {
                     if (!has_entries) return false;
                     e.edit_entry(h.entry_count - 1, [](arena::EntryRecord& x) { x.module_length = 0xFFFFFFFFu; });
                     return true;
                 },
                 ErrorCode::corrupt, {"entry " + n(h.entry_count - 1) + " module", "strings section"}});
    d.push_back({"entry source file before the strings section",
                 [=](ArenaEditor& e, const Sample&) {
                     if (!has_entries) return false;
                     e.edit_entry(0, [&](arena::EntryRecord& x) { x.file_offset = static_cast<std::uint32_t>(strings.offset - 8); });
                     return true;
                 },
                 ErrorCode::corrupt, {"entry 0 source file", "strings section"}});
    // --- type references ---------------------------------------------------
    d.push_back({"parameter type index == type_count",
                 [=](ArenaEditor& e, const Sample&) {
                     if (!has_params) return false;
                     e.set<std::uint32_t>(e.parameter_offset(h.entry_count - 1, h.type_signature_length - 1), h.type_count);
                     return true;
                 },
                 ErrorCode::corrupt,
                 {"entry " + n(h.entry_count - 1) + " parameter " + n(h.type_signature_length - 1), "type " + types_n, types_n + " types"}});
    d.push_back({"parameter type 'none' (only return types may be none)",
                 [=](ArenaEditor& e, const Sample&) {
                     if (!has_params) return false;
                     e.set<std::uint32_t>(e.parameter_offset(0, 0), arena::kNoLocalType);
                     return true;
                 },
                 ErrorCode::corrupt, {"entry 0 parameter 0", n(arena::kNoLocalType)}});
    d.push_back({"entry return type index == type_count",
                 [=](ArenaEditor& e, const Sample&) {
                     if (!has_entries) return false;
                     e.edit_entry(0, [&](arena::EntryRecord& x) { x.return_type = h.type_count; });
                     return true;
                 },
                 ErrorCode::corrupt, {"entry 0 return type", "type " + types_n, types_n + " types"}});
    d.push_back({"signature return type index == type_count",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_signature([&](arena::SignatureRecord& x) { x.return_type = h.type_count; });
                     return true;
                 },
                 ErrorCode::corrupt, {"signature return type", "type " + types_n}});
    d.push_back({"signature parameter type index past type_count",
                 [=](ArenaEditor& e, const Sample&) {
                     if (h.type_signature_length == 0) return false;
                     e.set<std::uint32_t>(e.declared_parameter_offset(h.type_signature_length - 1), h.type_count + 1000);
                     return true;
                 },
                 ErrorCode::corrupt,
                 {"signature parameter " + n(h.type_signature_length - 1), "type " + n(h.type_count + 1000)}});
    // --- counts, sizes, kinds ---------------------------------------------
    d.push_back({"entry_count over VerifyLimits.max_entries (default limits)",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_header([](Header& x) { x.entry_count = VerifyLimits{}.max_entries + 1; });
                     return true;
                 },
                 ErrorCode::limit_exceeded, {"entry_count", n(VerifyLimits{}.max_entries + 1), n(VerifyLimits{}.max_entries)}});
    {
        VerifyLimits tight;
        tight.max_entries = h.entry_count == 0 ? 0 : h.entry_count - 1;
        d.push_back({"entry_count over a caller's tighter max_entries",
                     [=](ArenaEditor&, const Sample&) { return h.entry_count > 0; },
                     ErrorCode::limit_exceeded, {"entry_count", n(h.entry_count), n(tight.max_entries)}, tight});
    }
    d.push_back({"type_count over VerifyLimits.max_types",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_header([](Header& x) { x.type_count = VerifyLimits{}.max_types + 1; });
                     return true;
                 },
                 ErrorCode::limit_exceeded, {"type_count", n(VerifyLimits{}.max_types + 1)}});
    d.push_back({"arity over VerifyLimits.max_arity",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_header([](Header& x) { x.type_signature_length = 65; });
                     return true;
                 },
                 ErrorCode::limit_exceeded, {"arity", "65", "64"}});
    d.push_back({"arity in the signature differs from the header",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_signature([&](arena::SignatureRecord& x) { x.arity = h.type_signature_length + 1; });
                     return true;
                 },
                 ErrorCode::corrupt, {"arity", n(h.type_signature_length + 1), n(h.type_signature_length)}});
    d.push_back({"header arity smaller than the signature's",
                 [=](ArenaEditor& e, const Sample&) {
                     if (h.type_signature_length == 0) return false;
                     e.edit_header([&](Header& x) { x.type_signature_length = h.type_signature_length - 1; });
                     return true;
                 },
                 ErrorCode::corrupt, {"arity", n(h.type_signature_length), n(h.type_signature_length - 1)}});
    d.push_back({"arity (header and signature agreeing) larger than the signature section holds",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_header([&](Header& x) { x.type_signature_length = 60; });
                     e.edit_signature([&](arena::SignatureRecord& x) { x.arity = 60; });
                     return true;
                 },
                 ErrorCode::corrupt, {"signature section", n(sig.size), n(16 + 4 * 60)}});
    d.push_back({"header arity larger than the signature section holds",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_header([&](Header& x) { x.type_signature_length = 60; });
                     return true;
                 },
                 ErrorCode::corrupt, {"signature", "60"}});
    d.push_back({"signature section larger than 16 + 4 * arity (F4c: exact size)",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_section(SectionKind::signature, [](SectionEntry& x) { x.size += 8; });
                     return true;
                 },
                 ErrorCode::corrupt, {"signature section", n(sig.size + 8), n(sig.size)}});
    d.push_back({"two known non-empty sections overlap (F8)",
                 [=](ArenaEditor& e, const Sample&) {
                     // Grow the strings section backwards over the types section: every
                     // string reference stays inside it, so only the overlap is wrong.
                     const auto types = e.section(SectionKind::types);
                     e.edit_section(SectionKind::strings, [&](SectionEntry& x) {
                         x.size += x.offset - types.offset;
                         x.offset = types.offset;
                     });
                     return true;
                 },
                 ErrorCode::corrupt, {"types", "strings", "overlap"}});
    d.push_back({"signature name length differs from the header",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_header([&](Header& x) { x.signature_name_length += 1; });
                     return true;
                 },
                 ErrorCode::corrupt, {"signature name length", n(h.signature_name_length + 1)}});
    d.push_back({"types section size does not match type_count",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_header([&](Header& x) { x.type_count = h.type_count + 1; });
                     return true;
                 },
                 ErrorCode::corrupt, {"types section", n(24ull * h.type_count), n(24ull * (h.type_count + 1))}});
    d.push_back({"types section one record short",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_section(SectionKind::types, [](SectionEntry& x) { x.size -= 24; });
                     return true;
                 },
                 ErrorCode::corrupt, {"types section", n(24ull * (h.type_count - 1)), n(24ull * h.type_count)}});
    d.push_back({"entries section size does not match entry_count",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_section(SectionKind::entries, [](SectionEntry& x) { x.size += 8; });
                     return true;
                 },
                 ErrorCode::corrupt, {"entries section", n(56ull * h.entry_count)}});
    d.push_back({"parameters section size does not match entry_count * arity",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_section(SectionKind::parameters, [](SectionEntry& x) { x.size += 4; });
                     return true;
                 },
                 ErrorCode::corrupt, {"parameters section", n(4ull * h.entry_count * h.type_signature_length)}});
    d.push_back({"unknown type kind",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_type(h.type_count - 1, [](arena::TypeRecord& x) { x.kind = arena::kTypeKindCountOnDisk; });
                     return true;
                 },
                 ErrorCode::corrupt, {"type " + n(h.type_count - 1), "kind", n(arena::kTypeKindCountOnDisk)}});
    d.push_back({"unknown optimization type",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_header([](Header& x) { x.optimization_type = arena::kOptimizationTypeCountOnDisk; });
                     return true;
                 },
                 ErrorCode::corrupt, {"optimization type", n(arena::kOptimizationTypeCountOnDisk)}});
    // --- header --------------------------------------------------------------
    d.push_back({"trailing bytes after total_size",
                 [=](ArenaEditor& e, const Sample&) {
                     e.resize(h.total_size + 8);
                     return true;
                 },
                 ErrorCode::corrupt, {"trailing", n(h.total_size), n(h.total_size + 8)}});
    d.push_back({"total_size not a multiple of 8",
                 [=](ArenaEditor& e, const Sample&) {
                     e.resize(h.total_size + 4);
                     e.edit_header([&](Header& x) { x.total_size = h.total_size + 4; });
                     return true;
                 },
                 ErrorCode::corrupt, {"total_size", n(h.total_size + 4), "multiple of 8"}});
    d.push_back({"header_size is not 128",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_header([](Header& x) { x.header_size = 136; });
                     return true;
                 },
                 ErrorCode::corrupt, {"header_size", "136", "128"}});
    d.push_back({"total_size over VerifyLimits.max_total_size",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_header([](Header& x) { x.total_size = (std::uint64_t{1} << 30) + 8; });
                     return true;
                 },
                 ErrorCode::limit_exceeded, {n((std::uint64_t{1} << 30) + 8), n(std::uint64_t{1} << 30)}});
    d.push_back({"version 3.0",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_header([](Header& x) {
                         x.version_major = 3;
                         x.version_minor = 0;
                     });
                     return true;
                 },
                 ErrorCode::unsupported_version, {"3.0", "1.x to 2.x", "written for 2.0"}});
    d.push_back({"version 0.9",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_header([](Header& x) {
                         x.version_major = 0;
                         x.version_minor = 9;
                     });
                     return true;
                 },
                 ErrorCode::unsupported_version, {"0.9", "written for 2.0"}});
    d.push_back({"wrong magic",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_header([](Header& x) { x.magic = 0x4243444Au; });  // "JDCB"
                     return true;
                 },
                 ErrorCode::bad_magic, {"0x4243444a", "0x4143444a", "JDCA"}});
    d.push_back({"nonzero payload codec",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_header([](Header& x) { x.payload_codec = 1; });
                     return true;
                 },
                 ErrorCode::unsupported_version, {"codec", "1"}});
    d.push_back({"nonzero flags",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_header([](Header& x) { x.flags = 0x40; });
                     return true;
                 },
                 ErrorCode::unsupported_version, {"flags", "0x40"}});
    type_table_defects(s, d);
    dispatch_index_defects(s, d);
    return d;
}

}  // namespace

TEST_CASE("structural damage behind valid checksums is rejected with a reason", "[format][arena][corruption]") {
    std::size_t applied = 0;
    for (const Sample& s : samples()) {
        for (const Defect& defect : structural_defects(s)) {
            ArenaEditor e(s.bytes);
            if (!defect.make(e, s)) continue;
            ++applied;
            e.reseal();
            INFO("sample: " << s.name << "; defect: " << defect.name);
            auto r = verify_arena(e.bytes(), VerifyLevel::full, defect.limits);
            INFO("verifier says: " << verify_message(e.bytes(), VerifyLevel::full, defect.limits));
            REQUIRE_FALSE(r);
            CHECK(to_string(r.error().code) == to_string(defect.code));
            for (const std::string& part : defect.message_names) CHECK_THAT(r.error().message, Catch::Contains(part));
            CHECK_FALSE(ArenaView::open(e.bytes(), defect.limits));
        }
    }
    CHECK(applied > 100);
}

TEST_CASE("an unknown optional section is accepted and skipped", "[format][arena][corruption]") {
    for (const Sample& s : samples()) {
        INFO("sample: " << s.name);
        ArenaEditor e(s.bytes);
        e.add_section(99, 0, 20);
        e.reseal();
        INFO("verifier says: " << verify_message(e.bytes(), VerifyLevel::full));
        REQUIRE(verify_arena(e.bytes(), VerifyLevel::full));
        check_lookups_match_reference(e.bytes(), s.model);

        // Still subject to the directory's range and alignment rules.
        ArenaEditor misaligned(e.bytes());
        misaligned.set<std::uint64_t>(misaligned.dir_offset(misaligned.header().section_count - 1) + offsetof(SectionEntry, offset),
                                      misaligned.dir(misaligned.header().section_count - 1).offset + 4);
        misaligned.reseal();
        auto r = verify_arena(misaligned.bytes(), VerifyLevel::full);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::corrupt);
        CHECK_THAT(r.error().message, Catch::Contains("kind 99") && Catch::Contains("aligned"));
    }
}

// What format-spec/arena-v2.md says readers MUST accept even though the 2.0 writer
// does not write it (§1, §3.2, §5.2, §6.1, §10.5, §13): rejecting any of these would
// make readers disagree on the set of valid arenas.
TEST_CASE("arenas a reader must accept although the reference writer never writes them", "[format][arena][corruption]") {
    struct Variant {
        const char* name;
        std::function<bool(ArenaEditor&, const Header&)> make;  // false: not applicable
    };
    const Variant variants[] = {
        {"a newer minor version (§13)",
         [](ArenaEditor& e, const Header&) {
             e.edit_header([](Header& x) { x.version_minor = 7; });
             return true;
         }},
        {"enum values and technique bits added by a newer minor version (H12, F5c, F9e)",
         [](ArenaEditor& e, const Header& h) {
             e.edit_header([](Header& x) {
                 x.version_minor = arena::kVersionMinor + 1;
                 x.optimization_type = 200;
             });
             e.edit_type(h.type_count - 1, [](arena::TypeRecord& x) { x.kind = 99; });
             if (const auto ix = index_of(e.bytes()))
                 e.set<std::uint32_t>(ix->offset + offsetof(arena::DispatchIndexHeader, techniques), ix->header.techniques | 0xFFFFFF80u);
             return true;
         }},
        {"domain references that name another type, or nothing (§5.2, §11.1: a shortcut, checked by hash)",
         [](ArenaEditor& e, const Header& h) {
             for (std::uint32_t i = 0; i < h.type_count; ++i)
                 e.edit_type(i, [&](arena::TypeRecord& x) {
                     if (x.domain_position == arena::kNoDomain) return;
                     x.domain_rank = i % 2 == 0 ? x.domain_rank + 1 : 0xFFFFFFFFu;
                     if (i % 3 == 0) x.domain_position = static_cast<std::uint8_t>(h.type_signature_length - 1);
                 });
             return true;
         }},
        {"nonzero ignored reserved header bytes and section flag bits (§1: readers ignore them)",
         [](ArenaEditor& e, const Header&) {
             e.edit_header([](Header& x) { std::memset(x.reserved, 0xEE, sizeof x.reserved); });
             e.edit_section(SectionKind::types, [](SectionEntry& x) { x.flags = 0xFFFFFFFEu | arena::kSectionRequired; });
             e.edit_section(SectionKind::strings, [](SectionEntry& x) { x.flags = 0; });
             return true;
         }},
        {"any key (§3.2: verification does not check it, checked binding does not use it)",
         [](ArenaEditor& e, const Header&) {
             e.edit_header([](Header& x) {
                 x.key_hi = 0xFFFFFFFFFFFFFFFFull;
                 x.key_lo = 0x0123456789ABCDEFull;
             });
             return true;
         }},
        {"a section of the retired kind 7, optional (§6.1: unknown to a 2.0 reader, skipped)",
         [](ArenaEditor& e, const Header&) {
             e.add_section(7, 0, 40);
             return true;
         }},
        {"an unknown optional section overlapping a known one (§10.5)",
         [](ArenaEditor& e, const Header&) {
             e.add_section(0x1234, 0, 8);
             const auto strings = e.section(SectionKind::strings);
             e.set(e.dir_offset(e.header().section_count - 1),
                   SectionEntry{0x1234, 0, strings.offset, std::min<std::uint64_t>(strings.size, 16)});
             return true;
         }},
        {"empty known sections placed inside others (F8: empty sections overlap nothing)",
         [](ArenaEditor& e, const Header& h) {
             if (h.entry_count != 0) return false;
             const auto strings = e.section(SectionKind::strings);
             const auto types = e.section(SectionKind::types);
             e.edit_section(SectionKind::entries, [&](SectionEntry& x) { x.offset = types.offset + 8; });
             e.edit_section(SectionKind::parameters, [&](SectionEntry& x) { x.offset = arena::align_up(strings.offset + 1); });
             return true;
         }},
    };
    std::size_t applied = 0;
    for (const Sample& s : samples()) {
        for (const Variant& v : variants) {
            ArenaEditor e(s.bytes);
            if (!v.make(e, e.header())) continue;
            ++applied;
            e.reseal();
            INFO("sample: " << s.name << "; variant: " << v.name << "; verifier says: " << verify_message(e.bytes(), VerifyLevel::full));
            REQUIRE(verify_arena(e.bytes(), VerifyLevel::full));
            check_lookups_match_reference(e.bytes(), s.model);
        }
    }
    CHECK(applied == 7 * samples().size() + 1);
}

// §3.2 and §11.2: the key is a header field like any other for the checksums, and the
// question a keyed reader asks.
TEST_CASE("the key: damaged it is a checksum mismatch; resealed it verifies, and a reader of the old key refuses it",
          "[format][arena][corruption]") {
    const Sample* keyed = nullptr;
    for (const Sample& s : samples())
        if (!ArenaView::open(s.bytes)->key().is_zero()) keyed = &s;
    REQUIRE(keyed != nullptr);
    const CacheKey original = ArenaView::open(keyed->bytes)->key();
    const std::vector<TypeId>& declared = keyed->model.table.signature.parameter_types;
    {
        auto view = ArenaView::open(keyed->bytes);
        REQUIRE(BoundArena::bind_keyed(*view, keyed->model.registry, original, declared));
    }
    for (std::uint64_t byte = offsetof(Header, key_hi); byte < offsetof(Header, key_hi) + 16; ++byte) {
        CAPTURE(byte);
        ArenaEditor e(keyed->bytes);
        e.set<std::uint8_t>(byte, e.get<std::uint8_t>(byte) ^ 0x20);
        // Not resealed: H4, at both levels, and for the header reader.
        for (VerifyLevel level : {VerifyLevel::header, VerifyLevel::full}) {
            auto r = verify_arena(e.bytes(), level);
            REQUIRE_FALSE(r);
            CHECK(r.error().code == ErrorCode::checksum_mismatch);
            CHECK_THAT(r.error().message, Catch::Contains("header checksum"));
        }
        CHECK(read_arena_header(e.bytes()).error().code == ErrorCode::checksum_mismatch);
        // Resealed: a valid arena that says another key.
        e.reseal();
        auto view = ArenaView::open(e.bytes());
        REQUIRE(view);
        const CacheKey now = view->key();
        CHECK(now != original);
        CHECK(arena_key(*read_arena_header(e.bytes())) == now);
        auto refused = BoundArena::bind_keyed(*view, keyed->model.registry, original, declared);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == ErrorCode::stale);
        CHECK_THAT(refused.error().message, Catch::Contains(now.to_hex()) && Catch::Contains(original.to_hex()));
        // Asked for what it says, or bound without a key, it is the same table.
        auto same = BoundArena::bind_keyed(*view, keyed->model.registry, now, declared);
        REQUIRE(same);
        CHECK(same->to_table() == keyed->model.table);
        check_lookups_match_reference(e.bytes(), keyed->model);
    }
    // An arena without a key answers no key asked for.
    const Sample& unkeyed = samples()[3];
    auto view = ArenaView::open(unkeyed.bytes);
    REQUIRE(view->key().is_zero());
    auto refused = BoundArena::bind_keyed(*view, unkeyed.model.registry, original, unkeyed.model.table.signature.parameter_types);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == ErrorCode::stale);
}

// §11.3: the index speaks ranks of the writer's domains; under another domain (a
// digest or size that is not the live one) it is not used, and the scan answers.
TEST_CASE("an index recorded for another domain is not used: the scan answers", "[format][arena][corruption]") {
    std::size_t applied = 0;
    for (const Sample& s : samples()) {
        const auto x = index_of(s.bytes);
        if (!x || x->header.arity == 0) continue;
        for (int what = 0; what < 2; ++what) {
            ArenaEditor e(s.bytes);
            const std::uint64_t pr = x->offset + sizeof(arena::DispatchIndexHeader) + sizeof(arena::PositionRecord) * (x->header.arity - 1);
            if (what == 0) e.set<std::uint64_t>(pr, e.get<std::uint64_t>(pr) ^ 1);  // the digest
            else {
                // A smaller domain with the live digest: the size must be compared too, or
                // ranks past it would index past the pole array (arena-v2.md §10.4).
                const arena::DispatchIndexLayout before = x->layout;
                std::vector<std::uint32_t> sizes = x->domain_sizes;
                if (sizes.back() < 2 || x->pole_counts.back() > sizes.back() - 1) continue;
                sizes.back() -= 1;
                const arena::DispatchIndexLayout after = arena::dispatch_index_layout(x->header, sizes);
                if (after.size != before.size) continue;  // only where the pole array's padding absorbs it
                e.set<std::uint32_t>(pr + 8, sizes.back());
            }
            ++applied;
            e.reseal();
            CAPTURE(s.name, what);
            auto view = ArenaView::open(e.bytes());
            REQUIRE(view);
            auto bound = BoundArena::bind(*view, s.model.registry);
            REQUIRE(bound);
            CHECK_FALSE(bound->has_form(DispatchForm::compressed_table));
            std::vector<TypeId> all;
            for (const Type& t : s.model.registry.types()) all.push_back(t.id);
            testing::for_each_tuple(all, s.model.table.arity(), [&](std::span<const TypeId> args) {
                CHECK(bound->lookup(args).same_outcome(resolve_reference(s.model.table, s.model.registry, args)));
            });
        }
    }
    CHECK(applied >= 7);
}

// F9c: an index has at most 64 positions (dispatch_index_layout keeps 64 pole array
// offsets), whatever max_arity the reader allows the table.
TEST_CASE("an index of more than 64 positions is corrupt, even for a reader that allows the arity", "[format][arena][corruption]") {
    const Sample& s = samples()[2];  // no implementations, no index: nothing else depends on the arity
    REQUIRE(s.model.table.implementations.empty());
    ArenaEditor e(s.bytes);
    e.add_section(static_cast<std::uint32_t>(SectionKind::dispatch_index), 0, 32);
    e.set<std::uint32_t>(e.section(SectionKind::dispatch_index).offset, 65);  // its arity; the rest is never read
    const auto old_signature = e.get<arena::SignatureRecord>(e.section(SectionKind::signature).offset);
    const std::uint64_t signature_at = e.bytes().size();
    const std::uint64_t signature_size = sizeof(arena::SignatureRecord) + 4 * 65;
    e.resize(signature_at + arena::align_up(signature_size));
    e.set(signature_at, arena::SignatureRecord{old_signature.name_offset, old_signature.name_length, 65, old_signature.return_type});
    e.edit_section(SectionKind::signature, [&](SectionEntry& x) {
        x.offset = signature_at;
        x.size = signature_size;
    });
    const std::uint64_t total = e.bytes().size();
    e.edit_header([&](Header& x) {
        x.type_signature_length = 65;
        x.total_size = total;
    });
    e.reseal();
    VerifyLimits wide;
    wide.max_arity = 65;
    auto r = verify_arena(e.bytes(), VerifyLevel::full, wide);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::corrupt);
    CHECK_THAT(r.error().message, Catch::Contains("dispatch_index: arity 65 is over 64"));
    auto by_default = verify_arena(e.bytes(), VerifyLevel::full);
    REQUIRE_FALSE(by_default);
    CHECK(by_default.error().code == ErrorCode::limit_exceeded);  // H15 first
    // Without the index the same arena is valid for that reader.
    e.edit_section(SectionKind::dispatch_index, [](SectionEntry& x) { x.kind = 99; });
    e.reseal();
    CHECK(verify_arena(e.bytes(), VerifyLevel::full, wide));
}

// arena-v2.md §13.1: a 2.0 reader reads 1.x arenas by 1.x's rules for the required
// sections; their optional sections (1.1's index over writer ids and decision tree)
// are unknown kinds there, skipped; they carry no key; the 2.0 type-table checks do
// not apply; and unknown enum values are corrupt whatever the 1.x minor.
TEST_CASE("1.x arenas: required sections as 1.x reads them, optional ones skipped", "[format][arena][corruption]") {
    const fs::path file = fs::path(JDC_TEST_DATA) / "v1.1" / "shapes.jdca";
    auto read = read_file_bytes(file, 1 << 20);
    REQUIRE(read);
    const std::vector<std::byte> v11 = *read;
    const testing::Golden g = testing::shapes_golden();
    auto check_reads = [&](const ArenaEditor& e) {
        INFO("verifier says: " << verify_message(e.bytes(), VerifyLevel::full));
        auto view = ArenaView::open(e.bytes());
        REQUIRE(view);
        CHECK_FALSE(view->has_dispatch_index());
        CHECK(view->key().is_zero());
        auto bound = BoundArena::bind(*view, g.registry);
        REQUIRE(bound);
        CHECK(bound->to_table() == g.table);
        std::vector<TypeId> all;
        for (const Type& t : g.registry.types()) all.push_back(t.id);
        testing::for_each_tuple(all, 2, [&](std::span<const TypeId> args) {
            CHECK(bound->lookup(args).same_outcome(resolve_reference(g.table, g.registry, args)));
        });
    };
    // The golden as it is; then with its kinds 6 and 7 filled with garbage: not read.
    check_reads(ArenaEditor(v11));
    ArenaEditor garbage(v11);
    for (auto kind : {6u, 7u}) {
        const auto sec = garbage.get<SectionEntry>(garbage.dir_offset(kind == 6 ? 5 : 6));
        REQUIRE(sec.kind == kind);
        for (std::uint64_t i = 0; i < sec.size; ++i) garbage.set<std::uint8_t>(sec.offset + i, 0xA5);
    }
    garbage.reseal();
    check_reads(garbage);
    // 1.x reserved bytes: type-record bytes 17-19 and header bytes 80-111, any value;
    // the writer ids (bytes 20-23) any value; the type table in any order (it is).
    ArenaEditor reserved(v11);
    reserved.edit_header([](Header& x) {
        x.key_hi = 0x1111;
        x.key_lo = 0x2222;
        std::memset(x.reserved, 0x33, sizeof x.reserved);
    });
    for (std::uint32_t i = 0; i < reserved.header().type_count; ++i)
        reserved.edit_type(i, [&](arena::TypeRecord& x) {
            x.domain_position = 0x44;
            x.reserved = 0x5555;
            x.domain_rank = 0xFFFFFFF0u + i;  // 1.x: the id hint, advisory
        });
    reserved.reseal();
    check_reads(reserved);
    // Marked required, an optional section of 1.1 is an unknown required section.
    ArenaEditor required(v11);
    required.set<std::uint32_t>(required.dir_offset(5) + offsetof(SectionEntry, flags), arena::kSectionRequired);
    required.reseal();
    auto r = verify_arena(required.bytes(), VerifyLevel::full);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::unsupported_version);
    CHECK_THAT(r.error().message, Catch::Contains("kind 6") && Catch::Contains("required but unknown"));
    // An unknown type kind in a "1.9" arena: there is no 1.x after 1.1.
    ArenaEditor kind(v11);
    kind.edit_header([](Header& x) { x.version_minor = 9; });
    kind.edit_type(0, [](arena::TypeRecord& x) { x.kind = 6; });
    kind.reseal();
    r = verify_arena(kind.bytes(), VerifyLevel::full);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::corrupt);
    CHECK_THAT(r.error().message, Catch::Contains("type 0 has unknown kind 6"));
}

// §10.2: read_arena_header() is H1-H4 and nothing else.
TEST_CASE("read_arena_header checks magic, version and the metadata checksum only", "[format][arena][corruption]") {
    const Sample& s = samples()[8];
    ArenaEditor e(s.bytes);
    e.edit_header([](Header& x) {
        x.total_size += 8;  // H7 for a verifier
        x.flags = 1;        // H10
        x.header_size = 64; // H5
    });
    e.reseal();
    CHECK_FALSE(verify_arena(e.bytes(), VerifyLevel::header));
    auto h = read_arena_header(e.bytes());
    REQUIRE(h);
    CHECK(arena_key(*h) == ArenaView::open(s.bytes)->key());
    CHECK(read_arena_header(std::span<const std::byte>(s.bytes.data(), 127)).error().code == ErrorCode::truncated);
    e.edit_header([](Header& x) { x.version_major = 3; });
    CHECK(read_arena_header(e.bytes()).error().code == ErrorCode::unsupported_version);
}
