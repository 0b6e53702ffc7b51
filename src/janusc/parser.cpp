#include "janusc/parser.hpp"

#include <iterator>
#include <span>
#include <utility>

#include "janusc/lexer.hpp"

namespace janusc {
namespace {

class Parser {
public:
    Parser(std::vector<Token> tokens, std::string_view file) : toks_(std::move(tokens)), file_(file) {}

    tl::expected<ast::Module, Diagnostics> run() {
        module_.file = std::string(file_);
        if (!parse_header()) recover(0);
        while (!at(TokenKind::end) && !too_many_errors()) {
            const std::size_t start = i_;
            if (!parse_declaration()) recover(start);
        }
        if (!errors_.empty()) return tl::unexpected(std::move(errors_));
        return std::move(module_);
    }

    void error(SourcePos at, std::string message) {
        if (errors_.size() < kMaxErrorsPerFile) errors_.push_back({std::string(file_), at, std::move(message)});
    }

private:
    const Token& cur() const noexcept { return toks_[i_]; }
    const Token& next() const noexcept { return toks_[i_ + 1 < toks_.size() ? i_ + 1 : i_]; }
    bool at(TokenKind k) const noexcept { return cur().kind == k; }
    bool too_many_errors() const noexcept { return errors_.size() >= kMaxErrorsPerFile; }

    // Consumes the current token (never the final `end`), tracking brace depth for recovery.
    const Token& take() noexcept {
        const Token& t = toks_[i_];
        if (t.kind == TokenKind::end) return t;
        if (t.kind == TokenKind::lbrace) ++depth_;
        if (t.kind == TokenKind::rbrace && depth_ > 0) --depth_;
        ++i_;
        return t;
    }

    static std::string found(const Token& t) {
        std::string s(describe(t.kind));
        if (t.kind == TokenKind::identifier || t.kind == TokenKind::integer || t.kind == TokenKind::floating)
            s += " '" + std::string(t.text) + "'";
        return s;
    }

    bool fail_expected(std::string_view what) {
        error(cur().pos, "expected " + std::string(what) + ", found " + found(cur()));
        return false;
    }

    bool expect(TokenKind k, std::string_view what, const Token** out = nullptr) {
        if (!at(k)) return fail_expected(what);
        const Token& t = take();
        if (out != nullptr) *out = &t;
        return true;
    }

    // The same for an expectation whose description is built only when it fails: most
    // tokens are what the grammar expects, and a message string per token is not free.
    template <class Describe>
    bool expect_lazy(TokenKind k, const Describe& what) {
        if (!at(k)) return fail_expected(what());
        take();
        return true;
    }

    bool expect_name(std::string_view what, ast::Name& out) {
        const Token* t = nullptr;
        if (!expect(TokenKind::identifier, what, &t)) return false;
        out = {std::string(t->text), t->pos};
        return true;
    }

    static bool starts_declaration(TokenKind k) noexcept {
        return k == TokenKind::kw_import || k == TokenKind::kw_type || k == TokenKind::kw_generic || k == TokenKind::kw_func ||
               k == TokenKind::kw_module;
    }

    // After an error in the declaration that began at token `start`: skip to the next
    // declaration keyword outside any braces (at least one token, so that parsing moves on).
    void recover(std::size_t start) {
        if (i_ == start) take();
        while (!at(TokenKind::end) && !(depth_ == 0 && starts_declaration(cur().kind))) take();
    }

    bool parse_qualified_name(std::string_view what, ast::Name& out) {
        if (!expect_name(what, out)) return false;
        while (at(TokenKind::dot)) {
            take();
            ast::Name part;
            if (!expect_name("a name after '.'", part)) return false;
            out.text += "." + part.text;
        }
        return true;
    }

    bool parse_header() {
        if (!at(TokenKind::kw_module)) {
            error(cur().pos, "expected 'module NAME' at the start of the file, found " + found(cur()));
            return false;
        }
        take();
        return parse_qualified_name("a module name", module_.name);
    }

    bool parse_declaration() {
        switch (cur().kind) {
            case TokenKind::kw_import: {
                take();
                ast::Import imp;
                if (!parse_qualified_name("a module name after 'import'", imp.module)) return false;
                module_.imports.push_back(std::move(imp));
                return true;
            }
            case TokenKind::kw_type: return parse_type();
            case TokenKind::kw_generic:
            case TokenKind::kw_func: return parse_function();
            case TokenKind::kw_module:
                error(cur().pos, "a file holds one module: 'module' may appear only once, at the start");
                return false;
            default: return fail_expected("a declaration ('import', 'type', 'generic' or 'func')");
        }
    }

    bool parse_type() {
        take();
        ast::TypeDecl decl;
        if (!expect_name("a type name after 'type'", decl.name)) return false;
        if (at(TokenKind::colon)) {
            take();
            do {
                ast::Name super;
                if (!expect_name("a supertype name", super)) return false;
                decl.supertypes.push_back(std::move(super));
            } while (at(TokenKind::comma) && (take(), true));
        }
        module_.types.push_back(std::move(decl));
        return true;
    }

    bool parse_function() {
        ast::Function fn;
        fn.is_generic = take().kind == TokenKind::kw_generic;
        if (!expect_name(fn.is_generic ? "a generic function name" : "a method name", fn.name)) return false;
        if (!expect(TokenKind::lparen, "'(' to start the parameter list")) return false;
        if (!at(TokenKind::rparen)) {
            do {
                ast::Param p;
                if (!expect_name("a parameter name", p.name)) return false;
                if (!expect(TokenKind::colon, "':' and the parameter's type")) return false;
                if (!expect_name("a type name", p.type)) return false;
                fn.params.push_back(std::move(p));
            } while (at(TokenKind::comma) && (take(), true));
        }
        if (!expect(TokenKind::rparen, "')' or ',' in the parameter list")) return false;
        if (!expect(TokenKind::arrow, "'->' and the return type")) return false;
        if (!expect_name("a return type", fn.result)) return false;
        if (fn.is_generic) {
            if (at(TokenKind::lbrace)) {
                error(cur().pos, "a generic declaration has no body: write its methods as 'func " + fn.name.text + "(...) -> T { ... }'");
                return false;
            }
            module_.generics.push_back(std::move(fn));
            return true;
        }
        // The body grows in the parser's scratch vectors, which keep their capacity from
        // method to method; the method then gets exactly-sized copies.
        scratch_.body.clear();
        scratch_.exprs.clear();
        scratch_.operands.clear();
        std::swap(fn.body, scratch_.body);
        std::swap(fn.exprs, scratch_.exprs);
        std::swap(fn.operands, scratch_.operands);
        const bool ok = parse_body(fn);
        std::swap(fn.body, scratch_.body);
        std::swap(fn.exprs, scratch_.exprs);
        std::swap(fn.operands, scratch_.operands);
        if (!ok) return false;
        fn.body.assign(std::make_move_iterator(scratch_.body.begin()), std::make_move_iterator(scratch_.body.end()));
        fn.exprs.assign(std::make_move_iterator(scratch_.exprs.begin()), std::make_move_iterator(scratch_.exprs.end()));
        fn.operands.assign(scratch_.operands.begin(), scratch_.operands.end());
        module_.methods.push_back(std::move(fn));
        return true;
    }

    bool parse_body(ast::Function& fn) {
        if (!expect_lazy(TokenKind::lbrace, [&] { return "'{' to start the body of method '" + fn.name.text + "'"; })) return false;
        while (!at(TokenKind::rbrace)) {
            if (at(TokenKind::end)) return fail_expected("'}' to end the body of method '" + fn.name.text + "'");
            if (!parse_statement(fn)) return false;
        }
        take();
        return true;
    }

    bool parse_statement(ast::Function& fn) {
        ast::Stmt s;
        s.pos = cur().pos;
        if (at(TokenKind::kw_let)) {
            take();
            s.kind = ast::StmtKind::let;
            if (!expect_name("a name after 'let'", s.name)) return false;
            if (!expect_lazy(TokenKind::equals, [&] { return "'=' after 'let " + s.name.text + "'"; })) return false;
        } else if (at(TokenKind::kw_return)) {
            take();
            s.kind = ast::StmtKind::return_;
        }
        if (!parse_expr(fn, 0, s.expr)) return false;
        if (at(TokenKind::semicolon)) take();
        fn.body.push_back(std::move(s));
        return true;
    }

    std::uint32_t add_expr(ast::Function& fn, ast::ExprKind kind, SourcePos pos, std::string_view text,
                           std::span<const std::uint32_t> operands = {}) {
        const auto first = static_cast<std::uint32_t>(fn.operands.size());
        fn.operands.insert(fn.operands.end(), operands.begin(), operands.end());
        fn.exprs.push_back({kind, pos, std::string(text), first, static_cast<std::uint32_t>(operands.size())});
        return static_cast<std::uint32_t>(fn.exprs.size() - 1);
    }

    // The binary operators, loosest first; all are left-associative.
    //   expr := term { ('+' | '-') term }
    //   term := unary { ('*' | '/') unary }
    struct BinaryLevel {
        TokenKind first, second;
        ast::ExprKind first_kind, second_kind;
    };
    static constexpr BinaryLevel kBinaryLevels[] = {
        {TokenKind::plus, TokenKind::minus, ast::ExprKind::add, ast::ExprKind::subtract},
        {TokenKind::star, TokenKind::slash, ast::ExprKind::multiply, ast::ExprKind::divide},
    };

    bool parse_expr(ast::Function& fn, std::uint32_t depth, std::uint32_t& out) {
        if (depth > kMaxExpressionDepth) return too_deep();
        return parse_binary(fn, depth, 0, out);
    }

    bool parse_binary(ast::Function& fn, std::uint32_t depth, std::size_t level, std::uint32_t& out) {
        auto operand = [&](std::uint32_t& o) {
            return level + 1 < std::size(kBinaryLevels) ? parse_binary(fn, depth, level + 1, o) : parse_unary(fn, depth, o);
        };
        const BinaryLevel& ops = kBinaryLevels[level];
        if (!operand(out)) return false;
        while (at(ops.first) || at(ops.second)) {
            const Token& op = take();
            std::uint32_t rhs = 0;
            if (!operand(rhs)) return false;
            const std::uint32_t pair[] = {out, rhs};
            out = add_expr(fn, op.kind == ops.first ? ops.first_kind : ops.second_kind, op.pos, {}, pair);
        }
        return true;
    }

    bool too_deep() {
        error(cur().pos, "expression nested too deeply (more than " + std::to_string(kMaxExpressionDepth) + " levels)");
        return false;
    }

    // unary := '-' unary | primary
    bool parse_unary(ast::Function& fn, std::uint32_t depth, std::uint32_t& out) {
        if (!at(TokenKind::minus)) return parse_primary(fn, depth, out);
        if (depth + 1 > kMaxExpressionDepth) return too_deep();
        const SourcePos pos = take().pos;
        std::uint32_t operand = 0;
        if (!parse_unary(fn, depth + 1, operand)) return false;
        out = add_expr(fn, ast::ExprKind::negate, pos, {}, std::span<const std::uint32_t>(&operand, 1));
        return true;
    }

    // primary := literal | NAME | NAME '(' [expr {',' expr}] ')' | '(' expr ')'
    bool parse_primary(ast::Function& fn, std::uint32_t depth, std::uint32_t& out) {
        const Token& t = cur();
        switch (t.kind) {
            case TokenKind::integer: out = add_expr(fn, ast::ExprKind::integer, t.pos, take().text); return true;
            case TokenKind::floating: out = add_expr(fn, ast::ExprKind::floating, t.pos, take().text); return true;
            case TokenKind::string: out = add_expr(fn, ast::ExprKind::string, t.pos, take().text); return true;
            case TokenKind::kw_true:
            case TokenKind::kw_false: out = add_expr(fn, ast::ExprKind::boolean, t.pos, take().text); return true;
            case TokenKind::lparen: {
                take();
                if (!parse_expr(fn, depth + 1, out)) return false;
                return expect(TokenKind::rparen, "')' to close '('");
            }
            case TokenKind::identifier: {
                const Token& name = take();
                if (!at(TokenKind::lparen)) {
                    out = add_expr(fn, ast::ExprKind::name, name.pos, name.text);
                    return true;
                }
                take();
                // Arguments gather on a stack shared by nested calls: no vector per call.
                const std::size_t base = args_.size();
                if (!at(TokenKind::rparen)) {
                    do {
                        std::uint32_t arg = 0;
                        if (!parse_expr(fn, depth + 1, arg)) return false;
                        args_.push_back(arg);
                    } while (at(TokenKind::comma) && (take(), true));
                }
                if (!expect_lazy(TokenKind::rparen, [&] { return "')' or ',' in the arguments of '" + std::string(name.text) + "'"; }))
                    return false;
                out = add_expr(fn, ast::ExprKind::call, name.pos, name.text, std::span<const std::uint32_t>(args_).subspan(base));
                args_.resize(base);
                return true;
            }
            default: return fail_expected("an expression");
        }
    }

    std::vector<Token> toks_;
    std::vector<std::uint32_t> args_;  // arguments of the calls being parsed, innermost last
    struct {
        std::vector<ast::Stmt> body;
        std::vector<ast::Expr> exprs;
        std::vector<std::uint32_t> operands;
    } scratch_;
    std::size_t i_ = 0;
    std::size_t depth_ = 0;  // braces open at the current token
    std::string_view file_;
    ast::Module module_;
    Diagnostics errors_;
};

}  // namespace

tl::expected<ast::Module, Diagnostics> parse_module(std::string_view source, std::string_view file_name) {
    LexResult lexed = lex(source);
    if (!lexed.errors.empty()) {
        // Syntax errors after a bad token are mostly its consequences: report the lexer's.
        Diagnostics out;
        for (LexError& e : lexed.errors) out.push_back({std::string(file_name), e.pos, std::move(e.message)});
        return tl::unexpected(std::move(out));
    }
    return Parser(std::move(lexed.tokens), file_name).run();
}

}  // namespace janusc
