#include "iotsim/ruleset/router.hpp"

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "iotsim/http/error.hpp"
#include "iotsim/http/url.hpp"

namespace iotsim::ruleset {

namespace {

using nlohmann::json;

enum class Op : std::uint8_t { create, replace, get, remove, list, enable, disable, none };

struct Route {
    Op op = Op::none;
    std::string rule_name;
    bool path_known = false;
    bool bad_escape = false;
};

std::vector<std::string_view> split(std::string_view path) {
    std::vector<std::string_view> out;
    if (path.starts_with('/')) {
        path.remove_prefix(1);
    }
    while (!path.empty()) {
        const auto slash = path.find('/');
        out.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) {
            break;
        }
        path.remove_prefix(slash + 1);
    }
    return out;
}

Route match(const http::Request& r) {
    Route out;
    const auto parts = split(r.path);
    if (parts.empty() || parts[0] != "rules") {
        return out;
    }
    const std::string_view m = r.method;
    if (parts.size() == 1) {
        out.path_known = true;
        out.op = m == "GET" ? Op::list : Op::none;
        return out;
    }
    if (parts[1].empty() || parts.size() > 3) {
        return out;
    }
    auto name = http::percent_decode(parts[1]);
    out.bad_escape = !name;
    out.rule_name = name.value_or("");
    if (parts.size() == 2) {
        out.path_known = true;
        out.op = m == "POST"     ? Op::create
                 : m == "PATCH"  ? Op::replace
                 : m == "GET"    ? Op::get
                 : m == "DELETE" ? Op::remove
                                 : Op::none;
        return out;
    }
    if (parts[2] == "enable" || parts[2] == "disable") {
        out.path_known = true;
        out.op = m != "POST" ? Op::none : parts[2] == "enable" ? Op::enable : Op::disable;
    }
    return out;
}

std::string_view name_of(Op op) {
    switch (op) {
        case Op::create: return "CreateTopicRule";
        case Op::replace: return "ReplaceTopicRule";
        case Op::get: return "GetTopicRule";
        case Op::remove: return "DeleteTopicRule";
        case Op::list: return "ListTopicRules";
        case Op::enable: return "EnableTopicRule";
        case Op::disable: return "DisableTopicRule";
        case Op::none: break;
    }
    return "";
}

http::Response json_response(const json& body) {
    http::Response r;
    r.headers.push_back({"Content-Type", "application/json"});
    r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
    return r;
}

[[noreturn]] void invalid(std::string message) {
    throw errors::make(errors::invalid_request, std::move(message));
}

http::Response list(RulesEngine& engine, const std::vector<http::QueryParam>& query) {
    std::optional<std::string_view> topic;
    if (const std::string* t = http::find_param(query, "topic")) {
        topic = *t;
    }
    std::optional<bool> disabled;
    if (const std::string* d = http::find_param(query, "ruleDisabled")) {
        if (*d != "true" && *d != "false") {
            invalid("ruleDisabled must be true or false");
        }
        disabled = *d == "true";
    }
    std::size_t max = 1000;  // AMBIG: AWS's default page size is not documented
    if (const std::string* m = http::find_param(query, "maxResults")) {
        std::size_t v = 0;
        const bool digits = !m->empty() && m->size() <= 6 &&
                            m->find_first_not_of("0123456789") == std::string::npos;
        if (digits) {
            v = std::stoul(*m);
        }
        if (!digits || v < 1 || v > 10000) {
            invalid("1 validation error detected: Value '" + *m +
                    "' at 'maxResults' failed to satisfy constraint: Member must have value "
                    "between 1 and 10000");
        }
        max = v;
    }
    const std::string* token = http::find_param(query, "nextToken");
    const auto page = engine.list(topic, disabled, max, token ? std::string_view(*token) : std::string_view());
    json rules = json::array();
    for (const CompiledRule* r : page.rules) {
        rules.push_back(json{{"ruleArn", rule_arn(r->name)},
                             {"ruleName", r->name},
                             {"topicPattern", r->statement.from_filter()},
                             {"createdAt", static_cast<double>(r->created_at.unix_ms()) / 1000.0},
                             {"ruleDisabled", r->disabled}});
    }
    json body{{"rules", std::move(rules)}};
    if (!page.next_token.empty()) {
        body["nextToken"] = page.next_token;
    }
    return json_response(body);
}

}  // namespace

bool TopicRuleRouter::owns_path(std::string_view path) {
    return path == "/rules" || path.starts_with("/rules/");
}

std::string_view TopicRuleRouter::operation_for(const http::Request& request) {
    return name_of(match(request).op);
}

http::Response TopicRuleRouter::handle(const http::Request& request, Now now) {
    const std::string request_id = rng_.uuid4();
    const auto error = [](const http::ApiError& e) { return http::error_response(e, ""); };
    http::Response response;
    const Route route = match(request);
    if (route.op == Op::none) {
        response = route.path_known ? error(http::api_error(405, "Method Not Allowed"))
                                    : error(http::api_error(404, "Not Found"));
    } else if (route.bad_escape) {
        response = error(errors::make(errors::invalid_request, "Invalid percent-encoding in the request path").error());
    } else if (auto query = http::parse_query(request.query); !query) {
        response = error(errors::make(errors::invalid_request, "Invalid percent-encoding in the query string").error());
    } else {
        try {
            switch (route.op) {
                case Op::create:
                    engine_.create(route.rule_name, request.body, now.wall);
                    response = http::Response{};
                    break;
                case Op::replace:
                    engine_.replace(route.rule_name, request.body, now.wall);
                    response = http::Response{};
                    break;
                case Op::get: {
                    const CompiledRule& r = engine_.get(route.rule_name);
                    response = json_response(json{{"ruleArn", rule_arn(r.name)}, {"rule", r.to_topic_rule()}});
                    break;
                }
                case Op::remove:
                    engine_.remove(route.rule_name);
                    response = http::Response{};
                    break;
                case Op::enable:
                case Op::disable:
                    engine_.set_enabled(route.rule_name, route.op == Op::enable);
                    response = http::Response{};
                    break;
                case Op::list:
                    response = list(engine_, *query);
                    break;
                case Op::none:
                    break;
            }
        } catch (const RuleError& e) {
            response = error(e.error());
        } catch (const std::exception&) {
            response = error(errors::make(errors::internal, "Internal service failure").error());
        }
    }
    response.headers.push_back({"x-amzn-RequestId", request_id});
    return response;
}

}  // namespace iotsim::ruleset
