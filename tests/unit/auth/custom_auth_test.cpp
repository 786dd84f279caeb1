// Custom authorizers (reference §5.4): the registry's authorizer resources, the request's
// authorizer/token/signature, the Lambda event, the validation of the function's answer, and
// PolicyAuthorizer evaluating the returned policies.

#include <memory>
#include <string>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "iotsim/auth/custom_auth.hpp"
#include "iotsim/auth/policy_authorizer.hpp"
#include "iotsim/http/base64.hpp"
#include "iotsim/mqtt/codec.hpp"
#include "iotsim/registry/store.hpp"
#include "registry_harness.hpp"

using namespace registry_test;
using iotsim::auth::CustomAuthGrant;
using iotsim::auth::CustomAuthRequest;
using iotsim::auth::MqttCredentials;
using iotsim::auth::PolicyAuthorizer;
using iotsim::broker::ClientContext;
using iotsim::broker::ConnectDecision;
using iotsim::broker::PeerIdentity;
using iotsim::broker::Transport;

namespace {

const std::string fn_arn = "arn:aws:lambda:us-east-1:123456789012:function:my-auth";
const iotsim::policy::ArnScope scope{.region = "us-east-1", .account = "123456789012"};

/// An RSA 2048 key for token signatures: its public PEM and a signer.
struct SigningKey {
    std::shared_ptr<EVP_PKEY> key;

    SigningKey() : key(EVP_RSA_gen(2048), [](EVP_PKEY* k) { EVP_PKEY_free(k); }) {
        BOOST_REQUIRE(key != nullptr);
    }

    std::string public_pem() const {
        BIO* bio = BIO_new(BIO_s_mem());
        PEM_write_bio_PUBKEY(bio, key.get());
        char* data = nullptr;
        const long n = BIO_get_mem_data(bio, &data);
        std::string out(data, static_cast<std::size_t>(n));
        BIO_free(bio);
        return out;
    }

    /// base64(RSA-SHA256(token)): `echo -n TOKEN | openssl dgst -sha256 -sign key.pem | base64`.
    std::string sign(const std::string& token) const {
        EVP_MD_CTX* ctx = EVP_MD_CTX_new();
        EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.get());
        std::size_t n = 0;
        EVP_DigestSign(ctx, nullptr, &n, reinterpret_cast<const unsigned char*>(token.data()), token.size());
        std::string sig(n, '\0');
        EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &n,
                       reinterpret_cast<const unsigned char*>(token.data()), token.size());
        EVP_MD_CTX_free(ctx);
        sig.resize(n);
        return iotsim::http::base64_encode(sig);
    }
};

const SigningKey& signing_key() {
    static const SigningKey key;
    return key;
}

std::string allowing_response(const std::string& statements, int disconnect = 86400, int refresh = 300) {
    return R"({"isAuthenticated":true,"principalId":"device42","disconnectAfterInSeconds":)" +
           std::to_string(disconnect) + R"(,"refreshAfterInSeconds":)" + std::to_string(refresh) +
           R"(,"policyDocuments":[{"Version":"2012-10-17","Statement":[)" + statements + "]}]}";
}

struct CustomFixture : Fixture {
    AuthorizerRecord signed_authorizer(const std::string& name = "signed") {
        AuthorizerInput input;
        input.name = name;
        input.function_arn = fn_arn;
        input.token_key_name = "MyToken";
        input.token_signing_public_keys = std::map<std::string, std::string>{{"k1", signing_key().public_pem()}};
        return registry.create_authorizer(input, now());
    }
    AuthorizerRecord unsigned_authorizer(const std::string& name = "open") {
        AuthorizerInput input;
        input.name = name;
        input.function_arn = fn_arn;
        input.signing_disabled = true;
        return registry.create_authorizer(input, now());
    }
    static CustomAuthRequest mqtt_request(const std::string& username, const std::string& client_id = "dev1") {
        CustomAuthRequest r;
        r.tls = true;
        r.server_name = "localhost";
        r.mqtt = MqttCredentials{username, std::string("secret"), client_id};
        return r;
    }
    static std::shared_ptr<const CustomAuthGrant> grant(const std::string& body, const AuthorizerRecord& a,
                                                        std::uint64_t serial = 1) {
        auto parsed = iotsim::auth::parse_authorizer_response(body, a, scope, serial);
        BOOST_REQUIRE_MESSAGE(parsed.ok(), (parsed.ok() ? std::string() : parsed.error()));
        return std::move(parsed).value();
    }
};

std::string refusal_of(const iotsim::Result<iotsim::auth::Invocation, iotsim::auth::Refusal>& r) {
    return r.ok() ? std::string("(invoked)") : r.error().reason;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(custom_authorizers, CustomFixture)

// ---- Registry: the authorizer resource -----------------------------------------------------

BOOST_AUTO_TEST_CASE(an_authorizer_is_created_described_listed_and_survives_a_reload) {
    signed_authorizer("a1");
    unsigned_authorizer("a2");
    const AuthorizerRecord& a = registry.describe_authorizer("a1");
    BOOST_TEST(a.function_arn == fn_arn);
    BOOST_TEST(a.token_key_name == "MyToken");
    BOOST_TEST((a.status == AuthorizerStatus::active));
    BOOST_TEST(registry.authorizer_arn("a1") == "arn:aws:iot:us-east-1:123456789012:authorizer/a1");
    ListAuthorizersInput all;
    BOOST_TEST(registry.list_authorizers(all).items.size() == 2U);
    all.ascending = false;
    BOOST_TEST(registry.list_authorizers(all).items.front().name == "a2");
    Registry reloaded{store, rng};
    reloaded.recover();
    BOOST_TEST((reloaded.describe_authorizer("a1") == a));
}

BOOST_AUTO_TEST_CASE(creating_an_authorizer_twice_is_a_resource_already_exists_conflict) {
    signed_authorizer("dup");
    try {
        signed_authorizer("dup");
        BOOST_FAIL("accepted");
    } catch (const RegistryError& e) {
        BOOST_TEST(e.error().type == "ResourceAlreadyExistsException");
    }
}

BOOST_AUTO_TEST_CASE(signing_without_a_token_key_name_or_keys_is_an_invalid_request) {
    AuthorizerInput input;
    input.name = "nokey";
    input.function_arn = fn_arn;
    BOOST_CHECK_THROW(registry.create_authorizer(input, now()), RegistryError);
    input.token_key_name = "T";
    BOOST_CHECK_THROW(registry.create_authorizer(input, now()), RegistryError);
    input.token_signing_public_keys = std::map<std::string, std::string>{{"k", "not a key"}};
    try {
        registry.create_authorizer(input, now());
        BOOST_FAIL("accepted");
    } catch (const RegistryError& e) {
        BOOST_TEST(e.error().type == "InvalidRequestException");
        BOOST_TEST(e.error().message.find("PEM public key") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(bad_names_and_function_arns_are_invalid_requests) {
    AuthorizerInput input;
    input.name = "bad/name";
    input.function_arn = fn_arn;
    input.signing_disabled = true;
    BOOST_CHECK_THROW(registry.create_authorizer(input, now()), RegistryError);
    input.name = "ok";
    input.function_arn = "my-function";
    BOOST_CHECK_THROW(registry.create_authorizer(input, now()), RegistryError);
}

BOOST_AUTO_TEST_CASE(an_active_or_default_authorizer_cannot_be_deleted) {
    unsigned_authorizer("x");
    BOOST_CHECK_THROW(registry.delete_authorizer("x", now()), RegistryError);
    AuthorizerInput update;
    update.name = "x";
    update.status = AuthorizerStatus::inactive;
    registry.update_authorizer(update, now());
    registry.set_default_authorizer("x", now());
    BOOST_CHECK_THROW(registry.delete_authorizer("x", now()), RegistryError);
    registry.clear_default_authorizer(now());
    registry.delete_authorizer("x", now());
    BOOST_TEST(registry.find_authorizer("x") == nullptr);
}

BOOST_AUTO_TEST_CASE(a_second_default_authorizer_must_wait_until_the_first_is_cleared) {
    unsigned_authorizer("one");
    unsigned_authorizer("two");
    registry.set_default_authorizer("one", now());
    registry.set_default_authorizer("one", now());  // the same again is fine
    BOOST_CHECK_THROW(registry.set_default_authorizer("two", now()), RegistryError);
    BOOST_TEST(registry.describe_default_authorizer().name == "one");
    registry.clear_default_authorizer(now());
    BOOST_CHECK_THROW((void)registry.describe_default_authorizer(), RegistryError);
    BOOST_CHECK_THROW(registry.clear_default_authorizer(now()), RegistryError);
}

// ---- Finding the authorizer, the token and its signature -----------------------------------

BOOST_AUTO_TEST_CASE(the_mqtt_username_query_names_the_authorizer_and_carries_the_token) {
    signed_authorizer("signed");
    const std::string token = "allow-me";
    const auto r = iotsim::auth::prepare_invocation(
        registry,
        mqtt_request("alice?x-amz-customauthorizer-name=signed&MyToken=" + token +
                     "&x-amz-customauthorizer-signature=" + signing_key().sign(token)),
        "conn-1");
    BOOST_REQUIRE_MESSAGE(r.ok(), refusal_of(r));
    const auto& event = r.value().event;
    BOOST_TEST(event["token"] == token);
    BOOST_TEST(event["signatureVerified"] == true);
    BOOST_TEST(event["protocols"].dump() == R"(["tls","mqtt"])");
    BOOST_TEST(event["protocolData"]["mqtt"]["password"] == "c2VjcmV0");  // base64("secret")
    BOOST_TEST(event["protocolData"]["mqtt"]["clientId"] == "dev1");
    BOOST_TEST(event["protocolData"]["tls"]["serverName"] == "localhost");
    BOOST_TEST(event["connectionMetadata"]["id"] == "conn-1");
}

BOOST_AUTO_TEST_CASE(a_bad_or_missing_signature_is_refused_without_invoking_the_function) {
    signed_authorizer("signed");
    const auto forged = iotsim::auth::prepare_invocation(
        registry,
        mqtt_request("a?x-amz-customauthorizer-name=signed&MyToken=t1&x-amz-customauthorizer-signature=" +
                     signing_key().sign("another-token")),
        "c");
    BOOST_TEST(!forged.ok());
    BOOST_TEST(refusal_of(forged).find("does not verify") != std::string::npos);
    const auto unsigned_token =
        iotsim::auth::prepare_invocation(registry, mqtt_request("a?x-amz-customauthorizer-name=signed&MyToken=t1"), "c");
    BOOST_TEST(refusal_of(unsigned_token).find("no token signature") != std::string::npos);
    const auto no_token =
        iotsim::auth::prepare_invocation(registry, mqtt_request("a?x-amz-customauthorizer-name=signed"), "c");
    BOOST_TEST(refusal_of(no_token).find("no token (MyToken)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(http_headers_carry_the_name_token_and_signature_case_insensitively) {
    signed_authorizer("signed");
    CustomAuthRequest r;
    r.http = true;
    r.headers = {{"X-Amz-CustomAuthorizer-Name", "signed"},
                 {"mytoken", "tok"},
                 {"x-amz-customauthorizer-signature", signing_key().sign("tok")}};
    const auto prepared = iotsim::auth::prepare_invocation(registry, r, "c");
    BOOST_REQUIRE_MESSAGE(prepared.ok(), refusal_of(prepared));
    BOOST_TEST(prepared.value().event["protocolData"]["http"]["headers"]["mytoken"] == "tok");
}

BOOST_AUTO_TEST_CASE(a_percent_encoded_signature_in_the_query_string_verifies) {
    signed_authorizer("signed");
    std::string sig = signing_key().sign("tok");
    std::string encoded;
    for (const char c : sig) {
        encoded += c == '+' ? "%2B" : c == '/' ? "%2F" : c == '=' ? "%3D" : std::string(1, c);
    }
    CustomAuthRequest r;
    r.http = true;
    r.query = "x-amz-customauthorizer-name=signed&MyToken=tok&x-amz-customauthorizer-signature=" + encoded;
    const auto prepared = iotsim::auth::prepare_invocation(registry, r, "c");
    BOOST_TEST(prepared.ok(), refusal_of(prepared));
    BOOST_TEST(prepared.value().event["protocolData"]["http"]["queryString"].get<std::string>().starts_with("?"));
}

BOOST_AUTO_TEST_CASE(without_a_name_the_default_authorizer_applies_and_without_one_nothing_does) {
    unsigned_authorizer("open");
    BOOST_TEST(refusal_of(iotsim::auth::prepare_invocation(registry, mqtt_request("bob"), "c")).find("no default") !=
               std::string::npos);
    registry.set_default_authorizer("open", now());
    const auto r = iotsim::auth::prepare_invocation(registry, mqtt_request("bob"), "c");
    BOOST_REQUIRE(r.ok());
    BOOST_TEST(r.value().authorizer.name == "open");
    BOOST_TEST(r.value().event["signatureVerified"] == false);
    BOOST_TEST(!r.value().event.contains("token"));
}

BOOST_AUTO_TEST_CASE(an_unknown_or_inactive_authorizer_is_refused) {
    unsigned_authorizer("open");
    BOOST_TEST(refusal_of(iotsim::auth::prepare_invocation(
                   registry, mqtt_request("u?x-amz-customauthorizer-name=ghost"), "c"))
                   .find("does not exist") != std::string::npos);
    AuthorizerInput update;
    update.name = "open";
    update.status = AuthorizerStatus::inactive;
    registry.update_authorizer(update, now());
    BOOST_TEST(refusal_of(iotsim::auth::prepare_invocation(
                   registry, mqtt_request("u?x-amz-customauthorizer-name=open"), "c"))
                   .find("INACTIVE") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bytes_that_are_not_utf8_in_headers_or_token_never_break_the_event) {
    unsigned_authorizer("open");
    CustomAuthRequest r;
    r.http = true;
    r.headers = {{"x-amz-customauthorizer-name", "open"}, {"X-Odd", "\xff\xfe"}};
    r.query = "Token=%FF";
    r.mqtt = MqttCredentials{"u\xc3", std::string("\xff"), "c\x80"};
    const auto prepared = iotsim::auth::prepare_invocation(registry, r, "c");
    BOOST_REQUIRE(prepared.ok());
    const std::string text = iotsim::auth::event_text(prepared.value());
    BOOST_TEST(text.find("X-Odd") != std::string::npos);
    BOOST_TEST(nlohmann::json::accept(text));
}

BOOST_AUTO_TEST_CASE(key_names_outside_the_model_pattern_are_invalid) {
    AuthorizerInput input;
    input.name = "k";
    input.function_arn = fn_arn;
    input.token_key_name = "T";
    input.token_signing_public_keys = std::map<std::string, std::string>{{"bad key!", signing_key().public_pem()}};
    BOOST_CHECK_THROW(registry.create_authorizer(input, now()), RegistryError);
}

BOOST_AUTO_TEST_CASE(split_mqtt_username_keeps_the_user_name_and_the_raw_query) {
    const auto [user, query] = iotsim::auth::split_mqtt_username("alice?a=1&b=%2B");
    BOOST_TEST(user == "alice");
    BOOST_TEST(query == "a=1&b=%2B");
    BOOST_TEST(iotsim::auth::split_mqtt_username("plain").second.empty());
}

// ---- The function's answer -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_valid_answer_becomes_a_grant_with_its_policies_and_time_limits) {
    const AuthorizerRecord a = unsigned_authorizer();
    const auto g = grant(allowing_response(R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*"})", 3600, 600), a);
    BOOST_TEST(g->authenticated);
    BOOST_TEST(g->principal_id == "device42");
    BOOST_TEST(g->disconnect_after_s == 3600U);
    BOOST_TEST(g->refresh_after_s == 600U);
    BOOST_TEST(g->policies.size() == 1U);
    BOOST_TEST(g->authorizer == "open");
}

BOOST_AUTO_TEST_CASE(policy_documents_may_be_json_strings) {
    const AuthorizerRecord a = unsigned_authorizer();
    const std::string body =
        R"({"isAuthenticated":true,"principalId":"p1","disconnectAfterInSeconds":300,"refreshAfterInSeconds":300,)"
        R"("policyDocuments":["{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iot:*\",\"Resource\":\"*\"}]}"]})";
    BOOST_TEST(grant(body, a)->policies.size() == 1U);
}

BOOST_AUTO_TEST_CASE(isauthenticated_false_needs_nothing_else_and_refuses) {
    const AuthorizerRecord a = unsigned_authorizer();
    const auto g = grant(R"({"isAuthenticated":false})", a);
    BOOST_TEST(!g->authenticated);
}

BOOST_AUTO_TEST_CASE(answers_outside_aws_response_format_are_invalid) {
    const AuthorizerRecord a = unsigned_authorizer();
    const auto invalid = [&](const std::string& body, const std::string& why) {
        const auto r = iotsim::auth::parse_authorizer_response(body, a, scope, 1);
        BOOST_TEST_CONTEXT(body) {
            BOOST_TEST(!r.ok());
            if (!r.ok()) {
                BOOST_TEST(r.error().find(why) != std::string::npos, r.error());
            }
        }
    };
    const std::string any = R"({"Effect":"Allow","Action":"iot:*","Resource":"*"})";
    invalid("not json", "not a JSON object");
    invalid(R"({"isAuthenticated":"yes"})", "isAuthenticated");
    invalid(R"({"isAuthenticated":true,"principalId":"has space","disconnectAfterInSeconds":300,"refreshAfterInSeconds":300,"policyDocuments":[]})",
            "principalId");
    invalid(allowing_response(any, 299), "disconnectAfterInSeconds");
    invalid(allowing_response(any, 86401), "disconnectAfterInSeconds");
    invalid(allowing_response(any, 300, 100), "refreshAfterInSeconds");
    invalid(R"({"isAuthenticated":true,"principalId":"p","disconnectAfterInSeconds":300,"refreshAfterInSeconds":300})",
            "policyDocuments");
    std::string eleven = R"({"isAuthenticated":true,"principalId":"p","disconnectAfterInSeconds":300,"refreshAfterInSeconds":300,"policyDocuments":[)";
    for (int i = 0; i < 11; ++i) {
        eleven += (i ? "," : "") + std::string(R"({"Version":"2012-10-17","Statement":[)") + any + "]}";
    }
    invalid(eleven + "]}", "at most 10");
    invalid(R"({"isAuthenticated":true,"principalId":"p","disconnectAfterInSeconds":300,"refreshAfterInSeconds":300,"policyDocuments":[{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"iot:*","Resource":"*"}]}]})",
            "policyDocuments[0]");
    const std::string huge = R"({"Effect":"Allow","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-1:123456789012:topic/)" +
                             std::string(2100, 'x') + R"("})";
    invalid(allowing_response(huge), "policyDocuments[0]");
}

// ---- PolicyAuthorizer with a grant --------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_granted_connection_is_authorized_by_the_returned_policies_with_its_client_id) {
    const AuthorizerRecord a = unsigned_authorizer();
    PolicyAuthorizer authorizer{registry};
    PeerIdentity peer;
    peer.transport = Transport::tls;
    peer.address = "192.0.2.1";
    peer.custom = grant(allowing_response(
                            R"({"Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:us-east-1:123456789012:client/${iot:ClientId}"},)"
                            R"({"Effect":"Allow","Action":["iot:Publish","iot:Receive"],"Resource":"arn:aws:iot:us-east-1:123456789012:topic/dev/${iot:ClientId}/*"},)"
                            R"({"Effect":"Deny","Action":"iot:Publish","Resource":"arn:aws:iot:us-east-1:123456789012:topic/dev/*/secret"})"),
                        a);
    mqtt::Connect connect;
    connect.client_id = "dev1";
    BOOST_TEST((authorizer.authorize_connect(peer, connect) == ConnectDecision::allow));
    const ClientContext client{peer, "dev1"};
    BOOST_TEST(authorizer.authorize_publish(client, "dev/dev1/temp", false));
    BOOST_TEST(!authorizer.authorize_publish(client, "dev/dev2/temp", false));
    BOOST_TEST(!authorizer.authorize_publish(client, "dev/dev1/secret", false));
    BOOST_TEST(!authorizer.authorize_publish(client, "dev/dev1/temp", true));  // no iot:RetainPublish
    BOOST_TEST(authorizer.authorize_receive(client, "dev/dev1/cmd"));
    BOOST_TEST(!authorizer.authorize_subscribe(client, "dev/dev1/#"));
}

BOOST_AUTO_TEST_CASE(a_refused_grant_makes_connect_a_bad_user_name_or_password) {
    const AuthorizerRecord a = unsigned_authorizer();
    PolicyAuthorizer authorizer{registry};
    PeerIdentity peer;
    peer.transport = Transport::tls;
    peer.custom = iotsim::auth::refused_grant("open", "no", 7);
    mqtt::Connect connect;
    connect.client_id = "dev1";
    BOOST_TEST((authorizer.authorize_connect(peer, connect) == ConnectDecision::bad_credentials));
    BOOST_TEST(!authorizer.authorize_publish(ClientContext{peer, "dev1"}, "t", false));
}

BOOST_AUTO_TEST_CASE(a_client_id_outside_the_returned_policy_is_not_authorized_to_connect) {
    const AuthorizerRecord a = unsigned_authorizer();
    PolicyAuthorizer authorizer{registry};
    PeerIdentity peer;
    peer.transport = Transport::websocket;
    peer.custom = grant(allowing_response(
                            R"({"Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:us-east-1:123456789012:client/sensor-*"})"),
                        a);
    mqtt::Connect connect;
    connect.client_id = "other";
    BOOST_TEST((authorizer.authorize_connect(peer, connect) == ConnectDecision::not_authorized));
    connect.client_id = "sensor-9";
    BOOST_TEST((authorizer.authorize_connect(peer, connect) == ConnectDecision::allow));
}

BOOST_AUTO_TEST_CASE(peek_connect_reads_the_credentials_of_a_complete_connect_only) {
    mqtt::Connect c;
    c.version = mqtt::Version::v311;
    c.client_id = "dev1";
    c.username = "u?x-amz-customauthorizer-name=a";
    c.password = std::string("p\0w", 3);
    std::string bytes;
    mqtt::encode(c, mqtt::Version::v311, bytes);
    BOOST_TEST((iotsim::auth::peek_connect(bytes.substr(0, 5), 1000).status ==
                iotsim::auth::ConnectPeek::Status::incomplete));
    const auto peek = iotsim::auth::peek_connect(bytes + "trailing", 1000);
    BOOST_REQUIRE((peek.status == iotsim::auth::ConnectPeek::Status::connect));
    BOOST_TEST(*peek.connect->username == *c.username);
    BOOST_TEST(*peek.connect->password == *c.password);
    BOOST_TEST((iotsim::auth::peek_connect(std::string("\x30\x02\x00\x00", 4), 1000).status ==
                iotsim::auth::ConnectPeek::Status::not_connect));
}

BOOST_AUTO_TEST_SUITE_END()
