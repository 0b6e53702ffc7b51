// A program that uses an installed jdc: what a compiler does with the cache, in a few
// lines. Built by scripts/install-test.sh against an installed prefix, once with meson
// and pkg-config and once with CMake (README, "Install and use the library").
//
//   consumer            one build session: prints where the table came from
//   exit 0 when the lookup found the method, 1 when not, 2 when the cache failed
#include <iostream>
#include <vector>

#include <jdc/build_cache_manager.hpp>
#include <jdc/version.hpp>

int main() {
    // The compiler's types: supertypes are registered first.
    jdc::TypeRegistry registry;
    const jdc::TypeId shape = *registry.add("Shape", jdc::TypeKind::struct_);
    const jdc::TypeId circle = *registry.add("Circle", jdc::TypeKind::struct_, std::vector{shape});

    // The cache: flags (none here), JANUS_CACHE_*, the cache's jdc.conf, defaults.
    auto config = jdc::CacheConfig::load();
    if (!config) {
        std::cerr << "consumer: " << config.error().message << "\n";
        return 2;
    }
    auto cache = jdc::BuildCacheManager::create(*config, {"consumer 1.0", /*flags hash*/ 0});
    if (!cache) {
        std::cerr << "consumer: " << cache.error().message << "\n";
        return 2;
    }
    if (!cache->startBuildSession()) return 2;

    // The table of the generic function area(Shape) -> f64, built only on a miss.
    const jdc::TypeSignature signature{{shape}, jdc::kTypeF64};
    auto build = [&](const jdc::TableInputs&, const jdc::TypeRegistry&) -> jdc::Result<jdc::BuiltTable> {
        jdc::DispatchTable table;
        table.signature_name = "area";
        table.signature = signature;
        jdc::Implementation method;
        method.function = {"area", "geometry", 1};
        method.parameter_types = {circle};
        method.return_type = jdc::kTypeF64;
        table.implementations.push_back(method);
        return jdc::BuiltTable{table, {}};
    };
    auto table = cache->getOrBuildDispatchTable("area", signature, registry, build);
    if (!table) {
        std::cerr << "consumer: " << table.error().message << "\n";
        return 2;
    }
    const jdc::TypeId args[] = {circle};
    const jdc::Resolution r = table->lookup(args);
    std::cout << "jdc " << jdc::library_version() << ": area(Circle) -> method #" << r.index << ", table "
              << (table->origin() == jdc::TableOrigin::built ? "built" : "from the cache") << "\n";
    if (!cache->endBuildSession()) return 2;
    return r.kind == jdc::ResolutionKind::method ? 0 : 1;
}
