"""Reference solution of the iot-core-lab device tasks (the instructor's; not shipped to students).

LampController: the interactive tutorial's smart lamp, kept in step with its Device Shadow.
QuickConnectDevice: the quick-connect kit's pubsub.py sample (basicPubSub on sdk/test/python).
"""
import json


class LampController:
    """Applies the shadow's desired state to the lamp and reports it back.

    On every connection (the first and each reconnect) it subscribes to the delta and to the
    answers of GetThingShadow, reports its actual state and asks for the shadow: a clean session
    loses the deltas published while the lamp was offline, so the lamp must catch up by itself.
    """

    def __init__(self):
        self.state = {"power": "off", "brightness": 0}  # the lamp's actual state
        self.version = 0  # last shadow version applied

    def on_start(self, ctx):
        self.version = 0  # a reboot: the actual state is what the hardware had at power-on

    def on_connected(self, ctx, session_present):
        prefix = f"$aws/things/{ctx.name}/shadow"
        ctx.subscribe(prefix + "/update/delta", qos=1)
        ctx.subscribe(prefix + "/get/accepted", qos=1)
        ctx.publish(prefix + "/update", json.dumps({"state": {"reported": self.state}}), qos=1)
        ctx.publish(prefix + "/get", json.dumps({"clientToken": ctx.name}), qos=1)

    def on_message(self, ctx, topic, payload):
        prefix = f"$aws/things/{ctx.name}/shadow"
        try:
            doc = json.loads(payload)
        except ValueError:
            return
        if topic == prefix + "/update/delta":
            delta = doc.get("state")
        elif topic == prefix + "/get/accepted":
            delta = doc.get("state", {}).get("delta")
        else:
            return
        version = doc.get("version", 0)
        if not isinstance(delta, dict) or (version and version <= self.version):
            return  # nothing to do, or stale
        self.version = version
        self.state.update(delta)
        ctx.publish(prefix + "/update", json.dumps({"state": {"reported": delta}}), qos=1)


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
