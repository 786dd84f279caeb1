// PolicyAuthorizer: X.509 connections against IoT policies read from the Registry (reference
// §1.10, §4.4, §5.1); the plain port's local convenience.

#include <string>

#include "iotsim/auth/certificate_fields.hpp"
#include "iotsim/auth/policy_authorizer.hpp"
#include "registry_harness.hpp"

using namespace registry_test;
using iotsim::auth::PolicyAuthorizer;
using iotsim::auth::PolicyAuthorizerOptions;
using iotsim::broker::ClientContext;
using iotsim::broker::ConnectDecision;
using iotsim::broker::PeerIdentity;
using iotsim::broker::Transport;

namespace {

const std::string arn = "arn:aws:iot:us-east-1:123456789012:";

std::string doc(const std::string& statements) {
    return R"({"Version":"2012-10-17","Statement":[)" + statements + "]}";
}

std::string allow(const std::string& action, const std::string& resource) {
    return R"({"Effect":"Allow","Action":")" + action + R"(","Resource":")" + resource + R"("})";
}

std::string deny(const std::string& action, const std::string& resource) {
    return R"({"Effect":"Deny","Action":")" + action + R"(","Resource":")" + resource + R"("})";
}

mqtt::Will will_on(const std::string& topic) {
    mqtt::Will w;
    w.topic = topic;
    w.payload = "bye";
    return w;
}

mqtt::Connect connect_of(const std::string& client_id, mqtt::Version version = mqtt::Version::v311) {
    mqtt::Connect c;
    c.version = version;
    c.client_id = client_id;
    return c;
}

struct AuthFixture : Fixture {
    PolicyAuthorizer authorizer{registry};
    int policies = 0;

    PeerIdentity tls_peer(const std::string& certificate_id) const {
        PeerIdentity p;
        p.transport = Transport::tls;
        p.address = "192.0.2.7";
        p.port = 50000;
        p.certificate_id = certificate_id;
        p.principal = certificate_id;
        return p;
    }

    /// An ACTIVE certificate with a new policy `document` attached; returns its id.
    std::string device(const std::string& document, const std::string& cn = "device") {
        const std::string id = certificate(cn).id;
        attach(document, id);
        return id;
    }

    void attach(const std::string& document, const std::string& certificate_id) {
        const std::string name = "p" + std::to_string(++policies);
        registry.create_policy(name, document, {}, now());
        registry.attach_policy(name, registry.certificate_arn(certificate_id), now());
        authorizer.invalidate();
    }

    bool connects(const std::string& id, const std::string& client_id) {
        return authorizer.authorize_connect(tls_peer(id), connect_of(client_id)) == ConnectDecision::allow;
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(policy_authorizer)

BOOST_FIXTURE_TEST_CASE(plain_port_without_certificate_is_allowed_everything, AuthFixture) {
    PeerIdentity plain;
    plain.transport = Transport::tcp;
    plain.principal = "iotsim-local";
    BOOST_TEST((authorizer.authorize_connect(plain, connect_of("x")) == ConnectDecision::allow));
    const ClientContext client{plain, "x"};
    BOOST_TEST(authorizer.authorize_publish(client, "any/topic", true));
    BOOST_TEST(authorizer.authorize_subscribe(client, "#"));
    BOOST_TEST(authorizer.authorize_receive(client, "any/topic"));
    BOOST_TEST(authorizer.evaluations() == 0u);
}

BOOST_FIXTURE_TEST_CASE(plain_port_can_be_closed_and_tls_without_certificate_is_refused, AuthFixture) {
    PolicyAuthorizer strict(registry, PolicyAuthorizerOptions{.allow_unauthenticated_local = false});
    PeerIdentity plain;
    BOOST_TEST((strict.authorize_connect(plain, connect_of("x")) == ConnectDecision::not_authorized));
    PeerIdentity tls;
    tls.transport = Transport::tls;
    BOOST_TEST((authorizer.authorize_connect(tls, connect_of("x")) == ConnectDecision::not_authorized));
    BOOST_TEST(!authorizer.authorize_publish(ClientContext{tls, "x"}, "t", false));
}

BOOST_FIXTURE_TEST_CASE(a_plain_port_policy_authorizes_local_clients_instead_of_allowing_everything, AuthFixture) {
    PolicyAuthorizerOptions options;
    options.local_policy = "local";
    PolicyAuthorizer local(registry, options);
    PeerIdentity plain;
    plain.address = "127.0.0.1";
    // Until the policy exists, nothing is allowed.
    BOOST_TEST((local.authorize_connect(plain, connect_of("dev-1")) == ConnectDecision::not_authorized));
    registry.create_policy("local",
                           doc(allow("iot:Connect", arn + "client/dev-*") + "," +
                               allow("iot:Publish", arn + "topic/dev/${iot:ClientId}/*")),
                           {}, now());
    local.invalidate();
    BOOST_TEST((local.authorize_connect(plain, connect_of("dev-1")) == ConnectDecision::allow));
    BOOST_TEST((local.authorize_connect(plain, connect_of("other")) == ConnectDecision::not_authorized));
    BOOST_TEST(local.authorize_publish(ClientContext{plain, "dev-1"}, "dev/dev-1/t", false));
    BOOST_TEST(!local.authorize_publish(ClientContext{plain, "dev-1"}, "dev/dev-2/t", false));
    BOOST_TEST(!local.authorize_subscribe(ClientContext{plain, "dev-1"}, "#"));
}

BOOST_FIXTURE_TEST_CASE(unknown_certificate_is_refused, AuthFixture) {
    BOOST_TEST(!connects(std::string(64, 'a'), "client"));
}

BOOST_FIXTURE_TEST_CASE(only_active_certificates_connect, AuthFixture) {
    const std::string id = device(allow_all_policy);
    BOOST_TEST(connects(id, "c"));
    registry.update_certificate(id, CertificateStatus::inactive, now());
    BOOST_TEST(connects(id, "c"));  // cached until the host says the registry changed
    authorizer.invalidate();
    BOOST_TEST(!connects(id, "c"));
    // A connected client whose certificate left ACTIVE is denied everything from then on.
    const PeerIdentity peer = tls_peer(id);
    BOOST_TEST(!authorizer.authorize_publish(ClientContext{peer, "c"}, "t", false));
    BOOST_TEST(!authorizer.authorize_receive(ClientContext{peer, "c"}, "t"));
    registry.update_certificate(id, CertificateStatus::active, now());
    authorizer.invalidate();
    BOOST_TEST(connects(id, "c"));
    registry.update_certificate(id, CertificateStatus::revoked, now());
    authorizer.invalidate();
    BOOST_TEST(!connects(id, "c"));
}

BOOST_FIXTURE_TEST_CASE(pending_activation_certificate_is_refused, AuthFixture) {
    // Just-in-time registration leaves a certificate PENDING_ACTIVATION: it cannot connect.
    const TestCert ca = make_cert("JITR CA", nullptr, true);
    RegisterCaCertificateInput input;
    input.ca_certificate_pem = ca.pem;
    input.verification_certificate_pem = make_cert(registry.get_registration_code(now()), &ca).pem;
    input.set_as_active = true;
    input.allow_auto_registration = true;
    registry.register_ca_certificate(input, now());
    const TestCert device = make_cert("jitr-device", &ca);
    const CertificateRecord* pending = registry.auto_register_certificate(device.pem, now());
    BOOST_REQUIRE(pending != nullptr);
    BOOST_TEST(pending->status == CertificateStatus::pending_activation);
    attach(allow_all_policy, pending->id);
    BOOST_TEST(!connects(pending->id, "c"));
}

BOOST_FIXTURE_TEST_CASE(active_certificate_without_policies_is_implicitly_denied, AuthFixture) {
    const std::string id = certificate("bare").id;
    BOOST_TEST(!connects(id, "c"));
}

BOOST_FIXTURE_TEST_CASE(connect_is_checked_on_the_client_arn_with_client_id_variable, AuthFixture) {
    const std::string id = device(connect_policy);  // client/${iot:ClientId}: any client id
    BOOST_TEST(connects(id, "anything"));
    const std::string id2 = device(doc(allow("iot:Connect", arn + "client/basicPubSub")), "d2");
    BOOST_TEST(connects(id2, "basicPubSub"));
    BOOST_TEST(!connects(id2, "basicpubsub"));  // client ids are case-sensitive
}

BOOST_FIXTURE_TEST_CASE(explicit_deny_wins_across_policies, AuthFixture) {
    const std::string id = device(allow_all_policy);
    attach(doc(deny("iot:Connect", arn + "client/blocked-*")), id);
    BOOST_TEST(connects(id, "fine"));
    BOOST_TEST(!connects(id, "blocked-1"));
}

BOOST_FIXTURE_TEST_CASE(publish_retain_subscribe_and_receive_use_their_actions_and_arns, AuthFixture) {
    const std::string id = device(doc(allow("iot:Connect", "*") + "," +
                                      allow("iot:Publish", arn + "topic/sdk/test/*") + "," +
                                      allow("iot:RetainPublish", arn + "topic/sdk/test/retained") + "," +
                                      allow("iot:Subscribe", arn + "topicfilter/sdk/test/+") + "," +
                                      allow("iot:Receive", arn + "topic/sdk/test/in")));
    const PeerIdentity peer = tls_peer(id);
    const ClientContext client{peer, "c"};
    BOOST_TEST(authorizer.authorize_publish(client, "sdk/test/python", false));
    BOOST_TEST(!authorizer.authorize_publish(client, "other/topic", false));
    BOOST_TEST(!authorizer.authorize_publish(client, "sdk/test/python", true));  // no RetainPublish
    BOOST_TEST(authorizer.authorize_publish(client, "sdk/test/retained", true));
    BOOST_TEST(authorizer.authorize_subscribe(client, "sdk/test/+"));  // wildcards are literal
    BOOST_TEST(!authorizer.authorize_subscribe(client, "sdk/test/python"));
    BOOST_TEST(!authorizer.authorize_subscribe(client, "sdk/test/#"));
    BOOST_TEST(authorizer.authorize_receive(client, "sdk/test/in"));
    BOOST_TEST(!authorizer.authorize_receive(client, "sdk/test/python"));
}

BOOST_FIXTURE_TEST_CASE(will_needs_publish_on_its_topic_and_the_last_will_attribute, AuthFixture) {
    const std::string id = device(doc(allow("iot:Connect", "*") + "," + allow("iot:Publish", arn + "topic/will/ok")));
    mqtt::Connect c = connect_of("w");
    c.will = will_on("will/ok");
    BOOST_TEST((authorizer.authorize_connect(tls_peer(id), c) == ConnectDecision::allow));
    c.will->topic = "will/other";
    BOOST_TEST((authorizer.authorize_connect(tls_peer(id), c) == ConnectDecision::not_authorized));
    c.will->topic = "will/ok";
    c.will->retain = true;  // needs iot:RetainPublish too
    BOOST_TEST((authorizer.authorize_connect(tls_peer(id), c) == ConnectDecision::not_authorized));
}

BOOST_FIXTURE_TEST_CASE(connect_attributes_condition_limits_persistent_sessions_and_wills, AuthFixture) {
    const std::string id = device(doc(
        R"({"Effect":"Allow","Action":["iot:Connect","iot:Publish"],"Resource":"*",)"
        R"("Condition":{"ForAllValues:StringEquals":{"iot:ConnectAttributes":["PersistentConnect"]}}})"));
    mqtt::Connect clean = connect_of("a");
    BOOST_TEST((authorizer.authorize_connect(tls_peer(id), clean) == ConnectDecision::allow));
    mqtt::Connect persistent = connect_of("a");
    persistent.clean_start = false;
    BOOST_TEST((authorizer.authorize_connect(tls_peer(id), persistent) == ConnectDecision::allow));
    mqtt::Connect v5 = connect_of("a", mqtt::Version::v5);
    v5.properties.session_expiry_interval = 3600;
    BOOST_TEST((authorizer.authorize_connect(tls_peer(id), v5) == ConnectDecision::allow));
    mqtt::Connect with_will = connect_of("a");
    with_will.will = will_on("w");
    BOOST_TEST((authorizer.authorize_connect(tls_peer(id), with_will) == ConnectDecision::not_authorized));
}

BOOST_FIXTURE_TEST_CASE(thing_variables_bind_the_attached_thing_named_like_the_client, AuthFixture) {
    thing("lamp", {{"room", "kitchen"}});
    const std::string id = device(doc(
        allow("iot:Connect", arn + "client/${iot:Connection.Thing.ThingName}") + "," +
        allow("iot:Publish", arn + "topic/${iot:Connection.Thing.Attributes[room]}/*")));
    BOOST_TEST(!connects(id, "lamp"));  // not attached yet
    registry.attach_thing_principal("lamp", registry.certificate_arn(id), ThingPrincipalType::non_exclusive, now());
    authorizer.invalidate();
    BOOST_TEST(connects(id, "lamp"));
    BOOST_TEST(!connects(id, "other"));
    const PeerIdentity peer = tls_peer(id);
    BOOST_TEST(authorizer.authorize_publish(ClientContext{peer, "lamp"}, "kitchen/temp", false));
    BOOST_TEST(!authorizer.authorize_publish(ClientContext{peer, "lamp"}, "garage/temp", false));
}

BOOST_FIXTURE_TEST_CASE(exclusive_thing_is_bound_whatever_the_client_id, AuthFixture) {
    thing("pump");
    const std::string id = device(doc(allow("iot:Publish", arn + "topic/${iot:Connection.Thing.ThingName}/*") +
                                      "," + allow("iot:Connect", "*")));
    registry.attach_thing_principal("pump", registry.certificate_arn(id), ThingPrincipalType::exclusive, now());
    authorizer.invalidate();
    const PeerIdentity peer = tls_peer(id);
    BOOST_TEST(authorizer.authorize_publish(ClientContext{peer, "any-client"}, "pump/state", false));
}

BOOST_FIXTURE_TEST_CASE(is_attached_condition_and_thing_group_policies_apply, AuthFixture) {
    thing("sensor");
    group("floor1");
    registry.add_thing_to_thing_group("floor1", "sensor", now());
    const std::string id = certificate("sensor").id;
    registry.attach_thing_principal("sensor", registry.certificate_arn(id), ThingPrincipalType::non_exclusive, now());
    registry.create_policy("group-policy",
                           doc(R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*",)"
                               R"("Condition":{"Bool":{"iot:Connection.Thing.IsAttached":"true"}}})"),
                           {}, now());
    registry.attach_policy("group-policy", registry.thing_group_arn("floor1"), now());
    authorizer.invalidate();
    BOOST_TEST(connects(id, "sensor"));
    BOOST_TEST(!connects(id, "not-the-thing"));
}

BOOST_FIXTURE_TEST_CASE(certificate_variables_come_from_the_registered_pem, AuthFixture) {
    const std::string id = device(doc(allow("iot:Connect", arn + "client/${iot:Certificate.Subject.CommonName}") +
                                      "," + R"({"Effect":"Allow","Action":"iot:Publish","Resource":"*",)"
                                            R"("Condition":{"StringEquals":{"iot:CertificateId":")" +
                                      std::string("${iot:CertificateId}") + R"("}}})"),
                                  "device-42");
    BOOST_TEST(connects(id, "device-42"));
    BOOST_TEST(!connects(id, "device-43"));
    const PeerIdentity peer = tls_peer(id);
    BOOST_TEST(authorizer.authorize_publish(ClientContext{peer, "device-42"}, "t", false));
}

BOOST_FIXTURE_TEST_CASE(source_ip_condition_uses_the_peer_address, AuthFixture) {
    const std::string id = device(doc(R"({"Effect":"Allow","Action":"iot:Connect","Resource":"*",)"
                                      R"("Condition":{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}})"));
    BOOST_TEST(connects(id, "c"));
    PeerIdentity far = tls_peer(id);
    far.address = "198.51.100.1";
    BOOST_TEST((authorizer.authorize_connect(far, connect_of("c")) == ConnectDecision::not_authorized));
}

BOOST_FIXTURE_TEST_CASE(new_default_version_applies_after_invalidate, AuthFixture) {
    const std::string id = certificate("v").id;
    registry.create_policy("versioned", doc(allow("iot:Connect", arn + "client/one")), {}, now());
    registry.attach_policy("versioned", registry.certificate_arn(id), now());
    authorizer.invalidate();
    BOOST_TEST(connects(id, "one"));
    registry.create_policy_version("versioned", doc(allow("iot:Connect", arn + "client/two")), true, now());
    authorizer.invalidate();
    BOOST_TEST(!connects(id, "one"));
    BOOST_TEST(connects(id, "two"));
    registry.detach_policy("versioned", registry.certificate_arn(id), now());
    authorizer.invalidate();
    BOOST_TEST(!connects(id, "two"));
}

BOOST_AUTO_TEST_CASE(certificate_fields_name_subject_issuer_serial_and_available_keys) {
    const TestCert ca = make_cert("Test CA", nullptr, true);
    const TestCert leaf = make_cert("leaf-device", &ca, false, epoch_s - 10, epoch_s + 10, 4242);
    const auto fields = iotsim::auth::certificate_fields(leaf.pem);
    BOOST_TEST(fields.at("Subject.CommonName") == std::vector<std::string>{"leaf-device"});
    BOOST_TEST(fields.at("issuer.commonname") == std::vector<std::string>{"Test CA"});  // case-insensitive
    BOOST_TEST(fields.at("SerialNumber") == std::vector<std::string>{"4242"});
    const auto& keys = fields.at("AvailableKeys");
    BOOST_TEST((std::find(keys.begin(), keys.end(), "Subject.CommonName") != keys.end()));
    BOOST_TEST(iotsim::auth::certificate_fields("not a pem").empty());
}

BOOST_AUTO_TEST_SUITE_END()
