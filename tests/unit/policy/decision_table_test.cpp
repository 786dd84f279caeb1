// The policy decision table: one row per behaviour of AWS IoT Core's policy evaluation
// (reference §4.4; AWS IoT developer guide `iot-policies.html`, `pub-sub-policy.html`,
// `iot-policy-variables.html`, `thing-policy-variables.html`, `cert-policy-variables.html`,
// `connect-policy.html`, `thing-policy-examples.html`; IAM's `reference_policies_*` pages for the
// conventions IoT policies follow). Every expected decision is AWS's documented one, written
// down before running the engine.
//
// A row: the behaviour in one sentence, the policy documents attached to the principal, the
// action, the resource ARN, what the connection established (RequestContext) and the decision.
// In documents and resources `{A}` stands for `arn:aws:iot:us-east-1:123456789012:`, the
// harness's scope. A row the engine is known to get wrong carries `expect_engine_bug` and the
// evidence; it is reported with BOOST_TEST_MESSAGE instead of failing, so the build stays green
// while the discrepancy is visible in the log.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "policy_harness.hpp"

using namespace policy_test;

namespace {

constexpr Outcome allowed = Outcome::allowed;
constexpr Outcome implicit_deny = Outcome::implicit_deny;
constexpr Outcome explicit_deny = Outcome::explicit_deny;

std::string_view outcome_name(Outcome outcome) {
    switch (outcome) {
    case Outcome::allowed:
        return "ALLOWED";
    case Outcome::explicit_deny:
        return "EXPLICIT_DENY";
    case Outcome::implicit_deny:
        return "IMPLICIT_DENY";
    }
    return "?";
}

/// Replaces every `{A}` with the scope's ARN prefix.
std::string expand(std::string_view text) {
    static const std::string prefix = arn_prefix(scope);
    std::string out;
    std::size_t at = 0;
    while (true) {
        const std::size_t hit = text.find("{A}", at);
        if (hit == std::string_view::npos) {
            out += text.substr(at);
            return out;
        }
        out += text.substr(at, hit - at);
        out += prefix;
        at = hit + 3;
    }
}

/// A 2012-10-17 policy document with these statements (each a JSON object).
std::string doc(std::initializer_list<std::string_view> statements) {
    std::string out = R"({"Version":"2012-10-17","Statement":[)";
    bool first = true;
    for (const std::string_view statement : statements) {
        if (!first) {
            out += ',';
        }
        first = false;
        out += statement;
    }
    out += "]}";
    return out;
}

/// The request context, built fluently: `Ctx{}.client("c1").thing("c1").attr("floor", "3")`.
struct Ctx {
    RequestContext c;

    Ctx client(std::string id) && {
        c.client_id = std::move(id);
        return std::move(*this);
    }
    /// The thing attached to the principal and bound to the connection (IsAttached = true).
    Ctx thing(std::string name) && {
        c.thing = ThingContext{.name = std::move(name), .type_name = {}, .attributes = {}};
        return std::move(*this);
    }
    Ctx thing_type(std::string type) && {
        c.thing->type_name = std::move(type);
        return std::move(*this);
    }
    Ctx attr(std::string name, std::string value) && {
        c.thing->attributes[std::move(name)] = std::move(value);
        return std::move(*this);
    }
    Ctx cert_id(std::string id) && {
        c.certificate_id = std::move(id);
        return std::move(*this);
    }
    Ctx cert(std::string field, std::vector<std::string> values) && {
        c.certificate[std::move(field)] = std::move(values);
        return std::move(*this);
    }
    Ctx ip(std::string address) && {
        c.source_ip = std::move(address);
        return std::move(*this);
    }
    Ctx at_unix(std::int64_t seconds) && {
        c.current_time = iotsim::WallTime{std::chrono::seconds(seconds)};
        return std::move(*this);
    }
    Ctx connect_attributes(std::vector<std::string> attributes) && {
        c.connect_attributes = std::move(attributes);
        return std::move(*this);
    }
    Ctx will(std::string topic) && {
        c.last_will_topic = std::move(topic);
        return std::move(*this);
    }
    /// Any other condition key or variable by its full name, e.g. "iot:DomainName".
    Ctx extra(std::string key, std::string value) && {
        c.extra[std::move(key)] = {std::move(value)};
        return std::move(*this);
    }
    operator RequestContext() && { return std::move(c); }  // NOLINT(google-explicit-constructor)
};

/// No client id, no thing, no certificate (e.g. an HTTPS publish signed with SigV4).
Ctx anonymous() { return Ctx{}; }
/// An MQTT client whose certificate has no thing attached (IsAttached = false).
Ctx cid(std::string id) { return Ctx{}.client(std::move(id)); }
/// An MQTT client bound to the attached thing of the same name (non-exclusive association).
Ctx dev(std::string name) { return Ctx{}.client(name).thing(name); }

struct Row {
    std::string behaviour;
    std::vector<std::string> policies;
    std::string action;
    std::string resource;
    RequestContext context;
    Outcome expected = Outcome::implicit_deny;
    bool expect_engine_bug = false;
    std::string evidence;
};

Row row(std::string behaviour, std::vector<std::string> policies, std::string_view action,
        std::string resource, RequestContext context, Outcome expected) {
    Row r;
    r.behaviour = std::move(behaviour);
    r.policies = std::move(policies);
    r.action = std::string(action);
    r.resource = std::move(resource);
    r.context = std::move(context);
    r.expected = expected;
    return r;
}

/// A row where the engine disagrees with AWS: kept in the table, reported, not failed.
[[maybe_unused]] Row known_bug(Row r, std::string evidence) {
    r.expect_engine_bug = true;
    r.evidence = std::move(evidence);
    return r;
}

// Statements used by several rows.
constexpr std::string_view allow_all = R"({"Effect":"Allow","Action":"iot:*","Resource":"*"})";
constexpr std::string_view allow_publish_all = R"({"Effect":"Allow","Action":"iot:Publish","Resource":"*"})";
constexpr std::string_view allow_connect_all = R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*"})";

std::vector<Row> decision_table() {
    const std::string id64(64, 'c');
    const std::string cn1024(1024, 'n');
    std::vector<Row> t;

    // ---- Action matching: `*` and `?` in Action, case-insensitive names (IAM Action element:
    // "The prefix and the action name are case insensitive"; reference §4.4 Wildcards).
    t.push_back(row("iot:* allows iot:Publish", {doc({allow_all})},
                    actions::publish, "{A}topic/a", cid("c1"), allowed));
    t.push_back(row("iot:* allows a shadow action on a thing", {doc({allow_all})},
                    actions::update_thing_shadow, "{A}thing/lamp", cid("c1"), allowed));
    t.push_back(row("iot:Pub* covers iot:Publish",
                    {doc({R"({"Effect":"Allow","Action":"iot:Pub*","Resource":"*"})"})},
                    actions::publish, "{A}topic/a", cid("c1"), allowed));
    t.push_back(row("iot:Pub* is a prefix and does not cover iot:RetainPublish",
                    {doc({R"({"Effect":"Allow","Action":"iot:Pub*","Resource":"*"})"})},
                    actions::retain_publish, "{A}topic/a", cid("c1"), implicit_deny));
    t.push_back(row("iot:*Publish covers iot:RetainPublish",
                    {doc({R"({"Effect":"Allow","Action":"iot:*Publish","Resource":"*"})"})},
                    actions::retain_publish, "{A}topic/a", cid("c1"), allowed));
    t.push_back(row("iot:*Publish does not cover iot:Receive",
                    {doc({R"({"Effect":"Allow","Action":"iot:*Publish","Resource":"*"})"})},
                    actions::receive, "{A}topic/a", cid("c1"), implicit_deny));
    t.push_back(row("iot:?ublish covers iot:Publish (one character)",
                    {doc({R"({"Effect":"Allow","Action":"iot:?ublish","Resource":"*"})"})},
                    actions::publish, "{A}topic/a", cid("c1"), allowed));
    t.push_back(row("iot:?ublish does not cover iot:RetainPublish (? is exactly one character)",
                    {doc({R"({"Effect":"Allow","Action":"iot:?ublish","Resource":"*"})"})},
                    actions::retain_publish, "{A}topic/a", cid("c1"), implicit_deny));
    t.push_back(row("action names compare case-insensitively: IoT:SUBSCRIBE allows iot:Subscribe",
                    {doc({R"({"Effect":"Allow","Action":"IoT:SUBSCRIBE","Resource":"*"})"})},
                    actions::subscribe, "{A}topicfilter/a", cid("c1"), allowed));
    t.push_back(row("a lower-case wildcard action iot:get* covers iot:GetRetainedMessage",
                    {doc({R"({"Effect":"Allow","Action":"iot:get*","Resource":"*"})"})},
                    actions::get_retained_message, "{A}topic/a", cid("c1"), allowed));
    t.push_back(row("iot:Get* does not cover iot:ListRetainedMessages",
                    {doc({R"({"Effect":"Allow","Action":"iot:Get*","Resource":"*"})"})},
                    actions::list_retained_messages, "*", cid("c1"), implicit_deny));
    t.push_back(row("an action list [Publish, Receive] allows Receive",
                    {doc({R"({"Effect":"Allow","Action":["iot:Publish","iot:Receive"],"Resource":"{A}topic/a"})"})},
                    actions::receive, "{A}topic/a", cid("c1"), allowed));
    t.push_back(row("an action list [Publish, Receive] does not allow Subscribe",
                    {doc({R"({"Effect":"Allow","Action":["iot:Publish","iot:Receive"],"Resource":"*"})"})},
                    actions::subscribe, "{A}topicfilter/a", cid("c1"), implicit_deny));
    t.push_back(row("iot:Connect does not allow iot:DeleteConnection",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*"})"})},
                    actions::delete_connection, "{A}client/c1", cid("c1"), implicit_deny));
    t.push_back(row("a bare * action allows iot:Receive",
                    {doc({R"({"Effect":"Allow","Action":"*","Resource":"*"})"})},
                    actions::receive, "{A}topic/a", cid("c1"), allowed));
    t.push_back(row("iot:Subscribe on a name does not grant iot:Receive of messages on it",
                    {doc({R"({"Effect":"Allow","Action":"iot:Subscribe","Resource":"*"})"})},
                    actions::receive, "{A}topic/a", cid("c1"), implicit_deny));
    t.push_back(row("a Deny of iot:* overrides an Allow of iot:Publish",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"*"})",
                          R"({"Effect":"Deny","Action":"iot:*","Resource":"{A}topic/a"})"})},
                    actions::publish, "{A}topic/a", cid("c1"), explicit_deny));

    // ---- Resource wildcards: `*` any sequence (crosses `/`), `?` exactly one character
    // (reference §4.4; pub-sub-policy.html "Using wildcard characters").
    t.push_back(row("* inside a topic matches one level: sensors/*/temp vs sensors/room1/temp",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/sensors/*/temp"})"})},
                    actions::publish, "{A}topic/sensors/room1/temp", cid("c1"), allowed));
    t.push_back(row("* inside a topic crosses levels: sensors/*/temp vs sensors/a/b/temp",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/sensors/*/temp"})"})},
                    actions::publish, "{A}topic/sensors/a/b/temp", cid("c1"), allowed));
    t.push_back(row("sensors/*/temp does not match sensors/a/humidity",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/sensors/*/temp"})"})},
                    actions::publish, "{A}topic/sensors/a/humidity", cid("c1"), implicit_deny));
    t.push_back(row("a trailing * matches the empty string: a* vs a",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/a*"})"})},
                    actions::publish, "{A}topic/a", cid("c1"), allowed));
    t.push_back(row("a/* does not match the parent topic a",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/a/*"})"})},
                    actions::publish, "{A}topic/a", cid("c1"), implicit_deny));
    t.push_back(row("? matches one character: dev?/data vs dev7/data",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/dev?/data"})"})},
                    actions::publish, "{A}topic/dev7/data", cid("c1"), allowed));
    t.push_back(row("? does not match zero characters: dev?/data vs dev/data",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/dev?/data"})"})},
                    actions::publish, "{A}topic/dev/data", cid("c1"), implicit_deny));
    t.push_back(row("? does not match two characters: dev?/data vs dev42/data",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/dev?/data"})"})},
                    actions::publish, "{A}topic/dev42/data", cid("c1"), implicit_deny));
    t.push_back(row("? matches a slash, which is just a character: a?b vs a/b",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/a?b"})"})},
                    actions::publish, "{A}topic/a/b", cid("c1"), allowed));
    t.push_back(row("??? in a client resource matches a three-character suffix",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"{A}client/dev-???"})"})},
                    actions::connect, "{A}client/dev-123", cid("dev-123"), allowed));
    t.push_back(row("??? in a client resource rejects a four-character suffix",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"{A}client/dev-???"})"})},
                    actions::connect, "{A}client/dev-1234", cid("dev-1234"), implicit_deny));
    t.push_back(row("a trailing ? needs a character: client/c? vs client/c",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"{A}client/c?"})"})},
                    actions::connect, "{A}client/c", cid("c"), implicit_deny));
    t.push_back(row("*? needs at least one character: a*?c vs ac",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/a*?c"})"})},
                    actions::publish, "{A}topic/ac", cid("c1"), implicit_deny));
    t.push_back(row("*? with one character in between: a*?c vs abc",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/a*?c"})"})},
                    actions::publish, "{A}topic/abc", cid("c1"), allowed));
    t.push_back(row("two stars backtrack: */x/* vs a/x/b/x/c",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/*/x/*"})"})},
                    actions::publish, "{A}topic/a/x/b/x/c", cid("c1"), allowed));
    t.push_back(row("Resource * alone allows any topic",
                    {doc({allow_publish_all})},
                    actions::publish, "{A}topic/any/deep/topic", cid("c1"), allowed));
    t.push_back(row("a topic resource does not grant ListRetainedMessages, whose resource is *",
                    {doc({R"({"Effect":"Allow","Action":"iot:ListRetainedMessages","Resource":"{A}topic/a"})"})},
                    actions::list_retained_messages, "*", cid("c1"), implicit_deny));
    t.push_back(row("topic resources are case-sensitive: Sensors/* vs sensors/x",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/Sensors/*"})"})},
                    actions::publish, "{A}topic/sensors/x", cid("c1"), implicit_deny));
    t.push_back(row("a * for the whole resource part ({A}*) covers a client ARN",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"{A}*"})"})},
                    actions::connect, "{A}client/c1", cid("c1"), allowed));
    t.push_back(row("topic* is a plain prefix and also covers topicfilter ARNs",
                    {doc({R"({"Effect":"Allow","Action":"iot:Subscribe","Resource":"{A}topic*"})"})},
                    actions::subscribe, "{A}topicfilter/a/b", cid("c1"), allowed));

    // ---- MQTT `+` and `#` are literal characters in policies (reference §4.4;
    // iot-policy-variables.html "The characters + and # are treated as literal strings").
    t.push_back(row("topicfilter/a/+ allows subscribing to exactly a/+",
                    {doc({R"({"Effect":"Allow","Action":"iot:Subscribe","Resource":"{A}topicfilter/a/+"})"})},
                    actions::subscribe, "{A}topicfilter/a/+", cid("c1"), allowed));
    t.push_back(row("topicfilter/a/+ does not allow subscribing to a/b",
                    {doc({R"({"Effect":"Allow","Action":"iot:Subscribe","Resource":"{A}topicfilter/a/+"})"})},
                    actions::subscribe, "{A}topicfilter/a/b", cid("c1"), implicit_deny));
    t.push_back(row("topicfilter/a/# allows subscribing to exactly a/#",
                    {doc({R"({"Effect":"Allow","Action":"iot:Subscribe","Resource":"{A}topicfilter/a/#"})"})},
                    actions::subscribe, "{A}topicfilter/a/#", cid("c1"), allowed));
    t.push_back(row("topicfilter/a/# does not allow subscribing to a/b/c",
                    {doc({R"({"Effect":"Allow","Action":"iot:Subscribe","Resource":"{A}topicfilter/a/#"})"})},
                    actions::subscribe, "{A}topicfilter/a/b/c", cid("c1"), implicit_deny));
    t.push_back(row("topicfilter/a/# does not allow subscribing to a",
                    {doc({R"({"Effect":"Allow","Action":"iot:Subscribe","Resource":"{A}topicfilter/a/#"})"})},
                    actions::subscribe, "{A}topicfilter/a", cid("c1"), implicit_deny));
    t.push_back(row("topicfilter/a/# does not allow the narrower filter a/+",
                    {doc({R"({"Effect":"Allow","Action":"iot:Subscribe","Resource":"{A}topicfilter/a/#"})"})},
                    actions::subscribe, "{A}topicfilter/a/+", cid("c1"), implicit_deny));
    t.push_back(row("topicfilter/+/status does not allow dev1/status",
                    {doc({R"({"Effect":"Allow","Action":"iot:Subscribe","Resource":"{A}topicfilter/+/status"})"})},
                    actions::subscribe, "{A}topicfilter/dev1/status", cid("c1"), implicit_deny));
    t.push_back(row("topicfilter/+/status allows exactly +/status",
                    {doc({R"({"Effect":"Allow","Action":"iot:Subscribe","Resource":"{A}topicfilter/+/status"})"})},
                    actions::subscribe, "{A}topicfilter/+/status", cid("c1"), allowed));
    t.push_back(row("topicfilter/# allows exactly the filter #",
                    {doc({R"({"Effect":"Allow","Action":"iot:Subscribe","Resource":"{A}topicfilter/#"})"})},
                    actions::subscribe, "{A}topicfilter/#", cid("c1"), allowed));
    t.push_back(row("topicfilter/# does not allow sensors/temp",
                    {doc({R"({"Effect":"Allow","Action":"iot:Subscribe","Resource":"{A}topicfilter/#"})"})},
                    actions::subscribe, "{A}topicfilter/sensors/temp", cid("c1"), implicit_deny));
    t.push_back(row("topicfilter/a/* covers the wildcard filter a/#",
                    {doc({R"({"Effect":"Allow","Action":"iot:Subscribe","Resource":"{A}topicfilter/a/*"})"})},
                    actions::subscribe, "{A}topicfilter/a/#", cid("c1"), allowed));
    t.push_back(row("topicfilter/a/? covers a/+ (? matches the + character)",
                    {doc({R"({"Effect":"Allow","Action":"iot:Subscribe","Resource":"{A}topicfilter/a/?"})"})},
                    actions::subscribe, "{A}topicfilter/a/+", cid("c1"), allowed));
    t.push_back(row("topic/a/+ does not allow receiving from a/b",
                    {doc({R"({"Effect":"Allow","Action":"iot:Receive","Resource":"{A}topic/a/+"})"})},
                    actions::receive, "{A}topic/a/b", cid("c1"), implicit_deny));
    t.push_back(row("topic/# does not allow receiving from x/y",
                    {doc({R"({"Effect":"Allow","Action":"iot:Receive","Resource":"{A}topic/#"})"})},
                    actions::receive, "{A}topic/x/y", cid("c1"), implicit_deny));
    t.push_back(row("Deny topicfilter/a/# beats Allow topicfilter/a/* for the filter a/#",
                    {doc({R"({"Effect":"Allow","Action":"iot:Subscribe","Resource":"{A}topicfilter/a/*"})",
                          R"({"Effect":"Deny","Action":"iot:Subscribe","Resource":"{A}topicfilter/a/#"})"})},
                    actions::subscribe, "{A}topicfilter/a/#", cid("c1"), explicit_deny));
    t.push_back(row("Deny topicfilter/a/# does not deny the filter a/b",
                    {doc({R"({"Effect":"Allow","Action":"iot:Subscribe","Resource":"{A}topicfilter/a/*"})",
                          R"({"Effect":"Deny","Action":"iot:Subscribe","Resource":"{A}topicfilter/a/#"})"})},
                    actions::subscribe, "{A}topicfilter/a/b", cid("c1"), allowed));
    t.push_back(row("Deny topicfilter/a/+ does not deny the filter a/x",
                    {doc({R"({"Effect":"Allow","Action":"iot:Subscribe","Resource":"{A}topicfilter/*"})",
                          R"({"Effect":"Deny","Action":"iot:Subscribe","Resource":"{A}topicfilter/a/+"})"})},
                    actions::subscribe, "{A}topicfilter/a/x", cid("c1"), allowed));
    t.push_back(row("client id # substituted into topicfilter/dev/${iot:ClientId} allows dev/# literally",
                    {doc({R"({"Effect":"Allow","Action":"iot:Subscribe","Resource":"{A}topicfilter/dev/${iot:ClientId}"})"})},
                    actions::subscribe, "{A}topicfilter/dev/#", cid("#"), allowed));
    t.push_back(row("a certificate CN of + is not substituted, so it cannot open dev/+",
                    {doc({R"({"Effect":"Allow","Action":"iot:Subscribe","Resource":"{A}topicfilter/dev/${iot:Certificate.Subject.CommonName}"})"})},
                    actions::subscribe, "{A}topicfilter/dev/+",
                    cid("c1").cert("Subject.CommonName", {"+"}), implicit_deny));
    t.push_back(row("a literal # in a shadow filter does not cover a deeper filter",
                    {doc({R"({"Effect":"Allow","Action":"iot:Subscribe","Resource":"{A}topicfilter/$aws/things/lamp/shadow/#"})"})},
                    actions::subscribe, "{A}topicfilter/$aws/things/lamp/shadow/update/#", cid("lamp"), implicit_deny));

    // ---- Policy variables, resolved and unresolved (reference §4.4 "Policy variables";
    // thing-policy-examples.html: an unresolved thing variable "will result in an access denied
    // error"; an unresolved variable makes the pattern/statement not match).
    t.push_back(row("${iot:ClientId} resolves to the MQTT client id",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/clients/${iot:ClientId}/*"})"})},
                    actions::publish, "{A}topic/clients/c1/x", cid("c1"), allowed));
    t.push_back(row("${iot:ClientId} does not cover another client's topic",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/clients/${iot:ClientId}/*"})"})},
                    actions::publish, "{A}topic/clients/c2/x", cid("c1"), implicit_deny));
    t.push_back(row("${iot:ClientId} is unresolved without a client id (HTTPS publish)",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/clients/${iot:ClientId}/*"})"})},
                    actions::publish, "{A}topic/clients/c1/x", anonymous(), implicit_deny));
    t.push_back(row("a client id holding ? is substituted literally, not as a wildcard",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/x/${iot:ClientId}"})"})},
                    actions::publish, "{A}topic/x/y", cid("?"), implicit_deny));
    t.push_back(row("substitution is one pass: a client id spelling a variable stays literal text",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/x/${iot:ClientId}"})"})},
                    actions::publish, "{A}topic/x/" + id64, cid("${iot:CertificateId}").cert_id(id64), implicit_deny));
    t.push_back(row("a variable followed by * : ${iot:ClientId}/* vs c1/a/b",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/${iot:ClientId}/*"})"})},
                    actions::publish, "{A}topic/c1/a/b", cid("c1"), allowed));
    t.push_back(row("${iot:Connection.Thing.ThingName} resolves for an attached thing",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/things/${iot:Connection.Thing.ThingName}/state"})"})},
                    actions::publish, "{A}topic/things/lamp/state", dev("lamp"), allowed));
    t.push_back(row("${iot:Connection.Thing.ThingName} is unresolved without an attached thing",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/things/${iot:Connection.Thing.ThingName}/state"})"})},
                    actions::publish, "{A}topic/things/lamp/state", cid("lamp"), implicit_deny));
    t.push_back(row("client/${iot:Connection.Thing.ThingName} lets the attached thing connect",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"{A}client/${iot:Connection.Thing.ThingName}"})"})},
                    actions::connect, "{A}client/sensor-7", dev("sensor-7"), allowed));
    t.push_back(row("${iot:Connection.Thing.ThingTypeName} resolves to the thing's type",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/types/${iot:Connection.Thing.ThingTypeName}"})"})},
                    actions::publish, "{A}topic/types/LightBulb", dev("b1").thing_type("LightBulb"), allowed));
    t.push_back(row("${iot:Connection.Thing.ThingTypeName} is unresolved for a thing without a type",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/types/${iot:Connection.Thing.ThingTypeName}"})"})},
                    actions::publish, "{A}topic/types/LightBulb", dev("b1"), implicit_deny));
    t.push_back(row("type and name together: ${ThingTypeName}/${ThingName}",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/${iot:Connection.Thing.ThingTypeName}/${iot:Connection.Thing.ThingName}"})"})},
                    actions::publish, "{A}topic/LightBulb/b1", dev("b1").thing_type("LightBulb"), allowed));
    t.push_back(row("${iot:Connection.Thing.Attributes[floor]} resolves to the attribute value",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/floor/${iot:Connection.Thing.Attributes[floor]}/*"})"})},
                    actions::publish, "{A}topic/floor/3/temp", dev("b1").attr("floor", "3"), allowed));
    t.push_back(row("an Attributes variable does not cover another value",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/floor/${iot:Connection.Thing.Attributes[floor]}/*"})"})},
                    actions::publish, "{A}topic/floor/4/temp", dev("b1").attr("floor", "3"), implicit_deny));
    t.push_back(row("an Attributes variable for a key the thing lacks is unresolved",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/room/${iot:Connection.Thing.Attributes[room]}/*"})"})},
                    actions::publish, "{A}topic/room/3/temp", dev("b1").attr("floor", "3"), implicit_deny));
    t.push_back(row("an Attributes variable is unresolved without an attached thing",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/floor/${iot:Connection.Thing.Attributes[floor]}/*"})"})},
                    actions::publish, "{A}topic/floor/3/temp", cid("b1"), implicit_deny));
    t.push_back(row("${iot:Connection.Thing.IsAttached} is true for an attached thing",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/attached/${iot:Connection.Thing.IsAttached}"})"})},
                    actions::publish, "{A}topic/attached/true", dev("t1"), allowed));
    t.push_back(row("${iot:Connection.Thing.IsAttached} is false without an attached thing",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/attached/${iot:Connection.Thing.IsAttached}"})"})},
                    actions::publish, "{A}topic/attached/false", cid("t1"), allowed));
    t.push_back(row("${iot:Connection.Thing.IsAttached} is not true without an attached thing",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/attached/${iot:Connection.Thing.IsAttached}"})"})},
                    actions::publish, "{A}topic/attached/true", cid("t1"), implicit_deny));
    t.push_back(row("${iot:CertificateId} resolves to the certificate id",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/certs/${iot:CertificateId}"})"})},
                    actions::publish, "{A}topic/certs/" + id64, cid("c1").cert_id(id64), allowed));
    t.push_back(row("${iot:CertificateId} is unresolved without a certificate",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/certs/${iot:CertificateId}"})"})},
                    actions::publish, "{A}topic/certs/" + id64, cid("c1"), implicit_deny));
    t.push_back(row("${iot:Certificate.Subject.CommonName} resolves to the subject CN",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/cn/${iot:Certificate.Subject.CommonName}"})"})},
                    actions::publish, "{A}topic/cn/Device 1",
                    cid("c1").cert("Subject.CommonName", {"Device 1"}), allowed));
    t.push_back(row("${iot:Certificate.Subject.CommonName} is unresolved when the certificate has no CN",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/cn/${iot:Certificate.Subject.CommonName}"})"})},
                    actions::publish, "{A}topic/cn/Device 1",
                    cid("c1").cert("Subject.Organization", {"Acme"}), implicit_deny));
    t.push_back(row("${iot:Certificate.Issuer.Organization} resolves to the issuer's O",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/org/${iot:Certificate.Issuer.Organization}/*"})"})},
                    actions::publish, "{A}topic/org/IoT Devices/x",
                    cid("c1").cert("Issuer.Organization", {"IoT Devices"}), allowed));
    t.push_back(row("${iot:Certificate.SerialNumber} resolves to the serial number",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/serial/${iot:Certificate.SerialNumber}"})"})},
                    actions::publish, "{A}topic/serial/921285cbb7a5e086",
                    cid("c1").cert("SerialNumber", {"921285cbb7a5e086"}), allowed));
    t.push_back(row("a multi-valued field's .4 is its fifth value, the last AWS keeps",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/dns/${iot:Certificate.Subject.AlternativeName.DNSName.4}"})"})},
                    actions::publish, "{A}topic/dns/e.example.com",
                    cid("c1").cert("Subject.AlternativeName.DNSName",
                                   {"a.example.com", "b.example.com", "c.example.com", "d.example.com",
                                    "e.example.com", "f.example.com"}),
                    allowed));
    t.push_back(row("a multi-valued field's .5 (sixth value) is past AWS's five and unresolved",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/dns/${iot:Certificate.Subject.AlternativeName.DNSName.5}"})"})},
                    actions::publish, "{A}topic/dns/f.example.com",
                    cid("c1").cert("Subject.AlternativeName.DNSName",
                                   {"a.example.com", "b.example.com", "c.example.com", "d.example.com",
                                    "e.example.com", "f.example.com"}),
                    implicit_deny));
    t.push_back(row("a certificate value containing $ is not substituted",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/cn/${iot:Certificate.Subject.CommonName}"})"})},
                    actions::publish, "{A}topic/cn/a$b", cid("c1").cert("Subject.CommonName", {"a$b"}),
                    implicit_deny));
    t.push_back(row("a certificate value of exactly 1024 characters is still substituted",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/cn/${iot:Certificate.Subject.CommonName}"})"})},
                    actions::publish, "{A}topic/cn/" + cn1024, cid("c1").cert("Subject.CommonName", {cn1024}),
                    allowed));
    t.push_back(row("${*} in a resource stands for a literal *",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/lit/${*}"})"})},
                    actions::publish, "{A}topic/lit/*", cid("c1"), allowed));
    t.push_back(row("${*} is not a wildcard: lit/${*} vs lit/x",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/lit/${*}"})"})},
                    actions::publish, "{A}topic/lit/x", cid("c1"), implicit_deny));
    t.push_back(row("${?} is not a wildcard: lit/${?} vs lit/x",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/lit/${?}"})"})},
                    actions::publish, "{A}topic/lit/x", cid("c1"), implicit_deny));
    t.push_back(row("Version 2008-10-17 leaves ${iot:ClientId} as text, so client c1 is not covered",
                    {R"({"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"{A}client/${iot:ClientId}"}]})"},
                    actions::connect, "{A}client/c1", cid("c1"), implicit_deny));
    t.push_back(row("a document without Version is 2008-10-17: no variable substitution",
                    {R"({"Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"{A}client/${iot:ClientId}"}]})"},
                    actions::connect, "{A}client/c1", cid("c1"), implicit_deny));
    t.push_back(row("an unresolved variable in a Deny does not deny (the Allow stands)",
                    {doc({allow_publish_all,
                          R"({"Effect":"Deny","Action":"iot:Publish","Resource":"{A}topic/${iot:Connection.Thing.ThingName}/*"})"})},
                    actions::publish, "{A}topic/lamp/x", cid("lamp"), allowed));
    t.push_back(row("the same Deny with the thing attached denies",
                    {doc({allow_publish_all,
                          R"({"Effect":"Deny","Action":"iot:Publish","Resource":"{A}topic/${iot:Connection.Thing.ThingName}/*"})"})},
                    actions::publish, "{A}topic/lamp/x", dev("lamp"), explicit_deny));
    t.push_back(row("an unresolved variable in a condition value makes the statement not apply",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"StringEquals":{"iot:ClientId":"${iot:Connection.Thing.ThingName}"}}})"})},
                    actions::connect, "{A}client/c1", cid("c1"), implicit_deny));

    // ---- IsAttached as a condition (thing-policy-examples.html; reference §4.4).
    t.push_back(row("Bool IsAttached true allows an attached thing to connect",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"Bool":{"iot:Connection.Thing.IsAttached":"true"}}})"})},
                    actions::connect, "{A}client/t1", dev("t1"), allowed));
    t.push_back(row("Bool IsAttached true refuses a certificate without an attached thing",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"Bool":{"iot:Connection.Thing.IsAttached":"true"}}})"})},
                    actions::connect, "{A}client/t1", cid("t1"), implicit_deny));
    t.push_back(row("Bool IsAttached false holds without an attached thing",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"Bool":{"iot:Connection.Thing.IsAttached":"false"}}})"})},
                    actions::connect, "{A}client/t1", cid("t1"), allowed));
    t.push_back(row("Bool IsAttached false does not hold for an attached thing",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"Bool":{"iot:Connection.Thing.IsAttached":"false"}}})"})},
                    actions::connect, "{A}client/t1", dev("t1"), implicit_deny));
    t.push_back(row("Deny when IsAttached is false overrides Allow iot:* for an unattached certificate",
                    {doc({allow_all,
                          R"({"Effect":"Deny","Action":"iot:*","Resource":"*","Condition":{"Bool":{"iot:Connection.Thing.IsAttached":"false"}}})"})},
                    actions::publish, "{A}topic/a", cid("t1"), explicit_deny));
    t.push_back(row("Deny when IsAttached is false leaves an attached thing allowed",
                    {doc({allow_all,
                          R"({"Effect":"Deny","Action":"iot:*","Resource":"*","Condition":{"Bool":{"iot:Connection.Thing.IsAttached":"false"}}})"})},
                    actions::publish, "{A}topic/a", dev("t1"), allowed));
    t.push_back(row("StringEquals IsAttached \"true\" compares the text value",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"StringEquals":{"iot:Connection.Thing.IsAttached":"true"}}})"})},
                    actions::connect, "{A}client/t1", dev("t1"), allowed));

    // ---- Thing attributes as condition keys, with missing keys (IAM condition operators:
    // a missing key makes a condition false, a negated one true; ...IfExists and Null).
    t.push_back(row("StringEquals Attributes[env] = prod holds for env=prod",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"*","Condition":{"StringEquals":{"iot:Connection.Thing.Attributes[env]":"prod"}}})"})},
                    actions::publish, "{A}topic/a", dev("t1").attr("env", "prod"), allowed));
    t.push_back(row("StringEquals Attributes[env] is false when the thing has no env attribute",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"*","Condition":{"StringEquals":{"iot:Connection.Thing.Attributes[env]":"prod"}}})"})},
                    actions::publish, "{A}topic/a", dev("t1").attr("floor", "3"), implicit_deny));
    t.push_back(row("StringNotEquals Attributes[env] is true when the key is missing (negated operator)",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"*","Condition":{"StringNotEquals":{"iot:Connection.Thing.Attributes[env]":"prod"}}})"})},
                    actions::publish, "{A}topic/a", dev("t1"), allowed));
    t.push_back(row("StringEqualsIfExists Attributes[env] holds when the key is missing",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"*","Condition":{"StringEqualsIfExists":{"iot:Connection.Thing.Attributes[env]":"prod"}}})"})},
                    actions::publish, "{A}topic/a", dev("t1"), allowed));
    t.push_back(row("StringEqualsIfExists Attributes[env] is checked when the key exists",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"*","Condition":{"StringEqualsIfExists":{"iot:Connection.Thing.Attributes[env]":"prod"}}})"})},
                    actions::publish, "{A}topic/a", dev("t1").attr("env", "dev"), implicit_deny));
    t.push_back(row("Null Attributes[env] true holds when the attribute is missing",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"*","Condition":{"Null":{"iot:Connection.Thing.Attributes[env]":"true"}}})"})},
                    actions::publish, "{A}topic/a", dev("t1"), allowed));
    t.push_back(row("Null Attributes[env] false fails when the attribute is missing",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"*","Condition":{"Null":{"iot:Connection.Thing.Attributes[env]":"false"}}})"})},
                    actions::publish, "{A}topic/a", dev("t1"), implicit_deny));

    // ---- Deny precedence, within a policy and across policies (reference §4.4 Evaluation).
    t.push_back(row("Deny topic/admin/* beats Allow topic/* in the same policy",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/*"})",
                          R"({"Effect":"Deny","Action":"iot:Publish","Resource":"{A}topic/admin/*"})"})},
                    actions::publish, "{A}topic/admin/reset", cid("c1"), explicit_deny));
    t.push_back(row("Deny topic/admin/* leaves user/* allowed",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/*"})",
                          R"({"Effect":"Deny","Action":"iot:Publish","Resource":"{A}topic/admin/*"})"})},
                    actions::publish, "{A}topic/user/x", cid("c1"), allowed));
    t.push_back(row("statement order does not matter: Deny first, Allow second",
                    {doc({R"({"Effect":"Deny","Action":"iot:Publish","Resource":"{A}topic/admin/*"})",
                          R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/*"})"})},
                    actions::publish, "{A}topic/admin/reset", cid("c1"), explicit_deny));
    t.push_back(row("a Deny in the first policy beats an Allow in the second",
                    {doc({R"({"Effect":"Deny","Action":"iot:Connect","Resource":"{A}client/client1"})"}),
                     doc({allow_all})},
                    actions::connect, "{A}client/client1", cid("client1"), explicit_deny));
    t.push_back(row("a Deny in the second policy beats an Allow in the first",
                    {doc({allow_all}),
                     doc({R"({"Effect":"Deny","Action":"iot:Connect","Resource":"{A}client/client1"})"})},
                    actions::connect, "{A}client/client1", cid("client1"), explicit_deny));
    t.push_back(row("a Deny of client1 does not affect client2",
                    {doc({R"({"Effect":"Deny","Action":"iot:Connect","Resource":"{A}client/client1"})",
                          R"({"Effect":"Allow","Action":"iot:Connect","Resource":"{A}client/*"})"})},
                    actions::connect, "{A}client/client2", cid("client2"), allowed));
    t.push_back(row("connect-policy.html: Deny client/client1 wins even when client1 is the attached thing",
                    {doc({R"({"Effect":"Deny","Action":["iot:Connect"],"Resource":["{A}client/client1"]})",
                          R"({"Effect":"Allow","Action":["iot:Connect"],"Resource":["{A}client/${iot:Connection.Thing.ThingName}"]})"})},
                    actions::connect, "{A}client/client1", dev("client1"), explicit_deny));
    t.push_back(row("a Deny of Subscribe on a filter does not deny Publish on the topic of that name",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/a"})",
                          R"({"Effect":"Deny","Action":"iot:Subscribe","Resource":"{A}topicfilter/a"})"})},
                    actions::publish, "{A}topic/a", cid("c1"), allowed));
    t.push_back(row("a Deny whose condition does not hold does not deny",
                    {doc({allow_connect_all,
                          R"({"Effect":"Deny","Action":"iot:Connect","Resource":"*","Condition":{"StringLike":{"iot:ClientId":"test-*"}}})"})},
                    actions::connect, "{A}client/prod-1", cid("prod-1"), allowed));
    t.push_back(row("a Deny whose condition holds denies",
                    {doc({allow_connect_all,
                          R"({"Effect":"Deny","Action":"iot:Connect","Resource":"*","Condition":{"StringLike":{"iot:ClientId":"test-*"}}})"})},
                    actions::connect, "{A}client/test-1", cid("test-1"), explicit_deny));
    t.push_back(row("a Deny with a negated operator on a missing key applies (the condition is true)",
                    {doc({allow_connect_all,
                          R"({"Effect":"Deny","Action":"iot:Connect","Resource":"*","Condition":{"StringNotEquals":{"iot:Connection.Thing.Attributes[env]":"prod"}}})"})},
                    actions::connect, "{A}client/t1", dev("t1"), explicit_deny));
    t.push_back(row("a matching Deny without any Allow is an explicit deny",
                    {doc({R"({"Effect":"Deny","Action":"iot:Publish","Resource":"{A}topic/a"})"})},
                    actions::publish, "{A}topic/a", cid("c1"), explicit_deny));
    t.push_back(row("a Deny that does not match and no Allow is an implicit deny",
                    {doc({R"({"Effect":"Deny","Action":"iot:Publish","Resource":"{A}topic/b"})"})},
                    actions::publish, "{A}topic/a", cid("c1"), implicit_deny));
    t.push_back(row("the same Allow in two policies allows",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/a"})"}),
                     doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/a"})"})},
                    actions::publish, "{A}topic/a", cid("c1"), allowed));
    t.push_back(row("no attached policy at all is an implicit deny", {},
                    actions::connect, "{A}client/c1", cid("c1"), implicit_deny));
    t.push_back(row("a policy with an empty Statement list allows nothing",
                    {R"({"Version":"2012-10-17","Statement":[]})"},
                    actions::connect, "{A}client/c1", cid("c1"), implicit_deny));
    t.push_back(row("Deny iot:Receive on * in a third policy beats Allows in two others",
                    {doc({R"({"Effect":"Allow","Action":"iot:Receive","Resource":"{A}topic/a"})"}),
                     doc({allow_all}),
                     doc({R"({"Effect":"Deny","Action":"iot:Receive","Resource":"*"})"})},
                    actions::receive, "{A}topic/a", cid("c1"), explicit_deny));
    t.push_back(row("an unresolved variable in another policy's Deny does not deny",
                    {doc({allow_publish_all}),
                     doc({R"({"Effect":"Deny","Action":"iot:Publish","Resource":"{A}topic/${iot:Connection.Thing.Attributes[zone]}/*"})"})},
                    actions::publish, "{A}topic/red/x", dev("t1"), allowed));
    t.push_back(row("the same Deny with the attribute present denies across policies",
                    {doc({allow_publish_all}),
                     doc({R"({"Effect":"Deny","Action":"iot:Publish","Resource":"{A}topic/${iot:Connection.Thing.Attributes[zone]}/*"})"})},
                    actions::publish, "{A}topic/red/x", dev("t1").attr("zone", "red"), explicit_deny));

    // ---- NotAction and NotResource (IAM grammar, accepted by parse_policy).
    t.push_back(row("Allow NotAction iot:Publish allows iot:Subscribe",
                    {doc({R"({"Effect":"Allow","NotAction":"iot:Publish","Resource":"*"})"})},
                    actions::subscribe, "{A}topicfilter/a", cid("c1"), allowed));
    t.push_back(row("Allow NotAction iot:Publish does not allow iot:Publish",
                    {doc({R"({"Effect":"Allow","NotAction":"iot:Publish","Resource":"*"})"})},
                    actions::publish, "{A}topic/a", cid("c1"), implicit_deny));
    t.push_back(row("Allow NotAction [Publish, Receive] does not allow iot:Receive",
                    {doc({R"({"Effect":"Allow","NotAction":["iot:Publish","iot:Receive"],"Resource":"*"})"})},
                    actions::receive, "{A}topic/a", cid("c1"), implicit_deny));
    t.push_back(row("Allow NotAction iot:*Shadow* does not allow iot:UpdateThingShadow",
                    {doc({R"({"Effect":"Allow","NotAction":"iot:*Shadow*","Resource":"*"})"})},
                    actions::update_thing_shadow, "{A}thing/lamp", cid("c1"), implicit_deny));
    t.push_back(row("Allow NotAction iot:*Shadow* allows iot:Connect",
                    {doc({R"({"Effect":"Allow","NotAction":"iot:*Shadow*","Resource":"*"})"})},
                    actions::connect, "{A}client/c1", cid("c1"), allowed));
    t.push_back(row("Deny NotAction iot:Connect leaves iot:Connect allowed",
                    {doc({allow_all, R"({"Effect":"Deny","NotAction":"iot:Connect","Resource":"*"})"})},
                    actions::connect, "{A}client/c1", cid("c1"), allowed));
    t.push_back(row("Deny NotAction iot:Connect denies iot:Subscribe",
                    {doc({allow_all, R"({"Effect":"Deny","NotAction":"iot:Connect","Resource":"*"})"})},
                    actions::subscribe, "{A}topicfilter/a", cid("c1"), explicit_deny));
    t.push_back(row("Allow NotResource topic/private/* allows public/a",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","NotResource":"{A}topic/private/*"})"})},
                    actions::publish, "{A}topic/public/a", cid("c1"), allowed));
    t.push_back(row("Allow NotResource topic/private/* does not allow private/a",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","NotResource":"{A}topic/private/*"})"})},
                    actions::publish, "{A}topic/private/a", cid("c1"), implicit_deny));
    t.push_back(row("Deny NotResource topic/${iot:ClientId}/* leaves the client's own topics allowed",
                    {doc({allow_publish_all,
                          R"({"Effect":"Deny","Action":"iot:Publish","NotResource":"{A}topic/${iot:ClientId}/*"})"})},
                    actions::publish, "{A}topic/c1/x", cid("c1"), allowed));
    t.push_back(row("Deny NotResource topic/${iot:ClientId}/* denies another client's topics",
                    {doc({allow_publish_all,
                          R"({"Effect":"Deny","Action":"iot:Publish","NotResource":"{A}topic/${iot:ClientId}/*"})"})},
                    actions::publish, "{A}topic/c2/x", cid("c1"), explicit_deny));
    t.push_back(row("Allow NotResource with an unresolved variable does not apply",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","NotResource":"{A}topic/${iot:Connection.Thing.ThingName}/*"})"})},
                    actions::publish, "{A}topic/x/y", cid("lamp"), implicit_deny));
    t.push_back(row("NotResource list: a resource outside every entry is covered",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","NotResource":["{A}topic/a/*","{A}topic/b/*"]})"})},
                    actions::publish, "{A}topic/c/1", cid("c1"), allowed));
    t.push_back(row("NotResource list: a resource inside any entry is not covered",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","NotResource":["{A}topic/a/*","{A}topic/b/*"]})"})},
                    actions::publish, "{A}topic/b/1", cid("c1"), implicit_deny));

    // ---- Conditions the engine evaluates (condition_test.cpp; IAM condition operators).
    t.push_back(row("StringEquals with a value list is an OR: client b is allowed",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"StringEquals":{"iot:ClientId":["a","b"]}}})"})},
                    actions::connect, "{A}client/b", cid("b"), allowed));
    t.push_back(row("StringEquals with a value list: client c is not",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"StringEquals":{"iot:ClientId":["a","b"]}}})"})},
                    actions::connect, "{A}client/c", cid("c"), implicit_deny));
    t.push_back(row("StringLike sensor-* matches sensor-9",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"StringLike":{"iot:ClientId":"sensor-*"}}})"})},
                    actions::connect, "{A}client/sensor-9", cid("sensor-9"), allowed));
    t.push_back(row("StringNotLike test-* refuses test-1",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"StringNotLike":{"iot:ClientId":"test-*"}}})"})},
                    actions::connect, "{A}client/test-1", cid("test-1"), implicit_deny));
    t.push_back(row("StringEqualsIgnoreCase matches a differently-cased client id",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"StringEqualsIgnoreCase":{"iot:ClientId":"Sensor-A"}}})"})},
                    actions::connect, "{A}client/SENSOR-a", cid("SENSOR-a"), allowed));
    t.push_back(row("StringEquals is case-sensitive for values",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"StringEquals":{"iot:ClientId":"Sensor-A"}}})"})},
                    actions::connect, "{A}client/sensor-a", cid("sensor-a"), implicit_deny));
    t.push_back(row("condition key names are case-insensitive: IOT:CLIENTID",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"StringEquals":{"IOT:CLIENTID":"c1"}}})"})},
                    actions::connect, "{A}client/c1", cid("c1"), allowed));
    t.push_back(row("two keys under one operator are an AND: type mismatch refuses",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"*","Condition":{"StringEquals":{"iot:ClientId":"t1","iot:Connection.Thing.ThingTypeName":"Sensor"}}})"})},
                    actions::publish, "{A}topic/a", dev("t1").thing_type("Other"), implicit_deny));
    t.push_back(row("two operators are an AND: both hold",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"*","Condition":{"StringLike":{"iot:ClientId":"t*"},"Bool":{"iot:Connection.Thing.IsAttached":"true"}}})"})},
                    actions::publish, "{A}topic/a", dev("t1"), allowed));
    t.push_back(row("two operators are an AND: one fails",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"*","Condition":{"StringLike":{"iot:ClientId":"t*"},"Bool":{"iot:Connection.Thing.IsAttached":"true"}}})"})},
                    actions::publish, "{A}topic/a", cid("t1"), implicit_deny));
    t.push_back(row("ForAllValues ConnectAttributes [PersistentConnect] refuses a connection with a will",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"ForAllValues:StringEquals":{"iot:ConnectAttributes":["PersistentConnect"]}}})"})},
                    actions::connect, "{A}client/c1",
                    cid("c1").connect_attributes({"PersistentConnect", "LastWill"}), implicit_deny));
    t.push_back(row("ForAllValues ConnectAttributes allows a persistent session without a will",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"ForAllValues:StringEquals":{"iot:ConnectAttributes":["PersistentConnect"]}}})"})},
                    actions::connect, "{A}client/c1", cid("c1").connect_attributes({"PersistentConnect"}), allowed));
    t.push_back(row("ForAllValues holds when the request has no such key (IAM set operators)",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"*","Condition":{"ForAllValues:StringEquals":{"iot:ConnectAttributes":["PersistentConnect"]}}})"})},
                    actions::publish, "{A}topic/a", cid("c1"), allowed));
    t.push_back(row("ForAnyValue ConnectAttributes LastWill holds with a will",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"iot:ConnectAttributes":"LastWill"}}})"})},
                    actions::connect, "{A}client/c1", cid("c1").connect_attributes({"LastWill"}), allowed));
    t.push_back(row("ForAnyValue is false when the request has no such key",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"iot:ConnectAttributes":"LastWill"}}})"})},
                    actions::publish, "{A}topic/a", cid("c1"), implicit_deny));
    t.push_back(row("Deny with ForAnyValue LastWill refuses a connection that sets a will",
                    {doc({allow_connect_all,
                          R"({"Effect":"Deny","Action":"iot:Connect","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"iot:ConnectAttributes":"LastWill"}}})"})},
                    actions::connect, "{A}client/c1",
                    cid("c1").connect_attributes({"LastWill"}).will("will/c1"), explicit_deny));
    t.push_back(row("StringLike iot:LastWillTopic will/${iot:ClientId} allows the client's own will topic",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"StringLike":{"iot:LastWillTopic":"will/${iot:ClientId}"}}})"})},
                    actions::connect, "{A}client/c1", cid("c1").connect_attributes({"LastWill"}).will("will/c1"),
                    allowed));
    t.push_back(row("StringLikeIfExists iot:LastWillTopic will/* refuses a will on another topic",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"StringLikeIfExists":{"iot:LastWillTopic":"will/*"}}})"})},
                    actions::connect, "{A}client/c1", cid("c1").connect_attributes({"LastWill"}).will("other/c1"),
                    implicit_deny));
    t.push_back(row("IpAddress 10.0.0.0/8 allows 10.2.3.4",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}})"})},
                    actions::connect, "{A}client/c1", cid("c1").ip("10.2.3.4"), allowed));
    t.push_back(row("IpAddress is false without a source address",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}})"})},
                    actions::connect, "{A}client/c1", cid("c1"), implicit_deny));
    t.push_back(row("NotIpAddress is true without a source address (negated operator, missing key)",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}})"})},
                    actions::connect, "{A}client/c1", cid("c1"), allowed));
    t.push_back(row("NumericLessThan aws:EpochTime holds before the bound",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"NumericLessThan":{"aws:EpochTime":"1800000000"}}})"})},
                    actions::connect, "{A}client/c1", cid("c1").at_unix(1767225600), allowed));
    t.push_back(row("DateLessThan aws:CurrentTime fails after the date",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2025-01-01T00:00:00Z"}}})"})},
                    actions::connect, "{A}client/c1", cid("c1").at_unix(1767225600), implicit_deny));
    t.push_back(row("DateGreaterThan aws:CurrentTime is false without a clock",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}})"})},
                    actions::connect, "{A}client/c1", cid("c1"), implicit_deny));
    t.push_back(row("Null aws:SourceIp false holds when the address is known",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"Null":{"aws:SourceIp":"false"}}})"})},
                    actions::connect, "{A}client/c1", cid("c1").ip("192.0.2.1"), allowed));
    t.push_back(row("a certificate field as a condition key: StringEquals Subject.CommonName",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"StringEquals":{"iot:Certificate.Subject.CommonName":"Device 1"}}})"})},
                    actions::connect, "{A}client/c1", cid("c1").cert("Subject.CommonName", {"Device 1"}), allowed));
    t.push_back(row("ForAnyValue over a .List certificate variable finds the second DNS name",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"iot:Certificate.Subject.AlternativeName.DNSName.List":"b.example.com"}}})"})},
                    actions::connect, "{A}client/c1",
                    cid("c1").cert("Subject.AlternativeName.DNSName", {"a.example.com", "b.example.com"}), allowed));
    t.push_back(row("StringEquals iot:DomainName allows a client on the named domain",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"StringEquals":{"iot:DomainName":"d-ats.iot.us-east-1.amazonaws.com"}}})"})},
                    actions::connect, "{A}client/c1",
                    cid("c1").extra("iot:DomainName", "d-ats.iot.us-east-1.amazonaws.com"), allowed));
    t.push_back(row("StringEquals iot:DomainName refuses a client on another domain",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"StringEquals":{"iot:DomainName":"d-ats.iot.us-east-1.amazonaws.com"}}})"})},
                    actions::connect, "{A}client/c1",
                    cid("c1").extra("iot:DomainName", "other.example.com"), implicit_deny));
    t.push_back(row("ForAllValues over a .List sees only the first five values (arrays truncated to 5)",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"ForAllValues:StringLike":{"iot:Certificate.Subject.AlternativeName.DNSName.List":"*.example.com"}}})"})},
                    actions::connect, "{A}client/c1",
                    cid("c1").cert("Subject.AlternativeName.DNSName",
                                   {"a.example.com", "b.example.com", "c.example.com", "d.example.com",
                                    "e.example.com", "evil.test"}),
                    allowed));
    t.push_back(row("ForAnyValue over a .List does not see a sixth value",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"iot:Certificate.Subject.AlternativeName.DNSName.List":"f.example.com"}}})"})},
                    actions::connect, "{A}client/c1",
                    cid("c1").cert("Subject.AlternativeName.DNSName",
                                   {"a.example.com", "b.example.com", "c.example.com", "d.example.com",
                                    "e.example.com", "f.example.com"}),
                    implicit_deny));
    t.push_back(row("ArnLike with a * region matches the source ARN of any region",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:iot:*:123456789012:topic/a/*"}}})"})},
                    actions::connect, "{A}client/c1",
                    cid("c1").extra("aws:SourceArn", "arn:aws:iot:eu-west-1:123456789012:topic/a/b"), allowed));
    // IAM ARN condition operators (reference_policies_elements_condition_operators.html, ArnLike;
    // also the AWS SDK's ArnComparisonType.ArnLike doc): 'Each of the six colon-delimited
    // components of the ARN is checked separately'; the region component 'us-east-1?123456789012'
    // cannot match 'us-east-1'.
    t.push_back(
        row("ArnLike checks each colon-delimited component separately: ? does not match a colon",
            {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:iot:us-east-1?123456789012:topic/a:b"}}})"})},
            actions::connect, "{A}client/c1",
            cid("c1").extra("aws:SourceArn", "arn:aws:iot:us-east-1:123456789012:topic/a:b"), implicit_deny));
    t.push_back(row("a condition with a variable value: StringEquals ThingName = ${iot:ClientId}",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"StringEquals":{"iot:Connection.Thing.ThingName":"${iot:ClientId}"}}})"})},
                    actions::connect, "{A}client/t1", dev("t1"), allowed));

    // ---- Lists of resources and actions; single-statement form.
    t.push_back(row("a Resource list allows its third entry",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":["{A}topic/a","{A}topic/b","{A}topic/c"]})"})},
                    actions::publish, "{A}topic/c", cid("c1"), allowed));
    t.push_back(row("a Resource list refuses a topic outside it",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":["{A}topic/a","{A}topic/b","{A}topic/c"]})"})},
                    actions::publish, "{A}topic/d", cid("c1"), implicit_deny));
    t.push_back(row("Action and Resource lists combine as a cross product: Receive on the second topic",
                    {doc({R"({"Effect":"Allow","Action":["iot:Publish","iot:Receive"],"Resource":["{A}topic/a","{A}topic/b"]})"})},
                    actions::receive, "{A}topic/b", cid("c1"), allowed));
    t.push_back(row("a single Statement object mixing client and topic resources allows Connect",
                    {R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["iot:Connect","iot:Publish"],"Resource":["{A}client/c1","{A}topic/t"]}})"},
                    actions::connect, "{A}client/c1", cid("c1"), allowed));
    t.push_back(row("the quick-connect shape: Subscribe on an unlisted filter is refused",
                    {doc({R"({"Effect":"Allow","Action":["iot:Publish","iot:Receive"],"Resource":["{A}topic/sdk/test/python"]})",
                          R"({"Effect":"Allow","Action":"iot:Subscribe","Resource":["{A}topicfilter/sdk/test/python"]})",
                          R"({"Effect":"Allow","Action":"iot:Connect","Resource":["{A}client/basicPubSub"]})"})},
                    actions::subscribe, "{A}topicfilter/sdk/test/js", cid("basicPubSub"), implicit_deny));

    // ---- ARN region, account and partition (reference §4.1, §1.7: namespaces are per account
    // and region).
    t.push_back(row("a us-east-1 resource does not cover eu-west-1",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/a"})"})},
                    actions::publish, "arn:aws:iot:eu-west-1:123456789012:topic/a", cid("c1"), implicit_deny));
    t.push_back(row("an account-123456789012 resource does not cover account 210987654321",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/a"})"})},
                    actions::publish, "arn:aws:iot:us-east-1:210987654321:topic/a", cid("c1"), implicit_deny));
    t.push_back(row("a * region covers eu-west-1",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:*:123456789012:topic/a"})"})},
                    actions::publish, "arn:aws:iot:eu-west-1:123456789012:topic/a", cid("c1"), allowed));
    t.push_back(row("a * account covers another account",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-1:*:topic/a"})"})},
                    actions::publish, "arn:aws:iot:us-east-1:210987654321:topic/a", cid("c1"), allowed));
    t.push_back(row("region us-east-? covers us-east-2",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-?:123456789012:topic/a"})"})},
                    actions::publish, "arn:aws:iot:us-east-2:123456789012:topic/a", cid("c1"), allowed));
    t.push_back(row("region us-east-? does not cover us-west-2",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-?:123456789012:topic/a"})"})},
                    actions::publish, "arn:aws:iot:us-west-2:123456789012:topic/a", cid("c1"), implicit_deny));
    t.push_back(row("partition aws does not cover aws-cn",
                    {doc({R"({"Effect":"Allow","Action":"iot:Connect","Resource":"{A}client/c1"})"})},
                    actions::connect, "arn:aws-cn:iot:us-east-1:123456789012:client/c1", cid("c1"), implicit_deny));
    // IAM `reference_policies_elements_resource.html` "Using wildcards in resource ARNs": `*`
    // and `?` work "within the individual segments of an ARN (the parts separated by colons)";
    // only a `*` that is the last character of a segment "can expand to match beyond the colon
    // boundaries". IoT follows IAM conventions (reference 4.4, pub-sub-policy.html). The account
    // segment '*3' cannot match '123456789012'.
    t.push_back(
        row("a * that is not the last character of its ARN segment does not cross a colon",
            {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-1:*3:topic/b"})"})},
            actions::publish, "{A}topic/a3:topic/b", cid("c1"), implicit_deny));
    // IAM reference_policies_elements_resource.html (? is used within an ARN segment); the region
    // segment 'us-east-1?123456789012' cannot match 'us-east-1'.
    t.push_back(
        row("a ? stays inside its ARN segment and does not match a colon",
            {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-1?123456789012:topic/a:b"})"})},
            actions::publish, "{A}topic/a:b", cid("c1"), implicit_deny));
    t.push_back(row("a * that ends its ARN segment expands beyond the colon boundaries",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-1:*:topic/b"})"})},
                    actions::publish, "{A}topic/a:topic/b", cid("c1"), allowed));
    t.push_back(row("a segment-final * absorbs a colon so that a later in-segment * can match",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:*:*-1:123456789012:topic/a"})"})},
                    actions::publish, "arn:aws:iot:x:us-east-1:123456789012:topic/a", cid("c1"), allowed));
    t.push_back(row("a * inside its segment still refuses to cross into the next one",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:us-*t-1:123456789012:topic/a"})"})},
                    actions::publish, "arn:aws:iot:us-west-2:us-east-1:topic/a", cid("c1"), implicit_deny));
    t.push_back(row("a colon inside the resource part is matched by * like any character",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/a*b"})"})},
                    actions::publish, "{A}topic/a:b", cid("c1"), allowed));
    t.push_back(row("a Deny in another region does not deny us-east-1",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topic/*"})",
                          R"({"Effect":"Deny","Action":"iot:Publish","Resource":"arn:aws:iot:eu-west-1:123456789012:topic/*"})"})},
                    actions::publish, "{A}topic/a", cid("c1"), allowed));

    // ---- Resource kinds: client/, topic/, topicfilter/, thing/ (reference §4.4 action table).
    t.push_back(row("a topic resource does not allow Connect of the client of the same name",
                    {doc({R"({"Effect":"Allow","Action":"iot:*","Resource":"{A}topic/c1"})"})},
                    actions::connect, "{A}client/c1", cid("c1"), implicit_deny));
    t.push_back(row("a topic resource does not allow Subscribe to the filter of the same name",
                    {doc({R"({"Effect":"Allow","Action":"iot:Subscribe","Resource":"{A}topic/a/b"})"})},
                    actions::subscribe, "{A}topicfilter/a/b", cid("c1"), implicit_deny));
    t.push_back(row("a topicfilter resource does not allow Publish to the topic of the same name",
                    {doc({R"({"Effect":"Allow","Action":"iot:Publish","Resource":"{A}topicfilter/a/b"})"})},
                    actions::publish, "{A}topic/a/b", cid("c1"), implicit_deny));
    t.push_back(row("a topic resource allows Receive",
                    {doc({R"({"Effect":"Allow","Action":"iot:Receive","Resource":"{A}topic/a/b"})"})},
                    actions::receive, "{A}topic/a/b", cid("c1"), allowed));
    t.push_back(row("iot:RetainPublish on a topic resource allows a retained publish",
                    {doc({R"({"Effect":"Allow","Action":["iot:Publish","iot:RetainPublish"],"Resource":"{A}topic/status/*"})"})},
                    actions::retain_publish, "{A}topic/status/t1", cid("t1"), allowed));
    t.push_back(row("thing/lamp does not cover the named shadow thing/lamp/config",
                    {doc({R"({"Effect":"Allow","Action":"iot:UpdateThingShadow","Resource":"{A}thing/lamp"})"})},
                    actions::update_thing_shadow, "{A}thing/lamp/config", cid("c1"), implicit_deny));
    t.push_back(row("thing/lamp/* covers the named shadow thing/lamp/config",
                    {doc({R"({"Effect":"Allow","Action":"iot:UpdateThingShadow","Resource":"{A}thing/lamp/*"})"})},
                    actions::update_thing_shadow, "{A}thing/lamp/config", cid("c1"), allowed));
    t.push_back(row("thing/${ThingName} allows GetThingShadow of the attached thing",
                    {doc({R"({"Effect":"Allow","Action":"iot:GetThingShadow","Resource":"{A}thing/${iot:Connection.Thing.ThingName}"})"})},
                    actions::get_thing_shadow, "{A}thing/lamp", dev("lamp"), allowed));
    t.push_back(row("thing/${ThingName} refuses GetThingShadow of another thing",
                    {doc({R"({"Effect":"Allow","Action":"iot:GetThingShadow","Resource":"{A}thing/${iot:Connection.Thing.ThingName}"})"})},
                    actions::get_thing_shadow, "{A}thing/fan", dev("lamp"), implicit_deny));
    t.push_back(row("a client/* resource does not cover a thing ARN",
                    {doc({R"({"Effect":"Allow","Action":"iot:*","Resource":"{A}client/*"})"})},
                    actions::get_thing_shadow, "{A}thing/lamp", cid("c1"), implicit_deny));
    t.push_back(row("a reserved shadow topic with ${ThingName} allows Receive on get/accepted",
                    {doc({R"({"Effect":"Allow","Action":"iot:Receive","Resource":"{A}topic/$aws/things/${iot:Connection.Thing.ThingName}/shadow/*"})"})},
                    actions::receive, "{A}topic/$aws/things/lamp/shadow/get/accepted", dev("lamp"), allowed));
    t.push_back(row("a reserved shadow topic with ${ThingName} refuses another thing's shadow",
                    {doc({R"({"Effect":"Allow","Action":"iot:Receive","Resource":"{A}topic/$aws/things/${iot:Connection.Thing.ThingName}/shadow/*"})"})},
                    actions::receive, "{A}topic/$aws/things/fan/shadow/get/accepted", dev("lamp"), implicit_deny));

    return t;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(policy_decision_table)

BOOST_AUTO_TEST_CASE(every_row_decides_as_aws_documents) {
    const std::vector<Row> table = decision_table();
    BOOST_TEST(table.size() >= 110U);

    std::set<std::string> seen;
    std::size_t known_discrepancies = 0;
    for (std::size_t i = 0; i < table.size(); ++i) {
        const Row& r = table[i];
        BOOST_TEST_CONTEXT("row " << (i + 1) << ": " << r.behaviour) {
            BOOST_TEST(seen.insert(r.behaviour).second, "behaviour sentences must be unique");

            std::vector<Policy> policies;
            bool parsed = true;
            for (std::size_t p = 0; p < r.policies.size(); ++p) {
                auto result = parse_policy(expand(r.policies[p]),
                                           PolicyOptions{.name = "P" + std::to_string(p + 1),
                                                         .arn = policy_arn(scope, "P" + std::to_string(p + 1))});
                if (!result.ok()) {
                    BOOST_ERROR("policy " << (p + 1) << " refused: " << result.error().message << " / "
                                          << result.error().detail << " at " << result.error().path);
                    parsed = false;
                    break;
                }
                policies.push_back(std::move(result).value());
            }
            if (!parsed) {
                continue;
            }

            const std::string resource = expand(r.resource);
            const Request request{.action = r.action, .resource = resource, .context = r.context};
            const Decision decision = evaluate(policies, request);

            if (r.expect_engine_bug) {
                ++known_discrepancies;
                if (decision.outcome != r.expected) {
                    BOOST_TEST_MESSAGE("KNOWN ENGINE DISCREPANCY, row " << (i + 1) << " (" << r.behaviour
                                       << "): AWS " << outcome_name(r.expected) << ", engine "
                                       << outcome_name(decision.outcome) << " [" << explain(decision, policies, request)
                                       << "]; evidence: " << r.evidence);
                } else {
                    BOOST_TEST_MESSAGE("row " << (i + 1) << " (" << r.behaviour
                                       << ") is marked expect_engine_bug but the engine now agrees with AWS ("
                                       << outcome_name(r.expected) << "): drop the flag");
                }
                continue;
            }
            BOOST_TEST(outcome_name(decision.outcome) == outcome_name(r.expected),
                       "expected " + std::string(outcome_name(r.expected)) + ", engine decided " +
                           explain(decision, policies, request));
        }
    }
    BOOST_TEST_MESSAGE("policy decision table: " << table.size() << " rows, " << known_discrepancies
                                                 << " marked expect_engine_bug");
}

BOOST_AUTO_TEST_SUITE_END()
