// A synthetic build: one type hierarchy (multiple inheritance), many generic functions
// of arity 1-2, each table built the way a compiler checks one: the reference resolver
// over every tuple of the types its methods mention, counting ambiguous and
// uncovered calls. The build runs twice through BuildCacheManager, cold then warm, in
// one cache directory; the reports show what the cache saved.
#include "demo_build.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "jdc/build_cache_manager.hpp"
#include "jdc/resolver.hpp"
#include "util/forward_error.hpp"
#include "tools/tool_support.hpp"
#include "util/report_format.hpp"

namespace jdc::tools {
namespace {

struct Program {
    TypeRegistry registry;
    std::vector<TypeId> types;  // user types, supertypes first
    struct Function {
        std::string name;
        std::uint32_t arity;
        std::vector<std::vector<TypeId>> methods;  // parameter types per method
    };
    std::vector<Function> functions;
};

Program make_program(const DemoOptions& o) {
    std::mt19937_64 rng(o.seed);
    auto below = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    Program p;
    p.types.push_back(*p.registry.add("Any", TypeKind::struct_));
    for (std::uint32_t i = 1; i < o.types; ++i) {
        std::vector<TypeId> supers{p.types[p.types.size() - 1 - below(std::min<std::size_t>(p.types.size(), 8))]};
        if (below(4) == 0) {
            const TypeId second = p.types[below(p.types.size())];
            if (second != supers[0]) supers.push_back(second);
        }
        p.types.push_back(*p.registry.add("Type" + std::to_string(i), TypeKind::struct_, supers));
    }
    for (std::uint32_t f = 0; f < o.functions; ++f) {
        Program::Function fn;
        fn.name = "fn" + std::to_string(f);
        fn.arity = 1 + static_cast<std::uint32_t>(below(2));
        const std::size_t methods = 4 + below(20);
        fn.methods.push_back(std::vector<TypeId>(fn.arity, p.types[0]));  // a fallback method on Any
        for (std::size_t m = 1; m < methods; ++m) {
            std::vector<TypeId> params;
            for (std::uint32_t a = 0; a < fn.arity; ++a) params.push_back(p.types[below(p.types.size())]);
            fn.methods.push_back(params);
        }
        p.functions.push_back(std::move(fn));
    }
    return p;
}

// The table's methods as the compiler knows them before resolving anything: what its
// cache key is made of (TableInputs::methods), and what a miss starts from.
DispatchTable skeleton(const Program& p, const Program::Function& fn) {
    DispatchTable t;
    t.signature_name = fn.name;
    t.signature = {std::vector<TypeId>(fn.arity, p.types[0]), kTypeF64};
    for (std::size_t m = 0; m < fn.methods.size(); ++m) {
        Implementation impl;
        impl.function = {fn.name, "module" + std::to_string(m % 5), static_cast<std::uint32_t>(m)};
        impl.parameter_types = fn.methods[m];
        impl.return_type = kTypeF64;
        impl.location = {"src/module" + std::to_string(m % 5) + ".jn", static_cast<std::uint32_t>(10 + 4 * m), 1};
        impl.specificity_rank = specificity_rank(impl, p.registry);
        t.implementations.push_back(std::move(impl));
    }
    return t;
}

// What the compiler would do on a miss: lay out the table, then resolve every call
// over the types the methods mention, to report ambiguities. The resolution is the
// expensive part that the cache saves.
Result<BuiltTable> build_table(const Program& p, const Program::Function& fn) {
    BuiltTable out;
    DispatchTable& t = out.table;
    t = skeleton(p, fn);
    std::vector<TypeId> mentioned;
    for (const auto& params : fn.methods) mentioned.insert(mentioned.end(), params.begin(), params.end());
    std::sort(mentioned.begin(), mentioned.end());
    mentioned.erase(std::unique(mentioned.begin(), mentioned.end()), mentioned.end());
    std::uint64_t ambiguous = 0;
    std::vector<TypeId> args(fn.arity);
    std::vector<std::size_t> idx(fn.arity, 0);
    while (true) {
        for (std::uint32_t a = 0; a < fn.arity; ++a) args[a] = mentioned[idx[a]];
        if (resolve_reference(t, p.registry, args).kind == ResolutionKind::ambiguous) ++ambiguous;
        std::uint32_t a = 0;
        while (a < fn.arity && ++idx[a] == mentioned.size()) idx[a++] = 0;
        if (a == fn.arity) break;
    }
    out.optimization.performance_improvement = 0;
    (void)ambiguous;  // a compiler would report these; the table is the same either way
    return out;
}

// Views into `methods_of`, which must outlive the inputs.
TableInputs inputs_for(const DispatchTable& methods_of) {
    TableInputs in;
    in.name = methods_of.signature_name;
    in.signature = methods_of.signature;
    in.methods = method_inputs(methods_of);
    return in;
}

struct DemoBuild {
    std::vector<DispatchTable> tables;
    std::uint64_t wall_ns = 0;
    std::string report_json;  // BuildCacheManager::build_report_json()
};

Result<DemoBuild> build_once(const Program& p, const DemoOptions& o, const char* label) {
    CacheConfig::Request request;
    request.directory = o.cache_dir;
    auto config = CacheConfig::load(request);  // the environment, and the demo cache's jdc.conf
    if (!config) return tl::unexpected(config.error());
    auto manager = BuildCacheManager::create(*config, {"jdc demo-build 1", o.seed});
    if (!manager) return tl::unexpected(manager.error());
    JDC_FORWARD_IF_ERROR(manager->startBuildSession());
    const auto start = std::chrono::steady_clock::now();
    std::vector<DispatchTable> tables;
    for (const auto& fn : p.functions) {
        const DispatchTable methods = skeleton(p, fn);
        auto table = manager->getOrBuildDispatchTable(
            inputs_for(methods), p.registry, [&](const TableInputs&, const TypeRegistry&) { return build_table(p, fn); });
        if (!table) return tl::unexpected(table.error());
        tables.push_back(table->to_table());
    }
    const auto took = std::chrono::steady_clock::now() - start;
    JDC_FORWARD_IF_ERROR(manager->endBuildSession());
    DemoBuild build{std::move(tables), static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(took).count()),
                    manager->build_report_json()};
    if (!o.json) {
        std::cout << "== " << label << " build: " << p.functions.size() << " dispatch tables in " << format_duration_ns(build.wall_ns)
                  << " wall\n";
        manager->generateBuildReport(std::cout);
        std::cout << "\n";
    }
    return build;
}

}  // namespace

int run_demo_build(const DemoOptions& o) {
    if (o.functions == 0 || o.types < 2) {
        std::cerr << "jdc: demo-build needs at least 1 function and 2 types\n";
        return 2;
    }
    const Program p = make_program(o);
    if (!o.json)
        std::cout << "synthetic program: " << o.types << " types (multiple inheritance), " << o.functions
                  << " generic functions of arity 1-2; cache " << o.cache_dir << "\n\n";
    auto cold = build_once(p, o, "first");
    if (!cold) {
        std::cerr << "jdc: " << cold.error().message << "\n";
        return 2;
    }
    auto warm = build_once(p, o, "second");
    if (!warm) {
        std::cerr << "jdc: " << warm.error().message << "\n";
        return 2;
    }
    std::size_t same = 0;
    for (std::size_t i = 0; i < cold->tables.size(); ++i) same += cold->tables[i] == warm->tables[i] ? 1 : 0;
    if (o.json) {
        const auto build_json = [](const DemoBuild& b) {
            return nlohmann::json{{"wall_ns", b.wall_ns}, {"report", nlohmann::json::parse(b.report_json)}};
        };
        print_json(json_document({{"types", o.types},
                                  {"functions", o.functions},
                                  {"cache_dir", o.cache_dir},
                                  {"cold", build_json(*cold)},
                                  {"warm", build_json(*warm)},
                                  {"tables_identical", same}}));
    } else {
        std::cout << same << " of " << cold->tables.size() << " tables identical in both builds\n";
    }
    return same == cold->tables.size() ? 0 : 1;
}

}  // namespace jdc::tools
