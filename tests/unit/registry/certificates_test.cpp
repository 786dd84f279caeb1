// Certificates and CA certificates: fingerprints, validity, registration, the status state
// machine, deletion guards (reference §4.3).

#include "iotsim/registry/certificate.hpp"
#include "registry_harness.hpp"

using namespace registry_test;

namespace {

/// A registered, active CA (DEFAULT mode, with its verification certificate).
struct CaFixture : Fixture {
    TestCert ca = make_cert("Test CA", nullptr, true);
    std::string ca_id;

    CaFixture() {
        const std::string code = registry.get_registration_code(now());
        const TestCert verification = make_cert(code, &ca);
        RegisterCaCertificateInput input;
        input.ca_certificate_pem = ca.pem;
        input.verification_certificate_pem = verification.pem;
        input.set_as_active = true;
        ca_id = registry.register_ca_certificate(input, now()).id;
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(registry_certificates)

BOOST_AUTO_TEST_CASE(certificate_id_is_lowercase_sha256_of_the_der) {
    const TestCert cert = make_cert("device");
    auto facts = parse_certificate(cert.pem);
    BOOST_REQUIRE(facts.ok());
    BOOST_TEST(facts.value().id == sha256_hex(der_of(cert.pem)));
    BOOST_TEST(facts.value().id.size() == 64u);
    BOOST_TEST(facts.value().id.find_first_not_of("0123456789abcdef") == std::string::npos);
    BOOST_TEST(facts.value().subject_common_name == "device");
    BOOST_TEST(!facts.value().is_ca);
}

BOOST_AUTO_TEST_CASE(sha256_hex_matches_the_known_vector) {
    // FIPS 180-2 example: SHA-256("abc").
    BOOST_TEST(sha256_hex("abc") ==
               "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

BOOST_AUTO_TEST_CASE(validity_is_read_from_the_certificate) {
    const TestCert cert = make_cert("device", nullptr, false, 1700000000, 2524607999);
    auto facts = parse_certificate(cert.pem);
    BOOST_REQUIRE(facts.ok());
    BOOST_TEST(facts.value().not_before.unix_s() == 1700000000);
    BOOST_TEST(facts.value().not_after.unix_s() == 2524607999);  // 2049-12-31T23:59:59Z
}

BOOST_AUTO_TEST_CASE(garbage_is_not_a_certificate) {
    BOOST_TEST(!parse_certificate("hello").ok());
    BOOST_TEST(
        !parse_certificate("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").ok());
}

BOOST_AUTO_TEST_CASE(signature_check_accepts_the_issuer_only) {
    const TestCert ca = make_cert("CA", nullptr, true);
    const TestCert other = make_cert("CA", nullptr, true);  // same subject, other key
    const TestCert leaf = make_cert("leaf", &ca);
    BOOST_TEST(is_signed_by(leaf.pem, ca.pem));
    BOOST_TEST(!is_signed_by(leaf.pem, other.pem));
    BOOST_TEST(!is_signed_by(leaf.pem, leaf.pem));
}

BOOST_FIXTURE_TEST_CASE(issued_certificate_is_recorded_with_arn_and_validity, Fixture) {
    const TestCert cert = make_cert("dev", nullptr, false, epoch_s, epoch_s + 3600);
    const CertificateRecord& r =
        registry.add_issued_certificate(cert.pem, CertificateStatus::inactive, now());
    BOOST_TEST(r.id == sha256_hex(der_of(cert.pem)));
    BOOST_TEST(r.status == CertificateStatus::inactive);
    BOOST_TEST(r.not_after.unix_s() == epoch_s + 3600);
    BOOST_TEST(r.ca_certificate_id.empty());
    BOOST_TEST(registry.certificate_arn(r.id) == "arn:aws:iot:us-east-1:123456789012:cert/" + r.id);
    expect_error(
        [&] { (void)registry.add_issued_certificate(cert.pem, CertificateStatus::active, now()); },
        "ResourceAlreadyExistsException", 409);
}

BOOST_FIXTURE_TEST_CASE(register_ca_needs_verification_certificate_with_registration_code,
                        Fixture) {
    const TestCert ca = make_cert("CA", nullptr, true);
    const std::string code = registry.get_registration_code(now());
    BOOST_TEST(code.size() == 64u);
    BOOST_TEST(registry.get_registration_code(now()) == code);  // stable
    RegisterCaCertificateInput input;
    input.ca_certificate_pem = ca.pem;
    expect_error([&] { (void)registry.register_ca_certificate(input, now()); },
                 "InvalidRequestException", 400);
    input.verification_certificate_pem = make_cert("wrong-code", &ca).pem;
    expect_error([&] { (void)registry.register_ca_certificate(input, now()); },
                 "RegistrationCodeValidationException", 400);
    input.verification_certificate_pem = make_cert(code).pem;  // right CN, not signed by the CA
    expect_error([&] { (void)registry.register_ca_certificate(input, now()); },
                 "CertificateValidationException", 400);
    input.verification_certificate_pem = make_cert(code, &ca).pem;
    const CaCertificateRecord& r = registry.register_ca_certificate(input, now());
    BOOST_TEST(r.status == CaCertificateStatus::inactive);
    expect_error([&] { (void)registry.register_ca_certificate(input, now()); },
                 "ResourceAlreadyExistsException", 409);
}

BOOST_FIXTURE_TEST_CASE(register_ca_refuses_a_leaf_certificate, Fixture) {
    RegisterCaCertificateInput input;
    input.ca_certificate_pem = make_cert("leaf").pem;
    input.mode = CertificateMode::sni_only;
    expect_error([&] { (void)registry.register_ca_certificate(input, now()); },
                 "CertificateValidationException", 400);
}

BOOST_FIXTURE_TEST_CASE(register_certificate_signed_by_registered_ca, CaFixture) {
    const TestCert device = make_cert("device", &ca);
    RegisterCertificateInput input;
    input.certificate_pem = device.pem;
    input.set_as_active = true;
    const CertificateRecord& r = registry.register_certificate(input, now());
    BOOST_TEST(r.ca_certificate_id == ca_id);
    BOOST_TEST(r.status == CertificateStatus::active);
    BOOST_TEST(registry.list_certificates_by_ca(ca_id, {}).items.size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(register_certificate_of_unknown_ca_is_certificate_validation, CaFixture) {
    const TestCert stranger_ca = make_cert("Other CA", nullptr, true);
    RegisterCertificateInput input;
    input.certificate_pem = make_cert("device", &stranger_ca).pem;
    expect_error([&] { (void)registry.register_certificate(input, now()); },
                 "CertificateValidationException", 400);
    input.ca_certificate_pem = stranger_ca.pem;
    expect_error([&] { (void)registry.register_certificate(input, now()); },
                 "CertificateValidationException", 400);
    input.certificate_pem = "not a pem";
    expect_error([&] { (void)registry.register_certificate(input, now()); },
                 "CertificateValidationException", 400);
}

BOOST_FIXTURE_TEST_CASE(register_certificate_status_wins_over_set_as_active, CaFixture) {
    RegisterCertificateInput input;
    input.certificate_pem = make_cert("device", &ca).pem;
    input.set_as_active = true;
    input.status = CertificateStatus::revoked;
    BOOST_TEST(registry.register_certificate(input, now()).status == CertificateStatus::revoked);
    input.certificate_pem = make_cert("device2", &ca).pem;
    input.status = CertificateStatus::pending_transfer;
    expect_error([&] { (void)registry.register_certificate(input, now()); },
                 "CertificateStateException", 406);
}

BOOST_FIXTURE_TEST_CASE(register_without_ca_accepts_any_certificate_as_sni_only, Fixture) {
    RegisterCertificateInput input;
    input.certificate_pem = make_cert("self").pem;
    const CertificateRecord& r = registry.register_certificate_without_ca(input, now());
    BOOST_TEST(r.mode == CertificateMode::sni_only);
    BOOST_TEST(r.status == CertificateStatus::inactive);
}

BOOST_FIXTURE_TEST_CASE(update_certificate_follows_the_state_machine, Fixture) {
    const std::string id = certificate("dev", CertificateStatus::inactive).id;
    registry.update_certificate(id, CertificateStatus::active, now());
    registry.update_certificate(id, CertificateStatus::active, now());  // idempotent
    BOOST_TEST(registry.describe_certificate(id).customer_version == 2);
    registry.update_certificate(id, CertificateStatus::inactive, now());
    expect_error(
        [&] { registry.update_certificate(id, CertificateStatus::pending_transfer, now()); },
        "CertificateStateException", 406);
    expect_error(
        [&] { registry.update_certificate(id, CertificateStatus::pending_activation, now()); },
        "CertificateStateException", 406);
    registry.update_certificate(id, CertificateStatus::revoked, now());
    expect_error([&] { registry.update_certificate(id, CertificateStatus::active, now()); },
                 "CertificateStateException", 406);
    expect_error(
        [&] {
            registry.update_certificate(std::string(64, 'a'), CertificateStatus::active, now());
        },
        "ResourceNotFoundException", 404);
}

BOOST_FIXTURE_TEST_CASE(activating_under_an_inactive_ca_is_certificate_state, CaFixture) {
    RegisterCertificateInput input;
    input.certificate_pem = make_cert("device", &ca).pem;
    const std::string id = registry.register_certificate(input, now()).id;
    registry.update_ca_certificate(ca_id, CaCertificateStatus::inactive, std::nullopt, now());
    expect_error([&] { registry.update_certificate(id, CertificateStatus::active, now()); },
                 "CertificateStateException", 406);
}

BOOST_FIXTURE_TEST_CASE(delete_certificate_guards_active_things_and_policies, Fixture) {
    const std::string id = certificate("dev").id;
    const std::string arn = registry.certificate_arn(id);
    (void)thing("t");
    (void)registry.create_policy("p", allow_all_policy, {}, now());
    registry.attach_thing_principal("t", arn, ThingPrincipalType::non_exclusive, now());
    registry.attach_policy("p", arn, now());
    expect_error([&] { registry.delete_certificate(id, false, now()); },
                 "CertificateStateException", 406);
    registry.update_certificate(id, CertificateStatus::inactive, now());
    expect_error([&] { registry.delete_certificate(id, false, now()); }, "DeleteConflictException",
                 409);
    registry.detach_thing_principal("t", arn, now());
    expect_error([&] { registry.delete_certificate(id, false, now()); }, "DeleteConflictException",
                 409);
    registry.delete_certificate(id, true, now());  // forceDelete detaches the policies
    BOOST_TEST(registry.find_certificate(id) == nullptr);
    BOOST_TEST(registry.get_policy("p").targets.empty());
    expect_error([&] { registry.delete_certificate(id, false, now()); },
                 "ResourceNotFoundException", 404);
}

BOOST_FIXTURE_TEST_CASE(list_certificates_newest_first_unless_ascending, Fixture) {
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i) {
        ids.push_back(certificate("dev" + std::to_string(i)).id);
        advance(1);
    }
    ListCertificatesInput input;
    input.page.size = 2;
    std::vector<std::string> seen;
    do {
        auto page = registry.list_certificates(input);
        for (const auto& c : page.items) {
            seen.push_back(c.id);
        }
        input.page.token = page.next_token;
    } while (!input.page.token.empty());
    BOOST_TEST(seen == std::vector<std::string>(ids.rbegin(), ids.rend()));
    ListCertificatesInput ascending;
    ascending.ascending = true;
    BOOST_TEST(registry.list_certificates(ascending).items.front().id == ids.front());
}

BOOST_FIXTURE_TEST_CASE(delete_ca_certificate_only_when_inactive, CaFixture) {
    expect_error([&] { registry.delete_ca_certificate(ca_id, now()); }, "CertificateStateException",
                 406);
    registry.update_ca_certificate(ca_id, CaCertificateStatus::inactive, true, now());
    BOOST_TEST(registry.describe_ca_certificate(ca_id).auto_registration);
    registry.delete_ca_certificate(ca_id, now());
    BOOST_TEST(registry.list_ca_certificates({}).items.empty());
}

BOOST_FIXTURE_TEST_CASE(auto_registration_records_pending_activation_then_activates, CaFixture) {
    const TestCert device = make_cert("jitr-device", &ca);
    BOOST_TEST(registry.auto_register_certificate(device.pem, now()) == nullptr);  // disabled
    registry.update_ca_certificate(ca_id, std::nullopt, true, now());
    const CertificateRecord* r = registry.auto_register_certificate(device.pem, now());
    BOOST_REQUIRE(r != nullptr);
    BOOST_TEST(r->status == CertificateStatus::pending_activation);
    BOOST_TEST(r->ca_certificate_id == ca_id);
    const std::string id = r->id;
    BOOST_TEST(registry.auto_register_certificate(device.pem, now()) == nullptr);  // known
    BOOST_TEST(registry.auto_register_certificate(make_cert("stranger").pem, now()) == nullptr);
    registry.update_certificate(id, CertificateStatus::active, now());
    BOOST_TEST(registry.describe_certificate(id).status == CertificateStatus::active);
}

BOOST_AUTO_TEST_SUITE_END()
