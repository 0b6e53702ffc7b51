#include "jdc/cached_table.hpp"

namespace jdc {

Result<CachedTable> CachedTable::bind(std::shared_ptr<const void> owner, const ArenaView& view, const TypeRegistry& registry,
                                      CacheKey key, std::span<const TypeId> declared_parameters, TableOrigin origin) {
    auto bound = BoundArena::bind_keyed(view, registry, key, declared_parameters);
    if (!bound) return tl::unexpected(bound.error());
    return CachedTable(std::move(owner), std::move(*bound), key, origin);
}

Result<CachedTable> CachedTable::bind_checked(std::shared_ptr<const void> owner, const ArenaView& view, const TypeRegistry& registry,
                                              CacheKey key, TableOrigin origin) {
    if (view.key() != key)
        return make_error(ErrorCode::stale, "dispatch table '" + std::string(view.signature_name()) + "' was stored under key " +
                                                view.key().to_hex() + ", not " + key.to_hex() + " as asked");
    auto bound = BoundArena::bind(view, registry);
    if (!bound) return tl::unexpected(bound.error());
    return CachedTable(std::move(owner), std::move(*bound), key, origin);
}

Result<CachedTable> CachedTable::from_shared(std::shared_ptr<const std::vector<std::byte>> bytes, const TypeRegistry& registry,
                                             CacheKey key, std::span<const TypeId> declared_parameters, TableOrigin origin) {
    auto view = ArenaView::open(*bytes);
    if (!view) return tl::unexpected(view.error());
    return bind(std::move(bytes), *view, registry, key, declared_parameters, origin);
}

}  // namespace jdc
