#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "iotsim/actions/action_runner.hpp"
#include "iotsim/broker/broker.hpp"
#include "iotsim/client/options.hpp"
#include "iotsim/iotcore/iotcore.hpp"
#include "iotsim/mqtt/packet.hpp"
#include "iotsim/registry/registry.hpp"
#include "iotsim/sim/identity.hpp"
#include "iotsim/sim/network.hpp"
#include "iotsim/sim/trace.hpp"

namespace iotsim::sim {

/// A device's built-in publishing behaviour (telemetry): one message every `interval`, starting
/// at a random phase within the first interval. The payload template's `{seq}`, `{device}` and
/// `{time_ms}` (the device's wall clock) are substituted.
struct PublishPlan {
    std::string topic;
    Duration interval = seconds(1);
    mqtt::QoS qos = mqtt::QoS::at_most_once;
    bool retain = false;
    std::string payload = R"({"device":"{device}","seq":{seq},"t":{time_ms}})";
    std::uint64_t count = 0;  // 0: until the simulation ends
};

/// What a scripted behaviour may do and see: the device's virtual clocks, its own seeded random
/// stream, and MQTT operations through its client. Nothing else (no real time, no OS randomness).
class DeviceContext {
public:
    virtual ~DeviceContext() = default;
    [[nodiscard]] virtual const std::string& name() const = 0;
    /// The device's wall clock (Unix ms) and monotonic clock (ns since the start), virtual.
    [[nodiscard]] virtual std::int64_t wall_ms() const = 0;
    [[nodiscard]] virtual std::int64_t monotonic_ns() const = 0;
    /// Uniform in [0, 1) from the device's own stream (seeded; independent of other devices).
    [[nodiscard]] virtual double random() = 0;
    [[nodiscard]] virtual bool connected() const = 0;
    virtual void publish(const std::string& topic, const std::string& payload, int qos, bool retain) = 0;
    virtual void subscribe(const std::string& filter, int qos) = 0;
    virtual void unsubscribe(const std::string& filter) = 0;
};

/// A behaviour written by the user (for example in Python): called on the device's events.
class DeviceHooks {
public:
    virtual ~DeviceHooks() = default;
    virtual void on_start(DeviceContext&) {}
    virtual void on_connected(DeviceContext&, bool /*session_present*/) {}
    virtual void on_message(DeviceContext&, const std::string& /*topic*/, const std::string& /*payload*/) {}
    virtual void on_tick(DeviceContext&) {}
};

/// One virtual device: an MQTT client (core/client, sharing the broker's codec) plus behaviour.
struct DeviceSpec {
    std::string name;                       // also the client id unless client.client_id is set
    client::ClientOptions client;
    std::vector<mqtt::SubscribeEntry> subscribe;  // subscribed after the first CONNACK
    std::optional<PublishPlan> publish;
    std::optional<LinkOptions> link;        // default: SimulationOptions::link
    Duration start_at = Duration::zero();
    std::shared_ptr<DeviceHooks> hooks;     // scripted behaviour (optional)
    /// Keep the last messages received for Simulation::received() (fleet members: off).
    std::size_t inbox_max = 10'000;
    Duration tick_interval = Duration::zero();  // on_tick period; 0 = no ticks
    /// The certificate the device presents (a CertificateSpec::name of SimulationOptions::
    /// registry), "" for none. With one, every connection first passes the identity-level TLS
    /// handshake (the certificate's validity against the broker's wall clock), then the
    /// registry and the IoT policies decide CONNECT, PUBLISH, SUBSCRIBE and every delivery
    /// (auth::PolicyAuthorizer, as on the server's TLS port). Without one the device is
    /// allowed everything (the plain port's local convenience). Fleet members share it.
    std::string certificate;
};

/// Fault kinds of a fault plan (turmoil's vocabulary: partition/heal, hold/release, crash, bounce).
enum class FaultKind : std::uint8_t {
    partition,      // cut devices off the broker: traffic stalls, new connections time out
    heal,           // undo a partition of these devices
    device_crash,   // process crash: volatile state lost, the OS resets the connection; reboots after `duration` (0: never)
    power_loss,     // like a crash, but no reset reaches the broker (half-open until keep-alive)
    broker_crash,   // the broker process dies; its store survives; restarts after `duration`
    link,           // replace devices' link options for `duration` (0: for good)
    clock_skew,     // shift a node's wall clock by `skew` (a jump when applied once)
    clock_drift,    // a node's clocks run `drift_ppm` parts per million fast (negative: slow)
};

[[nodiscard]] std::string fault_kind_name(FaultKind kind);

struct Fault {
    FaultKind kind = FaultKind::partition;
    Instant at;
    std::vector<std::string> nodes;  // device names, or "broker" for clock faults
    Duration duration = Duration::zero();  // partition/link: until undone automatically; crash: reboot delay
    LinkOptions link;                // for FaultKind::link
    Duration skew = Duration::zero();
    std::int64_t drift_ppm = 0;
};

/// Random faults drawn from the seed (FoundationDB-style swarm testing).
struct SwarmOptions {
    double faults_per_minute = 1.0;  // mean rate (exponential inter-arrival times)
    std::vector<FaultKind> kinds = {FaultKind::partition, FaultKind::device_crash, FaultKind::link};
    Duration duration_max = seconds(60);  // each fault lasts uniform(1 s, duration_max)
    Instant from;
    Instant until;
};

struct SimulationOptions {
    std::uint64_t seed = 1;
    broker::BrokerConfig broker;
    LinkOptions link;
    /// Keep trace records (JSON Lines export, Python). The hash is computed either way.
    bool keep_trace = false;
    /// Wall-clock time at virtual time zero (Unix ms): 2026-01-01T00:00:00Z by default.
    std::int64_t wall_epoch_unix_ms = 1'767'225'600'000;
    /// Invariant checks (see Simulation::violations()).
    bool check_publisher_order = true;
    std::vector<std::pair<std::string, std::string>> check_qos1_delivered;  // (publisher, subscriber)
    /// Every version the shadow service stores for a shadow follows the last one: +1 per accepted
    /// update, kept by a delete, continued (or restarted at 1 after the retention) by a re-create.
    bool check_shadow_versions = true;
    /// At the end of the run these shadows exist and have no delta (reported caught up with
    /// desired): (thing, shadow name; "" = classic).
    std::vector<std::pair<std::string, std::string>> check_shadow_converged;
    /// Topic rules installed before the broker starts: (rule name, TopicRulePayload JSON). They
    /// live in the broker's rule store, so a broker crash keeps them. Non-republish actions run
    /// in an in-memory ActionRunner; each outcome is a `rule_action` trace record.
    std::vector<std::pair<std::string, std::string>> rules;
    /// Policies, things and certificates created (at virtual time zero) before the broker starts.
    RegistrySetup registry;
    /// Tests only (a deliberately broken authorizer, FoundationDB's BUGGIFY): the host allows
    /// every delivery whatever the policies say, so that the policy_denied_delivery check has a
    /// bug to catch.
    bool test_authorizer_allows_every_delivery = false;
};

/// A Device Shadow data-plane answer, as the REST API gives it: the HTTP status (200 or AWS's
/// error code) and the JSON document (the shadow, or AWS's error document).
struct ShadowReply {
    int status = 200;
    std::string document;
};

/// Per-device counters, from the device's point of view.
struct DeviceStats {
    std::string name;
    bool connected = false;
    std::uint64_t connects = 0;
    std::uint64_t disconnects = 0;
    std::uint64_t published = 0;       // publish() calls by the behaviour
    std::uint64_t acked = 0;           // QoS 1 PUBACKs with success / QoS 0 written
    std::uint64_t dropped = 0;         // publishes that never reached the broker
    std::uint64_t received = 0;        // messages received (duplicates included)
    std::uint64_t duplicates = 0;
    std::uint64_t crashes = 0;
    std::uint64_t tls_failures = 0;      // TLS handshakes refused (certificate expired or not yet valid)
    std::uint64_t connects_refused = 0;  // CONNECTs the authorizer refused (certificate not ACTIVE, iot:Connect denied)
    std::uint64_t revocations = 0;       // connections closed because the certificate left ACTIVE
};

/// A deterministic discrete-event simulation of AWS IoT Core with virtual devices: the real
/// broker (core/broker) driven by a simulator host exactly as the network host drives it, a
/// virtual TCP-like network with latency, loss, bandwidth and partitions, virtual clocks per node
/// and a fault plan. Same options, scenario and seed: the same trace hash, bit for bit.
///
/// Thread safety: none; single-threaded by design.
class Simulation {
public:
    explicit Simulation(SimulationOptions options);
    ~Simulation();
    Simulation(const Simulation&) = delete;
    Simulation& operator=(const Simulation&) = delete;

    /// Adds a device; its name must be unique (std::invalid_argument otherwise).
    std::uint32_t add_device(DeviceSpec spec);
    /// Adds `count` devices named `prefix-000001`..., each a copy of `spec` (client ids likewise).
    void add_fleet(const std::string& prefix, std::size_t count, const DeviceSpec& spec);
    /// Schedules a fault; unknown device names throw std::invalid_argument naming them.
    void add_fault(Fault fault);
    void enable_swarm(const SwarmOptions& swarm);
    /// Schedules a registry change; an unknown certificate or policy name throws
    /// std::invalid_argument naming it.
    void add_registry_fault(RegistryFault fault);

    /// Runs events until virtual time `until` (inclusive).
    void run_until(Instant until);
    void run_for(Duration d) { run_until(now() + d); }
    [[nodiscard]] Instant now() const;

    [[nodiscard]] const Trace& trace() const;
    [[nodiscard]] std::vector<DeviceStats> device_stats() const;
    [[nodiscard]] std::optional<DeviceStats> device(const std::string& name) const;
    /// Messages a device received, as (topic, payload) in order (kept when keep_trace is on or
    /// for devices that subscribe; bounded to the last 10,000 per device).
    [[nodiscard]] std::vector<std::pair<std::string, std::string>> received(const std::string& name) const;
    /// The broker currently running (null while it is crashed).
    [[nodiscard]] const broker::Broker* broker() const;
    /// The broker with its services (shadows, ...), null while crashed.
    [[nodiscard]] const iotcore::IotCore* core() const;
    /// The registry (control plane) the authorizer reads: SimulationOptions::registry's records
    /// and every registry fault applied so far.
    [[nodiscard]] const registry::Registry& registry() const;
    /// The certificate id (SHA-256 of the DER) of a SimulationOptions::registry certificate by
    /// its name, nullopt for an unknown name.
    [[nodiscard]] std::optional<std::string> certificate_id(const std::string& name) const;
    /// The Device Shadow data plane at the current virtual time, as the REST API calls it: the
    /// notifications (/update/accepted, /update/delta, ...) are published through the broker.
    ShadowReply shadow_get(const std::string& thing, const std::string& shadow_name = "");
    ShadowReply shadow_update(const std::string& thing, const std::string& payload,
                              const std::string& shadow_name = "");
    ShadowReply shadow_delete(const std::string& thing, const std::string& shadow_name = "");
    /// ListNamedShadowsForThing (one page of up to `page_size`).
    ShadowReply list_named_shadows(const std::string& thing, const std::string& next_token = "",
                                   int page_size = 25);
    /// The topic-rule control plane (CreateTopicRule, ReplaceTopicRule, GetTopicRule,
    /// ListTopicRules, Enable/DisableTopicRule, DeleteTopicRule) at the current virtual time,
    /// through the same router as the server's HTTP port: `method` and `path` as botocore sends
    /// them (POST /rules/{name}, ...), `query` without '?'. Answers the status and the JSON
    /// body (AWS's error document on failure; 503 while the broker is crashed).
    ShadowReply rules_call(const std::string& method, const std::string& path, const std::string& query = "",
                           const std::string& body = "");
    /// What every non-republish rule action did, in order (the in-memory stand-ins' contents);
    /// kept when SimulationOptions::keep_trace is set.
    [[nodiscard]] const std::vector<actions::ActionRecord>& action_records() const;
    /// Makes actions on these resources (bucket, queue, topic ARN's name, function...) fail
    /// from now on, so that the rule's errorAction runs (fault injection); empty heals them.
    void fail_action_resources(std::vector<std::string> resources);
    /// The simulator's local functions: `handler(function name, event)` runs a rule's lambda
    /// action and answers IoT SQL's aws_lambda() (its result is the function's JSON answer).
    /// Unset, lambda actions are only recorded and aws_lambda() fails the rule.
    void set_lambda_handler(actions::LambdaHandler handler);
    /// Adds a shadow to SimulationOptions::check_shadow_converged.
    void check_shadow_converged(const std::string& thing, const std::string& shadow_name = "");
    /// Invariant violations found so far, each one line (empty: all checks hold).
    [[nodiscard]] const std::vector<std::string>& violations() const;
    /// Finishes end-of-run checks (at-least-once delivery) and returns all violations.
    const std::vector<std::string>& finish_checks();
    [[nodiscard]] std::uint64_t events_processed() const;
    [[nodiscard]] std::uint64_t messages_delivered() const;  // application messages received by devices
    [[nodiscard]] const SimulationOptions& options() const;
    [[nodiscard]] std::size_t device_count() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace iotsim::sim
