"""Fixtures: a real `iotsim serve` process per test or per module, always killed at teardown.

The binary comes from $IOTSIM_BIN (CTest sets it), else <repo>/build/dev/iotsim.
"""

from __future__ import annotations

import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Optional

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from clients import AWS_CREDS, Observer  # noqa: E402

REPO = HERE.parent.parent
READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
READY_LINE = re.compile(
    r"^iotsim: listening mqtt=(?P<mhost>[0-9.]+):(?P<mport>\d+) "
    r"mqtts=(?P<thost>[0-9.]+):(?P<tport>\d+) "
    r"(?:http=[0-9.]+:(?P<hport>\d+) https=[0-9.]+:(?P<sport>\d+) )?(?:wss=[0-9.]+:(?P<wport>\d+) )?"
    r"data-dir=(?P<dir>.+)$")


def iotsim_binary() -> str:
    env = os.environ.get("IOTSIM_BIN")
    if env:
        return env
    return str(REPO / "build" / "dev" / "iotsim")


class Server:
    """One `iotsim serve` process on a data directory; can be stopped, killed and started again."""

    def __init__(self, binary: str, data_dir: Path, log_dir: Path):
        self.binary = binary
        self.data_dir = Path(data_dir)
        self.log_dir = Path(log_dir)
        self.proc: Optional[subprocess.Popen] = None
        self.starts = 0
        self.host = "127.0.0.1"
        self.mqtt_port = 0
        self.mqtts_port = 0
        self.http_port = 0   # 0: the server has no HTTP API (the mosquitto stand-in)
        self.https_port = 0
        self.wss_port = 0
        self.ready_line = ""
        self._stdout_lines: list = []
        self._drain: Optional[threading.Thread] = None
        self.log_path: Optional[Path] = None
        self.log_paths: list = []
        self.exit_expected = False  # False while running: an exit then is a crash
        self.extra_args: list = []  # more `iotsim serve` flags (e.g. --credentials FILE)

    # ---- files the server creates in the data directory -----------------
    @property
    def ca(self) -> str:
        return str(self.data_dir / "root-CA.crt")

    @property
    def device_cert(self) -> str:
        return str(self.data_dir / "device.cert.pem")

    @property
    def device_key(self) -> str:
        return str(self.data_dir / "device.private.key")

    @property
    def tls_files(self) -> dict:
        return {"ca": self.ca, "cert": self.device_cert, "key": self.device_key}

    # ---- process control -------------------------------------------------
    def start(self) -> "Server":
        assert self.proc is None or self.proc.poll() is not None, "server already running"
        if not os.path.exists(self.binary):
            pytest.fail(f"iotsim binary not found at {self.binary}: build it (cmake --preset dev) "
                        f"or set IOTSIM_BIN", pytrace=False)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        self.exit_expected = False
        self.log_path = self.log_dir / f"iotsim-stderr-{self.starts}.log"
        self.log_paths.append(self.log_path)
        # Every HTTP request must be SigV4-signed: besides DATA_DIR/credentials (fresh keys), the
        # server also accepts the fixed test keys of clients.AWS_CREDS, so the tests' boto3 and
        # AWS CLI calls sign with known keys.
        credentials = []
        if "--credentials" not in self.extra_args:
            path = self.log_dir / "test-credentials"
            path.write_text(f"[default]\naws_access_key_id = {AWS_CREDS['AWS_ACCESS_KEY_ID']}\n"
                            f"aws_secret_access_key = {AWS_CREDS['AWS_SECRET_ACCESS_KEY']}\n")
            credentials = ["--credentials", str(path)]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [self.binary, "serve", "--data-dir", str(self.data_dir), "--host", "127.0.0.1",
                 "--mqtt-port", "0", "--mqtts-port", "0", "--http-port", "0", "--https-port", "0",
                 "--wss-port", "0", *credentials, *self.extra_args],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                start_new_session=True)  # own process group: teardown can kill all it spawned
        line = self._read_ready_line()
        m = READY_LINE.match(line)
        if not m:
            self.kill()
            pytest.fail(f"iotsim's first stdout line is not the ready line: {line!r}\n{self.stderr_tail()}",
                        pytrace=False)
        self.ready_line = line
        self.host = m["mhost"]
        self.mqtt_port = int(m["mport"])
        self.mqtts_port = int(m["tport"])
        self.http_port = int(m["hport"] or 0)
        self.https_port = int(m["sport"] or 0)
        self.wss_port = int(m["wport"] or 0)
        self._drain = threading.Thread(target=self._drain_stdout, daemon=True)
        self._drain.start()
        return self

    def _read_ready_line(self) -> str:
        assert self.proc and self.proc.stdout
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        buf = b""
        deadline = time.monotonic() + READY_TIMEOUT_S
        try:
            while b"\n" not in buf:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.kill()
                    pytest.fail(f"iotsim printed no ready line within {READY_TIMEOUT_S} s "
                                f"(stdout so far {buf!r})\n{self.stderr_tail()}", pytrace=False)
                if not sel.select(remaining):
                    continue
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    rc = self.proc.wait(5)
                    pytest.fail(f"iotsim exited with {rc} before it was ready (stdout {buf!r})\n"
                                f"{self.stderr_tail()}", pytrace=False)
                buf += chunk
        finally:
            sel.close()
        first, _, rest = buf.partition(b"\n")
        if rest:
            self._stdout_lines.append(rest.decode(errors="replace"))
        return first.decode(errors="replace").rstrip("\r")

    def _drain_stdout(self) -> None:
        proc = self.proc
        assert proc and proc.stdout
        try:
            while True:
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    return
                self._stdout_lines.append(chunk.decode(errors="replace"))
        except (OSError, ValueError):
            return

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT_S) -> int:
        """Ask for a graceful shutdown; returns the exit code (kills and fails after `timeout`)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.exit_expected = True
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                pytest.fail(f"iotsim did not exit within {timeout} s of signal {sig}", pytrace=False)
        self._reap()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL the server and everything in its process group."""
        if self.proc is None:
            return
        self.exit_expected = True
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self._reap()

    def _reap(self) -> None:
        # The process group may still hold children if the binary spawned any.
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.stdout:
            try:
                self.proc.stdout.close()
            except OSError:
                pass
        if self._drain:
            self._drain.join(2)
            self._drain = None

    def restart(self) -> "Server":
        if self.running:
            self.stop()
        return self.start()

    # ---- diagnostics -----------------------------------------------------
    def stderr_text(self) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def stderr_tail(self, n: int = 60) -> str:
        parts = []
        for p in self.log_paths:
            if p.exists():
                lines = p.read_text(errors="replace").splitlines()[-n:]
                parts.append(f"--- {p.name} (last {len(lines)} lines) ---\n" + "\n".join(lines))
        return "\n".join(parts)

    def __repr__(self) -> str:
        return (f"<iotsim mqtt={self.host}:{self.mqtt_port} mqtts={self.host}:{self.mqtts_port} "
                f"http={self.host}:{self.http_port} dir={self.data_dir}>")

    @property
    def http_url(self) -> str:
        """The iot-data REST endpoint (plain HTTP); skips the test when the server has none."""
        if not self.http_port:
            pytest.skip("this server has no HTTP API (mosquitto stand-in)")
        return f"http://{self.host}:{self.http_port}"


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer", "Assertion `", "assertion failed", "terminate called")


def _finish(srv: Server) -> None:
    """Teardown: the server must still be running, stop on SIGTERM with 0, and have logged no crash."""
    problems = []
    if srv.proc is not None and not srv.exit_expected:
        rc = srv.proc.poll()
        if rc is not None:
            problems.append(f"iotsim exited by itself during the test with status {rc}")
        else:
            try:
                rc = srv.stop(timeout=5)
            except BaseException as err:  # pytest.fail inside stop()
                problems.append(str(err))
            else:
                if rc != 0:
                    problems.append(f"iotsim exited with status {rc} on SIGTERM at teardown")
    srv.kill()
    for path in srv.log_paths:
        text = path.read_text(errors="replace") if path.exists() else ""
        for marker in SANITIZER_MARKERS:
            if marker in text:
                problems.append(f"{path.name} contains {marker!r}")
    if problems:
        pytest.fail("; ".join(problems) + "\n" + srv.stderr_tail(), pytrace=False)


PKI_FILES = ("root-CA.crt", "root-CA.key", "server.cert.pem", "server.private.key",
             "device.cert.pem", "device.private.key")


def _launch(request, tmp_dir: Path, seed: Optional[Path] = None, extra_args: Optional[list] = None) -> Server:
    srv = Server(iotsim_binary(), tmp_dir / "data", tmp_dir)
    srv.extra_args = list(extra_args or [])
    request.addfinalizer(lambda: _finish(srv))
    if seed is not None:
        srv.data_dir.mkdir(parents=True, exist_ok=True)
        for name in PKI_FILES:
            shutil.copy2(seed / name, srv.data_dir / name)
    srv.start()
    return srv


@pytest.fixture(scope="session")
def pki_seed(request, tmp_path_factory) -> Path:
    """The certificates and keys that iotsim generated on its first start in an empty directory.

    Generating RSA keys takes iotsim a second or two; every other server of the session starts on a
    fresh data directory that holds copies of these files (and no iotsim.db), so each test still gets
    fresh broker state without paying for key generation again.
    """
    srv = _launch(request, tmp_path_factory.mktemp("pki-seed"))
    srv.stop()  # the exit code is test_01's business
    for name in PKI_FILES:
        assert (srv.data_dir / name).is_file(), f"iotsim did not create {name} on first start"
    return srv.data_dir


@pytest.fixture
def unseeded_server(request, tmp_path) -> Server:
    """A server started on an empty data directory: it has to create its CA and certificates."""
    return _launch(request, tmp_path)


@pytest.fixture
def server(request, tmp_path, pki_seed) -> Server:
    """A fresh server (fresh iotsim.db, no sessions, no retained messages) for this test only."""
    return _launch(request, tmp_path, pki_seed)


@pytest.fixture(scope="module")
def shared_server(request, tmp_path_factory, pki_seed) -> Server:
    """One server for the whole module; tests isolate themselves with unique topics and client ids."""
    return _launch(request, tmp_path_factory.mktemp("iotsim"), pki_seed)


@pytest.fixture
def srv(shared_server) -> Server:
    """shared_server, restarted if an earlier test killed it, with its log attached on failure."""
    if not shared_server.running:
        shared_server.start()
    return shared_server


@pytest.fixture
def uid() -> str:
    """A short unique token for topics and client ids."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def observer(srv, uid):
    """A client connected before the test acts; `observer.assert_still_served()` proves the broker still works."""
    obs = Observer(srv, f"observer-{uid}")
    try:
        yield obs
    finally:
        obs.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, show the server's stderr next to the test's output."""
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and rep.when in ("call", "setup"):
        servers = {id(v): v for v in getattr(item, "funcargs", {}).values() if isinstance(v, Server)}
        for srv in servers.values():
            rep.sections.append((f"iotsim stderr {srv!r}", srv.stderr_tail()))
