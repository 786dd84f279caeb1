"""A student's device.py (known bad: syncs only on its first connection)."""
import json


class LampController:
    def __init__(self):
        self.state = {"power": "off", "brightness": 0}
        self.synced = False

    def on_connected(self, ctx, session_present):
        if self.synced:
            return  # "already set up": nothing is done after a reconnect
        self.synced = True
        prefix = f"$aws/things/{ctx.name}/shadow"
        ctx.subscribe(prefix + "/update/delta", qos=1)
        ctx.subscribe(prefix + "/get/accepted", qos=1)
        ctx.publish(prefix + "/get", "{}", qos=1)

    def on_message(self, ctx, topic, payload):
        doc = json.loads(payload)
        delta = doc.get("state") if topic.endswith("/update/delta") else doc.get("state", {}).get("delta")
        if delta:
            self.state.update(delta)
            ctx.publish(f"$aws/things/{ctx.name}/shadow/update", json.dumps({"state": {"reported": delta}}), qos=1)


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
