// Substitution templates (reference §3.9): `${expression}` inside action parameters.

#include "iotsim/rules/template.hpp"

#include <vector>

#include "ast.hpp"
#include "convert.hpp"

namespace iotsim::rules {
namespace detail {

struct TemplatePart {
    std::string literal;
    ExprPtr expr;  // null for literal text
};

struct TemplateParts {
    SqlVersion version = SqlVersion::v2016_03_23;
    std::vector<TemplatePart> parts;
};

}  // namespace detail

bool Template::has_substitutions() const {
    for (const auto& p : parts_->parts) {
        if (p.expr) {
            return true;
        }
    }
    return false;
}

Result<Template, ParseError> parse_template(std::string_view text, SqlVersion version,
                                            TemplateUse use) {
    auto parts = std::make_shared<detail::TemplateParts>();
    parts->version = version;
    std::string literal;
    std::size_t i = 0;
    const auto column = [](std::size_t offset) { return static_cast<int>(offset) + 1; };
    while (i < text.size()) {
        if (text[i] != '$') {
            literal.push_back(text[i++]);
            continue;
        }
        if (i + 1 < text.size() && text[i + 1] == '$') {
            literal.push_back('$');
            i += 2;
            continue;
        }
        if (i + 1 >= text.size() || text[i + 1] != '{') {
            literal.push_back('$');
            ++i;
            continue;
        }
        // Find the matching `}`, skipping quoted strings and balanced braces (object literals).
        const std::size_t open = i;
        std::size_t j = i + 2;
        int depth = 0;
        char quote = 0;
        bool closed = false;
        for (; j < text.size(); ++j) {
            const char c = text[j];
            if (quote != 0) {
                if (c == '\\') {
                    ++j;
                } else if (c == quote) {
                    quote = 0;
                }
                continue;
            }
            if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '{') {
                ++depth;
            } else if (c == '}') {
                if (depth == 0) {
                    closed = true;
                    break;
                }
                --depth;
            }
        }
        if (!closed) {
            return ParseError{1, column(open),
                              "Unterminated substitution: '${' without a matching '}'"};
        }
        const std::string_view body = text.substr(open + 2, j - open - 2);
        if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
            return ParseError{1, column(open), "Empty substitution '${}'"};
        }
        auto parsed = detail::parse_expression(body, version, static_cast<int>(open + 2));
        if (!parsed.ok()) {
            return parsed.error();
        }
        if (use == TemplateUse::ErrorAction && parsed.value().external) {
            return ParseError{
                1, column(open),
                "External functions are not allowed in an errorAction's substitution templates"};
        }
        if (!literal.empty()) {
            parts->parts.push_back(detail::TemplatePart{std::move(literal), nullptr});
            literal.clear();
        }
        parts->parts.push_back(detail::TemplatePart{{}, std::move(std::move(parsed).value().expr)});
        i = j + 1;
    }
    if (!literal.empty()) {
        parts->parts.push_back(detail::TemplatePart{std::move(literal), nullptr});
    }
    return Template(std::move(parts));
}

Result<std::string, RuntimeError> render(const Template& tmpl, const Message& message,
                                         EvalContext& context) {
    const detail::TemplateParts& t = tmpl.parts();
    bool binary = false;
    const Value payload = detail::load_payload(message.payload, t.version, binary);
    detail::Eval eval{message, context, t.version, &payload, &payload};
    std::string out;
    for (const auto& part : t.parts) {
        if (!part.expr) {
            out += part.literal;
            continue;
        }
        const Value v = detail::eval_expr(*part.expr, eval);
        // AMBIG: Undefined and Null have no string form (reference §3.5) and render as nothing.
        (void)detail::append_text(v, out);
    }
    if (eval.failed) {
        return RuntimeError{std::move(eval.error)};
    }
    return out;
}

}  // namespace iotsim::rules
