// Lexer and recursive-descent parser for AWS IoT SQL (reference §3.3).
//
// Precedence, lowest first: OR, AND, NOT, comparisons (= <> < <= > >=), + -, * / %, unary -,
// postfix (.name, [index]). AWS documents no precedence table; these are ANSI SQL's, which is what
// AWS's examples (`(temperature - 32) * 5 / 9`, `a > 1 AND b < 2`) rely on.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ast.hpp"
#include "convert.hpp"
#include "iotsim/rules/statement.hpp"

namespace iotsim::rules {

std::string_view to_string(SqlVersion version) {
    return version == SqlVersion::v2015_10_08 ? "2015-10-08" : "2016-03-23";
}

std::optional<SqlVersion> parse_sql_version(std::string_view text) {
    if (text == "2015-10-08") {
        return SqlVersion::v2015_10_08;
    }
    // "beta" is "the most recent beta" (reference §3.4); iotsim has none beyond 2016-03-23.
    if (text == "2016-03-23" || text == "beta") {
        return SqlVersion::v2016_03_23;
    }
    return std::nullopt;
}

std::string ParseError::to_string() const {
    return "[rules.parse] Line " + std::to_string(line) + ":" + std::to_string(column) + ": " +
           message;
}

const std::string& Statement::from_filter() const {
    return query_->from_filter;
}
SqlVersion Statement::version() const {
    return query_->version;
}
const std::string& Statement::sql() const {
    return query_->sql;
}
bool Statement::select_value() const {
    return query_->select_value;
}

bool valid_topic_filter(std::string_view filter) {
    if (filter.empty() || filter.size() > 256 || !detail::valid_utf8(filter)) {
        return false;
    }
    std::size_t start = 0;
    while (true) {
        const std::size_t slash = filter.find('/', start);
        const std::string_view level = filter.substr(
            start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        if (level.find('\0') != std::string_view::npos) {
            return false;
        }
        if (level.size() > 1 && (level.find('+') != std::string_view::npos ||
                                 level.find('#') != std::string_view::npos)) {
            return false;
        }
        if (level == "#" && slash != std::string_view::npos) {
            return false;
        }
        if (slash == std::string_view::npos) {
            return true;
        }
        start = slash + 1;
    }
}

bool topic_matches(std::string_view filter, std::string_view topic) {
    if (!topic.empty() && topic.front() == '$' && !filter.empty() &&
        (filter.front() == '+' || filter.front() == '#')) {
        return false;
    }
    const auto levels = [](std::string_view text) {
        std::vector<std::string_view> out;
        std::size_t start = 0;
        while (true) {
            const std::size_t slash = text.find('/', start);
            if (slash == std::string_view::npos) {
                out.push_back(text.substr(start));
                return out;
            }
            out.push_back(text.substr(start, slash - start));
            start = slash + 1;
        }
    };
    const std::vector<std::string_view> f = levels(filter);
    const std::vector<std::string_view> t = levels(topic);
    for (std::size_t i = 0; i < f.size(); ++i) {
        if (f[i] == "#") {
            // AWS: `a/#` does not match `a` (reference §3.2): `#` needs at least one level.
            return i < t.size();
        }
        if (i >= t.size() || (f[i] != "+" && f[i] != t[i])) {
            return false;
        }
    }
    return f.size() == t.size();
}

namespace detail {
namespace {

enum class Tok : std::uint8_t {
    End,
    Ident,
    Int,
    Decimal,
    String,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Dot,
    Colon,
    Star,
    Plus,
    Minus,
    Slash,
    Percent,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
};

struct Token {
    Tok kind = Tok::End;
    std::string text;  // identifier, number text, or the unescaped string
    int line = 1;
    int column = 1;
    bool double_quoted = false;
};

bool iequals(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

struct Failure {
    ParseError error;
};

class Lexer {
public:
    Lexer(std::string_view text, int column_offset) : text_(text), column_(1 + column_offset) {}

    // Lexes everything up front; returns false with `error` set on a lexical error.
    bool run(std::vector<Token>& out, ParseError& error) {
        while (true) {
            skip_space();
            Token tok;
            tok.line = line_;
            tok.column = column_;
            if (pos_ >= text_.size()) {
                tok.kind = Tok::End;
                out.push_back(std::move(tok));
                return true;
            }
            const char c = text_[pos_];
            if (is_ident_start(c)) {
                const std::size_t start = pos_;
                while (pos_ < text_.size() && is_ident_char(text_[pos_])) {
                    advance();
                }
                tok.kind = Tok::Ident;
                tok.text = std::string(text_.substr(start, pos_ - start));
            } else if (c >= '0' && c <= '9') {
                const std::size_t start = pos_;
                bool decimal = false;
                while (pos_ < text_.size() && is_digit(text_[pos_])) {
                    advance();
                }
                if (pos_ + 1 < text_.size() && text_[pos_] == '.' && is_digit(text_[pos_ + 1])) {
                    decimal = true;
                    advance();
                    while (pos_ < text_.size() && is_digit(text_[pos_])) {
                        advance();
                    }
                }
                if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
                    std::size_t look = pos_ + 1;
                    if (look < text_.size() && (text_[look] == '-' || text_[look] == '+')) {
                        ++look;
                    }
                    if (look < text_.size() && is_digit(text_[look])) {
                        decimal = true;
                        while (pos_ < look) {
                            advance();
                        }
                        while (pos_ < text_.size() && is_digit(text_[pos_])) {
                            advance();
                        }
                    }
                }
                if (pos_ < text_.size() && is_ident_start(text_[pos_])) {
                    error = ParseError{
                        line_, column_,
                        "Unexpected character '" + std::string(1, text_[pos_]) + "' in number"};
                    return false;
                }
                tok.kind = decimal ? Tok::Decimal : Tok::Int;
                tok.text = std::string(text_.substr(start, pos_ - start));
            } else if (c == '\'' || c == '"') {
                if (!lex_string(tok, error)) {
                    return false;
                }
            } else {
                advance();
                const char n = pos_ < text_.size() ? text_[pos_] : '\0';
                switch (c) {
                    case '(': tok.kind = Tok::LParen; break;
                    case ')': tok.kind = Tok::RParen; break;
                    case '[': tok.kind = Tok::LBracket; break;
                    case ']': tok.kind = Tok::RBracket; break;
                    case '{': tok.kind = Tok::LBrace; break;
                    case '}': tok.kind = Tok::RBrace; break;
                    case ',': tok.kind = Tok::Comma; break;
                    case '.': tok.kind = Tok::Dot; break;
                    case ':': tok.kind = Tok::Colon; break;
                    case '*': tok.kind = Tok::Star; break;
                    case '+': tok.kind = Tok::Plus; break;
                    case '-': tok.kind = Tok::Minus; break;
                    case '/': tok.kind = Tok::Slash; break;
                    case '%': tok.kind = Tok::Percent; break;
                    case '=': tok.kind = Tok::Eq; break;
                    case '<':
                        if (n == '>') {
                            advance();
                            tok.kind = Tok::Ne;
                        } else if (n == '=') {
                            advance();
                            tok.kind = Tok::Le;
                        } else {
                            tok.kind = Tok::Lt;
                        }
                        break;
                    case '>':
                        if (n == '=') {
                            advance();
                            tok.kind = Tok::Ge;
                        } else {
                            tok.kind = Tok::Gt;
                        }
                        break;
                    default: {
                        std::string shown = (static_cast<unsigned char>(c) >= 0x20 &&
                                             static_cast<unsigned char>(c) < 0x7f)
                                                ? std::string(1, c)
                                                : "\\x" + hex_byte(static_cast<unsigned char>(c));
                        error = ParseError{tok.line, tok.column,
                                           "Unexpected character '" + shown + "'"};
                        return false;
                    }
                }
            }
            out.push_back(std::move(tok));
        }
    }

private:
    static bool is_digit(char c) { return c >= '0' && c <= '9'; }
    static bool is_ident_start(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    }
    static bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }
    static std::string hex_byte(unsigned char b) {
        static constexpr char digits[] = "0123456789abcdef";
        return {digits[b >> 4], digits[b & 15]};
    }

    void advance() {
        if (text_[pos_] == '\n') {
            ++line_;
            column_ = 1;
        } else {
            ++column_;
        }
        ++pos_;
    }

    void skip_space() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                       text_[pos_] == '\n' || text_[pos_] == '\r')) {
            advance();
        }
    }

    // String literals: single or double quotes (both appear in AWS's examples). AMBIG: AWS does
    // not document escapes; iotsim accepts a doubled quote (SQL) and JSON-style backslash escapes.
    bool lex_string(Token& tok, ParseError& error) {
        const char quote = text_[pos_];
        tok.kind = Tok::String;
        tok.double_quoted = quote == '"';
        advance();
        while (true) {
            if (pos_ >= text_.size()) {
                error = ParseError{tok.line, tok.column, "Unterminated string literal"};
                return false;
            }
            const char c = text_[pos_];
            if (c == quote) {
                advance();
                if (pos_ < text_.size() && text_[pos_] == quote) {
                    tok.text.push_back(quote);
                    advance();
                    continue;
                }
                return true;
            }
            if (c == '\\') {
                const int escape_line = line_;
                const int escape_column = column_;
                advance();
                if (pos_ >= text_.size()) {
                    continue;
                }
                const char e = text_[pos_];
                advance();
                switch (e) {
                    case 'n': tok.text.push_back('\n'); break;
                    case 't': tok.text.push_back('\t'); break;
                    case 'r': tok.text.push_back('\r'); break;
                    case 'b': tok.text.push_back('\b'); break;
                    case 'f': tok.text.push_back('\f'); break;
                    case 'u': {
                        std::uint32_t cp = 0;
                        for (int i = 0; i < 4; ++i) {
                            if (pos_ >= text_.size() || !is_hex(text_[pos_])) {
                                error = ParseError{escape_line, escape_column,
                                                   "Invalid \\u escape in string literal"};
                                return false;
                            }
                            cp = cp * 16 + hex_value(text_[pos_]);
                            advance();
                        }
                        if (cp >= 0xD800 && cp <= 0xDFFF) {
                            error = ParseError{escape_line, escape_column,
                                               "Invalid \\u escape in string literal"};
                            return false;
                        }
                        append_utf8(tok.text, cp);
                        break;
                    }
                    default: tok.text.push_back(e); break;  // \\ \' \" \/ and any other char itself
                }
                continue;
            }
            tok.text.push_back(c);
            advance();
        }
    }

    static bool is_hex(char c) {
        return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }
    static std::uint32_t hex_value(char c) {
        if (is_digit(c)) {
            return static_cast<std::uint32_t>(c - '0');
        }
        return static_cast<std::uint32_t>(ascii_lower(c) - 'a' + 10);
    }

    std::string_view text_;
    std::size_t pos_ = 0;
    int line_ = 1;
    int column_ = 1;
};

// `AS a.b.c` nests objects; the bound keeps output building shallow.
constexpr std::size_t alias_segments_max = 32;

constexpr std::string_view reserved_words[] = {"select", "from", "where", "and",   "or",
                                               "not",    "case", "when",  "then",  "else",
                                               "end",    "as",   "true",  "false", "null"};

bool is_reserved(std::string_view word) {
    return std::any_of(std::begin(reserved_words), std::end(reserved_words),
                       [&](std::string_view r) { return iequals(r, word); });
}

std::string describe(const Token& tok) {
    if (tok.kind == Tok::End) {
        return "end of input";
    }
    return "'" + tok.text + "'";
}

std::string token_text(Tok kind) {
    switch (kind) {
        case Tok::LParen: return "(";
        case Tok::RParen: return ")";
        case Tok::LBracket: return "[";
        case Tok::RBracket: return "]";
        case Tok::LBrace: return "{";
        case Tok::RBrace: return "}";
        case Tok::Comma: return ",";
        case Tok::Dot: return ".";
        case Tok::Colon: return ":";
        case Tok::Star: return "*";
        case Tok::Plus: return "+";
        case Tok::Minus: return "-";
        case Tok::Slash: return "/";
        case Tok::Percent: return "%";
        case Tok::Eq: return "=";
        case Tok::Ne: return "<>";
        case Tok::Lt: return "<";
        case Tok::Le: return "<=";
        case Tok::Gt: return ">";
        case Tok::Ge: return ">=";
        default: return "";
    }
}

class Parser {
public:
    Parser(std::vector<Token> tokens, SqlVersion version)
        : toks_(std::move(tokens)), version_(version) {
        for (Token& t : toks_) {
            if (t.text.empty() && t.kind != Tok::String && t.kind != Tok::End) {
                t.text = token_text(t.kind);
            }
        }
    }

    std::shared_ptr<Query> statement(bool nested) {
        auto q = std::make_shared<Query>();
        q->version = version_;
        expect_keyword("SELECT");
        if (peek_keyword("VALUE") && starts_expression(peek(1))) {
            next();
            q->select_value = true;
            SelectItem item;
            item.expr = expression();
            q->items.push_back(std::move(item));
            if (peek().kind == Tok::Comma) {
                fail(peek(), "SELECT VALUE takes exactly one expression");
            }
        } else {
            select_list(*q);
        }
        if (nested) {
            expect_keyword("FROM");
            q->from_expr = expression();
        } else {
            if (!peek_keyword("FROM")) {
                fail(peek(), "Expected FROM but found " + describe(peek()));
            }
            next();
            const Token& t = peek();
            if (t.kind != Tok::String || t.double_quoted) {
                fail(t,
                     "Expected a single-quoted topic filter after FROM but found " + describe(t));
            }
            if (!valid_topic_filter(t.text)) {
                fail(t, "Invalid topic filter '" + t.text + "'");
            }
            q->from_filter = t.text;
            next();
        }
        if (peek_keyword("WHERE")) {
            next();
            q->where = expression();
        }
        for (const SelectItem& item : q->items) {
            if (item.expr) {
                q->depth = std::max(q->depth, item.expr->depth);
            }
        }
        if (q->from_expr) {
            q->depth = std::max(q->depth, q->from_expr->depth);
        }
        if (q->where) {
            q->depth = std::max(q->depth, q->where->depth);
        }
        return q;
    }

    void expect_end() {
        if (peek().kind != Tok::End) {
            fail(peek(), "Unexpected " + describe(peek()) + " after the end of the statement");
        }
    }

    ExprPtr expression() { return or_expr(); }

    bool used_external() const { return used_external_; }

    [[noreturn]] void fail(const Token& at, std::string message) {
        throw Failure{ParseError{at.line, at.column, std::move(message)}};
    }

    const Token& peek(std::size_t ahead = 0) const {
        const std::size_t i = std::min(pos_ + ahead, toks_.size() - 1);
        return toks_[i];
    }

private:
    const Token& next() {
        const Token& t = toks_[pos_];
        if (pos_ + 1 < toks_.size()) {
            ++pos_;
        }
        return t;
    }

    bool peek_keyword(std::string_view word, std::size_t ahead = 0) const {
        const Token& t = peek(ahead);
        return t.kind == Tok::Ident && iequals(t.text, word);
    }

    void expect_keyword(std::string_view word) {
        if (!peek_keyword(word)) {
            fail(peek(), "Expected " + std::string(word) + " but found " + describe(peek()));
        }
        next();
    }

    void expect(Tok kind) {
        if (peek().kind != kind) {
            fail(peek(), "Expected '" + token_text(kind) + "' but found " + describe(peek()));
        }
        next();
    }

    static bool starts_expression(const Token& t) {
        switch (t.kind) {
            case Tok::Ident:
                return !(iequals(t.text, "FROM") || iequals(t.text, "AS") ||
                         iequals(t.text, "WHERE"));
            case Tok::Int:
            case Tok::Decimal:
            case Tok::String:
            case Tok::LParen:
            case Tok::LBracket:
            case Tok::LBrace:
            case Tok::Minus:
            case Tok::Star: return true;
            default: return false;
        }
    }

    void select_list(Query& q) {
        std::size_t position = 0;
        std::vector<std::string> keys;
        bool flat = true;
        while (true) {
            ++position;
            SelectItem item;
            const Token& t = peek();
            if (t.kind == Tok::Star && (peek(1).kind == Tok::Comma || peek_keyword("FROM", 1) ||
                                        peek(1).kind == Tok::End)) {
                next();
                item.star = true;
                q.has_star = true;
                flat = false;
            } else {
                if (!starts_expression(t)) {
                    fail(t, "Expected an expression but found " + describe(t));
                }
                item.expr = expression();
                if (peek_keyword("AS")) {
                    next();
                    while (true) {
                        const Token& a = peek();
                        if (a.kind != Tok::Ident) {
                            fail(a, "Expected an alias after AS but found " + describe(a));
                        }
                        if (is_reserved(a.text)) {
                            fail(a, "Expected an alias after AS but found keyword " + describe(a));
                        }
                        item.alias.push_back(a.text);
                        if (item.alias.size() > alias_segments_max) {
                            fail(a, "Alias nested too deeply");
                        }
                        next();
                        if (peek().kind != Tok::Dot) {
                            break;
                        }
                        next();
                    }
                } else {
                    item.alias.push_back(default_key(*item.expr, position));
                }
                if (item.alias.size() != 1 ||
                    std::find(keys.begin(), keys.end(), item.alias[0]) != keys.end()) {
                    flat = false;
                }
                keys.push_back(item.alias[0]);
            }
            q.items.push_back(std::move(item));
            if (peek().kind != Tok::Comma) {
                break;
            }
            next();
        }
        q.flat_output = flat;
    }

    // AMBIG: AWS does not document the key of an unaliased expression. iotsim uses the field
    // name for paths (`SELECT a.b` -> "b"), the function name for calls (`SELECT topic()` ->
    // "topic") and `_N` (the 1-based item position) for anything else.
    static std::string default_key(const Expr& e, std::size_t position) {
        if (e.kind == ExprKind::Field || e.kind == ExprKind::Member) {
            return e.name;
        }
        if (e.kind == ExprKind::Call) {
            return std::string(e.fn->name);
        }
        return "_" + std::to_string(position);
    }

    struct DepthGuard {
        Parser& p;
        explicit DepthGuard(Parser& parser, const Token& at) : p(parser) {
            if (++p.depth_ > expression_depth_max) {
                p.fail(at, "Expression nested too deeply");
            }
        }
        ~DepthGuard() { --p.depth_; }
        DepthGuard(const DepthGuard&) = delete;
        DepthGuard& operator=(const DepthGuard&) = delete;
    };

    ExprPtr make(ExprKind kind, const Token& at) {
        auto e = std::make_unique<Expr>();
        e->kind = kind;
        e->line = at.line;
        e->column = at.column;
        return e;
    }

    // Records the subtree's height and bounds it: left-associative chains (`a + a + ...`,
    // `a.b.c...`) grow the tree without recursing in the parser, so the guard on recursion
    // alone would not bound the evaluator's recursion.
    ExprPtr seal(ExprPtr e) {
        int d = 0;
        for (const auto& a : e->args) {
            d = std::max(d, a->depth);
        }
        if (e->subquery) {
            d = std::max(d, e->subquery->depth);
        }
        e->depth = d + 1;
        if (e->depth > expression_depth_max) {
            throw Failure{ParseError{e->line, e->column, "Expression nested too deeply"}};
        }
        return e;
    }

    ExprPtr binary(ExprKind kind, const Token& at, ExprPtr lhs, ExprPtr rhs) {
        auto e = make(kind, at);
        e->args.push_back(std::move(lhs));
        e->args.push_back(std::move(rhs));
        return seal(std::move(e));
    }

    ExprPtr or_expr() {
        DepthGuard guard(*this, peek());
        ExprPtr lhs = and_expr();
        while (peek_keyword("OR")) {
            const Token& at = next();
            lhs = binary(ExprKind::Or, at, std::move(lhs), and_expr());
        }
        return lhs;
    }

    ExprPtr and_expr() {
        ExprPtr lhs = not_expr();
        while (peek_keyword("AND")) {
            const Token& at = next();
            lhs = binary(ExprKind::And, at, std::move(lhs), not_expr());
        }
        return lhs;
    }

    ExprPtr not_expr() {
        if (peek_keyword("NOT")) {
            DepthGuard guard(*this, peek());
            const Token& at = next();
            auto e = make(ExprKind::Not, at);
            e->args.push_back(not_expr());
            return seal(std::move(e));
        }
        return comparison();
    }

    ExprPtr comparison() {
        ExprPtr lhs = additive();
        while (true) {
            ExprKind kind;
            switch (peek().kind) {
                case Tok::Eq: kind = ExprKind::Eq; break;
                case Tok::Ne: kind = ExprKind::Ne; break;
                case Tok::Lt: kind = ExprKind::Lt; break;
                case Tok::Le: kind = ExprKind::Le; break;
                case Tok::Gt: kind = ExprKind::Gt; break;
                case Tok::Ge: kind = ExprKind::Ge; break;
                default: return lhs;
            }
            const Token& at = next();
            lhs = binary(kind, at, std::move(lhs), additive());
        }
    }

    ExprPtr additive() {
        ExprPtr lhs = multiplicative();
        while (peek().kind == Tok::Plus || peek().kind == Tok::Minus) {
            const Token& at = next();
            lhs = binary(at.kind == Tok::Plus ? ExprKind::Add : ExprKind::Sub, at, std::move(lhs),
                         multiplicative());
        }
        return lhs;
    }

    ExprPtr multiplicative() {
        ExprPtr lhs = unary();
        while (peek().kind == Tok::Star || peek().kind == Tok::Slash ||
               peek().kind == Tok::Percent) {
            const Token& at = next();
            const ExprKind kind = at.kind == Tok::Star    ? ExprKind::Mul
                                  : at.kind == Tok::Slash ? ExprKind::Div
                                                          : ExprKind::Mod;
            lhs = binary(kind, at, std::move(lhs), unary());
        }
        return lhs;
    }

    ExprPtr unary() {
        if (peek().kind == Tok::Minus) {
            DepthGuard guard(*this, peek());
            const Token& at = next();
            // Fold `-literal` so that the most negative Int is representable.
            if ((peek().kind == Tok::Int || peek().kind == Tok::Decimal) &&
                peek(1).kind != Tok::Dot && peek(1).kind != Tok::LBracket) {
                const Token& num = next();
                auto e = make(ExprKind::Literal, at);
                e->literal = number_literal("-" + num.text, num.kind == Tok::Decimal);
                return e;
            }
            auto e = make(ExprKind::Neg, at);
            e->args.push_back(unary());
            return seal(std::move(e));
        }
        return postfix();
    }

    ExprPtr postfix() {
        ExprPtr e = primary();
        while (true) {
            if (peek().kind == Tok::Dot) {
                const Token& at = next();
                const Token& name = peek();
                if (name.kind != Tok::Ident) {
                    fail(name, "Expected a field name after '.' but found " + describe(name));
                }
                auto m = make(ExprKind::Member, at);
                m->name = name.text;
                next();
                m->args.push_back(std::move(e));
                e = seal(std::move(m));
            } else if (peek().kind == Tok::LBracket) {
                DepthGuard guard(*this, peek());
                const Token& at = next();
                auto ix = make(ExprKind::Index, at);
                ix->args.push_back(std::move(e));
                ix->args.push_back(expression());
                expect(Tok::RBracket);
                e = seal(std::move(ix));
            } else {
                return e;
            }
        }
    }

    Value number_literal(const std::string& text, bool decimal) {
        if (!decimal) {
            std::int64_t i = 0;
            const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
            if (ec == std::errc() && p == text.data() + text.size()) {
                return Value::integer(i);
            }
        }
        double d = 0;
        std::from_chars(text.data(), text.data() + text.size(), d);
        return normalize_decimal(d, version_);
    }

    void require_2016(const Token& at, std::string_view what) {
        if (version_ == SqlVersion::v2015_10_08) {
            fail(at, std::string(what) + " requires SQL version 2016-03-23");
        }
    }

    ExprPtr primary() {
        DepthGuard guard(*this, peek());
        const Token& t = peek();
        switch (t.kind) {
            case Tok::Int:
            case Tok::Decimal: {
                next();
                auto e = make(ExprKind::Literal, t);
                e->literal = number_literal(t.text, t.kind == Tok::Decimal);
                return e;
            }
            case Tok::String: {
                next();
                auto e = make(ExprKind::Literal, t);
                e->literal = Value::string(t.text);
                return e;
            }
            case Tok::Star: {
                next();
                return make(ExprKind::Star, t);
            }
            case Tok::LParen: {
                next();
                if (peek_keyword("SELECT")) {
                    require_2016(t, "A nested SELECT");
                    auto e = make(ExprKind::Subquery, t);
                    e->subquery = statement(/*nested=*/true);
                    expect(Tok::RParen);
                    return seal(std::move(e));
                }
                ExprPtr inner = expression();
                expect(Tok::RParen);
                return inner;
            }
            case Tok::LBrace: {
                require_2016(t, "An object literal");
                next();
                auto e = make(ExprKind::ObjectLit, t);
                if (peek().kind != Tok::RBrace) {
                    while (true) {
                        const Token& key = peek();
                        if (key.kind != Tok::String && key.kind != Tok::Ident) {
                            fail(key, "Expected an object key but found " + describe(key));
                        }
                        e->keys.push_back(key.text);
                        next();
                        expect(Tok::Colon);
                        e->args.push_back(expression());
                        if (peek().kind != Tok::Comma) {
                            break;
                        }
                        next();
                    }
                }
                expect(Tok::RBrace);
                return seal(std::move(e));
            }
            case Tok::LBracket: {
                require_2016(t, "An array literal");
                next();
                auto e = make(ExprKind::ArrayLit, t);
                if (peek().kind != Tok::RBracket) {
                    while (true) {
                        e->args.push_back(expression());
                        if (peek().kind != Tok::Comma) {
                            break;
                        }
                        next();
                    }
                }
                expect(Tok::RBracket);
                return seal(std::move(e));
            }
            case Tok::Ident: return identifier();
            case Tok::End: fail(t, "Unexpected end of input, expected an expression");
            default: fail(t, "Expected an expression but found " + describe(t));
        }
    }

    ExprPtr identifier() {
        const Token& t = next();
        if (iequals(t.text, "TRUE") || iequals(t.text, "FALSE")) {
            auto e = make(ExprKind::Literal, t);
            e->literal = Value::boolean(iequals(t.text, "TRUE"));
            return e;
        }
        if (iequals(t.text, "NULL")) {
            auto e = make(ExprKind::Literal, t);
            e->literal = Value::null();
            return e;
        }
        if (iequals(t.text, "CASE")) {
            return case_expr(t);
        }
        if (peek().kind == Tok::LParen) {
            return call(t);
        }
        if (is_reserved(t.text)) {
            fail(t, "Expected an expression but found keyword " + describe(t));
        }
        auto e = make(ExprKind::Field, t);
        e->name = t.text;
        return e;
    }

    ExprPtr case_expr(const Token& at) {
        auto e = make(ExprKind::Case, at);
        e->args.push_back(expression());
        if (!peek_keyword("WHEN")) {
            fail(peek(), "Expected WHEN but found " + describe(peek()));
        }
        while (peek_keyword("WHEN")) {
            next();
            e->args.push_back(expression());
            expect_keyword("THEN");
            e->args.push_back(expression());
        }
        if (peek_keyword("ELSE")) {
            next();
            e->args.push_back(expression());
            e->has_else = true;
        }
        expect_keyword("END");
        return seal(std::move(e));
    }

    ExprPtr call(const Token& name) {
        next();  // (
        if (iequals(name.text, "cast")) {
            auto e = make(ExprKind::Cast, name);
            e->args.push_back(expression());
            expect_keyword("AS");
            const Token& type = peek();
            if (type.kind != Tok::Ident) {
                fail(type, "Expected a type name but found " + describe(type));
            }
            const std::string& n = type.text;
            if (iequals(n, "String") || iequals(n, "Nvarchar") || iequals(n, "Text") ||
                iequals(n, "Ntext") || iequals(n, "varchar")) {
                e->cast_type = CastType::String;
            } else if (iequals(n, "Int") || iequals(n, "Integer")) {
                e->cast_type = CastType::Int;
            } else if (iequals(n, "Double")) {
                e->cast_type = CastType::Decimal;
            } else if (iequals(n, "Decimal")) {
                require_2016(type, "cast to Decimal");
                e->cast_type = CastType::Decimal;
            } else if (iequals(n, "Bool") || iequals(n, "Boolean")) {
                require_2016(type, "cast to Boolean");
                e->cast_type = CastType::Boolean;
            } else {
                fail(type, "Unknown type '" + n + "' in cast");
            }
            next();
            expect(Tok::RParen);
            return seal(std::move(e));
        }
        const FunctionDef* fn = find_function(name.text);
        if (fn == nullptr) {
            fail(name, "Unknown function '" + name.text + "'");
        }
        if (fn->since == SqlVersion::v2016_03_23 && version_ == SqlVersion::v2015_10_08) {
            fail(name, "Function '" + std::string(fn->name) + "' requires SQL version 2016-03-23");
        }
        used_external_ = used_external_ || fn->external;
        auto e = make(ExprKind::Call, name);
        e->fn = fn;
        e->name = name.text;
        if (peek().kind != Tok::RParen) {
            while (true) {
                e->args.push_back(expression());
                if (peek().kind != Tok::Comma) {
                    break;
                }
                next();
            }
        }
        expect(Tok::RParen);
        e->raw_star =
            fn->name == "encode" && !e->args.empty() && e->args[0]->kind == ExprKind::Star;
        const auto n = static_cast<int>(e->args.size());
        if (n < fn->args_min || n > fn->args_max) {
            std::string expected =
                fn->args_min == fn->args_max
                    ? std::to_string(fn->args_min)
                    : std::to_string(fn->args_min) + " to " + std::to_string(fn->args_max);
            fail(name, "Function '" + std::string(fn->name) + "' takes " + expected +
                           " argument(s), got " + std::to_string(n));
        }
        return seal(std::move(e));
    }

    std::vector<Token> toks_;
    std::size_t pos_ = 0;
    SqlVersion version_;
    int depth_ = 0;
    bool used_external_ = false;
};

void collect_reads(const Expr& e, Query& q) {
    if (e.kind == ExprKind::Field) {
        if (std::find(q.top_fields.begin(), q.top_fields.end(), e.name) == q.top_fields.end()) {
            q.top_fields.push_back(e.name);
        }
    } else if (e.kind == ExprKind::Star) {
        q.reads_whole_payload = true;
    } else if (e.kind == ExprKind::Subquery) {
        // Inside a nested query, names and `*` refer to the array's elements; only the FROM
        // expression reads the payload.
        collect_reads(*e.subquery->from_expr, q);
        return;
    }
    for (const auto& a : e.args) {
        collect_reads(*a, q);
    }
}

void collect_reads(Query& q) {
    q.reads_whole_payload = false;
    for (const SelectItem& item : q.items) {
        if (item.star) {
            q.reads_whole_payload = true;
        } else {
            collect_reads(*item.expr, q);
        }
    }
    if (q.where) {
        collect_reads(*q.where, q);
    }
}

}  // namespace

Result<ExprParse, ParseError> parse_expression(std::string_view text, SqlVersion version,
                                               int column_offset) {
    if (!valid_utf8(text)) {
        return ParseError{1, 1 + column_offset, "Expression is not valid UTF-8"};
    }
    std::vector<Token> tokens;
    ParseError error;
    Lexer lexer(text, column_offset);
    if (!lexer.run(tokens, error)) {
        return error;
    }
    Parser parser(std::move(tokens), version);
    try {
        if (parser.peek().kind == Tok::End) {
            parser.fail(parser.peek(), "Empty expression");
        }
        ExprParse out{parser.expression(), false};
        parser.expect_end();
        out.external = parser.used_external();
        return out;
    } catch (const Failure& f) {
        return f.error;
    }
}

}  // namespace detail

// The parser reports errors by throwing detail::Failure internally and catching it here, at the
// API boundary: recursive descent unwinds most simply that way, and nothing escapes parse().
Result<Statement, ParseError> parse(std::string_view sql, SqlVersion version) {
    if (sql.size() > sql_bytes_max) {
        return ParseError{1, 1,
                          "SQL statement exceeds " + std::to_string(sql_bytes_max) + " bytes"};
    }
    if (!detail::valid_utf8(sql)) {
        return ParseError{1, 1, "SQL statement is not valid UTF-8"};
    }
    std::vector<detail::Token> tokens;
    ParseError error;
    detail::Lexer lexer(sql, 0);
    if (!lexer.run(tokens, error)) {
        return error;
    }
    detail::Parser parser(std::move(tokens), version);
    try {
        std::shared_ptr<detail::Query> q = parser.statement(/*nested=*/false);
        parser.expect_end();
        detail::collect_reads(*q);
        q->sql = std::string(sql);
        return Statement(std::move(q));
    } catch (const detail::Failure& f) {
        return f.error;
    }
}

}  // namespace iotsim::rules
