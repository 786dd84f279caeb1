"""15 Topic rules with real clients: the AWS CLI v2 and boto3 create, replace, disable, enable and
delete rules on the local control plane; messages from mosquitto_pub trigger them; actions write to
the stand-ins in the data directory (read back with `iotsim outputs`); the http action posts to a
real local HTTP server; failing actions reach the errorAction with AWS's failure document."""

import http.server
import json
import subprocess
import threading

import pytest

from clients import AWS_CREDS, MosquittoSub, aws_iot, mosquitto_pub, unique, wait_until

CREDS = AWS_CREDS
ROLE = "arn:aws:iam::123456789012:role/iot-rules"


def iot(srv, tmp_path, *args, expect_rc=0):
    return aws_iot(srv, tmp_path, *args, expect_rc=expect_rc)[0]


def payload_file(tmp_path, payload) -> str:
    f = tmp_path / f"rule-{unique()}.json"
    f.write_text(json.dumps(payload))
    return f"file://{f}"


def queue(name):
    return {"sqs": {"queueUrl": f"https://sqs.us-east-1.amazonaws.com/123456789012/{name}", "roleArn": ROLE}}


def queue_bodies(srv, name):
    f = srv.data_dir / "sqs" / f"{name}.jsonl"
    if not f.exists():
        return []
    return [json.loads(json.loads(line)["body"]) for line in f.read_text().splitlines() if line]


def outputs_cli(srv, *args):
    """`iotsim outputs --data-dir DIR ARGS --json` as a user runs it."""
    p = subprocess.run([srv.binary, "outputs", "--data-dir", str(srv.data_dir), *args, "--json"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


@pytest.fixture
def boto_iot(srv):
    boto3 = pytest.importorskip("boto3")
    return boto3.client("iot", endpoint_url=srv.http_url, region_name="us-east-1",
                        aws_access_key_id=CREDS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=CREDS["AWS_SECRET_ACCESS_KEY"])


def test_aws_cli_creates_replaces_disables_enables_and_deletes_a_rule_that_mosquitto_pub_triggers(srv, tmp_path):
    rule, q, topic = unique("cli_rule_"), unique("cliq-"), f"conf/{unique()}/temp"
    iot(srv, tmp_path, "create-topic-rule", "--rule-name", rule, "--topic-rule-payload",
            payload_file(tmp_path, {"sql": f"SELECT temp FROM '{topic}' WHERE temp > 30", "actions": [queue(q)]}))
    for t in (20, 40):
        assert mosquitto_pub(srv, topic, json.dumps({"temp": t})).returncode == 0
    wait_until(lambda: queue_bodies(srv, q), message="the rule's SQS stand-in entry")
    assert queue_bodies(srv, q) == [{"temp": 40}]  # 20 failed the WHERE clause

    iot(srv, tmp_path, "replace-topic-rule", "--rule-name", rule, "--topic-rule-payload",
            payload_file(tmp_path, {"sql": f"SELECT temp FROM '{topic}' WHERE temp > 50", "actions": [queue(q)]}))
    for t in (45, 60):
        mosquitto_pub(srv, topic, json.dumps({"temp": t}))
    wait_until(lambda: len(queue_bodies(srv, q)) == 2, message="the replaced rule's entry")
    assert queue_bodies(srv, q) == [{"temp": 40}, {"temp": 60}]

    iot(srv, tmp_path, "disable-topic-rule", "--rule-name", rule)
    got = json.loads(iot(srv, tmp_path, "get-topic-rule", "--rule-name", rule).stdout)
    assert got["rule"]["ruleDisabled"] is True
    assert got["rule"]["sql"] == f"SELECT temp FROM '{topic}' WHERE temp > 50"
    assert got["ruleArn"] == f"arn:aws:iot:us-east-1:123456789012:rule/{rule}"
    mosquitto_pub(srv, topic, json.dumps({"temp": 70}))  # disabled: must not fire
    iot(srv, tmp_path, "enable-topic-rule", "--rule-name", rule)
    mosquitto_pub(srv, topic, json.dumps({"temp": 80}))
    wait_until(lambda: len(queue_bodies(srv, q)) == 3, message="the re-enabled rule's entry")
    assert queue_bodies(srv, q) == [{"temp": 40}, {"temp": 60}, {"temp": 80}]

    listed = json.loads(iot(srv, tmp_path, "list-topic-rules", "--topic", topic).stdout)["rules"]
    assert [(r["ruleName"], r["ruleDisabled"]) for r in listed] == [(rule, False)]
    iot(srv, tmp_path, "delete-topic-rule", "--rule-name", rule)
    p = iot(srv, tmp_path, "get-topic-rule", "--rule-name", rule, expect_rc=254)
    assert "UnauthorizedException" in p.stderr
    assert outputs_cli(srv, "sqs", q) == [{"body": json.dumps(b, separators=(",", ":"))}
                                          for b in queue_bodies(srv, q)]


def test_aws_cli_reports_sql_parse_errors_with_awss_exception(srv, tmp_path):
    p = iot(srv, tmp_path, "create-topic-rule", "--rule-name", unique("bad_"), "--topic-rule-payload",
                payload_file(tmp_path, {"sql": "SELECT * FROM 'a' WHERE", "actions": []}), expect_rc=254)
    assert "SqlParseException" in p.stderr


def test_boto3_rule_republishes_selected_fields_that_mosquitto_sub_receives(srv, boto_iot):
    rule, src = unique("boto_rule_"), f"conf/{unique()}/in"
    out = src.replace("/in", "/out")
    boto_iot.create_topic_rule(ruleName=rule, topicRulePayload={
        "sql": f"SELECT upper(name) AS name, temp * 2 AS doubled FROM '{src}' WHERE temp >= 10",
        "awsIotSqlVersion": "2016-03-23",
        "actions": [{"republish": {"topic": out, "qos": 1, "roleArn": ROLE}}]})
    with MosquittoSub(srv, [out]) as sub:
        sub.wait_subscribed()
        mosquitto_pub(srv, src, json.dumps({"name": "low", "temp": 5}))
        mosquitto_pub(srv, src, json.dumps({"name": "kitchen", "temp": 21}))
        (msg,) = sub.wait_messages(1)
    assert json.loads(msg[3]) == {"name": "KITCHEN", "doubled": 42}
    names = [r["ruleName"] for r in boto_iot.list_topic_rules()["rules"]]
    assert rule in names
    boto_iot.delete_topic_rule(ruleName=rule)
    assert rule not in [r["ruleName"] for r in boto_iot.list_topic_rules()["rules"]]


def test_boto3_gets_awss_error_codes_for_bad_rules(srv, boto_iot):
    from botocore.exceptions import ClientError

    def code(**kw):
        with pytest.raises(ClientError) as e:
            boto_iot.create_topic_rule(**kw)
        return e.value.response["Error"]["Code"]

    assert code(ruleName=unique("r_"), topicRulePayload={"sql": "SELECT nosuch(x) FROM 'a'", "actions": []}) \
        == "SqlParseException"
    assert code(ruleName=unique("r_"), topicRulePayload={
        "sql": "SELECT * FROM 'a'", "actions": [{"s3": {"bucketName": "b", "key": "${", "roleArn": ROLE}}]}) \
        == "InvalidRequestException"
    assert code(ruleName="has-dash", topicRulePayload={"sql": "SELECT * FROM 'a'", "actions": []}) \
        == "InvalidRequestException"
    name = unique("dup_")
    boto_iot.create_topic_rule(ruleName=name, topicRulePayload={"sql": "SELECT * FROM 'a'", "actions": []})
    assert code(ruleName=name, topicRulePayload={"sql": "SELECT * FROM 'a'", "actions": []}) \
        == "ResourceAlreadyExistsException"
    boto_iot.delete_topic_rule(ruleName=name)


class _Hook(http.server.BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).received.append((self.path, dict(self.headers), body))
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def hook_server():
    handler = type("Hook", (_Hook,), {"received": [], "status": 200})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, handler
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_the_http_action_posts_the_selected_payload_to_a_local_http_server(srv, boto_iot, hook_server):
    server, handler = hook_server
    rule, topic = unique("http_rule_"), f"conf/{unique()}/motion"
    url = f"http://127.0.0.1:{server.server_address[1]}/hook/${{topic(3)}}"
    boto_iot.create_topic_rule(ruleName=rule, topicRulePayload={
        "sql": f"SELECT motion, clientid() AS device FROM '{topic}' WHERE motion = true",
        "actions": [{"http": {"url": url, "headers": [{"key": "x-iotsim-test", "value": "${topic(2)}"}]}}]})
    mosquitto_pub(srv, topic, json.dumps({"motion": False}))
    mosquitto_pub(srv, topic, json.dumps({"motion": True}), "-i", "sensor-7")
    wait_until(lambda: handler.received, message="the http action's POST")
    (path, headers, body), = handler.received
    assert path == "/hook/motion"
    assert headers["x-iotsim-test"] == topic.split("/")[1]
    assert json.loads(body) == {"motion": True, "device": "sensor-7"}
    boto_iot.delete_topic_rule(ruleName=rule)


def test_a_failing_action_reaches_the_error_action_with_awss_failure_document(srv, boto_iot, hook_server):
    server, handler = hook_server
    handler.status = 500
    rule, topic, errq = unique("failing_"), f"conf/{unique()}/x", unique("errors-")
    boto_iot.create_topic_rule(ruleName=rule, topicRulePayload={
        "sql": f"SELECT * FROM '{topic}'",
        "actions": [{"http": {"url": f"http://127.0.0.1:{server.server_address[1]}/down"}},
                    {"lambda": {"functionArn": "arn:aws:lambda:us-east-1:123456789012:function:missing_fn"}}],
        "errorAction": queue(errq)})
    mosquitto_pub(srv, topic, '{"n":1}', "-i", "dev-err")
    wait_until(lambda: queue_bodies(srv, errq), message="the errorAction's entry")
    (doc,) = queue_bodies(srv, errq)
    assert doc["ruleName"] == rule and doc["topic"] == topic and doc["clientId"] == "dev-err"
    assert json.loads(__import__("base64").b64decode(doc["base64OriginalPayload"])) == {"n": 1}
    failed = {f["failedAction"]: f for f in doc["failures"]}
    assert set(failed) == {"HttpAction", "LambdaAction"}
    assert "500" in failed["HttpAction"]["errorMessage"]
    assert "missing_fn" in failed["LambdaAction"]["errorMessage"]
    boto_iot.delete_topic_rule(ruleName=rule)


def test_a_local_lambda_function_runs_with_the_event_and_an_s3_key_cannot_leave_its_bucket(srv, boto_iot):
    fn = unique("fn_")
    lambdas = srv.data_dir / "lambda"
    lambdas.mkdir(exist_ok=True)
    seen = srv.data_dir / f"{fn}.seen"
    script = lambdas / fn
    script.write_text(f"#!/bin/sh\ncat > '{seen}'\n")
    script.chmod(0o755)
    rule, errq = unique("lam_"), unique("lamerr-")
    bucket = unique("bucket-")
    boto_iot.create_topic_rule(ruleName=rule, topicRulePayload={
        "sql": "SELECT * FROM 'conf/lam/#'",
        "actions": [{"lambda": {"functionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{fn}"}},
                    {"s3": {"bucketName": bucket, "key": "${topic()}", "roleArn": ROLE}}],
        "errorAction": queue(errq)})
    mosquitto_pub(srv, "conf/lam/ok", '{"ok":1}')
    wait_until(lambda: seen.exists() and seen.read_text(), message="the lambda function's run")
    assert json.loads(seen.read_text()) == {"ok": 1}
    wait_until(lambda: (srv.data_dir / "s3" / bucket / "conf" / "lam" / "ok").exists(), message="the S3 object")
    mosquitto_pub(srv, "conf/lam/../../../escape", '{"evil":1}')
    wait_until(lambda: queue_bodies(srv, errq), message="the refused S3 key's errorAction")
    (doc,) = queue_bodies(srv, errq)
    assert [f["failedAction"] for f in doc["failures"]] == ["S3Action"]
    assert not [p for p in srv.data_dir.parent.rglob("escape*")]  # nothing written outside the bucket
    summary = outputs_cli(srv)
    assert summary["s3"][f"{bucket}/conf/lam/ok"] == 1
    boto_iot.delete_topic_rule(ruleName=rule)


def test_aws_lambda_in_sql_runs_the_local_function_and_uses_its_answer(srv, boto_iot):
    fn = unique("classify_")
    lambdas = srv.data_dir / "lambda"
    lambdas.mkdir(exist_ok=True)
    script = lambdas / fn
    # A local function: the input JSON on stdin, the answer JSON on stdout.
    # (sh, not python: it must answer well within aws_lambda()'s 1 s on a busy machine)
    script.write_text("#!/bin/sh\nif grep -q '\"t\":3[1-9]'; then echo '{\"level\":\"high\"}'; "
                      "else echo '{\"level\":\"normal\"}'; fi\n")
    script.chmod(0o755)
    rule, src = unique("lambda_sql_"), f"conf/{unique()}/t"
    out = src + "/classified"
    boto_iot.create_topic_rule(ruleName=rule, topicRulePayload={
        "sql": f"SELECT temp, aws_lambda('arn:aws:lambda:us-east-1:123456789012:function:{fn}', {{'t': temp}}).level "
               f"AS level FROM '{src}'",
        "awsIotSqlVersion": "2016-03-23",
        "actions": [{"republish": {"topic": out, "qos": 1, "roleArn": ROLE}}]})
    with MosquittoSub(srv, [out]) as sub:
        sub.wait_subscribed()
        mosquitto_pub(srv, src, json.dumps({"temp": 35}))
        mosquitto_pub(srv, src, json.dumps({"temp": 12}))
        msgs = sub.wait_messages(2)
    assert [json.loads(m[3]) for m in msgs] == [{"temp": 35, "level": "high"}, {"temp": 12, "level": "normal"}]
    boto_iot.delete_topic_rule(ruleName=rule)
