// jdc (internal) — the cache key of a table, computed from its inputs.
//
// Cache layer. The key is XXH3-128 over a canonical encoding of everything that
// decides a table (table_inputs.hpp): a domain string, the arena format version (a
// new format is a new key), the build identity, the table's name, a hash of its
// signature, its sources (sorted by path) and an order-independent hash of the set
// of types it depends on. Types are hashed by their structural hashes, never by
// their ids, which differ from one compiler run to the next.
//
// The other hashes here are the ones the inputs log records beside the key, so that
// a miss can be explained by which input changed (miss_explanation.hpp).
#pragma once

#include <cstdint>
#include <string>

#include "jdc/cache_key.hpp"
#include "jdc/table_inputs.hpp"
#include "jdc/type_registry.hpp"

namespace jdc::detail {

CacheKey table_key(const BuildIdentity& identity, const TableInputs& inputs, const TypeRegistry& registry);

// XXH3-64 of the signature's arity and its types' structural hashes.
std::uint64_t signature_hash(const TypeSignature& signature, const TypeRegistry& registry);

// The set of inputs.types as 32 hex digits: the same set hash the key covers, so a
// change of any type of the domain changes it whether or not the types are listed.
std::string types_digest(const TableInputs& inputs, const TypeRegistry& registry);

}  // namespace jdc::detail
