#include "jdc/dispatch_table_serializer.hpp"

#include <iomanip>

#include "jdc/arena_builder.hpp"
#include "util/forward_error.hpp"
#include "util/report_format.hpp"

namespace jdc {

Result<DispatchTableSerializer> DispatchTableSerializer::open(const std::filesystem::path& cache_directory, StoreOptions options) {
    auto store = LocalStore::open(cache_directory, std::move(options));
    if (!store) return tl::unexpected(store.error());
    return DispatchTableSerializer(std::move(*store));
}

CacheKey DispatchTableSerializer::calculateCacheKey(const DispatchTable& table, const TypeRegistry& registry) const {
    return table_content_key(table, registry);
}

Result<std::filesystem::path> DispatchTableSerializer::serializeTable(const DispatchTable& table, const TypeRegistry& registry,
                                                                      const OptimizationResult& optimization) {
    // Tables given whole get the default dispatch forms (arena_builder.hpp).
    const CacheKey key = calculateCacheKey(table, registry);
    ArenaBuildOptions options(0, DispatchForms::for_table(table));
    options.key = key;
    auto bytes = build_arena(table, registry, optimization, options);
    if (!bytes) return tl::unexpected(bytes.error());
    JDC_FORWARD_IF_ERROR(store_.put({key, *bytes, 0}));
    ++stats_.serialized;
    stats_.bytes_written += bytes->size();
    return store_.loose_path(key);
}

Result<bool> DispatchTableSerializer::isCached(const DispatchTable& table, const TypeRegistry& registry) const {
    return store_.find(calculateCacheKey(table, registry)).has_value();
}

Result<CachedTable> DispatchTableSerializer::deserializeTable(const CacheKey& key, const TypeRegistry& registry) {
    auto stored = store_.get(key);
    if (!stored) {
        if (stored.error().code == ErrorCode::not_found) ++stats_.misses;
        else ++stats_.corrupt;
        return tl::unexpected(stored.error());
    }
    const ArenaView& view = stored->view();
    auto table = CachedTable::bind_checked(stored->owner(), view, registry, key, TableOrigin::cache);
    if (!table) {
        ++stats_.stale;
        (void)store_.remove(key);  // built against types that no longer exist as they were
        return tl::unexpected(table.error());
    }
    ++stats_.deserialized;
    stats_.bytes_read += view.bytes().size();
    return table;
}

SerializerStats DispatchTableSerializer::getStats() const {
    SerializerStats s = stats_;
    s.store = store_.stats();
    return s;
}

void DispatchTableSerializer::generateCacheReport(std::ostream& out) const {
    const SerializerStats s = getStats();
    const IndexSummary& i = s.store.index;
    out << "jdc dispatch table cache: " << store_.root().string() << "\n"
        << "  entries:      " << i.live_count << " (" << format_bytes(i.total_bytes) << " of " << format_bytes(s.store.max_size_bytes)
        << ", " << s.store.pack_count << " packs)\n"
        << "  this process: " << s.serialized << " serialized (" << format_bytes(s.bytes_written) << "), " << s.deserialized
        << " deserialized (" << format_bytes(s.bytes_read) << "), " << s.misses << " misses, " << s.stale << " stale, " << s.corrupt
        << " corrupt\n"
        << "  lifetime:     " << i.hits << " hits, " << i.misses << " misses (hit ratio " << format_percent(i.hits, i.hits + i.misses)
        << "), " << i.evictions << " evictions, " << i.corrupt_drops << " corrupt drops, " << i.stale_drops << " stale drops\n";
}

}  // namespace jdc
