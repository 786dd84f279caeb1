#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "iotsim/common/result.hpp"
#include "iotsim/rules/evaluate.hpp"
#include "iotsim/rules/statement.hpp"

namespace iotsim::rules {

namespace detail {
struct TemplateParts;
}

/// Where a substitution template is used: external functions (get_thing_shadow, aws_lambda) are
/// not allowed in an errorAction's templates (reference §3.9).
enum class TemplateUse : std::uint8_t { Action, ErrorAction };

/// A parsed substitution template, e.g. `prefix/${topic(2)}/${clientid()}`.
/// Thread safety: immutable.
class Template {
public:
    explicit Template(std::shared_ptr<const detail::TemplateParts> parts)
        : parts_(std::move(parts)) {}
    [[nodiscard]] const detail::TemplateParts& parts() const { return *parts_; }
    /// True if the template contains at least one `${...}`.
    [[nodiscard]] bool has_substitutions() const;

private:
    std::shared_ptr<const detail::TemplateParts> parts_;
};

/// Parses a template at rule-creation time. `${expr}` holds any SQL expression of `version` (the
/// fields are the original payload's: SELECT aliases are not visible); `$$` writes a literal `$`
/// (how AWS's republish addresses `$aws/...` topics). Errors (line 1, column of the problem): an
/// unterminated `${`, an empty `${}`, an expression that does not parse, an unknown function, an
/// external function in an ErrorAction template.
[[nodiscard]] Result<Template, ParseError> parse_template(
    std::string_view text, SqlVersion version = SqlVersion::v2016_03_23,
    TemplateUse use = TemplateUse::Action);

/// Renders a template for one message. Strings are inserted without quotes, numbers and booleans
/// in their string form, arrays and objects as JSON, Undefined and Null as nothing (AMBIG: see
/// template.cpp). Errors: a failing external function (the message goes to the errorAction).
[[nodiscard]] Result<std::string, RuntimeError> render(const Template& tmpl, const Message& message,
                                                       EvalContext& context);

}  // namespace iotsim::rules
