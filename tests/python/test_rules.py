"""Topic rules from Python in the simulator: boto3-shaped control-plane calls, AWS's errors, and
what the actions wrote to the in-memory stand-ins."""
import json

import pytest

import iotsim

ROLE = "arn:aws:iam::123456789012:role/iot"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/alerts"


def sensor_sim(seed=3, **kw):
    sim = iotsim.Simulation(seed=seed, **kw)
    sim.add_device("sensor", publish=dict(topic="sensors/kitchen", interval_s=10, qos=1, count=6,
                                          payload='{"seq":{seq},"temp":{seq}0}'))
    return sim


def test_a_rule_created_from_python_fires_only_when_its_where_clause_holds():
    sim = sensor_sim()
    sim.create_topic_rule("hot", sql="SELECT temp, topic(2) AS room FROM 'sensors/+' WHERE temp > 30",
                          actions=[{"sqs": {"queueUrl": QUEUE_URL, "roleArn": ROLE}}])
    sim.run_until(120)
    bodies = [json.loads(m["body"]) for m in sim.action_outputs().sqs["alerts"]]
    # The sensor publishes temp 10, 20, ..., 60: only 40, 50 and 60 pass WHERE temp > 30.
    assert bodies == [{"temp": 40, "room": "kitchen"}, {"temp": 50, "room": "kitchen"},
                      {"temp": 60, "room": "kitchen"}]


def test_get_and_list_answer_with_boto3s_shapes_and_the_rule_arn():
    sim = iotsim.Simulation(seed=1)
    sim.create_topic_rule("r1", {"sql": "SELECT * FROM 'a/b'", "actions": [], "description": "first"})
    got = sim.get_topic_rule("r1")
    assert got["ruleArn"] == "arn:aws:iot:us-east-1:123456789012:rule/r1"
    assert got["rule"]["ruleName"] == "r1"
    assert got["rule"]["sql"] == "SELECT * FROM 'a/b'"
    assert got["rule"]["description"] == "first"
    listed = sim.list_topic_rules()
    assert [(r["ruleName"], r["topicPattern"], r["ruleDisabled"]) for r in listed] == [("r1", "a/b", False)]


def test_a_disabled_rule_stops_firing_and_an_enabled_one_fires_again():
    sim = sensor_sim()
    sim.create_topic_rule("all", sql="SELECT * FROM 'sensors/kitchen'",
                          actions=[{"sns": {"targetArn": "arn:aws:sns:us-east-1:123456789012:temps", "roleArn": ROLE}}])
    sim.run_until(15)  # publishes at ~0 s and ~10 s
    fired = len(sim.action_outputs().sns["temps"])
    sim.disable_topic_rule("all")
    assert sim.list_topic_rules(disabled=True)[0]["ruleName"] == "all"
    sim.run_until(35)
    assert len(sim.action_outputs().sns["temps"]) == fired
    sim.enable_topic_rule("all")
    sim.run_until(60)
    assert len(sim.action_outputs().sns["temps"]) > fired


def test_replace_changes_what_the_rule_selects():
    sim = sensor_sim()
    sim.create_topic_rule("r", sql="SELECT temp FROM 'sensors/#'",
                          actions=[{"kinesis": {"streamName": "s", "partitionKey": "${topic()}", "roleArn": ROLE}}])
    sim.run_until(5)
    sim.replace_topic_rule("r", sql="SELECT seq FROM 'sensors/#'",
                           actions=[{"kinesis": {"streamName": "s", "partitionKey": "${topic()}", "roleArn": ROLE}}])
    sim.run_until(15)
    entries = sim.action_outputs().kinesis["s"]
    assert [json.loads(e["data"]) for e in entries] == [{"temp": 10}, {"seq": 2}]
    assert entries[0]["partitionKey"] == "sensors/kitchen"


def test_a_deleted_rule_is_gone_and_get_raises_unauthorized_as_aws_does():
    sim = iotsim.Simulation(seed=1)
    sim.create_topic_rule("gone", sql="SELECT * FROM 'x'", actions=[])
    sim.delete_topic_rule("gone")
    assert sim.list_topic_rules() == []
    with pytest.raises(iotsim.RuleError) as e:
        sim.get_topic_rule("gone")
    # AWS cannot tell "no such rule" from "no permission on it": GetTopicRule answers 401.
    assert e.value.status == 401
    assert e.value.code == "UnauthorizedException"


@pytest.mark.parametrize("payload, code, fragment", [
    ({"sql": "SELECT * FROM", "actions": []}, "SqlParseException", ""),
    ({"sql": "SELECT nosuchfunction(a) FROM 'x'", "actions": []}, "SqlParseException", "nosuchfunction"),
    ({"sql": "SELECT * FROM 'x'", "actions": [{"s3": {"bucketName": "b", "roleArn": ROLE}}]},
     "InvalidRequestException", "key"),
    ({"sql": "SELECT * FROM 'x'", "actions": [{"s3": {"bucketName": "b", "key": "${", "roleArn": ROLE}}]},
     "InvalidRequestException", ""),
])
def test_invalid_rules_are_refused_at_create_time_with_awss_error_type(payload, code, fragment):
    sim = iotsim.Simulation(seed=1)
    with pytest.raises(iotsim.RuleError) as e:
        sim.create_topic_rule("bad", payload)
    assert e.value.status == 400
    assert e.value.code == code
    assert fragment in e.value.message
    assert sim.list_topic_rules() == []


def test_creating_a_rule_twice_is_a_conflict():
    sim = iotsim.Simulation(seed=1)
    sim.create_topic_rule("twice", sql="SELECT * FROM 'x'", actions=[])
    with pytest.raises(iotsim.RuleError) as e:
        sim.create_topic_rule("twice", sql="SELECT * FROM 'x'", actions=[])
    assert e.value.code == "ResourceAlreadyExistsException"
    assert e.value.status == 409


def test_an_injected_action_failure_goes_to_the_error_action_with_awss_failure_document():
    sim = sensor_sim()
    sim.create_topic_rule("archive", sql="SELECT * FROM 'sensors/kitchen'",
                          actions=[{"s3": {"bucketName": "archive", "key": "${newuuid()}", "roleArn": ROLE}}],
                          error_action={"cloudwatchLogs": {"logGroupName": "/iot/errors", "roleArn": ROLE}})
    sim.fail_action_resources(["archive"])
    sim.run_until(5)
    out = sim.action_outputs()
    assert out.s3 == {}
    assert [f["type"] for f in out.failures] == ["s3"]
    (logged,) = out.logs["_iot_errors"]  # the group's file name: '/' becomes '_'
    failure = json.loads(logged["message"])
    assert failure["ruleName"] == "archive"
    assert failure["failures"][0]["failedAction"] == "S3Action"
    assert failure["failures"][0]["failedResource"] == "archive"
    sim.fail_action_resources([])
    sim.run_until(15)
    assert len(sim.action_outputs().s3) == 1


def test_every_stand_in_kind_records_what_its_action_was_given():
    sim = iotsim.Simulation(seed=2)
    sim.add_device("d", publish=dict(topic="t/1", interval_s=10, qos=0, count=1, payload='{"v":7}'))
    actions = [
        {"s3": {"bucketName": "b", "key": "k/${topic(2)}.json", "roleArn": ROLE}},
        {"sqs": {"queueUrl": QUEUE_URL, "roleArn": ROLE, "useBase64": True}},
        {"sns": {"targetArn": "arn:aws:sns:us-east-1:123456789012:t", "roleArn": ROLE}},
        {"dynamoDB": {"tableName": "tbl", "hashKeyField": "id", "hashKeyValue": "${v}", "roleArn": ROLE}},
        {"dynamoDBv2": {"putItem": {"tableName": "tbl2"}, "roleArn": ROLE}},
        {"kinesis": {"streamName": "ks", "roleArn": ROLE}},
        {"firehose": {"deliveryStreamName": "fh", "roleArn": ROLE}},
        {"cloudwatchLogs": {"logGroupName": "lg", "roleArn": ROLE}},
        {"cloudwatchMetric": {"metricNamespace": "ns", "metricName": "m", "metricValue": "${v}",
                              "metricUnit": "Count", "roleArn": ROLE}},
        {"lambda": {"functionArn": "arn:aws:lambda:us-east-1:123456789012:function:fn"}},
    ]
    sim.create_topic_rule("every", sql="SELECT v FROM 't/1'", actions=actions)
    sim.run_until(15)  # the device publishes once, one interval after it connects
    out = sim.action_outputs()
    assert out.failures == []
    assert out.s3 == {"b/k/1.json": b'{"v":7}'}
    assert out.sqs["alerts"] == [{"body": "eyJ2Ijo3fQ=="}]
    assert out.sns["t"] == [{"message": '{"v":7}'}]
    assert out.dynamodb["tbl"] == [{"id": "7", "payload": {"v": 7}}]
    assert out.dynamodb["tbl2"] == [{"v": 7}]
    assert out.kinesis["ks"][0]["data"] == '{"v":7}'
    assert out.firehose["fh"] == [{"data": '{"v":7}'}]
    assert out.logs["lg"] == [{"message": '{"v":7}'}]
    assert out.metrics[0]["name"] == "m" and out.metrics[0]["value"] == "7"
    assert out.lambda_["fn"] == [b'{"v":7}']


def test_rules_created_from_python_are_part_of_the_deterministic_trace():
    def run(seed):
        sim = sensor_sim(seed=seed)
        sim.create_topic_rule("r", sql="SELECT * FROM 'sensors/#' WHERE temp >= 20",
                              actions=[{"firehose": {"deliveryStreamName": "f", "roleArn": ROLE}}])
        sim.run_until(90)
        return sim.trace_hash, len(sim.action_outputs().firehose["f"])
    assert run(5) == run(5)
    assert run(5)[1] == 5
    without_rule = sensor_sim(seed=5)
    without_rule.run_until(90)
    assert without_rule.trace_hash != run(5)[0]  # each firing is a rule_action trace record


def test_rule_calls_while_the_broker_is_crashed_raise_service_unavailable():
    sim = iotsim.Simulation(seed=1)
    sim.crash_broker(at_s=1, restart_after_s=10)
    sim.run_until(2)
    with pytest.raises(iotsim.RuleError) as e:
        sim.list_topic_rules()
    assert e.value.status == 503
    sim.run_until(12)
    assert sim.list_topic_rules() == []


def test_a_python_function_runs_for_lambda_actions_and_its_exception_reaches_the_error_action():
    sim = sensor_sim()
    seen = []

    def handler(event):
        seen.append(event)
        if event["temp"] >= 40:
            raise RuntimeError("too hot to handle")
        return {"ok": True}

    sim.add_lambda("store_reading", handler)
    sim.create_topic_rule("to_lambda", sql="SELECT * FROM 'sensors/kitchen'",
                          actions=[{"lambda": {"functionArn": "arn:aws:lambda:us-east-1:123456789012:function:store_reading"}}],
                          error_action={"sns": {"targetArn": "arn:aws:sns:us-east-1:123456789012:errors", "roleArn": ROLE}})
    sim.run_until(65)
    assert [e["temp"] for e in seen] == [10, 20, 30, 40, 50, 60]
    errors = [json.loads(m["message"]) for m in sim.action_outputs().sns["errors"]]
    assert len(errors) == 3
    assert "too hot to handle" in errors[0]["failures"][0]["errorMessage"]
    assert errors[0]["failures"][0]["failedAction"] == "LambdaAction"


def test_aws_lambda_in_sql_returns_the_python_functions_answer():
    sim = sensor_sim()
    sim.add_lambda("classify", lambda event: {"level": "high" if event["t"] > 30 else "normal"})
    sim.create_topic_rule("classified", sql_version="2016-03-23",
                          sql="SELECT temp, aws_lambda('arn:aws:lambda:us-east-1:123456789012:function:classify', "
                              "{'t': temp}).level AS level FROM 'sensors/kitchen'",
                          actions=[{"firehose": {"deliveryStreamName": "levels", "roleArn": ROLE}}])
    sim.run_until(40)  # (with seed 3 the sensor publishes at 3.6 s, 13.6 s, ...)
    rows = [json.loads(e["data"]) for e in sim.action_outputs().firehose["levels"]]
    assert rows == [{"temp": 10, "level": "normal"}, {"temp": 20, "level": "normal"},
                    {"temp": 30, "level": "normal"}, {"temp": 40, "level": "high"}]


def test_an_unknown_function_or_a_non_json_result_fails_the_rule():
    sim = sensor_sim()
    sim.add_lambda("broken", lambda event: {1, 2})  # a set is not JSON
    sim.create_topic_rule("r", sql="SELECT * FROM 'sensors/kitchen'",
                          actions=[{"lambda": {"functionArn": "arn:aws:lambda:us-east-1:123456789012:function:nope"}},
                                   {"lambda": {"functionArn": "arn:aws:lambda:us-east-1:123456789012:function:broken"}}])
    sim.run_until(10)  # one message
    failures = sim.action_outputs().failures
    assert [f["resource"].rsplit(":", 1)[-1] for f in failures] == ["nope", "broken"]
    assert "Function not found: nope" in failures[0]["error"]
    assert "not JSON" in failures[1]["error"]
    with pytest.raises(ValueError):
        sim.add_lambda("bad name!", lambda e: e)
