// The README's library example, compiled and run. The block between the markers must
// match README.md's example verbatim (checked below), so the README cannot drift
// from an API that compiles.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include "support/temp_dir.hpp"

// README-BEGIN
#include <jdc/build_cache_manager.hpp>
#include <iostream>

int compile_with_cache() {
    // The compiler's types: registered supertypes first.
    jdc::TypeRegistry registry;
    jdc::TypeId shape = *registry.add("Shape", jdc::TypeKind::struct_);
    jdc::TypeId circle = *registry.add("Circle", jdc::TypeKind::struct_, std::vector{shape});

    // The cache: its directory and settings from JANUS_CACHE_*, its jdc.conf, the defaults.
    auto config = jdc::CacheConfig::load();
    if (!config) { std::cerr << config.error().message << "\n"; return 2; }
    auto cache = jdc::BuildCacheManager::create(*config, {"janusc 0.1", /*flags hash*/ 0});
    if (!cache) { std::cerr << cache.error().message << "\n"; return 2; }
    cache->startBuildSession();

    // The generic function `area` as the front end sees it: signature and methods.
    jdc::DispatchTable area;
    area.signature_name = "area";
    area.signature = {{shape}, jdc::kTypeF64};
    jdc::Implementation m;
    m.function = {"area", "geometry", 1};
    m.parameter_types = {circle};
    m.return_type = jdc::kTypeF64;
    m.location = {"geometry.jn", 12, 6};
    area.implementations.push_back(m);

    // What decides its table, and so its key: the signature, the domain of Shape and
    // the methods (not the source files: a comment or a body edit keeps the table).
    jdc::TableInputs inputs;
    inputs.name = "area";
    inputs.signature = area.signature;
    inputs.methods = jdc::method_inputs(area);

    // Runs only on a miss: the expensive resolution a compiler does.
    auto build = [&](const jdc::TableInputs&, const jdc::TypeRegistry&) -> jdc::Result<jdc::BuiltTable> {
        return jdc::BuiltTable{area, {}};
    };

    auto table = cache->getOrBuildDispatchTable(inputs, registry, build);  // hit: zero-copy from disk
    if (!table) { std::cerr << table.error().message << "\n"; return 1; }
    jdc::TypeId args[] = {circle};
    jdc::Resolution r = table->lookup(args);  // in place, no allocation
    std::cout << "area(Circle) -> implementation #" << r.index << "\n";

    cache->endBuildSession();
    cache->generateBuildReport(std::cout);
    return r.kind == jdc::ResolutionKind::method ? 0 : 1;
}
// README-END

namespace {

std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string between(const std::string& text, const std::string& begin, const std::string& end) {
    const auto b = text.find(begin);
    if (b == std::string::npos) return {};
    const auto start = text.find('\n', b) + 1;
    const auto e = text.find(end, start);
    if (e == std::string::npos) return {};
    return text.substr(start, text.rfind('\n', e) + 1 - start);
}

}  // namespace

TEST_CASE("the README example compiles, runs, and hits on the second build", "[readme]") {
    jdc::testing::TempDir dir;
    ::setenv("JANUS_CACHE_DIR", dir.path.c_str(), 1);
    CHECK(compile_with_cache() == 0);
    CHECK(compile_with_cache() == 0);
    ::unsetenv("JANUS_CACHE_DIR");
    auto stats = read((dir.path / "stats.json").string());
    CHECK(stats.find("\"hits\": 1") != std::string::npos);
}

TEST_CASE("the README shows exactly this example", "[readme]") {
    const std::string source = read(JDC_SOURCE_ROOT "/tests/readme_example.cpp");
    const std::string readme = read(JDC_SOURCE_ROOT "/README.md");
    const std::string code = between(source, "// README-BEGIN", "// README-END");
    const std::string shown = between(readme, "<!-- example: tests/readme_example.cpp -->", "```\n");
    REQUIRE_FALSE(code.empty());
    CHECK(shown == "```cpp\n" + code);
}
