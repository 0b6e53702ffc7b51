// The semantic model: a checked program from parsed modules, and the exact error for
// each rule it enforces.
#include <catch2/catch.hpp>

#include <array>
#include <map>
#include <set>
#include <string>

#include "janusc/dispatch.hpp"
#include "janusc/generator.hpp"
#include "janusc/parser.hpp"
#include "janusc/program.hpp"

using namespace janusc;

namespace {

using Files = std::map<std::string, std::string>;  // path -> source

tl::expected<Program, Diagnostics> analyze_files(const Files& files) {
    std::vector<SourceModule> modules;
    for (const auto& [path, text] : files) {
        auto m = parse_module(text, path);
        if (!m)
            for (const Diagnostic& d : m.error()) UNSCOPED_INFO(d.to_string());
        REQUIRE(m);
        modules.push_back({path, std::move(*m)});
    }
    return analyze(std::move(modules));
}

Program program_of(const Files& files) {
    auto p = analyze_files(files);
    if (!p)
        for (const Diagnostic& d : p.error()) UNSCOPED_INFO(d.to_string());
    REQUIRE(p);
    return std::move(*p);
}

std::vector<std::string> errors_of(const Files& files) {
    auto p = analyze_files(files);
    REQUIRE_FALSE(p);
    std::vector<std::string> out;
    for (const Diagnostic& d : p.error()) out.push_back(d.to_string());
    return out;
}

const Files kShapes = {
    {"core/base.jn", "module core.base\ntype Any\ntype Shape : Any\ngeneric area(s: Shape) -> f64\n"},
    {"geo/round.jn",
     "module geo.round\nimport core.base\ntype Round : Shape\ntype Circle : Round\ntype Ellipse : Round\n"
     "func area(s: Round) -> f64 { return 1 }\nfunc area(s: Circle) -> f64 { return 2 }\n"},
    {"geo/poly.jn",
     "module geo.poly\nimport core.base\ntype Poly : Shape\ntype Square : Poly\ngeneric corners(p: Poly, q: Poly) -> i32\n"
     "func area(s: Poly) -> f64 { return 3 }\nfunc corners(p: Square, q: Poly) -> i32 { return area(p) }\n"},
};

}  // namespace

TEST_CASE("a program: modules in import order, the registry, generics with methods from every module") {
    const Program p = program_of(kShapes);
    REQUIRE(p.modules.size() == 3);
    CHECK(p.modules[0].name == "core.base");
    CHECK(p.modules[1].name == "geo.poly");
    CHECK(p.modules[2].name == "geo.round");
    CHECK(p.modules[1].imports == std::vector<std::size_t>{0});
    CHECK(p.import_order == std::vector<std::size_t>{0, 1, 2});
    CHECK(p.registry.size() == 4 + 7);
    const jdc::TypeId shape = p.registry.find("Shape"), circle = p.registry.find("Circle"), round = p.registry.find("Round");
    CHECK(p.registry.is_subtype(circle, shape));
    CHECK(p.type_module[circle] == 2);
    REQUIRE(p.generics.size() == 2);
    const Generic& area = p.generics[0];
    CHECK(area.name == "area");
    CHECK(area.signature.parameter_types == std::vector<jdc::TypeId>{shape});
    CHECK(area.signature.return_type == jdc::kTypeF64);
    REQUIRE(area.methods.size() == 3);
    CHECK(area.methods[0].module == 1);  // geo.poly sorts before geo.round
    CHECK(area.methods[1].parameters == std::vector<jdc::TypeId>{round});
    CHECK(area.method_modules == std::vector<std::size_t>{0, 1, 2});
    CHECK(p.generics[1].method_modules == std::vector<std::size_t>{1});
    // Shape's subtypes: Shape, Round, Circle, Ellipse, Poly, Square (in id order).
    CHECK(p.subtypes_of(shape).size() == 6);
    CHECK(std::is_sorted(p.subtypes_of(shape).begin(), p.subtypes_of(shape).end()));
    CHECK(tuple_count(p, p.generics[1]) == 4);  // (Poly | Square)^2
    CHECK(p.modules[2].method_count == 2);
}

TEST_CASE("type ids do not depend on the order files are given in") {
    const Program a = program_of(kShapes);
    std::vector<SourceModule> reversed;
    for (auto it = kShapes.rbegin(); it != kShapes.rend(); ++it) reversed.push_back({it->first, *parse_module(it->second, it->first)});
    auto b = analyze(std::move(reversed));
    REQUIRE(b);
    CHECK(a.registry.fingerprint() == b->registry.fingerprint());
    for (const jdc::Type& t : a.registry.types()) CHECK(b->registry.find(t.name) == t.id);
}

TEST_CASE("module names, imports and import cycles") {
    CHECK(errors_of({{"a/b.jn", "module a.c\n"}}) ==
          std::vector<std::string>{"a/b.jn:1:8: error: module 'a.c' must be in file 'a/c.jn'; this file holds module 'a.b'"});
    CHECK(errors_of({{"a-b.jn", "module x\n"}}).front() ==
          "a-b.jn:1:1: error: file 'a-b.jn' cannot hold a module: its directory and file names (without .jn) must be identifiers");
    CHECK(errors_of({{"a.jn", "module a\nimport nowhere.x\n"}}) ==
          std::vector<std::string>{"a.jn:2:8: error: module 'nowhere.x' not found: the project has no file 'nowhere/x.jn'"});
    CHECK(errors_of({{"a.jn", "module a\nimport a\n"}}) == std::vector<std::string>{"a.jn:2:8: error: module 'a' imports itself"});
    CHECK(errors_of({{"a.jn", "module a\nimport b\n"}, {"b.jn", "module b\nimport c\n"}, {"c.jn", "module c\nimport a\n"}}) ==
          std::vector<std::string>{"c.jn:2:8: error: import cycle: a -> b -> c -> a"});
    // Two separate cycles, and a module that only imports one of them: two reports.
    CHECK(errors_of({{"a.jn", "module a\nimport b\n"}, {"b.jn", "module b\nimport a\n"}, {"c.jn", "module c\nimport d\n"},
                     {"d.jn", "module d\nimport c\n"}, {"e.jn", "module e\nimport a\n"}})
              .size() == 2);
}

TEST_CASE("types: undefined, invisible, duplicate, built-in, cyclic") {
    CHECK(errors_of({{"a.jn", "module a\ntype A : Nope\n"}}) == std::vector<std::string>{"a.jn:2:10: error: undefined type 'Nope'"});
    CHECK(errors_of({{"a.jn", "module a\ntype A\n"}, {"b.jn", "module b\ntype B : A\n"}}) ==
          std::vector<std::string>{"b.jn:2:10: error: type 'A' is declared in module 'a', which module 'b' does not import"});
    CHECK(errors_of({{"a.jn", "module a\ntype A\n"}, {"b.jn", "module b\nimport a\ntype A\n"}}) ==
          std::vector<std::string>{"b.jn:3:6: error: type 'A' is already declared at a.jn:2:6"});
    CHECK(errors_of({{"a.jn", "module a\ntype f64\n"}}) ==
          std::vector<std::string>{"a.jn:2:6: error: type 'f64' is a built-in type and cannot be declared"});
    CHECK(errors_of({{"a.jn", "module a\ntype A : i32\n"}}) ==
          std::vector<std::string>{"a.jn:2:10: error: type 'A' cannot have built-in type 'i32' as a supertype"});
    CHECK(errors_of({{"a.jn", "module a\ntype B\ntype A : B, B\n"}}) ==
          std::vector<std::string>{"a.jn:3:13: error: type 'A' lists supertype 'B' twice"});
    CHECK(errors_of({{"a.jn", "module a\ntype A : A\n"}}) == std::vector<std::string>{"a.jn:2:10: error: supertype cycle: A -> A"});
    CHECK(errors_of({{"a.jn", "module a\ntype A : C\ntype B : A\ntype C : B\ntype D : C\n"}}) ==
          std::vector<std::string>{"a.jn:3:10: error: supertype cycle: A -> C -> B -> A"});
    // Supertypes declared later in the same module are fine: types register supertypes first.
    const Program p = program_of({{"a.jn", "module a\ntype Leaf : Mid\ntype Mid : Root\ntype Root\n"}});
    CHECK(p.registry.is_subtype(p.registry.find("Leaf"), p.registry.find("Root")));
}

TEST_CASE("generic functions and methods: arity, subtyping, duplicates, visibility") {
    const std::string base = "module a\ntype Any\ntype S : Any\ntype T : S\ntype U : Any\n";
    auto one = [&](const std::string& rest) { return errors_of({{"a.jn", base + rest}}); };
    CHECK(one("generic f() -> f64\n").front() == "a.jn:6:9: error: generic function 'f' takes 0 parameters; Janus dispatches on 1 to 3");
    CHECK(one("generic f(a: S, b: S, c: S, d: S) -> f64\n").front() ==
          "a.jn:6:9: error: generic function 'f' takes 4 parameters; Janus dispatches on 1 to 3");
    CHECK(one("generic f(x: S) -> f64\ngeneric f(y: S) -> f64\n").front() ==
          "a.jn:7:9: error: generic function 'f' is already declared at a.jn:6:9");
    CHECK(one("generic f(x: S, x: S) -> f64\n").front() == "a.jn:6:17: error: parameter 'x' is declared twice");
    CHECK(one("func g(x: S) -> f64 { return 1 }\n").front() ==
          "a.jn:6:6: error: no generic function 'g' is declared: declare it with 'generic g(...) -> T'");
    CHECK(one("generic f(x: S) -> f64\nfunc f(x: S, y: S) -> f64 { return 1 }\n").front() ==
          "a.jn:7:6: error: method 'f' has 2 parameters, but generic function 'f' (a.jn:6:9) takes 1");
    CHECK(one("generic f(x: S) -> f64\nfunc f(x: U) -> f64 { return 1 }\n").front() ==
          "a.jn:7:11: error: parameter 'x' of method 'f' has type 'U', which is not a subtype of 'S' declared by generic function 'f' (a.jn:6:9)");
    CHECK(one("generic f(x: S) -> S\nfunc f(x: T) -> U { return x }\n").front() ==
          "a.jn:7:17: error: method 'f' returns 'U', which is not a subtype of 'S' returned by generic function 'f' (a.jn:6:9)");
    CHECK(one("generic f(x: S, y: S) -> f64\nfunc f(x: T, y: S) -> f64 { return 1 }\nfunc f(a: T, b: S) -> f64 { return 2 }\n") ==
          std::vector<std::string>{"a.jn:8:6: error: duplicate method f(T, S): already defined at a.jn:7:6"});
    CHECK(one("generic f(x: Nope) -> f64\n").front() == "a.jn:6:14: error: undefined type 'Nope'");
    // A method of a broken generic is not reported again.
    CHECK(one("generic f(x: Nope) -> f64\nfunc f(x: S) -> f64 { return 1 }\n").size() == 1);
    CHECK(errors_of({{"a.jn", base + "generic f(x: S) -> f64\n"}, {"b.jn", "module b\nfunc f(x: i32) -> f64 { return 1 }\n"}}).front() ==
          "b.jn:2:6: error: generic function 'f' is declared in module 'a', which module 'b' does not import");
}

TEST_CASE("method bodies: names and calls") {
    const std::string base = "module a\ntype Any\ngeneric f(x: Any) -> f64\ngeneric g(x: Any, y: Any) -> f64\ngeneric h(x: Any) -> Any\n";
    auto body = [&](const std::string& stmts) { return errors_of({{"a.jn", base + "func f(x: Any) -> f64 {\n" + stmts + "\n}\n"}}); };
    CHECK(body("return y") == std::vector<std::string>{"a.jn:7:8: error: undefined name 'y' in method 'f'"});
    CHECK(body("let v = 1\nlet v = 2\nreturn v") == std::vector<std::string>{"a.jn:8:5: error: 'v' is already defined in method 'f'"});
    CHECK(body("let x = 1\nreturn x") == std::vector<std::string>{"a.jn:7:5: error: 'x' is already defined in method 'f'"});
    CHECK(body("return v\nlet v = 1") == std::vector<std::string>{"a.jn:7:8: error: undefined name 'v' in method 'f'"});
    CHECK(body("return k(x)") == std::vector<std::string>{"a.jn:7:8: error: undefined function 'k'"});
    CHECK(body("return g(x)") ==
          std::vector<std::string>{"a.jn:7:8: error: call to 'g' passes 1 arguments, but generic function 'g' (a.jn:4:9) takes 2"});
    // A call with the wrong number of arguments still has its declared result type: no second error.
    CHECK(body("return f(h(x, x))").size() == 1);
    const Program p = program_of({{"a.jn", base + "func f(x: Any) -> f64 {\nlet v = g(x, h(x))\nreturn f(x) * -v + 1\n}\n"}});
    CHECK(p.method_count() == 1);
    // A chain as long as it is deep is checked without recursion.
    std::string chain = "let n = 2.5\nreturn n";
    for (int i = 0; i < 100000; ++i) chain += " + n";
    program_of({{"a.jn", base + "func f(x: Any) -> f64 {\n" + chain + "\n}\n"}});
    // ... and so is a long chain of errors: one per operator, each at its operator.
    std::string bad = "return x";
    for (int i = 0; i < 3; ++i) bad += " + 1";
    CHECK(body(bad) == std::vector<std::string>{"a.jn:7:10: error: operator '+' needs numbers (i32 or f64), but its left operand has type 'Any'"});
}

namespace {

// The static types of the arguments of each call site of `p`, as "callee(T, U)" in source order.
std::vector<std::string> call_signatures(const Program& p) {
    std::vector<std::string> out;
    for (const CallSite& site : p.call_sites) {
        std::string s = p.generics[site.generic].name + "(";
        for (std::size_t a = 0; a < site.arity; ++a) s += (a ? ", " : "") + p.type_name(site.argument_types()[a]);
        out.push_back(s + ")");
    }
    return out;
}

const std::string kTyped =
    "module a\ntype Any\ntype S : Any\ntype T : S\n"
    "generic ti(x: i32) -> f64\ngeneric tf(x: f64) -> i32\ngeneric ts(x: string) -> bool\ngeneric tb(x: bool) -> string\n"
    "generic ta(x: Any) -> S\ngeneric tt(x: T, y: Any) -> T\ngeneric tk(x: Any) -> T\n";

}  // namespace

TEST_CASE("static types: literals, parameters, lets, calls and arithmetic") {
    // Each line a call whose argument's static type the rule decides.
    const Program p = program_of({{"a.jn", kTyped + "func ta(x: Any) -> S {\n"
                                                     "  ti(7)\n"                 // integer literal: i32
                                                     "  tf(7.5)\n"               // float literal: f64
                                                     "  ts(\"s\")\n"             // string literal: string
                                                     "  tb(false)\n"             // true, false: bool
                                                     "  ta(x)\n"                 // parameter: its declared type
                                                     "  let s = ta(x)\n"         // call: its generic's declared result
                                                     "  ta(s)\n"                 // let: its expression's type
                                                     "  ti(1 + 2 * -3 / 4 - 5)\n" // i32 op i32: i32
                                                     "  tf(1 + 2.5)\n"           // i32 op f64: f64
                                                     "  tf(ti(1) * 2)\n"         // f64 op i32: f64
                                                     "  tf(-(2.5))\n"            // -f64: f64
                                                     "  let t = tt(tt(tk(x), x), s)\n"
                                                     "  tb(ts(tb(true)))\n"
                                                     "  return t\n"              // a return is not checked against the result type
                                                     "}\n"}});
    CHECK(call_signatures(p) == std::vector<std::string>{"ti(i32)", "tf(f64)", "ts(string)", "tb(bool)", "ta(Any)", "ta(Any)", "ta(S)",
                                                         "ti(i32)", "tf(f64)", "tf(f64)", "ti(i32)", "tf(f64)", "tt(T, S)",
                                                         "tt(T, Any)", "tk(Any)", "tb(bool)", "ts(string)", "tb(bool)"});
}

TEST_CASE("static types: what is not well typed, at the position of the culprit") {
    auto body = [&](const std::string& stmts) { return errors_of({{"a.jn", kTyped + "func ta(x: Any) -> S {\n" + stmts + "\n}\n"}}); };
    CHECK(body("ti(2.5)") ==
          std::vector<std::string>{"a.jn:13:4: error: argument 1 of call to 'ti' has type 'f64', which is not a subtype of 'i32' "
                                   "declared by generic function 'ti' (a.jn:5:9)"});
    // An argument is named where it starts, not at its operator.
    CHECK(body("ti(2.5 * 2 + 1)").front().rfind("a.jn:13:4: error: argument 1 of call to 'ti' has type 'f64'", 0) == 0);
    CHECK(body("ta(1)").front().find("argument 1 of call to 'ta' has type 'i32', which is not a subtype of 'Any'") != std::string::npos);
    CHECK(body("tt(x, x)").front() ==
          "a.jn:13:4: error: argument 1 of call to 'tt' has type 'Any', which is not a subtype of 'T' declared by generic function 'tt' "
          "(a.jn:10:9)");
    CHECK(body("ti(1 + \"s\")") ==
          std::vector<std::string>{"a.jn:13:6: error: operator '+' needs numbers (i32 or f64), but its right operand has type 'string'"});
    CHECK(body("let b = true * 2") ==
          std::vector<std::string>{"a.jn:13:14: error: operator '*' needs numbers (i32 or f64), but its left operand has type 'bool'"});
    CHECK(body("return -x") ==
          std::vector<std::string>{"a.jn:13:8: error: operator '-' needs a number (i32 or f64), but its operand has type 'Any'"});
    CHECK(body("return ta(x) / 2").front().find("operator '/' needs numbers (i32 or f64), but its left operand has type 'S'") !=
          std::string::npos);
    // An expression whose type is unknown after an error raises no further error.
    CHECK(body("let v = nope(x)\nti(v)\nreturn v + 1 - -v") == std::vector<std::string>{"a.jn:13:9: error: undefined function 'nope'"});
    CHECK(body("ti(y + 1)") == std::vector<std::string>{"a.jn:13:4: error: undefined name 'y' in method 'ta'"});
    // Every error of a body is reported, in order.
    CHECK(body("ti(true)\ntf(1)\nts(2)") .size() == 3);
}

TEST_CASE("call sites: every well-typed call of a generic function, sorted by module and position") {
    const Program p = program_of(kShapes);
    REQUIRE(p.call_sites.size() == 1);  // corners(p: Square, ...) calls area(p)
    const CallSite& site = p.call_sites[0];
    CHECK(p.modules[site.module].name == "geo.poly");
    CHECK(site.pos == SourcePos{7, 50});
    CHECK(p.generics[site.generic].name == "area");
    CHECK(call_signatures(p) == std::vector<std::string>{"area(Square)"});
    CHECK(p.generics[1].methods[0].parameter_names == std::vector<std::string>{"p", "q"});

    // Inner calls are typed before outer ones, but sites are listed by position.
    const Program q = program_of({{"b.jn", "module b\nimport a\ngeneric tc(x: T2) -> f64\nfunc tc(x: T2) -> f64 { ta(ta(x))\ntt(x, x) }\ntype T2 : T\n"},
                                  {"a.jn", kTyped + "func ts(x: string) -> bool { tb(true)\ntb(false) }\n"}});
    CHECK(call_signatures(q) == std::vector<std::string>{"tb(bool)", "tb(bool)", "ta(S)", "ta(T2)", "tt(T2, T2)"});
    std::vector<std::pair<std::size_t, SourcePos>> order;
    for (const CallSite& s : q.call_sites) order.emplace_back(s.module, s.pos);
    CHECK(std::is_sorted(order.begin(), order.end()));
    CHECK(q.call_sites[2].pos == SourcePos{4, 25});
    CHECK(q.call_sites[3].pos == SourcePos{4, 28});
}

TEST_CASE("errors from several files come back sorted by file and position") {
    const auto errors = errors_of({{"b.jn", "module b\ntype B : X\ntype C : Y\n"}, {"a.jn", "module a\ntype A : Z\n"}});
    REQUIRE(errors.size() == 3);
    CHECK(errors[0].rfind("a.jn:2:10", 0) == 0);
    CHECK(errors[1].rfind("b.jn:2:10", 0) == 0);
    CHECK(errors[2].rfind("b.jn:3:10", 0) == 0);
}

TEST_CASE("every generated project is a valid program") {
    for (std::size_t size : {1u, 7u, 60u})
        for (std::uint64_t seed : {1u, 2u, 99u}) {
            INFO("size " << size << " seed " << seed);
            const GeneratedProject g = generate_project({size, seed});
            Files files;
            for (const GeneratedFile& f : g.files) files[f.path] = f.text;
            const Program p = program_of(files);
            CHECK(p.generics.size() == size);
            CHECK(p.modules.size() == g.modules);
            CHECK(p.method_count() == g.methods);
            for (const Generic& gen : p.generics) CHECK(tuple_count(p, gen) <= kMaxTuplesPerTable);
        }
}

TEST_CASE("the generator's statistics are those of the program it writes") {
    for (const auto& [size, seed] : {std::pair<std::size_t, std::uint64_t>{1000, 1}, {150, 2}}) {
        INFO("size " << size << " seed " << seed);
        const GeneratedProject g = generate_project({size, seed});
        Files files;
        for (const GeneratedFile& f : g.files) files[f.path] = f.text;
        const Program p = program_of(files);
        const GeneratorStats& st = g.stats;

        std::vector<std::size_t> per_generic;
        std::array<std::size_t, 5> histogram{};
        for (const Generic& gen : p.generics) {
            const std::size_t n = gen.methods.size();
            per_generic.push_back(n);
            ++histogram[n == 0 ? 0 : n < 5 ? 1 : n < 10 ? 2 : n < 100 ? 3 : 4];
        }
        std::sort(per_generic.begin(), per_generic.end());
        CHECK(st.methods_max == per_generic.back());
        CHECK(st.methods_median == per_generic[per_generic.size() / 2]);
        CHECK(st.methods_histogram == histogram);

        // Depth, multiple inheritance and diamonds, from the registry the compiler built.
        const jdc::TypeId any = p.registry.find("Any");
        std::vector<int> depth(p.registry.size() + 1, 0);
        std::vector<std::set<jdc::TypeId>> ancestors(p.registry.size() + 1);
        int max_depth = 0;
        std::size_t several = 0, diamonds = 0;
        for (const jdc::Type& t : p.registry.types()) {
            ancestors[t.id].insert(t.id);
            for (jdc::TypeId s : t.supertypes) {
                depth[t.id] = std::max(depth[t.id], depth[s] + 1);
                ancestors[t.id].insert(ancestors[s].begin(), ancestors[s].end());
            }
            max_depth = std::max(max_depth, depth[t.id]);
            if (t.supertypes.size() < 2) continue;
            ++several;
            bool diamond = false;
            for (std::size_t i = 0; i < t.supertypes.size(); ++i)
                for (std::size_t j = i + 1; j < t.supertypes.size(); ++j)
                    for (jdc::TypeId a : ancestors[t.supertypes[i]]) diamond = diamond || (a != any && ancestors[t.supertypes[j]].count(a));
            diamonds += diamond;
        }
        CHECK(st.max_depth == max_depth);
        CHECK(st.multiple_inheritance == several);
        CHECK(st.diamonds == diamonds);
        CHECK(st.numeric_types == p.subtypes_of(p.registry.find("Number")).size());

        const std::string text = describe_stats(g);
        CHECK(text.find("methods per generic function: median " + std::to_string(st.methods_median)) != std::string::npos);
        CHECK(text.find("calls in method bodies: " + std::to_string(st.call_sites)) != std::string::npos);
        CHECK(std::count(text.begin(), text.end(), '\n') == 3);
    }
}

TEST_CASE("generated projects have a long tail, deep hierarchies with diamonds, and bodies full of calls") {
    const GeneratedProject medium = generate_project({1000, 1}), large = generate_project({10000, 1});
    for (const GeneratedProject* g : {&medium, &large}) {
        const GeneratorStats& st = g->stats;
        CHECK(st.methods_histogram[4] >= 2);  // functions with 100 methods or more
        CHECK(st.methods_max <= 500);
        CHECK(st.methods_median <= 4);        // ... and most have a few
        CHECK(st.call_sites >= 2 * g->methods);
        CHECK(st.abstract_calls > st.call_sites / 4);
        CHECK(st.max_depth >= 12);
        CHECK(st.diamonds > 0);
        CHECK(st.numeric_types <= 400);
    }
    CHECK(large.stats.methods_histogram[4] >= 5);
    CHECK(large.stats.methods_max >= 400);
}

TEST_CASE("dispatch tables count each method's wins from the matrix exactly as the reference resolver does") {
    // A generated project: arity 1-3, multiple inheritance, ambiguities and gaps.
    Files files;
    for (const GeneratedFile& f : generate_project({120, 11}).files) files[f.path] = f.text;
    const Program program = program_of(files);
    std::size_t with_matrix = 0, checked = 0;
    for (const Generic& g : program.generics) {
        if (g.methods.empty()) continue;
        for (OptLevel level : {OptLevel::none, OptLevel::hot_path}) {
            auto built = build_dispatch_table(program, g, level);
            REQUIRE(built);
            const auto domains = dispatch_domains(program, g);
            const TupleCounts want = resolve_all_tuples(built->table, program.registry, domains);
            CAPTURE(g.name);
            for (std::size_t i = 0; i < built->table.implementations.size(); ++i)
                CHECK(built->table.implementations[i].call_frequency == want.wins[i]);
            {
                // The matrix handed to the cache is this table's (renumbered when the
                // methods were reordered): it answers every tuple as the oracle does.
                REQUIRE(built->matrix);
                ++with_matrix;
                std::vector<std::size_t> at(domains.size(), 0);
                std::vector<jdc::TypeId> args(domains.size());
                for (std::uint64_t n = 0; n < tuple_count(program, g) && n < 500; ++n) {
                    for (std::size_t p = 0; p < args.size(); ++p) args[p] = (*domains[p])[at[p]];
                    const jdc::Resolution got = built->matrix->resolve(args);
                    CHECK(got.same_outcome(jdc::resolve_reference(built->table, program.registry, args)));
                    for (std::size_t p = 0; p < at.size() && ++at[p] == domains[p]->size(); ++p) at[p] = 0;
                    ++checked;
                }
            }
        }
    }
    CHECK(with_matrix > 200);
    CHECK(checked > 1000);
}
