"""Real MQTT clients for the conformance tests: paho-mqtt, mosquitto_pub/mosquitto_sub, awscrt.

Every helper has short timeouts and polls instead of sleeping; every process or thread it starts is
stopped by `close()` (callers use fixtures or try/finally).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import socket
import ssl
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

import rawmqtt

TIMEOUT = 4.0          # for anything the broker should do promptly
QUIET = 0.25           # extra wait after a barrier message when proving something did NOT arrive
MQTTV311 = paho.MQTTv311
MQTTV5 = paho.MQTTv5


def wait_until(pred: Callable[[], bool], timeout: float = TIMEOUT, interval: float = 0.01,
               message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


def unique(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


# --------------------------------------------------------------------------
# TLS contexts for python's ssl module (raw sockets)
# --------------------------------------------------------------------------

def client_tls_context(ca: Optional[str], cert: Optional[str] = None, key: Optional[str] = None,
                       max_version: Optional[ssl.TLSVersion] = None,
                       min_version: Optional[ssl.TLSVersion] = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca:
        ctx.load_verify_locations(ca)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(cert, key)
    if max_version:
        ctx.maximum_version = max_version
    if min_version:
        ctx.minimum_version = min_version
    return ctx


# --------------------------------------------------------------------------
# paho-mqtt
# --------------------------------------------------------------------------

@dataclass
class Message:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    properties: dict = field(default_factory=dict)

    def json(self):
        return json.loads(self.payload)


class PahoClient:
    """paho-mqtt 1.6 client driven by our own network thread (no auto-reconnect, quick stop).

    version: MQTTV311 or MQTTV5. tls: dict(ca=, cert=, key=) or None.
    For MQTT 5, clean=False means Clean Start 0 and session_expiry (default 3600 s) > 0.
    """

    def __init__(self, server, client_id: Optional[str] = None, version: int = MQTTV311,
                 clean: bool = True, tls: Optional[dict] = None, host: Optional[str] = None,
                 keepalive: int = 60, will: Optional[tuple] = None,
                 session_expiry: Optional[int] = None):
        self.server = server
        self.client_id = client_id if client_id is not None else unique("paho-")
        self.version = version
        self.clean = clean
        self.tls = tls
        self.host = host or "127.0.0.1"
        self.port = server.mqtts_port if tls else server.mqtt_port
        self.keepalive = keepalive
        self.session_expiry = session_expiry
        self.messages: "queue.Queue[Message]" = queue.Queue()
        self.received: list = []
        self.connack: Optional[dict] = None
        self.disconnect_rc = None
        self.disconnect_props = None
        self.error: Optional[BaseException] = None
        self.disconnected = threading.Event()
        self.connected = threading.Event()
        self._subacks: dict = {}
        self._unsubacks: set = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        if version == MQTTV5:
            self.c = paho.Client(self.client_id, protocol=MQTTV5, reconnect_on_failure=False)
        else:
            self.c = paho.Client(self.client_id, clean_session=clean, protocol=MQTTV311,
                                 reconnect_on_failure=False)
        if tls:
            self.c.tls_set(ca_certs=tls.get("ca"), certfile=tls.get("cert"), keyfile=tls.get("key"),
                           cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        if will:
            topic, payload, qos, retain = will
            self.c.will_set(topic, payload, qos, retain)
        self.c.max_inflight_messages_set(100)
        self.c.on_connect = self._on_connect
        self.c.on_message = self._on_message
        self.c.on_subscribe = self._on_subscribe
        self.c.on_unsubscribe = self._on_unsubscribe
        self.c.on_disconnect = self._on_disconnect

    # ---- callbacks (network thread) ------------------------------------
    def _on_connect(self, client, userdata, flags, rc, properties=None):
        self.connack = {"session_present": bool(flags.get("session present")),
                        "rc": int(rc.value) if hasattr(rc, "value") else int(rc),
                        "properties": properties}
        if self.connack["rc"] == 0:
            self.connected.set()
        else:
            self.disconnected.set()

    def _on_message(self, client, userdata, msg):
        props = {}
        if getattr(msg, "properties", None) is not None:
            props = msg.properties.json() if hasattr(msg.properties, "json") else {}
        m = Message(msg.topic, bytes(msg.payload), msg.qos, bool(msg.retain), props)
        with self._lock:
            self.received.append(m)
        self.messages.put(m)

    def _on_subscribe(self, client, userdata, mid, granted, properties=None):
        codes = [int(g.value) if hasattr(g, "value") else int(g) for g in granted]
        with self._lock:
            self._subacks[mid] = codes

    def _on_unsubscribe(self, client, userdata, mid, *rest):
        with self._lock:
            self._unsubacks.add(mid)

    def _on_disconnect(self, client, userdata, rc, properties=None):
        self.disconnect_rc = int(rc.value) if hasattr(rc, "value") else int(rc)
        self.disconnect_props = properties
        self.connected.clear()
        self.disconnected.set()

    def _run(self):
        while not self._stop.is_set():
            try:
                rc = self.c.loop(timeout=0.02)
            except (OSError, ValueError) as err:  # e.g. ssl.SSLError: the server refused our certificate
                self.error = err
                rc = paho.MQTT_ERR_CONN_LOST
            if rc != paho.MQTT_ERR_SUCCESS:
                self.connected.clear()
                self.disconnected.set()
                return

    # ---- API -------------------------------------------------------------
    def connect(self, timeout: float = TIMEOUT, expect_success: bool = True) -> dict:
        self.disconnected.clear()
        self.connected.clear()
        self.connack = None
        if self.version == MQTTV5:
            props = Properties(PacketTypes.CONNECT)
            expiry = self.session_expiry if self.session_expiry is not None else (0 if self.clean else 3600)
            if expiry:
                props.SessionExpiryInterval = expiry
            self.c.connect(self.host, self.port, keepalive=self.keepalive, clean_start=self.clean,
                           properties=props)
        else:
            self.c.connect(self.host, self.port, keepalive=self.keepalive)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"paho-{self.client_id}")
        # Tell paho a network thread exists, so publish()/subscribe() from other threads only queue the
        # packet and wake the loop instead of writing to the socket concurrently with it.
        self.c._thread = self._thread
        self._thread.start()
        wait_until(lambda: self.connack is not None or self.disconnected.is_set(), timeout,
                   message=f"CONNACK for {self.client_id}")
        if expect_success:
            assert self.connack is not None, f"{self.client_id}: connection closed without CONNACK"
            assert self.connack["rc"] == 0, f"{self.client_id}: CONNACK refused {self.connack}"
        return self.connack or {}

    def subscribe(self, topics, qos: int = 1, timeout: float = TIMEOUT) -> list:
        """Subscribe to one filter or a list of filters; returns the SUBACK codes."""
        if isinstance(topics, str):
            rc, mid = self.c.subscribe(topics, qos)
            n = 1
        else:
            rc, mid = self.c.subscribe([(t, qos) for t in topics])
            n = len(topics)
        assert rc == paho.MQTT_ERR_SUCCESS, f"subscribe failed locally: {rc}"
        wait_until(lambda: mid in self._subacks, timeout, message=f"SUBACK for {topics}")
        codes = self._subacks.pop(mid)
        assert len(codes) == n
        return codes

    def unsubscribe(self, topic: str, timeout: float = TIMEOUT) -> None:
        rc, mid = self.c.unsubscribe(topic)
        assert rc == paho.MQTT_ERR_SUCCESS
        wait_until(lambda: mid in self._unsubacks, timeout, message=f"UNSUBACK for {topic}")

    def publish(self, topic: str, payload=b"", qos: int = 1, retain: bool = False,
                wait: bool = True, timeout: float = TIMEOUT):
        info = self.c.publish(topic, payload, qos=qos, retain=retain)
        if wait and qos > 0:
            wait_until(info.is_published, timeout, message=f"PUBACK for {topic}")
        return info

    def expect_message(self, topic: Optional[str] = None, timeout: float = TIMEOUT) -> Message:
        """Next message (on `topic`, if given; messages on other topics are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.client_id}: no message on {topic or 'any topic'} within {timeout} s")
            try:
                m = self.messages.get(timeout=remaining)
            except queue.Empty:
                continue
            if topic is None or m.topic == topic:
                return m

    def drain(self) -> list:
        out = []
        while True:
            try:
                out.append(self.messages.get_nowait())
            except queue.Empty:
                return out

    def messages_on(self, topic: str) -> list:
        with self._lock:
            return [m for m in self.received if m.topic == topic]

    def barrier(self, topic: Optional[str] = None, quiet: float = QUIET) -> None:
        """Publish a QoS 1 marker to a topic this client subscribes to and wait for it (plus `quiet`).

        Anything the broker was going to deliver before the marker has then had its chance.
        """
        topic = topic or f"barrier/{self.client_id}"
        if topic not in getattr(self, "_barrier_topics", set()):
            self.subscribe(topic, 1)
            self._barrier_topics = getattr(self, "_barrier_topics", set()) | {topic}
        marker = unique("marker-").encode()
        self.publish(topic, marker, qos=1)
        deadline = time.monotonic() + TIMEOUT
        while True:
            with self._lock:
                if any(m.topic == topic and m.payload == marker for m in self.received):
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.client_id}: barrier message not delivered")
            time.sleep(0.005)
        time.sleep(quiet)

    def _stop_thread(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
        self.c._thread = None

    def disconnect(self, timeout: float = TIMEOUT) -> None:
        """Clean MQTT DISCONNECT."""
        if self._thread is None:
            return
        self.c.disconnect()
        wait_until(self.disconnected.is_set, timeout, message="clean disconnect")
        self._stop_thread()

    def drop(self) -> None:
        """Close the socket without DISCONNECT (what a crashed device or a lost network does)."""
        self._stop_thread()
        sock = self.c.socket()
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                sock.close()
            except OSError:
                pass

    def wait_closed_by_server(self, timeout: float = TIMEOUT) -> None:
        wait_until(self.disconnected.is_set, timeout, message=f"{self.client_id} to be disconnected")

    def close(self) -> None:
        """Teardown: stop the thread and close the socket whatever the state."""
        self._stop_thread()
        sock = self.c.socket()
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Observer:
    """A bystander connected before a test does something hostile; it must still be served afterwards."""

    def __init__(self, server, client_id: str):
        self.server = server
        self.client = PahoClient(server, client_id, MQTTV311)
        self.client.connect()
        self.topic = f"observer/{client_id}"
        assert self.client.subscribe(self.topic, 1) == [1]

    def assert_still_served(self) -> None:
        payload = unique("still-alive-").encode()
        assert self.client.connected.is_set(), "the bystander client was disconnected"
        self.client.publish(self.topic, payload, qos=1)
        m = self.client.expect_message(self.topic)
        assert m.payload == payload
        # and a brand-new connection is accepted too
        with PahoClient(self.server, unique("late-")) as late:
            late.connect()
            late.disconnect()

    def close(self) -> None:
        self.client.close()


# --------------------------------------------------------------------------
# mosquitto_pub / mosquitto_sub
# --------------------------------------------------------------------------

def mosquitto_args(server, version: str = "mqttv311", tls: bool = False, host: Optional[str] = None) -> list:
    host = host or "127.0.0.1"
    args = ["-h", host, "-p", str(server.mqtts_port if tls else server.mqtt_port), "-V", version]
    if tls:
        args += ["--cafile", server.ca, "--cert", server.device_cert, "--key", server.device_key]
    return args


def mosquitto_pub(server, topic: str, message: Optional[str], *extra: str, version: str = "mqttv311",
                  tls: bool = False, host: Optional[str] = None, qos: int = 1,
                  timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    body = ["-n"] if message is None else ["-m", message]
    cmd = ["mosquitto_pub", *mosquitto_args(server, version, tls, host), "-t", topic, *body,
           "-q", str(qos), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


MSG_PREFIX = "MSG\t"


class MosquittoSub:
    """mosquitto_sub in the background; started() returns once its SUBACK arrived (-d output)."""

    def __init__(self, server, topics: Iterable[str], *extra: str, version: str = "mqttv311",
                 tls: bool = False, host: Optional[str] = None, qos: int = 1,
                 client_id: Optional[str] = None):
        # stdbuf: mosquitto_sub's stdout is block-buffered into a pipe otherwise
        cmd = ["stdbuf", "-oL", "mosquitto_sub", *mosquitto_args(server, version, tls, host), "-q", str(qos), "-d",
               "-F", MSG_PREFIX + "%t\t%r\t%q\t%p"]
        for t in topics:
            cmd += ["-t", t]
        if client_id:
            cmd += ["-i", client_id]
        cmd += list(extra)
        self.cmd = cmd
        self.lines: list = []
        self.eof = False  # the reader saw the end of mosquitto_sub's output
        self._cv = threading.Condition()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, text=True, bufsize=1)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        assert self.proc.stdout
        for line in self.proc.stdout:
            with self._cv:
                self.lines.append(line.rstrip("\n"))
                self._cv.notify_all()
        with self._cv:
            self.eof = True
            self._cv.notify_all()

    def _wait(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        with self._cv:
            while not pred():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"mosquitto_sub: timed out waiting for {what}; output:\n"
                                         + "\n".join(self.lines[-30:]))
                self._cv.wait(remaining)

    def wait_subscribed(self, timeout: float = TIMEOUT) -> "MosquittoSub":
        self._wait(lambda: any("received SUBACK" in l for l in self.lines) or self.eof, timeout, "SUBACK")
        assert any("received SUBACK" in l for l in self.lines), \
            f"mosquitto_sub exited ({self.proc.poll()}) before SUBACK:\n" + "\n".join(self.lines)
        return self

    def messages(self) -> list:
        """[(topic, retain, qos, payload)] printed so far."""
        with self._cv:
            out = []
            for l in self.lines:
                if l.startswith(MSG_PREFIX):
                    topic, retain, qos, payload = l[len(MSG_PREFIX):].split("\t", 3)
                    out.append((topic, retain == "1", int(qos), payload))
            return out

    def wait_messages(self, n: int, timeout: float = TIMEOUT) -> list:
        self._wait(lambda: len(self.messages()) >= n, timeout, f"{n} message(s)")
        return self.messages()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
        self._reader.join(2)

    def terminate(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        rc = self.proc.wait(5)
        self._reader.join(2)
        return rc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


# --------------------------------------------------------------------------
# Raw MQTT helpers
# --------------------------------------------------------------------------

def raw(server, version: int = rawmqtt.MQTT311, tls_ctx: Optional[ssl.SSLContext] = None,
        host: Optional[str] = None) -> rawmqtt.RawClient:
    port = server.mqtts_port if tls_ctx else server.mqtt_port
    return rawmqtt.RawClient(host or server.host, port, version=version, ssl_context=tls_ctx)


def openssl(*args: str, cwd: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def make_foreign_ca_client_cert(directory: str) -> dict:
    """A CA unrelated to the server's and a client certificate it signed (EC P-256, fast)."""
    d = str(directory)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-sha256", "-days", "30", "-subj", "/CN=foreign CA", "-keyout", "foreign-CA.key",
            "-out", "foreign-CA.crt", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign", cwd=d)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-sha256",
            "-subj", "/CN=foreign-device", "-keyout", "foreign.private.key", "-out", "foreign.csr", cwd=d)
    with open(os.path.join(d, "foreign.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
    openssl("x509", "-req", "-in", "foreign.csr", "-CA", "foreign-CA.crt", "-CAkey", "foreign-CA.key",
            "-CAcreateserial", "-days", "30", "-sha256", "-extfile", "foreign.ext",
            "-out", "foreign.cert.pem", cwd=d)
    return {"ca": os.path.join(d, "foreign-CA.crt"), "cert": os.path.join(d, "foreign.cert.pem"),
            "key": os.path.join(d, "foreign.private.key")}


def make_self_signed_client_cert(directory: str) -> dict:
    d = str(directory)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-sha256", "-days", "30", "-subj", "/CN=self-signed-device", "-keyout", "self.private.key",
            "-out", "self.cert.pem", cwd=d)
    return {"cert": os.path.join(d, "self.cert.pem"), "key": os.path.join(d, "self.private.key")}


def tls_mqtt_connect_refused(server, ctx: ssl.SSLContext, host: str = "127.0.0.1",
                             timeout: float = TIMEOUT) -> str:
    """Try an MQTT CONNECT over TLS with `ctx`; return how it was refused, fail if a CONNACK came.

    With TLS 1.3 the client finishes its handshake before the server checks the client certificate,
    so the refusal can show up as an alert on the first read rather than in the handshake.
    """
    try:
        sock = socket.create_connection((host, server.mqtts_port), timeout=timeout)
    except OSError as err:
        raise AssertionError(f"TCP connect to the mqtts port failed: {err}") from None
    try:
        try:
            tls = ctx.wrap_socket(sock, server_hostname="localhost")
        except (ssl.SSLError, OSError) as err:
            return f"handshake failed: {err}"
        try:
            tls.sendall(rawmqtt.connect(unique("refused-")))
            data = b""
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                tls.settimeout(max(deadline - time.monotonic(), 0.01))
                try:
                    chunk = tls.recv(4096)
                except socket.timeout:
                    continue
                if not chunk:
                    break
                data += chunk
            else:
                raise AssertionError("TLS connection without an acceptable client certificate stayed open "
                                     f"(received {rawmqtt.parse_packets(data)})")
        except (ssl.SSLError, OSError) as err:
            return f"closed after handshake: {err}"
        pkts = rawmqtt.parse_packets(data)
        assert not any(p.type == rawmqtt.CONNACK and p.return_code == 0 for p in pkts), \
            f"broker accepted an MQTT connection without a valid client certificate: {pkts}"
        return f"closed, sent {pkts}"
    finally:
        sock.close()


# --------------------------------------------------------------------------
# awscrt (AWS IoT Device SDK v2 runtime)
# --------------------------------------------------------------------------

SDK_USERNAME = "?SDK=PythonV2&Version=1.0.0"  # what mtls_from_path adds when metrics are enabled


def aws_connection(srv, client_id, clean_session=False, will=None, keep_alive_secs=30):
    """Like awsiot.mqtt_connection_builder.mtls_from_path(endpoint='localhost', port=mqtts, ...)."""
    from awscrt import io, mqtt
    tls_options = io.TlsContextOptions.create_client_with_mtls_from_path(srv.device_cert, srv.device_key)
    tls_options.override_default_trust_store_from_path(None, srv.ca)
    if io.is_alpn_available():
        tls_options.alpn_list = ["x-amzn-mqtt-ca"]
    socket_options = io.SocketOptions()
    socket_options.connect_timeout_ms = 5000
    client = mqtt.Client(io.ClientBootstrap.get_or_create_static_default(), io.ClientTlsContext(tls_options))
    return mqtt.Connection(client=client, host_name="localhost", port=srv.mqtts_port, client_id=client_id,
                           clean_session=clean_session, reconnect_min_timeout_secs=5,
                           reconnect_max_timeout_secs=60, keep_alive_secs=keep_alive_secs,
                           ping_timeout_ms=3000, protocol_operation_timeout_ms=0, will=will,
                           username=SDK_USERNAME, password=None, socket_options=socket_options)


class AwsClient:
    """awscrt.mqtt.Connection with futures resolved under a timeout and received messages queued.

    catch_all=True registers Connection.on_message (every message, including those for subscriptions
    restored from a persistent session); otherwise messages come through subscribe() callbacks, as in
    the SDK's pubsub sample.
    """

    def __init__(self, srv, client_id, catch_all=False, **kw):
        self.conn = aws_connection(srv, client_id, **kw)
        self.messages: "queue.Queue[tuple]" = queue.Queue()
        self.catch_all = catch_all
        if catch_all:
            self.conn.on_message(self._on_message)
        self.connected = False

    def _on_message(self, topic, payload, dup, qos, retain, **kwargs):
        self.messages.put((topic, bytes(payload), int(qos), bool(retain)))

    def connect(self):
        result = self.conn.connect().result(TIMEOUT)
        self.connected = True
        return result

    def subscribe(self, topic, qos=1):
        from awscrt import mqtt
        future, _ = self.conn.subscribe(topic, mqtt.QoS(qos), callback=None if self.catch_all else self._on_message)
        return future.result(TIMEOUT)

    def publish(self, topic, payload, qos=1, retain=False):
        from awscrt import mqtt
        future, _ = self.conn.publish(topic, payload, mqtt.QoS(qos), retain)
        return future.result(TIMEOUT)

    def expect(self, topic, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"awscrt client got no message on {topic}")
            try:
                m = self.messages.get(timeout=remaining)
            except queue.Empty:
                continue
            if m[0] == topic:
                return m

    def disconnect(self):
        if self.connected:
            self.connected = False
            self.conn.disconnect().result(TIMEOUT)

    def close(self):
        try:
            self.disconnect()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------
# The AWS CLI v2 (Debian's awscli) and the test credentials (conftest starts every server with them).

AWS_CREDS = {"AWS_ACCESS_KEY_ID": "AKIAIOTSIMLOCAL", "AWS_SECRET_ACCESS_KEY": "iotsim-secret",
             "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}


def aws_cli_v2() -> str:
    """Debian's AWS CLI v2 (an older v1 may come first on PATH); skips the test without it."""
    import pytest

    path = subprocess.run(["sh", "-c", "command -v aws"], capture_output=True, text=True,
                          env={"PATH": os.confstr("CS_PATH")}).stdout.strip()
    if not path:
        pytest.skip("Debian's awscli is not installed")
    return path


def aws_iot(srv, tmp_path, *args: str, expect_rc: int = 0):
    """Runs `aws --endpoint-url <server> iot ...`; returns (process, parsed stdout or None)."""
    cmd = [aws_cli_v2(), "--endpoint-url", srv.http_url, "--output", "json", "iot", *args]
    env = {"PATH": os.confstr("CS_PATH"), "HOME": str(tmp_path), **AWS_CREDS}
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env, cwd=str(tmp_path))
    assert p.returncode == expect_rc, f"{cmd}: rc={p.returncode}\n{p.stdout}\n{p.stderr}"
    return p, (json.loads(p.stdout) if p.stdout.strip() else None)
