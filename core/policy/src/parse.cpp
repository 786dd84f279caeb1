// parse_policy: size limits, JSON, grammar, then compilation of every pattern.

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "compiled.hpp"
#include "errors.hpp"
#include "iotsim/common/assert.hpp"
#include "iotsim/policy/policy.hpp"
#include "text.hpp"

namespace iotsim::policy {

using detail::CompiledPolicy;
using detail::PolicyAccess;

Policy::Policy(std::shared_ptr<const CompiledPolicy> compiled) : compiled_(std::move(compiled)) {
    IOTSIM_ASSERT(compiled_ != nullptr);
}

const std::string& Policy::name() const { return compiled_->name; }
const std::string& Policy::arn() const { return compiled_->arn; }
LanguageVersion Policy::version() const { return compiled_->version; }
std::size_t Policy::statement_count() const { return compiled_->statements.size(); }

std::string_view Policy::statement_sid(std::size_t index) const {
    IOTSIM_ASSERT(index < compiled_->statements.size());
    return compiled_->statements[index].sid;
}

Effect Policy::statement_effect(std::size_t index) const {
    IOTSIM_ASSERT(index < compiled_->statements.size());
    return compiled_->statements[index].effect;
}

namespace {

using nlohmann::json;
using detail::BaseOperator;
using detail::ConditionClause;
using detail::ConditionValue;
using detail::Pattern;
using detail::PatternSyntax;
using detail::SetQualifier;
using detail::Statement;

struct OperatorInfo {
    std::string_view name;
    BaseOperator op;
    bool negated;
};

// IAM's condition operators that iotsim evaluates (the ones AWS IoT's guide and examples use,
// plus their IAM siblings that cost nothing more).
constexpr OperatorInfo operators[] = {
    {"StringEquals", BaseOperator::string_equals, false},
    {"StringNotEquals", BaseOperator::string_equals, true},
    {"StringEqualsIgnoreCase", BaseOperator::string_equals_ignore_case, false},
    {"StringNotEqualsIgnoreCase", BaseOperator::string_equals_ignore_case, true},
    {"StringLike", BaseOperator::string_like, false},
    {"StringNotLike", BaseOperator::string_like, true},
    {"NumericEquals", BaseOperator::numeric_equals, false},
    {"NumericNotEquals", BaseOperator::numeric_equals, true},
    {"NumericLessThan", BaseOperator::numeric_less_than, false},
    {"NumericLessThanEquals", BaseOperator::numeric_less_than_equals, false},
    {"NumericGreaterThan", BaseOperator::numeric_greater_than, false},
    {"NumericGreaterThanEquals", BaseOperator::numeric_greater_than_equals, false},
    {"DateEquals", BaseOperator::date_equals, false},
    {"DateNotEquals", BaseOperator::date_equals, true},
    {"DateLessThan", BaseOperator::date_less_than, false},
    {"DateLessThanEquals", BaseOperator::date_less_than_equals, false},
    {"DateGreaterThan", BaseOperator::date_greater_than, false},
    {"DateGreaterThanEquals", BaseOperator::date_greater_than_equals, false},
    {"Bool", BaseOperator::boolean, false},
    {"IpAddress", BaseOperator::ip_address, false},
    {"NotIpAddress", BaseOperator::ip_address, true},
    {"ArnEquals", BaseOperator::arn_like, false},
    {"ArnNotEquals", BaseOperator::arn_like, true},
    {"ArnLike", BaseOperator::arn_like, false},
    {"ArnNotLike", BaseOperator::arn_like, true},
    {"Null", BaseOperator::null_check, false},
};

// Valid IAM operators that iotsim refuses rather than evaluate wrongly. Nothing in AWS IoT's
// guide uses them (binary condition values have no IoT condition key to compare with).
constexpr std::string_view unsupported_operators[] = {"BinaryEquals"};

std::string pointer_token(std::string_view key) {
    // RFC 6901 escaping: ~ -> ~0, / -> ~1.
    std::string out;
    for (const char c : key) {
        if (c == '~') {
            out += "~0";
        } else if (c == '/') {
            out += "~1";
        } else {
            out += c;
        }
    }
    return out;
}

std::string child(const std::string& path, std::string_view key) {
    return path + "/" + pointer_token(key);
}

std::string child(const std::string& path, std::size_t index) {
    return path + "/" + std::to_string(index);
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool is_action_service_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

bool is_action_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '*' ||
           c == '?';
}

// "*" or "service:Name" with IAM's characters; wildcards only in the name.
bool valid_action(std::string_view action) {
    if (action == "*") {
        return true;
    }
    const std::size_t colon = action.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == action.size()) {
        return false;
    }
    for (std::size_t i = 0; i < colon; ++i) {
        if (!is_action_service_char(action[i])) {
            return false;
        }
    }
    for (std::size_t i = colon + 1; i < action.size(); ++i) {
        if (!is_action_name_char(action[i])) {
            return false;
        }
    }
    return true;
}

// "*" or "arn:partition:service:region:account:resource" (components may hold wildcards and
// variables; region and account may be empty as in IAM ARNs).
bool valid_resource(std::string_view resource) {
    if (resource == "*") {
        return true;
    }
    if (!resource.starts_with("arn:")) {
        return false;
    }
    std::size_t colons = 0;
    for (const char c : resource) {
        colons += c == ':' ? 1 : 0;
    }
    return colons >= 5;
}

bool valid_condition_key(std::string_view key) {
    const std::size_t colon = key.find(':');
    return colon != std::string_view::npos && colon > 0 && colon + 1 < key.size();
}

class Parser {
public:
    explicit Parser(LanguageVersion version) : version_(version) {}

    std::optional<PolicyError> statement(const json& node, const std::string& path, Statement& out);

private:
    std::optional<PolicyError> strings(const json& node, const std::string& path,
                                       std::string_view element, std::vector<std::string>& out);
    std::optional<PolicyError> condition(const json& node, const std::string& path,
                                         std::vector<ConditionClause>& out);
    std::optional<PolicyError> clause_values(const json& node, const std::string& path,
                                             ConditionClause& clause);

    PatternSyntax syntax(bool wildcards) const {
        return PatternSyntax{.wildcards = wildcards,
                             .variables = version_ == LanguageVersion::v2012_10_17};
    }

    LanguageVersion version_;
};

std::optional<PolicyError> Parser::strings(const json& node, const std::string& path,
                                           std::string_view element, std::vector<std::string>& out) {
    if (node.is_string()) {
        out.push_back(node.get<std::string>());
        return std::nullopt;
    }
    if (!node.is_array() || node.empty()) {
        return detail::invalid_syntax(
            std::string(element) + " must be a string or a non-empty array of strings", path);
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
        if (!node[i].is_string()) {
            return detail::invalid_syntax(std::string(element) + " entries must be strings",
                                          child(path, i));
        }
        out.push_back(node[i].get<std::string>());
    }
    return std::nullopt;
}

std::optional<PolicyError> Parser::statement(const json& node, const std::string& path,
                                             Statement& out) {
    if (!node.is_object()) {
        return detail::invalid_syntax("a statement must be an object", path);
    }
    const json* effect = nullptr;
    const json* action = nullptr;
    const json* resource = nullptr;
    const json* condition_node = nullptr;
    std::string action_key;
    std::string resource_key;
    for (const auto& [key, value] : node.items()) {
        if (key == "Sid") {
            if (!value.is_string()) {
                return detail::invalid_syntax("Sid must be a string", child(path, key));
            }
            out.sid = value.get<std::string>();
        } else if (key == "Effect") {
            effect = &value;
        } else if (key == "Action" || key == "NotAction") {
            if (action != nullptr) {
                return detail::invalid_syntax("a statement has either Action or NotAction, not both",
                                              child(path, key));
            }
            action = &value;
            action_key = key;
        } else if (key == "Resource" || key == "NotResource") {
            if (resource != nullptr) {
                return detail::invalid_syntax(
                    "a statement has either Resource or NotResource, not both", child(path, key));
            }
            resource = &value;
            resource_key = key;
        } else if (key == "Condition") {
            condition_node = &value;
        } else {
            // Principal and NotPrincipal belong to resource policies; IoT policies are attached
            // to principals and have neither.
            return detail::invalid_syntax("unknown statement element " + key, child(path, key));
        }
    }

    if (effect == nullptr) {
        return detail::invalid_syntax("a statement needs Effect", path);
    }
    if (effect->is_string() && effect->get<std::string>() == "Allow") {
        out.effect = Effect::allow;
    } else if (effect->is_string() && effect->get<std::string>() == "Deny") {
        out.effect = Effect::deny;
    } else {
        return detail::invalid_syntax("Effect must be \"Allow\" or \"Deny\"", child(path, "Effect"));
    }

    if (action == nullptr) {
        return detail::invalid_syntax("a statement needs Action or NotAction", path);
    }
    std::vector<std::string> action_texts;
    if (auto error = strings(*action, child(path, action_key), action_key, action_texts)) {
        return error;
    }
    out.not_action = action_key == "NotAction";
    for (std::size_t i = 0; i < action_texts.size(); ++i) {
        if (!valid_action(action_texts[i])) {
            return detail::invalid_syntax(
                "invalid action '" + action_texts[i] + "' (expected \"*\" or service:Name)",
                action->is_array() ? child(child(path, action_key), i) : child(path, action_key));
        }
        // Actions are case-insensitive: kept in lower case, compared with the request's action
        // folded once per evaluation. They take no variables (valid_action refuses `${`).
        std::string lowered = action_texts[i];
        for (char& c : lowered) {
            c = detail::ascii_lower(c);
        }
        out.actions.push_back(detail::compile_pattern(
            lowered, PatternSyntax{.wildcards = true, .variables = false}));
    }
    detail::index_actions(out);

    if (resource == nullptr) {
        return detail::invalid_syntax("a statement needs Resource or NotResource", path);
    }
    std::vector<std::string> resource_texts;
    if (auto error = strings(*resource, child(path, resource_key), resource_key, resource_texts)) {
        return error;
    }
    out.not_resource = resource_key == "NotResource";
    std::vector<std::string> invalid;
    for (const std::string& text : resource_texts) {
        if (!valid_resource(text)) {
            invalid.push_back(text);
        }
    }
    if (!invalid.empty()) {
        return detail::invalid_resources(invalid, child(path, resource_key));
    }
    for (const std::string& text : resource_texts) {
        PatternSyntax resource_syntax = syntax(true);
        resource_syntax.arn = true;
        out.resources.push_back(detail::compile_pattern(text, resource_syntax));
    }

    if (condition_node != nullptr) {
        if (auto error = condition(*condition_node, child(path, "Condition"), out.conditions)) {
            return error;
        }
    }
    return std::nullopt;
}

std::optional<PolicyError> Parser::condition(const json& node, const std::string& path,
                                             std::vector<ConditionClause>& out) {
    if (!node.is_object()) {
        return detail::invalid_syntax("Condition must be an object", path);
    }
    for (const auto& [op_text, block] : node.items()) {
        const std::string op_path = child(path, op_text);
        std::string_view name = op_text;
        SetQualifier qualifier = SetQualifier::none;
        if (name.starts_with("ForAnyValue:")) {
            qualifier = SetQualifier::for_any_value;
            name.remove_prefix(std::string_view("ForAnyValue:").size());
        } else if (name.starts_with("ForAllValues:")) {
            qualifier = SetQualifier::for_all_values;
            name.remove_prefix(std::string_view("ForAllValues:").size());
        }
        bool if_exists = false;
        if (name.ends_with("IfExists") && name != "IfExists") {
            if_exists = true;
            name.remove_suffix(std::string_view("IfExists").size());
        }
        const OperatorInfo* info = nullptr;
        for (const OperatorInfo& candidate : operators) {
            if (candidate.name == name) {
                info = &candidate;
            }
        }
        if (info == nullptr) {
            for (const std::string_view unsupported : unsupported_operators) {
                if (unsupported == name) {
                    return detail::unsupported_operator(op_text, op_path);
                }
            }
            return detail::invalid_syntax("unknown condition operator " + op_text, op_path);
        }
        if (info->op == BaseOperator::null_check && (if_exists || qualifier != SetQualifier::none)) {
            return detail::invalid_syntax("Null takes neither IfExists nor a set qualifier", op_path);
        }
        if (!block.is_object() || block.empty()) {
            return detail::invalid_syntax("a condition operator maps condition keys to values",
                                          op_path);
        }
        for (const auto& [key, values] : block.items()) {
            const std::string key_path = child(op_path, key);
            if (!valid_condition_key(key)) {
                return detail::invalid_syntax("invalid condition key '" + key + "'", key_path);
            }
            ConditionClause clause;
            clause.op = info->op;
            clause.negated = info->negated;
            clause.if_exists = if_exists;
            clause.qualifier = qualifier;
            clause.key = detail::parse_variable(key);
            if (auto error = clause_values(values, key_path, clause)) {
                return error;
            }
            out.push_back(std::move(clause));
        }
    }
    return std::nullopt;
}

std::optional<PolicyError> Parser::clause_values(const json& node, const std::string& path,
                                                 ConditionClause& clause) {
    std::vector<std::pair<std::string, std::string>> texts;  // (value, path)
    const auto scalar = [](const json& value) -> std::optional<std::string> {
        // IAM takes condition values as strings; JSON booleans and numbers stand for their text.
        if (value.is_string()) {
            return value.get<std::string>();
        }
        if (value.is_boolean()) {
            return std::string(value.get<bool>() ? "true" : "false");
        }
        if (value.is_number()) {
            return value.dump();
        }
        return std::nullopt;
    };
    if (node.is_array()) {
        if (node.empty()) {
            return detail::invalid_syntax("a condition needs at least one value", path);
        }
        for (std::size_t i = 0; i < node.size(); ++i) {
            auto text = scalar(node[i]);
            if (!text) {
                return detail::invalid_syntax("condition values are strings, numbers or booleans",
                                              child(path, i));
            }
            texts.emplace_back(std::move(*text), child(path, i));
        }
    } else if (auto text = scalar(node)) {
        texts.emplace_back(std::move(*text), path);
    } else {
        return detail::invalid_syntax("condition values are strings, numbers or booleans", path);
    }

    const bool wildcards =
        clause.op == BaseOperator::string_like || clause.op == BaseOperator::arn_like;
    for (auto& [text, value_path] : texts) {
        ConditionValue value;
        PatternSyntax value_syntax = syntax(wildcards);
        value_syntax.arn = clause.op == BaseOperator::arn_like;
        value.pattern = detail::compile_pattern(text, value_syntax);
        if (value.pattern.variables.empty()) {
            const bool ok = detail::substitute(value.pattern, RequestContext{}, value.text, nullptr);
            IOTSIM_ASSERT(ok);
            // Values without variables are checked here, once, and kept parsed.
            bool valid = true;
            switch (clause.op) {
            case BaseOperator::numeric_equals:
            case BaseOperator::numeric_less_than:
            case BaseOperator::numeric_less_than_equals:
            case BaseOperator::numeric_greater_than:
            case BaseOperator::numeric_greater_than_equals:
                value.number = detail::parse_number(value.text);
                valid = value.number.has_value();
                break;
            case BaseOperator::date_equals:
            case BaseOperator::date_less_than:
            case BaseOperator::date_less_than_equals:
            case BaseOperator::date_greater_than:
            case BaseOperator::date_greater_than_equals:
                value.time_ms = detail::parse_time_ms(value.text);
                valid = value.time_ms.has_value();
                break;
            case BaseOperator::ip_address:
                value.ip = detail::parse_ip_range(value.text);
                valid = value.ip.has_value();
                break;
            case BaseOperator::boolean:
            case BaseOperator::null_check:
                valid = detail::iequals(value.text, "true") || detail::iequals(value.text, "false");
                break;
            default:
                break;
            }
            if (!valid) {
                return detail::invalid_syntax("invalid condition value '" + text + "'", value_path);
            }
        } else if (clause.op == BaseOperator::null_check) {
            return detail::invalid_syntax("Null takes \"true\" or \"false\"", value_path);
        }
        clause.values.push_back(std::move(value));
    }
    return std::nullopt;
}

std::pair<std::size_t, std::size_t> line_and_column(std::string_view text, std::size_t byte) {
    // nlohmann's `byte` is 1-based: the position of the last character read.
    const std::size_t index = byte == 0 ? 0 : std::min(byte - 1, text.size());
    std::size_t line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < index; ++i) {
        if (text[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    }
    return {line, index - line_start + 1};
}

}  // namespace

Result<Policy, PolicyError> parse_policy(std::string_view document, const PolicyOptions& options) {
    // Limits first, before anything is allocated for the document.
    if (document.size() > options.document_bytes_max) {
        return detail::too_large(document.size(), options.document_bytes_max, true);
    }
    std::size_t chars = 0;
    for (const char c : document) {
        // Whitespace is not counted (AWS); a UTF-8 sequence counts once.
        if (!is_space(c) && (static_cast<unsigned char>(c) & 0xC0U) != 0x80U) {
            ++chars;
        }
    }
    if (chars > options.document_chars_max) {
        return detail::too_large(chars, options.document_chars_max, false);
    }

    json root;
    try {
        // Exceptions stay inside this control-plane function: they are the only way
        // nlohmann reports where a syntax error is.
        root = json::parse(document);
    } catch (const json::parse_error& e) {
        const auto [line, column] = line_and_column(document, e.byte);
        std::string what = e.what();
        const std::size_t bracket = what.find("] ");
        if (bracket != std::string::npos) {
            what.erase(0, bracket + 2);
        }
        return detail::invalid_json(what, line, column);
    } catch (const json::exception& e) {
        return detail::invalid_json(e.what(), 0, 0);
    }

    if (!root.is_object()) {
        return detail::invalid_syntax("a policy document is a JSON object", "");
    }
    auto compiled = std::make_shared<CompiledPolicy>();
    compiled->name = options.name;
    compiled->arn = options.arn;
    const json* statements = nullptr;
    for (const auto& [key, value] : root.items()) {
        if (key == "Version") {
            if (value.is_string() && value.get<std::string>() == "2012-10-17") {
                compiled->version = LanguageVersion::v2012_10_17;
            } else if (value.is_string() && value.get<std::string>() == "2008-10-17") {
                compiled->version = LanguageVersion::v2008_10_17;
            } else {
                return detail::invalid_syntax(
                    "Version must be \"2012-10-17\" or \"2008-10-17\"", "/Version");
            }
        } else if (key == "Id") {
            if (!value.is_string()) {
                return detail::invalid_syntax("Id must be a string", "/Id");
            }
        } else if (key == "Statement") {
            statements = &value;
        } else {
            return detail::invalid_syntax("unknown policy element " + key, child("", key));
        }
    }
    if (statements == nullptr) {
        return detail::invalid_syntax("a policy needs Statement", "");
    }
    Parser parser(compiled->version);
    if (statements->is_array()) {
        for (std::size_t i = 0; i < statements->size(); ++i) {
            Statement statement;
            if (auto error = parser.statement((*statements)[i], child("/Statement", i), statement)) {
                return std::move(*error);
            }
            compiled->statements.push_back(std::move(statement));
        }
    } else {
        Statement statement;
        if (auto error = parser.statement(*statements, "/Statement", statement)) {
            return std::move(*error);
        }
        compiled->statements.push_back(std::move(statement));
    }
    return PolicyAccess::make(std::move(compiled));
}

}  // namespace iotsim::policy
