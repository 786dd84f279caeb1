// ControlPlaneRouter: botocore's iot paths, methods, query parameters, headers, JSON members and
// rest-json errors, for representative operations.

#include <cctype>

#include <nlohmann/json.hpp>

#include "iotsim/http/message.hpp"
#include "iotsim/registry/certificate.hpp"
#include "iotsim/registry/control_plane_router.hpp"
#include "registry_harness.hpp"

using namespace registry_test;
using nlohmann::json;

namespace {

/// Percent-encodes everything but unreserved characters, as botocore encodes a URI member.
std::string encode(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(c);
        } else {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 0x0f];
        }
    }
    return out;
}

struct RouterFixture : Fixture {
    Rng request_ids{99};
    ControlPlaneRouter router{registry, request_ids};

    http::Response send(const std::string& method, const std::string& target,
                        const std::string& body = "", std::vector<http::Header> headers = {}) {
        http::Request request;
        request.method = method;
        request.target = target;
        const std::size_t q = target.find('?');
        request.path = target.substr(0, q);
        request.query = q == std::string::npos ? "" : target.substr(q + 1);
        request.headers = std::move(headers);
        request.body = body;
        http::Response response = router.handle(request, now());
        BOOST_TEST(response.header("x-amzn-RequestId") != nullptr);
        return response;
    }

    static json body_of(const http::Response& r) { return json::parse(r.body); }

    /// Checks a rest-json error: status, x-amzn-ErrorType, and a body of just {"message"}.
    static void expect(const http::Response& r, int status, const std::string& type) {
        BOOST_TEST(r.status == status);
        const std::string* header = r.header("x-amzn-ErrorType");
        BOOST_REQUIRE(header != nullptr);
        BOOST_TEST(*header == type);
        const json body = body_of(r);
        BOOST_TEST(body.size() == 1u);
        BOOST_TEST(body.at("message").is_string());
    }
};

struct FakeIssuer final : CertificateIssuer {
    IssuedCertificate create_keys_and_certificate(Now) override {
        IssuedCertificate out;
        out.certificate_pem = make_cert("issued").pem;
        out.public_key_pem = "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n";
        out.private_key_pem =
            "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----\n";
        return out;
    }
    std::string create_certificate_from_csr(std::string_view csr, std::string& ca_id,
                                            Now) override {
        if (csr != "csr") {
            throw RegistryError(errors::make(errors::invalid_request, "Invalid CSR"));
        }
        ca_id.clear();
        return make_cert("from-csr").pem;
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(registry_router)

BOOST_FIXTURE_TEST_CASE(create_and_describe_thing_with_model_member_names, RouterFixture) {
    auto r =
        send("POST", "/things/lamp-1", R"({"attributePayload":{"attributes":{"room":"hall"}}})");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(*r.header("Content-Type") == "application/json");
    json b = body_of(r);
    BOOST_TEST(b["thingName"] == "lamp-1");
    BOOST_TEST(b["thingArn"] == "arn:aws:iot:us-east-1:123456789012:thing/lamp-1");
    BOOST_TEST(b["thingId"].get<std::string>().size() == 36u);

    b = body_of(send("GET", "/things/lamp-1"));
    BOOST_TEST(b["defaultClientId"] == "lamp-1");
    BOOST_TEST(b["attributes"]["room"] == "hall");
    BOOST_TEST(b["version"] == 1);
    BOOST_TEST(!b.contains("thingTypeName"));
}

BOOST_FIXTURE_TEST_CASE(errors_are_rest_json_with_error_type_header, RouterFixture) {
    expect(send("GET", "/things/ghost"), 404, "ResourceNotFoundException");
    (void)send("POST", "/things/t", R"({"attributePayload":{"attributes":{"a":"1"}}})");
    expect(send("POST", "/things/t", R"({"attributePayload":{"attributes":{"a":"2"}}})"), 409,
           "ResourceAlreadyExistsException");
    expect(send("PATCH", "/things/t", R"({"expectedVersion":9})"), 409, "VersionConflictException");
    expect(send("DELETE", "/things/t?expectedVersion=9"), 409, "VersionConflictException");
    expect(send("POST", "/things/bad%20name"), 400, "InvalidRequestException");
    expect(send("POST", "/things/t2", "{not json"), 400, "InvalidRequestException");
    expect(send("POST", "/things/t2", R"({"attributePayload":{"attributes":{"a":1}}})"), 400,
           "InvalidRequestException");
}

BOOST_FIXTURE_TEST_CASE(unknown_path_is_404_and_other_method_405, RouterFixture) {
    BOOST_TEST(send("GET", "/nothing-here").status == 404);
    BOOST_TEST(send("PUT", "/things/t").status == 405);
    BOOST_TEST(send("GET", "/things/t/shadow").status == 404);
    BOOST_TEST(send("POST", "/attached-policies/").status == 404);  // empty target
    http::Request probe;
    probe.method = "PATCH";
    probe.path = "/policies/p/version/3";
    BOOST_TEST(ControlPlaneRouter::operation_for(probe) == "SetDefaultPolicyVersion");
}

BOOST_FIXTURE_TEST_CASE(an_operation_iotsim_does_not_implement_gets_an_error_naming_it, RouterFixture) {
    const http::Response jobs = send("GET", "/jobs");
    expect(jobs, 501, "NotImplementedException");
    BOOST_TEST(body_of(jobs)["message"].get<std::string>().find("ListJobs") != std::string::npos);
    const http::Response register_thing = send("POST", "/things", "{}");  // GET /things is ListThings
    expect(register_thing, 501, "NotImplementedException");
    BOOST_TEST(body_of(register_thing)["message"].get<std::string>().find("RegisterThing") != std::string::npos);
    http::Request probe;
    probe.method = "POST";
    probe.path = "/role-aliases/my-alias";
    BOOST_TEST(ControlPlaneRouter::operation_for(probe) == "CreateRoleAlias");
    BOOST_TEST(send("GET", "/nothing-here").status == 404);  // not an AWS IoT path at all
}

BOOST_FIXTURE_TEST_CASE(update_thing_merges_and_delete_thing_succeeds, RouterFixture) {
    (void)send("POST", "/things/t", R"({"attributePayload":{"attributes":{"a":"1","b":"2"}}})");
    auto r = send(
        "PATCH", "/things/t",
        R"({"attributePayload":{"attributes":{"a":"","c":"3"},"merge":true},"expectedVersion":1})");
    BOOST_TEST(r.status == 200);
    json b = body_of(send("GET", "/things/t"));
    BOOST_TEST(b["attributes"] == json({{"b", "2"}, {"c", "3"}}));
    BOOST_TEST(b["version"] == 2);
    BOOST_TEST(send("DELETE", "/things/t?expectedVersion=2").status == 200);
    BOOST_TEST(send("DELETE", "/things/t").status == 200);
}

BOOST_FIXTURE_TEST_CASE(list_things_pages_with_max_results_and_next_token, RouterFixture) {
    for (const char* n : {"a", "b", "c"}) {
        (void)send("POST", std::string("/things/") + n);
    }
    json b = body_of(send("GET", "/things?maxResults=2"));
    BOOST_TEST(b["things"].size() == 2u);
    BOOST_TEST(b["things"][0]["thingArn"] == "arn:aws:iot:us-east-1:123456789012:thing/a");
    const std::string token = b["nextToken"];
    b = body_of(send("GET", "/things?maxResults=2&nextToken=" + encode(token)));
    BOOST_TEST(b["things"].size() == 1u);
    BOOST_TEST(!b.contains("nextToken"));
    expect(send("GET", "/things?maxResults=0"), 400, "InvalidRequestException");
    expect(send("GET", "/things?maxResults=abc"), 400, "InvalidRequestException");
    expect(send("GET", "/things?usePrefixAttributeValue=maybe"), 400, "InvalidRequestException");
}

BOOST_FIXTURE_TEST_CASE(thing_type_lifecycle_over_rest, RouterFixture) {
    json b = body_of(send(
        "POST", "/thing-types/Lamp",
        R"({"thingTypeProperties":{"thingTypeDescription":"lamps","searchableAttributes":["color"]},"tags":[{"Key":"k","Value":"v"}]})"));
    BOOST_TEST(b["thingTypeArn"] == "arn:aws:iot:us-east-1:123456789012:thingtype/Lamp");
    BOOST_TEST(send("POST", "/thing-types/Lamp/deprecate", "{}").status == 200);
    b = body_of(send("GET", "/thing-types/Lamp"));
    BOOST_TEST(b["thingTypeProperties"]["thingTypeDescription"] == "lamps");
    BOOST_TEST(b["thingTypeMetadata"]["deprecated"] == true);
    BOOST_TEST(b["thingTypeMetadata"]["deprecationDate"].is_number());
    expect(send("DELETE", "/thing-types/Lamp"), 400, "InvalidRequestException");
    advance(300);
    BOOST_TEST(send("DELETE", "/thing-types/Lamp").status == 200);
    BOOST_TEST(body_of(send("GET", "/thing-types"))["thingTypes"].empty());
}

BOOST_FIXTURE_TEST_CASE(thing_groups_over_rest, RouterFixture) {
    (void)send("POST", "/thing-groups/root");
    json b = body_of(send(
        "POST", "/thing-groups/kitchen",
        R"({"parentGroupName":"root","thingGroupProperties":{"thingGroupDescription":"k","attributePayload":{"attributes":{"floor":"1"}}}})"));
    BOOST_TEST(b["thingGroupArn"] == "arn:aws:iot:us-east-1:123456789012:thinggroup/kitchen");
    (void)send("POST", "/things/t");
    BOOST_TEST(
        send(
            "PUT", "/thing-groups/addThingToThingGroup",
            R"({"thingGroupName":"kitchen","thingArn":"arn:aws:iot:us-east-1:123456789012:thing/t"})")
            .status == 200);
    b = body_of(send("GET", "/thing-groups/kitchen"));
    BOOST_TEST(b["version"] == 1);
    BOOST_TEST(b["thingGroupProperties"]["attributePayload"]["attributes"]["floor"] == "1");
    BOOST_TEST(b["thingGroupMetadata"]["parentGroupName"] == "root");
    BOOST_TEST(b["thingGroupMetadata"]["rootToParentThingGroups"][0]["groupName"] == "root");
    BOOST_TEST(body_of(send("GET", "/thing-groups/root/things?recursive=true"))["things"] ==
               json({"t"}));
    BOOST_TEST(body_of(send("GET", "/things/t/thing-groups"))["thingGroups"][0]["groupName"] ==
               "kitchen");
    b = body_of(
        send("PATCH", "/thing-groups/kitchen",
             R"({"thingGroupProperties":{"thingGroupDescription":"x"},"expectedVersion":1})"));
    BOOST_TEST(b["version"] == 2);
    BOOST_TEST(send("PUT", "/thing-groups/removeThingFromThingGroup",
                    R"({"thingGroupName":"kitchen","thingName":"t"})")
                   .status == 200);
    BOOST_TEST(body_of(send("GET", "/thing-groups?parentGroup=root"))["thingGroups"].size() == 1u);
    expect(send("PUT", "/thing-groups/addThingToThingGroup", R"({"thingName":"t"})"), 400,
           "InvalidRequestException");
}

BOOST_FIXTURE_TEST_CASE(policy_and_versions_over_rest, RouterFixture) {
    const json create = json{{"policyDocument", allow_all_policy}};
    json b = body_of(send("POST", "/policies/p", create.dump()));
    BOOST_TEST(b["policyVersionId"] == "1");
    BOOST_TEST(b["policyArn"] == "arn:aws:iot:us-east-1:123456789012:policy/p");
    BOOST_TEST(b["policyDocument"] == allow_all_policy);
    expect(send("POST", "/policies/q", R"({"policyDocument":"{nope"})"), 400,
           "MalformedPolicyException");
    expect(send("POST", "/policies/q", "{}"), 400, "InvalidRequestException");

    b = body_of(send("POST", "/policies/p/version?setAsDefault=true",
                     json{{"policyDocument", connect_policy}}.dump()));
    BOOST_TEST(b["policyVersionId"] == "2");
    BOOST_TEST(b["isDefaultVersion"] == true);
    b = body_of(send("GET", "/policies/p"));
    BOOST_TEST(b["defaultVersionId"] == "2");
    BOOST_TEST(b["creationDate"].is_number());
    BOOST_TEST(b["generationId"].is_string());
    b = body_of(send("GET", "/policies/p/version"));
    BOOST_TEST(b["policyVersions"].size() == 2u);
    BOOST_TEST(b["policyVersions"][0]["versionId"] == "2");
    BOOST_TEST(b["policyVersions"][0]["isDefaultVersion"] == true);
    b = body_of(send("GET", "/policies/p/version/1"));
    BOOST_TEST(b["isDefaultVersion"] == false);
    BOOST_TEST(b["policyName"] == "p");
    expect(send("DELETE", "/policies/p/version/2"), 409, "DeleteConflictException");
    BOOST_TEST(send("PATCH", "/policies/p/version/1").status == 200);
    BOOST_TEST(send("DELETE", "/policies/p/version/2").status == 200);
    expect(send("GET", "/policies/p/version/x"), 400, "InvalidRequestException");
    expect(send("GET", "/policies/p/version/9"), 404, "ResourceNotFoundException");
    for (int i = 0; i < 4; ++i) {
        (void)send("POST", "/policies/p/version", create.dump());
    }
    expect(send("POST", "/policies/p/version", create.dump()), 409,
           "VersionsLimitExceededException");
    b = body_of(send("GET", "/policies?pageSize=1"));
    BOOST_TEST(b["policies"][0]["policyName"] == "p");
    BOOST_TEST(!b.contains("nextMarker"));
}

BOOST_FIXTURE_TEST_CASE(certificate_registration_and_state_over_rest, RouterFixture) {
    const TestCert cert = make_cert("device");
    json b = body_of(send("POST", "/certificate/register-no-ca",
                          json{{"certificatePem", cert.pem}, {"status", "ACTIVE"}}.dump()));
    const std::string id = b["certificateId"];
    BOOST_TEST(id == sha256_hex(der_of(cert.pem)));
    BOOST_TEST(b["certificateArn"] == "arn:aws:iot:us-east-1:123456789012:cert/" + id);
    b = body_of(send("GET", "/certificates/" + id))["certificateDescription"];
    BOOST_TEST(b["status"] == "ACTIVE");
    BOOST_TEST(b["certificatePem"] == cert.pem);
    BOOST_TEST(b["ownedBy"] == "123456789012");
    BOOST_TEST(b["certificateMode"] == "SNI_ONLY");
    BOOST_TEST(b["validity"]["notBefore"] == static_cast<double>(epoch_s - 86400));
    BOOST_TEST(!b.contains("caCertificateId"));
    expect(send("DELETE", "/certificates/" + id), 406, "CertificateStateException");
    expect(send("PUT", "/certificates/" + id + "?newStatus=PENDING_TRANSFER"), 406,
           "CertificateStateException");
    expect(send("PUT", "/certificates/" + id + "?newStatus=SOMETHING"), 400,
           "InvalidRequestException");
    expect(send("PUT", "/certificates/" + id), 400, "InvalidRequestException");
    BOOST_TEST(send("PUT", "/certificates/" + id + "?newStatus=INACTIVE").status == 200);
    b = body_of(send("GET", "/certificates?pageSize=10&isAscendingOrder=true"));
    BOOST_TEST(b["certificates"][0]["status"] == "INACTIVE");
    BOOST_TEST(b["certificates"][0]["certificateId"] == id);
    BOOST_TEST(send("DELETE", "/certificates/" + id).status == 200);
    expect(send("GET", "/certificates/" + id), 404, "ResourceNotFoundException");
    expect(send("GET", "/certificates/not-hex"), 400, "InvalidRequestException");
    expect(send("POST", "/certificate/register-no-ca", R"({"certificatePem":"junk"})"), 400,
           "CertificateValidationException");
}

BOOST_FIXTURE_TEST_CASE(ca_registration_over_rest, RouterFixture) {
    const TestCert ca = make_cert("CA", nullptr, true);
    const std::string code = body_of(send("GET", "/registrationcode"))["registrationCode"];
    const TestCert verification = make_cert(code, &ca);
    json b = body_of(send(
        "POST", "/cacertificate?setAsActive=true&allowAutoRegistration=true",
        json{{"caCertificate", ca.pem}, {"verificationCertificate", verification.pem}}.dump()));
    const std::string ca_id = b["certificateId"];
    BOOST_TEST(b["certificateArn"] == "arn:aws:iot:us-east-1:123456789012:cacert/" + ca_id);
    b = body_of(send("GET", "/cacertificate/" + ca_id))["certificateDescription"];
    BOOST_TEST(b["status"] == "ACTIVE");
    BOOST_TEST(b["autoRegistrationStatus"] == "ENABLE");
    const TestCert device = make_cert("device", &ca);
    b = body_of(send("POST", "/certificate/register?setAsActive=true",
                     json{{"certificatePem", device.pem}, {"caCertificatePem", ca.pem}}.dump()));
    const std::string id = b["certificateId"];
    b = body_of(send("GET", "/certificates/" + id))["certificateDescription"];
    BOOST_TEST(b["caCertificateId"] == ca_id);
    BOOST_TEST(body_of(send("GET", "/certificates-by-ca/" + ca_id))["certificates"].size() == 1u);
    BOOST_TEST(body_of(send("GET", "/cacertificates"))["certificates"].size() == 1u);
    expect(send("DELETE", "/cacertificate/" + ca_id), 406, "CertificateStateException");
    BOOST_TEST(send("PUT", "/cacertificate/" + ca_id + "?newStatus=INACTIVE").status == 200);
    BOOST_TEST(send("DELETE", "/cacertificate/" + ca_id).status == 200);
}

BOOST_FIXTURE_TEST_CASE(principals_travel_in_the_x_amzn_principal_header, RouterFixture) {
    const std::string id = certificate("dev").id;
    const std::string arn = registry.certificate_arn(id);
    (void)send("POST", "/things/t");
    auto r = send("PUT", "/things/t/principals?thingPrincipalType=EXCLUSIVE_THING", "",
                  {{"x-amzn-principal", arn}});
    BOOST_TEST(r.status == 200);
    BOOST_TEST(body_of(send("GET", "/things/t/principals"))["principals"] == json({arn}));
    BOOST_TEST(body_of(send("GET", "/principals/things", "",
                            {{"X-Amzn-Principal", arn}}))["things"] == json({"t"}));
    expect(send("PUT", "/things/t/principals"), 400, "InvalidRequestException");
    expect(send("PUT", "/things/t/principals?thingPrincipalType=SOMETIMES", "",
                {{"x-amzn-principal", arn}}),
           400, "InvalidRequestException");
    expect(send("DELETE", "/things/t"), 400, "InvalidRequestException");
    BOOST_TEST(send("DELETE", "/things/t/principals", "", {{"x-amzn-principal", arn}}).status ==
               200);
    BOOST_TEST(send("DELETE", "/things/t").status == 200);
}

BOOST_FIXTURE_TEST_CASE(attach_policy_and_list_attached_with_encoded_target, RouterFixture) {
    const std::string arn = registry.certificate_arn(certificate("dev").id);
    (void)send("POST", "/policies/p", json{{"policyDocument", allow_all_policy}}.dump());
    BOOST_TEST(send("PUT", "/target-policies/p", json{{"target", arn}}.dump()).status == 200);
    // botocore encodes ':' and '/' of the ARN; curl users may send them as they are.
    json b = body_of(send("POST", "/attached-policies/" + encode(arn) + "?pageSize=10"));
    BOOST_TEST(b["policies"][0]["policyName"] == "p");
    BOOST_TEST(b["policies"][0]["policyArn"] == "arn:aws:iot:us-east-1:123456789012:policy/p");
    b = body_of(send("POST", "/attached-policies/" + arn));
    BOOST_TEST(b["policies"].size() == 1u);
    BOOST_TEST(body_of(send("POST", "/policy-targets/p"))["targets"] == json({arn}));
    expect(send("DELETE", "/policies/p"), 409, "DeleteConflictException");
    BOOST_TEST(send("POST", "/target-policies/p", json{{"target", arn}}.dump()).status == 200);
    BOOST_TEST(body_of(send("POST", "/attached-policies/" + encode(arn)))["policies"].empty());
    expect(send("PUT", "/target-policies/ghost", json{{"target", arn}}.dump()), 404,
           "ResourceNotFoundException");
}

BOOST_FIXTURE_TEST_CASE(test_authorization_evaluates_the_principals_policies_with_the_client_id, RouterFixture) {
    const std::string cert_arn = registry.certificate_arn(certificate("dev").id);
    const std::string prefix = "arn:aws:iot:us-east-1:123456789012:";
    const json device_policy = {
        {"Version", "2012-10-17"},
        {"Statement",
         json::array({json{{"Effect", "Allow"}, {"Action", "iot:Connect"},
                           {"Resource", prefix + "client/${iot:Connection.Thing.ThingName}"}},
                      json{{"Effect", "Allow"}, {"Action", "iot:Publish"},
                           {"Resource", prefix + "topic/devices/${iot:ClientId}/*"}},
                      json{{"Effect", "Deny"}, {"Action", "iot:Publish"},
                           {"Resource", prefix + "topic/devices/*/admin"}}})}};
    (void)send("POST", "/policies/device", json{{"policyDocument", device_policy.dump()}}.dump());
    (void)send("POST", "/policies/everything", json{{"policyDocument", allow_all_policy}}.dump());
    BOOST_TEST(send("PUT", "/target-policies/device", json{{"target", cert_arn}}.dump()).status == 200);
    (void)send("POST", "/things/lamp");
    (void)send("PUT", "/things/lamp/principals?thingPrincipalType=EXCLUSIVE_THING", "",
               {{"x-amzn-principal", cert_arn}});
    const auto ask = [&](const std::string& client_id, const json& extra, const json& auth_infos) {
        json request = extra;
        request["principal"] = cert_arn;
        request["authInfos"] = auth_infos;
        return send("POST", "/test-authorization?clientId=" + client_id, request.dump());
    };
    const json infos = json::array(
        {json{{"actionType", "CONNECT"}, {"resources", {prefix + "client/lamp"}}},
         json{{"actionType", "PUBLISH"}, {"resources", {prefix + "topic/devices/lamp/temp"}}},
         json{{"actionType", "PUBLISH"}, {"resources", {prefix + "topic/devices/other/temp"}}},
         json{{"actionType", "PUBLISH"}, {"resources", {prefix + "topic/devices/lamp/admin"}}}});
    http::Response r = ask("lamp", json::object(), infos);
    BOOST_TEST(r.status == 200);
    json results = body_of(r)["authResults"];
    BOOST_REQUIRE(results.size() == 4u);
    // The connection thing is the certificate's exclusive thing; ${iot:ClientId} is the query's.
    BOOST_TEST(results[0]["authDecision"] == "ALLOWED");
    BOOST_TEST(results[0]["allowed"]["policies"][0]["policyName"] == "device");
    BOOST_TEST(results[1]["authDecision"] == "ALLOWED");
    BOOST_TEST(results[2]["authDecision"] == "IMPLICIT_DENY");
    BOOST_TEST(results[3]["authDecision"] == "EXPLICIT_DENY");
    BOOST_TEST(results[3]["denied"]["explicitDeny"]["policies"][0]["policyArn"] == prefix + "policy/device");
    // policyNamesToAdd widens, policyNamesToSkip drops; an explicit deny still wins.
    results = body_of(ask("lamp", json{{"policyNamesToAdd", {"everything"}}}, infos))["authResults"];
    BOOST_TEST(results[2]["authDecision"] == "ALLOWED");
    BOOST_TEST(results[3]["authDecision"] == "EXPLICIT_DENY");
    results = body_of(ask("lamp", json{{"policyNamesToSkip", {"device"}}}, infos))["authResults"];
    BOOST_TEST(results[0]["authDecision"] == "IMPLICIT_DENY");
    // Errors: an unknown certificate or policy is a 404, a Cognito identity or bad authInfos a 400.
    expect(send("POST", "/test-authorization",
                json{{"principal", prefix + "cert/" + std::string(64, 'a')}, {"authInfos", infos}}.dump()),
           404, "ResourceNotFoundException");
    expect(ask("lamp", json{{"policyNamesToAdd", {"ghost"}}}, infos), 404, "ResourceNotFoundException");
    expect(send("POST", "/test-authorization",
                json{{"principal", "us-east-1:0000-cognito"}, {"authInfos", infos}}.dump()),
           400, "InvalidRequestException");
    expect(ask("lamp", json::object(), json::array()), 400, "InvalidRequestException");
}

BOOST_FIXTURE_TEST_CASE(test_authorization_of_a_thing_group_uses_its_and_its_ancestors_policies, RouterFixture) {
    (void)send("POST", "/thing-groups/building");
    (void)send("POST", "/thing-groups/floor", json{{"parentGroupName", "building"}}.dump());
    (void)send("POST", "/policies/everything", json{{"policyDocument", allow_all_policy}}.dump());
    const std::string building = "arn:aws:iot:us-east-1:123456789012:thinggroup/building";
    const std::string floor = "arn:aws:iot:us-east-1:123456789012:thinggroup/floor";
    BOOST_TEST(send("PUT", "/target-policies/everything", json{{"target", building}}.dump()).status == 200);
    const json infos = json::array(
        {json{{"actionType", "SUBSCRIBE"},
              {"resources", {"arn:aws:iot:us-east-1:123456789012:topicfilter/a/#"}}}});
    http::Response r = send("POST", "/test-authorization",
                            json{{"principal", floor}, {"authInfos", infos}}.dump());
    BOOST_TEST(r.status == 200);
    BOOST_TEST(body_of(r)["authResults"][0]["authDecision"] == "ALLOWED");
    expect(send("POST", "/test-authorization",
                json{{"principal", "arn:aws:iot:us-east-1:123456789012:thinggroup/ghost"},
                     {"authInfos", infos}}.dump()),
           404, "ResourceNotFoundException");
    // No principal: only policyNamesToAdd count.
    r = send("POST", "/test-authorization", json{{"authInfos", infos}}.dump());
    BOOST_TEST(body_of(r)["authResults"][0]["authDecision"] == "IMPLICIT_DENY");
    r = send("POST", "/test-authorization",
             json{{"authInfos", infos}, {"policyNamesToAdd", {"everything"}}}.dump());
    BOOST_TEST(body_of(r)["authResults"][0]["authDecision"] == "ALLOWED");
}

BOOST_FIXTURE_TEST_CASE(tags_over_rest, RouterFixture) {
    (void)send("POST", "/policies/p", json{{"policyDocument", allow_all_policy}}.dump());
    const std::string arn = registry.policy_arn("p");
    BOOST_TEST(
        send("POST", "/tags",
             json{{"resourceArn", arn}, {"tags", {{{"Key", "env"}, {"Value", "lab"}}}}}.dump())
            .status == 200);
    json b = body_of(send("GET", "/tags?resourceArn=" + encode(arn)));
    BOOST_TEST(b["tags"] == json::parse(R"([{"Key":"env","Value":"lab"}])"));
    BOOST_TEST(
        send("POST", "/untag", json{{"resourceArn", arn}, {"tagKeys", {"env"}}}.dump()).status ==
        200);
    BOOST_TEST(body_of(send("GET", "/tags?resourceArn=" + encode(arn)))["tags"].empty());
    expect(send("GET", "/tags"), 400, "InvalidRequestException");
}

BOOST_FIXTURE_TEST_CASE(describe_endpoint_over_rest, RouterFixture) {
    BOOST_TEST(body_of(send("GET", "/endpoint?endpointType=iot%3AData-ATS"))["endpointAddress"] ==
               "localhost");
    expect(send("GET", "/endpoint?endpointType=iot%3ANope"), 400, "InvalidRequestException");
}

BOOST_FIXTURE_TEST_CASE(issuing_operations_need_the_host_issuer, RouterFixture) {
    expect(send("POST", "/keys-and-certificate?setAsActive=true"), 503,
           "ServiceUnavailableException");
    FakeIssuer issuer;
    router.set_certificate_issuer(&issuer);
    json b = body_of(send("POST", "/keys-and-certificate?setAsActive=true"));
    const std::string id = b["certificateId"];
    BOOST_TEST(b["keyPair"]["PrivateKey"].get<std::string>().starts_with("-----BEGIN"));
    BOOST_TEST(b["certificatePem"].get<std::string>().starts_with("-----BEGIN CERTIFICATE-----"));
    BOOST_TEST(registry.describe_certificate(id).status == CertificateStatus::active);
    b = body_of(send("POST", "/certificates", R"({"certificateSigningRequest":"csr"})"));
    BOOST_TEST(registry.describe_certificate(b["certificateId"].get<std::string>()).status ==
               CertificateStatus::inactive);
    expect(send("POST", "/certificates", R"({"certificateSigningRequest":"bad"})"), 400,
           "InvalidRequestException");
}

BOOST_FIXTURE_TEST_CASE(authorize_seam_sees_the_operation_and_can_refuse, RouterFixture) {
    std::vector<std::string> seen;
    router.set_authorize(
        [&](const ControlPlaneAuthorizeRequest& r) -> std::optional<http::ApiError> {
            seen.emplace_back(r.operation);
            if (r.operation == "DeleteThing") {
                return http::ApiError{401, "UnauthorizedException", "Access Denied"};
            }
            return std::nullopt;
        });
    (void)send("POST", "/things/t");
    expect(send("DELETE", "/things/t"), 401, "UnauthorizedException");
    BOOST_TEST(seen == (std::vector<std::string>{"CreateThing", "DeleteThing"}));
    BOOST_TEST(registry.find_thing("t") != nullptr);
}

BOOST_FIXTURE_TEST_CASE(store_failure_is_internal_failure_and_changes_nothing, RouterFixture) {
    store.set_fail_writes(true);
    expect(send("POST", "/things/t"), 500, "InternalFailureException");
    store.set_fail_writes(false);
    expect(send("GET", "/things/t"), 404, "ResourceNotFoundException");
}

BOOST_FIXTURE_TEST_CASE(request_ids_are_drawn_from_the_rng, RouterFixture) {
    const auto a = send("GET", "/things");
    const auto b = send("GET", "/things");
    BOOST_TEST(*a.header("x-amzn-RequestId") != *b.header("x-amzn-RequestId"));
    BOOST_TEST(a.header("x-amzn-RequestId")->size() == 36u);
}

BOOST_AUTO_TEST_SUITE_END()
