// janusc builds through the cache: identical output with and without it, and the hit
// pattern of each of the seed's scenarios on a generated project, by counts.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "janusc/build.hpp"
#include "janusc/generator.hpp"
#include "janusc/parser.hpp"
#include "support/temp_dir.hpp"

using namespace janusc;
namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
}

// Every file under `dir` but hidden ones (janusc's manifest), by relative path.
std::map<std::string, std::string> tree(const fs::path& dir) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file() && e.path().filename().string()[0] != '.') out[e.path().lexically_relative(dir).string()] = read(e.path());
    return out;
}

// A generated project in a temp directory, its cache beside it.
struct Project {
    jdc::testing::TempDir dir;
    fs::path src = dir.path / "project";
    fs::path cache = dir.path / "cache";
    int builds = 0;

    explicit Project(std::size_t functions, std::uint64_t seed = 3) { REQUIRE(write_project(generate_project({functions, seed}), src)); }

    BuildOptions options() const {
        BuildOptions o;
        o.project = src;
        o.cache_dir = cache;
        o.jobs = 2;
        return o;
    }
    BuildOutcome build(BuildOptions o) {
        o.out = dir.path / ("out" + std::to_string(++builds));
        auto r = build_project(o);
        if (!r) FAIL(r.error().message);
        for (const Diagnostic& d : r->diagnostics) UNSCOPED_INFO(d.to_string());
        REQUIRE(r->diagnostics.empty());
        return std::move(*r);
    }
    BuildOutcome build() { return build(options()); }

    // The program as the compiler sees it now, to compute which tables must miss.
    Program program() const {
        std::vector<SourceModule> modules;
        for (const auto& [path, text] : tree(src)) {
            if (fs::path(path).extension() != ".jn") continue;
            auto m = parse_module(text, path);
            REQUIRE(m);
            modules.push_back({path, std::move(*m)});
        }
        auto p = analyze(std::move(modules));
        REQUIRE(p);
        return std::move(*p);
    }
};

// closure[m]: m and every module it imports, transitively.
std::vector<std::set<std::size_t>> closures(const Program& p) {
    std::vector<std::set<std::size_t>> out(p.modules.size());
    for (std::size_t m : p.import_order) {
        out[m].insert(m);
        for (std::size_t i : p.modules[m].imports) out[m].insert(out[i].begin(), out[i].end());
    }
    return out;
}

// Generic functions whose sources include `module`: one of their methods' modules imports it.
std::set<std::string> tables_reading(const Program& p, std::size_t module) {
    const auto closure = closures(p);
    std::set<std::string> out;
    for (const Generic& g : p.generics)
        for (std::size_t m : g.method_modules)
            if (closure[m].count(module)) out.insert(g.name);
    return out;
}

std::size_t module_named(const Program& p, const std::string& name) {
    for (std::size_t m = 0; m < p.modules.size(); ++m)
        if (p.modules[m].name == name) return m;
    FAIL("no module " << name);
    return 0;
}

std::set<std::string> as_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

std::uint64_t misses(const BuildOutcome& o, jdc::MissReason reason) { return o.cache.misses_by_reason[static_cast<std::size_t>(reason)]; }

}  // namespace

// Every warning of a build, as printed.
std::vector<std::string> warnings_of(const BuildOutcome& o) {
    std::vector<std::string> out;
    for (const Diagnostic& d : o.warnings) out.push_back(d.to_string());
    return out;
}

TEST_CASE("summaries and warnings are byte-identical with and without the cache, on any number of threads") {
    for (const auto& [size, seed] : {std::pair<std::size_t, std::uint64_t>{40, 3}, {150, 8}}) {
        INFO("size " << size << " seed " << seed);
        Project p(size, seed);
        const BuildOutcome cold = p.build();
        const BuildOutcome warm = p.build();
        BuildOptions no_cache = p.options();
        no_cache.use_cache = false;
        const BuildOutcome uncached = p.build(no_cache);
        BuildOptions one_thread = p.options();
        one_thread.jobs = 1;
        const BuildOutcome serial = p.build(one_thread);

        CHECK(cold.stats.tables_built == size);
        CHECK(warm.stats.tables_from_cache == size);
        CHECK(uncached.stats.tables_built == size);
        CHECK(uncached.cache.misses_by_reason[static_cast<std::size_t>(jdc::MissReason::disabled)] == size);
        CHECK(serial.stats.tables_from_cache == size);
        const auto reference = tree(cold.out_dir);
        CHECK(reference.size() == cold.stats.modules);
        std::size_t listed = 0;
        for (const auto& [path, text] : reference) {
            CHECK(fs::path(path).extension() == ".dispatch");
            CHECK(text.find("# janusc dispatch summary") == 0);
            const std::size_t at = text.find("\ncall sites: ");
            REQUIRE(at != std::string::npos);
            listed += std::stoul(text.substr(at + 13));
        }
        CHECK(listed == cold.stats.call_sites);
        CHECK(cold.stats.call_sites > 2 * cold.stats.methods);
        CHECK(cold.stats.calls_static > 0);
        CHECK(cold.stats.calls_dynamic > 0);
        CHECK(cold.stats.warnings > 0);
        CHECK(cold.stats.warnings == cold.stats.warnings_ambiguous + cold.stats.warnings_no_method);
        CHECK(tree(warm.out_dir) == reference);
        CHECK(tree(uncached.out_dir) == reference);
        CHECK(tree(serial.out_dir) == reference);
        const std::vector<std::string> warnings = warnings_of(cold);
        CHECK_FALSE(warnings.empty());
        CHECK(warnings_of(warm) == warnings);
        CHECK(warnings_of(uncached) == warnings);
        CHECK(warnings_of(serial) == warnings);
        for (const BuildOutcome* o : {&warm, &uncached, &serial}) {
            CHECK(o->stats.call_sites == cold.stats.call_sites);
            CHECK(o->stats.calls_static == cold.stats.calls_static);
            CHECK(o->stats.calls_dynamic == cold.stats.calls_dynamic);
            CHECK(o->stats.warnings == cold.stats.warnings);
        }
        // The opt level reorders methods inside the tables; neither summaries nor warnings show it.
        BuildOptions source_order = p.options();
        source_order.opt_level = OptLevel::none;
        const BuildOutcome reordered = p.build(source_order);
        CHECK(tree(reordered.out_dir) == reference);
        CHECK(warnings_of(reordered) == warnings);
    }
}

TEST_CASE("scenarios: clean, no change, incremental, partial and full rebuilds hit as they must") {
    Project p(80);  // with fewer modules a type added to a core module can reach every table
    const Program before = p.program();
    const std::size_t tables = before.generics.size();

    SECTION("clean: every table misses, never seen") {
        const BuildOutcome clean = p.build();
        CHECK(clean.cache.lookups == tables);
        CHECK(clean.cache.hits == 0);
        CHECK(misses(clean, jdc::MissReason::never_seen) == tables);
        CHECK(clean.built_tables.size() == tables);
    }
    SECTION("no change: every table hits") {
        p.build();
        const BuildOutcome again = p.build();
        CHECK(again.cache.hits == tables);
        CHECK(again.cache.misses == 0);
        CHECK(again.built_tables.empty());
    }
    // A leaf: no module imports it; one with methods.
    auto a_leaf = [&] {
        std::size_t leaf = SIZE_MAX;
        for (std::size_t m = 0; m < before.modules.size() && leaf == SIZE_MAX; ++m)
            if (before.modules[m].method_count > 0 && tables_reading(before, m).size() < tables) {
                bool imported = false;
                for (const ModuleInfo& other : before.modules)
                    for (std::size_t i : other.imports) imported = imported || i == m;
                if (!imported) leaf = m;
            }
        REQUIRE(leaf != SIZE_MAX);
        return leaf;
    };
    SECTION("a method body or a comment at the end changes no table: every table hits") {
        p.build();
        const fs::path file = p.src / before.modules[a_leaf()].path;
        std::string text = read(file);
        const std::size_t at = text.find("    return ");
        REQUIRE(at != std::string::npos);
        write(file, text.replace(at, 11, "    return 1 + ") + "\n// a comment\n");
        const BuildOutcome edited = p.build();
        CHECK(edited.cache.hits == tables);
        CHECK(edited.built_tables.empty());
        CHECK(edited.stats.sources_changed == 1);  // the tracker saw the file change; no key did
    }
    SECTION("incremental: methods moved in a leaf module miss only their tables, naming the move") {
        p.build();
        const std::size_t leaf = a_leaf();
        const fs::path file = p.src / before.modules[leaf].path;
        std::string text = read(file);
        const std::size_t first_line_end = text.find('\n');
        write(file, text.insert(first_line_end + 1, "// every method below moves one line down\n"));
        const std::set<std::string> expected = tables_reading(before, leaf);  // a leaf: the tables with methods in it
        const BuildOutcome incremental = p.build();
        CHECK(as_set(incremental.built_tables) == expected);
        CHECK(misses(incremental, jdc::MissReason::methods_changed) == expected.size());
        CHECK(incremental.cache.hits == tables - expected.size());
        CHECK(p.build().cache.hits == tables);  // and the next build is warm again
    }
    SECTION("partial: a type added to a widely imported module misses only the tables whose domains gain it") {
        p.build();
        std::size_t widest = SIZE_MAX, importers = 0;
        const auto closure = closures(before);
        for (std::size_t m = 0; m < before.modules.size(); ++m) {
            if (before.modules[m].name == "core.base" || before.modules[m].types.empty()) continue;
            std::size_t n = 0;
            for (const auto& c : closure) n += c.count(m);
            if (n > importers) importers = n, widest = m;
        }
        REQUIRE(widest != SIZE_MAX);
        const ModuleInfo& core = before.modules[widest];
        const std::string parent = before.type_name(core.types.front());
        std::ofstream(p.src / core.path, std::ios::app) << "\ntype EditedType : " << parent << "\n";

        const Program after = p.program();
        const jdc::TypeId added = after.registry.find("EditedType");
        std::set<std::string> expected;
        for (const Generic& g : after.generics)
            for (jdc::TypeId declared : g.signature.parameter_types)
                if (after.registry.is_subtype(added, declared)) expected.insert(g.name);
        const BuildOutcome partial = p.build();
        CHECK(as_set(partial.built_tables) == expected);
        CHECK(partial.cache.misses == expected.size());
        CHECK(misses(partial, jdc::MissReason::type_changed) == expected.size());
        CHECK(partial.cache.hits == tables - expected.size());
        CHECK(partial.cache.hits > 0);
        CHECK(expected.size() < tables_reading(after, module_named(after, core.name)).size());  // what file-grained keys lost
    }
    SECTION("full rebuild: a changed build flag misses every table, and both variants stay cached") {
        p.build();
        BuildOptions other = p.options();
        other.opt_level = OptLevel::none;
        const BuildOutcome full = p.build(other);
        CHECK(full.cache.hits == 0);
        CHECK(misses(full, jdc::MissReason::config_changed) == tables);
        CHECK(p.build().cache.hits == tables);
        CHECK(p.build(other).cache.hits == tables);
    }
}

TEST_CASE("a project moved elsewhere keeps its cache keys: methods name their files relative to it") {
    Project p(20);
    p.build();
    const fs::path moved = p.dir.path / "moved";
    fs::rename(p.src, moved);
    p.src = moved;
    const BuildOutcome after = p.build();
    CHECK(after.cache.hits == after.cache.lookups);
}

TEST_CASE("unchanged summaries are not rewritten; summaries of deleted modules are removed") {
    Project p(40);
    BuildOptions o = p.options();
    o.out = p.dir.path / "out";
    REQUIRE(build_project(o));
    std::map<std::string, fs::file_time_type> stamps;
    for (const auto& [path, text] : tree(*o.out)) stamps[path] = fs::last_write_time(*o.out / path);
    REQUIRE(build_project(o));
    for (const auto& [path, stamp] : stamps) CHECK(fs::last_write_time(*o.out / path) == stamp);

    const Program program = p.program();
    std::size_t leaf = SIZE_MAX;
    for (std::size_t m = program.modules.size(); m-- > 0 && leaf == SIZE_MAX;) {
        bool imported = false;
        for (const ModuleInfo& other : program.modules)
            for (std::size_t i : other.imports) imported = imported || i == m;
        if (!imported) leaf = m;
    }
    REQUIRE(leaf != SIZE_MAX);
    fs::path summary = *o.out / program.modules[leaf].path;
    summary.replace_extension(".dispatch");
    REQUIRE(fs::exists(summary));
    fs::remove(p.src / program.modules[leaf].path);
    auto r = build_project(o);
    REQUIRE(r);
    REQUIRE(r->diagnostics.empty());
    CHECK_FALSE(fs::exists(summary));
    CHECK(tree(*o.out).size() == program.modules.size() - 1);

    // Without the manifest (an output directory from elsewhere), stale summaries are found by a walk.
    write(*o.out / "old" / "gone.dispatch", "stale\n");
    fs::remove(*o.out / ".janusc-summaries");
    REQUIRE(build_project(o));
    CHECK_FALSE(fs::exists(*o.out / "old" / "gone.dispatch"));
    // A manifest naming files outside the output directory, or other files, removes nothing of them.
    write(p.dir.path / "keep.dispatch", "not janusc's\n");
    write(*o.out / "notes.txt", "mine\n");
    write(*o.out / ".janusc-summaries", "../keep.dispatch\nnotes.txt\nsub/../../keep.dispatch\n");
    REQUIRE(build_project(o));
    CHECK(fs::exists(p.dir.path / "keep.dispatch"));
    CHECK(fs::exists(*o.out / "notes.txt"));
}

TEST_CASE("an output directory inside the project is not read as sources") {
    Project p(10);
    BuildOptions o = p.options();
    o.out = p.src / "generated";
    write(*o.out / "stray.jn", "this is not Janus\n");
    auto r = build_project(o);
    REQUIRE(r);
    CHECK(r->diagnostics.empty());
    CHECK(fs::exists(*o.out / "core" / "base.dispatch"));
}

TEST_CASE("compile errors stop the build before the cache is touched") {
    Project p(10);
    write(p.src / "broken.jn", "module broken\ntype A : Missing\nfunc nothing(x: A) -> f64 { return 1 }\n");
    auto r = build_project(p.options());
    REQUIRE(r);
    REQUIRE(r->diagnostics.size() == 2);
    CHECK(r->diagnostics[0].to_string() == (p.src / "broken.jn").string() + ":2:10: error: undefined type 'Missing'");
    CHECK_FALSE(fs::exists(p.cache));
    CHECK_FALSE(fs::exists(p.src / "janus-out"));

    write(p.src / "broken.jn", "module broken\ntype A :\n");
    r = build_project(p.options());
    REQUIRE(r);
    REQUIRE(r->diagnostics.size() == 1);
    CHECK(r->diagnostics[0].message == "expected a supertype name, found end of file");
}

TEST_CASE("usage and I/O errors: no project, no sources, a source too large") {
    jdc::testing::TempDir dir;
    BuildOptions o;
    o.project = dir.path / "nope";
    auto r = build_project(o);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == jdc::ErrorCode::not_found);
    CHECK(r.error().message.find("does not exist") != std::string::npos);

    o.project = dir.path;
    write(dir.path / ".hidden" / "x.jn", "module x\n");  // hidden directories are skipped
    write(dir.path / "notes.txt", "not a source\n");
    r = build_project(o);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("no Janus sources (*.jn)") != std::string::npos);

    write(dir.path / "big.jn", "module big\n" + std::string(kMaxSourceBytes, ' '));
    r = build_project(o);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == jdc::ErrorCode::limit_exceeded);
    CHECK(r.error().message.find("big.jn' is larger than 16.0 MiB") != std::string::npos);
}

TEST_CASE("too many argument tuples is a compile error naming the function") {
    jdc::testing::TempDir dir;
    std::string types = "module a\ntype Any\n";
    for (int i = 0; i < 300; ++i) types += "type T" + std::to_string(i) + " : Any\n";
    write(dir.path / "a.jn", types + "generic huge(x: Any, y: Any, z: Any) -> f64\n");
    BuildOptions o;
    o.project = dir.path;
    o.use_cache = false;
    auto r = build_project(o);
    REQUIRE(r);
    REQUIRE(r->diagnostics.size() == 1);
    CHECK(r->diagnostics[0].message.find("generic function 'huge' can receive 27270901 tuples of argument types") == 0);
}

TEST_CASE("the build report: text and JSON") {
    Project p(20);
    const BuildOutcome o = p.build();
    std::ostringstream text;
    print_build_report(o, p.src, text);
    CHECK(text.str().find(compiler_version() + ": built ") == 0);
    CHECK(text.str().find("20 generic functions") != std::string::npos);
    CHECK(text.str().find("  calls:     " + std::to_string(o.stats.call_sites) + " call sites in ") != std::string::npos);
    CHECK(text.str().find(" wall, ") != std::string::npos);
    CHECK(text.str().find(" resolving, the rest their summary lines): " + std::to_string(o.stats.calls_static) + " resolved statically, " +
                          std::to_string(o.stats.calls_dynamic) + " dynamic\n") != std::string::npos);
    CHECK(text.str().find("  warnings:  " + std::to_string(o.stats.warnings) + " (") != std::string::npos);
    CHECK(text.str().find("jdc build cache report") != std::string::npos);
    const auto j = nlohmann::json::parse(build_report_json(o));
    CHECK(j["janusc"]["generic_functions"] == 20);
    CHECK(j["janusc"]["tables_built"] == 20);
    CHECK(j["janusc"]["call_sites"] == o.stats.call_sites);
    CHECK(j["janusc"]["calls_resolved_statically"] == o.stats.calls_static);
    CHECK(j["janusc"]["calls_dynamic"] == o.stats.calls_dynamic);
    CHECK(j["janusc"]["warnings"] == o.stats.warnings);
    CHECK(j["janusc"]["warnings_ambiguous"] == o.stats.warnings_ambiguous);
    CHECK(j["janusc"]["warnings_no_method"] == o.stats.warnings_no_method);
    CHECK(j["janusc"]["warnings_shown"] == o.warnings.size());
    CHECK(j["janusc"].contains("call_sites_ns"));
    CHECK(j["janusc"].contains("call_sites_cpu_ns"));
    CHECK(j["janusc"]["call_sites_resolve_cpu_ns"].get<std::uint64_t>() <= j["janusc"]["call_sites_cpu_ns"].get<std::uint64_t>());
    CHECK(j["cache"]["session"]["misses"] == 20);
}

TEST_CASE("call-site warnings: each kind, sorted like errors, bounded per file, and --Werror") {
    jdc::testing::TempDir dir;
    const fs::path src = dir.path / "p";
    write(src / "base.jn",
          "module base\ntype Shape\ntype Polygon : Shape\ntype Circle : Shape\n"
          "generic area(s: Shape) -> f64\ngeneric collide(a: Shape, b: Shape) -> bool\n"
          "func area(s: Circle) -> f64 { return 1 }\nfunc area(s: Polygon) -> f64 { return 2 }\n"
          "func collide(a: Circle, b: Shape) -> bool { return 1 }\nfunc collide(a: Shape, b: Circle) -> bool { return 2 }\n");
    // 25 calls without a method for (Shape), then one resolved statically.
    std::string many = "module many\nimport base\ngeneric run(s: Shape) -> f64\nfunc run(s: Shape) -> f64 {\n";
    for (int i = 0; i < 25; ++i) many += "    area(s)\n";
    write(src / "many.jn", many + "    return area(s) * 2\n}\nfunc run(s: Circle) -> f64 { return area(s) }\n");
    write(src / "amb.jn", "module amb\nimport base\nfunc collide(a: Polygon, b: Polygon) -> bool { return collide(b, a) }\n"
                          "generic go(c: Circle) -> bool\nfunc go(c: Circle) -> bool { return collide(c, c) }\n");
    BuildOptions o;
    o.project = src;
    o.cache_dir = dir.path / "cache";
    o.out = dir.path / "out";
    auto r = build_project(o);
    REQUIRE(r);
    REQUIRE(r->diagnostics.empty());
    CHECK(r->stats.call_sites == 29);
    CHECK(r->stats.calls_static == 2);  // collide(Polygon, Polygon), area(Circle)
    CHECK(r->stats.calls_dynamic == 26);
    CHECK(r->stats.warnings == 27);
    CHECK(r->stats.warnings_ambiguous == 1);
    CHECK(r->stats.warnings_no_method == 26);
    const std::vector<std::string> shown = warnings_of(*r);
    REQUIRE(shown.size() == 1 + kMaxWarningsPerFile);
    const std::string amb = (src / "amb.jn").string(), many_file = (src / "many.jn").string();
    CHECK(shown[0] == amb + ":5:37: warning: call to 'collide' can be ambiguous: (Circle, Circle) matches 'collide(a: Circle, b: Shape)' "
                            "and 'collide(a: Shape, b: Circle)'");
    CHECK(shown[1] == many_file + ":5:5: warning: call to 'area' has no method for (Shape)");
    CHECK(shown.back() == many_file + ":24:5: warning: call to 'area' has no method for (Shape)");
    const std::string summary = read(dir.path / "out" / "many.dispatch");
    CHECK(summary.find("\ncall sites: 27 (1 resolved statically, 26 dynamic, 26 with warnings)\n"
                       "  5:5 area(Shape) over 3 tuples: dynamic, 2 methods; has no method for (Shape)\n") != std::string::npos);
    CHECK(summary.find("  32:37 area(Circle) over 1 tuple: static, area(s: Circle) at base.jn:7:6\n") != std::string::npos);

    // Over the whole build at most kMaxWarningsShown are shown, the first by file and position.
    {
        jdc::testing::TempDir wide;
        write(wide.path / "base.jn", read(src / "base.jn"));
        for (int f = 10; f < 21; ++f) {
            const std::string name = "m" + std::to_string(f);
            std::string text = "module " + name + "\nimport base\ngeneric run" + name + "(s: Shape) -> f64\nfunc run" + name +
                               "(s: Shape) -> f64 {\n";
            for (int i = 0; i < 21; ++i) text += "    area(s)\n";
            write(wide.path / (name + ".jn"), text + "    return 1\n}\n");
        }
        BuildOptions w;
        w.project = wide.path;
        w.use_cache = false;
        w.out = wide.path / "out";
        const auto all = build_project(w);
        REQUIRE(all);
        REQUIRE(all->diagnostics.empty());
        CHECK(all->stats.warnings == 11 * 21);
        REQUIRE(all->warnings.size() == kMaxWarningsShown);  // 20 of each of the first ten files
        CHECK(all->warnings.back().to_string() == (wide.path / "m19.jn").string() + ":24:5: warning: call to 'area' has no method for (Shape)");
    }

    // --Werror: the warnings become errors; nothing is written, but the tables are cached.
    o.warnings_as_errors = true;
    o.out = dir.path / "out-werror";
    r = build_project(o);
    REQUIRE(r);
    CHECK(r->failed_on_warnings);
    REQUIRE(r->diagnostics.size() == shown.size());
    CHECK(r->diagnostics[1].to_string() == many_file + ":5:5: error: call to 'area' has no method for (Shape) [--Werror]");
    CHECK(r->warnings.empty());
    CHECK_FALSE(fs::exists(dir.path / "out-werror"));
    CHECK(r->cache.hits == r->cache.lookups);
    // Without warnings --Werror changes nothing.
    write(src / "many.jn", "module many\nimport base\n");
    write(src / "amb.jn", "module amb\n");
    r = build_project(o);
    REQUIRE(r);
    CHECK(r->diagnostics.empty());
    CHECK(r->stats.warnings == 0);
    CHECK(fs::exists(dir.path / "out-werror" / "base.dispatch"));
}

TEST_CASE("the generator is deterministic and sized as asked") {
    const GeneratedProject a = generate_project({300, 7}), b = generate_project({300, 7}), c = generate_project({300, 8});
    REQUIRE(a.files.size() == b.files.size());
    for (std::size_t i = 0; i < a.files.size(); ++i) {
        CHECK(a.files[i].path == b.files[i].path);
        CHECK(a.files[i].text == b.files[i].text);
    }
    bool differs = a.files.size() != c.files.size();
    for (std::size_t i = 0; !differs && i < a.files.size(); ++i) differs = a.files[i].text != c.files[i].text;
    CHECK(differs);
    CHECK(a.generics == 300);
    CHECK(a.modules == 30);
    CHECK(parse_project_size("small") == 100u);
    CHECK(parse_project_size("medium") == 1000u);
    CHECK(parse_project_size("large") == 10000u);
    CHECK(parse_project_size("42") == 42u);
    CHECK_FALSE(parse_project_size("0"));
    CHECK_FALSE(parse_project_size("huge"));
    CHECK_FALSE(parse_project_size("12x"));
    CHECK_FALSE(parse_project_size("2000000"));

    jdc::testing::TempDir dir;
    REQUIRE(write_project(generate_project({5, 1}), dir.path / "p"));
    const auto again = write_project(generate_project({5, 1}), dir.path / "p");
    REQUIRE_FALSE(again);
    CHECK(again.error().message.find("is not an empty directory") != std::string::npos);
}
