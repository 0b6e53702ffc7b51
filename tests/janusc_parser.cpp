// The Janus lexer and parser: what they accept, the exact errors for what they do
// not, and that no input crashes them.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "janusc/generator.hpp"
#include "janusc/lexer.hpp"
#include "janusc/parser.hpp"

using namespace janusc;

namespace {

ast::Module parse_ok(std::string_view source) {
    auto m = parse_module(source, "t.jn");
    if (!m)
        for (const Diagnostic& d : m.error()) UNSCOPED_INFO(d.to_string());
    REQUIRE(m);
    return std::move(*m);
}

// The diagnostics of a source that must not parse, as "line:col: message" lines.
std::vector<std::string> errors_of(std::string_view source) {
    auto m = parse_module(source, "t.jn");
    REQUIRE_FALSE(m);
    std::vector<std::string> out;
    for (const Diagnostic& d : m.error()) {
        CHECK(d.file == "t.jn");
        out.push_back(std::to_string(d.pos.line) + ":" + std::to_string(d.pos.column) + ": " + d.message);
    }
    return out;
}

std::string first_error(std::string_view source) {
    const auto errors = errors_of(source);
    REQUIRE_FALSE(errors.empty());
    return errors.front();
}

}  // namespace

TEST_CASE("a module with every kind of declaration parses into its parts") {
    const ast::Module m = parse_ok(R"(// shapes
module geometry.shapes
import core.base
import core.math

type Shape : Any
type Square : Shape, Drawable
type Root

generic area(s: Shape) -> f64
generic collide(a: Shape, b: Shape) -> bool

func area(s: Square) -> f64 {
    let side = measure(s, 2)
    return side * side + -0.5e1;
}
func collide(a: Square, b: Shape) -> bool { return true }
)");
    CHECK(m.file == "t.jn");
    CHECK(m.name.text == "geometry.shapes");
    CHECK(m.name.pos == SourcePos{2, 8});
    REQUIRE(m.imports.size() == 2);
    CHECK(m.imports[1].module.text == "core.math");
    REQUIRE(m.types.size() == 3);
    CHECK(m.types[1].name.text == "Square");
    REQUIRE(m.types[1].supertypes.size() == 2);
    CHECK(m.types[1].supertypes[1].text == "Drawable");
    CHECK(m.types[1].supertypes[1].pos == SourcePos{7, 22});
    CHECK(m.types[2].supertypes.empty());
    REQUIRE(m.generics.size() == 2);
    CHECK(m.generics[1].params.size() == 2);
    CHECK(m.generics[1].result.text == "bool");
    REQUIRE(m.methods.size() == 2);
    const ast::Function& area = m.methods[0];
    CHECK(area.name.text == "area");
    CHECK(area.name.pos == SourcePos{13, 6});
    CHECK(area.params[0].type.text == "Square");
    REQUIRE(area.body.size() == 2);
    CHECK(area.body[0].kind == ast::StmtKind::let);
    CHECK(area.body[0].name.text == "side");
    const ast::Expr& call = area.exprs[area.body[0].expr];
    CHECK(call.kind == ast::ExprKind::call);
    CHECK(call.text == "measure");
    CHECK(call.operand_count == 2);
    // side * side + -0.5e1: the sum at the root, the product and the negation below it.
    const ast::Expr& sum = area.exprs[area.body[1].expr];
    CHECK(area.body[1].kind == ast::StmtKind::return_);
    REQUIRE(sum.kind == ast::ExprKind::add);
    const auto sum_operands = area.operands_of(sum);
    REQUIRE(sum_operands.size() == 2);
    CHECK(area.exprs[sum_operands[0]].kind == ast::ExprKind::multiply);
    CHECK(area.exprs[sum_operands[1]].kind == ast::ExprKind::negate);
    CHECK(area.exprs[area.operands_of(area.exprs[sum_operands[1]])[0]].text == "0.5e1");
}

TEST_CASE("the lexer reports bad characters, numbers and strings with their position") {
    CHECK(first_error("module a\ntype A @") == "2:8: unexpected character '@'");
    CHECK(first_error("module a\n\x01") == "2:1: unexpected character byte 0x01");
    CHECK(first_error("module a\ntype \xc3\xa9t\xc3\xa9") == "2:6: unexpected character byte 0xc3");
    CHECK(first_error("module a\nfunc f(x: A) -> A { return 12abc }") == "2:28: invalid number literal '12abc'");
    CHECK(first_error("module a\nfunc f(x: A) -> A { return 99999999999999999999 }") ==
          "2:28: integer literal '99999999999999999999' is out of range (at most 9223372036854775807)");
    CHECK(first_error("module a\nfunc f(x: A) -> A { return 1e999 }") == "2:28: floating-point literal '1e999' is out of range");
    CHECK(first_error("module a\nfunc f(x: A) -> A { return \"abc\n}") == "2:28: unterminated string literal");
    CHECK(first_error("module a\nfunc f(x: A) -> A { return \"a\\qb\" }") ==
          "2:30: unknown escape sequence: '\\' followed by 'q' (known: \\\" \\\\ \\n \\t)");
    // Tabs and carriage returns are one column each; a comment hides anything.
    CHECK(first_error("module a\r\n\t// @ fine\n\ttype $") == "3:7: unexpected character '$'");
}

TEST_CASE("syntax errors name what was expected and what was found") {
    CHECK(first_error("") == "1:1: expected 'module NAME' at the start of the file, found end of file");
    CHECK(first_error("type A") == "1:1: expected 'module NAME' at the start of the file, found 'type'");
    CHECK(first_error("module") == "1:7: expected a module name, found end of file");
    CHECK(first_error("module a.") == "1:10: expected a name after '.', found end of file");
    CHECK(first_error("module a\nmodule b") == "2:1: a file holds one module: 'module' may appear only once, at the start");
    CHECK(first_error("module a\nimport") == "2:7: expected a module name after 'import', found end of file");
    CHECK(first_error("module a\ntype 3") == "2:6: expected a type name after 'type', found integer literal '3'");
    CHECK(first_error("module a\ntype A :") == "2:9: expected a supertype name, found end of file");
    CHECK(first_error("module a\ntype A : B,") == "2:12: expected a supertype name, found end of file");
    CHECK(first_error("module a\nlet x = 1") == "2:1: expected a declaration ('import', 'type', 'generic' or 'func'), found 'let'");
    CHECK(first_error("module a\ngeneric f x: A) -> A") == "2:11: expected '(' to start the parameter list, found identifier 'x'");
    CHECK(first_error("module a\ngeneric f(x A) -> A") == "2:13: expected ':' and the parameter's type, found identifier 'A'");
    CHECK(first_error("module a\ngeneric f(x: A y: B) -> A") == "2:16: expected ')' or ',' in the parameter list, found identifier 'y'");
    CHECK(first_error("module a\ngeneric f(x: A)") == "2:16: expected '->' and the return type, found end of file");
    CHECK(first_error("module a\ngeneric f(x: A) -> A { }") ==
          "2:22: a generic declaration has no body: write its methods as 'func f(...) -> T { ... }'");
    CHECK(first_error("module a\nfunc f(x: A) -> A") == "2:18: expected '{' to start the body of method 'f', found end of file");
    CHECK(first_error("module a\nfunc f(x: A) -> A { return x") == "2:29: expected '}' to end the body of method 'f', found end of file");
    CHECK(first_error("module a\nfunc f(x: A) -> A { let = 1 }") == "2:25: expected a name after 'let', found '='");
    CHECK(first_error("module a\nfunc f(x: A) -> A { let y 1 }") == "2:27: expected '=' after 'let y', found integer literal '1'");
    CHECK(first_error("module a\nfunc f(x: A) -> A { return * 2 }") == "2:28: expected an expression, found '*'");
    CHECK(first_error("module a\nfunc f(x: A) -> A { return (x }") == "2:31: expected ')' to close '(', found '}'");
    CHECK(first_error("module a\nfunc f(x: A) -> A { return g(x; }") == "2:31: expected ')' or ',' in the arguments of 'g', found ';'");
}

TEST_CASE("after an error the parser resumes at the next declaration") {
    const auto errors = errors_of(R"(module a
type 1
generic ok(x: A) -> A
func f(x: A) -> A { return ( }
type B : C
generic g(x A) -> A
func h(x: A) -> A { return x }
)");
    REQUIRE(errors.size() == 3);
    CHECK(errors[0] == "2:6: expected a type name after 'type', found integer literal '1'");
    CHECK(errors[1] == "4:30: expected an expression, found '}'");
    CHECK(errors[2] == "6:13: expected ':' and the parameter's type, found identifier 'A'");

    // A broken body is skipped as a whole, up to its closing brace.
    const auto nested = errors_of("module a\nfunc f(x: A) -> A { return ) }\nfunc g(x: A) -> A { return x }\ntype 7");
    REQUIRE(nested.size() == 2);
    CHECK(nested[1] == "4:6: expected a type name after 'type', found integer literal '7'");
}

TEST_CASE("a file reports at most kMaxErrorsPerFile errors") {
    std::string source = "module a\n";
    for (int i = 0; i < 100; ++i) source += "type 1\n";
    CHECK(errors_of(source).size() == kMaxErrorsPerFile);
    std::string bad_chars = "module a\n" + std::string(100, '@');
    CHECK(errors_of(bad_chars).size() == kMaxErrorsPerFile);
}

TEST_CASE("deep nesting is an error, not a stack overflow; long flat chains are fine") {
    const std::string deep_parens = "module a\nfunc f(x: A) -> A { return " + std::string(100000, '(') + "x }";
    CHECK(first_error(deep_parens).find("expression nested too deeply (more than 128 levels)") != std::string::npos);
    std::string deep_minus = "module a\nfunc f(x: A) -> A { return ";
    for (int i = 0; i < 100000; ++i) deep_minus += "- ";
    CHECK(first_error(deep_minus + "x }").find("nested too deeply") != std::string::npos);
    std::string deep_calls = "module a\nfunc f(x: A) -> A { return ";
    for (int i = 0; i < 100000; ++i) deep_calls += "f(";
    CHECK(first_error(deep_calls).find("nested too deeply") != std::string::npos);

    std::string chain = "module a\nfunc f(x: A) -> A { return x";
    for (int i = 0; i < 200000; ++i) chain += " + x";
    const ast::Module m = parse_ok(chain + " }");
    CHECK(m.methods[0].exprs.size() == 400001);
    const std::string exactly_limit = "module a\nfunc f(x: A) -> A { return " + std::string(128, '(') + "x" + std::string(128, ')') + " }";
    parse_ok(exactly_limit);
}

TEST_CASE("no input crashes the parser: mutations of a valid module") {
    // Deterministic mutations (flip, insert, delete, duplicate a span) of a generated
    // module; every result either parses or has errors with real positions.
    const GeneratedProject project = generate_project({30, 5});
    std::string base;
    for (const GeneratedFile& f : project.files)
        if (f.text.size() > base.size()) base = f.text;
    REQUIRE(parse_module(base, "base.jn"));
    std::uint64_t state = 12345;
    auto next = [&] {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        return state >> 33;
    };
    const char alphabet[] = "(){}:,.->*+/=;\"\\ \n\tabcxyzAB019_@\x00\xff";
    int parsed = 0, rejected = 0;
    for (int round = 0; round < 3000; ++round) {
        std::string s = base;
        const int edits = 1 + static_cast<int>(next() % 4);
        for (int e = 0; e < edits && !s.empty(); ++e) {
            const std::size_t at = next() % s.size();
            switch (next() % 4) {
                case 0: s[at] = alphabet[next() % (sizeof alphabet - 1)]; break;
                case 1: s.insert(s.begin() + static_cast<long>(at), alphabet[next() % (sizeof alphabet - 1)]); break;
                case 2: s.erase(at, 1 + next() % 8); break;
                default: s.insert(at, s.substr(next() % s.size(), next() % 40)); break;
            }
        }
        auto m = parse_module(s, "m.jn");
        if (m) {
            ++parsed;
            continue;
        }
        ++rejected;
        REQUIRE_FALSE(m.error().empty());
        for (const Diagnostic& d : m.error()) {
            CHECK(d.pos.line >= 1);
            CHECK(d.pos.column >= 1);
            CHECK_FALSE(d.message.empty());
        }
    }
    CHECK(parsed > 0);
    CHECK(rejected > 0);
}

TEST_CASE("the lexer ends every token stream with one end token") {
    for (std::string_view s : {"", "   ", "// only a comment", "module", "\"unterminated", "a.b->c"}) {
        const LexResult r = lex(s);
        REQUIRE_FALSE(r.tokens.empty());
        CHECK(r.tokens.back().kind == TokenKind::end);
        for (std::size_t i = 0; i + 1 < r.tokens.size(); ++i) CHECK(r.tokens[i].kind != TokenKind::end);
    }
    const LexResult arrow = lex("a.b->c - -> 1.5e+3");
    std::vector<TokenKind> kinds;
    for (const Token& t : arrow.tokens) kinds.push_back(t.kind);
    CHECK(kinds == std::vector<TokenKind>{TokenKind::identifier, TokenKind::dot, TokenKind::identifier, TokenKind::arrow,
                                          TokenKind::identifier, TokenKind::minus, TokenKind::arrow, TokenKind::floating,
                                          TokenKind::end});
}
