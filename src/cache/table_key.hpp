// jdc (internal) — the cache key of a table, computed from its inputs, and the
// smaller hashes the inputs log records beside it to explain a miss.
//
// Cache layer. The key is XXH3-128 over a canonical encoding of exactly the inputs
// table_inputs.hpp lists (that header states the contract; format-spec/
// cache-directory-v1.md §"Keys" gives the encoding byte by byte). Types are hashed by
// structural hash and domains by digest, never by id: ids differ from one compiler
// run to the next. A domain's digest is computed once per registry (TypeRegistry::
// domain), so a key costs O(methods x arity) loads and a few hundred bytes of hashing.
#pragma once

#include <cstdint>
#include <string>

#include "jdc/cache_key.hpp"
#include "jdc/table_inputs.hpp"
#include "jdc/type_registry.hpp"

namespace jdc::detail {

CacheKey table_key(const BuildIdentity& identity, const TableInputs& inputs, const TypeRegistry& registry);

// XXH3-64 of the declared parameter and return types' structural hashes.
std::uint64_t signature_hash(const TypeSignature& signature, const TypeRegistry& registry);
// XXH3-64 of the methods as the key encodes them (0 when they are not known).
std::uint64_t methods_hash(const TableInputs& inputs, const TypeRegistry& registry);

// Text for records and messages: "collide(Shape, Shape) -> bool", "area(Disk) -> f64".
std::string describe_signature(std::string_view name, const TypeSignature& signature, const TypeRegistry& registry);
std::string describe_method(const MethodInput& method, const TypeRegistry& registry);
std::string type_name(const TypeRegistry& registry, TypeId id);  // "?" for an unknown id, "none" for kInvalidType

}  // namespace jdc::detail
