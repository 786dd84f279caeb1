"""11 crash safety: a PUBACK is a promise. SIGKILL mid-load must not lose anything that was acknowledged."""

import threading
import time

from clients import PahoClient, unique, wait_until

TARGET_ACKED = 120         # kill once this many publishes (queued + retained) were acknowledged
LOAD_DEADLINE_S = 10.0     # ... or after this long, whatever was acknowledged by then
RETAINED_TOPICS = 8


class Load:
    """Publishes QoS 1 messages in a thread: queued ones to `queue_topic`, retained ones round-robin."""

    def __init__(self, client, queue_topic, retained_topics):
        self.c = client
        self.queue_topic = queue_topic
        self.retained_topics = retained_topics
        self.sent = []           # (kind, topic, seq, MQTTMessageInfo)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        seq = 0
        while not self.stop.is_set():
            if seq - self.acked() > 40:      # keep a bounded window in flight
                time.sleep(0.001)
                continue
            info = self.c.c.publish(self.queue_topic, f"q-{seq}", qos=1)
            self.sent.append(("q", self.queue_topic, seq, info))
            topic = self.retained_topics[seq % len(self.retained_topics)]
            info = self.c.c.publish(topic, f"r-{seq}", qos=1, retain=True)
            self.sent.append(("r", topic, seq, info))
            seq += 1

    def acked(self):
        return sum(1 for item in list(self.sent) if _published(item[3]))

    def acked_items(self):
        return [item for item in list(self.sent) if _published(item[3])]


def _published(info):
    try:
        return info.is_published()
    except (RuntimeError, ValueError):
        return False


def test_every_pubacked_queued_and_retained_message_survives_sigkill(server):
    cid, qt, base = unique("crash-sub-"), unique("crash/q/"), unique("crash/r/")
    retained_topics = [f"{base}{i}" for i in range(RETAINED_TOPICS)]
    deleted_topic = f"{base}deleted"

    with PahoClient(server, cid, clean=False) as sub:
        sub.connect()
        assert sub.subscribe(qt, 1) == [1]
        sub.disconnect()

    pub = PahoClient(server, unique("crash-pub-"))
    load = Load(pub, qt, retained_topics)
    try:
        pub.connect()
        pub.publish(deleted_topic, b"to be deleted", qos=1, retain=True)
        pub.publish(deleted_topic, b"", qos=1, retain=True)
        load.thread.start()
        deadline = time.monotonic() + LOAD_DEADLINE_S
        while load.acked() < TARGET_ACKED and time.monotonic() < deadline and server.running:
            time.sleep(0.005)
        server.kill()  # SIGKILL mid-load: publishes are still in flight
    finally:
        load.stop.set()
        load.thread.join(5)
        pub.close()

    acked = load.acked_items()
    sent_payloads = {f"{kind}-{seq}".encode() for kind, _, seq, _ in load.sent}
    acked_queued = {f"q-{seq}".encode() for kind, _, seq, _ in acked if kind == "q"}
    newest_acked_retained = {}
    for kind, topic, seq, _ in acked:
        if kind == "r":
            newest_acked_retained[topic] = max(seq, newest_acked_retained.get(topic, -1))
    assert acked_queued and newest_acked_retained, \
        f"the server acknowledged nothing within {LOAD_DEADLINE_S} s of load ({len(load.sent)} sent)"

    server.start()  # same data directory

    with PahoClient(server, cid, clean=False) as sub:
        assert sub.connect()["session_present"] is True, "the persistent session was lost"
        try:  # allow for AWS's 10 messages/s replay rate
            wait_until(lambda: acked_queued <= {m.payload for m in sub.messages_on(qt)},
                       timeout=5 + len(acked_queued) / 10)
        except AssertionError:
            pass
        got = {m.payload for m in sub.messages_on(qt)}
        lost = sorted(acked_queued - got, key=lambda p: int(p.split(b"-")[1]))
        assert not lost, (f"{len(lost)} of {len(acked_queued)} acknowledged queued messages were lost "
                          f"({len(load.sent)} publishes sent, {len(acked)} acknowledged): {lost[:10]}")
        assert got <= sent_payloads, f"delivered messages nobody sent: {sorted(got - sent_payloads)[:5]}"

    with PahoClient(server) as check:
        check.connect()
        check.subscribe(retained_topics, 1)
        check.subscribe(deleted_topic, 1)
        check.barrier()
        for topic, newest in sorted(newest_acked_retained.items()):
            stored = [m for m in check.messages_on(topic) if m.retain]
            assert stored, f"retained message on {topic} lost (r-{newest} was acknowledged)"
            seq = int(stored[-1].payload.decode().split("-")[1])
            assert seq >= newest, f"{topic}: retained r-{seq} is older than the acknowledged r-{newest}"
        assert check.messages_on(deleted_topic) == [], "an acknowledged retained delete was undone"


def test_server_restarts_after_sigkill_with_clients_connected(server):
    t = unique("crash/idle/")
    with PahoClient(server) as a:
        a.connect()
        a.publish(t, b"before the crash", qos=1, retain=True)
        server.kill()
        a.wait_closed_by_server()
    server.start()
    with PahoClient(server) as b:
        b.connect()
        b.subscribe(t, 1)
        m = b.expect_message(t)
        assert (m.payload, m.retain) == (b"before the crash", True)
