// janusc — the parser of the Janus language (grammar: docs/janus-language.md).
//
// A hand-written recursive-descent parser over the lexer's tokens. It does no I/O and
// never crashes, whatever the input: expressions deeper than kMaxExpressionDepth are
// an error rather than a stack overflow, and after a syntax error it skips to the next
// declaration so that one file reports several independent errors (at most
// kMaxErrorsPerFile). This is the entry point of the parser's fuzz target.
#pragma once

#include <string_view>

#include <tl/expected.hpp>

#include "janusc/ast.hpp"
#include "janusc/diagnostic.hpp"

namespace janusc {

inline constexpr std::uint32_t kMaxExpressionDepth = 128;

// The module, or every error found (each naming `file_name`, line and column).
// `file_name` is used only in diagnostics and in Module::file.
tl::expected<ast::Module, Diagnostics> parse_module(std::string_view source, std::string_view file_name);

}  // namespace janusc
