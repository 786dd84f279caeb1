"""Topic rules from Python: define them in the simulator with the AWS API's shapes, and read what
their actions wrote to the local stand-ins (buckets, queues, tables, streams, metrics, logs).

In the simulator the calls go through the same control-plane router as the server's HTTP port
(what boto3's ``iot`` client calls), so names, SQL and action configurations are validated exactly
as ``aws iot create-topic-rule`` validates them; a rejected call raises :class:`RuleError` with
AWS's error type (``SqlParseException``, ``InvalidRequestException``,
``ResourceAlreadyExistsException``, ``UnauthorizedException`` ...)::

    sim.create_topic_rule("motion", sql="SELECT * FROM 'home/motion' WHERE motion = true",
                          actions=[{"s3": {"bucketName": "events", "key": "${timestamp()}.json",
                                           "roleArn": "arn:aws:iam::123456789012:role/r"}}])
    sim.run_for(60)
    sim.action_outputs().s3        # {"events/1700000000000.json": b'{"motion":true}', ...}

Against a running ``iotsim serve``, create rules with the AWS CLI or boto3 and read the stand-ins
from its data directory with :func:`iotsim.read_outputs` (or ``iotsim outputs`` on the command
line).
"""
from __future__ import annotations

import functools
import json
import re
import urllib.parse
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .outputs import Outputs


_FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _dispatch_lambda(functions: dict, name: str, event: bytes) -> tuple[bool, str]:
    """Runs one local function for the simulator: (True, JSON result) or (False, why)."""
    fn = functions.get(name)
    if fn is None:
        return False, f"Function not found: {name}"
    try:
        argument = json.loads(event)
    except ValueError:
        argument = event
    try:
        result = fn(argument)
    except Exception as e:  # the function's failure, reported like Lambda's Unhandled error
        return False, f"The function {name} raised {type(e).__name__}: {e}"
    try:
        return True, json.dumps(result, separators=(",", ":"))
    except (TypeError, ValueError) as e:
        return False, f"The function {name} returned a result that is not JSON: {e}"


class RuleError(Exception):
    """A rejected topic-rule call: ``status`` (400, 404, 409 ...), AWS's ``code`` (the error type,
    e.g. ``SqlParseException``) and ``message``."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{code}: {message}" if code else message)
        self.status = status
        self.code = code
        self.message = message


def _answer(status: int, body: str) -> dict:
    try:
        doc = json.loads(body) if body else {}
    except ValueError:
        doc = {"message": body}
    if status >= 300:
        code = doc.get("__type") or doc.get("code") or ""
        if not code:
            code = {400: "InvalidRequestException", 404: "ResourceNotFoundException",
                    409: "ConflictingResourceUpdateException", 503: "ServiceUnavailableException"}.get(status, "")
        raise RuleError(status, str(code), str(doc.get("message", "")))
    return doc


def _rule_path(name: str, suffix: str = "") -> str:
    return "/rules/" + urllib.parse.quote(name, safe="") + suffix


def _payload(payload: dict | None, sql: str | None, actions: list | None, error_action: dict | None,
             sql_version: str | None, description: str | None, disabled: bool | None) -> str:
    doc: dict[str, Any] = dict(payload or {})
    if sql is not None:
        doc["sql"] = sql
    if actions is not None:
        doc["actions"] = actions
    elif "actions" not in doc:
        doc["actions"] = []
    if error_action is not None:
        doc["errorAction"] = error_action
    if sql_version is not None:
        doc["awsIotSqlVersion"] = sql_version
    if description is not None:
        doc["description"] = description
    if disabled is not None:
        doc["ruleDisabled"] = disabled
    return json.dumps(doc, separators=(",", ":"))


class SimulationRules:
    """The topic-rule control plane on a :class:`iotsim.Simulation` (mixed into it). Method names
    and shapes follow boto3's ``iot`` client; rules act from the current virtual time on."""

    def create_topic_rule(self, name: str, payload: dict | None = None, *, sql: str | None = None,
                          actions: list | None = None, error_action: dict | None = None,
                          sql_version: str | None = None, description: str | None = None,
                          disabled: bool | None = None) -> None:
        """CreateTopicRule. Pass the TopicRulePayload as ``payload`` (a dict as boto3 takes it) or
        its members as keywords (``sql``, ``actions``, ``error_action`` ...)."""
        body = _payload(payload, sql, actions, error_action, sql_version, description, disabled)
        _answer(*self._rules_call("POST", _rule_path(name), "", body))

    def replace_topic_rule(self, name: str, payload: dict | None = None, *, sql: str | None = None,
                           actions: list | None = None, error_action: dict | None = None,
                           sql_version: str | None = None, description: str | None = None,
                           disabled: bool | None = None) -> None:
        """ReplaceTopicRule: the rule's whole payload is replaced (as AWS does)."""
        body = _payload(payload, sql, actions, error_action, sql_version, description, disabled)
        _answer(*self._rules_call("PATCH", _rule_path(name), "", body))

    def get_topic_rule(self, name: str) -> dict:
        """GetTopicRule: ``{"ruleArn": ..., "rule": {"ruleName", "sql", "actions", ...}}``."""
        return _answer(*self._rules_call("GET", _rule_path(name), "", ""))

    def list_topic_rules(self, *, topic: str | None = None, disabled: bool | None = None) -> list[dict]:
        """ListTopicRules, every page: the rule summaries (ruleName, ruleArn, topicPattern,
        ruleDisabled, createdAt)."""
        rules: list[dict] = []
        token = ""
        while True:
            query = {"maxResults": "100"}
            if topic is not None:
                query["topic"] = topic
            if disabled is not None:
                query["ruleDisabled"] = "true" if disabled else "false"
            if token:
                query["nextToken"] = token
            page = _answer(*self._rules_call("GET", "/rules", urllib.parse.urlencode(query), ""))
            rules.extend(page.get("rules", []))
            token = page.get("nextToken", "")
            if not token:
                return rules

    def enable_topic_rule(self, name: str) -> None:
        """EnableTopicRule."""
        _answer(*self._rules_call("POST", _rule_path(name, "/enable"), "", ""))

    def disable_topic_rule(self, name: str) -> None:
        """DisableTopicRule: the rule stays, and stops firing."""
        _answer(*self._rules_call("POST", _rule_path(name, "/disable"), "", ""))

    def delete_topic_rule(self, name: str) -> None:
        """DeleteTopicRule."""
        _answer(*self._rules_call("DELETE", _rule_path(name), "", ""))

    def add_lambda(self, name: str, fn: Callable[[Any], Any]) -> None:
        """A local function named `name` (the last part of a Lambda ARN,
        ``arn:aws:lambda:us-east-1:123456789012:function:<name>``): rules' ``lambda`` actions call
        ``fn(event)`` and IoT SQL's ``aws_lambda(arn, input)`` returns its result. The event is the
        message's JSON (a dict ...) or bytes for a non-JSON payload; the result must be JSON
        serialisable. An exception is the invocation's failure (the rule's errorAction runs).
        Once any function is added, a lambda action naming an unknown one fails, as on AWS."""
        if not isinstance(name, str) or not _FUNCTION_NAME.fullmatch(name):
            raise ValueError(f"a function name is 1 to 64 of [A-Za-z0-9_-], got {name!r}")
        if not callable(fn):
            raise TypeError("fn must be callable")
        functions = self.__dict__.get("_lambdas")
        if functions is None:
            functions = {}
            # The dispatcher holds the functions, not the simulation (no reference cycle).
            self._set_lambda_handler(functools.partial(_dispatch_lambda, functions))
            self._lambdas = functions
        functions[name] = fn

    def action_outputs(self) -> "Outputs":
        """What the rules' actions wrote to the simulator's in-memory stand-ins, in the shape
        :func:`read_outputs` gives for a server's data directory (needs keep_trace=True)."""
        from .outputs import Outputs

        return Outputs.from_records(self.action_records())
