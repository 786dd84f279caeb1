"""20 Bring your own CA (reference §4.3, §5.1): certificates are matched by their exact DER in the
registry, not by CA chain. A device certificate issued by the customer's CA and registered with
RegisterCertificate connects over mutual TLS; an unknown one signed by a CA registered with
auto-registration is registered PENDING_ACTIVATION on its first connection, which fails, and
announced on $aws/events/certificates/registered/<caCertificateId> (just-in-time registration);
once activated it connects. The TLS layer still refuses an expired certificate."""

import datetime
import json
import ssl

import pytest

from clients import PahoClient, unique, wait_until
from test_13_registry_auth import ALLOW_ALL, boto_iot, policy as policy_document

x509 = pytest.importorskip("cryptography.x509")
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def issue(cn, issuer=None, *, ca=False, days=30, start=None):
    """(certificate, key): signed by issuer=(certificate, key), or self-signed."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    start = start or datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(issuer[0].subject if issuer else name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    cert = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
    return cert, key


def files(tmp_path, cert, key):
    d = tmp_path / unique("dev-")
    d.mkdir()
    (d / "cert.pem").write_text(pem(cert))
    (d / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return {"ca": None, "cert": str(d / "cert.pem"), "key": str(d / "key.pem")}


def mtls(srv, dev, client_id):
    c = PahoClient(srv, client_id=client_id, tls={"ca": srv.ca, "cert": dev["cert"], "key": dev["key"]},
                   host="localhost")
    return c


@pytest.fixture
def customer_ca(srv):
    """A CA of the customer's, registered ACTIVE with auto-registration (DEFAULT mode: a
    verification certificate whose CN is the registration code)."""
    iot = boto_iot(srv)
    ca = issue(unique("customer-CA-"), ca=True, days=365)
    code = iot.get_registration_code()["registrationCode"]
    verification, _ = issue(code, issuer=ca)
    made = iot.register_ca_certificate(caCertificate=pem(ca[0]), verificationCertificate=pem(verification),
                                       setAsActive=True, allowAutoRegistration=True)
    yield {"ca": ca, "id": made["certificateId"]}
    iot.update_ca_certificate(certificateId=made["certificateId"], newStatus="INACTIVE")


def test_a_certificate_registered_under_the_customers_ca_connects_over_mutual_tls(srv, tmp_path, customer_ca):
    iot = boto_iot(srv)
    cert, key = issue("byo-device", issuer=customer_ca["ca"])
    made = iot.register_certificate(certificatePem=pem(cert), caCertificatePem=pem(customer_ca["ca"][0]),
                                    setAsActive=True)
    policy = unique("byo-policy-")
    iot.create_policy(policyName=policy, policyDocument=policy_document(ALLOW_ALL))
    iot.attach_policy(policyName=policy, target=made["certificateArn"])
    c = mtls(srv, files(tmp_path, cert, key), unique("byo-"))
    try:
        c.connect()
        c.subscribe("byo/t")
        c.publish("byo/t", b"mine")
        assert c.expect_message("byo/t").payload == b"mine"
    finally:
        c.close()


def test_an_unknown_certificate_of_an_auto_registering_ca_is_registered_pending_activation(srv, tmp_path,
                                                                                          customer_ca):
    iot = boto_iot(srv)
    watcher = PahoClient(srv, client_id=unique("jitr-watch-"))  # the plain port: allowed everything
    watcher.connect()
    watcher.subscribe(f"$aws/events/certificates/registered/{customer_ca['id']}")
    cert, key = issue("jitr-device", issuer=customer_ca["ca"])
    dev = files(tmp_path, cert, key)
    first = mtls(srv, dev, unique("jitr-"))
    try:
        assert not first.connect(expect_success=False), "the first connection of a new certificate succeeded"
    finally:
        first.close()
    event = json.loads(watcher.expect_message().payload)
    fingerprint = cert.fingerprint(hashes.SHA256()).hex()
    assert event["certificateId"] == fingerprint and event["caCertificateId"] == customer_ca["id"]
    assert event["certificateStatus"] == "PENDING_ACTIVATION" and event["awsAccountId"] == "123456789012"
    described = iot.describe_certificate(certificateId=fingerprint)["certificateDescription"]
    assert described["status"] == "PENDING_ACTIVATION" and described["caCertificateId"] == customer_ca["id"]
    # What a JITR Lambda does: activate it and attach a policy; the device's retry then connects.
    iot.update_certificate(certificateId=fingerprint, newStatus="ACTIVE")
    policy = unique("jitr-policy-")
    iot.create_policy(policyName=policy, policyDocument=policy_document(ALLOW_ALL))
    iot.attach_policy(policyName=policy, target=described["certificateArn"])
    again = mtls(srv, dev, unique("jitr-"))
    try:
        again.connect()
    finally:
        again.close()
        watcher.close()


def test_an_unregistered_certificate_of_an_unknown_ca_is_refused_and_not_registered(srv, tmp_path):
    iot = boto_iot(srv)
    stranger = issue("stranger-CA", ca=True)
    cert, key = issue("stranger-device", issuer=stranger)
    c = mtls(srv, files(tmp_path, cert, key), unique("stranger-"))
    try:
        assert not c.connect(expect_success=False)
    finally:
        c.close()
    with pytest.raises(iot.exceptions.ResourceNotFoundException):
        iot.describe_certificate(certificateId=cert.fingerprint(hashes.SHA256()).hex())


@pytest.mark.parametrize("when", ["expired", "not_yet_valid"])
def test_an_expired_or_future_certificate_of_the_customers_ca_fails_even_when_registered(srv, tmp_path, customer_ca,
                                                                                        when):
    now = datetime.datetime.now(datetime.timezone.utc)
    start = now - datetime.timedelta(days=10) if when == "expired" else now + datetime.timedelta(days=2)
    cert, key = issue(f"{when}-byo", issuer=customer_ca["ca"], days=2, start=start)
    iot = boto_iot(srv)
    made = iot.register_certificate(certificatePem=pem(cert), caCertificatePem=pem(customer_ca["ca"][0]),
                                    setAsActive=True)
    policy = unique("dated-policy-")
    iot.create_policy(policyName=policy, policyDocument=policy_document(ALLOW_ALL))
    iot.attach_policy(policyName=policy, target=made["certificateArn"])
    c = mtls(srv, files(tmp_path, cert, key), unique("dated-"))
    try:
        assert not c.connect(expect_success=False)
    except (ssl.SSLError, OSError):
        pass
    finally:
        c.close()


def test_an_expired_certificate_fails_the_tls_handshake_even_when_registered(srv, tmp_path):
    root_key = serialization.load_pem_private_key((srv.data_dir / "root-CA.key").read_bytes(), password=None)
    root = x509.load_pem_x509_certificate((srv.data_dir / "root-CA.crt").read_bytes())
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=10)
    cert, key = issue("expired-device", issuer=(root, root_key), days=2, start=start)
    iot = boto_iot(srv)
    made = iot.register_certificate_without_ca(certificatePem=pem(cert), status="ACTIVE")
    policy = unique("expired-policy-")
    iot.create_policy(policyName=policy, policyDocument=policy_document(ALLOW_ALL))
    iot.attach_policy(policyName=policy, target=made["certificateArn"])
    c = mtls(srv, files(tmp_path, cert, key), unique("expired-"))
    try:
        assert not c.connect(expect_success=False)
    except (ssl.SSLError, OSError):
        pass  # TLS 1.2: the handshake itself fails on the client
    finally:
        c.close()
    wait_until(lambda: "certificate expired" in srv.stderr_text() or "tls_handshake_failed" in srv.stderr_text())
