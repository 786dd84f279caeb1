"""Device Shadow data plane from Python: in the simulator and against a running ``iotsim serve``.

Both speak AWS's documents: ``get_shadow`` returns the shadow document AWS's GetThingShadow
returns (``state``, ``metadata``, ``version``, ``timestamp``), errors raise :class:`ShadowError`
with AWS's code and message.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class ShadowError(Exception):
    """A rejected shadow request: ``status`` is AWS's code (400, 404, 409, 413, ...)."""

    def __init__(self, status: int, message: str, document: dict | None = None):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.document = document or {}


def _payload(document: Any) -> str:
    if isinstance(document, (bytes, bytearray)):
        return bytes(document).decode("utf-8")
    if isinstance(document, str):
        return document
    return json.dumps(document, separators=(",", ":"))


def _answer(status: int, text: str) -> dict:
    try:
        doc = json.loads(text) if text else {}
    except ValueError:
        doc = {"message": text}
    if status != 200:
        raise ShadowError(status, doc.get("message", ""), doc)
    return doc


class SimulationShadows:
    """Shadow calls on a :class:`iotsim.Simulation` at its current virtual time (mixed into it)."""

    def get_shadow(self, thing: str, *, name: str = "") -> dict:
        """GetThingShadow: the document, or ShadowError (404 when there is none)."""
        return _answer(*self._shadow_call("get", thing, name, ""))

    def update_shadow(self, thing: str, document: Any, *, name: str = "") -> dict:
        """UpdateThingShadow with a request document (dict, JSON text or bytes); returns the
        accepted document. Publishes /update/accepted, /update/documents and /update/delta."""
        return _answer(*self._shadow_call("update", thing, name, _payload(document)))

    def delete_shadow(self, thing: str, *, name: str = "") -> dict:
        """DeleteThingShadow: returns ``{"version": v, "timestamp": t}``."""
        return _answer(*self._shadow_call("delete", thing, name, ""))

    def list_named_shadows(self, thing: str) -> list[str]:
        """ListNamedShadowsForThing, every page: the names of the thing's named shadows."""
        names: list[str] = []
        token = ""
        while True:
            page = _answer(*self._list_named_shadows(thing, token, 100))
            names.extend(page.get("results", []))
            token = page.get("nextToken", "")
            if not token:
                return names


class DataClient:
    """The iot-data REST API of a running ``iotsim serve`` (plain HTTP, ``--http-port``), as the
    AWS SDKs call it: shadows, Publish and retained messages. Standard library only.

        client = iotsim.DataClient("http://127.0.0.1:8080", credentials=(key_id, secret))
        client = iotsim.DataClient(local_server)   # a LocalServer: its URL and credentials
        client.update_shadow("lamp", {"state": {"desired": {"on": True}}})

    Requests are SigV4-signed with `credentials` ``(access key id, secret)``, by default those of
    AWS_SHARED_CREDENTIALS_FILE or of .iotsim/credentials (the default data directory's) when
    that file exists; the server refuses unsigned requests.
    """

    def __init__(self, endpoint_url: Any = "http://127.0.0.1:8080", *, credentials: tuple[str, str] | None = None,
                 timeout_s: float = 10.0):
        if not isinstance(endpoint_url, str):  # a LocalServer
            credentials = credentials or endpoint_url.credentials
            endpoint_url = endpoint_url.http_url
        self.endpoint_url = endpoint_url.rstrip("/")
        self.timeout_s = timeout_s
        if credentials is None:
            from .sigv4 import default_credentials

            credentials = default_credentials()
        self.credentials = credentials

    def _call(self, method: str, path: str, query: dict | None = None, body: bytes | None = None,
              headers: dict | None = None) -> tuple[int, bytes]:
        url = self.endpoint_url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v not in (None, "")},
                                                quote_via=urllib.parse.quote, safe="-_.~")
        headers = dict(headers or {})
        if self.credentials is not None:
            from .sigv4 import sign

            headers.update(sign(method, url, self.credentials, body=body or b""))
        req = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    @staticmethod
    def _thing_path(thing: str) -> str:
        return "/things/" + urllib.parse.quote(thing, safe="") + "/shadow"

    def get_shadow(self, thing: str, *, name: str = "") -> dict:
        return _answer_http(*self._call("GET", self._thing_path(thing), {"name": name}))

    def update_shadow(self, thing: str, document: Any, *, name: str = "") -> dict:
        return _answer_http(*self._call("POST", self._thing_path(thing), {"name": name},
                                        _payload(document).encode("utf-8")))

    def delete_shadow(self, thing: str, *, name: str = "") -> dict:
        return _answer_http(*self._call("DELETE", self._thing_path(thing), {"name": name}))

    def list_named_shadows(self, thing: str) -> list[str]:
        names: list[str] = []
        token = ""
        while True:
            page = _answer_http(*self._call(
                "GET", "/api/things/shadow/ListNamedShadowsForThing/" + urllib.parse.quote(thing, safe=""),
                {"nextToken": token, "pageSize": 100}))
            names.extend(page.get("results", []))
            token = page.get("nextToken", "")
            if not token:
                return names

    def publish(self, topic: str, payload: Any = b"", *, qos: int = 0, retain: bool = False) -> None:
        """Publish (HTTPS publish in AWS): routed like an MQTT PUBLISH."""
        body = payload if isinstance(payload, (bytes, bytearray)) else _payload(payload).encode("utf-8")
        query = {"qos": qos}
        if retain:
            query["retain"] = "true"
        _answer_http(*self._call("POST", "/topics/" + urllib.parse.quote(topic, safe=""), query, bytes(body)))

    def list_retained_messages(self) -> list[dict]:
        """ListRetainedMessages, every page: [{topic, payloadSize, qos, lastModifiedTime}]."""
        out: list[dict] = []
        token = ""
        while True:
            page = _answer_http(*self._call("GET", "/retainedMessage", {"nextToken": token, "maxResults": 200}))
            out.extend(page.get("retainedTopics", []))
            token = page.get("nextToken", "")
            if not token:
                return out

    def get_retained_message(self, topic: str) -> dict:
        """GetRetainedMessage: {topic, payload (base64), qos, lastModifiedTime, ...}."""
        return _answer_http(*self._call("GET", "/retainedMessage/" + urllib.parse.quote(topic, safe="")))


def _answer_http(status: int, body: bytes) -> dict:
    return _answer(status, body.decode("utf-8", "replace"))
