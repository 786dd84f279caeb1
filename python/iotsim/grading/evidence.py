"""Evidence bundles: a signed record of a simulation run, in place of a screenshot.

``make_evidence(sim, key=...)`` (in the student's notebook) collects the trace hash, a trace excerpt,
the devices' counters and a sequence diagram (Mermaid) and signs them with HMAC-SHA256 under the
course key; ``verify_evidence`` (in the grader) recomputes the signature, so a bundle edited by
hand no longer verifies. The signature covers the canonical JSON (sorted keys, no spaces, UTF-8)
of every field except ``signature``.
"""
from __future__ import annotations

import hashlib
import hmac
import json

FORMAT = "iotsim-evidence/1"
_KINDS = ("device_start", "device_connected", "device_disconnected", "fault", "message_received")


class Evidence(dict):
    """The bundle (a dict); displays as JSON in a notebook, so a cell tagged `evidence` carries it."""

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"application/vnd.iotsim.evidence+json": dict(self), "application/json": dict(self),
                "text/plain": json.dumps(self, sort_keys=True)}

    def __repr__(self):
        return json.dumps(self, sort_keys=True)

    def save(self, path) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self, f, indent=1, sort_keys=True)


def _key(key) -> bytes:
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, (bytes, bytearray)) or not key:
        raise ValueError("evidence: key must be a non-empty str or bytes (the course key)")
    return bytes(key)


def canonical(bundle: dict) -> bytes:
    body = {k: v for k, v in bundle.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(bundle: dict, key, key_id: str = "") -> Evidence:
    out = Evidence({k: v for k, v in bundle.items() if k != "signature"})
    mac = hmac.new(_key(key), canonical(out), hashlib.sha256).hexdigest()
    out["signature"] = {"alg": "HMAC-SHA256", "key_id": key_id, "value": mac}
    return out


def diagram(records, devices_max: int = 6, lines_max: int = 40) -> str:
    """A Mermaid sequence diagram of the excerpt: connections, faults and messages."""
    lines = ["sequenceDiagram", "    participant broker"]
    nodes = []
    for r in records:
        if r["node"] != "broker" and r["node"] not in nodes and len(nodes) < devices_max:
            nodes.append(r["node"])
    lines += [f"    participant {n}" for n in nodes]
    for r in records:
        if len(lines) >= lines_max + 2 + len(nodes) or r["node"] not in nodes:
            continue
        t = f"{r['t_s']:.2f}s"
        if r["kind"] == "message_received":
            topic = r["detail"].split(" ", 1)[0]
            lines.append(f"    broker->>{r['node']}: {t} {topic}")
        elif r["kind"] == "device_connected":
            lines.append(f"    {r['node']}->>broker: {t} CONNECT ({r['detail']})")
        elif r["kind"] == "device_disconnected":
            lines.append(f"    Note over {r['node']}: {t} disconnected: {r['detail'][:60]}")
        elif r["kind"] == "fault":
            lines.append(f"    Note over {r['node']}: {t} fault: {r['detail'][:60]}")
    return "\n".join(lines)


def make_evidence(sim, *, key, lab: str = "", student: str = "", note: str = "", key_id: str = "",
                  devices=None, excerpt_max: int = 200) -> Evidence:
    """Signs a finished simulation run for the grader.

    sim: an iotsim.Simulation (run with keep_trace=True); key: the course key (str or bytes);
    lab: the lab id; devices: the device names to keep in the excerpt (default: all).
    The excerpt keeps connections, faults and received messages (payloads cut to 300 bytes).
    """
    records = []
    for r in sim.trace_records():
        if r["kind"] in _KINDS and (devices is None or r["node"] in devices or r["node"] == "broker"):
            records.append({**r, "detail": r["detail"][:300 + 260]})
            if len(records) >= excerpt_max:
                break
    bundle = {
        "format": FORMAT, "lab": lab, "student": student, "note": note,
        "seed": sim.seed, "now_s": sim.now_s, "trace_hash": sim.trace_hash,
        "events_processed": sim.events_processed,
        "devices": [d for d in sim.device_stats() if devices is None or d["name"] in devices],
        "violations": list(sim.violations()),
        "trace_excerpt": records, "diagram": diagram(records),
    }
    return sign(bundle, key, key_id)


def verify_evidence(bundle: dict, key) -> tuple[bool, str]:
    """(True, "") when the bundle's signature is the course key's; else (False, why)."""
    if not isinstance(bundle, dict):
        return False, "the evidence is not a JSON object"
    sig = bundle.get("signature")
    if not isinstance(sig, dict) or sig.get("alg") != "HMAC-SHA256" or not isinstance(sig.get("value"), str):
        return False, "the evidence is not signed (no HMAC-SHA256 signature): make it with iotsim.grading.make_evidence"
    expected = hmac.new(_key(key), canonical(bundle), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sig["value"]):
        return False, ("the signature does not match the content: the evidence was changed after it was signed "
                       "(or signed with another key)")
    if bundle.get("format") != FORMAT:
        return False, f"unknown evidence format {bundle.get('format')!r}"
    return True, ""
