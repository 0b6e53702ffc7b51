// Call sites resolved over the cone of their static argument types: the oracle's
// answers on a known program, the resolver the build uses (through the table's
// compressed form) against the oracle with tables built, loaded from the cache and
// built without it, and the summary lines and warnings they give.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "janusc/call_sites.hpp"
#include "janusc/dispatch.hpp"
#include "janusc/generator.hpp"
#include "janusc/parser.hpp"
#include "janusc/program.hpp"
#include "jdc/build_cache_manager.hpp"
#include "jdc/cache_config.hpp"
#include "support/cone_oracle.hpp"
#include "support/temp_dir.hpp"

using namespace janusc;
using janusc::testing::resolve_cone_reference;

namespace {

using Files = std::map<std::string, std::string>;  // path -> source

Program program_of(const Files& files) {
    std::vector<SourceModule> modules;
    for (const auto& [path, text] : files) {
        auto m = parse_module(text, path);
        REQUIRE(m);
        modules.push_back({path, std::move(*m)});
    }
    auto p = analyze(std::move(modules));
    if (!p)
        for (const Diagnostic& d : p.error()) UNSCOPED_INFO(d.to_string());
    REQUIRE(p);
    return std::move(*p);
}

// The example of docs/janus-language.md, with calls.
const Files kShapes = {
    {"core/base.jn", "module core.base\ntype Any\ntype Value : Any\n"},
    {"geometry/shapes.jn",
     "module geometry.shapes\n"                                      // 1
     "import core.base\n"                                            // 2
     "type Shape : Any\n"                                            // 3
     "type Polygon : Shape\n"                                        // 4
     "type Circle : Shape\n"                                         // 5
     "type Square : Polygon, Value\n"                                // 6
     "generic area(s: Shape) -> f64\n"                               // 7
     "generic collide(a: Shape, b: Shape) -> bool\n"                 // 8
     "func area(s: Circle) -> f64 { return 3.14159 }\n"              // 9
     "func area(s: Polygon) -> f64 { return 1 }\n"                   // 10
     "func collide(a: Circle, b: Shape) -> bool { return 1 }\n"      // 11
     "func collide(a: Shape, b: Circle) -> bool { return 2 }\n"      // 12
     "generic use(s: Shape, c: Circle, q: Square) -> f64\n"          // 13
     "func use(s: Shape, c: Circle, q: Square) -> f64 {\n"           // 14
     "    area(c)\n"                                                 // 15: static, area(s: Circle)
     "    area(q)\n"                                                 // 16: static, area(s: Polygon)
     "    area(s)\n"                                                 // 17: dynamic, 2 methods; no method for (Shape)
     "    collide(c, c)\n"                                           // 18: ambiguous
     "    collide(s, s)\n"                                           // 19: dynamic; ambiguous and no method
     "    collide(q, c)\n"                                           // 20: static, collide(a: Shape, b: Circle)
     "    return 0\n"
     "}\n"}};

std::vector<jdc::TypeId> types(const Program& p, std::initializer_list<const char*> names) {
    std::vector<jdc::TypeId> out;
    for (const char* n : names) out.push_back(p.registry.find(n));
    return out;
}

const Generic& generic_named(const Program& p, const std::string& name) {
    for (const Generic& g : p.generics)
        if (g.name == name) return g;
    FAIL("no generic function " << name);
    return p.generics.front();
}

jdc::DispatchTable table_of(const Program& p, const std::string& name, OptLevel level = OptLevel::hot_path) {
    auto built = build_dispatch_table(p, generic_named(p, name), level);
    REQUIRE(built);
    return built->table;
}

// "f(a: T)" of a table entry, as warnings quote it.
std::string entry(const Program& p, const std::string& name, const jdc::DispatchTable& t, std::uint32_t i) {
    return method_text(p, generic_named(p, name), t.implementations[i]);
}

std::string tuple(const Program& p, const TypeTuple& t) {
    std::string s;
    for (jdc::TypeId id : t.types()) s += (s.empty() ? "" : ", ") + p.type_name(id);
    return "(" + s + ")";
}

// Every table of `p` as the build gets it: through a cache manager, as CachedTables.
// Without a cache directory the cache is disabled (--no-cache: every table built);
// with one, tables the directory holds are loaded, the others built and stored when
// the session ends (finish()).
struct Tables {
    jdc::BuildCacheManager manager;
    std::vector<jdc::CachedTable> tables;

    static jdc::BuildCacheManager started_manager(const std::optional<std::filesystem::path>& cache) {
        jdc::CacheConfig config;
        config.enabled = cache.has_value();
        if (cache) config.cache_directory = *cache;
        auto m = jdc::BuildCacheManager::create(config, {"janusc test", 1});
        REQUIRE(m);
        REQUIRE(m->startBuildSession());
        return std::move(*m);
    }

    Tables(const Program& p, OptLevel level, const std::optional<std::filesystem::path>& cache = std::nullopt)
        : manager(started_manager(cache)) {
        for (const Generic& g : p.generics) {
            auto t = manager.getOrBuildDispatchTable(table_inputs(p, g), p.registry, [&](const jdc::TableInputs&, const jdc::TypeRegistry&) {
                return build_dispatch_table(p, g, level);
            });
            REQUIRE(t);
            tables.push_back(std::move(*t));
        }
    }
    void finish() { REQUIRE(manager.endBuildSession()); }
    std::size_t from(jdc::TableOrigin origin) const {
        return static_cast<std::size_t>(std::count_if(tables.begin(), tables.end(), [&](const jdc::CachedTable& t) { return t.origin() == origin; }));
    }
    std::vector<const jdc::CachedTable*> pointers() const {
        std::vector<const jdc::CachedTable*> out;
        for (const jdc::CachedTable& t : tables) out.push_back(&t);
        return out;
    }
};

}  // namespace

TEST_CASE("the oracle: statically resolved, dynamic, and the witnesses of each warning") {
    const Program p = program_of(kShapes);
    const jdc::DispatchTable area = table_of(p, "area"), collide = table_of(p, "collide");

    SECTION("a concrete argument type: one tuple, one method") {
        const CallSiteAnswer a = resolve_cone_reference(area, p, types(p, {"Circle"}));
        CHECK(a.tuples == 1);
        CHECK(a.resolved_statically());
        CHECK_FALSE(a.dynamic());
        CHECK(entry(p, "area", area, a.method) == "area(s: Circle)");
        // Square is a Polygon: the most specific applicable method is area(s: Polygon).
        const CallSiteAnswer sq = resolve_cone_reference(area, p, types(p, {"Square"}));
        CHECK(sq.resolved_statically());
        CHECK(entry(p, "area", area, sq.method) == "area(s: Polygon)");
    }
    SECTION("an abstract argument type: every subtype, several methods, and a tuple without one") {
        const CallSiteAnswer a = resolve_cone_reference(area, p, types(p, {"Shape"}));
        CHECK(a.tuples == 4);  // Shape, Polygon, Circle, Square
        CHECK(a.methods_reachable == 2);
        CHECK(a.dynamic());
        CHECK_FALSE(a.resolved_statically());
        CHECK_FALSE(a.ambiguity);
        REQUIRE(a.no_method);
        CHECK(tuple(p, *a.no_method) == "(Shape)");
    }
    SECTION("an ambiguous tuple: the pair in source order") {
        const CallSiteAnswer a = resolve_cone_reference(collide, p, types(p, {"Circle", "Circle"}));
        CHECK(a.tuples == 1);
        CHECK(a.methods_reachable == 0);
        REQUIRE(a.ambiguity);
        CHECK(tuple(p, a.ambiguity->tuple) == "(Circle, Circle)");
        CHECK(entry(p, "collide", collide, a.ambiguity->first) == "collide(a: Circle, b: Shape)");
        CHECK(entry(p, "collide", collide, a.ambiguity->second) == "collide(a: Shape, b: Circle)");
        CHECK_FALSE(a.no_method);
    }
    SECTION("both warnings; witnesses are the first tuples in cone order") {
        const CallSiteAnswer a = resolve_cone_reference(collide, p, types(p, {"Shape", "Shape"}));
        CHECK(a.tuples == 16);
        CHECK(a.methods_reachable == 2);
        REQUIRE(a.ambiguity);
        // (Shape|Polygon, Circle) resolve; (Circle, Circle) is the first ambiguous tuple,
        // (Square, Circle) the other: the first argument varies slowest.
        CHECK(tuple(p, a.ambiguity->tuple) == "(Circle, Circle)");
        REQUIRE(a.no_method);
        CHECK(tuple(p, *a.no_method) == "(Shape, Shape)");
    }
    SECTION("the same answers whatever the table's layout (--opt-level reorders its entries)") {
        const jdc::DispatchTable source_order = table_of(p, "collide", OptLevel::none);
        for (const auto& args : {types(p, {"Shape", "Shape"}), types(p, {"Circle", "Circle"}), types(p, {"Square", "Circle"})}) {
            const CallSiteAnswer a = resolve_cone_reference(collide, p, args), b = resolve_cone_reference(source_order, p, args);
            CHECK(a.tuples == b.tuples);
            CHECK(a.methods_reachable == b.methods_reachable);
            CHECK(a.no_method == b.no_method);
            REQUIRE(bool(a.ambiguity) == bool(b.ambiguity));
            if (a.ambiguity) {
                CHECK(a.ambiguity->tuple == b.ambiguity->tuple);
                CHECK(entry(p, "collide", collide, a.ambiguity->first) == entry(p, "collide", source_order, b.ambiguity->first));
                CHECK(entry(p, "collide", collide, a.ambiguity->second) == entry(p, "collide", source_order, b.ambiguity->second));
            }
            if (a.resolved_statically())
                CHECK(entry(p, "collide", collide, a.method) == entry(p, "collide", source_order, b.method));
        }
    }
}

TEST_CASE("competing methods are the most specific applicable ones, first in source order") {
    // (C, C): f(A, C) and f(C, A) are applicable and unordered, and so is f(B, C), which is
    // more specific than f(A, C): the pair is f(B, C) and f(C, A), not the first two found.
    const Program p = program_of({{"a.jn",
                                   "module a\ntype A\ntype B : A\ntype C : B\ngeneric f(x: A, y: A) -> f64\n"
                                   "func f(x: C, y: A) -> f64 { return 1 }\nfunc f(x: A, y: C) -> f64 { return 1 }\n"
                                   "func f(x: B, y: C) -> f64 { return 1 }\n"}});
    const jdc::DispatchTable t = table_of(p, "f", OptLevel::none);
    const auto [first, second] = competing_methods(t, p.registry, types(p, {"C", "C"}));
    CHECK(entry(p, "f", t, first) == "f(x: C, y: A)");
    CHECK(entry(p, "f", t, second) == "f(x: B, y: C)");
}

TEST_CASE("the build's resolver answers every call as the oracle does, with tables built, cached and uncached") {
    // Generated programs: arity 1-3, diamonds, the long tail; every static type tuple of
    // the smaller functions, and every call site of all of them. Tables come three ways:
    // built with the cache on (cold), loaded from it (warm), built with it off; those
    // with 8 methods or more carry the compressed table, the others are scanned.
    Files files;
    for (const GeneratedFile& f : generate_project({150, 5}).files) files[f.path] = f.text;
    const Program p = program_of(files);
    jdc::testing::TempDir dir;
    Tables cold(p, OptLevel::hot_path, dir.path / "cache");
    cold.finish();
    const Tables warm(p, OptLevel::hot_path, dir.path / "cache");
    const Tables uncached(p, OptLevel::hot_path);
    REQUIRE(cold.from(jdc::TableOrigin::built) == p.generics.size());
    REQUIRE(warm.from(jdc::TableOrigin::cache) == p.generics.size());
    REQUIRE(uncached.from(jdc::TableOrigin::built) == p.generics.size());

    std::size_t compared = 0, dynamic = 0, ambiguous = 0, missing = 0, indexed = 0, scanned = 0;
    for (std::size_t g = 0; g < p.generics.size(); ++g) {
        const Generic& gen = p.generics[g];
        CAPTURE(gen.name);
        // The oracle resolves on the table's copy: the answers' entry indexes are the
        // table's, and every origin has the same entries in the same order.
        const jdc::DispatchTable copy = uncached.tables[g].to_table();
        std::vector<std::vector<jdc::TypeId>> statics;  // the call sites, then every tuple of a small function
        for (const CallSite& site : p.call_sites)
            if (site.generic == g) statics.emplace_back(site.argument_types().begin(), site.argument_types().end());
        if (tuple_count(p, gen) <= 200) {
            const auto domains = dispatch_domains(p, gen);
            std::vector<std::size_t> at(domains.size(), 0);
            std::vector<jdc::TypeId> args(domains.size());
            for (bool done = false; !done;) {
                for (std::size_t i = 0; i < args.size(); ++i) args[i] = (*domains[i])[at[i]];
                statics.push_back(args);
                done = true;
                for (std::size_t i = 0; i < at.size() && done; ++i) {
                    if (++at[i] < domains[i]->size()) done = false;
                    else at[i] = 0;
                }
            }
        }
        for (const Tables* tables : {static_cast<const Tables*>(&cold), &warm, &uncached}) {
            const jdc::CachedTable& table = tables->tables[g];
            (table.bound().has_form(jdc::DispatchForm::compressed_table) ? indexed : scanned) += 1;
            CHECK(table.to_table() == copy);
            CallSiteResolver resolver(p, table);
            for (const auto& args : statics) {
                const CallSiteAnswer want = resolve_cone_reference(copy, p, args);
                CHECK(resolver.answer(args) == want);
                ++compared;
                dynamic += want.dynamic();
                ambiguous += bool(want.ambiguity);
                missing += bool(want.no_method);
            }
        }
    }
    CHECK(compared > 6000);
    CHECK(dynamic > 300);
    CHECK(ambiguous > 30);
    CHECK(missing > 30);
    CHECK(indexed > 0);
    CHECK(scanned > 0);

    // And the build's results from each set of tables: the same lines, warnings, counts.
    const CallSiteResults want = resolve_call_sites(p, uncached.pointers(), 2);
    for (const Tables* tables : {static_cast<const Tables*>(&cold), &warm}) {
        const CallSiteResults got = resolve_call_sites(p, tables->pointers(), 2);
        REQUIRE(got.sites.size() == want.sites.size());
        for (std::size_t i = 0; i < got.sites.size(); ++i) CHECK(got.summary_line(i) == want.summary_line(i));
        REQUIRE(got.warnings.size() == want.warnings.size());
        for (std::size_t i = 0; i < got.warnings.size(); ++i) CHECK(got.warnings[i].to_string() == want.warnings[i].to_string());
        CHECK(got.resolved_statically == want.resolved_statically);
        CHECK(got.dynamic == want.dynamic);
        CHECK(got.ambiguous == want.ambiguous);
        CHECK(got.no_method == want.no_method);
    }
}

TEST_CASE("resolve_call_sites: a summary line for every call site, the warnings sorted") {
    const Program p = program_of(kShapes);
    const Tables tables(p, OptLevel::hot_path);
    const CallSiteResults r = resolve_call_sites(p, tables.pointers(), 2);
    REQUIRE(r.sites.size() == 6);
    CHECK(r.summary_line(0) == "  15:5 area(Circle) over 1 tuple: static, area(s: Circle) at geometry/shapes.jn:9:6\n");
    CHECK(r.summary_line(1) == "  16:5 area(Square) over 1 tuple: static, area(s: Polygon) at geometry/shapes.jn:10:6\n");
    CHECK(r.summary_line(2) == "  17:5 area(Shape) over 4 tuples: dynamic, 2 methods; has no method for (Shape)\n");
    CHECK(r.summary_line(3) ==
          "  18:5 collide(Circle, Circle) over 1 tuple: no method reachable; can be ambiguous: (Circle, Circle) matches "
          "'collide(a: Circle, b: Shape)' and 'collide(a: Shape, b: Circle)'\n");
    CHECK(r.summary_line(4) ==
          "  19:5 collide(Shape, Shape) over 16 tuples: dynamic, 2 methods; can be ambiguous: (Circle, Circle) matches "
          "'collide(a: Circle, b: Shape)' and 'collide(a: Shape, b: Circle)'; has no method for (Shape, Shape)\n");
    CHECK(r.summary_line(5) ==
          "  20:5 collide(Square, Circle) over 1 tuple: static, collide(a: Shape, b: Circle) at geometry/shapes.jn:12:6\n");
    CHECK(r.resolved_statically == 3);
    CHECK(r.dynamic == 2);
    CHECK(r.ambiguous == 2);
    CHECK(r.no_method == 2);
    CHECK(r.sites[0].resolved_statically);
    CHECK(r.sites[4].dynamic);
    CHECK(r.sites[4].warned);
    CHECK_FALSE(r.sites[5].warned);
    std::vector<std::string> warnings;
    for (const Diagnostic& d : r.warnings) {
        CHECK(d.severity == Severity::warning);
        warnings.push_back(d.to_string());
    }
    CHECK(warnings == std::vector<std::string>{
                          "geometry/shapes.jn:17:5: warning: call to 'area' has no method for (Shape)",
                          "geometry/shapes.jn:18:5: warning: call to 'collide' can be ambiguous: (Circle, Circle) matches "
                          "'collide(a: Circle, b: Shape)' and 'collide(a: Shape, b: Circle)'",
                          "geometry/shapes.jn:19:5: warning: call to 'collide' can be ambiguous: (Circle, Circle) matches "
                          "'collide(a: Circle, b: Shape)' and 'collide(a: Shape, b: Circle)'",
                          "geometry/shapes.jn:19:5: warning: call to 'collide' has no method for (Shape, Shape)",
                      });
    // On one thread and with the methods in source order: the same.
    const Tables source_order(p, OptLevel::none);
    const CallSiteResults serial = resolve_call_sites(p, source_order.pointers(), 1);
    for (std::size_t i = 0; i < r.sites.size(); ++i) CHECK(serial.summary_line(i) == r.summary_line(i));
    REQUIRE(serial.warnings.size() == r.warnings.size());
    for (std::size_t i = 0; i < r.warnings.size(); ++i) CHECK(serial.warnings[i].to_string() == r.warnings[i].to_string());
}

TEST_CASE("method_text: parameter names from the source, types from the table entry") {
    const Program p = program_of(kShapes);
    const Generic& collide = generic_named(p, "collide");
    jdc::DispatchTable t = table_of(p, "collide", OptLevel::none);
    CHECK(method_text(p, collide, t.implementations[0]) == "collide(a: Circle, b: Shape)");
    // An entry that does not match the method its id names (a cache bug) is quoted by types alone.
    t.implementations[0].location.line += 1;
    CHECK(method_text(p, collide, t.implementations[0]) == "collide(Circle, Shape)");
    t.implementations[1].function.id = 99;
    CHECK(method_text(p, collide, t.implementations[1]) == "collide(Shape, Circle)");
}

TEST_CASE("first_per_file keeps the first diagnostics of each file") {
    Diagnostics sorted;
    for (std::uint32_t i = 1; i <= 5; ++i) sorted.push_back({"a.jn", {i, 1}, "w", Severity::warning});
    for (std::uint32_t i = 1; i <= 2; ++i) sorted.push_back({"b.jn", {i, 1}, "w", Severity::warning});
    const Diagnostics kept = first_per_file(sorted, 3);
    REQUIRE(kept.size() == 5);
    CHECK(kept[2].pos.line == 3);
    CHECK(kept[3].file == "b.jn");
    CHECK(first_per_file(sorted, 0).empty());
}
