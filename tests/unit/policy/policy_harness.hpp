#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "iotsim/policy/action.hpp"
#include "iotsim/policy/arn.hpp"
#include "iotsim/policy/context.hpp"
#include "iotsim/policy/evaluate.hpp"
#include "iotsim/policy/policy.hpp"

namespace policy_test {

using namespace iotsim::policy;

inline const ArnScope scope{.region = "us-east-1", .account = "123456789012"};

/// Parses a document that the test expects to be valid; fails the test with AWS's message
/// and iotsim's detail otherwise.
inline Policy must_parse(std::string_view document, std::string name = "TestPolicy") {
    auto result = parse_policy(document, PolicyOptions{.name = std::move(name),
                                                       .arn = policy_arn(scope, "TestPolicy")});
    if (!result.ok()) {
        BOOST_FAIL("policy refused: " + result.error().message + " / " + result.error().detail +
                   " at " + result.error().path);
    }
    return std::move(result).value();
}

inline PolicyError must_fail(std::string_view document) {
    auto result = parse_policy(document);
    BOOST_REQUIRE_MESSAGE(!result.ok(), "policy accepted but should be refused");
    return result.error();
}

inline Decision decide(const std::vector<Policy>& policies, std::string_view action,
                       std::string_view resource, const RequestContext& context = {}) {
    return evaluate(policies, Request{.action = action, .resource = resource, .context = context});
}

inline bool allows(const Policy& policy, std::string_view action, std::string_view resource,
                   const RequestContext& context = {}) {
    return decide({policy}, action, resource, context).allowed();
}

inline RequestContext client(std::string id) {
    RequestContext context;
    context.client_id = std::move(id);
    return context;
}

/// A connection bound to a thing whose name is the client id (non-exclusive association).
inline RequestContext thing_client(std::string name) {
    RequestContext context = client(name);
    context.thing = ThingContext{.name = std::move(name), .type_name = {}, .attributes = {}};
    return context;
}

/// A one-statement 2012-10-17 policy.
inline std::string allow(std::string_view action, std::string_view resource) {
    return std::string(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":")") +
           std::string(action) + R"(","Resource":")" + std::string(resource) + R"("}})";
}

}  // namespace policy_test
