"""Runs one scenario of a submission's device code in an isolated child process.

Isolation without bubblewrap (bubblewrap is used when installed and working: it also hides the
file system): a new session (so a timeout kills every process the child started), resource limits
the child sets first thing (CPU seconds, address space, file size, open files), a wall-clock timeout,
a temporary working directory holding only device.py, an environment holding nothing of the
grader's (no course key, no paths to the lab), and the audit hook of _child.py. The child receives
only the scenario's setup over a pipe; the lab's hidden files are never passed to it.
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time


CHILD = pathlib.Path(__file__).with_name("_child.py")
VIOLATION_EXIT = 86  # _child.py's exit code for a sandbox violation
IOTSIM_PARENT = str(pathlib.Path(__file__).resolve().parents[2])


@dataclasses.dataclass(frozen=True)
class Limits:
    cpu_s: int = 20
    wall_s: float = 30.0
    memory_mb: int = 1024
    output_kb: int = 1024


@dataclasses.dataclass
class ChildResult:
    status: str  # ok, exception, import_error, missing_class, timeout, cpu_limit, memory, output_limit,
    #              violation, crashed (checks.FAILURES words each for the student)
    observations: dict
    stderr: str
    wall_s: float


_BWRAP_OK: bool | None = None


def _bwrap() -> str | None:
    """bubblewrap's path when it is installed and works here (user namespaces may be disabled)."""
    global _BWRAP_OK
    path = shutil.which("bwrap")
    if path and _BWRAP_OK is None:
        probe = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-all", "true"], capture_output=True, timeout=30)
        _BWRAP_OK = probe.returncode == 0
    return path if path and _BWRAP_OK else None


def _command(workdir: str, limits: Limits) -> list[str]:
    python = [sys.executable, "-I", str(CHILD), IOTSIM_PARENT, json.dumps(dataclasses.asdict(limits))]
    bwrap = _bwrap()
    if not bwrap:
        return python
    # Only the Python installation, the iotsim package and the working directory are visible.
    ro = sorted({sys.prefix, sys.base_prefix, "/usr", "/lib", "/lib64", "/etc/alternatives", IOTSIM_PARENT})
    cmd = [bwrap, "--die-with-parent", "--unshare-all", "--new-session", "--proc", "/proc", "--dev", "/dev"]
    for p in ro:
        if os.path.exists(p):
            cmd += ["--ro-bind", p, p]
    return cmd + ["--bind", workdir, workdir, "--chdir", workdir] + python


def run_scenario(device_source: str, setup: dict, limits: Limits, *, deny: list[str] = ()) -> ChildResult:
    """Runs `setup` (a scenario without its expectations) with `device_source` as device.py."""
    with tempfile.TemporaryDirectory(prefix="iotsim-grade-") as tmp:
        workdir = os.path.realpath(tmp)
        pathlib.Path(workdir, "device.py").write_text(device_source, encoding="utf-8")
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
               "HOME": workdir, "TMPDIR": workdir, "IOTSIM_GRADE_DENY": json.dumps([str(d) for d in deny])}
        err_path = pathlib.Path(workdir, ".stderr")
        started = time.monotonic()
        with open(err_path, "wb") as err:
            proc = subprocess.Popen(_command(workdir, limits), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=err, cwd=workdir, env=env, start_new_session=True)
            timed_out = False
            try:
                out, _ = proc.communicate(json.dumps(setup).encode(), timeout=limits.wall_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                out = b""
            finally:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)  # the child's whole session, whatever it started
                except ProcessLookupError:
                    pass
                proc.wait()
        wall = time.monotonic() - started
        with open(err_path, "rb") as f:
            stderr = f.read(64 * 1024).decode("utf-8", "replace")
    rc = proc.returncode
    if timed_out:
        return ChildResult("timeout", {}, stderr, wall)
    if rc == VIOLATION_EXIT:
        return ChildResult("violation", {}, stderr, wall)
    if rc == -signal.SIGXCPU or rc == -signal.SIGKILL and "MemoryError" not in stderr:
        return ChildResult("cpu_limit", {}, stderr, wall)
    if rc == -signal.SIGXFSZ:
        return ChildResult("output_limit", {}, stderr, wall)
    if "MemoryError" in stderr or "std::bad_alloc" in stderr:
        return ChildResult("memory", {}, stderr, wall)
    try:
        obs = json.loads(out.decode())
    except ValueError:
        return ChildResult("crashed", {"returncode": rc}, stderr, wall)
    return ChildResult(obs.get("status", "crashed"), obs, stderr, wall)
