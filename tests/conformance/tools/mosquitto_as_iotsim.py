#!/usr/bin/python3
"""Stand-in for `iotsim serve` built from mosquitto, to check the conformance tests' own client code.

    IOTSIM_BIN=tests/conformance/tools/mosquitto_as_iotsim.py \
        /usr/bin/python3 -m pytest tests/conformance -q -p no:cacheprovider

It honours the same command line and start-up contract as iotsim: it fills the data directory with
root-CA.crt/.key, server.cert.pem/server.private.key (SAN localhost, 127.0.0.1) and
device.cert.pem/device.private.key (made with the openssl CLI), listens on a plain port and an mTLS
port, prints `iotsim: listening mqtt=H:P mqtts=H:P data-dir=DIR` when both accept connections,
and turns SIGTERM/SIGINT into a clean mosquitto shutdown (exit 0).

mosquitto follows the MQTT specification, not AWS IoT Core, so the AWS-specific tests are expected to
fail against it (`a/#` matches `a`, retained messages go to wildcard filters, QoS 2 works, no
lifecycle events, ...). Tests that only exercise plain MQTT show that the test clients are right.
"""

import argparse
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time

OPENSSL = "openssl"


def run(*args, cwd):
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_pki(d):
    if os.path.exists(os.path.join(d, "device.cert.pem")):
        return
    run(OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
        "-subj", "/CN=iotsim local root CA", "-keyout", "root-CA.key", "-out", "root-CA.crt",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=d)
    for name, cn, ext in (
        ("server", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
        ("device", "iotsim-device", "extendedKeyUsage=clientAuth\n"),
    ):
        key = f"{name}.private.key"
        run(OPENSSL, "req", "-newkey", "rsa:2048", "-nodes", "-sha256", "-subj", f"/CN={cn}",
            "-keyout", key, "-out", f"{name}.csr", cwd=d)
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write("basicConstraints=CA:FALSE\n" + ext)
        run(OPENSSL, "x509", "-req", "-in", f"{name}.csr", "-CA", "root-CA.crt", "-CAkey", "root-CA.key",
            "-CAcreateserial", "-days", "825", "-sha256", "-extfile", f"{name}.ext",
            "-out", f"{name}.cert.pem", cwd=d)
        os.remove(os.path.join(d, f"{name}.csr"))
        os.remove(os.path.join(d, f"{name}.ext"))


def free_port(host):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_listening(host, port, proc, deadline):
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"mosquitto exited with {proc.returncode}")
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    sys.exit(f"mosquitto did not listen on {host}:{port}")


def die_with_parent():
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["serve"])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--mqtt-port", type=int, default=1883)
    ap.add_argument("--mqtts-port", type=int, default=8883)
    ap.add_argument("--http-port", type=int, default=8080)   # accepted and ignored: no HTTP API
    ap.add_argument("--https-port", type=int, default=8443)
    ap.add_argument("--wss-port", type=int, default=4443)
    a = ap.parse_args()

    d = os.path.abspath(a.data_dir)
    os.makedirs(d, exist_ok=True)
    make_pki(d)
    mqtt_port = a.mqtt_port or free_port(a.host)
    mqtts_port = a.mqtts_port or free_port(a.host)
    conf = os.path.join(d, "mosquitto.conf")
    with open(conf, "w") as f:
        user = "user root\n" if os.geteuid() == 0 else ""  # else mosquitto drops to `mosquitto` and cannot read DIR
        f.write(user + f"""per_listener_settings false
allow_anonymous true
persistence true
persistence_location {d}/
autosave_interval 1
autosave_on_changes true
log_dest stderr
log_type error
log_type warning
log_type notice
connection_messages true
listener {mqtt_port} {a.host}
listener {mqtts_port} {a.host}
cafile {d}/root-CA.crt
certfile {d}/server.cert.pem
keyfile {d}/server.private.key
require_certificate true
""")
    proc = subprocess.Popen(["mosquitto", "-c", conf], stdin=subprocess.DEVNULL, stdout=sys.stderr,
                            preexec_fn=die_with_parent)

    def forward(signum, _frame):
        proc.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    deadline = time.monotonic() + 15
    wait_listening(a.host, mqtt_port, proc, deadline)
    wait_listening(a.host, mqtts_port, proc, deadline)
    print(f"iotsim: listening mqtt={a.host}:{mqtt_port} mqtts={a.host}:{mqtts_port} data-dir={d}", flush=True)
    rc = proc.wait()
    sys.exit(0 if rc in (0, -signal.SIGTERM) else rc)


if __name__ == "__main__":
    main()
