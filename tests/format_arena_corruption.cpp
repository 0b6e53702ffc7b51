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
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <xxhash.h>

#include "../fuzz/arena_exercise.hpp"
#include "jdc/arena_builder.hpp"
#include "jdc/arena_format.hpp"
#include "jdc/arena_verify.hpp"
#include "jdc/arena_view.hpp"
#include "support/random_model.hpp"

namespace {

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

Sample make_sample(const char* name, std::uint64_t seed, const testing::RandomModelOptions& options, DispatchForms forms = {}) {
    Sample s{name, testing::make_random_model(seed, options), {}};
    ArenaBuildOptions build;
    build.created_at_ns = 1'700'000'000'000'000'000ull;  // deterministic bytes
    build.forms = forms;
    auto bytes = build_arena(s.model.table, s.model.registry, {}, build);
    REQUIRE(bytes);
    s.bytes = std::move(*bytes);
    return s;
}

// The three shapes the brief asks for: a small random table, arity 3, and a table
// with no implementations (empty entries and parameters sections).
const std::vector<Sample>& samples() {
    static const std::vector<Sample> all = [] {
        std::vector<Sample> v;
        v.push_back(make_sample("small", 7, testing::small_table_options()));
        v.push_back(make_sample("arity3", 11, {6, 2, 3, 5, true}));
        v.push_back(make_sample("no implementations", 13, {4, 2, 2, 0, false}));
        // v1.1: with the optimized sections (dispatch index and decision tree).
        v.push_back(make_sample("small optimized", 7, testing::small_table_options(), DispatchForms::all()));
        v.push_back(make_sample("arity3 optimized", 11, {6, 2, 3, 5, true}, DispatchForms::all()));
        return v;
    }();
    return all;
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
    std::size_t mismatches = 0;
    testing::for_each_tuple(model.user_types, model.table.arity(), [&](std::span<const TypeId> args) {
        const Resolution expected = resolve_reference(model.table, model.registry, args);
        if (!bound->lookup(args).same_outcome(expected) || !bound->lookup_table(args).same_outcome(expected) ||
            !bound->lookup_tree(args).same_outcome(expected))
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

// v1.1 sections: every value a lookup follows without checking, broken behind
// valid checksums. Applies to samples that carry the sections.
void optimized_section_defects(const Sample& s, std::vector<Defect>& d) {
    const ArenaEditor original(s.bytes);
    const Header h = original.header();
    bool has_index = false, has_tree = false;
    for (std::uint32_t i = 0; i < h.section_count; ++i) {
        has_index |= original.dir(i).kind == static_cast<std::uint32_t>(SectionKind::dispatch_index);
        has_tree |= original.dir(i).kind == static_cast<std::uint32_t>(SectionKind::decision_tree);
    }
    if (!has_index || !has_tree) return;
    const std::uint64_t io = original.section(SectionKind::dispatch_index).offset;
    const auto ih = original.get<arena::DispatchIndexHeader>(io);
    const arena::DispatchIndexLayout l = arena::dispatch_index_layout(ih);
    const std::uint64_t to = original.section(SectionKind::decision_tree).offset;
    const auto th = original.get<arena::DecisionTreeHeader>(to);
    auto node_at = [=](std::uint32_t i) { return to + sizeof(arena::DecisionTreeHeader) + sizeof(arena::TreeNode) * i; };
    std::uint32_t first_test = th.node_count, first_leaf = th.node_count;
    for (std::uint32_t i = 0; i < th.node_count; ++i) {
        const auto nd = original.get<arena::TreeNode>(node_at(i));
        if (nd.kind == 0 && first_test == th.node_count) first_test = i;
        if (nd.kind == 1 && first_leaf == th.node_count) first_leaf = i;
    }
    auto node_edit = [=](std::uint32_t i, std::function<void(arena::TreeNode&)> f) {
        return [=](ArenaEditor& e, const Sample&) {
            if (i >= th.node_count) return false;
            auto nd = e.get<arena::TreeNode>(node_at(i));
            f(nd);
            e.set(node_at(i), nd);
            return true;
        };
    };
    auto index_edit = [=](std::uint64_t offset, auto value) {
        return [=](ArenaEditor& e, const Sample&) {
            e.set(io + offset, value);
            return true;
        };
    };
    d.push_back({"tree node linking back to itself (a cycle)", node_edit(first_test, [=](arena::TreeNode& x) { x.below = first_test; }),
                 ErrorCode::corrupt, {"decision_tree", "children must lie"}});
    d.push_back({"tree node linking to an earlier node (a cycle)", node_edit(first_test + 1 < th.node_count ? first_test : th.node_count,
                 [](arena::TreeNode& x) { x.at_or_above = 0; }), ErrorCode::corrupt, {"decision_tree", "children must lie"}});
    d.push_back({"tree node linking past the last node", node_edit(first_test, [=](arena::TreeNode& x) { x.below = th.node_count; }),
                 ErrorCode::corrupt, {"decision_tree", n(th.node_count)}});
    d.push_back({"tree test on a position past the arity", node_edit(first_test, [=](arena::TreeNode& x) { x.position = static_cast<std::uint8_t>(h.type_signature_length); }),
                 ErrorCode::corrupt, {"decision_tree", "tests position"}});
    d.push_back({"tree node of unknown kind", node_edit(0, [](arena::TreeNode& x) { x.kind = 9; }), ErrorCode::corrupt, {"unknown kind 9"}});
    d.push_back({"tree leaf naming a method past the entries", node_edit(first_leaf, [=](arena::TreeNode& x) { x.value = h.entry_count + 1; }),
                 ErrorCode::corrupt, {"decision_tree", "invalid result"}});
    d.push_back({"tree leaf naming an ambiguity that does not exist",
                 node_edit(first_leaf, [=](arena::TreeNode& x) { x.value = arena::kResultAmbiguous | ih.ambiguity_count; }),
                 ErrorCode::corrupt, {"decision_tree", "invalid result"}});
    d.push_back({"tree with a wrong node count",
                 [=](ArenaEditor& e, const Sample&) {
                     e.set(to, arena::DecisionTreeHeader{th.node_count + 1, th.flags});
                     return true;
                 },
                 ErrorCode::corrupt, {"decision_tree", "nodes"}});
    d.push_back({"tree without the dispatch index",
                 [](ArenaEditor& e, const Sample&) {
                     e.edit_section(SectionKind::dispatch_index, [](SectionEntry& x) { x.kind = 99; });
                     return true;
                 },
                 ErrorCode::corrupt, {"decision_tree", "without the dispatch_index"}});
    d.push_back({"pole index past the pole count", index_edit(l.pole_of, static_cast<std::uint16_t>(0xFFFF)), ErrorCode::corrupt,
                 {"dispatch_index", "pole of type id", "outside"}});
    d.push_back({"pole index zero", index_edit(l.pole_of + 2ull * (ih.id_span - 1), std::uint16_t{0}), ErrorCode::corrupt,
                 {"dispatch_index", "outside 1.."}});
    d.push_back({"a position without poles", index_edit(l.pole_counts, std::uint32_t{0}), ErrorCode::corrupt, {"dispatch_index", "0 poles"}});
    d.push_back({"row mapped to a shared row that does not exist", index_edit(l.row_of, ih.unique_rows), ErrorCode::corrupt,
                 {"dispatch_index", "unique row " + n(ih.unique_rows)}});
    d.push_back({"row displaced past the cells", index_edit(l.displacement, ih.cell_count), ErrorCode::corrupt,
                 {"dispatch_index", "runs past"}});
    if (ih.cell_format == arena::kCellsDisplaced) {
        d.push_back({"cell owned by a row that does not exist", index_edit(l.cells, arena::PoleCell{ih.unique_rows, 1}), ErrorCode::corrupt,
                     {"dispatch_index", "cell 0"}});
        d.push_back({"cell naming a method past the entries", index_edit(l.cells, arena::PoleCell{0, h.entry_count + 1}), ErrorCode::corrupt,
                     {"dispatch_index", "cell 0"}});
        d.push_back({"empty cell with a result", index_edit(l.cells, arena::PoleCell{arena::kNoOwner, 1}), ErrorCode::corrupt,
                     {"dispatch_index", "cell 0"}});
    } else {
        d.push_back({"plain cell naming a method past the entries", index_edit(l.cells, h.entry_count + 1), ErrorCode::corrupt,
                     {"dispatch_index", "cell 0", "invalid result"}});
    }
    d.push_back({"unknown cell format", index_edit(offsetof(arena::DispatchIndexHeader, cell_format), std::uint32_t{2}), ErrorCode::corrupt,
                 {"dispatch_index", "cell_format"}});
    d.push_back({"index arity differs from the table's", index_edit(0, h.type_signature_length + 1), ErrorCode::corrupt,
                 {"dispatch_index", "arity"}});
    d.push_back({"index id range starting at the invalid id 0", index_edit(offsetof(arena::DispatchIndexHeader, id_base), std::uint32_t{0}),
                 ErrorCode::corrupt, {"dispatch_index", "outside [1, 2^32)"}});
    d.push_back({"index row count not the product of the pole counts", index_edit(offsetof(arena::DispatchIndexHeader, row_count), ih.row_count + 1),
                 ErrorCode::corrupt, {"dispatch_index"}});
    d.push_back({"index section shorter than its header describes",
                 [](ArenaEditor& e, const Sample&) {
                     e.edit_section(SectionKind::dispatch_index, [](SectionEntry& x) { x.size -= 8; });
                     return true;
                 },
                 ErrorCode::corrupt, {"dispatch_index", "its header describes"}});
    if (ih.ambiguity_count > 0)
        d.push_back({"ambiguity naming an entry past the table", index_edit(l.ambiguities + 4, h.entry_count), ErrorCode::corrupt,
                     {"dispatch_index", "ambiguity 0"}});
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
    d.push_back({"version 2.0",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_header([](Header& x) {
                         x.version_major = 2;
                         x.version_minor = 0;
                     });
                     return true;
                 },
                 ErrorCode::unsupported_version, {"2.0", "1.1"}});
    d.push_back({"version 0.9",
                 [=](ArenaEditor& e, const Sample&) {
                     e.edit_header([](Header& x) {
                         x.version_major = 0;
                         x.version_minor = 9;
                     });
                     return true;
                 },
                 ErrorCode::unsupported_version, {"0.9", "1.1"}});
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
    optimized_section_defects(s, d);
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

// What format-spec/arena-v1.md says readers MUST accept even though a 1.0 writer
// would not write it (§5.2 id_hint, §10.5, §13): rejecting any of these would make
// readers disagree on the set of valid arenas.
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
        {"enum values added by a newer minor version (H12, F5b)",
         [](ArenaEditor& e, const Header& h) {
             e.edit_header([](Header& x) {
                 x.version_minor = arena::kVersionMinor + 1;
                 x.optimization_type = 200;
             });
             e.edit_type(h.type_count - 1, [](arena::TypeRecord& x) { x.kind = 99; });
             return true;
         }},
        {"id hints that name no type, or the wrong one (§5.2, §11: advisory)",
         [](ArenaEditor& e, const Header& h) {
             const TypeId bad_hints[] = {0, 0xFFFFFFFFu, kTypeI32, kFirstUserType};
             for (std::uint32_t i = 0; i < h.type_count; ++i)
                 e.edit_type(i, [&](arena::TypeRecord& x) { x.id_hint = bad_hints[i % 4]; });
             return true;
         }},
        {"nonzero reserved bytes and section flag bits (§1: readers ignore them)",
         [](ArenaEditor& e, const Header& h) {
             e.edit_header([](Header& x) { std::memset(x.reserved, 0xEE, sizeof x.reserved); });
             for (std::uint32_t i = 0; i < h.type_count; ++i)
                 e.edit_type(i, [](arena::TypeRecord& x) { std::memset(x.reserved, 0xEE, sizeof x.reserved); });
             e.edit_section(SectionKind::types, [](SectionEntry& x) { x.flags = 0xFFFFFFFEu | arena::kSectionRequired; });
             e.edit_section(SectionKind::strings, [](SectionEntry& x) { x.flags = 0; });
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
    CHECK(applied == 5 * 5 + 1);
}
