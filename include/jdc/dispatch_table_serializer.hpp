// jdc — the seed's DispatchTableSerializer: whole tables in and out of a cache directory.
//
// Cache layer, over LocalStore. A table given whole is stored under its content key
// (table_content_key: what the table is, plus the format version), so `isCached`
// needs no other input. Compilers that want to find a table *before* building it use
// BuildCacheManager, which keys by the table's inputs instead.
//
//   DispatchTableSerializer s = *DispatchTableSerializer::open(".janus_cache/dispatch_tables");
//   auto path = s.serializeTable(table, registry, optimization);       // Result<path>
//   bool hit  = *s.isCached(table, registry);
//   auto key  = s.calculateCacheKey(table, registry);
//   auto t    = s.deserializeTable(key, registry);   // Result<CachedTable>; error code says
//                                                    // why not: not_found, stale, corrupt, ...
#pragma once

#include <filesystem>
#include <ostream>

#include "jdc/cached_table.hpp"
#include "jdc/export.hpp"
#include "jdc/local_store.hpp"
#include "jdc/optimization.hpp"

namespace jdc {

struct SerializerStats {
    std::uint64_t serialized = 0;
    std::uint64_t bytes_written = 0;
    std::uint64_t deserialized = 0;
    std::uint64_t bytes_read = 0;
    std::uint64_t misses = 0;
    std::uint64_t stale = 0;
    std::uint64_t corrupt = 0;
    StoreStats store;
};

class JDC_API DispatchTableSerializer {
public:
    static Result<DispatchTableSerializer> open(const std::filesystem::path& cache_directory, StoreOptions options = {});

    // Stores the table; returns the path of the file now holding it.
    Result<std::filesystem::path> serializeTable(const DispatchTable& table, const TypeRegistry& registry,
                                                 const OptimizationResult& optimization = {});
    Result<bool> isCached(const DispatchTable& table, const TypeRegistry& registry) const;
    CacheKey calculateCacheKey(const DispatchTable& table, const TypeRegistry& registry) const;
    // The stored table bound to `registry`. Errors: not_found (never stored, or
    // evicted), stale (a type it uses changed; the entry is dropped), and the
    // verification error of a damaged entry (dropped too).
    Result<CachedTable> deserializeTable(const CacheKey& key, const TypeRegistry& registry);

    SerializerStats getStats() const;
    void generateCacheReport(std::ostream& out) const;

    LocalStore& store() noexcept { return store_; }

private:
    explicit DispatchTableSerializer(LocalStore store) : store_(std::move(store)) {}
    LocalStore store_;
    SerializerStats stats_;
};

}  // namespace jdc
