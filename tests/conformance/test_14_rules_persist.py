"""14 Topic rules survive a restart: a rule created and disabled with boto3 (`iot`, --endpoint-url)
is kept in DATA_DIR/iotsim.db and served again, unchanged and still disabled, after the server
restarts on the same data directory."""

import pytest

from clients import unique

CREDS = {"AWS_ACCESS_KEY_ID": "AKIAIOTSIMLOCAL", "AWS_SECRET_ACCESS_KEY": "iotsim-secret"}
ROLE = "arn:aws:iam::123456789012:role/iot-rules"


def boto_iot(srv):
    boto3 = pytest.importorskip("boto3")
    return boto3.client("iot", endpoint_url=srv.http_url, region_name="us-east-1",
                        aws_access_key_id=CREDS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=CREDS["AWS_SECRET_ACCESS_KEY"])


def test_a_created_and_disabled_rule_survives_a_restart(server):
    rule = unique("persist_")  # rule names are [a-zA-Z0-9_]
    sql = "SELECT temp, topic(2) AS device FROM 'sensors/+/data' WHERE temp > 30"
    client = boto_iot(server)
    client.create_topic_rule(ruleName=rule, topicRulePayload={
        "sql": sql, "awsIotSqlVersion": "2016-03-23", "description": "kept on disk",
        "actions": [{"republish": {"topic": "alerts/${topic(2)}", "roleArn": ROLE, "qos": 1}}]})
    client.disable_topic_rule(ruleName=rule)
    before = client.get_topic_rule(ruleName=rule)["rule"]
    assert before["ruleDisabled"] is True

    server.restart()

    client = boto_iot(server)
    got = client.get_topic_rule(ruleName=rule)
    assert got["ruleArn"].endswith(f":rule/{rule}")
    after = got["rule"]
    assert after["sql"] == sql
    assert after["ruleDisabled"] is True
    assert after["awsIotSqlVersion"] == "2016-03-23"
    assert after["description"] == "kept on disk"
    assert after["actions"] == before["actions"]
    assert after["createdAt"] == before["createdAt"]
    listed = {r["ruleName"]: r for r in client.list_topic_rules()["rules"]}
    assert rule in listed
    assert listed[rule]["ruleDisabled"] is True
    assert rule in [r["ruleName"] for r in client.list_topic_rules(ruleDisabled=True)["rules"]]
