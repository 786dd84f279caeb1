"""21 The control plane as real clients call it: every registry and authentication operation of the
registry issue, called by boto3 and by the AWS CLI v2 (Debian's awscli) against `iotsim serve`,
signatures verified (conftest starts every server with SigV4 credentials). The same walk runs through
both clients: things and thing types, static thing groups, certificates (created, from a CSR, under a
registered CA), policies and their versions, attachments, principals, tags, DescribeEndpoint,
TestAuthorization, the custom-authorizer operations, AWS's errors on the way, and an operation iotsim
does not implement. The AWS CLI gets each request as `--cli-input-json` with the same members boto3
sends, so both walks are one script."""

import base64
import datetime
import hashlib
import json
import os
import re
import subprocess

import pytest

from clients import AWS_CREDS, aws_cli_v2, unique

x509 = pytest.importorskip("cryptography.x509")
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

ACCOUNT = "arn:aws:iot:us-east-1:123456789012"


class Boto3Api:
    name = "boto3"

    def __init__(self, srv):
        boto3 = pytest.importorskip("boto3")
        self.client = boto3.client("iot", endpoint_url=srv.http_url, region_name="us-east-1",
                                   aws_access_key_id=AWS_CREDS["AWS_ACCESS_KEY_ID"],
                                   aws_secret_access_key=AWS_CREDS["AWS_SECRET_ACCESS_KEY"])

    def call(self, operation, **params):
        out = getattr(self.client, operation)(**params)
        out.pop("ResponseMetadata", None)
        return out

    def error(self, operation, **params):
        from botocore.exceptions import ClientError
        with pytest.raises(ClientError) as e:
            getattr(self.client, operation)(**params)
        return e.value.response["Error"]["Code"]


class CliApi:
    """The AWS CLI v2's own driver in one worker process (tools/aws_cli_worker.py): the CLI's argument
    parsing, serialisation and signing for ~100 commands without starting Python ~100 times."""
    name = "aws-cli-v2"

    def __init__(self, srv, home):
        aws_cli_v2()  # skips without Debian's awscli
        self.srv = srv
        env = {"PATH": os.confstr("CS_PATH"), "HOME": str(home), **AWS_CREDS}
        worker = os.path.join(os.path.dirname(__file__), "tools", "aws_cli_worker.py")
        self.proc = subprocess.Popen(["/usr/bin/python3", worker], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env, cwd=str(home))

    def close(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def _run(self, operation, params):
        args = ["--endpoint-url", self.srv.http_url, "--output", "json", "iot", operation.replace("_", "-"),
                "--cli-input-json", json.dumps(params)]
        self.proc.stdin.write(json.dumps(args) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the AWS CLI worker exited"
        return json.loads(line)

    def call(self, operation, **params):
        r = self._run(operation, params)
        assert r["rc"] == 0, f"aws iot {operation}: rc={r['rc']}\n{r['stderr']}"
        return json.loads(r["stdout"]) if r["stdout"].strip() else {}

    def error(self, operation, **params):
        r = self._run(operation, params)
        assert r["rc"] != 0, f"aws iot {operation} succeeded: {r['stdout']}"
        m = re.search(r"An error occurred \((\w+)\)", r["stderr"])
        assert m, r["stderr"]
        return m.group(1)


@pytest.fixture(params=["boto3", "aws-cli-v2"])
def api(request, srv, tmp_path):
    if request.param == "boto3":
        yield Boto3Api(srv)
        return
    cli = CliApi(srv, tmp_path)
    try:
        yield cli
    finally:
        cli.close()


def test_the_cli_worker_runs_the_real_cli_with_a_wrong_secret_refused(srv, tmp_path, monkeypatch):
    """The worker signs like `aws` does: a wrong secret is InvalidSignatureException."""
    monkeypatch.setitem(AWS_CREDS, "AWS_SECRET_ACCESS_KEY", "wrong-secret")
    cli = CliApi(srv, tmp_path)
    try:
        assert cli.error("list_things") == "InvalidSignatureException"
    finally:
        cli.close()


# ---------------------------------------------------------------- certificates made by the "customer"

def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def issue(cn, issuer=None, *, ca=False):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer[0].subject if issuer else name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer[1] if issuer else key, hashes.SHA256()))
    return cert, key


def csr_pem(cn):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])).sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def fingerprint(certificate_pem):
    body = "".join(line for line in certificate_pem.splitlines() if "-----" not in line)
    return hashlib.sha256(base64.b64decode(body)).hexdigest()


def names(items, key):
    return [i[key] for i in items]


def policy_document(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


# ---------------------------------------------------------------- the walk

def test_every_registry_operation_works_from_this_client(api, srv):
    p = unique("cp")

    # -- thing types
    thing_type = f"{p}-lamp-type"
    made = api.call("create_thing_type", thingTypeName=thing_type,
                    thingTypeProperties={"thingTypeDescription": "lamps", "searchableAttributes": ["room"]})
    assert made["thingTypeArn"] == f"{ACCOUNT}:thingtype/{thing_type}" and made["thingTypeId"]
    described = api.call("describe_thing_type", thingTypeName=thing_type)
    assert described["thingTypeProperties"]["searchableAttributes"] == ["room"]
    assert described["thingTypeMetadata"]["deprecated"] is False
    assert thing_type in names(api.call("list_thing_types", maxResults=250)["thingTypes"], "thingTypeName")
    assert api.error("create_thing_type", thingTypeName="bad name!") == "InvalidRequestException"

    # -- things: attributes, versions, optimistic locking, filters, pagination
    thing = f"{p}-lamp"
    made = api.call("create_thing", thingName=thing, thingTypeName=thing_type,
                    attributePayload={"attributes": {"room": "kitchen"}})
    assert made["thingArn"] == f"{ACCOUNT}:thing/{thing}" and made["thingId"]
    assert api.error("create_thing", thingName=thing, thingTypeName=thing_type,
                     attributePayload={"attributes": {"room": "hall"}}) == "ResourceAlreadyExistsException"
    described = api.call("describe_thing", thingName=thing)
    assert (described["version"], described["attributes"], described["thingTypeName"]) == \
        (1, {"room": "kitchen"}, thing_type)
    api.call("update_thing", thingName=thing, expectedVersion=1,
             attributePayload={"attributes": {"colour": "red"}, "merge": True})
    described = api.call("describe_thing", thingName=thing)
    assert (described["version"], described["attributes"]) == (2, {"room": "kitchen", "colour": "red"})
    assert api.error("update_thing", thingName=thing, expectedVersion=1,
                     attributePayload={"attributes": {"colour": "blue"}}) == "VersionConflictException"
    assert api.error("describe_thing", thingName=f"{p}-ghost") == "ResourceNotFoundException"
    spare = [f"{p}-spare-{i}" for i in range(3)]
    for name in spare:
        api.call("create_thing", thingName=name, attributePayload={"attributes": {"batch": p}})
    assert names(api.call("list_things", attributeName="room", attributeValue="kitchen",
                          thingTypeName=thing_type)["things"], "thingName") == [thing]
    seen, token = [], None
    while True:
        page = api.call("list_things", attributeName="batch", attributeValue=p, maxResults=2,
                        **({"nextToken": token} if token else {}))
        assert len(page["things"]) <= 2
        seen += names(page["things"], "thingName")
        token = page.get("nextToken")
        if not token:
            break
    assert sorted(seen) == sorted(spare)

    # -- static thing groups
    parent, child = f"{p}-building", f"{p}-floor"
    api.call("create_thing_group", thingGroupName=parent)
    made = api.call("create_thing_group", thingGroupName=child, parentGroupName=parent,
                    thingGroupProperties={"thingGroupDescription": "first floor"})
    assert made["thingGroupArn"] == f"{ACCOUNT}:thinggroup/{child}"
    described = api.call("describe_thing_group", thingGroupName=child)
    assert described["thingGroupProperties"]["thingGroupDescription"] == "first floor"
    assert described["thingGroupMetadata"]["parentGroupName"] == parent
    api.call("update_thing_group", thingGroupName=child, expectedVersion=described["version"],
             thingGroupProperties={"thingGroupDescription": "ground floor"})
    assert api.call("describe_thing_group", thingGroupName=child)["thingGroupProperties"][
        "thingGroupDescription"] == "ground floor"
    assert {parent, child} <= set(names(api.call("list_thing_groups", maxResults=250)["thingGroups"], "groupName"))
    api.call("add_thing_to_thing_group", thingGroupName=child, thingName=thing)
    assert api.call("list_things_in_thing_group", thingGroupName=child)["things"] == [thing]
    assert names(api.call("list_thing_groups_for_thing", thingName=thing)["thingGroups"], "groupName") == [child]

    # -- certificates: created, from a CSR, status changes
    made = api.call("create_keys_and_certificate", setAsActive=True)
    cert_id, cert_arn = made["certificateId"], made["certificateArn"]
    assert cert_id == fingerprint(made["certificatePem"]), "certificateId is the SHA-256 of the DER"
    assert cert_arn == f"{ACCOUNT}:cert/{cert_id}" and "PRIVATE KEY" in made["keyPair"]["PrivateKey"]
    assert api.call("describe_certificate", certificateId=cert_id)["certificateDescription"]["status"] == "ACTIVE"
    from_csr = api.call("create_certificate_from_csr", certificateSigningRequest=csr_pem(f"{p}-csr"),
                        setAsActive=False)
    assert api.call("describe_certificate", certificateId=from_csr["certificateId"])[
        "certificateDescription"]["status"] == "INACTIVE"
    api.call("update_certificate", certificateId=from_csr["certificateId"], newStatus="ACTIVE")
    assert api.call("describe_certificate", certificateId=from_csr["certificateId"])[
        "certificateDescription"]["status"] == "ACTIVE"
    listed = names(api.call("list_certificates", pageSize=250)["certificates"], "certificateId")
    assert {cert_id, from_csr["certificateId"]} <= set(listed)
    assert api.error("create_certificate_from_csr", certificateSigningRequest="not a CSR") == \
        "InvalidRequestException"
    assert api.error("update_certificate", certificateId=cert_id, newStatus="SIDEWAYS") == "InvalidRequestException"

    # -- bring your own CA
    code = api.call("get_registration_code")["registrationCode"]
    ca = issue(f"{p}-ca", ca=True)
    verification, _ = issue(code, issuer=ca)
    registered_ca = api.call("register_ca_certificate", caCertificate=pem(ca[0]),
                             verificationCertificate=pem(verification), setAsActive=True)
    ca_id = registered_ca["certificateId"]
    assert api.call("describe_ca_certificate", certificateId=ca_id)["certificateDescription"]["status"] == "ACTIVE"
    assert ca_id in names(api.call("list_ca_certificates", pageSize=250)["certificates"], "certificateId")
    wrong_verification, _ = issue("not-the-code", issuer=ca)
    other_ca = issue(f"{p}-other-ca", ca=True)
    assert api.error("register_ca_certificate", caCertificate=pem(other_ca[0]),
                     verificationCertificate=pem(wrong_verification)) in (
        "CertificateValidationException", "RegistrationCodeValidationException")
    device_cert, _ = issue(f"{p}-byo-device", issuer=ca)
    byo = api.call("register_certificate", certificatePem=pem(device_cert), caCertificatePem=pem(ca[0]),
                   setAsActive=True)
    assert byo["certificateId"] == device_cert.fingerprint(hashes.SHA256()).hex()
    assert names(api.call("list_certificates_by_ca", caCertificateId=ca_id)["certificates"], "certificateId") == \
        [byo["certificateId"]]

    # -- policies and versions
    policy = f"{p}-policy"
    v1 = policy_document({"Effect": "Allow", "Action": "iot:Connect",
                          "Resource": f"{ACCOUNT}:client/${{iot:Connection.Thing.ThingName}}"},
                         {"Effect": "Allow", "Action": "iot:Publish",
                          "Resource": f"{ACCOUNT}:topic/lamps/${{iot:ClientId}}/*"})
    made = api.call("create_policy", policyName=policy, policyDocument=v1)
    assert (made["policyArn"], made["policyVersionId"]) == (f"{ACCOUNT}:policy/{policy}", "1")
    assert api.error("create_policy", policyName=f"{p}-bad", policyDocument='{"Statement": [') == \
        "MalformedPolicyException"
    v2 = policy_document({"Effect": "Allow", "Action": "iot:*", "Resource": "*"})
    assert api.call("create_policy_version", policyName=policy, policyDocument=v2, setAsDefault=True)[
        "policyVersionId"] == "2"
    versions = api.call("list_policy_versions", policyName=policy)["policyVersions"]
    assert {(v["versionId"], v["isDefaultVersion"]) for v in versions} == {("1", False), ("2", True)}
    assert json.loads(api.call("get_policy_version", policyName=policy, policyVersionId="1")["policyDocument"]) \
        == json.loads(v1)
    api.call("set_default_policy_version", policyName=policy, policyVersionId="1")
    got = api.call("get_policy", policyName=policy)
    assert got["defaultVersionId"] == "1" and json.loads(got["policyDocument"]) == json.loads(v1)
    assert api.error("delete_policy_version", policyName=policy, policyVersionId="1") == "DeleteConflictException"
    api.call("delete_policy_version", policyName=policy, policyVersionId="2")
    assert policy in names(api.call("list_policies", pageSize=250)["policies"], "policyName")

    # -- attachments and principals
    api.call("attach_policy", policyName=policy, target=cert_arn)
    assert names(api.call("list_attached_policies", target=cert_arn)["policies"], "policyName") == [policy]
    assert api.call("list_targets_for_policy", policyName=policy)["targets"] == [cert_arn]
    # (Debian's botocore predates thingPrincipalType: a non-exclusive attachment.)
    api.call("attach_thing_principal", thingName=thing, principal=cert_arn)
    assert api.call("list_thing_principals", thingName=thing)["principals"] == [cert_arn]
    assert api.call("list_principal_things", principal=cert_arn)["things"] == [thing]
    assert api.error("delete_policy", policyName=policy) == "DeleteConflictException"

    # -- TestAuthorization: the broker's evaluator; the connection thing is the attached thing
    #    named like the client id
    results = api.call("test_authorization", principal=cert_arn, clientId=thing, authInfos=[
        {"actionType": "CONNECT", "resources": [f"{ACCOUNT}:client/{thing}"]},
        {"actionType": "CONNECT", "resources": [f"{ACCOUNT}:client/someone-else"]},
        {"actionType": "PUBLISH", "resources": [f"{ACCOUNT}:topic/lamps/{thing}/state"]},
    ])["authResults"]
    assert [r["authDecision"] for r in results] == ["ALLOWED", "IMPLICIT_DENY", "ALLOWED"]
    assert names(results[0]["allowed"]["policies"], "policyName") == [policy]

    # -- tags
    group_arn = f"{ACCOUNT}:thinggroup/{parent}"
    api.call("tag_resource", resourceArn=group_arn, tags=[{"Key": "site", "Value": "lab"}, {"Key": "tier", "Value": "1"}])
    api.call("untag_resource", resourceArn=group_arn, tagKeys=["tier"])
    assert api.call("list_tags_for_resource", resourceArn=group_arn)["tags"] == [{"Key": "site", "Value": "lab"}]

    # -- the endpoint
    # The local endpoint: the name the server certificate carries (conftest's `localhost`).
    endpoint = api.call("describe_endpoint", endpointType="iot:Data-ATS")["endpointAddress"]
    assert endpoint == api.call("describe_endpoint")["endpointAddress"] and endpoint
    assert api.error("describe_endpoint", endpointType="iot:Nowhere") == "InvalidRequestException"

    # -- custom authorizers (TestInvokeAuthorizer runs a function: test_19)
    authorizer = f"{p}-auth"
    made = api.call("create_authorizer", authorizerName=authorizer, signingDisabled=True, status="ACTIVE",
                    authorizerFunctionArn=f"arn:aws:lambda:us-east-1:123456789012:function:{p}")
    assert made["authorizerArn"] == f"{ACCOUNT}:authorizer/{authorizer}"
    assert api.call("describe_authorizer", authorizerName=authorizer)["authorizerDescription"]["status"] == "ACTIVE"
    assert authorizer in names(api.call("list_authorizers", pageSize=250)["authorizers"], "authorizerName")
    api.call("set_default_authorizer", authorizerName=authorizer)
    assert api.call("describe_default_authorizer")["authorizerDescription"]["authorizerName"] == authorizer
    assert api.error("delete_authorizer", authorizerName=authorizer) == "DeleteConflictException"
    api.call("clear_default_authorizer")
    api.call("update_authorizer", authorizerName=authorizer, status="INACTIVE")
    api.call("delete_authorizer", authorizerName=authorizer)
    assert api.error("describe_authorizer", authorizerName=authorizer) == "ResourceNotFoundException"

    # -- an operation iotsim does not implement names itself
    assert api.error("list_jobs") == "NotImplementedException"

    # -- taking it all down, with AWS's guards
    assert api.error("delete_certificate", certificateId=cert_id) == "CertificateStateException"
    api.call("detach_thing_principal", thingName=thing, principal=cert_arn)
    api.call("detach_policy", policyName=policy, target=cert_arn)
    api.call("update_certificate", certificateId=cert_id, newStatus="INACTIVE")
    api.call("delete_certificate", certificateId=cert_id)
    assert api.error("describe_certificate", certificateId=cert_id) == "ResourceNotFoundException"
    api.call("update_certificate", certificateId=byo["certificateId"], newStatus="REVOKED")
    api.call("delete_certificate", certificateId=byo["certificateId"])
    api.call("update_ca_certificate", certificateId=ca_id, newStatus="INACTIVE")
    api.call("delete_ca_certificate", certificateId=ca_id)
    api.call("delete_policy", policyName=policy)
    api.call("remove_thing_from_thing_group", thingGroupName=child, thingName=thing)
    assert api.call("list_thing_groups_for_thing", thingName=thing)["thingGroups"] == []
    api.call("delete_thing_group", thingGroupName=child)
    api.call("delete_thing_group", thingGroupName=parent)
    api.call("delete_thing", thingName=thing, expectedVersion=2)
    for name in spare:
        api.call("delete_thing", thingName=name)
    assert api.error("delete_thing_type", thingTypeName=thing_type) == "InvalidRequestException"  # not deprecated
    api.call("deprecate_thing_type", thingTypeName=thing_type)
    assert api.call("describe_thing_type", thingTypeName=thing_type)["thingTypeMetadata"]["deprecated"] is True
    # AWS allows the deletion 5 minutes after deprecation.
    assert api.error("delete_thing_type", thingTypeName=thing_type) == "InvalidRequestException"
