// Identity in the simulator: devices with X.509 certificates made from the seed, TLS modelled at
// the identity level (validity against the broker's wall clock), the registry and the IoT
// policies deciding CONNECT/PUBLISH/SUBSCRIBE/RECEIVE through the server's PolicyAuthorizer,
// registry faults (revocation, policy detachment), and the policy_denied_delivery check.

#include <algorithm>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "iotsim/registry/certificate.hpp"
#include "iotsim/sim/policy_check.hpp"
#include "sim_fixture.hpp"

using namespace iotsim;
using namespace iotsim::test;
using registry::CertificateStatus;

namespace {

constexpr const char* arn = "arn:aws:iot:us-east-1:123456789012:";

/// A policy like the AWS quick-connect one, for any client id: connect; publish and receive on
/// `allowed/*`; subscribe to `allowed/*` and (to test receive on its own) `other/#`.
std::string narrow_policy() {
    const std::string a = arn;
    return R"({"Version":"2012-10-17","Statement":[)"
           R"({"Effect":"Allow","Action":"iot:Connect","Resource":")" + a + R"(client/*"},)"
           R"({"Effect":"Allow","Action":["iot:Publish","iot:Receive"],"Resource":")" + a + R"(topic/allowed/*"},)"
           R"({"Effect":"Allow","Action":"iot:Subscribe","Resource":[")" + a + R"(topicfilter/allowed/*",")" + a +
           R"(topicfilter/other/#"]}]})";
}

sim::CertificateSpec certificate(std::string name, std::vector<std::string> policies = {"narrow"}) {
    sim::CertificateSpec c;
    c.name = std::move(name);
    c.policies = std::move(policies);
    return c;
}

sim::SimulationOptions options_with(std::uint64_t seed, std::vector<sim::CertificateSpec> certificates) {
    sim::SimulationOptions o;
    o.seed = seed;
    o.keep_trace = true;
    o.registry.policies = {{"narrow", narrow_policy()}};
    o.registry.certificates = std::move(certificates);
    return o;
}

sim::DeviceSpec device_with(std::string name, std::string cert, mqtt::Version v = mqtt::Version::v311) {
    auto d = device(std::move(name), v);
    d.certificate = std::move(cert);
    d.client.backoff.initial = seconds(1);
    d.client.backoff.max = seconds(10);
    return d;
}

std::size_t count_topic_prefix(const std::vector<std::pair<std::string, std::string>>& got, const std::string& prefix) {
    return static_cast<std::size_t>(std::count_if(got.begin(), got.end(), [&](const auto& m) {
        return m.first.starts_with(prefix);
    }));
}

/// Trace records of `kind` whose detail contains `text`.
std::size_t records_with(const sim::Simulation& s, sim::TraceKind kind, const std::string& text,
                         const std::string& node = "") {
    std::size_t n = 0;
    for (const auto& r : s.trace().records()) {
        if (r.kind == kind && (node.empty() || r.node == node) && r.detail.find(text) != std::string::npos) {
            ++n;
        }
    }
    return n;
}

std::filesystem::path scenario_path(const char* name) {
    return std::filesystem::path(IOTSIM_SOURCE_DIR) / "sim" / "scenarios" / name;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(scenario_certificates)

BOOST_AUTO_TEST_CASE(a_device_with_an_active_certificate_and_an_allowing_policy_connects_and_publishes) {
    // Goal: the happy path of X.509 identity: a registered ACTIVE certificate whose policy
    // allows the client id and the topic connects, publishes and receives its own messages.
    const auto seed = test_seed(1);
    sim::Simulation s(options_with(seed, {certificate("dev-cert")}));
    auto dev = device_with("dev", "dev-cert");
    dev.subscribe = {{"allowed/t", {mqtt::QoS::at_least_once}}};
    dev.publish = plan("allowed/t", seconds(1), mqtt::QoS::at_least_once);
    s.add_device(dev);
    s.run_until(Instant{seconds(30)});
    const auto id = s.certificate_id("dev-cert");
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_REQUIRE(id.has_value());
        BOOST_TEST(id->size() == 64U);
        const registry::CertificateRecord* record = s.registry().find_certificate(*id);
        BOOST_REQUIRE(record != nullptr);
        BOOST_TEST((record->status == CertificateStatus::active));
        BOOST_TEST(s.registry().policies_for_principal(*id).size() == 1U);
        const auto st = *s.device("dev");
        BOOST_TEST(st.connected);
        BOOST_TEST(st.connects == 1U);
        BOOST_TEST(st.connects_refused == 0U);
        BOOST_TEST(st.tls_failures == 0U);
        BOOST_TEST(st.acked >= 25U);
        BOOST_TEST(st.dropped == 0U);
        BOOST_TEST(s.received("dev").size() >= 25U);
        // The broker saw the certificate id as the principal (lifecycle principalIdentifier).
        BOOST_TEST(records_with(s, sim::TraceKind::broker_event, "connected dev") >= 1U);
    }
    check_no_violations(s, seed);
}

BOOST_AUTO_TEST_CASE(the_certificate_id_is_the_sha256_of_the_der_and_the_same_seed_gives_the_same_certificate) {
    // Goal: certificates are real X.509 records made from the seed: same seed, same bytes.
    auto id_for = [](std::uint64_t seed, const std::string& name) {
        sim::Simulation s(options_with(seed, {certificate("a"), certificate("b")}));
        const auto id = s.certificate_id(name);
        BOOST_REQUIRE(id.has_value());
        const auto* record = s.registry().find_certificate(*id);
        BOOST_REQUIRE(record != nullptr);
        const auto facts = registry::parse_certificate(record->pem);
        BOOST_REQUIRE(static_cast<bool>(facts));
        BOOST_TEST(facts.value().id == *id);
        BOOST_TEST(facts.value().subject_common_name == name);
        BOOST_TEST(record->pem.find("BEGIN CERTIFICATE") != std::string::npos);
        return *id;
    };
    BOOST_TEST(id_for(7, "a") == id_for(7, "a"));
    BOOST_TEST(id_for(7, "a") != id_for(8, "a"));
    BOOST_TEST(id_for(7, "a") != id_for(7, "b"));
    // Named sub-streams: a certificate's bytes do not depend on the others.
    sim::Simulation alone(options_with(7, {certificate("b")}));
    BOOST_TEST(*alone.certificate_id("b") == id_for(7, "b"));
}

BOOST_AUTO_TEST_CASE(a_revoked_certificate_is_disconnected_and_then_refused) {
    // Goal: UpdateCertificate REVOKED disconnects the device at once (AUTH_ERROR) and every
    // reconnect is refused with a connect_failed lifecycle event, on both protocol versions;
    // a device with another certificate is not affected.
    for (const auto version : {mqtt::Version::v5, mqtt::Version::v311}) {
        const auto seed = test_seed(2);
        sim::Simulation s(options_with(seed, {certificate("dev-cert"), certificate("other-cert")}));
        auto dev = device_with("dev", "dev-cert", version);
        dev.publish = plan("allowed/dev", seconds(2), mqtt::QoS::at_least_once);
        s.add_device(dev);
        auto other = device_with("other", "other-cert");
        other.publish = plan("allowed/other", seconds(2), mqtt::QoS::at_least_once);
        s.add_device(other);
        auto watch = device("watch", mqtt::Version::v5);  // no certificate: allowed everything
        watch.subscribe = {{"$aws/events/presence/#", {mqtt::QoS::at_least_once}}};
        s.add_device(watch);
        s.add_registry_fault({sim::RegistryFault::Kind::update_certificate, Instant{seconds(20)}, "dev-cert",
                              CertificateStatus::revoked, ""});
        s.run_until(Instant{seconds(19)});
        BOOST_TEST_CONTEXT(repro(seed) << " v" << (version == mqtt::Version::v5 ? 5 : 4)) {
            BOOST_TEST(s.device("dev")->connected);
        }
        s.run_until(Instant{minutes(2)});
        const auto st = *s.device("dev");
        const auto got = s.received("watch");
        std::size_t auth_error = 0;
        for (const auto& [topic, payload] : got) {
            if (topic == "$aws/events/presence/disconnected/dev" &&
                nlohmann::json::parse(payload).value("disconnectReason", "") == "AUTH_ERROR") {
                ++auth_error;
            }
        }
        BOOST_TEST_CONTEXT(repro(seed) << " v" << (version == mqtt::Version::v5 ? 5 : 4)) {
            BOOST_TEST(!st.connected);
            BOOST_TEST(st.connects == 1U);
            BOOST_TEST(st.revocations == 1U);
            BOOST_TEST(st.connects_refused >= 3U);  // backing off, retrying, refused each time
            BOOST_TEST(auth_error == 1U);
            // One connect_failed event per refusal (the last may still be on its way).
            const auto failed_events = count_topic_prefix(got, "$aws/events/presence/connect_failed/dev");
            BOOST_TEST(failed_events <= st.connects_refused);
            BOOST_TEST(failed_events + 1 >= st.connects_refused);
            BOOST_TEST(records_with(s, sim::TraceKind::certificate_revoked, "certificate=dev-cert") == 1U);
            BOOST_TEST(records_with(s, sim::TraceKind::fault, "update_certificate dev-cert REVOKED") == 1U);
            const auto o = *s.device("other");
            BOOST_TEST(o.connected);
            BOOST_TEST(o.connects == 1U);
            BOOST_TEST(o.revocations == 0U);
            BOOST_TEST(o.acked >= 55U);
        }
        check_no_violations(s, seed);
    }
}

BOOST_AUTO_TEST_CASE(an_expired_certificate_is_accepted_before_not_after_and_refused_once_virtual_time_passes_it) {
    // Goal: certificate expiry under virtual time. TLS checks validity at the handshake: the
    // device connects before notAfter and keeps its connection past it; after a crash and
    // reboot past notAfter every handshake fails, and the device keeps backing off.
    const auto seed = test_seed(3);
    auto cert = certificate("short-cert");
    cert.not_after = seconds(60);
    sim::Simulation s(options_with(seed, {cert}));
    auto dev = device_with("dev", "short-cert");
    dev.publish = plan("allowed/dev", seconds(5), mqtt::QoS::at_least_once);
    s.add_device(dev);
    s.add_fault({sim::FaultKind::device_crash, Instant{seconds(90)}, {"dev"}, seconds(2), {}, {}, 0});
    s.run_until(Instant{seconds(89)});
    BOOST_TEST_CONTEXT(repro(seed)) {
        const auto st = *s.device("dev");
        BOOST_TEST(st.connected);  // past notAfter, on the connection made before it
        BOOST_TEST(st.connects == 1U);
        BOOST_TEST(st.tls_failures == 0U);
    }
    s.run_until(Instant{minutes(3)});
    BOOST_TEST_CONTEXT(repro(seed)) {
        const auto st = *s.device("dev");
        BOOST_TEST(!st.connected);
        BOOST_TEST(st.connects == 1U);
        BOOST_TEST(st.tls_failures >= 3U);
        BOOST_TEST(st.connects_refused == 0U);  // no MQTT byte ever reached the broker
        BOOST_TEST(records_with(s, sim::TraceKind::tls_handshake_failed, "reason=\"certificate has expired\"") ==
                   st.tls_failures);
        BOOST_TEST(records_with(s, sim::TraceKind::connect_failed, "tls: certificate has expired", "dev") ==
                   st.tls_failures);
    }
    check_no_violations(s, seed);
}

BOOST_AUTO_TEST_CASE(a_certificate_that_is_not_yet_valid_is_refused_until_not_before) {
    const auto seed = test_seed(4);
    auto cert = certificate("later-cert");
    cert.not_before = seconds(30);
    sim::Simulation s(options_with(seed, {cert}));
    s.add_device(device_with("dev", "later-cert"));
    s.run_until(Instant{seconds(29)});
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_TEST(!s.device("dev")->connected);
        BOOST_TEST(s.device("dev")->tls_failures >= 2U);
        BOOST_TEST(records_with(s, sim::TraceKind::tls_handshake_failed, "certificate is not yet valid") >= 2U);
    }
    s.run_until(Instant{seconds(60)});
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_TEST(s.device("dev")->connected);
        BOOST_TEST(s.device("dev")->connects == 1U);
    }
    check_no_violations(s, seed);
}

BOOST_AUTO_TEST_CASE(a_topic_outside_the_policy_is_neither_published_nor_delivered) {
    // Goal: AWS's reactions to policy denials, per protocol version (ARCHITECTURE.md's table):
    // PUBLISH not authorized: MQTT 5 PUBACK 0x87 (the device stays connected), MQTT 3.1.1
    // close; SUBSCRIBE not authorized: SUBACK 0x87 / 0x80; iot:Receive denied: the message is
    // not delivered even on a granted subscription.
    const auto seed = test_seed(5);
    sim::Simulation s(options_with(seed, {certificate("v5-cert"), certificate("v3-cert"), certificate("sub-cert")}));
    auto v5 = device_with("v5-pub", "v5-cert", mqtt::Version::v5);
    v5.publish = plan("forbidden/v5", seconds(2), mqtt::QoS::at_least_once);
    s.add_device(v5);
    auto v3 = device_with("v3-pub", "v3-cert");
    v3.publish = plan("forbidden/v3", seconds(2), mqtt::QoS::at_least_once);
    s.add_device(v3);
    for (const auto version : {mqtt::Version::v5, mqtt::Version::v311}) {
        auto sub = device_with(version == mqtt::Version::v5 ? "sub5" : "sub3", "sub-cert", version);
        sub.subscribe = {{"allowed/feed", {mqtt::QoS::at_least_once}},
                         {"other/#", {mqtt::QoS::at_least_once}},
                         {"forbidden/#", {mqtt::QoS::at_least_once}}};
        s.add_device(sub);
    }
    auto feed_allowed = device("feed-allowed");  // no certificate: allowed everything
    feed_allowed.publish = plan("allowed/feed", seconds(1), mqtt::QoS::at_least_once);
    s.add_device(feed_allowed);
    auto feed_other = device("feed-other");
    feed_other.publish = plan("other/feed", seconds(1), mqtt::QoS::at_least_once);
    s.add_device(feed_other);
    auto watch = device("watch");
    watch.subscribe = {{"#", {mqtt::QoS::at_most_once}}};
    s.add_device(watch);
    s.run_until(Instant{minutes(1)});
    BOOST_TEST_CONTEXT(repro(seed)) {
        const auto p5 = *s.device("v5-pub");
        BOOST_TEST(p5.acked == 0U);
        BOOST_TEST(p5.dropped >= 20U);  // PUBACK 0x87 each time
        BOOST_TEST(p5.connects == 1U);
        BOOST_TEST(p5.connected);
        BOOST_TEST(records_with(s, sim::TraceKind::publish_completed, "failed rc=135", "v5-pub") == p5.dropped);
        const auto p3 = *s.device("v3-pub");
        BOOST_TEST(p3.acked == 0U);
        BOOST_TEST(p3.disconnects >= 2U);  // closed by the broker, reconnects, closed again
        BOOST_TEST(count_topic_prefix(s.received("watch"), "forbidden/") == 0U);
        BOOST_TEST(count_topic_prefix(s.received("watch"), "other/feed") >= 50U);
        for (const char* name : {"sub5", "sub3"}) {
            BOOST_TEST_CONTEXT(name) {
                const auto got = s.received(name);
                BOOST_TEST(count_topic_prefix(got, "allowed/feed") >= 50U);
                BOOST_TEST(count_topic_prefix(got, "other/") == 0U);  // subscribed, but no iot:Receive
                BOOST_TEST(s.device(name)->connects == 1U);
            }
        }
        // SUBACK: allowed/feed and other/# granted (QoS 1), forbidden/# refused.
        BOOST_TEST(records_with(s, sim::TraceKind::bytes_to_device, "SUBACK id=1 1 1 135") == 1U);
        BOOST_TEST(records_with(s, sim::TraceKind::bytes_to_device, "SUBACK id=1 1 1 128") == 1U);
    }
    check_no_violations(s, seed);
}

BOOST_AUTO_TEST_CASE(detaching_a_policy_stops_deliveries_at_once_and_attaching_it_again_restores_them) {
    // Goal: policy changes apply from the next check (the authorizer's cache is dropped), the
    // connection stays up, and the policy_denied_delivery check holds throughout.
    const auto seed = test_seed(6);
    sim::Simulation s(options_with(seed, {certificate("sub-cert")}));
    auto sub = device_with("sub", "sub-cert");
    sub.subscribe = {{"allowed/feed", {mqtt::QoS::at_least_once}}};
    s.add_device(sub);
    auto feed = device("feed");
    feed.publish = plan("allowed/feed", seconds(1), mqtt::QoS::at_most_once);
    s.add_device(feed);
    s.add_registry_fault({sim::RegistryFault::Kind::detach_policy, Instant{seconds(20)}, "sub-cert", {}, "narrow"});
    s.add_registry_fault({sim::RegistryFault::Kind::attach_policy, Instant{seconds(40)}, "sub-cert", {}, "narrow"});
    s.run_until(Instant{seconds(20)});
    const auto before = s.received("sub").size();
    s.run_until(Instant{seconds(40)});
    const auto during = s.received("sub").size() - before;
    s.run_until(Instant{seconds(60)});
    const auto after = s.received("sub").size() - before - during;
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_TEST(before >= 15U);
        BOOST_TEST(during <= 1U);  // at most one already in flight when the policy went
        BOOST_TEST(after >= 18U);
        BOOST_TEST(s.device("sub")->connects == 1U);
        BOOST_TEST(s.device("sub")->revocations == 0U);
    }
    check_no_violations(s, seed);
}

BOOST_AUTO_TEST_CASE(the_policy_check_denies_a_delivery_the_certificates_policies_do_not_allow) {
    // Goal: the checker itself, called directly: allowed and denied topics, then a revoked
    // certificate.
    sim::Simulation s(options_with(9, {certificate("c")}));
    broker::PeerIdentity peer;
    peer.transport = broker::Transport::tls;
    peer.address = "10.0.0.1";
    peer.certificate_id = *s.certificate_id("c");
    peer.principal = peer.certificate_id;
    sim::DeliveryPolicyCheck check(s.registry());
    BOOST_TEST(!check.denied(peer, "client", "allowed/x").has_value());
    const auto why = check.denied(peer, "client", "other/x");
    BOOST_REQUIRE(why.has_value());
    BOOST_TEST(why->find("iot:Receive") != std::string::npos, *why);
    BOOST_TEST(why->find("topic/other/x") != std::string::npos, *why);
    s.add_registry_fault({sim::RegistryFault::Kind::update_certificate, Instant{seconds(1)}, "c",
                          CertificateStatus::revoked, ""});
    s.run_until(Instant{seconds(2)});
    check.invalidate(s.registry());
    const auto revoked = check.denied(peer, "client", "allowed/x");
    BOOST_REQUIRE(revoked.has_value());
    BOOST_TEST(revoked->find("REVOKED") != std::string::npos, *revoked);
    peer.certificate_id = std::string(64, '0');
    BOOST_TEST(check.denied(peer, "client", "allowed/x").value_or("").find("not registered") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_policy_denied_delivery_check_catches_a_broken_authorizer) {
    // Goal: the invariant check runs during the simulation and fails the run when a delivery
    // the policies deny happens. Method: the host's authorizer is broken on purpose (it allows
    // every delivery); a device subscribed to other/# without iot:Receive on it gets messages.
    const auto seed = test_seed(10);
    auto o = options_with(seed, {certificate("sub-cert")});
    o.test_authorizer_allows_every_delivery = true;
    sim::Simulation s(o);
    auto sub = device_with("sub", "sub-cert");
    sub.subscribe = {{"other/#", {mqtt::QoS::at_least_once}}};
    s.add_device(sub);
    auto feed = device("feed");
    feed.publish = plan("other/feed", seconds(1), mqtt::QoS::at_least_once);
    s.add_device(feed);
    s.run_until(Instant{seconds(10)});
    const auto& v = s.finish_checks();
    BOOST_TEST_CONTEXT(repro(seed)) {
        BOOST_REQUIRE(!v.empty());
        BOOST_TEST(v.front().find("policy_denied_delivery: the broker delivered other/feed to sub (certificate sub-cert)") !=
                       std::string::npos,
                   v.front());
        BOOST_TEST(v.front().find("iot:Receive") != std::string::npos, v.front());
        BOOST_TEST(records_with(s, sim::TraceKind::check_failed, "policy_denied_delivery") >= 5U);
    }
}

BOOST_AUTO_TEST_CASE(the_revoked_device_scenario_refuses_the_revoked_and_the_expired_device_and_keeps_the_other) {
    const auto seed = test_seed(3);
    auto sc = sim::load_scenario(scenario_path("revoked_device.json"));
    sc.options.seed = seed;
    auto run = [&] {
        auto s = sim::build_simulation(sc);
        s->run_until(Instant{sc.duration});
        const auto java = *s->device("sdk-java");
        const auto js = *s->device("sdk-nodejs-1");
        const auto py = *s->device("basicPubSub");
        const auto console = s->received("iotconsole-test-client");
        BOOST_TEST_CONTEXT(repro(seed)) {
            BOOST_TEST(java.revocations == 1U);
            BOOST_TEST(java.connects == 1U);
            BOOST_TEST(java.connects_refused >= 5U);
            const auto java_failed = count_topic_prefix(console, "$aws/events/presence/connect_failed/sdk-java");
            BOOST_TEST(java_failed <= java.connects_refused);
            BOOST_TEST(java_failed + 1 >= java.connects_refused);  // the last may still be on its way
            BOOST_TEST(count_topic_prefix(console, "$aws/events/presence/connect_failed/") == java_failed);
            BOOST_TEST(js.connects == 1U);
            BOOST_TEST(js.tls_failures >= 3U);
            BOOST_TEST(!js.connected);
            BOOST_TEST(py.connected);
            BOOST_TEST(py.connects == 1U);
            BOOST_TEST(py.acked >= 290U);
            BOOST_TEST(py.connects_refused + py.tls_failures + py.revocations == 0U);
            // The revoked device's will, published on AUTH_ERROR.
            BOOST_TEST(std::count(console.begin(), console.end(),
                                  std::pair<std::string, std::string>{"sdk/test/java", "sdk-java went away"}) == 1);
        }
        check_no_violations(*s, seed);
        return s->trace().hash_hex();
    };
    const auto first = run();
    BOOST_TEST(first == run());
}

BOOST_AUTO_TEST_CASE(bad_registry_sections_get_errors_that_name_the_field) {
    const std::pair<const char*, const char*> cases[] = {
        {R"({"version":1,"registry":{}})", "registry: needs \"version\": 2"},
        {R"({"version":3})", "version: must be from 1 to 2, got 3"},
        {R"({"version":2,"registry":{"policies":{"p":{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"iot:*","Resource":"*"}]}}}})",
         "registry.policies.p at /Statement/0/Effect: MalformedPolicyException"},
        {R"({"version":2,"registry":{"policies":{"p":7}}})", "registry.policies.p: must be a policy document"},
        {R"({"version":2,"registry":{"certificates":{"c":{"status":"LOST"}}}})",
         "registry.certificates.c.status: must be \"ACTIVE\", \"INACTIVE\" or \"REVOKED\", got \"LOST\""},
        {R"({"version":2,"registry":{"certificates":{"c":{"policies":["ghost"]}}}})",
         "registry.certificates.c.policies[0]: names unknown policy \"ghost\""},
        {R"({"version":2,"registry":{"certificates":{"c":{"things":["ghost"]}}}})",
         "registry.certificates.c.things[0]: names unknown thing \"ghost\""},
        {R"({"version":2,"registry":{"certificates":{"c":{"not_before":"1h","not_after":"30m"}}}})",
         "registry.certificates.c.not_after: must not be before not_before"},
        {R"({"version":2,"registry":{"certificates":{"c":{"not_after":"soon"}}}})",
         "registry.certificates.c.not_after: is not a duration"},
        {R"({"version":2,"registry":{"certificates":{"c":{"colour":"red"}}}})", "registry.certificates.c.colour: unknown field"},
        {R"({"version":2,"registry":{"things":[{"name":"t","attributes":{"a":1}}]}})",
         "registry.things[0].attributes.a: must be a string"},
        {R"({"version":2,"devices":[{"name":"a","certificate":"ghost"}]})",
         "devices[0].certificate: names unknown certificate \"ghost\""},
        {R"({"version":1,"devices":[{"name":"a","certificate":"ghost"}]})", "devices[0].certificate: needs \"version\": 2"},
        {R"({"version":2,"fleets":[{"prefix":"f","count":2,"device":{"certificate":"ghost"}}]})",
         "fleets[0].device.certificate: names unknown certificate \"ghost\""},
        {R"({"version":2,"registry":{"certificates":{"c":{}}},"faults":[{"type":"update_certificate","at":"1s","certificate":"c"}]})",
         "faults[0].status: is required"},
        {R"({"version":2,"registry":{"certificates":{"c":{}}},"faults":[{"type":"update_certificate","at":"1s","certificate":"x","status":"REVOKED"}]})",
         "faults[0].certificate: names unknown certificate \"x\""},
        {R"({"version":2,"registry":{"certificates":{"c":{}}},"faults":[{"type":"detach_policy","at":"1s","certificate":"c","policy":"p"}]})",
         "faults[0].policy: names unknown policy \"p\""},
        {R"({"version":2,"registry":{"certificates":{"c":{}}},"faults":[{"type":"update_certificate","at":"1s","certificate":"c","status":"REVOKED","devices":["a"]}]})",
         "faults[0].devices: unknown field"},
    };
    for (const auto& [doc, expected] : cases) {
        BOOST_TEST_CONTEXT(doc) {
            try {
                (void)sim::parse_scenario(doc);
                BOOST_ERROR("no error");
            } catch (const sim::ScenarioError& e) {
                BOOST_TEST(std::string(e.what()).find(expected) != std::string::npos, e.what());
            }
        }
    }
    // The registry's own refusals surface when the simulation is built, naming the record.
    try {
        (void)sim::build_simulation(sim::parse_scenario(
            R"({"version":2,"registry":{"policies":{"bad name!":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}}}})"));
        BOOST_ERROR("no error");
    } catch (const sim::ScenarioError& e) {
        BOOST_TEST(std::string(e.what()).find("registry.policies.bad name!: ") != std::string::npos, e.what());
    }
}

BOOST_AUTO_TEST_SUITE_END()
