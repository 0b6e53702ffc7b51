#include "janusc/lexer.hpp"

#include <charconv>
#include <cstdio>
#include <string>

namespace janusc {

std::string_view describe(TokenKind kind) noexcept {
    switch (kind) {
        case TokenKind::end: return "end of file";
        case TokenKind::identifier: return "identifier";
        case TokenKind::integer: return "integer literal";
        case TokenKind::floating: return "floating-point literal";
        case TokenKind::string: return "string literal";
        case TokenKind::kw_module: return "'module'";
        case TokenKind::kw_import: return "'import'";
        case TokenKind::kw_type: return "'type'";
        case TokenKind::kw_generic: return "'generic'";
        case TokenKind::kw_func: return "'func'";
        case TokenKind::kw_let: return "'let'";
        case TokenKind::kw_return: return "'return'";
        case TokenKind::kw_true: return "'true'";
        case TokenKind::kw_false: return "'false'";
        case TokenKind::lparen: return "'('";
        case TokenKind::rparen: return "')'";
        case TokenKind::lbrace: return "'{'";
        case TokenKind::rbrace: return "'}'";
        case TokenKind::comma: return "','";
        case TokenKind::colon: return "':'";
        case TokenKind::semicolon: return "';'";
        case TokenKind::dot: return "'.'";
        case TokenKind::arrow: return "'->'";
        case TokenKind::plus: return "'+'";
        case TokenKind::minus: return "'-'";
        case TokenKind::star: return "'*'";
        case TokenKind::slash: return "'/'";
        case TokenKind::equals: return "'='";
    }
    return "token";
}

namespace {

bool is_ident_start(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_ident_char(char c) noexcept { return is_ident_start(c) || is_digit(c); }

// Keywords by length first: most words are not keywords and fail on one comparison.
TokenKind keyword_or_identifier(std::string_view w) noexcept {
    switch (w.size()) {
        case 3:
            if (w == "let") return TokenKind::kw_let;
            break;
        case 4:
            if (w == "type") return TokenKind::kw_type;
            if (w == "func") return TokenKind::kw_func;
            if (w == "true") return TokenKind::kw_true;
            break;
        case 5:
            if (w == "false") return TokenKind::kw_false;
            break;
        case 6:
            if (w == "module") return TokenKind::kw_module;
            if (w == "import") return TokenKind::kw_import;
            if (w == "return") return TokenKind::kw_return;
            break;
        case 7:
            if (w == "generic") return TokenKind::kw_generic;
            break;
        default: break;
    }
    return TokenKind::identifier;
}

// A character as a message shows it: printable ASCII quoted, anything else as a byte.
std::string show_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
    char buf[16];
    std::snprintf(buf, sizeof buf, "byte 0x%02x", u);
    return buf;
}

class Lexer {
public:
    explicit Lexer(std::string_view src) : src_(src) {
        out_.tokens.reserve(src.size() / 4 + 1);  // about one token per 4-6 bytes of code: one allocation
    }

    LexResult run() {
        while (true) {
            skip_space_and_comments();
            if (at_end()) break;
            lex_token();
        }
        // "Found end of file" points just past the last token, on its line, rather
        // than at a line the editor may not even show.
        SourcePos end = pos();
        if (!out_.tokens.empty()) {
            const Token& last = out_.tokens.back();
            end = {last.pos.line, last.pos.column + static_cast<std::uint32_t>(last.text.size())};
        }
        out_.tokens.push_back({TokenKind::end, {}, end});
        return std::move(out_);
    }

private:
    bool at_end() const noexcept { return i_ >= src_.size(); }
    char peek(std::size_t ahead = 0) const noexcept { return i_ + ahead < src_.size() ? src_[i_ + ahead] : '\0'; }
    SourcePos pos() const noexcept { return {line_, static_cast<std::uint32_t>(i_ - line_start_ + 1)}; }

    void advance() noexcept {
        if (src_[i_] == '\n') {
            ++line_;
            line_start_ = i_ + 1;
        }
        ++i_;
    }

    void error(SourcePos at, std::string message) {
        if (out_.errors.size() < kMaxErrorsPerFile) out_.errors.push_back({at, std::move(message)});
    }

    void skip_space_and_comments() {
        while (!at_end()) {
            const char c = src_[i_];
            if (c == ' ' || c == '\t' || c == '\r') {
                ++i_;
            } else if (c == '\n') {
                advance();
            } else if (c == '/' && peek(1) == '/') {
                const std::size_t nl = src_.find('\n', i_);
                i_ = nl == std::string_view::npos ? src_.size() : nl;
            } else {
                break;
            }
        }
    }

    void emit(TokenKind kind, std::size_t start, SourcePos at) {
        out_.tokens.push_back({kind, src_.substr(start, i_ - start), at});
    }

    void lex_token() {
        const SourcePos at = pos();
        const std::size_t start = i_;
        const char c = peek();
        if (is_ident_start(c)) {
            ++i_;  // identifiers hold no newline: no line bookkeeping
            while (i_ < src_.size() && is_ident_char(src_[i_])) ++i_;
            emit(keyword_or_identifier(src_.substr(start, i_ - start)), start, at);
            return;
        }
        if (is_digit(c)) return lex_number(start, at);
        if (c == '"') return lex_string(start, at);
        TokenKind kind;
        switch (c) {
            case '(': kind = TokenKind::lparen; break;
            case ')': kind = TokenKind::rparen; break;
            case '{': kind = TokenKind::lbrace; break;
            case '}': kind = TokenKind::rbrace; break;
            case ',': kind = TokenKind::comma; break;
            case ':': kind = TokenKind::colon; break;
            case ';': kind = TokenKind::semicolon; break;
            case '.': kind = TokenKind::dot; break;
            case '+': kind = TokenKind::plus; break;
            case '*': kind = TokenKind::star; break;
            case '/': kind = TokenKind::slash; break;
            case '=': kind = TokenKind::equals; break;
            case '-':
                if (peek(1) == '>') {
                    advance();
                    advance();
                    emit(TokenKind::arrow, start, at);
                    return;
                }
                kind = TokenKind::minus;
                break;
            default:
                error(at, "unexpected character " + show_char(c));
                advance();
                return;
        }
        advance();
        emit(kind, start, at);
    }

    // digits ['.' digits] [('e'|'E') ['+'|'-'] digits]; a letter or '_' right after a
    // number is an error rather than a second token, since `12abc` is always a typo.
    void lex_number(std::size_t start, SourcePos at) {
        bool is_float = false;
        while (is_digit(peek())) advance();
        if (peek() == '.' && is_digit(peek(1))) {
            is_float = true;
            advance();
            while (is_digit(peek())) advance();
        }
        if ((peek() == 'e' || peek() == 'E') && (is_digit(peek(1)) || ((peek(1) == '+' || peek(1) == '-') && is_digit(peek(2))))) {
            is_float = true;
            advance();
            if (peek() == '+' || peek() == '-') advance();
            while (is_digit(peek())) advance();
        }
        if (is_ident_char(peek())) {
            while (!at_end() && is_ident_char(peek())) advance();
            error(at, "invalid number literal '" + std::string(src_.substr(start, i_ - start)) + "'");
            return;
        }
        const std::string_view text = src_.substr(start, i_ - start);
        if (is_float) {
            double value = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
            if (ec != std::errc() || end != text.data() + text.size()) {
                error(at, "floating-point literal '" + std::string(text) + "' is out of range");
                return;
            }
            emit(TokenKind::floating, start, at);
        } else {
            std::int64_t value = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
            if (ec != std::errc() || end != text.data() + text.size()) {
                error(at, "integer literal '" + std::string(text) + "' is out of range (at most 9223372036854775807)");
                return;
            }
            emit(TokenKind::integer, start, at);
        }
    }

    // "..." on one line; escapes \" \\ \n \t.
    void lex_string(std::size_t start, SourcePos at) {
        advance();  // opening quote
        bool ok = true;
        while (true) {
            if (at_end() || peek() == '\n') {
                error(at, "unterminated string literal");
                return;
            }
            const char c = peek();
            if (c == '"') {
                advance();
                break;
            }
            if (c == '\\') {
                const SourcePos esc = pos();
                advance();
                if (at_end() || peek() == '\n') continue;  // reported as unterminated
                const char e = peek();
                if (e != '"' && e != '\\' && e != 'n' && e != 't') {
                    error(esc, "unknown escape sequence: '\\' followed by " + show_char(e) + " (known: \\\" \\\\ \\n \\t)");
                    ok = false;
                }
                advance();
                continue;
            }
            advance();
        }
        if (ok) emit(TokenKind::string, start, at);
    }

    std::string_view src_;
    std::size_t i_ = 0;
    std::uint32_t line_ = 1;
    std::size_t line_start_ = 0;
    LexResult out_;
};

}  // namespace

LexResult lex(std::string_view source) { return Lexer(source).run(); }

}  // namespace janusc
