// jdc — the in-memory dispatch model: implementations (methods) of one generic
// function and the table that groups them.
//
// This is what a compiler builds on a cache miss. The arena format (arena_format.hpp)
// stores exactly these fields; ArenaView reads them back without copying.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "jdc/export.hpp"
#include "jdc/type_registry.hpp"

namespace jdc {

// Effects bitset; pure is the empty set. Values are part of the on-disk format.
enum class Effect : std::uint32_t {
    pure = 0,
    cpu = 1,
    io = 2,
    fs = 4,
    net = 8,
};
inline constexpr std::uint32_t kKnownEffectBits = 1u | 2u | 4u | 8u;

struct FunctionId {
    std::string name;
    std::string module;
    std::uint32_t id = 0;

    bool operator==(const FunctionId&) const = default;
};

struct SourceLocation {
    std::string file;
    std::uint32_t line = 0;
    std::uint32_t column = 0;

    bool operator==(const SourceLocation&) const = default;
};

// One method of a generic function.
struct Implementation {
    FunctionId function;
    std::vector<TypeId> parameter_types;  // size == the table's arity
    TypeId return_type = kInvalidType;
    std::uint32_t effects = 0;          // bitwise or of Effect values
    SourceLocation location;
    std::uint32_t specificity_rank = 0;  // informational: sum of parameter depths
    std::uint64_t call_frequency = 0;    // profile data; 0 when unknown

    bool operator==(const Implementation&) const = default;
};

// The declared signature of the generic function itself.
struct TypeSignature {
    std::vector<TypeId> parameter_types;  // declared (most general) parameter types
    TypeId return_type = kInvalidType;

    std::size_t arity() const noexcept { return parameter_types.size(); }
    bool operator==(const TypeSignature&) const = default;
};

struct DispatchTable {
    std::string signature_name;  // the generic function's name
    TypeSignature signature;
    std::vector<Implementation> implementations;

    std::size_t arity() const noexcept { return signature.arity(); }
    bool operator==(const DispatchTable&) const = default;
};

// Checks that a table is well formed against a registry: every type id registered,
// every implementation of the table's arity, each parameter a subtype of the declared
// one, no unknown effect bits. Builders call this before writing an arena.
JDC_API Result<void> validate(const DispatchTable& table, const TypeRegistry& registry);

// Sum over parameters of the depth of each type (longest supertype chain): larger is
// more specific. What `specificity_rank` holds when a compiler does not set it.
JDC_API std::uint32_t specificity_rank(const Implementation& impl, const TypeRegistry& registry);

}  // namespace jdc
