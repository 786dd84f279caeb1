// libFuzzer target for IoT policies: the input is a policy document, optionally followed by a
// NUL byte and a name used as topic, topic filter and client id. The document is parsed; when
// it is accepted it is evaluated for a set of requests under three contexts (nothing known, a
// client, a client bound to a thing with a certificate), and TestAuthorization is asked the same
// questions. Checks that nothing crashes (ASan, UBSan) and that the answers agree: a decision
// names a statement of the right Effect, and TestAuthorization's authDecision equals evaluate's.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "iotsim/policy/action.hpp"
#include "iotsim/policy/arn.hpp"
#include "iotsim/policy/evaluate.hpp"
#include "iotsim/policy/policy.hpp"
#include "iotsim/policy/test_authorization.hpp"

using namespace iotsim::policy;

namespace {

[[noreturn]] void fail(const char* what, std::string_view detail) {
    std::fprintf(stderr, "fuzz_policy: %s: %.*s\n", what, static_cast<int>(detail.size()),
                 detail.data());
    std::abort();
}

const char* decision_name(Outcome outcome) {
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

std::vector<RequestContext> contexts(const std::string& name) {
    std::vector<RequestContext> out(3);
    out[1].client_id = name;
    out[2].client_id = name;
    out[2].thing = ThingContext{.name = name, .type_name = "Type", .attributes = {{"a", name}}};
    out[2].certificate["Subject.CommonName"] = {name, "second"};
    out[2].certificate_id = std::string(64, 'f');
    out[2].source_ip = "192.0.2.1";
    out[2].current_time = iotsim::WallTime{std::chrono::seconds(1767225600)};
    out[2].connect_attributes = std::vector<std::string>{"PersistentConnect"};
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::size_t nul = input.find('\0');
    const std::string_view document = input.substr(0, nul);
    const std::string name =
        nul == std::string_view::npos ? std::string("dev1") : std::string(input.substr(nul + 1));

    auto parsed = parse_policy(document, PolicyOptions{.name = "Fuzz", .arn = "arn:aws:iot:us-east-1:123456789012:policy/Fuzz"});
    if (!parsed.ok()) {
        const PolicyError& error = parsed.error();
        if (!error.message.starts_with("Policy document is Malformed")) {
            fail("error message without AWS's prefix", error.message);
        }
        if ((error.line == 0) != (error.column == 0)) {
            fail("line without column", error.message);
        }
        return 0;
    }
    const std::array<Policy, 1> policies{parsed.value()};
    const ArnScope scope{.region = "us-east-1", .account = "123456789012"};
    struct Question {
        std::string_view action;
        const char* action_type;  // TestAuthorization's, or nullptr
        std::string resource;
    };
    const std::array<Question, 6> questions{{
        {actions::connect, "CONNECT", client_arn(scope, name)},
        {actions::publish, "PUBLISH", topic_arn(scope, name)},
        {actions::subscribe, "SUBSCRIBE", topicfilter_arn(scope, name)},
        {actions::receive, "RECEIVE", topic_arn(scope, "$aws/things/" + name + "/shadow/update")},
        {actions::update_thing_shadow, nullptr, thing_arn(scope, name, "cfg")},
        {actions::list_retained_messages, nullptr, "*"},
    }};
    for (const RequestContext& context : contexts(name)) {
        nlohmann::json body = {{"authInfos", nlohmann::json::array()}};
        std::vector<Outcome> expected;
        for (const Question& question : questions) {
            const Request request{.action = question.action, .resource = question.resource,
                                  .context = context};
            const Decision decision = evaluate(policies, request);
            if (decision.decided_by.has_value() == (decision.outcome == Outcome::implicit_deny)) {
                fail("decided_by disagrees with the outcome", document);
            }
            if (decision.decided_by) {
                const Effect effect = policies[0].statement_effect(decision.decided_by->statement_index);
                if ((effect == Effect::deny) != (decision.outcome == Outcome::explicit_deny)) {
                    fail("decided by a statement of the wrong Effect", document);
                }
            }
            (void)explain(decision, policies, request);
            if (question.action_type != nullptr) {
                body["authInfos"].push_back(
                    {{"actionType", question.action_type}, {"resources", {question.resource}}});
                expected.push_back(decision.outcome);
            }
        }
        auto tested = test_authorization(policies, body, context);
        if (!tested.ok()) {
            fail("TestAuthorization refused a valid request", tested.error().message);
        }
        const nlohmann::json& results = tested.value()["authResults"];
        for (std::size_t i = 0; i < expected.size(); ++i) {
            if (results[i]["authDecision"] != decision_name(expected[i])) {
                fail("TestAuthorization disagrees with evaluate", results[i].dump());
            }
        }
    }
    return 0;
}
