"""Evaluates a behaviour scenario's observations (from the sandboxed child) against its hidden
expectations, in the grader's process. Each evaluator returns (passed, feedback lines)."""
from __future__ import annotations

import json

from .sandbox import ChildResult

# Why a scenario produced no observations, in words for the student.
FAILURES = {
    "timeout": "the simulation did not finish within the wall-clock limit ({wall_s:.0f} s): is there an "
               "infinite loop (or a blocking call) in a hook? Hooks must return quickly.",
    "cpu_limit": "the device code used more than the CPU limit ({cpu_s} s): is there an infinite loop in a hook?",
    "memory": "the device code ran out of memory (limit {memory_mb} MB).",
    "output_limit": "the device code wrote more than {output_kb} KB (prints or files).",
    "violation": "the device code tried to do something the sandbox forbids, and was stopped: {detail}. "
                 "Device code may only use its DeviceContext (no files outside its folder, no lab files, "
                 "no processes, no network). Flagged for review.",
    "import_error": "device.py could not be imported:\n```\n{detail}\n```",
    "missing_class": "{detail}.",
    "crashed": "the simulation process crashed (exit code {detail}).",
}


def failure_text(result: ChildResult, limits) -> str:
    detail = ""
    if result.status == "violation":
        detail = next((line.split("denied: ", 1)[1] for line in result.stderr.splitlines()
                       if "[iotsim-sandbox] denied:" in line), "forbidden operation")
    elif result.status in ("import_error", "missing_class"):
        detail = result.observations.get("message", "").strip()
    elif result.status == "crashed":
        detail = str(result.observations.get("returncode"))
    return FAILURES[result.status].format(detail=detail, wall_s=limits.wall_s, cpu_s=limits.cpu_s,
                                          memory_mb=limits.memory_mb, output_kb=limits.output_kb)


def _exception_text(obs) -> str:
    e = obs["error"]
    return (f"a hook raised {e['type']} at virtual time {e['at_s']:.2f} s, which stopped the simulation "
            f"(hooks must not raise):\n```\n{e['traceback'].strip()}\n```")


def quick_connect_echo(obs: dict, expect: dict) -> tuple[bool, list[str]]:
    dev = obs["devices"][expect["device"]]
    topic, n_min = expect["topic"], expect["min_messages"]
    fmt = expect["payload_format"]
    lines, ok = [], True
    published = [t for _, t in dev["publishes"]]
    on_topic = [t for t in published if t == topic]
    others = sorted({t for t in published if t != topic})
    seen = [json.loads(p) if p.startswith('"') else p for t, p in obs["devices"][expect["watcher"]]["received"]
            if t == topic]
    if len(on_topic) < n_min:
        ok = False
        lines.append(f"expected at least {n_min} PUBLISHes to `{topic}` in {obs['now_s']:.0f} s (one per tick); "
                     f"found {len(on_topic)}." + (f" It published to {', '.join(f'`{t}`' for t in others[:5])} "
                                                  "instead: check the topic (topics are case-sensitive)." if others else ""))
    else:
        lines.append(f"published {len(on_topic)} messages to `{topic}`.")
    want = [fmt.format(n=n) for n in range(1, n_min + 1)]
    got = list(dict.fromkeys(s for s in seen if isinstance(s, str)))  # first arrivals (QoS 1 may repeat)
    if got[:n_min] != want:
        ok = False
        sample = ", ".join(repr(s) for s in seen[:3]) or "nothing"
        lines.append(f"a subscriber to `#` should see the JSON strings {want[0]!r}, {want[1]!r}, ... in order; it saw {sample}.")
    own = [p for t, p in dev["received"] if t == topic]
    if len(own) < n_min:
        ok = False
        lines.append(f"the device should receive its own messages back (subscribe to `{topic}` at QoS 1 on each "
                     f"connection); it received {len(own)}.")
    else:
        lines.append(f"received its own messages back ({len(own)}).")
    return ok, lines


def shadow_converged(obs: dict, expect: dict) -> tuple[bool, list[str]]:
    dev = obs["devices"][expect["device"]]
    shadow = obs["shadows"].get(expect["thing"], {})
    desired = expect["desired"]
    lines, ok = [], True
    state = shadow.get("state", {}) if isinstance(shadow, dict) else {}
    reported = state.get("reported", {})
    wrong = {k: reported.get(k) for k, v in desired.items() if reported.get(k) != v}
    if "delta" in state or wrong:
        ok = False
        lines.append(f"at the end ({obs['now_s']:.0f} s) the shadow still has a delta "
                     f"{json.dumps(state.get('delta', wrong), sort_keys=True)}: desired {json.dumps(desired, sort_keys=True)}, "
                     f"reported {json.dumps(reported, sort_keys=True)}. The lamp must apply every delta and report it back.")
    else:
        lines.append(f"the shadow converged: reported = desired = {json.dumps(desired, sort_keys=True)}.")
    actual = dev.get("state")
    if not isinstance(actual, dict):
        ok = False
        lines.append("LampController has no `state` dict (keep the lamp's actual state in self.state).")
    elif any(actual.get(k) != v for k, v in desired.items()):
        ok = False
        lines.append(f"the lamp's actual state (self.state) is {json.dumps(actual, sort_keys=True)}, not the desired "
                     f"{json.dumps(desired, sort_keys=True)}.")
    connects = dev["connects"]
    if len(connects) < expect.get("min_connects", 1):
        ok = False
        lines.append(f"the lamp connected {len(connects)} times; this scenario's faults need at least "
                     f"{expect['min_connects']} connections.")
    elif len(connects) > 1:
        lines.append(f"the lamp connected {len(connects)} times (it was cut off or rebooted in between).")
    within = expect.get("resync_within_s")
    if within is not None:
        prefix = f"$aws/things/{expect['thing']}/shadow"
        pubs = dev["publishes"]
        missed = [t for t in connects[1:] if not any(t <= pt <= t + within and topic in (prefix + "/get", prefix + "/update")
                                                     for pt, topic in pubs)]
        if missed:
            ok = False
            lines.append(f"after reconnecting at {', '.join(f'{t:.1f} s' for t in missed)} the lamp did not catch up "
                         f"within {within} s (no `{prefix}/get` and no report on `{prefix}/update`): with a clean "
                         f"session the deltas published while it was offline are lost, so it must get the shadow "
                         f"(or report its state) on every connection, not only the first.")
    subs = [f for f, _ in (dev.get("session") or {}).get("subscriptions", [])]
    if not any(f in (f"$aws/things/{expect['thing']}/shadow/update/delta", f"$aws/things/{expect['thing']}/shadow/#",
                     f"$aws/things/{expect['thing']}/shadow/update/#") for f in subs):
        ok = False
        lines.append(f"at the end the lamp is not subscribed to `$aws/things/{expect['thing']}/shadow/update/delta` "
                     f"(its subscriptions: {subs or 'none'}).")
    return ok, lines


EVALUATORS = {"quick_connect_echo": quick_connect_echo, "shadow_converged": shadow_converged}


def evaluate(result: ChildResult, expect: dict, limits) -> tuple[bool, str]:
    """(passed, Markdown feedback) for one behaviour scenario."""
    if result.status not in ("ok", "exception"):
        return False, "Failed: " + failure_text(result, limits)
    obs = result.observations
    if result.status == "exception":
        return False, "Failed: " + _exception_text(obs)
    passed, lines = EVALUATORS[expect["kind"]](obs, expect)
    head = "Passed." if passed else "Failed."
    return passed, head + "\n\n" + "\n".join(f"- {line}" for line in lines) + f"\n\ntrace hash `{obs['trace_hash']}`"
