"""A student's device.py (known bad: ignores the delta)."""
import json


class LampController:
    def __init__(self):
        self.state = {"power": "off", "brightness": 0}

    def on_connected(self, ctx, session_present):
        ctx.subscribe(f"$aws/things/{ctx.name}/shadow/update/delta", qos=1)
        ctx.publish(f"$aws/things/{ctx.name}/shadow/update", json.dumps({"state": {"reported": self.state}}), qos=1)

    def on_message(self, ctx, topic, payload):
        print("delta received:", payload)  # ... and nothing else: the lamp never changes


class QuickConnectDevice:
    """pubsub.py from the quick-connect kit: subscribe to sdk/test/python at QoS 1, then publish
    the JSON string "Hello World! [n]" there once per tick (tick_s=1) and receive it back."""

    topic = "sdk/test/python"

    def __init__(self):
        self.sent = 0
        self.received = []

    def on_connected(self, ctx, session_present):
        ctx.subscribe(self.topic, qos=1)

    def on_tick(self, ctx):
        self.sent += 1
        ctx.publish(self.topic, json.dumps(f"Hello World! [{self.sent}]"), qos=1)

    def on_message(self, ctx, topic, payload):
        self.received.append(payload)
