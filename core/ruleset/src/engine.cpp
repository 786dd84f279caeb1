#include "iotsim/ruleset/engine.hpp"

#include <utility>

#include "iotsim/common/assert.hpp"
#include "iotsim/http/base64.hpp"
#include "iotsim/mqtt/topic.hpp"
#include "iotsim/rules/evaluate.hpp"
#include "iotsim/rules/template.hpp"

namespace iotsim::ruleset {

namespace {

using nlohmann::json;

constexpr std::string_view basic_ingest_prefix = "$aws/rules/";

/// The topic a rule sees: Basic Ingest's `$aws/rules/<rule>/` prefix removed (reference §1.15).
std::string_view rule_topic(std::string_view topic, std::string_view rule) {
    if (!topic.starts_with(basic_ingest_prefix)) {
        return topic;
    }
    std::string_view rest = topic.substr(basic_ingest_prefix.size());
    if (!rest.starts_with(rule)) {
        return topic;
    }
    rest.remove_prefix(rule.size());
    if (rest.empty()) {
        return rest;
    }
    return rest.front() == '/' ? rest.substr(1) : topic;
}

rules::Message to_rules_message(const broker::Message& m, std::string_view topic) {
    rules::Message r{topic, m.payload};
    const auto& p = m.properties;
    for (const auto& u : p.user_properties) {
        r.user_properties.emplace_back(u.key, u.value);
    }
    r.content_type = p.content_type;
    r.response_topic = p.response_topic;
    r.correlation_data = p.correlation_data;
    if (p.payload_format_indicator) {
        r.payload_format_utf8 = *p.payload_format_indicator == 1;
    }
    return r;
}

/// Renders an action's templated fields into a copy of its config; nullopt and `error` set when
/// a template fails (an external function failed).
std::optional<RenderedAction> render_action(const CompiledAction& a, int index, const rules::Message& msg,
                                            rules::EvalContext& ctx, std::string& error) {
    RenderedAction out{index, a.type, a.config};
    for (const auto& [field, tmpl] : a.templates) {
        auto r = rules::render(tmpl, msg, ctx);
        if (!r) {
            error = r.error().message;
            return std::nullopt;
        }
        out.config[json::json_pointer(field)] = std::move(r).value();
    }
    return out;
}

/// The republish action's MQTT 5 headers (reference §3.10) onto `m`.
void apply_headers(const json& headers, broker::Message& m) {
    if (!headers.is_object()) {
        return;
    }
    auto& p = m.properties;
    if (auto it = headers.find("payloadFormatIndicator"); it != headers.end() && it->is_string()) {
        p.payload_format_indicator = it->get<std::string>() == "UTF-8_DATA" ? 1 : 0;
    }
    if (auto it = headers.find("contentType"); it != headers.end() && it->is_string()) {
        p.content_type = it->get<std::string>();
    }
    if (auto it = headers.find("responseTopic"); it != headers.end() && it->is_string()) {
        p.response_topic = it->get<std::string>();
    }
    if (auto it = headers.find("correlationData"); it != headers.end() && it->is_string()) {
        // The model: base64-encoded bytes.
        p.correlation_data = http::base64_decode(it->get<std::string>()).value_or(it->get<std::string>());
    }
    if (auto it = headers.find("userProperties"); it != headers.end() && it->is_array()) {
        for (const auto& u : *it) {
            if (u.is_object() && u.contains("key") && u.contains("value") && u["key"].is_string() &&
                u["value"].is_string()) {
                p.user_properties.push_back({u["key"].get<std::string>(), u["value"].get<std::string>()});
            }
        }
    }
}

}  // namespace

std::string failed_resource_of(const RenderedAction& a) {
    if (a.type == "timestream") {  // a table is named within its database
        const auto name = [&](const char* f) {
            auto it = a.config.find(f);
            return it != a.config.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        return name("databaseName") + "/" + name("tableName");
    }
    static const char* const fields[] = {"bucketName", "queueUrl",  "targetArn",  "functionArn",
                                         "topic",      "tableName", "streamName", "deliveryStreamName",
                                         "logGroupName", "metricName", "url",     "alarmName"};
    for (const char* f : fields) {
        if (auto it = a.config.find(f); it != a.config.end() && it->is_string()) {
            return it->get<std::string>();
        }
    }
    if (auto it = a.config.find("putItem"); it != a.config.end() && it->is_object() && it->contains("tableName")) {
        return (*it)["tableName"].is_string() ? (*it)["tableName"].get<std::string>() : "";
    }
    return "";
}

std::string error_action_payload(const RuleActionRequest& request, const std::vector<ActionFailure>& failures) {
    json f = json::array();
    for (const auto& x : failures) {
        f.push_back(json{{"failedAction", x.failed_action},
                         {"failedResource", x.failed_resource},
                         {"errorMessage", x.error_message}});
    }
    const json j{{"ruleName", request.rule_name},
                 {"topic", request.topic},
                 {"cloudwatchTraceId", request.trace_id},
                 {"clientId", request.client_id},
                 {"base64OriginalPayload", http::base64_encode(request.original_payload)},
                 {"failures", std::move(f)}};
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

RulesEngine::RulesEngine(RuleStore& store, Rng& rng) : store_(store), rng_(rng) {}

void RulesEngine::set_routes(RuleRoutes* routes) {
    routes_ = routes;
    for (const auto& [name, e] : rules_) {
        route(*e, true);
    }
}

void RulesEngine::recover() {
    for (const StoredRule& s : store_.load_all()) {
        if (rules_.contains(s.name)) {
            continue;
        }
        try {
            WallTime created{std::chrono::milliseconds(s.created_at_ms)};
            auto e = std::make_unique<Entry>(
                Entry{compile_rule(s.name, s.payload_json, created), broker::ListenerId{next_listener_++}});
            by_listener_[e->listener.value] = e.get();
            route(*e, true);
            rules_.emplace(s.name, std::move(e));
        } catch (const RuleError&) {
            // A rule that no longer compiles (an older iotsim accepted it): skipped, kept stored.
        }
    }
}

void RulesEngine::route(const Entry& e, bool install) {
    if (routes_ == nullptr || e.rule.disabled) {
        return;
    }
    const std::string& filter = e.rule.statement.from_filter();
    if (install) {
        routes_->install(e.listener, filter, e.rule.name);
    } else {
        routes_->uninstall(e.listener, filter, e.rule.name);
    }
}

void RulesEngine::persist(const CompiledRule& rule) {
    store_.put(StoredRule{rule.name, rule.payload().dump(), rule.created_at.unix_ms()});
}

void RulesEngine::create(std::string_view name, std::string_view payload_json, WallTime now) {
    validate_rule_name(name);
    if (rules_.contains(name)) {
        throw errors::make(errors::resource_already_exists,
                           "Rule " + std::string(name) + " already exists");
    }
    auto e = std::make_unique<Entry>(Entry{compile_rule(name, payload_json, now), broker::ListenerId{next_listener_}});
    persist(e->rule);
    ++next_listener_;
    by_listener_[e->listener.value] = e.get();
    route(*e, true);
    rules_.emplace(std::string(name), std::move(e));
}

void RulesEngine::replace(std::string_view name, std::string_view payload_json, WallTime now) {
    validate_rule_name(name);
    auto it = rules_.find(name);
    if (it == rules_.end()) {
        // AWS answers ReplaceTopicRule on a missing rule with UnauthorizedException (it cannot
        // tell "no such rule" from "no permission on it"); reference §3.1 lists it.
        throw errors::make(errors::unauthorized, "Rule " + std::string(name) + " does not exist");
    }
    CompiledRule next = compile_rule(name, payload_json, now);
    next.created_at = it->second->rule.created_at;
    persist(next);
    route(*it->second, false);
    it->second->rule = std::move(next);
    route(*it->second, true);
}

const CompiledRule& RulesEngine::get(std::string_view name) const {
    validate_rule_name(name);
    auto it = rules_.find(name);
    if (it == rules_.end()) {
        throw errors::make(errors::unauthorized, "Rule " + std::string(name) + " does not exist");
    }
    return it->second->rule;
}

void RulesEngine::set_enabled(std::string_view name, bool enabled) {
    validate_rule_name(name);
    auto it = rules_.find(name);
    if (it == rules_.end()) {
        throw errors::make(errors::unauthorized, "Rule " + std::string(name) + " does not exist");
    }
    Entry& e = *it->second;
    if (e.rule.disabled == !enabled) {
        return;
    }
    // Stored before anything changes, as create/replace do: a store that throws (a SQLite store's
    // environment failure) leaves the rule as it was, routed as it was.
    json payload = e.rule.payload();
    payload["ruleDisabled"] = !enabled;
    store_.put(StoredRule{e.rule.name, payload.dump(), e.rule.created_at.unix_ms()});
    route(e, false);
    e.rule.disabled = !enabled;
    route(e, true);
}

void RulesEngine::remove(std::string_view name) {
    validate_rule_name(name);
    auto it = rules_.find(name);
    if (it == rules_.end()) {
        // AWS: DeleteTopicRule of a missing rule succeeds (idempotent).
        return;
    }
    store_.erase(name);
    route(*it->second, false);
    by_listener_.erase(it->second->listener.value);
    rules_.erase(it);
}

RuleListPage RulesEngine::list(std::optional<std::string_view> topic, std::optional<bool> disabled,
                               std::size_t max_results, std::string_view next_token) const {
    RuleListPage page;
    auto it = next_token.empty() ? rules_.begin() : rules_.lower_bound(next_token);
    for (; it != rules_.end(); ++it) {
        const CompiledRule& r = it->second->rule;
        if ((topic && r.statement.from_filter() != *topic) || (disabled && r.disabled != *disabled)) {
            continue;
        }
        if (page.rules.size() == max_results) {
            page.next_token = it->first;
            break;
        }
        page.rules.push_back(&r);
    }
    return page;
}

bool RulesEngine::owns(broker::ListenerId listener) const { return by_listener_.contains(listener.value); }

void RulesEngine::fire(broker::ListenerId listener, const broker::Message& message, WallTime now, Firing& out) {
    auto found = by_listener_.find(listener.value);
    if (found == by_listener_.end() || found->second->rule.disabled) {
        return;
    }
    const CompiledRule& rule = found->second->rule;
    const rules::Message msg = to_rules_message(message, rule_topic(message.topic, rule.name));
    rules::EvalContext ctx{.rng = rng_, .now = now, .get_thing_shadow = get_thing_shadow_, .aws_lambda = aws_lambda_};
    if (!message.publisher.empty()) {
        ctx.client_id = message.publisher;
    }
    ++stats_.evaluations;
    rules::EvalOutcome outcome;
    rules::evaluate(rule.statement, msg, ctx, outcome);
    if (outcome.kind == rules::OutcomeKind::NoMatch) {
        return;
    }
    RuleActionRequest req{.rule_name = rule.name,
                          .topic = message.topic,
                          .client_id = ctx.client_id,
                          .trace_id = rng_.uuid4(),
                          .original_payload = message.payload,
                          .payload = std::move(outcome.payload),
                          .binary_payload = outcome.format == rules::PayloadFormat::Binary};
    if (outcome.kind == rules::OutcomeKind::Error) {
        ++stats_.sql_errors;
        req.failures.push_back(ActionFailure{"", "", outcome.error});
    } else {
        ++stats_.matches;
        for (std::size_t i = 0; i < rule.actions.size(); ++i) {
            const CompiledAction& a = rule.actions[i];
            std::string error;
            auto rendered = render_action(a, static_cast<int>(i), msg, ctx, error);
            if (!rendered) {
                req.failures.push_back(ActionFailure{failed_action_name(a.type), "", error});
                continue;
            }
            if (a.type != "republish") {
                ++stats_.actions_emitted;
                req.actions.push_back(std::move(*rendered));
                continue;
            }
            const std::string topic = rendered->config["topic"].get<std::string>();
            if (!mqtt::is_valid_topic_name(topic)) {
                ++stats_.republish_failed;
                req.failures.push_back(ActionFailure{"RepublishAction", topic,
                                                     "Failed to republish to topic. The topic is invalid: " + topic});
                continue;
            }
            broker::Message m;
            m.topic = topic;
            m.payload = req.payload;
            m.qos = rendered->config.value("qos", 0) == 1 ? mqtt::QoS::at_least_once : mqtt::QoS::at_most_once;
            if (auto h = rendered->config.find("headers"); h != rendered->config.end()) {
                apply_headers(*h, m);
            }
            ++stats_.republishes;
            out.republishes.push_back(std::move(m));
        }
    }
    if (req.actions.empty() && req.failures.empty()) {
        return;
    }
    if (rule.error_action) {
        std::string error;
        auto rendered = render_action(*rule.error_action, -1, msg, ctx, error);
        if (rendered) {
            req.error_action = std::move(*rendered);
        }
    }
    if (req.actions.empty()) {
        // Only in-core failures: the errorAction runs now (in core if it republishes).
        if (!req.error_action) {
            ++stats_.actions_dropped;
            return;
        }
        ++stats_.error_actions;
        if (req.error_action->type == "republish") {
            const std::string topic = req.error_action->config["topic"].get<std::string>();
            if (mqtt::is_valid_topic_name(topic)) {
                broker::Message m;
                m.topic = topic;
                m.payload = error_action_payload(req, req.failures);
                m.qos = req.error_action->config.value("qos", 0) == 1 ? mqtt::QoS::at_least_once
                                                                      : mqtt::QoS::at_most_once;
                out.republishes.push_back(std::move(m));
            } else {
                ++stats_.actions_dropped;
            }
            return;
        }
    }
    out.request = std::move(req);
}

}  // namespace iotsim::ruleset
