// Fixtures for the independent decoder of the arena format (format-spec/tools/
// decode_forms.py), run by tests/format_spec_decoder.sh:
//
//   spec_decoder_fixtures OUT_DIR DATA_DIR
//
// writes, into OUT_DIR, the inputs the decoder cannot make itself and the library's
// answers it must agree with, and OUT_DIR/cases.tsv, one decoder run per line:
//   <expected exit status> TAB <text its output must contain> TAB <arguments>
//
// - every golden of DATA_DIR (v1.0, v1.1, v2.0), with the registry of its model and
//   the library's answer to every tuple (lookup_scan, lookup, lookup_table); for the
//   2.0 goldens also under a registry that numbers the same types differently (the
//   same answers, the index bound, the §9 rebuild still byte for byte) and, with an
//   index, under one with a new subtype of a declared type (the index is not bound,
//   the scan answers); the keyed golden bound by its key, and refused for another;
// - random tables with a dispatch index: arity 0-4, both cell formats, shared rows,
//   declared types inside the hierarchy, more than 16 types;
// - damaged arenas behind resealed checksums, one per check of arena-v2.md §10 that a
//   default reader can reach, plus the 1.x rules: the library must reject each with
//   the class the spec gives that check (checked here), and the decoder must name
//   that class and that check (checked by the script).
//
// Exit status 0, or 1 with a message when the library disagrees with the spec's class
// for a defect or a fixture cannot be made.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <xxhash.h>

#include "jdc/arena_builder.hpp"
#include "jdc/arena_format.hpp"
#include "jdc/arena_verify.hpp"
#include "jdc/arena_view.hpp"
#include "jdc/loaded_arena.hpp"
#include "support/golden_models.hpp"
#include "support/random_model.hpp"

namespace {

using namespace jdc;
namespace fs = std::filesystem;
using Bytes = std::vector<std::byte>;
using nlohmann::json;

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "spec_decoder_fixtures: %s\n", what.c_str());
    std::exit(1);
}

fs::path out_dir;
std::ofstream cases;

void write_file(const fs::path& p, const void* data, std::size_t n) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
    if (!f) die("cannot write " + p.string());
}
void write_bytes(const fs::path& p, const Bytes& b) { write_file(p, b.data(), b.size()); }
void write_json(const fs::path& p, const json& j) {
    const std::string s = j.dump();
    write_file(p, s.data(), s.size());
}

void add_case(int status, const std::string& want, const std::string& args) { cases << status << '\t' << want << '\t' << args << '\n'; }

json registry_json(const TypeRegistry& r) {
    json types = json::array();
    for (const Type& t : r.types())
        types.push_back({{"id", t.id}, {"name", t.name}, {"kind", static_cast<int>(t.kind)}, {"supers", t.supertypes}});
    return {{"types", types}};
}

std::string answer(const Resolution& r) {
    switch (r.kind) {
        case ResolutionKind::no_method: return "n";
        case ResolutionKind::method: return "m" + std::to_string(r.index);
        case ResolutionKind::ambiguous: return "a" + std::to_string(r.index) + "," + std::to_string(r.other);
    }
    return "?";
}

// The tuples the decoder visits: every registered id and one unregistered id, in
// odometer order with the last position fastest.
json library_answers(const BoundArena& bound, const TypeRegistry& r, std::uint32_t arity) {
    std::vector<TypeId> ids;
    for (const Type& t : r.types()) ids.push_back(t.id);
    std::sort(ids.begin(), ids.end());
    ids.push_back((ids.empty() ? 0 : ids.back()) + 1);
    json lookups = json::array();
    std::vector<std::size_t> at(arity, 0);
    std::vector<TypeId> args(arity);
    while (true) {
        for (std::uint32_t p = 0; p < arity; ++p) args[p] = ids[at[p]];
        lookups.push_back({args, answer(bound.lookup_scan(args)), answer(bound.lookup(args)), answer(bound.lookup_table(args))});
        std::uint32_t p = arity;
        while (p > 0 && ++at[p - 1] == ids.size()) at[--p] = 0;
        if (p == 0) break;
    }
    return {{"lookups", lookups}};
}

// One decoder run over `arena` bound to `registry`, with the library's answers.
void lookup_case(const std::string& name, const fs::path& arena, const Bytes& bytes, const TypeRegistry& registry,
                 const std::string& flags, const std::string& want, const CacheKey* key = nullptr,
                 std::span<const TypeId> declared = {}) {
    auto view = ArenaView::open(bytes);
    if (!view) die(name + ": " + view.error().message);
    auto bound = key != nullptr ? BoundArena::bind_keyed(*view, registry, *key, declared) : BoundArena::bind(*view, registry);
    if (!bound) die(name + ": bind: " + bound.error().message);
    const fs::path reg = out_dir / (name + ".registry.json"), expect = out_dir / (name + ".expect.json");
    write_json(reg, registry_json(registry));
    write_json(expect, library_answers(*bound, registry, view->arity()));
    std::string args = arena.string() + " --registry " + reg.string() + " --expect " + expect.string() + flags;
    if (key != nullptr) args += " --key " + key->to_hex();
    add_case(0, want, args);
}

// The same types registered in another valid order (supertypes first): every id moves.
TypeRegistry renumbered(const TypeRegistry& old, std::uint64_t seed) {
    TypeRegistry r;
    std::vector<TypeId> new_of_old(old.size() + 1, kInvalidType);
    for (TypeId b = 1; b < kFirstUserType; ++b) new_of_old[b] = b;
    std::vector<TypeId> pending;
    for (TypeId id = kFirstUserType; id <= old.size(); ++id) pending.push_back(id);
    std::mt19937_64 rng(seed);
    while (!pending.empty()) {
        std::vector<std::size_t> ready;
        for (std::size_t i = 0; i < pending.size(); ++i) {
            const Type* t = old.find(pending[i]);
            if (std::all_of(t->supertypes.begin(), t->supertypes.end(), [&](TypeId s) { return new_of_old[s] != kInvalidType; }))
                ready.push_back(i);
        }
        const std::size_t pick = ready[rng() % ready.size()];
        const Type* t = old.find(pending[pick]);
        std::vector<TypeId> supers;
        for (TypeId s : t->supertypes) supers.push_back(new_of_old[s]);
        new_of_old[t->id] = *r.add(t->name, t->kind, supers);
        pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(pick));
    }
    return r;
}

Bytes read_or_die(const fs::path& p) {
    auto b = read_file_bytes(p, 1 << 22);
    if (!b) die(p.string() + ": " + b.error().message);
    return *b;
}

// ---- goldens and random tables -------------------------------------------------------

std::size_t plain_indexes = 0, displaced_indexes = 0, shared_rows = 0;

void count_index(const Bytes& bytes) {
    auto view = ArenaView::open(bytes);
    const auto s = view->section(arena::SectionKind::dispatch_index);
    if (s.empty()) return;
    arena::DispatchIndexHeader h;
    std::memcpy(&h, s.data(), sizeof h);
    (h.cell_format == arena::kCellsPlain ? plain_indexes : displaced_indexes) += 1;
    shared_rows += h.unique_rows < h.row_count;
}

// A 2.0 arena under its writer's registry, a renumbered one and (with an index) one
// whose first declared domain gained a type.
void current_arena_cases(const std::string& name, const fs::path& file, const Bytes& bytes, const TypeRegistry& writer,
                         const std::vector<TypeId>& declared, std::uint64_t seed) {
    lookup_case(name, file, bytes, writer, " --writer --rebuild", "rebuilt byte for byte; all agree with the library");
    lookup_case(name + ".renumbered", file, bytes, renumbered(writer, seed), " --writer --rebuild",
                "rebuilt byte for byte; all agree with the library");
    auto view = ArenaView::open(bytes);
    if (view->has_dispatch_index() && !declared.empty()) {
        TypeRegistry grown = writer;
        (void)*grown.add("Late", TypeKind::struct_, std::vector<TypeId>{declared[0]});
        lookup_case(name + ".grown", file, bytes, grown, "", "index not bound");
    }
    count_index(bytes);
}

// A table over declared types inside the hierarchy (as tests/format_dispatch_forms.cpp).
DispatchTable inner_table(const testing::RandomModel& m, const std::vector<TypeId>& declared, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    DispatchTable t;
    t.signature_name = "inner_" + std::to_string(seed);
    t.signature.parameter_types = declared;
    t.signature.return_type = kTypeI32;
    for (std::uint32_t i = 0; i < 14; ++i) {
        Implementation impl;
        impl.function = {t.signature_name, "m", i};
        for (TypeId d : declared) {
            const auto members = m.registry.domain(d).members();
            impl.parameter_types.push_back(members[rng() % members.size()]);
        }
        impl.return_type = i % 3 == 0 ? kTypeString : kTypeI32;
        impl.location = {"m.jn", i + 1, 1};
        impl.specificity_rank = specificity_rank(impl, m.registry);
        t.implementations.push_back(std::move(impl));
    }
    return t;
}

void random_cases() {
    struct R {
        std::uint64_t seed;
        testing::RandomModelOptions o;
    };
    const R models[] = {
        {5, {12, 2, 1, 10, false}}, {6, {10, 3, 2, 20, true}}, {7, {8, 2, 2, 30, false}},  {8, {6, 2, 3, 12, false}},
        {9, {4, 2, 4, 8, true}},    {10, {3, 1, 0, 3, false}}, {11, {3, 1, 0, 0, false}}, {12, {14, 3, 2, 0, false}},
        {13, {20, 1, 2, 6, false}}, {14, {24, 3, 1, 40, true}}, {15, {30, 2, 2, 5, false}}, {16, {16, 1, 3, 6, false}},
        {17, {40, 2, 2, 8, false}}, {18, {12, 2, 3, 9, false}}, {19, {30, 1, 2, 4, false}}, {20, {25, 2, 2, 3, false}},
        {21, {18, 2, 4, 5, false}},
    };
    for (const R& x : models) {
        const testing::RandomModel m = testing::make_random_model(x.seed, x.o);
        auto bytes = build_arena(m.table, m.registry, {}, ArenaBuildOptions(1, DispatchForms::all()));
        if (!bytes) die(bytes.error().message);
        const std::string name = "random-" + std::to_string(x.seed);
        const fs::path file = out_dir / (name + ".jdca");
        write_bytes(file, *bytes);
        current_arena_cases(name, file, *bytes, m.registry, m.table.signature.parameter_types, x.seed * 31);
    }
    for (std::uint64_t seed : {101u, 102u, 103u}) {
        const testing::RandomModel m = testing::make_random_model(seed, {40, 3, 2, 0, false});
        const std::vector<TypeId> declared = {m.user_types[1 + seed % 8], m.user_types[2 + seed % 5]};
        const DispatchTable t = inner_table(m, declared, seed);
        ArenaBuildOptions options(1, DispatchForms::all());
        options.key = {seed, ~seed};
        auto bytes = build_arena(t, m.registry, {}, options);
        if (!bytes) die(bytes.error().message);
        const std::string name = "inner-" + std::to_string(seed);
        const fs::path file = out_dir / (name + ".jdca");
        write_bytes(file, *bytes);
        current_arena_cases(name, file, *bytes, m.registry, declared, seed * 31);
    }
}

void golden_cases(const fs::path& data) {
    for (const testing::Golden& g : testing::goldens()) {
        for (const char* version : {"v1.0", "v1.1", "v2.0"}) {
            const fs::path file = data / version / (g.name + ".jdca");
            if (!fs::exists(file)) continue;
            const Bytes bytes = read_or_die(file);
            const std::string name = std::string(version) + "-" + g.name;
            if (std::string(version) != "v2.0") {
                lookup_case(name, file, bytes, g.registry, " --writer", std::string("format 1.") + version[3]);
                continue;
            }
            current_arena_cases(name, file, bytes, g.registry, g.table.signature.parameter_types, 7);
            if (!g.key.is_zero()) {
                lookup_case(name + ".keyed", file, bytes, g.registry, "", "keyed", &g.key, g.table.signature.parameter_types);
                CacheKey other = g.key;
                other.lo ^= 1;
                auto view = ArenaView::open(bytes);
                auto refused = BoundArena::bind_keyed(*view, g.registry, other, g.table.signature.parameter_types);
                if (refused || refused.error().code != ErrorCode::stale) die(name + ": bind_keyed with another key must be stale");
                add_case(4, "stale:", file.string() + " --registry " + (out_dir / (name + ".registry.json")).string() + " --key " +
                                          other.to_hex());
            }
        }
    }
}

// ---- damaged arenas --------------------------------------------------------------------

struct Editor {
    Bytes b;
    template <class T>
    T get(std::uint64_t at) const {
        T v;
        std::memcpy(&v, b.data() + at, sizeof v);
        return v;
    }
    template <class T>
    void set(std::uint64_t at, T v) {
        std::memcpy(b.data() + at, &v, sizeof v);
    }
    arena::Header header() const { return get<arena::Header>(0); }
    std::uint64_t dir_at(std::uint32_t kind) const {
        const auto h = header();
        for (std::uint32_t i = 0; i < h.section_count; ++i)
            if (get<arena::SectionEntry>(h.section_dir_offset + 24ull * i).kind == kind) return h.section_dir_offset + 24ull * i;
        die("no section of kind " + std::to_string(kind));
    }
    arena::SectionEntry section(std::uint32_t kind) const { return get<arena::SectionEntry>(dir_at(kind)); }
    std::uint64_t at(std::uint32_t kind, std::uint64_t offset) const { return section(kind).offset + offset; }
    void reseal() {
        set<std::uint64_t>(offsetof(arena::Header, data_checksum), XXH3_64bits(b.data() + 128, b.size() - 128));
        set<std::uint64_t>(offsetof(arena::Header, metadata_checksum), XXH3_64bits(b.data(), 120));
    }
};

struct Defect {
    std::string check;  // arena-v2.md §10
    std::string cls;    // the class the spec gives it
    std::function<void(Editor&)> make;
    bool reseal = true;
};

std::string class_of(const Bytes& b) {
    auto r = verify_arena(b, VerifyLevel::full);
    if (r) return "(accepted)";
    std::string name(to_string(r.error().code));  // "unsupported version": the spec's unsupported_version
    std::replace(name.begin(), name.end(), ' ', '_');
    return name;
}

void defect_cases(const std::string& sample, const Bytes& original, const std::vector<Defect>& defects) {
    int i = 0;
    for (const Defect& d : defects) {
        Editor e{original};
        d.make(e);
        if (d.reseal) e.reseal();
        const std::string got = class_of(e.b);
        if (got != d.cls) die(sample + ", defect for " + d.check + ": the library says " + got + ", the spec " + d.cls);
        const fs::path file = out_dir / ("defect-" + sample + "-" + std::to_string(i++) + "-" + d.check + ".jdca");
        write_bytes(file, e.b);
        add_case(3, "rejected: " + d.cls + " " + d.check + ":", file.string() + " --verify-only");
    }
}

constexpr std::uint32_t kTypes = 2, kIndex = 6;

void damaged_cases(const fs::path& data) {
    using arena::Header;
    using arena::TypeRecord;
    // The keyed golden: arity 2, a displaced index with an ambiguity, domain references.
    const Bytes draw = read_or_die(data / "v2.0" / "draw.jdca");
    const Editor d0{draw};
    const auto ih = d0.get<arena::DispatchIndexHeader>(d0.section(kIndex).offset);
    const std::uint32_t sizes[] = {d0.get<std::uint32_t>(d0.at(kIndex, 32 + 8)), d0.get<std::uint32_t>(d0.at(kIndex, 48 + 8))};
    const arena::DispatchIndexLayout l = arena::dispatch_index_layout(ih, sizes);
    auto ix = [](std::uint64_t off, auto v) { return [=](Editor& e) { e.set(e.at(kIndex, off), v); }; };
    auto type_field = [](std::uint32_t i, std::uint64_t field, auto v) {
        return [=](Editor& e) { e.set(e.at(kTypes, 24ull * i + field), v); };
    };
    auto dir_field = [](std::uint32_t kind, std::uint64_t field, auto v) { return [=](Editor& e) { e.set(e.dir_at(kind) + field, v); }; };
    std::vector<Defect> defects = {
        {"H3", "unsupported_version", [](Editor& e) { e.set<std::uint16_t>(4, 3); }},
        {"H4", "checksum_mismatch", [](Editor& e) { e.set<std::uint8_t>(offsetof(Header, key_lo), 0x11); }, false},
        {"H11", "unsupported_version", [](Editor& e) { e.set<std::uint8_t>(offsetof(Header, payload_codec), 2); }},
        {"H12", "corrupt", [](Editor& e) { e.set<std::uint8_t>(offsetof(Header, optimization_type), 7); }},
        {"H17", "corrupt", [](Editor& e) { e.set<std::uint64_t>(offsetof(Header, section_dir_offset), 132); }},
        {"F1", "checksum_mismatch", [](Editor& e) { e.b.back() ^= std::byte{1}; }, false},
        {"F2c", "unsupported_version", [](Editor& e) {
             e.set<std::uint32_t>(e.dir_at(kIndex), 7);
             e.set<std::uint32_t>(e.dir_at(7) + 4, 1);
         }},
        {"F2d", "corrupt", dir_field(kIndex, 0, std::uint32_t{2})},
        {"F4c", "corrupt", dir_field(3, 16, std::uint64_t{32})},
        {"F5c", "corrupt", type_field(3, 16, std::uint8_t{6})},
        {"F5d", "corrupt", [](Editor& e) {  // records 0 and 1 swapped: valid one by one, out of order
             const std::uint64_t t = e.at(kTypes, 0);
             std::byte tmp[24];
             std::memcpy(tmp, e.b.data() + t, 24);
             std::memmove(e.b.data() + t, e.b.data() + t + 24, 24);
             std::memcpy(e.b.data() + t + 24, tmp, 24);
         }},
        {"F5e", "corrupt", type_field(0, 17, std::uint8_t{2})},
        {"F5f", "corrupt", type_field(1, 17, std::uint8_t{0xFF})},  // Object: rank 1
        {"F5g", "corrupt", type_field(2, 18, std::uint16_t{1})},
        {"F7b", "corrupt", [](Editor& e) { e.set<std::uint32_t>(e.at(5, 20), 6); }},
        {"F9a", "corrupt", dir_field(kIndex, 16, std::uint64_t{24})},
        {"F9b", "corrupt", ix(0, std::uint32_t{3})},
        {"F9d", "corrupt", ix(28, std::uint32_t{2})},
        {"F9e", "corrupt", ix(24, std::uint32_t{0x86})},
        {"F9f", "corrupt", dir_field(kIndex, 16, std::uint64_t{40})},
        {"F9g", "corrupt", ix(32 + 8, std::uint32_t{0})},                     // domain_size 0
        {"F9g", "corrupt", ix(32 + 12, std::uint32_t{sizes[0] + 1})},          // more poles than members
        {"F9g", "corrupt", ix(4, std::uint32_t{ih.row_count - 1})},            // row_count below the product
        {"F9g", "corrupt", ix(8, std::uint32_t{ih.column_count - 1})},         // column_count not the last pole count
        {"F9h", "corrupt", ix(4, std::uint32_t{ih.row_count + 1})},
        {"F9j", "corrupt", ix(12, std::uint32_t{ih.row_count + 1})},
        {"F9j", "corrupt", ix(12, std::uint32_t{0})},
        {"F9k", "corrupt", ix(16, std::uint32_t{ih.cell_count + 1})},
        {"F9l", "corrupt", ix(l.pole_of[1] + 2ull * (sizes[1] - 1), std::uint16_t{0})},
        {"F9m", "corrupt", [=](Editor& e) {  // two cells fewer, the section shrunk to match: column_count > cell_count
             e.set(e.at(kIndex, 16), std::uint32_t{ih.column_count - 1});
             e.set(e.dir_at(kIndex) + 16, std::uint64_t{l.size - 8ull * (ih.cell_count - (ih.column_count - 1))});
         }},
        {"F9n", "corrupt", ix(l.rows + 8 * 2 + 4, std::uint32_t{ih.unique_rows})},
        {"F9n", "corrupt", ix(l.rows + 8 * 2, std::uint32_t{ih.cell_count - ih.column_count + 1})},
        {"F9o", "corrupt", ix(l.cells + 8 * 1 + 4, std::uint32_t{1})},        // unowned slot with a result
        {"F9o", "corrupt", ix(l.cells, std::uint32_t{ih.unique_rows})},        // owner past the unique rows
        {"F9o", "corrupt", ix(l.cells + 4, std::uint32_t{arena::kResultAmbiguous | ih.ambiguity_count})},
        {"F9p", "corrupt", ix(l.ambiguities + 4, std::uint32_t{3})},
        {"F8", "corrupt", [](Editor& e) {
             const auto entries = e.section(4);
             const std::uint64_t s = e.dir_at(1);
             const auto strings = e.get<arena::SectionEntry>(s);
             e.set<std::uint64_t>(s + 8, entries.offset);
             e.set<std::uint64_t>(s + 16, strings.size + (strings.offset - entries.offset));
         }},
    };
    defect_cases("draw", draw, defects);

    // The shapes golden: plain cells.
    const Bytes shapes = read_or_die(data / "v2.0" / "shapes.jdca");
    const Editor s0{shapes};
    const auto sh = s0.get<arena::DispatchIndexHeader>(s0.section(kIndex).offset);
    const std::uint32_t ssizes[] = {s0.get<std::uint32_t>(s0.at(kIndex, 40)), s0.get<std::uint32_t>(s0.at(kIndex, 56))};
    const auto sl = arena::dispatch_index_layout(sh, ssizes);
    defect_cases("shapes", shapes, {{"F9o", "corrupt", ix(sl.cells + 4 * 3, std::uint32_t{5})}});

    // Arity 0: F9i.
    const testing::RandomModel m = testing::make_random_model(10, {3, 1, 0, 3, false});
    auto arity0 = build_arena(m.table, m.registry, {}, ArenaBuildOptions(1, DispatchForms::all()));
    if (!arity0) die(arity0.error().message);
    defect_cases("arity0", *arity0, {{"F9i", "corrupt", ix(8, std::uint32_t{2})}});

    // 1.x: kinds 6 and 7 are unknown to a 2.0 reader there. Marked required they are
    // refused; their contents, however damaged, are not read.
    const Bytes v11 = read_or_die(data / "v1.1" / "shapes.jdca");
    defect_cases("v1.1-shapes", v11, {{"F2c", "unsupported_version", dir_field(kIndex, 4, std::uint32_t{1})},
                                     {"F5c", "corrupt", [](Editor& e) { e.set<std::uint16_t>(6, 9); e.set(e.at(kTypes, 16), std::uint8_t{6}); }}});
    Editor skipped{v11};
    for (std::uint32_t kind : {6u, 7u}) {
        const auto sec = skipped.section(kind);
        std::memset(skipped.b.data() + sec.offset, 0xA5, sec.size);
    }
    skipped.reseal();
    if (!verify_arena(skipped.b, VerifyLevel::full)) die("a 1.1 arena with damaged optional sections must verify");
    const fs::path file = out_dir / "v1.1-shapes-damaged-optional.jdca";
    write_bytes(file, skipped.b);
    add_case(0, "verifies (format 1.1)", file.string() + " --verify-only");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) die("usage: spec_decoder_fixtures OUT_DIR DATA_DIR");
    out_dir = argv[1];
    const fs::path data = argv[2];
    fs::create_directories(out_dir);
    cases.open(out_dir / "cases.tsv", std::ios::trunc);
    golden_cases(data);
    random_cases();
    damaged_cases(data);
    cases.close();
    if (plain_indexes < 3 || displaced_indexes < 3 || shared_rows < 3)
        die("the fixtures must cover both cell formats and shared rows, 3 of each at least (plain " + std::to_string(plain_indexes) + ", displaced " +
            std::to_string(displaced_indexes) + ", shared " + std::to_string(shared_rows) + ")");
    std::printf("spec_decoder_fixtures: %s (indexes: %zu plain, %zu displaced, %zu with shared rows)\n", (out_dir / "cases.tsv").c_str(),
                plain_indexes, displaced_indexes, shared_rows);
    return 0;
}
