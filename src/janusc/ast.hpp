// janusc — the syntax tree of one Janus module, as the parser produces it.
//
// Names are kept as written; resolving them is the semantic model's job
// (program.hpp). Expressions of a function body live in one flat vector and refer
// to each other by index, so a deep expression cannot overflow the stack when the
// tree is destroyed or copied. The parser appends an expression after its operands,
// and a statement's expressions after the previous statement's: the expressions of
// statement k are exprs(previous statement's root, root of k], operands first, so one
// forward pass computes what depends on operands (the static types, program.cpp).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "janusc/diagnostic.hpp"

namespace janusc::ast {

struct Name {
    std::string text;  // for a qualified name: "a.b.c"
    SourcePos pos;
};

struct Import {
    Name module;
};

struct TypeDecl {
    Name name;
    std::vector<Name> supertypes;  // as written; empty for a root type
};

struct Param {
    Name name;
    Name type;
};

enum class ExprKind : std::uint8_t { integer, floating, string, boolean, name, call, negate, add, subtract, multiply, divide };

struct Expr {
    ExprKind kind = ExprKind::integer;
    SourcePos pos;
    std::string text;  // literal as written, name, or callee
    // Call arguments or operator operands: Function::operands[first_operand, +operand_count),
    // each an index into Function::exprs. One vector per function, not one per node.
    std::uint32_t first_operand = 0;
    std::uint32_t operand_count = 0;
};

enum class StmtKind : std::uint8_t { let, return_, expression };

struct Stmt {
    StmtKind kind = StmtKind::expression;
    SourcePos pos;
    Name name;              // for `let`
    std::uint32_t expr = 0;  // root expression, index into Function::exprs
};

// `generic f(params) -> T` (a declaration, no body) or `func f(params) -> T { body }` (a method).
struct Function {
    bool is_generic = false;
    Name name;
    std::vector<Param> params;
    Name result;
    std::vector<Stmt> body;
    std::vector<Expr> exprs;
    std::vector<std::uint32_t> operands;

    std::span<const std::uint32_t> operands_of(const Expr& e) const {
        return std::span<const std::uint32_t>(operands).subspan(e.first_operand, e.operand_count);
    }
};

struct Module {
    std::string file;  // as given to the parser; used in diagnostics
    Name name;
    std::vector<Import> imports;
    std::vector<TypeDecl> types;
    std::vector<Function> generics;
    std::vector<Function> methods;
};

}  // namespace janusc::ast
