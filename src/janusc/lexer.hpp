// janusc — the lexer of the Janus language (docs/janus-language.md, "Lexical structure").
//
// Hand-written and total: every byte sequence becomes tokens plus error messages, and
// the lexer never reads outside its input. Tokens point into the source, which must
// outlive them.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "janusc/diagnostic.hpp"

namespace janusc {

enum class TokenKind : std::uint8_t {
    end,  // the end of the input; always the last token
    identifier,
    integer,
    floating,
    string,  // text includes the quotes; escapes are checked, not decoded
    kw_module,
    kw_import,
    kw_type,
    kw_generic,
    kw_func,
    kw_let,
    kw_return,
    kw_true,
    kw_false,
    lparen,
    rparen,
    lbrace,
    rbrace,
    comma,
    colon,
    semicolon,
    dot,
    arrow,
    plus,
    minus,
    star,
    slash,
    equals,
};

// How a token kind is named in messages: "identifier", "'->'", "'func'".
std::string_view describe(TokenKind kind) noexcept;

struct Token {
    TokenKind kind = TokenKind::end;
    std::string_view text;
    SourcePos pos;
};

struct LexError {
    SourcePos pos;
    std::string message;
};

struct LexResult {
    std::vector<Token> tokens;  // ends with one TokenKind::end
    std::vector<LexError> errors;  // at most kMaxErrorsPerFile
};

// Splits `source` into tokens. Comments (`//` to the end of the line) and white space
// separate tokens and are dropped. A bad character, number or string literal becomes
// an error and is skipped, so the rest of the input is still tokenized.
LexResult lex(std::string_view source);

}  // namespace janusc
