#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <functional>
#include <iostream>
#include <thread>
#include <sstream>

#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include "jdc/arena_builder.hpp"
#include "jdc/build_cache_manager.hpp"
#include "jdc/cache_records.hpp"
#include "jdc/dispatch_table_serializer.hpp"
#include "support/random_model.hpp"
#include "support/temp_dir.hpp"

using namespace jdc;
namespace fs = std::filesystem;

namespace {

// The project's model shape, named: a braced temporary in the member initializer
// below made GCC 12 warn of a dangling pointer (-Wdangling-pointer, a false positive)
// wherever the constructor was inlined.
const testing::RandomModelOptions kProjectShape{20, 2, 2, 30, true};

// A project: a hierarchy, one generic function, and the inputs a compiler would pass.
struct Project {
    testing::RandomModel model = testing::make_random_model(77, kProjectShape);
    int builds = 0;

    TableInputs inputs() const {
        TableInputs in;
        in.name = m().table.signature_name;
        in.signature = m().table.signature;
        in.methods = method_inputs(m().table);  // views into the model, which outlives them
        in.sources = {{"src/shapes.jn", {1, 1}}, {"src/geometry.jn", {2, 2}}};
        return in;
    }
    const testing::RandomModel& m() const { return model; }
    TableBuilder builder() {
        return [this](const TableInputs&, const TypeRegistry&) -> Result<BuiltTable> {
            ++builds;
            return BuiltTable{model.table, {}};
        };
    }
};

CacheConfig config_in(const fs::path& dir) {
    CacheConfig c;
    c.cache_directory = dir;
    return c;
}

MissReason only_miss_reason(const CacheMetrics& m) {
    for (std::size_t i = 0; i < kMissReasonCount; ++i)
        if (m.misses_by_reason[i] != 0) return static_cast<MissReason>(i);
    return MissReason::never_seen;
}

// Runs one lookup in a fresh session and returns its metrics.
CacheMetrics one_build(const fs::path& dir, BuildIdentity id, Project& p, const TableInputs& in) {
    auto m = BuildCacheManager::create(config_in(dir), std::move(id));
    REQUIRE(m);
    REQUIRE(m->startBuildSession());
    auto t = m->getOrBuildDispatchTable(in, p.model.registry, p.builder());
    REQUIRE(t);
    CHECK(t->to_table() == p.model.table);
    REQUIRE(m->endBuildSession());
    return m->session_metrics();
}

// The same hierarchy (names, supertypes, ids) with each type's kind chosen by
// `kind_of`: a changed kind changes that type's structural hash. `remap_out`, when
// given, receives each old id's new id.
TypeRegistry with_kinds(const TypeRegistry& reg, const std::function<TypeKind(const Type&)>& kind_of,
                        std::vector<TypeId>* remap_out = nullptr) {
    TypeRegistry out;
    std::vector<TypeId> remap(reg.size() + 1);
    for (TypeId b = 1; b < kFirstUserType; ++b) remap[b] = b;
    for (const Type& t : reg.types()) {
        if (t.id < kFirstUserType) continue;
        std::vector<TypeId> supers;
        for (TypeId s : t.supertypes) supers.push_back(remap[s]);
        remap[t.id] = *out.add(t.name, kind_of(t), supers);
    }
    if (remap_out != nullptr) *remap_out = std::move(remap);
    return out;
}

}  // namespace

TEST_CASE("the second build hits; the table is identical either way", "[manager]") {
    testing::TempDir dir;
    Project p;
    const auto first = one_build(dir.path, {"janusc 1", 7}, p, p.inputs());
    CHECK(first.misses == 1);
    CHECK(only_miss_reason(first) == MissReason::never_seen);
    const auto second = one_build(dir.path, {"janusc 1", 7}, p, p.inputs());
    CHECK(second.hits == 1);
    CHECK(second.misses == 0);
    CHECK(p.builds == 1);
    CHECK(second.bytes_read > 0);
}

TEST_CASE("each of the seed's invalidation rules misses, with its reason", "[manager][invalidation]") {
    testing::TempDir dir;
    Project p;
    const BuildIdentity id{"janusc 1", 7};
    one_build(dir.path, id, p, p.inputs());

    SECTION("source file modified") {
        auto in = p.inputs();
        in.sources[1].content_hash = {2, 3};
        auto m = one_build(dir.path, id, p, in);
        CHECK(only_miss_reason(m) == MissReason::source_changed);
    }
    SECTION("a dependency modified (transitive hash of an importing file changes)") {
        auto in = p.inputs();
        in.sources[0].content_hash = {9, 9};
        CHECK(only_miss_reason(one_build(dir.path, id, p, in)) == MissReason::source_changed);
    }
    SECTION("type definition changed") {
        // Same names, one supertype list changed: structural hashes differ.
        testing::RandomModel changed = testing::make_random_model(77, kProjectShape);
        TypeRegistry reg = with_kinds(changed.registry, [](const Type& t) { return t.name == "T19" ? TypeKind::generic_instance : t.kind; });
        Project q;
        q.model.registry = std::move(reg);
        auto in = p.inputs();
        auto m = BuildCacheManager::create(config_in(dir.path), id);
        REQUIRE(m);
        const Explanation e = m->explain(in, q.model.registry);
        CHECK_FALSE(e.hit);
        CHECK(e.reason == MissReason::type_changed);
        CHECK(e.detail == "`T19` changed definition");
    }
    SECTION("compiler version changed") {
        auto m = one_build(dir.path, {"janusc 2", 7}, p, p.inputs());
        CHECK(only_miss_reason(m) == MissReason::compiler_changed);
    }
    SECTION("build configuration changed") {
        auto m = one_build(dir.path, {"janusc 1", 8}, p, p.inputs());
        CHECK(only_miss_reason(m) == MissReason::config_changed);
    }
    SECTION("an unrelated source change does not miss") {
        auto in = p.inputs();
        auto m = one_build(dir.path, id, p, in);
        CHECK(m.hits == 1);
    }
}

TEST_CASE("explain names the changed file, and evicted and corrupt entries", "[manager][explain]") {
    testing::TempDir dir;
    Project p;
    const BuildIdentity id{"janusc 1", 7};
    one_build(dir.path, id, p, p.inputs());
    auto m = BuildCacheManager::create(config_in(dir.path), id);
    REQUIRE(m);
    CHECK(m->explain(p.inputs(), p.model.registry).hit);

    auto in = p.inputs();
    in.sources[1].content_hash = {5, 5};
    Explanation e = m->explain(in, p.model.registry);
    CHECK(e.reason == MissReason::source_changed);
    CHECK(e.detail == "src/geometry.jn");

    in = p.inputs();
    in.sources.push_back({"src/new.jn", {1, 2}});
    e = m->explain(in, p.model.registry);
    CHECK(e.reason == MissReason::source_changed);
    CHECK(e.detail == "src/new.jn (new)");

    const CacheKey key = m->cache_key(p.inputs(), p.model.registry);
    REQUIRE(m->store()->remove(key));
    e = m->explain(p.inputs(), p.model.registry);
    CHECK(e.reason == MissReason::evicted);

    one_build(dir.path, id, p, p.inputs());  // stored again, in a pack (the session's misses are written as one)
    {
        auto stored = m->store()->get(key, AccessMode::inspect);
        REQUIRE(stored);
        CHECK(stored->location() == EntryLocation::packed);
        const std::vector<std::byte> arena(stored->view().bytes().begin(), stored->view().bytes().end());
        const std::string wanted(reinterpret_cast<const char*>(arena.data()), arena.size());
        fs::path pack_file;
        std::string pack;
        std::size_t at = std::string::npos;
        for (const auto& e : fs::directory_iterator(dir.path / "packs")) {  // the first build's pack holds an older copy
            std::ifstream in(e.path(), std::ios::binary);
            std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            if (const auto found = bytes.find(wanted); found != std::string::npos) {
                pack_file = e.path();
                pack = std::move(bytes);
                at = found;
            }
        }
        REQUIRE(at != std::string::npos);
        std::fstream f(pack_file, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(at + 200));
        f.put(static_cast<char>(pack[at + 200] ^ 0x55));
    }
    auto after = one_build(dir.path, id, p, p.inputs());
    CHECK(only_miss_reason(after) == MissReason::corrupt);
    CHECK(after.corrupt_drops == 1);
}

TEST_CASE("JANUS_CACHE_DISABLE: every call builds, nothing is written", "[manager][disabled]") {
    testing::TempDir dir;
    Project p;
    CacheConfig c = config_in(dir.path / "cache");
    c.enabled = false;
    auto m = BuildCacheManager::create(c, {"janusc 1", 7});
    REQUIRE(m);
    REQUIRE(m->startBuildSession());
    for (int i = 0; i < 3; ++i) {
        auto t = m->getOrBuildDispatchTable(p.inputs(), p.model.registry, p.builder());
        REQUIRE(t);
        CHECK(t->origin() == TableOrigin::built);
    }
    REQUIRE(m->endBuildSession());
    CHECK(p.builds == 3);
    CHECK(m->session_metrics().misses_by_reason[static_cast<std::size_t>(MissReason::disabled)] == 3);
    CHECK_FALSE(fs::exists(dir.path / "cache"));
    std::ostringstream report;
    m->generateBuildReport(report);
    CHECK(report.str().find("disabled") != std::string::npos);
}

TEST_CASE("the build report says what happened, in text and JSON", "[manager][report]") {
    testing::TempDir dir;
    Project p;
    one_build(dir.path, {"janusc 1", 7}, p, p.inputs());
    auto m = BuildCacheManager::create(config_in(dir.path), {"janusc 1", 7});
    REQUIRE(m);
    REQUIRE(m->startBuildSession());
    REQUIRE(m->getOrBuildDispatchTable(p.inputs(), p.model.registry, p.builder()));
    auto other = p.inputs();
    other.name = "another_function";
    REQUIRE(m->getOrBuildDispatchTable(other, p.model.registry, p.builder()));
    REQUIRE(m->endBuildSession());
    std::ostringstream text;
    m->generateBuildReport(text);
    const std::string r = text.str();
    CHECK(r.find("2 (1 hits, 1 misses, hit ratio 50.0%)") != std::string::npos);
    CHECK(r.find("never seen 1") != std::string::npos);
    CHECK(r.find("time saved:") != std::string::npos);
    CHECK(r.find("entries") != std::string::npos);
    const auto j = nlohmann::json::parse(m->build_report_json());
    CHECK(j["session"]["hits"] == 1);
    CHECK(j["session"]["misses"] == 1);
    CHECK(j["session"]["misses_by_reason"]["never_seen"] == 1);
    CHECK(j["schema_version"] == 2);  // snake_case reason names since schema 2
    CHECK(j["lifetime"]["lookups"] == 3);
    CHECK(j["cache"]["entries"] == 2);
}

TEST_CASE("two processes share a cache through the manager: the second gets hits", "[manager][multiprocess]") {
    testing::TempDir dir;
    Project p;
    auto run_child = [&]() {
        const pid_t pid = ::fork();
        if (pid == 0) {
            auto m = BuildCacheManager::create(config_in(dir.path), {"janusc 1", 7});
            if (!m || !m->startBuildSession()) ::_exit(2);
            auto t = m->getOrBuildDispatchTable(p.inputs(), p.model.registry, p.builder());
            if (!t || !(t->to_table() == p.model.table)) ::_exit(3);
            if (!m->endBuildSession()) ::_exit(4);
            ::_exit(m->session_metrics().hits == 1 ? 10 : 11);
        }
        int status = 0;
        ::waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    };
    CHECK(run_child() == 11);  // first process: a miss
    CHECK(run_child() == 10);  // second process: a hit
    const auto stats = nlohmann::json::parse(std::ifstream(dir.path / "stats.json"));
    CHECK(stats["lifetime"]["hits"] == 1);
    CHECK(stats["lifetime"]["misses"] == 1);
    CHECK(stats["last_session"]["hits"] == 1);
}

TEST_CASE("the serializer stores whole tables under their content key", "[serializer]") {
    testing::TempDir dir;
    Project p;
    auto s = DispatchTableSerializer::open(dir.path);
    REQUIRE(s);
    CHECK_FALSE(*s->isCached(p.model.table, p.model.registry));
    auto path = s->serializeTable(p.model.table, p.model.registry);
    REQUIRE(path);
    CHECK(fs::exists(*path));
    CHECK(*s->isCached(p.model.table, p.model.registry));
    const CacheKey key = s->calculateCacheKey(p.model.table, p.model.registry);
    auto t = s->deserializeTable(key, p.model.registry);
    REQUIRE(t);
    CHECK(t->to_table() == p.model.table);
    CHECK(t->origin() == TableOrigin::cache);

    auto miss = s->deserializeTable({1, 2}, p.model.registry);
    REQUIRE_FALSE(miss);
    CHECK(miss.error().code == ErrorCode::not_found);

    TypeRegistry empty;  // none of the table's types: stale, and dropped
    auto stale = s->deserializeTable(key, empty);
    REQUIRE_FALSE(stale);
    CHECK(stale.error().code == ErrorCode::stale);
    CHECK_FALSE(*s->isCached(p.model.table, p.model.registry));

    std::ostringstream report;
    s->generateCacheReport(report);
    CHECK(report.str().find("1 serialized") != std::string::npos);
    CHECK(report.str().find("1 stale") != std::string::npos);
    CHECK(s->getStats().deserialized == 1);
}

TEST_CASE("source inputs come from the dependency tracker; explain names the changed import", "[manager][dependencies]") {
    testing::TempDir dir;
    const fs::path src = dir.path / "src";
    fs::create_directories(src);
    std::ofstream(src / "main.jn") << "import shapes\n";
    std::ofstream(src / "shapes.jn") << "type Shape\n";
    std::ofstream(src / "other.jn") << "type Other\n";
    Project p;
    auto build = [&](int expect_hits) {
        auto m = BuildCacheManager::create(config_in(dir.path / "cache"), {"janusc 1", 7});
        REQUIRE(m);
        REQUIRE(m->startBuildSession());
        const fs::path imports[] = {src / "shapes.jn"};
        REQUIRE(m->dependencies().set_imports(src / "main.jn", imports));
        auto in = p.inputs();
        auto sources = m->source_inputs(src / "main.jn");
        REQUIRE(sources);
        CHECK(sources->size() == 2);
        in.sources = *sources;
        const Explanation e = m->explain(in, p.model.registry);
        REQUIRE(m->getOrBuildDispatchTable(in, p.model.registry, p.builder()));
        REQUIRE(m->endBuildSession());
        CHECK(m->session_metrics().hits == static_cast<std::uint64_t>(expect_hits));
        return e;
    };
    CHECK(build(0).reason == MissReason::never_seen);
    CHECK(build(1).hit);
    CHECK(fs::exists(dir.path / "cache" / "deps.jdcd"));
    std::ofstream(src / "other.jn") << "type Other : Shape\n";  // not imported: still a hit
    CHECK(build(1).hit);
    std::ofstream(src / "shapes.jn") << "type Shape\ntype Circle : Shape\n";
    const Explanation e = build(0);
    CHECK(e.reason == MissReason::source_changed);
    CHECK(e.detail == (src / "shapes.jn").string());

    auto m = BuildCacheManager::create(config_in(dir.path / "cache"), {"janusc 1", 7});
    REQUIRE(m);
    auto missing = m->source_inputs(src / "nope.jn");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == ErrorCode::not_found);
}

TEST_CASE("a changed signature and a stale entry are told apart", "[manager][explain]") {
    testing::TempDir dir;
    Project p;
    const BuildIdentity id{"janusc 1", 7};

    SECTION("signature changed") {
        one_build(dir.path, id, p, p.inputs());
        auto in = p.inputs();
        in.signature.return_type = kTypeI32;
        auto m = BuildCacheManager::create(config_in(dir.path), id);
        REQUIRE(m);
        CHECK(m->explain(in, p.model.registry).reason == MissReason::signature_changed);
    }
    SECTION("an entry that no longer binds is dropped and rebuilt as stale") {
        // An entry stored under this key by something other than the manager, without
        // a key of its own (as the seed's serializer writes by content): binding by the
        // key then refuses it, and it is dropped and rebuilt.
        auto in = p.inputs();
        {
            auto store = LocalStore::open(dir.path);
            REQUIRE(store);
            auto m0 = BuildCacheManager::create(config_in(dir.path), id);
            REQUIRE(m0);
            auto unkeyed = build_arena(p.model.table, p.model.registry);
            REQUIRE(unkeyed);
            REQUIRE(store->put({m0->cache_key(in, p.model.registry), *unkeyed, 0}));
        }
        auto m = BuildCacheManager::create(config_in(dir.path), id);
        REQUIRE(m);
        REQUIRE(m->startBuildSession());
        auto t = m->getOrBuildDispatchTable(in, p.model.registry, p.builder());
        REQUIRE(t);
        const CacheMetrics s = m->session_metrics();
        CHECK(s.misses == 1);
        CHECK(s.stale_drops == 1);
        CHECK(only_miss_reason(s) == MissReason::stale);
        CHECK(p.builds == 1);
        REQUIRE(m->endBuildSession());
        CHECK(one_build(dir.path, id, p, in).hits == 1);  // the rebuilt table, with its key
    }
}

TEST_CASE("stored tables carry the compressed dispatch table; the builder's matrix is reused", "[manager][forms]") {
    testing::TempDir dir;
    Project p;
    auto matrix = DispatchMatrix::build(p.model.table, p.model.registry);
    REQUIRE(matrix);
    int matrices_given = 0;
    TableBuilder with_matrix = [&](const TableInputs&, const TypeRegistry&) -> Result<BuiltTable> {
        ++matrices_given;
        return BuiltTable{p.model.table, {}, *matrix};
    };
    for (bool compression : {true, false}) {
        CAPTURE(compression);
        CacheConfig config = config_in(dir.path / (compression ? "on" : "off"));
        config.enable_compression = compression;
        auto m = BuildCacheManager::create(config, {"janusc 1", 7});
        REQUIRE(m);
        REQUIRE(m->startBuildSession());
        auto built = m->getOrBuildDispatchTable(p.inputs(), p.model.registry, with_matrix);
        REQUIRE(built);
        auto hit = m->getOrBuildDispatchTable(p.inputs(), p.model.registry, with_matrix);
        REQUIRE(hit);
        CHECK(hit->bound().has_form(DispatchForm::compressed_table) == compression);
        CHECK((hit->bound().view().optimization_type() != OptimizationType::none) == compression);
        testing::for_each_tuple(p.model.user_types, 2, [&](std::span<const TypeId> args) {
            CHECK(hit->bound().lookup(args).same_outcome(resolve_reference(p.model.table, p.model.registry, args)));
        });
        REQUIRE(m->endBuildSession());
    }
    CHECK(matrices_given == 2);

    // A matrix of another table is refused, not stored.
    const testing::RandomModel other = testing::make_random_model(5, {20, 2, 2, 7, true});
    auto wrong = DispatchMatrix::build(other.table, other.registry);
    REQUIRE(wrong);
    auto m = BuildCacheManager::create(config_in(dir.path / "wrong"), {"janusc 1", 7});
    REQUIRE(m);
    auto r = m->getOrBuildDispatchTable(p.inputs(), p.model.registry,
                                        [&](const TableInputs&, const TypeRegistry&) -> Result<BuiltTable> {
                                            return BuiltTable{p.model.table, {}, *wrong};
                                        });
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::invalid_argument);
}

// The rule of bench/RESULTS.md ("Dispatch forms"): the scan alone below
// DispatchForms::kMinEntriesForTable implementations, the compressed table from there
// up, at every arity the bench measured; and the header says what the arena holds.
// A test of the rule, not of timings.
TEST_CASE("stored tables get the form the bench chose for their size, and their header says what they hold", "[manager][forms]") {
    testing::TempDir dir;
    CHECK(DispatchForms::kMinEntriesForTable == 6);  // the crossover measured by bench_dispatch (BM_Form*)
    OptimizationResult claimed;  // a builder claiming what the arena will not hold
    claimed.type = OptimizationType::combined;
    claimed.compression_ratio = 0.25;
    claimed.memory_saved = 4096;
    auto m = BuildCacheManager::create(config_in(dir.path), {"janusc 1", 7});
    REQUIRE(m);
    REQUIRE(m->startBuildSession());
    for (std::uint32_t arity = 1; arity <= 3; ++arity)
        for (std::uint32_t n : {1u, 2u, 5u, 6u, 7u, 8u, 16u, 32u}) {
            CAPTURE(arity, n);
            const auto model = testing::make_random_model(500 + 40 * arity + n, {12, 2, arity, n, true});
            TableInputs in;
            in.name = "forms_" + std::to_string(arity) + "_" + std::to_string(n);
            in.signature = model.table.signature;
            in.methods = method_inputs(model.table);
            auto t = m->getOrBuildDispatchTable(in, model.registry, [&](const TableInputs&, const TypeRegistry&) -> Result<BuiltTable> {
                return BuiltTable{model.table, claimed};
            });
            REQUIRE(t);
            const bool table = n >= DispatchForms::kMinEntriesForTable;
            const ArenaView& view = t->bound().view();
            CHECK(view.has_dispatch_index() == table);
            CHECK(DispatchForms::wants_table(n) == table);
            if (table) {
                CHECK(view.optimization_type() != OptimizationType::none);
            } else {
                CHECK(view.optimization_type() == OptimizationType::none);
                CHECK(view.compression_ratio() == 1.0);
                CHECK(view.memory_saved() == 0);
            }
            testing::for_each_tuple(model.user_types, arity, [&](std::span<const TypeId> args) {
                CHECK(t->bound().lookup(args).same_outcome(resolve_reference(model.table, model.registry, args)));
            });
        }
    REQUIRE(m->endBuildSession());
}

TEST_CASE("large tables are stored with the configured payload codec and served raw", "[manager][compression]") {
    testing::TempDir dir;
    Project p;
    p.model = testing::make_random_model(78, {40, 2, 1, 1000, true});  // ~80 KiB: over the 64 KiB threshold
    const auto stored_codecs = [](const fs::path& root) {
        std::vector<PayloadCodec> codecs;
        for (const auto& e : fs::recursive_directory_iterator(root / "objects")) {
            if (!e.is_regular_file()) continue;
            std::ifstream in(e.path(), std::ios::binary);
            std::vector<char> head(arena::kCompressedHeaderSize);
            in.read(head.data(), static_cast<std::streamsize>(head.size()));
            codecs.push_back(payload_codec_of(std::as_bytes(std::span(head))));
        }
        return codecs;
    };
    for (auto [choice, want] : {std::pair{CodecChoice::automatic, PayloadCodec::lz4}, std::pair{CodecChoice::zstd, PayloadCodec::zstd},
                                std::pair{CodecChoice::none, PayloadCodec::none}}) {
        CAPTURE(to_string(choice));
        const fs::path root = dir.path / std::string(to_string(choice));
        CacheConfig config = config_in(root);
        config.compression_codec = choice;
        for (int session = 0; session < 2; ++session) {
            auto m = BuildCacheManager::create(config, {"janusc 1", 7});
            REQUIRE(m);
            REQUIRE(m->startBuildSession());
            auto t = m->getOrBuildDispatchTable(p.inputs(), p.model.registry, p.builder());
            REQUIRE(t);
            CHECK(t->to_table() == p.model.table);
            std::uint64_t checked = 0;
            testing::for_each_tuple(p.model.user_types, 1, [&](std::span<const TypeId> args) {
                if (++checked % 7 == 0)
                    CHECK(t->bound().lookup(args).same_outcome(resolve_reference(p.model.table, p.model.registry, args)));
            });
            REQUIRE(m->endBuildSession());
            CHECK(m->session_metrics().hits == (session == 0 ? 0u : 1u));
        }
        if (want == PayloadCodec::none) {  // small enough for the session's pack, raw
            CHECK(stored_codecs(root).empty());
            CHECK(std::distance(fs::directory_iterator(root / "packs"), fs::directory_iterator()) == 1);
        } else {  // compressed tables stay loose files
            CHECK(stored_codecs(root) == std::vector<PayloadCodec>{want});
        }
    }
}

namespace {

// The encoding of cache-directory-v1.md §4.1, written here from the spec alone.
struct SpecEncoding {
    std::string bytes;
    void u8(std::uint8_t v) { bytes.push_back(static_cast<char>(v)); }
    void u32(std::uint32_t v) { bytes.append(reinterpret_cast<const char*>(&v), 4); }
    void u64(std::uint64_t v) { bytes.append(reinterpret_cast<const char*>(&v), 8); }
    void str(std::string_view s) {
        u32(static_cast<std::uint32_t>(s.size()));
        bytes.append(s);
    }
};

CacheKey spec_key(const BuildIdentity& id, const TableInputs& in, const TypeRegistry& reg) {
    const auto sh = [&](TypeId t) { return t == kInvalidType ? 0 : reg.find(t)->structural_hash; };
    SpecEncoding e;
    e.str("jdc table key");
    e.u32(0x00020000);
    e.str(id.compiler_version);
    e.u64(id.config_hash);
    e.str(in.name);
    e.u32(static_cast<std::uint32_t>(in.signature.parameter_types.size()));
    for (TypeId t : in.signature.parameter_types) e.u64(sh(t));
    e.u64(sh(in.signature.return_type));
    for (TypeId t : in.signature.parameter_types) e.u64(reg.domain(t).digest());
    e.u8(in.methods_known ? 1 : 0);
    e.u32(static_cast<std::uint32_t>(in.methods.size()));
    for (const MethodInput& m : in.methods) {
        e.str(m.name);
        e.str(m.module);
        e.u32(m.id);
        e.u32(static_cast<std::uint32_t>(m.parameter_types.size()));
        for (TypeId t : m.parameter_types) e.u64(sh(t));
        e.u64(sh(m.return_type));
        e.u32(m.effects);
        e.str(m.file);
        e.u32(m.line);
        e.u32(m.column);
    }
    std::vector<SourceInput> sources = in.sources;
    std::sort(sources.begin(), sources.end(), [](const SourceInput& a, const SourceInput& b) { return a.path < b.path; });
    e.u32(static_cast<std::uint32_t>(sources.size()));
    for (const SourceInput& src : sources) {
        e.str(src.path);
        e.u64(src.content_hash.hi);
        e.u64(src.content_hash.lo);
    }
    const XXH128_hash_t d = XXH3_128bits(e.bytes.data(), e.bytes.size());
    return {d.high64, d.low64};
}

}  // namespace

TEST_CASE("the cache key is XXH3-128 of the encoding the spec gives, small or large", "[manager][key]") {
    testing::TempDir dir;
    Project p;
    const BuildIdentity id{"janusc 1", 7};
    auto m = BuildCacheManager::create(config_in(dir.path), id);
    REQUIRE(m);
    TableInputs in = p.inputs();
    CHECK(m->cache_key(in, p.model.registry) == spec_key(id, in, p.model.registry));
    in.sources = {{"src/z.jn", {1, 2}}, {"src/a.jn", {3, 4}}};  // sorted by path in the key
    CHECK(m->cache_key(in, p.model.registry) == spec_key(id, in, p.model.registry));
    // Past the size hashed in one call on the stack: the same encoding, streamed.
    const std::string long_file(600, 'f');
    for (MethodInput& method : in.methods) method.file = long_file;
    while (in.methods.size() < 40) in.methods.push_back(in.methods.back());
    CHECK(m->cache_key(in, p.model.registry) == spec_key(id, in, p.model.registry));
}

TEST_CASE("the cache key covers the methods and the domains, and nothing else", "[manager][key]") {
    testing::TempDir dir;
    Project p;
    auto m = BuildCacheManager::create(config_in(dir.path), {"janusc 1", 7});
    REQUIRE(m);
    const TableInputs in = p.inputs();
    const CacheKey key = m->cache_key(in, p.model.registry);
    const auto differs = [&](const TableInputs& other, const TypeRegistry& reg) { return m->cache_key(other, reg) != key; };

    // Each field of a method is in the key.
    TableInputs moved = in;
    moved.methods[2].line += 1;
    CHECK(differs(moved, p.model.registry));
    TableInputs column = in;
    column.methods[2].column += 1;
    CHECK(differs(column, p.model.registry));
    TableInputs module = in;
    module.methods[0].module = "elsewhere";
    CHECK(differs(module, p.model.registry));
    TableInputs effects = in;
    effects.methods[1].effects ^= 1;
    CHECK(differs(effects, p.model.registry));
    TableInputs fewer = in;
    fewer.methods.pop_back();
    CHECK(differs(fewer, p.model.registry));
    const std::vector<TypeId> other_params = {p.model.root, p.model.root};
    TableInputs retyped = in;
    retyped.methods[4].parameter_types = other_params;
    CHECK(differs(retyped, p.model.registry));
    TableInputs unknown = in;
    unknown.methods_known = false;
    unknown.methods.clear();
    CHECK(differs(unknown, p.model.registry));

    // A type added below the declared (root) type changes its domain, hence the key;
    // the same registry renumbered does not.
    TypeRegistry grown = p.model.registry;
    REQUIRE(grown.add("Late", TypeKind::struct_, std::vector<TypeId>{p.model.root}));
    CHECK(differs(in, grown));
    CHECK_FALSE(differs(in, TypeRegistry(p.model.registry)));
}

TEST_CASE("a type added outside a table's domains keeps its key, whatever ids shift", "[manager][key]") {
    // Two hierarchies: `Shape` (the table's) and `Noise`. Types added under Noise, before
    // and after Shape's types in id order, shift every id after them.
    auto registry_with = [](int noise_before, int noise_after) {
        TypeRegistry r;
        TypeId noise = *r.add("Noise", TypeKind::struct_);
        for (int i = 0; i < noise_before; ++i) noise = *r.add("NoiseA" + std::to_string(i), TypeKind::struct_, std::vector<TypeId>{noise});
        const TypeId shape = *r.add("Shape", TypeKind::struct_);
        (void)*r.add("Circle", TypeKind::struct_, std::vector<TypeId>{shape});
        for (int i = 0; i < noise_after; ++i) (void)*r.add("NoiseB" + std::to_string(i), TypeKind::struct_, std::vector<TypeId>{noise});
        return r;
    };
    auto table_in = [](const TypeRegistry& r) {
        DispatchTable t;
        t.signature_name = "area";
        t.signature = {{r.find("Shape")}, kTypeF64};
        for (const char* type : {"Shape", "Circle"}) {
            Implementation impl;
            impl.function = {"area", "geometry", static_cast<std::uint32_t>(t.implementations.size())};
            impl.parameter_types = {r.find(type)};
            impl.return_type = kTypeF64;
            impl.location = {"geometry.jn", 3 + static_cast<std::uint32_t>(t.implementations.size()), 1};
            t.implementations.push_back(impl);
        }
        return t;
    };
    testing::TempDir dir;
    std::vector<std::vector<std::byte>> arenas;
    CacheKey first;
    for (auto [before, after] : {std::pair{0, 0}, std::pair{3, 0}, std::pair{0, 5}, std::pair{7, 2}}) {
        const TypeRegistry r = registry_with(before, after);
        const DispatchTable t = table_in(r);
        TableInputs in;
        in.name = "area";
        in.signature = t.signature;
        in.methods = method_inputs(t);
        auto m = BuildCacheManager::create(config_in(dir.path), {"janusc 1", 7});
        REQUIRE(m);
        REQUIRE(m->startBuildSession());
        int builds = 0;
        auto got = m->getOrBuildDispatchTable(in, r, [&](const TableInputs&, const TypeRegistry&) -> Result<BuiltTable> {
            ++builds;
            return BuiltTable{t, {}};
        });
        REQUIRE(got);
        CHECK(got->to_table() == t);  // bound to this registry's ids, whichever wrote it
        REQUIRE(m->endBuildSession());
        if (before + after == 0) {
            first = got->key();
            CHECK(builds == 1);
        } else {
            CHECK(got->key() == first);
            CHECK(builds == 0);
        }
        // What the builder writes under the key is the same bytes, apart from the time.
        auto bytes = build_arena(t, r, {}, ArenaBuildOptions(1, DispatchForms::all()));
        REQUIRE(bytes);
        arenas.push_back(*bytes);
    }
    for (const auto& a : arenas) CHECK(a == arenas.front());
}

TEST_CASE("a session's tables are written behind as one pack; a dropped manager still writes them", "[manager][write-behind]") {
    testing::TempDir dir;
    std::vector<testing::RandomModel> models;
    for (std::uint64_t i = 0; i < 12; ++i) models.push_back(testing::make_random_model(300 + i, {15, 2, 2, 8, true}));
    const auto inputs_of = [&](std::size_t i) {
        TableInputs in;
        in.name = "generic_" + std::to_string(i);
        in.signature = models[i].table.signature;
        in.methods = method_inputs(models[i].table);
        return in;
    };
    const auto builder_of = [&](std::size_t i) -> TableBuilder {
        return [&, i](const TableInputs&, const TypeRegistry&) -> Result<BuiltTable> { return BuiltTable{models[i].table, {}}; };
    };
    {
        auto m = BuildCacheManager::create(config_in(dir.path), {"janusc 1", 7});
        REQUIRE(m);
        REQUIRE(m->startBuildSession());
        for (std::size_t i = 0; i < models.size(); ++i) REQUIRE(m->getOrBuildDispatchTable(inputs_of(i), models[i].registry, builder_of(i)));
        // Queued, not yet written; asked again, served from the queue.
        CHECK(m->store()->stats().index.live_count == 0);
        auto again = m->getOrBuildDispatchTable(inputs_of(3), models[3].registry, builder_of(3));
        REQUIRE(again);
        CHECK(again->to_table() == models[3].table);
        CHECK(m->session_metrics().hits == 1);
        // Destroyed without endBuildSession(): the tables are written anyway.
    }
    auto store = LocalStore::open(dir.path);
    REQUIRE(store);
    CHECK(store->stats().pack_count == 1);
    CHECK(store->stats().index.live_count == models.size());
    CHECK(store->loose_entry_count() == 0);

    // The next session hits every table, and a changed one is explained from the inputs log.
    auto m = BuildCacheManager::create(config_in(dir.path), {"janusc 1", 7});
    REQUIRE(m);
    REQUIRE(m->startBuildSession());
    for (std::size_t i = 0; i < models.size(); ++i) REQUIRE(m->getOrBuildDispatchTable(inputs_of(i), models[i].registry, builder_of(i)));
    CHECK(m->session_metrics().hits == models.size());
    TableInputs changed = inputs_of(5);
    changed.sources = {{"src/five.jn", {9, 9}}};
    const Explanation e = m->explain(changed, models[5].registry);
    CHECK(e.reason == MissReason::source_changed);
    CHECK(e.detail == "src/five.jn (new)");
    auto recorded = find_recorded_inputs(dir.path, m->cache_key(inputs_of(5), models[5].registry));
    REQUIRE(recorded);
    CHECK(recorded->name == "generic_5");
    CHECK(recorded->miss_reason == "never seen");
    REQUIRE(m->endBuildSession());
}

TEST_CASE("a type change in a domain too large to list inline is explained from its domain record", "[manager][explain]") {
    testing::TempDir dir;
    Project p;
    p.model = testing::make_random_model(81, {45, 2, 2, 30, true});  // 46 types under the root: a domain record
    REQUIRE(p.model.registry.domain(p.model.root).size() > 32);
    const BuildIdentity id{"janusc 1", 7};
    one_build(dir.path, id, p, p.inputs());

    // The same hierarchy with one type's kind changed: its structural hash differs.
    const TypeRegistry edited = with_kinds(p.model.registry, [](const Type& t) { return t.name == "T30" ? TypeKind::generic_instance : t.kind; });
    auto m = BuildCacheManager::create(config_in(dir.path), id);
    REQUIRE(m);
    Explanation e = m->explain(p.inputs(), edited);
    CHECK_FALSE(e.hit);
    CHECK(e.reason == MissReason::type_changed);
    CHECK(e.detail == "`T30` changed definition");
    CHECK(m->explain(p.inputs(), p.model.registry).hit);

    // A new subtype is named with the type it joined.
    TypeRegistry grown = p.model.registry;
    REQUIRE(grown.add("Disk", TypeKind::struct_, std::vector<TypeId>{p.model.user_types[7]}));
    e = m->explain(p.inputs(), grown);
    CHECK(e.reason == MissReason::type_changed);
    CHECK(e.detail == "`" + p.model.registry.find(p.model.user_types[7])->name + "` gained subtype `Disk`");

    // Without the domain record (a log from elsewhere), the size still says what changed.
    {
        std::ifstream in(dir.path / "inputs.jdcl");
        std::string kept, line;
        while (std::getline(in, line))
            if (line.find("\"name\":\"domain:") == std::string::npos) kept += line + "\n";
        std::ofstream(dir.path / "inputs.jdcl", std::ios::trunc) << kept;
    }
    auto fresh = BuildCacheManager::create(config_in(dir.path), id);
    REQUIRE(fresh);
    e = fresh->explain(p.inputs(), grown);
    CHECK(e.detail == "the domain of `Root` changed (46 types, now 47)");
}

TEST_CASE("methods added, removed and moved are named", "[manager][explain]") {
    testing::TempDir dir;
    Project p;
    const BuildIdentity id{"janusc 1", 7};
    one_build(dir.path, id, p, p.inputs());
    auto m = BuildCacheManager::create(config_in(dir.path), id);
    REQUIRE(m);
    const std::string text = p.model.table.implementations[3].function.name + "(" +
                             p.model.registry.find(p.model.table.implementations[3].parameter_types[0])->name + ", " +
                             p.model.registry.find(p.model.table.implementations[3].parameter_types[1])->name + ") -> ";
    TableInputs fewer = p.inputs();
    fewer.methods.erase(fewer.methods.begin() + 3);
    Explanation e = m->explain(fewer, p.model.registry);
    CHECK(e.reason == MissReason::methods_changed);
    CHECK(e.detail.rfind("method `" + text, 0) == 0);
    CHECK(e.detail.find("` removed from `" + p.model.table.implementations[3].function.module + "`") != std::string::npos);

    TableInputs moved = p.inputs();
    moved.methods[3].line = 4242;
    e = m->explain(moved, p.model.registry);
    CHECK(e.reason == MissReason::methods_changed);
    CHECK(e.detail.find(" moved to " + p.model.table.implementations[3].location.file + ":4242:") != std::string::npos);

    TableInputs other_module = p.inputs();
    other_module.methods[3].module = "geometry.new";
    e = m->explain(other_module, p.model.registry);
    CHECK(e.detail.find("` to `geometry.new`") != std::string::npos);

    TableInputs signature = p.inputs();
    signature.signature.return_type = kTypeI32;
    e = m->explain(signature, p.model.registry);
    CHECK(e.reason == MissReason::signature_changed);
    CHECK(e.detail.find("now `" + p.model.table.signature_name + "(Root, Root) -> i32`") != std::string::npos);
}

TEST_CASE("threads looking tables up while the write-behind queue is flushed get the same tables", "[manager][write-behind][threads]") {
    testing::TempDir dir;
    std::vector<testing::RandomModel> models;
    for (std::uint64_t i = 0; i < 60; ++i) models.push_back(testing::make_random_model(400 + i, {12, 2, 2, 6, true}));
    CacheConfig config = config_in(dir.path);
    config.write_behind_tables = 7;  // flushes all the time, while other threads look up
    auto m = BuildCacheManager::create(config, {"janusc 1", 7});
    REQUIRE(m);
    REQUIRE(m->startBuildSession());
    std::atomic<int> wrong{0}, failed{0}, built{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int round = 0; round < 3; ++round)
                for (std::size_t k = 0; k < models.size(); ++k) {
                    const std::size_t i = (k * 7 + static_cast<std::size_t>(t) * 13) % models.size();
                    TableInputs in;
                    in.name = "generic_" + std::to_string(i);
                    in.signature = models[i].table.signature;
                    in.methods = method_inputs(models[i].table);
                    auto table = m->getOrBuildDispatchTable(in, models[i].registry, [&, i](const TableInputs&, const TypeRegistry&) -> Result<BuiltTable> {
                        ++built;
                        return BuiltTable{models[i].table, {}};
                    });
                    if (!table) ++failed;
                    else if (!(table->to_table() == models[i].table)) ++wrong;
                }
        });
    for (auto& th : threads) th.join();
    REQUIRE(m->endBuildSession());
    CHECK(failed == 0);
    CHECK(wrong == 0);
    CHECK(built >= 60);
    CHECK(built <= 60 * 4);  // at most each thread builds a table once before it is queued
    auto store = LocalStore::open(dir.path);
    REQUIRE(store);
    CHECK(store->stats().index.live_count == models.size());
    CHECK(m->session_metrics().store_errors == 0);
}

TEST_CASE("the cache's log goes to the sink the compiler gives; the default prints only with JANUS_CACHE_VERBOSE", "[manager][log]") {
    testing::TempDir dir;
    Project p;
    const BuildIdentity id{"janusc 1", 7};
    auto session = [&](BuildCacheManager& m) {
        REQUIRE(m.startBuildSession());
        REQUIRE(m.getOrBuildDispatchTable(p.inputs(), p.model.registry, p.builder()));
        REQUIRE(m.endBuildSession());
    };
    auto contains_line = [](const std::vector<std::string>& lines, const std::string& start) {
        return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.rfind(start, 0) == 0; });
    };

    std::vector<std::string> lines;
    {
        auto m = BuildCacheManager::create(config_in(dir.path), id, [&](const std::string& line) { lines.push_back(line); });
        REQUIRE(m);
        session(*m);
    }
    CHECK(contains_line(lines, "jdc-cache: build session started"));
    const BuildIdentity same = id;
    auto keyed = BuildCacheManager::create(config_in(dir.path / "elsewhere"), same);
    REQUIRE(keyed);
    CHECK(contains_line(lines, "jdc-cache: miss " + p.inputs().name + " " + keyed->cache_key(p.inputs(), p.model.registry).to_hex() + " (never seen)"));
    CHECK(contains_line(lines, "jdc-cache: stored 1 tables as one pack"));
    CHECK(contains_line(lines, "jdc-cache: build session ended: 0 hits, 1 misses"));
    for (const std::string& l : lines) CHECK(l.find('\n') == std::string::npos);

    lines.clear();
    {
        auto m = BuildCacheManager::create(config_in(dir.path), id, [&](const std::string& line) { lines.push_back(line); });
        REQUIRE(m);
        session(*m);
    }
    CHECK(contains_line(lines, "jdc-cache: hit " + p.inputs().name + " "));

    // The default sink: stderr when verbose, and nothing at all otherwise.
    CacheConfig quiet = config_in(dir.path);
    quiet.verbose = false;
    CHECK_FALSE(default_log_sink(quiet));
    CacheConfig verbose = quiet;
    verbose.verbose = true;
    std::ostringstream captured;
    {
        struct Capture {  // restores std::cerr even when a REQUIRE below throws
            std::streambuf* old;
            ~Capture() { std::cerr.rdbuf(old); }
        } capture{std::cerr.rdbuf(captured.rdbuf())};
        auto m = BuildCacheManager::create(verbose, id);
        REQUIRE(m);
        session(*m);
        auto silent = BuildCacheManager::create(quiet, id);
        REQUIRE(silent);
        session(*silent);
    }
    const std::string text = captured.str();
    CHECK(text.find("jdc-cache: hit " + p.inputs().name) != std::string::npos);
    // One session printed its start: the verbose one.
    std::size_t starts = 0;
    for (std::size_t at = text.find("build session started"); at != std::string::npos; at = text.find("build session started", at + 1)) ++starts;
    CHECK(starts == 1);
}
