"""Start and stop a local AWS IoT Core endpoint (``iotsim serve``) from Python or a notebook.

    with iotsim.LocalServer() as srv:          # free loopback ports, a fresh data directory
        iot = srv.client("iot")                # boto3, signed with the server's DATA_DIR/credentials
        iot.create_thing(thingName="TutorialTestThing")
        # MQTT over mutual TLS: srv.host, srv.mqtts_port, srv.ca (the local root CA)

The server is the same binary the README starts; this only picks free ports (port 0), waits for
its ``iotsim: listening ...`` line and stops it (SIGTERM, then SIGKILL) when done.
"""
from __future__ import annotations

import http.server
import json
import os
import pathlib
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Sequence

_READY = re.compile(
    r"^iotsim: listening mqtt=(?P<host>[0-9.]+):(?P<mqtt>\d+) mqtts=[0-9.]+:(?P<mqtts>\d+) "
    r"http=[0-9.]+:(?P<http>\d+) https=[0-9.]+:(?P<https>\d+) wss=[0-9.]+:(?P<wss>\d+) data-dir=(?P<dir>.+)$")


def _kill_group(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.wait(5)


def find_binary() -> str:
    """The ``iotsim`` executable: $IOTSIM_BIN, else the one whose build folder holds this package
    (build/<preset>/python/iotsim -> build/<preset>/iotsim), else ``iotsim`` on PATH."""
    env = os.environ.get("IOTSIM_BIN")
    if env:
        return env
    here = pathlib.Path(__file__).resolve().parent
    for candidate in (here.parent.parent / "iotsim", here.parent.parent.parent / "build" / "release" / "iotsim"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return "iotsim"


class LocalServer:
    """One ``iotsim serve`` process on loopback; a context manager. ``data_dir`` None: a fresh
    temporary directory, removed on stop()."""

    def __init__(self, data_dir: str | os.PathLike | None = None, *, binary: str | None = None,
                 ready_timeout_s: float = 30.0, args: Sequence[str] = ()):
        self.binary = binary or find_binary()
        self.args = list(args)  # more `iotsim serve` flags, e.g. ["--credentials", path]
        self._tmp = None if data_dir is not None else tempfile.TemporaryDirectory(prefix="iotsim-")
        self.data_dir = pathlib.Path(data_dir if data_dir is not None else self._tmp.name)
        self.ready_timeout_s = ready_timeout_s
        self.host = "127.0.0.1"
        self.mqtt_port = self.mqtts_port = self.http_port = self.https_port = self.wss_port = 0
        self.proc: subprocess.Popen | None = None
        self._log = None
        self._drain: threading.Thread | None = None
        self._finalizer: weakref.finalize | None = None
        self._functions: dict[str, Callable] = {}
        self._function_server: http.server.ThreadingHTTPServer | None = None

    # ---- local Lambda functions -------------------------------------------
    def add_lambda(self, name: str, fn: Callable[[dict], dict]) -> None:
        """Makes the Python callable ``fn`` the local Lambda function ``name``: what a custom
        authorizer whose ``authorizerFunctionArn`` ends in ``function:<name>`` runs (``fn`` gets
        AWS's authorizer event as a dict and returns AWS's response: ``isAuthenticated``,
        ``principalId``, ``policyDocuments``, ``disconnectAfterInSeconds``,
        ``refreshAfterInSeconds``), and what lambda rule actions and ``aws_lambda()`` call.

        The server runs functions as executables ``DATA_DIR/lambda/<name>``: this writes one that
        hands the event to ``fn`` in this process over loopback HTTP, and returns its answer (an
        exception in ``fn`` fails the invocation, as a failing Lambda does)."""
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
            raise ValueError(f"invalid Lambda function name: {name!r}")
        self._functions[name] = fn
        port = self._serve_functions()
        folder = self.data_dir / "lambda"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        tmp = folder / f".{name}.tmp"
        tmp.write_text(
            f"#!{sys.executable or '/usr/bin/python3'}\n"
            "import sys, urllib.request\n"
            f"request = urllib.request.Request('http://127.0.0.1:{port}/{name}', data=sys.stdin.buffer.read(),"
            " method='POST')\n"
            "with urllib.request.urlopen(request, timeout=30) as answer:\n"
            "    sys.stdout.buffer.write(answer.read())\n")
        tmp.chmod(0o755)
        tmp.replace(path)

    def _serve_functions(self) -> int:
        if self._function_server is None:
            functions = self._functions

            class Handler(http.server.BaseHTTPRequestHandler):
                def do_POST(self):  # noqa: N802 - http.server's name
                    fn = functions.get(self.path.lstrip("/"))
                    body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                    try:
                        if fn is None:
                            raise LookupError(f"no function {self.path}")
                        answer = json.dumps(fn(json.loads(body))).encode()
                        status = 200
                    except Exception as e:  # noqa: BLE001 - reported to the server as a failed invocation
                        answer, status = f"{type(e).__name__}: {e}".encode(), 500
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)

                def log_message(self, *args):
                    pass

            self._function_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            self._function_server.daemon_threads = True
            threading.Thread(target=self._function_server.serve_forever, daemon=True,
                             name="iotsim-functions").start()
        return self._function_server.server_address[1]

    # ---- where to connect -------------------------------------------------
    @property
    def http_url(self) -> str:
        """The control plane and iot-data REST API (plain HTTP): boto3's ``endpoint_url``."""
        return f"http://{self.host}:{self.http_port}"

    @property
    def https_url(self) -> str:
        return f"https://{self.host}:{self.https_port}"

    @property
    def ca(self) -> str:
        """The local root CA (iotsim's stand-in for Amazon Root CA 1)."""
        return str(self.data_dir / "root-CA.crt")

    @property
    def credentials(self) -> tuple[str, str]:
        """``(access key id, secret)`` from DATA_DIR/credentials, which the server writes on
        first start: every request to its HTTP ports must be SigV4-signed with them."""
        from .sigv4 import read_credentials

        return read_credentials(self.data_dir / "credentials")

    def client(self, service: str, **kwargs):
        """A boto3 client (``"iot"``, ``"iot-data"``) for this server: its HTTP URL, us-east-1
        and its credentials, exactly as against AWS but for ``endpoint_url``."""
        import boto3

        key_id, secret = self.credentials
        return boto3.client(service, endpoint_url=self.http_url, region_name="us-east-1", aws_access_key_id=key_id,
                            aws_secret_access_key=secret, **kwargs)

    def aws_env(self) -> dict[str, str]:
        """Environment variables for the AWS CLI (``aws --endpoint-url srv.http_url ...``) run as a
        subprocess: this server's credentials file and region."""
        return {"AWS_SHARED_CREDENTIALS_FILE": str(self.data_dir / "credentials"), "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_PROFILE": "default"}

    @property
    def device_cert(self) -> str:
        return str(self.data_dir / "device.cert.pem")

    @property
    def device_key(self) -> str:
        return str(self.data_dir / "device.private.key")

    @property
    def log_path(self) -> pathlib.Path:
        """The server's stderr (one line per connection event and error)."""
        return self.data_dir / "iotsim-serve.log"

    # ---- what is inside ---------------------------------------------------
    def world(self) -> dict:
        """A snapshot of everything inside the running server (``GET /iotsim/world``): clients
        and their subscriptions, retained topics, shadows, topic rules, things, certificates and
        policies. ``iotsim.diagram.architecture(server)`` draws it."""
        from .diagram import world

        return world(self)

    # ---- process control --------------------------------------------------
    def start(self) -> "LocalServer":
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("the server is already running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [self.binary, "serve", "--data-dir", str(self.data_dir), "--host", self.host, "--mqtt-port", "0",
                 "--mqtts-port", "0", "--http-port", "0", "--https-port", "0", "--wss-port", "0", *self.args],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log, start_new_session=True)
        except OSError as e:
            self._log.close()
            raise RuntimeError(f"cannot start {self.binary}: {e} (build it, or set IOTSIM_BIN)") from e
        line = self._ready_line()
        m = _READY.match(line)
        if not m:
            self.stop()
            raise RuntimeError(f"iotsim serve did not start: {line or self._tail()}")
        self.host = m["host"]
        self.mqtt_port, self.mqtts_port = int(m["mqtt"]), int(m["mqtts"])
        self.http_port, self.https_port = int(m["http"]), int(m["https"])
        self.wss_port = int(m["wss"])
        self._drain = threading.Thread(target=self._drain_stdout, daemon=True)
        self._drain.start()
        # A notebook that fails before stop() must not leave the server running (its own session
        # survives the kernel): stop it when this object goes, or at exit.
        self._finalizer = weakref.finalize(self, _kill_group, self.proc)
        return self

    def stop(self) -> int | None:
        """SIGTERM (a graceful shutdown), SIGKILL after 10 s; returns the exit code."""
        rc = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(5)
            rc = self.proc.returncode
            if self._finalizer is not None:
                self._finalizer.detach()
                self._finalizer = None
            if self._drain is not None:
                self._drain.join(2)  # it ends at EOF, now that the process is gone
                self._drain = None
            if self.proc.stdout:
                self.proc.stdout.close()
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        return rc

    def close(self) -> None:
        """stop(), and remove the temporary data directory if this object made it."""
        self.stop()
        if self._function_server is not None:
            self._function_server.shutdown()
            self._function_server.server_close()
            self._function_server = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "LocalServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.proc is not None and self.proc.poll() is None else "stopped"
        return (f"<iotsim.LocalServer {state} mqtt={self.host}:{self.mqtt_port} mqtts={self.host}:{self.mqtts_port} "
                f"http={self.http_url} data_dir={self.data_dir}>")

    # ---- internals ----------------------------------------------------------
    def _ready_line(self) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        buf = b""
        deadline = time.monotonic() + self.ready_timeout_s
        try:
            while b"\n" not in buf:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.proc.poll() is not None and not sel.select(0):
                    break
                if not sel.select(min(remaining, 0.5)):
                    continue
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
        finally:
            sel.close()
        return buf.partition(b"\n")[0].decode(errors="replace").rstrip("\r")

    def _drain_stdout(self) -> None:
        proc = self.proc
        if proc is None or proc.stdout is None:
            return
        try:
            while os.read(proc.stdout.fileno(), 4096):
                pass
        except (OSError, ValueError):
            pass

    def _tail(self, n: int = 5) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""
