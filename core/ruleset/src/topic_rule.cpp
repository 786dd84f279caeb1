#include "iotsim/ruleset/topic_rule.hpp"

#include "iotsim/common/account.hpp"
#include "iotsim/mqtt/topic.hpp"

#include <algorithm>
#include <vector>

namespace iotsim::ruleset {

namespace {

using nlohmann::json;

struct ActionSpec {
    std::string_view type;
    std::vector<std::string_view> required;
    std::vector<std::string_view> members;
};

// botocore's iot 2015-05-28 `Action` structure: member, required fields, all fields.
const std::vector<ActionSpec>& action_specs() {
    static const std::vector<ActionSpec> specs{
    {"dynamoDB", {"tableName", "roleArn", "hashKeyField", "hashKeyValue"},
     {"tableName", "roleArn", "operation", "hashKeyField", "hashKeyValue", "hashKeyType",
      "rangeKeyField", "rangeKeyValue", "rangeKeyType", "payloadField"}},
    {"dynamoDBv2", {"roleArn", "putItem"}, {"roleArn", "putItem"}},
    {"lambda", {"functionArn"}, {"functionArn"}},
    {"sns", {"targetArn", "roleArn"}, {"targetArn", "roleArn", "messageFormat"}},
    {"sqs", {"roleArn", "queueUrl"}, {"roleArn", "queueUrl", "useBase64"}},
    {"kinesis", {"roleArn", "streamName"}, {"roleArn", "streamName", "partitionKey"}},
    {"republish", {"roleArn", "topic"}, {"roleArn", "topic", "qos", "headers"}},
    {"s3", {"roleArn", "bucketName", "key"}, {"roleArn", "bucketName", "key", "cannedAcl"}},
    {"firehose", {"roleArn", "deliveryStreamName"},
     {"roleArn", "deliveryStreamName", "separator", "batchMode"}},
    {"cloudwatchMetric", {"roleArn", "metricNamespace", "metricName", "metricValue", "metricUnit"},
     {"roleArn", "metricNamespace", "metricName", "metricValue", "metricUnit", "metricTimestamp"}},
    {"cloudwatchAlarm", {"roleArn", "alarmName", "stateReason", "stateValue"},
     {"roleArn", "alarmName", "stateReason", "stateValue"}},
    {"cloudwatchLogs", {"roleArn", "logGroupName"}, {"roleArn", "logGroupName", "batchMode"}},
    {"elasticsearch", {"roleArn", "endpoint", "index", "type", "id"},
     {"roleArn", "endpoint", "index", "type", "id"}},
    {"salesforce", {"token", "url"}, {"token", "url"}},
    {"iotAnalytics", {}, {"channelArn", "channelName", "batchMode", "roleArn"}},
    {"iotEvents", {"inputName", "roleArn"}, {"inputName", "messageId", "batchMode", "roleArn"}},
    {"iotSiteWise", {"putAssetPropertyValueEntries", "roleArn"},
     {"putAssetPropertyValueEntries", "roleArn"}},
    {"stepFunctions", {"stateMachineName", "roleArn"},
     {"executionNamePrefix", "stateMachineName", "roleArn"}},
    {"timestream", {"roleArn", "databaseName", "tableName", "dimensions"},
     {"roleArn", "databaseName", "tableName", "dimensions", "timestamp"}},
    {"http", {"url"}, {"url", "confirmationUrl", "headers", "auth", "enableBatching", "batchConfig"}},
    {"kafka", {"destinationArn", "topic", "clientProperties"},
     {"destinationArn", "topic", "key", "partition", "clientProperties", "headers"}},
    {"openSearch", {"roleArn", "endpoint", "index", "type", "id"},
     {"roleArn", "endpoint", "index", "type", "id"}},
    {"location", {"roleArn", "trackerName", "deviceId", "latitude", "longitude"},
     {"roleArn", "trackerName", "deviceId", "timestamp", "latitude", "longitude"}},
    };
    return specs;
}

const ActionSpec* find_spec(std::string_view type) {
    for (const ActionSpec& s : action_specs()) {
        if (s.type == type) {
            return &s;
        }
    }
    return nullptr;
}

[[noreturn]] void invalid(std::string message) {
    throw errors::make(errors::invalid_request, std::move(message));
}

/// AWS's (Coral) validation message for a null required member.
[[noreturn]] void null_member(const std::string& where) {
    invalid("1 validation error detected: Value null at '" + where +
            "' failed to satisfy constraint: Member must not be null");
}

/// Collects the templates of `value` (a configuration or a part of it) with their JSON
/// pointers; `pointer` is value's own ("" for the whole configuration).
void collect_templates(const json& value, const std::string& pointer, const std::string& type,
                       const std::string& member, rules::SqlVersion version, rules::TemplateUse use,
                       std::vector<std::pair<std::string, rules::Template>>& out) {
    if (value.is_object() || value.is_array()) {
        std::size_t i = 0;
        for (auto it = value.begin(); it != value.end(); ++it, ++i) {
            // JSON pointer escaping (RFC 6901): '~' -> "~0", '/' -> "~1".
            std::string key = value.is_object() ? it.key() : std::to_string(i);
            std::string escaped;
            for (const char c : key) {
                escaped += c == '~' ? std::string("~0") : c == '/' ? std::string("~1") : std::string(1, c);
            }
            collect_templates(*it, pointer + "/" + escaped, type, member, version, use, out);
        }
        return;
    }
    if (!value.is_string()) {
        return;
    }
    const auto& text = value.get_ref<const std::string&>();
    const bool is_topic = type == "republish" && pointer == "/topic";
    if (!is_topic && text.find('$') == std::string::npos) {
        return;
    }
    auto t = rules::parse_template(text, version, use);
    if (!t) {
        std::string where = pointer;
        std::replace(where.begin(), where.end(), '/', '.');
        invalid("Invalid substitution template in " + member + where + ": " + t.error().to_string());
    }
    out.emplace_back(pointer, std::move(t).value());
}

CompiledAction compile_action(const json& element, const std::string& where, rules::SqlVersion version,
                              rules::TemplateUse use) {
    if (!element.is_object() || element.size() != 1) {
        // AWS: an Action element names exactly one action type.
        invalid("Exactly one action type must be specified in " + where);
    }
    // element.items().begin() is a temporary whose operator* returns a reference to itself, so a
    // structured binding to it dangles (ASan: stack-use-after-scope); take key and value here.
    const std::string type = element.begin().key();
    const json& config = element.begin().value();
    const ActionSpec* spec = find_spec(type);
    if (spec == nullptr) {
        // AMBIG: AWS's JSON deserialiser ignores unknown members; an Action with none of the
        // known ones is then empty. iotsim names the member so the user sees the typo.
        invalid("Unknown action type '" + type + "' in " + where);
    }
    if (!config.is_object()) {
        invalid("The " + type + " action in " + where + " must be a JSON object");
    }
    const std::string member = where + ".member." + type;
    for (const auto& [field, value] : config.items()) {
        if (std::find(spec->members.begin(), spec->members.end(), field) == spec->members.end()) {
            // AMBIG (see above): unknown fields are refused, naming the field.
            invalid("Unknown field '" + field + "' in " + member);
        }
        (void)value;
    }
    for (const std::string_view field : spec->required) {
        auto it = config.find(std::string(field));
        if (it == config.end() || it->is_null()) {
            null_member(member + "." + std::string(field));
        }
    }
    CompiledAction out{type, config, {}};
    if (type == "republish") {
        if (!config["topic"].is_string() || config["topic"].get_ref<const std::string&>().empty()) {
            invalid("The republish topic in " + where + " must be a non-empty string");
        }
        if (auto q = config.find("qos"); q != config.end()) {
            if (!q->is_number_integer() || (q->get<std::int64_t>() != 0 && q->get<std::int64_t>() != 1)) {
                invalid("1 validation error detected: Value '" + q->dump() + "' at '" + member +
                        ".qos' failed to satisfy constraint: Member must have value less than or equal to 1");
            }
        }
    }
    // Every string in the configuration that holds a template, nested ones included (http
    // headers' values, republish userProperties, timestream dimensions, dynamoDBv2's putItem).
    // AMBIG: AWS lists per action which fields take templates; iotsim renders any string with a
    // `${`, so a field AWS would take literally and that contains `${` is rendered here.
    collect_templates(config, "", type, member, version, use, out.templates);
    return out;
}

}  // namespace

RuleError errors::make(const char* type, std::string message) {
    const std::string_view t = type;
    int status = 400;
    if (t == unauthorized) {
        status = 401;
    } else if (t == resource_not_found) {
        status = 404;
    } else if (t == resource_already_exists || t == conflicting_update) {
        status = 409;
    } else if (t == internal) {
        status = 500;
    }
    return RuleError(http::ApiError{status, type, std::move(message)});
}

void validate_rule_name(std::string_view name) {
    const bool ok = !name.empty() && name.size() <= rule_name_max &&
                    std::all_of(name.begin(), name.end(), [](char c) {
                        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                               (c >= '0' && c <= '9') || c == '_';
                    });
    if (!ok) {
        invalid("1 validation error detected: Value '" + std::string(name) +
                "' at 'ruleName' failed to satisfy constraint: Member must satisfy regular "
                "expression pattern: ^[a-zA-Z0-9_]+$");
    }
}

CompiledRule compile_rule(std::string_view name, std::string_view payload_json, WallTime created_at) {
    validate_rule_name(name);
    json p = json::parse(payload_json, nullptr, false);
    if (p.is_discarded() || !p.is_object()) {
        invalid("The topic rule payload is not a valid JSON object");
    }
    const auto string_member = [&](const char* key) -> std::optional<std::string> {
        auto it = p.find(key);
        if (it == p.end() || it->is_null()) {
            return std::nullopt;
        }
        if (!it->is_string()) {
            invalid(std::string("topicRulePayload.") + key + " must be a string");
        }
        return it->get<std::string>();
    };
    auto sql = string_member("sql");
    if (!sql) {
        null_member("topicRulePayload.sql");
    }
    auto actions = p.find("actions");
    if (actions == p.end() || actions->is_null()) {
        null_member("topicRulePayload.actions");
    }
    if (!actions->is_array()) {
        invalid("topicRulePayload.actions must be a list");
    }
    if (actions->size() > actions_max) {
        invalid("1 validation error detected: Value at 'topicRulePayload.actions' failed to "
                "satisfy constraint: Member must have length less than or equal to 10");
    }
    CompiledRule r{.name = std::string(name),
                   .sql = *sql,
                   .description = string_member("description").value_or(""),
                   .statement = rules::Statement(nullptr),
                   .created_at = created_at};
    if (auto v = string_member("awsIotSqlVersion")) {
        auto parsed = rules::parse_sql_version(*v);
        if (!parsed) {
            invalid("1 validation error detected: Value '" + *v +
                    "' at 'topicRulePayload.awsIotSqlVersion' failed to satisfy constraint: "
                    "Member must satisfy enum value set: [2015-10-08, 2016-03-23, beta]");
        }
        r.version = *parsed;
        r.version_text = *v;
    }
    if (auto d = p.find("ruleDisabled"); d != p.end() && !d->is_null()) {
        if (!d->is_boolean()) {
            invalid("topicRulePayload.ruleDisabled must be a boolean");
        }
        r.disabled = d->get<bool>();
    }
    auto statement = rules::parse(r.sql, r.version);
    if (!statement) {
        throw errors::make(errors::sql_parse, statement.error().to_string());
    }
    r.statement = std::move(statement).value();
    const std::string& from = r.statement.from_filter();
    if (from.empty() || !mqtt::is_valid_topic_filter(from) || mqtt::parse_shared_filter(from)) {
        // AMBIG: AWS accepts a rule without FROM for Basic Ingest only; iotsim requires a FROM
        // that the broker can route (a plain MQTT filter, not $share/...).
        throw errors::make(errors::sql_parse, "Line 1:1: The FROM clause must name a topic filter that the broker can route: '" + from + "'");
    }
    for (std::size_t i = 0; i < actions->size(); ++i) {
        r.actions.push_back(compile_action((*actions)[i], "topicRulePayload.actions." + std::to_string(i + 1),
                                           r.version, rules::TemplateUse::Action));
    }
    if (auto e = p.find("errorAction"); e != p.end() && !e->is_null()) {
        r.error_action = compile_action(*e, "topicRulePayload.errorAction", r.version,
                                        rules::TemplateUse::ErrorAction);
    }
    return r;
}

nlohmann::json CompiledRule::payload() const {
    json j{{"sql", sql}, {"ruleDisabled", disabled}, {"awsIotSqlVersion", version_text}};
    if (!description.empty()) {
        j["description"] = description;
    }
    j["actions"] = json::array();
    for (const auto& a : actions) {
        j["actions"].push_back(json{{a.type, a.config}});
    }
    if (error_action) {
        j["errorAction"] = json{{error_action->type, error_action->config}};
    }
    return j;
}

nlohmann::json CompiledRule::to_topic_rule() const {
    json j = payload();
    j["ruleName"] = name;
    j["createdAt"] = static_cast<double>(created_at.unix_ms()) / 1000.0;
    return j;
}

std::string rule_arn(std::string_view name) {
    return "arn:aws:iot:" + std::string(default_region) + ":" + std::string(default_account_id) + ":rule/" + std::string(name);
}

std::string failed_action_name(std::string_view type) {
    std::string out(type);
    if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') {
        out[0] = static_cast<char>(out[0] - 'a' + 'A');
    }
    if (type == "s3" || type == "sqs" || type == "sns") {
        for (char& c : out) {
            c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
        }
    }
    return out + "Action";
}

}  // namespace iotsim::ruleset
