// janusc — the semantic model: a whole Janus program, checked and resolved.
//
// analyze() takes every parsed module of a project and either returns the Program
// (the type registry, the import graph, each generic function with all its methods
// from every module) or every error it found, in the `file:line:col: error:` form.
// Pure: no I/O, so tests build programs from strings.
//
// Rules it enforces (docs/janus-language.md, "Semantics"):
//   - module `a.b` lives in file `a/b.jn`; imports name existing modules; no import cycles;
//   - type and generic function names are unique in the program, and the built-in
//     type names (i32, f64, bool, string) cannot be redeclared;
//   - a module sees its own declarations and those of every module it imports,
//     directly or transitively; a name must be declared and visible where it is used;
//   - supertypes form no cycle; a type has no duplicate supertype and no built-in one;
//   - a generic function takes 1 to 3 parameters; each method of it has the same
//     arity, parameter types that are subtypes of the declared ones, a return type
//     that is a subtype of the declared one, and differs from every other method of
//     the function in at least one parameter type;
//   - in method bodies, names are parameters or earlier `let`s (no redefinition), and
//     calls name a visible generic function with the right number of arguments;
//   - every expression in a body has a static type (docs/janus-language.md, "Static
//     types"): arithmetic takes numbers, and each argument of a call is a subtype of
//     the parameter type its generic function declares. Every well-typed call of a
//     generic function is recorded as a CallSite, which the build resolves over the
//     cone of its argument types (call_sites.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "janusc/ast.hpp"
#include "janusc/diagnostic.hpp"
#include "jdc/dispatch_table.hpp"

namespace janusc {

inline constexpr std::size_t kMaxArity = 3;

struct SourceModule {
    std::string path;  // relative to the project root, '/'-separated: "geometry/shapes.jn"
    ast::Module module;
};

struct ModuleInfo {
    std::string name;                  // "geometry.shapes"
    std::string path;                  // "geometry/shapes.jn"
    std::string display;               // the file name diagnostics use (ast::Module::file)
    std::vector<std::size_t> imports;  // direct imports, indexes into Program::modules, sorted
    std::vector<jdc::TypeId> types;    // declared here, in registry order
    std::vector<std::size_t> generics;  // declared here, indexes into Program::generics
    std::size_t method_count = 0;       // methods defined here
};

struct Method {
    std::size_t module = 0;  // where it is defined
    SourcePos pos;           // of its name
    std::vector<jdc::TypeId> parameters;
    std::vector<std::string> parameter_names;  // as written: warnings quote methods as `f(a: T, b: U)`
    jdc::TypeId result = jdc::kInvalidType;
};

struct Generic {
    std::string name;
    std::size_t module = 0;  // where it is declared
    SourcePos pos;
    jdc::TypeSignature signature;
    std::vector<Method> methods;              // sorted by (module name, position): independent of file order
    std::vector<std::size_t> method_modules;  // modules defining its methods, sorted, unique
};

// A call of a generic function in a method body, with the static types of its
// arguments (each a subtype of the parameter type the generic function declares, so
// the cone of a call lies within the argument types its table was checked over).
struct CallSite {
    std::size_t module = 0;   // the module whose method body makes the call
    SourcePos pos;            // of the callee's name
    std::size_t generic = 0;  // index into Program::generics
    std::array<jdc::TypeId, kMaxArity> argument_storage{};
    std::uint32_t arity = 0;

    std::span<const jdc::TypeId> argument_types() const noexcept { return std::span<const jdc::TypeId>(argument_storage).first(arity); }
};

struct Program {
    jdc::TypeRegistry registry;
    std::vector<ModuleInfo> modules;        // sorted by name
    std::vector<std::size_t> import_order;  // modules, every module after all it imports
    std::vector<Generic> generics;          // in import_order of their module, then by position
    std::vector<std::size_t> type_module;   // TypeId -> declaring module (built-ins: SIZE_MAX)
    std::vector<CallSite> call_sites;       // sorted by module, then position

    // Every type that is a subtype of `t` (itself included), in id order: the argument
    // types a parameter declared as `t` can receive. Computed once per type by analyze().
    const std::vector<jdc::TypeId>& subtypes_of(jdc::TypeId t) const { return subtypes_[t]; }

    std::size_t method_count() const noexcept;
    const std::string& type_name(jdc::TypeId t) const;  // "?" for an unknown id

private:
    friend class Analyzer;
    std::vector<std::vector<jdc::TypeId>> subtypes_;  // index: TypeId
};

tl::expected<Program, Diagnostics> analyze(std::vector<SourceModule> modules);

}  // namespace janusc
