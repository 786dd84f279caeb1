"""Diagrams of a simulated world, drawn with Graphviz.

:func:`architecture` draws AWS IoT Core's six components (identity and access, device gateway,
message broker, rules engine, Device Shadow, registry; reference §6.3) around a simulation: its
devices, what they subscribe and publish to, their shadows and things, and the rules given.
:func:`sequence` draws a message-sequence diagram (CONNECT, CONNACK, SUBSCRIBE, PUBLISH, PUBACK...)
from a window of the trace. Both return a :class:`Diagram`, which shows inline in Jupyter::

    import iotsim, iotsim.diagram
    sim, duration_s = iotsim.load_scenario("sim/scenarios/lamp_shadow.json")
    sim.run_until(duration_s)
    iotsim.diagram.architecture(sim)                     # SVG in a notebook
    iotsim.diagram.sequence(sim, start_s=160, end_s=170).save("lamp.png")

The DOT text depends only on the world (nodes and edges are sorted), so the same scenario and seed
give the same diagram. Rendering needs Graphviz's ``dot`` (``apt-get install graphviz``).

From the command line (exit code 2 and one line for a bad argument or scenario)::

    python3 -m iotsim.diagram sim/scenarios/quick_connect.json --until 10s --kind sequence -o qc.svg
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["Diagram", "DiagramError", "architecture", "sequence", "world", "main"]

#: The six components of AWS IoT Core, as the diagram names them.
COMPONENTS = ("Identity and access", "Device gateway", "Message broker", "Rules engine", "Device Shadow",
              "Registry")
#: Output formats by file extension.
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}
#: Above this many simulation events the architecture diagram does not read the trace (publish
#: edges and protocol versions come from it); the rest of the diagram does not need it.
TRACE_EVENTS_MAX = 500_000


class DiagramError(RuntimeError):
    """Graphviz is missing or failed to render the diagram."""


class Diagram:
    """A Graphviz diagram: ``dot`` is its source; ``svg()``, ``png()`` and ``save()`` render it."""

    def __init__(self, dot: str):
        self.dot = dot
        self._rendered: dict[str, bytes] = {}

    def render(self, fmt: str) -> bytes:
        """The diagram in a Graphviz output format (``svg``, ``png``, ``pdf``; ``dot`` is the source)."""
        if fmt == "dot":
            return self.dot.encode("utf-8")
        if fmt not in self._rendered:
            exe = shutil.which("dot") or "/usr/bin/dot"
            try:
                done = subprocess.run([exe, "-T" + fmt], input=self.dot.encode("utf-8"), capture_output=True,
                                      timeout=120, check=False)
            except FileNotFoundError:
                raise DiagramError("Graphviz 'dot' not found: apt-get install -y graphviz") from None
            if done.returncode != 0 or not done.stdout:
                message = done.stderr.decode("utf-8", "replace").strip().splitlines()
                raise DiagramError(f"dot -T{fmt} failed: {message[0] if message else done.returncode}")
            self._rendered[fmt] = done.stdout
        return self._rendered[fmt]

    def svg(self) -> bytes:
        return self.render("svg")

    def png(self) -> bytes:
        return self.render("png")

    def save(self, path: str | os.PathLike) -> None:
        """Writes the diagram in the format its extension names (.svg, .png, .pdf, .dot, .gv)."""
        ext = os.path.splitext(os.fspath(path))[1].lower()
        if ext not in FORMATS:
            raise ValueError(f"{os.fspath(path)}: unknown extension {ext!r} (one of {', '.join(FORMATS)})")
        data = self.render(FORMATS[ext])
        with open(path, "wb") as f:
            f.write(data)

    def _repr_svg_(self) -> str:  # Jupyter's inline display
        return self.svg().decode("utf-8")

    def __str__(self) -> str:
        return self.dot

    def __repr__(self) -> str:
        return f"<iotsim.diagram.Diagram: {self.dot.count(chr(10))} lines of DOT>"


# ------------------------------------------------------------------------------------------ DOT text

def quote(text: Any) -> str:
    """A DOT double-quoted string showing `text` literally: backslashes and quotes escaped,
    newlines as centred line breaks, other control characters dropped."""
    s = str(text)
    s = s.replace("\\", "\\\\").replace('"', '\\"')
    s = s.replace("\r\n", "\n").replace("\n", "\\n")
    s = "".join(c for c in s if c >= " " or c == "\t").replace("\t", " ")
    return '"' + s + '"'


def _attrs(**attrs: Any) -> str:
    items = [f"{k}={quote(v)}" for k, v in attrs.items() if v is not None]
    return f" [{', '.join(items)}]" if items else ""


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


class _Ids:
    """Stable DOT node ids (prefix + index) for arbitrary keys, in the order they are first asked for."""

    def __init__(self) -> None:
        self._ids: dict[tuple[str, str], str] = {}

    def __call__(self, prefix: str, key: str) -> str:
        k = (prefix, key)
        if k not in self._ids:
            self._ids[k] = f"{prefix}{sum(1 for p, _ in self._ids if p == prefix)}"
        return self._ids[k]


# ---------------------------------------------------------------------------------- trace helpers

def _packets(detail: str) -> list[str]:
    """The packet summaries of a bytes_to_* record ("PUBLISH q1 id=2 t 5B; PUBACK id=1")."""
    return [p for p in detail.split("; ") if p]


def _connections(records: Iterable[Mapping[str, Any]]) -> dict[int, str]:
    """Connection id -> device name, from the records devices write (their node is the device)."""
    out: dict[int, str] = {}
    for r in records:
        if r["node"] != "broker" and r["connection"] and r["connection"] not in out:
            out[r["connection"]] = r["node"]
    return out


def topic_matches(filter_: str, topic: str) -> bool:
    """AWS's matching rule: `+` one level, `#` any levels below (not the parent: `a/#` does not
    match `a`), and a wildcard in the first level does not match a topic starting with `$`."""
    if topic.startswith("$") and filter_[:1] in ("+", "#"):
        return False
    f, t = filter_.split("/"), topic.split("/")
    for i, level in enumerate(f):
        if level == "#":
            return len(t) > i
        if i >= len(t) or (level != "+" and level != t[i]):
            return False
    return len(f) == len(t)


_SHADOW_TOPIC = re.compile(r"^\$aws/things/([^/]+)/shadow(?:/name/([^/]+))?/(.+)$")
_SHADOW_REQUESTS = {"update", "get", "delete"}


# ----------------------------------------------------------------------------------- architecture

def _rule_parts(rule: Mapping[str, Any] | str) -> tuple[str, str, list[str], list[tuple[str, str]]]:
    """(name, sql, FROM filters, [(action label, target topic or "")]) of a rule given as a dict
    {name, sql, actions: [...]} (AWS's ruleName/topicRulePayload shapes too) or a bare SQL string."""
    if isinstance(rule, str):
        rule = {"sql": rule}
    payload = rule.get("topicRulePayload", rule)
    name = str(rule.get("name", rule.get("ruleName", "rule")))
    sql = str(payload.get("sql", ""))
    froms = re.findall(r"\bFROM\s+(['\"])(.*?)\1", sql, flags=re.IGNORECASE)
    actions: list[tuple[str, str]] = []
    for action in payload.get("actions", []) or []:
        if isinstance(action, Mapping):
            for kind in sorted(action):
                spec = action[kind]
                target = ""
                if isinstance(spec, Mapping):
                    target = str(spec.get("topic", ""))
                    detail = ", ".join(f"{k}={spec[k]}" for k in sorted(spec) if not isinstance(spec[k], (Mapping, list)))
                    label = f"{kind}\n{_short(detail, 50)}" if detail else str(kind)
                else:
                    label = f"{kind}\n{_short(str(spec), 50)}" if spec not in (None, "") else str(kind)
                actions.append((label, target))
        else:
            actions.append((str(action), ""))
    return name, sql, [f for _, f in froms], actions


def _shadows_of(sim: Any, thing: str) -> list[tuple[str, dict | None]]:
    """[(shadow name, "" for the classic shadow; its document)] of a thing in the simulation."""
    from .shadow import ShadowError

    out: list[tuple[str, dict | None]] = []
    try:
        out.append(("", sim.get_shadow(thing)))
    except ShadowError:
        pass
    try:
        names = sim.list_named_shadows(thing)
    except ShadowError:
        names = []
    for name in sorted(names):
        try:
            out.append((name, sim.get_shadow(thing, name=name)))
        except ShadowError:
            out.append((name, None))
    return out


def _shadow_label(thing: str, name: str, doc: dict | None) -> str:
    lines = [f"{thing}" + (f" / {name}" if name else " (classic)")]
    if doc is not None:
        state = doc.get("state", {})
        lines.append(f"version {doc.get('version', '?')}")
        delta = state.get("delta")
        lines.append("delta: " + _short(", ".join(sorted(delta)), 40) if delta else "in sync (no delta)")
    return "\n".join(lines)


def _installed_rules(sim: Any) -> list[dict[str, Any]]:
    """The topic rules installed in a simulation (none while its broker is down)."""
    from .rules import RuleError

    if not hasattr(sim, "list_topic_rules"):
        return []
    try:
        return [{"name": r["ruleName"], **sim.get_topic_rule(r["ruleName"])["rule"]}
                for r in sim.list_topic_rules()]
    except RuleError:
        return []


class _Model:
    """What the architecture diagram draws, collected from a simulation or a server's world."""

    def __init__(self) -> None:
        self.title = ""
        self.devices: list[dict[str, Any]] = []  # {name, lines, connected, protocol}
        self.hidden = 0                            # devices beyond max_devices
        self.published: dict[str, dict[str, int]] = {}  # device -> topic -> highest QoS
        self.subscriptions: dict[str, list[tuple[str, int]]] = {}
        self.retained: set[str] = set()
        self.things: dict[str, str] = {}           # thing name -> label
        self.shadows: dict[tuple[str, str], dict | None] = {}
        self.rules: list[tuple[str, str, list[str], list[tuple[str, str]]]] = []
        self.broker_label = ""
        self.gateway_label = "MQTT 3.1.1 / 5 (8883, 1883)\niot-data HTTPS (8443, 8080)"
        # Extra registry nodes ((prefix, key), attrs) and edges ((prefix, key), (prefix, key), attrs),
        # prefixes "d" device, "c" certificate, "p" policy, "th" thing: identity and attachments.
        self.registry_nodes: list[tuple[tuple[str, str], str]] = []
        self.edges: list[tuple[tuple[str, str], tuple[str, str], str]] = []
        self.notes: list[str] = []


def architecture(source: Any, *, rules: Sequence[Mapping[str, Any] | str] | None = None,
                 things: Sequence[str | Mapping[str, Any]] | None = None, max_devices: int = 40,
                 credentials: tuple[str, str] | None = None, ca: str | None = None) -> Diagram:
    """The architecture of a simulated world or of a running server around AWS IoT Core's six
    components.

    `source` is a :class:`iotsim.Simulation`, a running server (an :class:`iotsim.LocalServer`,
    or the URL of an ``iotsim serve`` HTTP port, e.g. ``"http://127.0.0.1:8080"``), or a world
    snapshot (the dict :func:`world` returns).

    Simulation: devices (``sim.device_stats()``, the first `max_devices` by name, then one node
    for the rest) connect to the device gateway; their subscriptions (``sim.session``) and the
    topics they published to (from the trace) are edges to topic nodes in the message broker, with
    the routes between published topics and the filters that match them. Shadows of the devices
    and of `things` (names, or dicts with ``thingName``/``name``) go under Device Shadow, and the
    things under Registry. `rules`: dicts ``{name, sql, actions}`` (actions as in AWS's
    CreateTopicRule, e.g. ``{"republish": {"topic": "..."}}``) or SQL strings; by default the
    simulation's own topic rules (``sim.list_topic_rules()``).

    Server: the clients the broker knows (connected, or persistent sessions) with their protocol,
    transport, principal and subscriptions; retained topics; every shadow; the topic rules; the
    registry's things, certificates and policies with their attachments (who authenticated as
    which certificate, attached to which thing, allowed by which policy). A server does not
    remember which topics a client published to, so there are no publish edges. `credentials`
    ``(access key id, secret)`` sign the request (default: :func:`world`'s); `ca` is the CA file
    an ``https://`` URL is verified with.
    """
    if isinstance(source, Mapping):
        model = _server_model(source, max_devices)
    elif isinstance(source, str) or hasattr(source, "http_url"):
        model = _server_model(world(source, credentials=credentials, ca=ca), max_devices)
    else:
        model = _simulation_model(source, rules, things, max_devices)
        return _render(model)
    if rules is not None:
        model.rules = [_rule_parts(r) for r in rules]
    for t in things or ():
        name = str(t.get("thingName", t.get("name", ""))) if isinstance(t, Mapping) else str(t)
        if name:
            model.things.setdefault(name, f"thing {name}")
    _add_addressed_shadows(model)
    return _render(model)


WORLD_PATH = "/iotsim/world"


def world(source: Any, *, credentials: tuple[str, str] | None = None, ca: str | None = None,
          timeout_s: float = 10.0) -> dict[str, Any]:
    """A snapshot of everything inside: ``sim.world()`` for a simulation; for a running server
    (a :class:`iotsim.LocalServer` or its HTTP URL), ``GET /iotsim/world`` (iotsim's own,
    read-only; no AWS API lists connected clients), signed with SigV4 when `credentials` are given
    (every request to the server's HTTP ports must be signed; by default a LocalServer signs
    with its DATA_DIR/credentials, a URL with :func:`iotsim.sigv4.default_credentials`)."""
    if not isinstance(source, str) and not hasattr(source, "http_url"):
        return source.world()
    import json
    import urllib.error
    import urllib.request

    url = (source if isinstance(source, str) else source.http_url).rstrip("/") + WORLD_PATH
    if credentials is None:
        from .sigv4 import default_credentials

        # A LocalServer signs with its DATA_DIR/credentials; a URL with the default file.
        credentials = default_credentials() if isinstance(source, str) else source.credentials
    headers: dict[str, str] = {}
    if credentials is not None:
        from .sigv4 import sign

        headers = sign("GET", url, credentials, service="iot")
    try:
        context = None
        if url.startswith("https://"):
            import ssl

            # The local root CA signs the server's certificate (on AWS: Amazon Root CA 1).
            ca = ca or os.environ.get("AWS_CA_BUNDLE") or (
                str(source.ca) if not isinstance(source, str) else os.path.join(".iotsim", "root-CA.crt"))
            context = ssl.create_default_context(cafile=ca if os.path.exists(ca) else None)
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout_s,
                                    context=context) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as e:
        body = e.read().decode("utf-8", "replace")
        try:
            message = json.loads(body).get("message", body)
        except ValueError:
            message = body
        raise DiagramError(f"{url}: HTTP {e.code} {e.headers.get('x-amzn-ErrorType', '')}: {message}".strip()) from None
    except (urllib.error.URLError, OSError) as e:
        raise DiagramError(f"{url}: {getattr(e, 'reason', e)}") from None


def _simulation_model(sim: Any, rules: Sequence[Mapping[str, Any] | str] | None,
                      things: Sequence[str | Mapping[str, Any]] | None, max_devices: int) -> _Model:
    m = _Model()
    stats = sorted(sim.device_stats(), key=lambda d: d["name"])
    shown = stats[:max(0, max_devices)]
    m.hidden = len(stats) - len(shown)
    names = {d["name"] for d in shown}

    # What the trace says: each device's client id and protocol, and the topics it published to.
    client_id: dict[str, str] = {}
    protocol: dict[str, str] = {}
    trace_read = sim.events_processed <= TRACE_EVENTS_MAX
    if trace_read:
        for r in sim.trace_records():
            if r["kind"] != "bytes_to_broker" or r["node"] not in names:
                continue
            for p in _packets(r["detail"]):
                words = p.split()
                if words[0] == "CONNECT" and len(words) >= 3:
                    protocol[r["node"]] = "MQTT " + words[1].lstrip("v")
                    client_id[r["node"]] = words[2].removeprefix("id=")
                elif words[0] == "PUBLISH" and len(words) >= 3:
                    topic = next((w for w in words[2:] if not re.fullmatch(r"id=\d+|retain|dup", w)), "")
                    if topic and not re.fullmatch(r"\d+B", topic):
                        q = int(words[1][1:]) if words[1][1:].isdigit() else 0
                        per = m.published.setdefault(r["node"], {})
                        per[topic] = max(per.get(topic, 0), q)
    else:
        m.notes.append(f"publish edges omitted: more than {TRACE_EVENTS_MAX} events")

    for d in shown:
        name = d["name"]
        session = sim.session(client_id.get(name, name))
        m.subscriptions[name] = sorted(session["subscriptions"]) if session else []
        lines = [name]
        if client_id.get(name, name) != name:
            lines.append(f"client id {client_id[name]}")
        lines.append(" · ".join(x for x in (protocol.get(name), "connected" if d["connected"] else "disconnected") if x))
        lines.append(f"published {d['published']} · received {d['received']}")
        m.devices.append({"name": name, "lines": lines, "connected": d["connected"],
                          "protocol": protocol.get(name, "MQTT")})
    m.retained = set(sim.retained_topics())

    # Things and shadows.
    thing_names: set[str] = set()
    for t in things or ():
        thing_names.add(str(t.get("thingName", t.get("name", ""))) if isinstance(t, Mapping) else str(t))
    thing_names.discard("")
    for thing in sorted(thing_names | names):
        for name, doc in _shadows_of(sim, thing):
            m.shadows[(thing, name)] = doc
    m.things = {t: f"thing {t}" for t in thing_names}
    if rules is None:
        rules = _installed_rules(sim)
    m.rules = [_rule_parts(r) for r in rules or ()]
    _add_addressed_shadows(m)

    m.title = f"iotsim world at t={sim.now_s:g} s (seed {sim.seed})"
    broker = sim.broker_stats()
    if broker.get("running"):
        m.broker_label = (f"broker: {broker.get('connections', 0)} connections\n"
                          f"{broker.get('publishes_received', 0)} publishes in · "
                          f"{broker.get('messages_delivered', 0)} delivered\n{len(m.retained)} retained")
    else:
        m.broker_label = "broker: down (crashed)"
    return m


def _server_model(w: Mapping[str, Any], max_devices: int) -> _Model:
    m = _Model()
    clients = sorted(w.get("clients", []), key=lambda c: c["clientId"])
    shown = clients[:max(0, max_devices)]
    m.hidden = len(clients) - len(shown) + int(w.get("omitted", {}).get("clients", 0))
    registry = w.get("registry", {})
    cert_ids = {c["certificateId"] for c in registry.get("certificates", [])}
    for c in shown:
        name = c["clientId"]
        state = "connected" if c["connected"] else "offline, persistent session" if c["persistent"] else "offline"
        lines = [name, " · ".join(x for x in (c.get("protocol"), c.get("transport"), state) if x)]
        principal = c.get("principal", "")
        if principal and principal not in cert_ids:
            lines.append(f"principal {_short(principal, 30)}")
        if c.get("queued"):
            lines.append(f"{c['queued']} queued")
        m.devices.append({"name": name, "lines": lines, "connected": c["connected"],
                          "protocol": c.get("protocol", "MQTT")})
        m.subscriptions[name] = sorted((s["filter"], int(s["qos"])) for s in c.get("subscriptions", []))
        if principal in cert_ids:
            m.edges.append((("d", name), ("c", principal),
                            _attrs(label="mutual TLS as", color="orange3", style="dashed")))
    m.retained = set(w.get("retainedTopics", []))
    for sh in w.get("shadows", []):
        m.shadows[(sh["thingName"], sh.get("shadowName", ""))] = {"version": sh.get("version"),
                                                                  "state": sh.get("state", {})}
    m.rules = [_rule_parts(r) for r in w.get("rules", [])]

    # Registry: things (with their attributes), certificates (status) and policies, attachments.
    for t in registry.get("things", []):
        attrs = t.get("attributes", {})
        label = f"thing {t['thingName']}" + (f"\ntype {t['thingTypeName']}" if t.get("thingTypeName") else "")
        if attrs:
            label += "\n" + _short(", ".join(f"{k}={v}" for k, v in sorted(attrs.items())), 40)
        m.things[t["thingName"]] = label
        for arn in t.get("principals", []):
            if _cert_id(arn) in cert_ids:
                m.edges.append((("c", _cert_id(arn)), ("th", t["thingName"]),
                                _attrs(label="attached", arrowhead="none", style="dotted")))
    for c in registry.get("certificates", []):
        m.registry_nodes.append((("c", c["certificateId"]), _attrs(
            label=f"certificate {c['certificateId'][:10]}…\n{c['status']}", shape="note",
            style="filled,dashed" if c["status"] != "ACTIVE" else "filled",
            fillcolor="white" if c["status"] == "ACTIVE" else "#eeeeee")))
    for p in registry.get("policies", []):
        m.registry_nodes.append((("p", p["policyName"]), _attrs(label=f"policy {p['policyName']}", shape="tab",
                                                                 style="filled", fillcolor="white")))
        for arn in p.get("targets", []):
            if _cert_id(arn) in cert_ids:
                m.edges.append((("p", p["policyName"]), ("c", _cert_id(arn)),
                                _attrs(label="allows", color="orange3", arrowhead="none")))
    truncated = [k for k, v in registry.get("truncated", {}).items() if v]
    truncated += [k for k, v in w.get("omitted", {}).items() if v and k != "clients"]
    if truncated:
        m.notes.append("lists cut short: " + ", ".join(sorted(truncated)))

    listeners = w.get("listeners", {})
    if listeners:
        m.gateway_label = (f"MQTT 3.1.1 / 5 ({listeners.get('mqtts')}, {listeners.get('mqtt')})\n"
                           f"iot-data HTTPS ({listeners.get('https')}, {listeners.get('http')})")
    b = w.get("broker", {})
    m.broker_label = (f"broker: {b.get('connections', 0)} connections\n"
                      f"{b.get('publishesReceived', 0)} publishes in · {b.get('messagesDelivered', 0)} delivered\n"
                      f"{b.get('retained', 0)} retained")
    m.title = f"iotsim server {w.get('endpoint', '')}".strip()
    return m


def _cert_id(arn: str) -> str:
    """The certificate id of a certificate ARN (...:cert/<id>); the ARN itself otherwise."""
    return arn.rsplit("/", 1)[-1] if ":cert/" in arn else arn


def _add_addressed_shadows(m: _Model) -> None:
    """Shadows the devices' and rules' topics address, even if not created yet (a request still
    in flight); a shadow belongs to a thing."""
    topics_used = {f for subs in m.subscriptions.values() for f, _ in subs} | {
        t for per in m.published.values() for t in per}
    republished = {t.removeprefix("$") for _, _, _, acts in m.rules for _, t in acts if t.startswith("$$")}
    for topic in sorted(topics_used | republished):
        sm = _SHADOW_TOPIC.match(topic)
        if sm and "+" not in sm.group(1) and "#" not in sm.group(1):
            m.shadows.setdefault((sm.group(1), sm.group(2) or ""), None)
    for thing, _ in m.shadows:
        m.things.setdefault(thing, f"thing {thing}")


def _render(m: _Model) -> Diagram:
    ids = _Ids()

    def shadow_id(thing: str, name: str) -> str:
        return ids("s", thing + "\0" + name)

    topics_used = {f for subs in m.subscriptions.values() for f, _ in subs} | {
        t for per in m.published.values() for t in per}
    topics = sorted(topics_used | {f for _, _, froms, _ in m.rules for f in froms} | {
        t for _, _, _, acts in m.rules for _, t in acts if t and not t.startswith("$$")} | m.retained)

    out = ["digraph iotsim_architecture {",
           '  graph [rankdir="LR", compound="true", fontname="Helvetica", fontsize="12", nodesep="0.25", '
           'ranksep="0.9", newrank="true", label=' + quote(m.title) + ', labelloc="t"];',
           '  node [fontname="Helvetica", fontsize="10", shape="box", style="rounded"];',
           '  edge [fontname="Helvetica", fontsize="9"];']

    # Devices, outside the cloud.
    out.append('  subgraph cluster_devices {')
    out.append('    graph [label="Devices", style="dashed", color="gray40"];')
    for d in m.devices:
        out.append(f'    {ids("d", d["name"])}' + _attrs(label="\n".join(d["lines"]),
                                                          style="rounded" if d["connected"] else "rounded,dashed",
                                                          color=None if d["connected"] else "gray50"))
    if m.hidden:
        out.append('    d_more' + _attrs(label=f"… and {m.hidden} more devices", style="rounded,dashed"))
    if not m.devices and not m.hidden:
        out.append('    d_none' + _attrs(label="no devices", style="rounded,dashed"))
    out.append('  }')

    out.append('  subgraph cluster_iot_core {')
    out.append('    graph [label="AWS IoT Core (iotsim)", style="rounded", color="orange3", penwidth="2"];')

    def cluster(key: str, label: str, body: list[str], color: str) -> None:
        out.append(f'    subgraph cluster_{key} {{')
        out.append(f'      graph [label={quote(label)}, style="rounded,filled", fillcolor="{color}", color="gray40"];')
        out.extend("      " + line for line in body)
        out.append('    }')

    cluster("identity", COMPONENTS[0], [
        "identity" + _attrs(label="authentication: X.509 mutual TLS, SigV4\nauthorization: IoT policies")], "#fdf2e9")
    cluster("gateway", COMPONENTS[1], ["gateway" + _attrs(label=m.gateway_label)], "#eaf2f8")

    body = ["broker" + _attrs(label=m.broker_label)]
    for t in topics:
        body.append(ids("t", t) + _attrs(label=t + ("\n(retained)" if t in m.retained else ""), shape="note",
                                         style="filled", fillcolor="white",
                                         peripheries="2" if t in m.retained else None))
    cluster("broker", COMPONENTS[2], body, "#eafaf1")

    body = []
    for i, (name, sql, _, acts) in enumerate(m.rules):
        body.append(f"r{i}" + _attrs(label=f"rule {name}\n{_short(sql, 70)}", shape="component", style="filled",
                                     fillcolor="white"))
        for j, (label, _) in enumerate(acts):
            body.append(f"r{i}a{j}" + _attrs(label=label, shape="cds", style="filled", fillcolor="white"))
    if not m.rules:
        body.append("rules_none" + _attrs(label="no rules", style="rounded,dashed"))
    cluster("rules", COMPONENTS[3], body, "#f4ecf7")

    body = [shadow_id(thing, name) + _attrs(label=_shadow_label(thing, name, doc), shape="folder", style="filled",
                                                 fillcolor="white")
            for (thing, name), doc in sorted(m.shadows.items())]
    if not m.shadows:
        body.append("shadows_none" + _attrs(label="no shadows", style="rounded,dashed"))
    cluster("shadow", COMPONENTS[4], body, "#fef9e7")

    body = [ids("th", thing) + _attrs(label=label, shape="box3d") for thing, label in sorted(m.things.items())]
    body += [ids(*ref) + attrs for ref, attrs in m.registry_nodes]
    if not body:
        body.append("things_none" + _attrs(label="no things given", style="rounded,dashed"))
    cluster("registry", COMPONENTS[5], body, "#f2f3f4")
    out.append('  }')

    # Edges, in a fixed order.
    out.append('  gateway -> identity' + _attrs(label="authenticate, authorize", style="dashed"))
    out.append('  gateway -> broker' + _attrs(label="MQTT packets"))
    for d in m.devices:
        out.append(f'  {ids("d", d["name"])} -> gateway' + _attrs(label=d["protocol"], arrowhead="none",
                                                              style=None if d["connected"] else "dashed"))
    if m.hidden:
        out.append('  d_more -> gateway' + _attrs(arrowhead="none", style="dashed"))
    for d in m.devices:
        for topic, q in sorted(m.published.get(d["name"], {}).items()):
            out.append(f'  {ids("d", d["name"])} -> {ids("t", topic)}' + _attrs(label=f"publish q{q}", color="blue4"))
        for topic, q in m.subscriptions.get(d["name"], []):
            # Drawn device -> topic with the arrow reversed, so that devices stay left of the broker.
            out.append(f'  {ids("d", d["name"])} -> {ids("t", topic)}' + _attrs(label=f"subscribed q{q}", style="dashed",
                                                                                  color="darkgreen", dir="back"))
    # Routes: a published topic delivered to the filters that match it.
    pub_topics = sorted({t for per in m.published.values() for t in per})
    filters = sorted({f for subs in m.subscriptions.values() for f, _ in subs} | {
        f for _, _, froms, _ in m.rules for f in froms})
    for t in pub_topics:
        for f in filters:
            if f != t and topic_matches(f, t):
                out.append(f'  {ids("t", t)} -> {ids("t", f)}' + _attrs(label="matches", style="dotted", color="gray40"))
    # Shadow topics: requests go to the shadow service, answers come from it.
    for t in topics:
        sm = _SHADOW_TOPIC.match(t)
        if sm and (sm.group(1), sm.group(2) or "") in m.shadows:
            sid = shadow_id(sm.group(1), sm.group(2) or "")
            if sm.group(3) in _SHADOW_REQUESTS:
                out.append(f'  {ids("t", t)} -> {sid}' + _attrs(label="request", color="goldenrod4"))
            else:
                out.append(f'  {ids("t", t)} -> {sid}' + _attrs(label="notify", color="goldenrod4", style="dashed",
                                                                dir="back"))
    for i, (_, _, froms, acts) in enumerate(m.rules):
        for f in froms:
            out.append(f'  {ids("t", f)} -> r{i}' + _attrs(label="SELECT ... FROM", color="purple4"))
        for j, (_, target) in enumerate(acts):
            out.append(f'  r{i} -> r{i}a{j}' + _attrs(color="purple4"))
            if target:
                sm = _SHADOW_TOPIC.match(target.removeprefix("$"))
                if target.startswith("$$") and sm and (sm.group(1), sm.group(2) or "") in m.shadows:  # $$: a literal $
                    out.append(f'  r{i}a{j} -> {shadow_id(sm.group(1), sm.group(2) or "")}' +
                               _attrs(label="republish", color="purple4"))
                elif not target.startswith("$$"):
                    out.append(f'  r{i}a{j} -> {ids("t", target)}' + _attrs(label="republish", color="purple4"))
    for thing, name in sorted(m.shadows):
        if thing in m.things:
            out.append(f'  {shadow_id(thing, name)} -> {ids("th", thing)}' + _attrs(arrowhead="none", style="dotted"))
    # Identity: who authenticated as which certificate; attachments (server diagrams).
    for a, b, attrs in m.edges:
        out.append(f"  {ids(*a)} -> {ids(*b)}" + attrs)
    for i, note in enumerate(m.notes):
        out.append(f'  note{i}' + _attrs(label=note, shape="plaintext"))
    out.append("}")
    return Diagram("\n".join(out) + "\n")


# --------------------------------------------------------------------------------------- sequence

_LANE_GAP_MIN = 170.0
_ROW = 26.0
_CHAR = 5.6  # points per character at the label font size (Helvetica 9)


def sequence(sim: Any, *, start_s: float = 0, end_s: float | None = None, nodes: Sequence[str] | None = None,
             max_messages: int = 200, notes: bool = True) -> Diagram:
    """A message-sequence diagram of the trace from start_s to end_s (inclusive; None: the end).

    Lifelines for the broker and the devices (`nodes`: only these devices, in this order); one
    arrow per MQTT packet a node wrote, at the time it wrote it, labelled with the packet's
    summary (``PUBLISH q1 id=2 sdk/test/python 61B``); with `notes`, faults, failed connects and
    disconnections as notes on the lifelines. At most `max_messages` arrows (a last note says how
    many more the window holds).
    """
    if max_messages < 0:
        raise ValueError(f"max_messages must be >= 0, got {max_messages}")
    if end_s is not None and end_s < start_s:
        raise ValueError(f"end_s ({end_s}) is before start_s ({start_s})")
    records = sim.trace_records()
    conns = _connections(records)
    wanted = None if nodes is None else list(dict.fromkeys(nodes))

    def device_of(r: Mapping[str, Any]) -> str | None:
        return r["node"] if r["node"] != "broker" else conns.get(r["connection"])

    # Rows: (t_s, device, direction or None, text). direction "up": device -> broker.
    rows: list[tuple[float, str, str | None, str]] = []
    arrows = more = 0
    device_names = [d["name"] for d in sim.device_stats()]
    for r in records:
        t = r["t_s"]
        if t < start_s or (end_s is not None and t > end_s):
            continue
        kind = r["kind"]
        if kind in ("bytes_to_broker", "bytes_to_device"):
            device = device_of(r)
            if device is None or (wanted is not None and device not in wanted):
                continue
            for p in _packets(r["detail"]):
                if arrows >= max_messages:
                    more += 1
                    continue
                arrows += 1
                rows.append((t, device, "up" if kind == "bytes_to_broker" else "down", p))
        elif notes and kind in ("fault", "connect_failed", "device_disconnected", "close"):
            if kind == "fault":
                words = r["detail"].split()
                device = next((w for w in words[1:] if w in device_names), "broker")
                text = "fault: " + r["detail"]
            elif kind == "close":
                device = device_of(r)
                if r["node"] == "broker" and device is not None:
                    text = "broker closed the connection"
                else:
                    text = r["detail"]
            else:
                device = r["node"]
                text = ("connect failed: " if kind == "connect_failed" else "disconnected: ") + r["detail"]
            if device is None or (device != "broker" and wanted is not None and device not in wanted):
                continue
            if arrows >= max_messages:
                continue
            rows.append((t, device, None, text))

    # Lanes: the devices in the window (in the simulation's order, or nodes'), the broker in the middle.
    present = {d for _, d, _, _ in rows if d != "broker"}
    lanes = [n for n in (wanted if wanted is not None else device_names) if n in present or wanted is not None]
    lanes.insert((len(lanes) + 1) // 2, "broker")
    widest = max([len(text) for _, _, _, text in rows] + [0])
    gap = max(_LANE_GAP_MIN, widest * _CHAR + 30)
    x = {lane: i * gap for i, lane in enumerate(lanes)}
    # The time column, left of the first lane and of the notes centred on it.
    time_x = -max([70.0] + [len(text) * _CHAR / 2 + 45 for _, d, direction, text in rows
                            if direction is None and d == lanes[0]])

    window = f"{start_s:g} s to {'end' if end_s is None else f'{end_s:g} s'}"
    out = ["digraph iotsim_sequence {",
           '  graph [layout="neato", inputscale="72", splines="false", outputorder="edgesfirst", fontname="Helvetica", '
           'fontsize="12", labelloc="t", label=' + quote(f"iotsim trace, {window}: {arrows} packets"
                                                          + (f" (+{more} not shown)" if more else "")) + '];',
           '  node [fontname="Helvetica", fontsize="9", shape="plaintext", margin="0", width="0", height="0"];',
           '  edge [arrowsize="0.6"];']
    bottom = -(len(rows) + 1) * _ROW - (_ROW if more else 0)
    for i, lane in enumerate(lanes):
        out.append(f'  h{i}' + _attrs(label=lane, shape="box", style="rounded,filled",
                                      fillcolor="#fdebd0" if lane == "broker" else "#eaf2f8", fontsize="10",
                                      margin="0.1,0.05", pos=f"{x[lane]:g},0!"))
        out.append(f'  f{i}' + _attrs(label="", shape="point", width="0.01", pos=f"{x[lane]:g},{bottom:g}!"))
        out.append(f'  h{i} -> f{i}' + _attrs(style="dashed", arrowhead="none", color="gray50"))
    for k, (t, device, direction, text) in enumerate(rows):
        y = -(k + 1) * _ROW
        out.append(f'  t{k}' + _attrs(label=f"{t:.3f} s", fontcolor="gray30", pos=f"{time_x:g},{y:g}!"))
        if direction is None:
            out.append(f'  n{k}' + _attrs(label=text, shape="note", style="filled", fillcolor="#fadbd8", margin="0.05,0.02",
                                          pos=f"{x[device]:g},{y:g}!"))
            continue
        src, dst = (device, "broker") if direction == "up" else ("broker", device)
        color = "blue4" if text.startswith("PUBLISH") else "black"
        out.append(f'  a{k}' + _attrs(label="", shape="point", width="0.01", pos=f"{x[src]:g},{y:g}!"))
        out.append(f'  b{k}' + _attrs(label="", shape="point", width="0.01", pos=f"{x[dst]:g},{y:g}!"))
        out.append(f'  a{k} -> b{k}' + _attrs(color=color))
        out.append(f'  m{k}' + _attrs(label=text, fontcolor=color, pos=f"{(x[src] + x[dst]) / 2:g},{y + 8:g}!"))
    if more:
        out.append('  more' + _attrs(label=f"… {more} more packets in the window (max_messages={max_messages})",
                                     fontcolor="gray30", pos=f"{x['broker']:g},{bottom + _ROW / 2:g}!"))
    out.append("}")
    return Diagram("\n".join(out) + "\n")


# -------------------------------------------------------------------------------------------- CLI

_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """Seconds in a scenario duration ("250ms", "30s", "10m", "1.5h"; a bare number is seconds)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ns|us|ms|s|m|h|d)?\s*", text)
    if not m:
        raise ValueError(f"not a duration: {text!r} (e.g. 30s, 5m, 250ms)")
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit code 2 (argparse prints the usage too)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _scenario_diagram(parser: _Parser, args: argparse.Namespace, until_s: float | None, start_s: float,
                      end_s: float | None) -> Diagram:
    if not os.path.isfile(args.scenario):
        parser.error(f"{args.scenario}: no such file")

    from . import ScenarioError, load_scenario

    try:
        sim, duration_s = load_scenario(args.scenario, seed=args.seed)
    except (ScenarioError, ValueError, OSError) as e:
        parser.error(f"{args.scenario}: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
    sim.run_until(duration_s if until_s is None else until_s)
    if args.kind == "architecture":
        return architecture(sim)
    nodes = [n for n in args.nodes.split(",") if n] if args.nodes else None
    if nodes:
        unknown = sorted(set(nodes) - {d["name"] for d in sim.device_stats()})
        if unknown:
            parser.error(f"--nodes: no device named {unknown[0]!r} in {args.scenario}")
    try:
        return sequence(sim, start_s=start_s, end_s=end_s, nodes=nodes, max_messages=args.max_messages)
    except ValueError as e:
        parser.error(str(e))
        raise  # not reached: error() exits


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    """The command line: draws a scenario's world after running it, or a running server's
    (``--endpoint``). Returns the exit code."""
    parser = _Parser(prog=prog or "python3 -m iotsim.diagram",
                     description="Draws the architecture or message sequence of a scenario, or the architecture "
                                 "of a running iotsim server, with Graphviz.")
    parser.add_argument("scenario", nargs="?", help="scenario file (sim/scenarios/*.json)")
    parser.add_argument("--endpoint", help="a running server's HTTP URL instead of a scenario, "
                                           "e.g. http://127.0.0.1:8080 (architecture only)")
    parser.add_argument("--credentials", help="with --endpoint: the AWS credentials file to sign the request with "
                                              "(default: $AWS_SHARED_CREDENTIALS_FILE, else .iotsim/credentials, "
                                              "the default data directory's)")
    parser.add_argument("--profile", help="the credentials profile (default: $AWS_PROFILE, else default)")
    parser.add_argument("--ca", help="with an https:// --endpoint: the CA file to trust (default: $AWS_CA_BUNDLE, "
                                     "else .iotsim/root-CA.crt, the local root CA)")
    parser.add_argument("--seed", type=int, help="overrides the scenario's seed")
    parser.add_argument("--until", help="virtual time to run to (default: the scenario's duration), e.g. 5m")
    parser.add_argument("--kind", choices=("architecture", "sequence"), default="architecture")
    parser.add_argument("--format", choices=("svg", "png", "pdf", "dot"),
                        help="output format (default: from the -o extension, else svg)")
    parser.add_argument("-o", "--output", help="output file (default: standard output)")
    parser.add_argument("--start", default="0s", help="sequence: window start (default 0s)")
    parser.add_argument("--end", help="sequence: window end (default: the end of the run)")
    parser.add_argument("--nodes", help="sequence: comma-separated devices to draw (default: all)")
    parser.add_argument("--max-messages", type=int, default=200, help="sequence: most arrows drawn (default 200)")
    args = parser.parse_args(argv)

    try:
        until_s = None if args.until is None else parse_duration(args.until)
        start_s = parse_duration(args.start)
        end_s = None if args.end is None else parse_duration(args.end)
    except ValueError as e:
        parser.error(str(e))
    if args.max_messages < 0:
        parser.error(f"--max-messages must be >= 0, got {args.max_messages}")
    fmt = args.format
    if fmt is None:
        ext = os.path.splitext(args.output or "")[1].lower()
        if args.output and ext not in FORMATS:
            parser.error(f"cannot tell the format of {args.output!r}: give --format or one of {', '.join(FORMATS)}")
        fmt = FORMATS.get(ext, "svg")
    if (args.scenario is None) == (args.endpoint is None):
        parser.error("give a scenario file or --endpoint URL (one of them)")
    if args.credentials and not args.endpoint:
        parser.error("--credentials goes with --endpoint")

    if args.endpoint:
        if args.kind != "architecture":
            parser.error("--endpoint draws the architecture only (a running server keeps no trace)")
        if not re.match(r"https?://", args.endpoint):
            parser.error(f"--endpoint must be an http:// or https:// URL, got {args.endpoint!r}")
        from .sigv4 import default_credentials, read_credentials

        try:
            credentials = (read_credentials(args.credentials, args.profile or "default") if args.credentials
                           else default_credentials(args.profile))
        except ValueError as e:
            parser.error(f"--credentials {e}")
        try:
            diagram = architecture(args.endpoint, credentials=credentials, ca=args.ca)
        except DiagramError as e:
            print(f"{parser.prog}: {e}", file=sys.stderr)
            return 1
    else:
        diagram = _scenario_diagram(parser, args, until_s, start_s, end_s)
    try:
        data = diagram.render(fmt)
    except DiagramError as e:
        print(f"{parser.prog}: {e}", file=sys.stderr)
        return 1
    if args.output:
        try:
            with open(args.output, "wb") as f:
                f.write(data)
        except OSError as e:
            parser.error(f"{args.output}: {e.strerror or e}")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
