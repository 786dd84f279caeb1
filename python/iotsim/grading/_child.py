"""The sandboxed child: runs one hidden scenario with the student's device code.

Started by sandbox.py as ``python -I _child.py IOTSIM_PARENT_DIR LIMITS_JSON`` in a fresh session, a temporary
working directory holding only the submission's device.py, and resource limits. It reads the
scenario's *setup* (never its expectations, never a lab file) as JSON on stdin, and writes its
observations as one JSON object to the stdout it had at start; the student's prints go to stderr.

Before the student's module is imported an audit hook (PEP 578; it cannot be removed) confines
the process: files may be opened only under the working directory (read and write) and the Python
installation and iotsim package (read only); no subprocesses, no sockets, no ctypes. A violation
ends the process at once with exit code 86 and one line on stderr, so it cannot be caught.
"""
import errno
import json
import os
import sys
import traceback

VIOLATION_EXIT = 86


def _set_limits(limits):
    """Limits first, before anything else is loaded: set here rather than in the parent between fork
    and exec, which is not safe in a grader that starts children from several threads."""
    import resource

    cpu = int(limits["cpu_s"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    mem = int(limits["memory_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    out = int(limits["output_kb"]) * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (out, out))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


_set_limits(json.loads(sys.argv[2]))
_RESULT_FD = os.dup(1)
os.dup2(2, 1)  # the student's print() goes to stderr, never into the result channel

sys.path.insert(0, sys.argv[1])
import iotsim  # noqa: E402  (after the path is set)

_WORKDIR = os.path.realpath(os.getcwd())
_READ_ROOTS = tuple(sorted({os.path.realpath(p) for p in (
    sys.prefix, sys.base_prefix, sys.exec_prefix, sys.argv[1], "/usr/lib/python3", "/usr/lib/python3.11",
    "/usr/local/lib", "/usr/share/zoneinfo", "/etc/localtime", *(p for p in sys.path if p and os.path.isdir(p)))}))
_DENY_ROOTS = tuple(os.path.realpath(p) for p in json.loads(os.environ.get("IOTSIM_GRADE_DENY", "[]")))
_DEVICES = ("/dev/null", "/dev/urandom", "/dev/random")
_FORBIDDEN_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                     "os.forkpty", "socket.connect", "socket.bind", "socket.__new__", "ctypes.dlopen",
                     "ctypes.dlsym", "ctypes.cdata", "os.kill", "os.killpg", "pty.spawn")
_FORBIDDEN_MODULES = ("ctypes", "_ctypes", "subprocess", "socket", "_socket", "multiprocessing", "pty", "mmap")


def _violation(what):
    os.write(2, f"\n[iotsim-sandbox] denied: {what}\n".encode("utf-8", "replace"))
    os._exit(VIOLATION_EXIT)


def _under(path, roots):
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _audit(event, args):
    if event == "open":
        path, mode, flags = args[0], args[1], args[2]
        if isinstance(path, int):
            return
        try:
            real = os.path.realpath(os.fsdecode(path))
        except Exception:  # noqa: BLE001 - an unrepresentable path is refused, not a crash
            _violation(f"open {path!r}")
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC))
        if _under(real, _DENY_ROOTS) or not (_under(real, (_WORKDIR,)) or real in _DEVICES
                                             or (not writing and _under(real, _READ_ROOTS))):
            _violation(f"open {real} (mode {mode!r}) outside the sandbox")
    elif event in ("os.listdir", "os.scandir") and args and args[0] not in (None, ".", ""):
        real = os.path.realpath(os.fsdecode(args[0]))
        if _under(real, _DENY_ROOTS) or not (_under(real, (_WORKDIR,)) or _under(real, _READ_ROOTS)):
            _violation(f"list {real} outside the sandbox")
    elif event == "import" and args[0].split(".")[0] in _FORBIDDEN_MODULES:
        _violation(f"import {args[0]}")
    elif event.startswith(_FORBIDDEN_EVENTS):
        _violation(event)


def _jsonable(value, depth=0):
    """A JSON-safe copy of a student's object (bounded), or its repr."""
    if depth > 6:
        return repr(value)[:200]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {str(k): _jsonable(v, depth + 1) for k, v in list(value.items())[:100]}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, depth + 1) for v in list(value)[:100]]
    return repr(value)[:200]


def _publishes(records, device):
    """(t_s, topic) of each PUBLISH the device wrote (from the trace's packet summaries)."""
    out = []
    for r in records:
        if r["node"] != device or r["kind"] != "bytes_to_broker":
            continue
        for packet in r["detail"].split("; "):
            if packet.startswith("PUBLISH"):
                words = packet.split(" ")
                topic = next((w for w in words[1:] if not (w.startswith("q") and w[1:].isdigit())
                              and not w.startswith("id=") and w not in ("r", "d", "dup", "retain")), "")
                out.append([r["t_s"], topic])
    return out


def _limit_status(e):
    """The sandbox limit an exception comes from (None: the student's own error)."""
    if isinstance(e, MemoryError):
        return "memory"
    if isinstance(e, OSError) and e.errno == errno.EFBIG:  # RLIMIT_FSIZE (Python ignores SIGXFSZ)
        return "output_limit"
    return None


def _student_traceback(e):
    """The exception with the frames of device.py only (the grader's own frames and paths are noise,
    and would make the feedback differ from run to run)."""
    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == "device.py"]
    text = "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames[-5:]))
    return (text + "".join(traceback.format_exception_only(type(e), e)))[-3000:]


def run(setup, module):
    sim = iotsim.Simulation(seed=setup["seed"], **setup.get("network", {}))
    behaviours = {}
    for spec in setup["devices"]:
        spec = dict(spec)
        name = spec.pop("name")
        cls_name = spec.pop("class", None)
        spec["subscribe"] = [tuple(s) for s in spec.get("subscribe", [])]
        if cls_name is not None:
            cls = getattr(module, cls_name, None)
            if cls is None:
                return {"status": "missing_class", "message": f"device.py defines no class {cls_name}"}
            behaviours[name] = cls()
            spec["behaviour"] = behaviours[name]
        sim.add_device(name, **spec)
    for f in setup.get("faults", []):
        f = dict(f)
        kind = f.pop("type")
        if kind == "partition":
            sim.partition(f["devices"], at_s=f["at_s"], duration_s=f.get("duration_s", 0.0))
        elif kind == "crash_device":
            sim.crash_device(f["device"], at_s=f["at_s"], reboot_after_s=f.get("reboot_after_s", 0.0),
                             power_loss=f.get("power_loss", False))
        elif kind == "crash_broker":
            sim.crash_broker(f["at_s"], restart_after_s=f.get("restart_after_s", 5.0))
        else:
            raise ValueError(f"unknown fault type {kind}")
    error = None
    update_errors = []
    try:
        for u in sorted(setup.get("shadow_updates", []), key=lambda u: u["at_s"]):
            sim.run_until(u["at_s"])
            try:
                sim.update_shadow(u["thing"], u["document"])
            except iotsim.ShadowError as e:  # the scenario's own request: never the student's fault
                update_errors.append(f"{u['at_s']} s: {e}")
        sim.run_until(setup["duration_s"])
    except Exception as e:  # noqa: BLE001 - the student's exception is the observation
        error = {"type": type(e).__name__, "message": str(e)[:500], "at_s": sim.now_s,
                 "traceback": _student_traceback(e), "limit": _limit_status(e)}
    records = sim.trace_records()
    status = "ok" if error is None else (error.pop("limit") or "exception")
    obs = {"status": status, "error": error, "now_s": sim.now_s,
           "trace_hash": sim.trace_hash, "devices": {}, "shadows": {},
           "update_errors": update_errors}
    for spec in setup["devices"]:
        name = spec["name"]
        dev = {"stats": sim.device(name), "session": sim.session(name),
               "connects": [r["t_s"] for r in records if r["node"] == name and r["kind"] == "device_connected"],
               "publishes": _publishes(records, name)[:2000],
               "received": [[t, p.decode("utf-8", "replace")[:300]] for t, p in sim.received(name)[:2000]]}
        if name in behaviours:
            dev["state"] = _jsonable(getattr(behaviours[name], "state", None))
        obs["devices"][name] = dev
    for thing in sorted({u["thing"] for u in setup.get("shadow_updates", [])}):
        try:
            obs["shadows"][thing] = sim.get_shadow(thing)
        except Exception as e:  # noqa: BLE001 - e.g. 404: no shadow
            obs["shadows"][thing] = {"error": str(e)}
    obs["excerpt"] = [r for r in records if r["kind"] in ("device_connected", "device_disconnected", "fault",
                                                          "message_received", "device_start")][:80]
    return obs


def main():
    setup = json.loads(sys.stdin.read())
    for name in [m for m in sys.modules if m.split(".")[0] in _FORBIDDEN_MODULES]:
        del sys.modules[name]  # imported by iotsim's own modules: importing them again is an event
    sys.addaudithook(_audit)
    import types
    try:
        module = types.ModuleType("device")
        module.__file__ = "device.py"
        sys.modules["device"] = module
        with open("device.py", encoding="utf-8") as f:
            source = f.read()
        exec(compile(source, "device.py", "exec"), module.__dict__)  # a relative name: stable feedback
    except BaseException as e:  # noqa: BLE001 - a broken submission is an observation
        result = {"status": _limit_status(e) or "import_error", "message": _student_traceback(e)}
    else:
        result = run(setup, module)
    data = json.dumps(result, sort_keys=True).encode()
    with os.fdopen(_RESULT_FD, "wb") as out:
        out.write(data)
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown: student objects' __del__ cannot run after the result


if __name__ == "__main__":
    main()
