// jdc — what every store of arenas offers: get by key (verified), put by key.
//
// Storage layer. The local store (a cache directory) and the remote tier (Redis) both
// satisfy this concept, so code that moves arenas between tiers is written once and
// a new tier is checked by the compiler against the same contract:
//   get(key)  -> Result<A> where A owns its bytes and has `const ArenaView& view()`,
//                verified in full; ErrorCode::not_found is a miss, any other error
//                says why the entry could not be used.
//   put(req)  -> Result<void>; the arena is verified in full before it is stored,
//                so a store never publishes bytes it would refuse to read (unless
//                the request says they were verified already: then its header).
// How long an entry lives, and whether a get may see an older put of the same key
// from another process, is each store's own contract (see its header). Each store's
// header checks itself against the concept with a static_assert, so this header
// depends on no store.
#pragma once

#include <concepts>
#include <cstdint>
#include <span>

#include "jdc/arena_view.hpp"
#include "jdc/cache_key.hpp"
#include "jdc/error.hpp"

namespace jdc {

// What a put stores: the arena's bytes under `key`, with the hash of the build
// configuration that produced it (kept in the local store's index; ignored by stores
// that have nowhere to keep it).
struct PutRequest {
    CacheKey key;
    std::span<const std::byte> arena;
    std::uint64_t config_hash = 0;
    // The caller verified these exact bytes in full (ArenaView::open) in this process
    // and they have not changed since: the store then checks their header and key
    // only. Verify once: the cache layer's tables were verified when they were built
    // or fetched, and a second O(size) pass before writing them cost as much again.
    bool verified = false;
};

namespace detail {
template <class T>
inline constexpr bool is_result = false;
template <class T>
inline constexpr bool is_result<Result<T>> = true;
}  // namespace detail

template <class S>
concept ArenaStore = requires(S& store, const CacheKey& key, const PutRequest& request) {
    requires detail::is_result<decltype(store.get(key))>;
    { store.get(key)->view() } -> std::same_as<const ArenaView&>;
    { store.put(request) } -> std::same_as<Result<void>>;
};

}  // namespace jdc
