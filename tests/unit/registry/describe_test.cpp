// describe_registry: the registry part of GET /iotsim/world (the running server's diagram).

#include <boost/test/unit_test.hpp>

#include "iotsim/registry/describe.hpp"
#include "registry_harness.hpp"

using namespace registry_test;

BOOST_AUTO_TEST_SUITE(registry_describe)

BOOST_FIXTURE_TEST_CASE(things_certificates_and_policies_are_listed_with_their_attachments, Fixture) {
    (void)thing("lamp", {{"room", "kitchen"}});
    (void)thing("sensor");
    const std::string cert_id = certificate("lamp-cert").id;
    advance(1);  // listed oldest first
    const std::string spare_id = certificate("spare", CertificateStatus::inactive).id;
    const std::string arn = registry.certificate_arn(cert_id);
    registry.create_policy("lamp-policy", allow_all_policy, {}, now());
    registry.attach_policy("lamp-policy", arn, now());
    registry.attach_thing_principal("lamp", arn, ThingPrincipalType::non_exclusive, now());

    const nlohmann::json d = describe_registry(registry);
    BOOST_REQUIRE_EQUAL(d["things"].size(), 2U);
    BOOST_TEST(d["things"][0]["thingName"] == "lamp");
    BOOST_TEST(d["things"][0]["attributes"]["room"] == "kitchen");
    BOOST_TEST(d["things"][0]["principals"] == nlohmann::json::array({arn}));
    BOOST_TEST(d["things"][1]["principals"].empty());
    BOOST_REQUIRE_EQUAL(d["certificates"].size(), 2U);
    BOOST_TEST(d["certificates"][0]["certificateId"] == cert_id);
    BOOST_TEST(d["certificates"][0]["status"] == "ACTIVE");
    BOOST_TEST(d["certificates"][1]["certificateId"] == spare_id);
    BOOST_TEST(d["certificates"][1]["status"] == "INACTIVE");
    BOOST_REQUIRE_EQUAL(d["policies"].size(), 1U);
    BOOST_TEST(d["policies"][0]["policyName"] == "lamp-policy");
    BOOST_TEST(d["policies"][0]["targets"] == nlohmann::json::array({arn}));
    BOOST_TEST(d["truncated"]["things"] == false);
}

BOOST_FIXTURE_TEST_CASE(a_registry_larger_than_the_limit_is_cut_across_pages_and_marked_truncated, Fixture) {
    // More things than one page (250) holds, so the walk crosses a page boundary.
    for (int i = 0; i < 260; ++i) {
        (void)thing("t" + std::to_string(1000 + i));
    }
    const nlohmann::json all = describe_registry(registry, 300);
    BOOST_TEST(all["things"].size() == 260U);
    BOOST_TEST(all["things"][259]["thingName"] == "t1259");
    BOOST_TEST(all["truncated"]["things"] == false);
    const nlohmann::json cut = describe_registry(registry, 255);
    BOOST_TEST(cut["things"].size() == 255U);
    BOOST_TEST(cut["truncated"]["things"] == true);
    BOOST_TEST(cut["truncated"]["certificates"] == false);
}

BOOST_FIXTURE_TEST_CASE(a_policy_attached_to_many_certificates_lists_100_targets_and_says_it_cut, Fixture) {
    registry.create_policy("fleet", allow_all_policy, {}, now());
    for (int i = 0; i < 101; ++i) {
        registry.attach_policy("fleet", registry.certificate_arn(certificate("d" + std::to_string(i)).id), now());
    }
    const nlohmann::json d = describe_registry(registry);
    BOOST_TEST(d["policies"][0]["targets"].size() == 100U);
    BOOST_TEST(d["policies"][0]["targetsTruncated"] == true);
}

BOOST_AUTO_TEST_SUITE_END()
