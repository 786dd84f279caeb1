"""Type stub for iotsim._core, the pybind11 module built from python/src/bind_sim.cpp.

Kept in step with the bindings by tests/python/test_stub.py: every class, method and property
here is bound, with the same parameter names, keyword-only markers and defaults.

Units are in the names (``at_s``, ``latency_ms``). Times are virtual seconds since the start of the
simulation. Same arguments and seed: the same ``trace_hash``, bit for bit.
"""
from collections.abc import Sequence
from typing import Any, Literal, Protocol, Required, TypedDict

# ----------------------------------------------------------------------------------- dict shapes
# Private names: these are the shapes of the dicts the bindings take and return, not bound types.

class _PublishPlan(TypedDict, total=False):
    """Built-in telemetry: one message every interval_s, from a random phase in the first interval.

    The payload template's {seq}, {device} and {time_ms} (the device's wall clock) are substituted;
    {device} also in the topic. count=0: until the simulation ends."""

    topic: Required[str]
    interval_s: float
    qos: Literal[0, 1]
    retain: bool
    payload: str
    count: int

class _Will(TypedDict, total=False):
    topic: Required[str]
    payload: str
    qos: Literal[0, 1]
    retain: bool

class _LinkOptions(TypedDict, total=False):
    """A device's link to the broker; unset fields keep the simulation's defaults."""

    latency_ms: float  # constant one-way latency
    latency_median_ms: float  # lognormal one-way latency: median ...
    latency_sigma: float  # ... and sigma
    jitter_ms: float
    loss_probability: float  # 0 to 0.99, per segment (retransmitted, as TCP would)
    bandwidth_bytes_per_s: int
    split_probability: float  # chance that a write arrives in two segments

class _TraceRecord(TypedDict):
    t_s: float
    kind: str  # device_start, connect_attempt, ..., message_received, publish_completed, fault, ...
    node: str  # "broker" or a device name
    connection: int
    detail: str

class _DeviceStats(TypedDict):
    name: str
    connected: bool
    connects: int
    disconnects: int
    published: int
    acked: int
    dropped: int
    received: int
    duplicates: int
    crashes: int
    tls_failures: int  # identity-level TLS refused the certificate (expired, not yet valid)
    connects_refused: int  # CONNACK refusals (a revoked certificate, a policy)
    revocations: int  # connections ended because the certificate left ACTIVE

class _BrokerStats(TypedDict, total=False):
    running: Required[bool]  # False while crashed: then no other key is present
    connections: int
    connections_accepted: int
    publishes_received: int
    messages_delivered: int
    qos1_dropped_queue_full: int
    qos0_dropped_slow_consumer: int
    protocol_errors: int

class _Session(TypedDict):
    client_id: str
    connected: bool
    persistent: bool
    subscriptions: list[tuple[str, int]]
    queued: int
    inflight: int

class _ShadowSync(TypedDict, total=False):
    thing: str            # default: the device name
    name: str             # named shadow; default: the classic shadow
    reported: dict[str, Any]  # the actual state at power-on

class _Behaviour(Protocol):
    """A Python behaviour: any subset of on_start(ctx), on_connected(ctx, session_present),
    on_message(ctx, topic, payload) and on_tick(ctx); missing hooks are skipped. An exception raised
    in a hook propagates out of run_until()."""

_SwarmKind = Literal["partition", "device_crash", "power_loss", "link", "broker_crash"]

# ---------------------------------------------------------------------------------- bound types

class ScenarioError(ValueError):
    """A scenario file that cannot be read or is invalid (the message names the field)."""

class DeviceContext:
    """What a Python behaviour sees: virtual clocks, a seeded random stream, and MQTT operations.

    Valid only during the hook call that received it."""

    @property
    def name(self) -> str: ...
    @property
    def wall_ms(self) -> int:
        """The device's virtual wall clock, Unix ms (2026-01-01T00:00:00Z at time zero, plus skew)."""
    @property
    def now_s(self) -> float:
        """Virtual seconds since the start of the simulation (the device's clock)."""
    @property
    def connected(self) -> bool: ...
    def random(self) -> float:
        """Uniform in [0, 1) from the device's own seeded stream."""
    def publish(self, topic: str, payload: object, *, qos: Literal[0, 1] = 0,
                retain: bool = False) -> None:
        """Publishes from this device: bytes as they are, anything else as str(payload)."""
    def subscribe(self, filter: str, *, qos: Literal[0, 1] = 0) -> None: ...
    def unsubscribe(self, filter: str) -> None: ...

class Simulation:
    """A deterministic simulation of AWS IoT Core: the real broker, virtual devices, a virtual
    network and faults, in virtual time."""

    def __init__(self, *, seed: int = 1, latency_ms: float = 10.0, jitter_ms: float = 0.0,
                 loss_probability: float = 0.0, split_probability: float = 0.0, keep_trace: bool = True,
                 session_expiry_s: int = 3600) -> None: ...
    @staticmethod
    def from_scenario(path: str, *, seed: int | None = None, keep_trace: bool = True) -> tuple[Simulation, float]:
        """Builds the scenario; returns (simulation, duration_s)."""
    def add_device(self, name: str, *, protocol: Literal["3.1.1", "5"] = "3.1.1", clean_session: bool = True,
                   keep_alive_s: int = 60, session_expiry_s: int = 0,
                   subscribe: Sequence[tuple[str, Literal[0, 1]]] = (), publish: _PublishPlan | None = None,
                   will: _Will | None = None, start_at_s: float = 0.0, link: _LinkOptions | None = None,
                   behaviour: _Behaviour | None = None, tick_s: float = 0.0,
                   shadow: _ShadowSync | None = None) -> None:
        """Adds a virtual device (ValueError for a duplicate name or an invalid option). shadow:
        dict(thing, name, reported) makes it a shadow-synced device."""
    def add_fleet(self, prefix: str, count: int, *, protocol: Literal["3.1.1", "5"] = "3.1.1",
                  keep_alive_s: int = 60, publish: _PublishPlan | None = None,
                  subscribe: Sequence[tuple[str, Literal[0, 1]]] = ()) -> None:
        """Adds count devices named prefix-000001..."""
    def partition(self, devices: Sequence[str], *, at_s: float, duration_s: float = 0.0) -> None:
        """Cuts devices off the broker at at_s; heals after duration_s (0: until heal())."""
    def heal(self, devices: Sequence[str], *, at_s: float) -> None: ...
    def crash_device(self, device: str, *, at_s: float, reboot_after_s: float = 0.0,
                     power_loss: bool = False) -> None:
        """Crashes a device (0: no reboot); power_loss: no reset reaches the broker."""
    def crash_broker(self, at_s: float, *, restart_after_s: float = 5.0) -> None:
        """Kills the broker (its session store survives); 0: no restart."""
    def degrade_link(self, devices: Sequence[str], *, at_s: float, duration_s: float = 0.0,
                     **link: float) -> None:
        """Replaces the devices' link options (keys as in add_device's link) for duration_s (0: for good)."""
    def clock_skew(self, node: str, *, at_s: float, skew_s: float) -> None:
        """Shifts a device's (or "broker"'s) wall clock by skew_s at at_s."""
    def swarm(self, *, faults_per_minute: float,
              kinds: Sequence[_SwarmKind] = ("partition", "device_crash", "link"), until_s: float,
              duration_max_s: float = 60.0) -> None:
        """Random faults drawn from the seed until until_s, each lasting 1 s to duration_max_s."""
    def run_until(self, seconds: float) -> None:
        """Runs to virtual time `seconds` (from the start); ValueError if that is in the past."""
    def run_for(self, seconds: float) -> None: ...
    @property
    def now_s(self) -> float: ...
    @property
    def trace_hash(self) -> str:
        """16 hex digits over every event; independent of keep_trace."""
    @property
    def events_processed(self) -> int: ...
    @property
    def messages_delivered(self) -> int: ...
    @property
    def seed(self) -> int: ...
    def trace_records(self) -> list[_TraceRecord]:
        """The trace as a list of dicts (t_s, kind, node, connection, detail); empty without keep_trace."""
    def device_stats(self) -> list[_DeviceStats]: ...
    def device(self, name: str) -> _DeviceStats:
        """One device's counters (KeyError for an unknown name)."""
    def received(self, name: str) -> list[tuple[str, bytes]]:
        """Messages the device received: [(topic, payload bytes)] (KeyError for an unknown name)."""
    def broker_stats(self) -> _BrokerStats: ...
    def retained_topics(self) -> list[str]: ...
    def session(self, client_id: str) -> _Session | None:
        """The broker's view of a session (None if there is none)."""
    def world(self) -> dict[str, Any] | None:
        """Everything inside the simulated AWS IoT Core now (clients and subscriptions, retained
        topics, shadows, topic rules), in the shape of a running server's GET /iotsim/world;
        None while the broker is down (python/iotsim/__init__.py)."""
    def _world(self) -> str: ...
    def check_shadow_converged(self, thing: str, *, name: str = "") -> None:
        """At the end of the run (violations()), this shadow must exist with no delta."""
    # Device Shadow data plane at the current virtual time (python/iotsim/shadow.py).
    def get_shadow(self, thing: str, *, name: str = "") -> dict[str, Any]:
        """GetThingShadow: the document; ShadowError (status 404) when there is none."""
    def update_shadow(self, thing: str, document: Any, *, name: str = "") -> dict[str, Any]:
        """UpdateThingShadow; publishes /update/accepted, /update/documents, /update/delta."""
    def delete_shadow(self, thing: str, *, name: str = "") -> dict[str, Any]:
        """DeleteThingShadow: {"version", "timestamp"}."""
    def list_named_shadows(self, thing: str) -> list[str]:
        """ListNamedShadowsForThing, all pages."""
    def _rules_call(self, method: str, path: str, query: str, body: str) -> tuple[int, str]:
        """Low-level topic-rule control-plane call: (status, JSON body). Use create_topic_rule() & co."""
    def action_records(self) -> list[dict[str, Any]]:
        """Every rule action the stand-ins ran (republish excepted), in order; kept with keep_trace."""
    def _set_lambda_handler(self, dispatch: Any) -> None:
        """Low-level: the local functions' dispatcher. Use add_lambda()."""
    def add_lambda(self, name: str, fn: Any) -> None:
        """A local function for lambda actions and aws_lambda() (python/iotsim/rules.py)."""
    def fail_action_resources(self, resources: Sequence[str]) -> None:
        """Actions on these resources fail from now on and go to the errorAction; [] heals them."""
    # Topic rules at the current virtual time (python/iotsim/rules.py).
    def create_topic_rule(self, name: str, payload: dict[str, Any] | None = None, *, sql: str | None = None,
                          actions: list[dict[str, Any]] | None = None, error_action: dict[str, Any] | None = None,
                          sql_version: str | None = None, description: str | None = None,
                          disabled: bool | None = None) -> None:
        """CreateTopicRule; RuleError with AWS's error type when rejected."""
    def replace_topic_rule(self, name: str, payload: dict[str, Any] | None = None, *, sql: str | None = None,
                           actions: list[dict[str, Any]] | None = None, error_action: dict[str, Any] | None = None,
                           sql_version: str | None = None, description: str | None = None,
                           disabled: bool | None = None) -> None:
        """ReplaceTopicRule."""
    def get_topic_rule(self, name: str) -> dict[str, Any]:
        """GetTopicRule: {"ruleArn", "rule"}."""
    def list_topic_rules(self, *, topic: str | None = None, disabled: bool | None = None) -> list[dict[str, Any]]:
        """ListTopicRules, all pages."""
    def enable_topic_rule(self, name: str) -> None: ...
    def disable_topic_rule(self, name: str) -> None: ...
    def delete_topic_rule(self, name: str) -> None: ...
    def action_outputs(self) -> Any:
        """The in-memory stand-ins' contents (iotsim.Outputs)."""
    def violations(self) -> list[str]:
        """Invariant violations (per-publisher order, QoS 1 at-least-once); empty when all hold."""
    def __repr__(self) -> str: ...
