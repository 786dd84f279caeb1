#!/usr/bin/env python3
"""The AWS IoT quick-connect device, against iotsim (or AWS: change only the endpoint and CA).

This follows the AWS IoT Device SDK v2 sample `samples/pubsub.py` that the quick-connect kit's
start.sh runs: MQTT 3.1.1 over TLS with a client certificate on port 8883, client id
basicPubSub, clean_session=False, keep-alive 30 s; subscribe to sdk/test/python at QoS 1, then
publish the JSON string "Hello World! [n]" once a second and print what comes back. It builds
the connection with the CRT client (awscrt, Debian's python3-awscrt) exactly as the SDK's
mqtt_connection_builder.mtls_from_path does.

    python3 examples/pubsub.py --endpoint localhost --port 8883 --ca_file .iotsim/root-CA.crt \
        --cert .iotsim/device.cert.pem --key .iotsim/device.private.key --count 5
"""
import argparse
import json
import sys
import threading
import time

from awscrt import io, mqtt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--port", type=int, default=8883)
    ap.add_argument("--ca_file", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--client_id", default="basicPubSub")
    ap.add_argument("--topic", default="sdk/test/python")
    ap.add_argument("--message", default="Hello World!")
    ap.add_argument("--count", type=int, default=10, help="messages to send; 0 = until killed")
    ap.add_argument("--interval", type=float, default=1.0, help="seconds between messages")
    args = ap.parse_args()

    tls = io.TlsContextOptions.create_client_with_mtls_from_path(args.cert, args.key)
    tls.override_default_trust_store_from_path(None, args.ca_file)
    client = mqtt.Client(io.ClientBootstrap.get_or_create_static_default(), io.ClientTlsContext(tls))
    connection = mqtt.Connection(client=client, host_name=args.endpoint, port=args.port,
                                 client_id=args.client_id, clean_session=False, keep_alive_secs=30)

    received = threading.Event()
    count = {"n": 0}

    def on_message(topic, payload, dup, qos, retain, **kwargs):
        print(f"Received message from topic '{topic}': {payload}", flush=True)
        count["n"] += 1
        if args.count and count["n"] >= args.count:
            received.set()

    print(f"Connecting to {args.endpoint} with client ID '{args.client_id}'...", flush=True)
    try:
        connection.connect().result(timeout=10)
    except Exception as e:  # the SDK sample prints and exits as well
        print(f"Connection failed: {e}", file=sys.stderr)
        return 1
    print("Connected!", flush=True)
    print(f"Subscribing to topic '{args.topic}'...", flush=True)
    fut, _ = connection.subscribe(topic=args.topic, qos=mqtt.QoS.AT_LEAST_ONCE, callback=on_message)
    result = fut.result(timeout=10)
    print(f"Subscribed with {str(result['qos'])}", flush=True)
    if args.count == 0:
        print("Sending messages until program killed", flush=True)
    else:
        print(f"Sending {args.count} message(s)", flush=True)
    n = 1
    while args.count == 0 or n <= args.count:
        text = f"{args.message} [{n}]"
        print(f"Publishing message to topic '{args.topic}': {text}", flush=True)
        connection.publish(topic=args.topic, payload=json.dumps(text), qos=mqtt.QoS.AT_LEAST_ONCE)
        time.sleep(args.interval)
        n += 1
    if args.count:
        received.wait(10)
        print(f"{count['n']} message(s) received.", flush=True)
    print("Disconnecting...", flush=True)
    connection.disconnect().result(timeout=10)
    print("Disconnected!", flush=True)
    return 0 if not args.count or count["n"] >= args.count else 1


if __name__ == "__main__":
    sys.exit(main())
