// jdc — a dispatch table obtained through the cache: loaded from it, or just built.
//
// Cache layer. Either way the table is an arena bound to the caller's registry, so
// callers use one type: lookups run in place, `to_table()` copies out when needed.
// A CachedTable owns what its view points into (the stored file's bytes, a pack
// mapping, or the freshly built arena) and borrows the registry, which must outlive it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "jdc/arena_view.hpp"
#include "jdc/cache_key.hpp"
#include "jdc/export.hpp"

namespace jdc {

enum class TableOrigin : std::uint8_t {
    cache,   // the local store
    built,   // the builder ran (a miss)
    remote,  // fetched from the remote tier, verified, and written to the local store
};

class JDC_API CachedTable {
public:
    // Binds `view` (whose bytes `owner` keeps alive), fetched under `key` — a key the
    // caller computed from `registry` and the table's inputs — to the registry. The
    // arena must carry `key` (else stale: the bytes of another table, or of this
    // table before an edit); its types are then the caller's by construction and are
    // not checked one by one (BoundArena::bind_keyed). `declared_parameters`: the live
    // ids of the table's declared parameter types. Errors: stale, invalid_argument.
    static Result<CachedTable> bind(std::shared_ptr<const void> owner, const ArenaView& view, const TypeRegistry& registry,
                                    CacheKey key, std::span<const TypeId> declared_parameters, TableOrigin origin);
    // For an arena whose key was not computed from this registry (the seed's
    // serializer stores tables by content): the arena must carry `key`, and every
    // type is checked against the registry (BoundArena::bind). Errors: stale.
    static Result<CachedTable> bind_checked(std::shared_ptr<const void> owner, const ArenaView& view, const TypeRegistry& registry,
                                            CacheKey key, TableOrigin origin);
    // Arena bytes shared with their other owners (a write-behind queue), verified here
    // (a builder bug must not reach lookups), then bound as bind() does.
    static Result<CachedTable> from_shared(std::shared_ptr<const std::vector<std::byte>> bytes, const TypeRegistry& registry,
                                           CacheKey key, std::span<const TypeId> declared_parameters, TableOrigin origin);

    const ArenaView& view() const noexcept { return bound_.view(); }
    const BoundArena& bound() const noexcept { return bound_; }
    Resolution lookup(std::span<const TypeId> args) const noexcept { return bound_.lookup(args); }
    DispatchTable to_table() const { return bound_.to_table(); }
    const CacheKey& key() const noexcept { return key_; }
    TableOrigin origin() const noexcept { return origin_; }

private:
    CachedTable(std::shared_ptr<const void> owner, BoundArena bound, CacheKey key, TableOrigin origin)
        : owner_(std::move(owner)), bound_(std::move(bound)), key_(key), origin_(origin) {}
    std::shared_ptr<const void> owner_;
    BoundArena bound_;
    CacheKey key_;
    TableOrigin origin_;
};

}  // namespace jdc
