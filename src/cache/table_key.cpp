#include "cache/table_key.hpp"

#include <algorithm>
#include <functional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "jdc/arena_format.hpp"
#include "util/hash_stream.hpp"
#include "util/hex.hpp"

namespace jdc::detail {
namespace {

std::uint64_t type_hash(const TypeRegistry& registry, TypeId id) {
    const Type* t = registry.find(id);
    return t != nullptr ? t->structural_hash : 0;
}

// The set of types a table depends on, as an order-independent hash: a sum of each
// type's structural hash under two different mixers (an additive multiset hash, Clarke
// et al. 2003: MSet-Add-Hash), over distinct ids. Sorting thousands of hashes on every
// lookup was a third of a warm build (janusc, large project); this is one pass. Ids
// that arrive ascending (the usual case) need no set; others are sorted once here.
struct TypeSetHash {
    std::uint64_t count = 0, sum_a = 0, sum_b = 0;
};

std::uint64_t mix_a(std::uint64_t x) noexcept {  // splitmix64's finalizer
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

std::uint64_t mix_b(std::uint64_t x) noexcept {  // murmur3's fmix64, on a rotated input
    x = (x << 29 | x >> 35) ^ 0x9e3779b97f4a7c15ull;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

TypeSetHash hash_type_set(std::span<const TypeId> ids, const TypeRegistry& reg) {
    const bool ascending = std::adjacent_find(ids.begin(), ids.end(), std::greater_equal<TypeId>()) == ids.end();
    std::vector<TypeId> sorted;
    if (!ascending) {
        sorted.assign(ids.begin(), ids.end());
        std::sort(sorted.begin(), sorted.end());
        sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
        ids = sorted;
    }
    TypeSetHash out;
    bool unknown_seen = false;  // ids the registry does not know all hash as 0: count them once
    for (TypeId id : ids) {
        const std::uint64_t hash = type_hash(reg, id);
        if (hash == 0 && std::exchange(unknown_seen, true)) continue;
        ++out.count;
        out.sum_a += mix_a(hash);
        out.sum_b += mix_b(hash);
    }
    return out;
}

}  // namespace

std::uint64_t signature_hash(const TypeSignature& sig, const TypeRegistry& registry) {
    HashStream h;
    h.u32(static_cast<std::uint32_t>(sig.arity()));
    for (TypeId t : sig.parameter_types) h.u64(type_hash(registry, t));
    h.u64(type_hash(registry, sig.return_type));
    return h.digest();
}

std::string types_digest(const TableInputs& in, const TypeRegistry& reg) {
    const TypeSetHash h = hash_type_set(in.types, reg);
    std::string out;
    out.reserve(32);
    append_hex(out, h.sum_a);
    append_hex(out, h.sum_b ^ h.count);
    return out;
}

CacheKey table_key(const BuildIdentity& identity, const TableInputs& in, const TypeRegistry& reg) {
    HashStream128 h;
    h.str("jdc table input key");
    h.u32((std::uint32_t{arena::kVersionMajor} << 16) | arena::kVersionMinor);
    h.str(identity.compiler_version);
    h.u64(identity.config_hash);
    h.str(in.name);
    h.u64(signature_hash(in.signature, reg));
    std::vector<std::pair<std::string_view, CacheKey>> sources;
    for (const auto& src : in.sources) sources.emplace_back(src.path, src.content_hash);
    std::sort(sources.begin(), sources.end());
    h.u32(static_cast<std::uint32_t>(sources.size()));
    for (const auto& [path, hash] : sources) {
        h.str(path);
        h.u64(hash.hi);
        h.u64(hash.lo);
    }
    const TypeSetHash types = hash_type_set(in.types, reg);
    h.u64(types.count);
    h.u64(types.sum_a);
    h.u64(types.sum_b);
    const XXH128_hash_t d = h.digest();
    return {d.high64, d.low64};
}

}  // namespace jdc::detail
