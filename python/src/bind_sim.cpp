// Bindings for sim::Simulation. Units are in keyword names (at_s, latency_ms), as the style guide
// asks at the Python boundary; misuse raises a Python exception, never crashes the interpreter.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <optional>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "iotsim/iotcore/world.hpp"
#include "iotsim/registry/describe.hpp"
#include "iotsim/sim/scenario.hpp"
#include "iotsim/sim/shadow_device.hpp"
#include "iotsim/sim/simulation.hpp"

namespace py = pybind11;
using namespace iotsim;
using namespace iotsim::sim;

namespace {

/// Virtual time is int64 nanoseconds: about 292 years. Beyond that is an error, not an overflow.
constexpr double seconds_max = 9.0e9;

Duration secs(double s, const char* what) {
    if (!std::isfinite(s) || s < 0 || s > seconds_max) {
        throw py::value_error(std::string(what) + " must be a non-negative number of seconds, at most 9e9");
    }
    return Duration(static_cast<std::int64_t>(std::llround(s * 1e9)));
}

mqtt::QoS qos_of(int q, const char* what) {
    if (q != 0 && q != 1) {
        throw py::value_error(std::string(what) + " must be 0 or 1 (AWS IoT Core has no QoS 2)");
    }
    return static_cast<mqtt::QoS>(q);
}

/// A dict value converted to T, or TypeError naming the key (pybind11 would say RuntimeError).
template <class T>
T value_of(const py::handle& v, const std::string& where, const char* expected) {
    try {
        return v.cast<T>();
    } catch (const py::cast_error&) {
        throw py::type_error(where + " must be " + expected + ", got " + std::string(py::str(py::type::of(v).attr("__name__"))));
    }
}

double number_in(const py::handle& v, const std::string& where, double lo, double hi) {
    const double d = value_of<double>(v, where, "a number");
    if (!std::isfinite(d) || d < lo || d > hi) {
        std::ostringstream os;
        os << where << " must be from " << lo << " to " << hi;
        throw py::value_error(os.str());
    }
    return d;
}

Duration millis(const py::handle& v, const std::string& where) {
    return Duration(static_cast<std::int64_t>(number_in(v, where, 0, seconds_max * 1e3) * 1e6));
}

LinkOptions link_of(const py::dict& d, LinkOptions base) {
    for (auto item : d) {
        const auto key = value_of<std::string>(item.first, "link option name", "a string");
        const auto& v = item.second;
        if (key == "latency_ms") {
            base.latency = {LatencyModel::Kind::constant, millis(v, "latency_ms"), {}, 0};
        } else if (key == "latency_median_ms") {
            base.latency.kind = LatencyModel::Kind::lognormal;
            base.latency.a = millis(v, "latency_median_ms");
        } else if (key == "latency_sigma") {
            base.latency.sigma = number_in(v, "latency_sigma", 0, 5);
        } else if (key == "jitter_ms") {
            base.jitter = millis(v, "jitter_ms");
        } else if (key == "loss_probability") {
            base.loss_probability = number_in(v, "loss_probability", 0, 0.99);
        } else if (key == "bandwidth_bytes_per_s") {
            base.bandwidth_bytes_per_s = static_cast<std::uint64_t>(number_in(v, "bandwidth_bytes_per_s", 0, 1e15));
        } else if (key == "split_probability") {
            base.split_probability = number_in(v, "split_probability", 0, 1);
        } else {
            throw py::value_error("unknown link option '" + key +
                                  "' (latency_ms, latency_median_ms, latency_sigma, jitter_ms, loss_probability, "
                                  "bandwidth_bytes_per_s, split_probability)");
        }
    }
    return base;
}

/// How deep we are inside Python behaviour hooks: the simulation must not be changed or run
/// from inside its own event loop (that would nest the loop and invalidate what it holds).
int hook_depth = 0;

void refuse_inside_hook(const char* what) {
    if (hook_depth > 0) {
        throw std::runtime_error(std::string(what) +
                                 " cannot be called from inside a device behaviour (use the ctx it receives) or a "
                                 "local function (add_lambda)");
    }
}

/// A Python exception that is not the function's own failure (KeyboardInterrupt, SystemExit, a
/// bad answer from the dispatcher) raised inside a local function: the simulation finishes the
/// event it was in (unwinding through the broker would leave it half done), the invocation
/// fails, and run_until()/run_for() re-raise it when they return.
/// (Never destroyed: a Python object must not outlive the interpreter in a static destructor.)
std::optional<py::error_already_set>& pending_python_error() {
    static auto* pending = new std::optional<py::error_already_set>();
    return *pending;
}

void reraise_pending_python_error() {
    if (auto& pending = pending_python_error()) {
        py::error_already_set e = std::move(*pending);
        pending.reset();
        throw e;
    }
}

/// The DeviceContext Python sees: valid only during the hook call that received it. A context
/// kept and used afterwards raises RuntimeError instead of touching freed memory.
class BehaviourContext {
public:
    explicit BehaviourContext(DeviceContext* ctx) : ctx_(ctx) {}
    void invalidate() { ctx_ = nullptr; }
    DeviceContext& get() const {
        if (ctx_ == nullptr) {
            throw std::runtime_error("this DeviceContext is only valid inside the behaviour call that received it");
        }
        return *ctx_;
    }

private:
    DeviceContext* ctx_;
};

/// A Python behaviour object: any of on_start(ctx), on_connected(ctx, session_present),
/// on_message(ctx, topic, payload), on_tick(ctx). Exceptions propagate out of run_until().
class PyHooks final : public DeviceHooks {
public:
    explicit PyHooks(py::object obj) : obj_(std::move(obj)) {}
    void on_start(DeviceContext& c) override { call("on_start", c); }
    void on_connected(DeviceContext& c, bool sp) override { call("on_connected", c, sp); }
    void on_message(DeviceContext& c, const std::string& t, const std::string& p) override {
        call("on_message", c, t, py::bytes(p));
    }
    void on_tick(DeviceContext& c) override { call("on_tick", c); }

private:
    template <class... A>
    void call(const char* name, DeviceContext& c, A&&... a) {
        if (!py::hasattr(obj_, name)) {
            return;
        }
        auto handle = std::make_shared<BehaviourContext>(&c);
        struct Guard {
            std::shared_ptr<BehaviourContext>& h;
            ~Guard() {
                h->invalidate();
                --hook_depth;
            }
        } guard{handle};
        ++hook_depth;
        obj_.attr(name)(handle, std::forward<A>(a)...);
    }
    py::object obj_;
};

DeviceSpec device_spec(const std::string& name, const std::string& protocol, bool clean_session, int keep_alive_s,
                       long session_expiry_s, const std::vector<std::pair<std::string, int>>& subscribe,
                       const py::object& publish, const py::object& will, double start_at_s, const py::object& link,
                       const py::object& behaviour, double tick_s, const LinkOptions& base_link,
                       const py::object& shadow = py::none()) {
    DeviceSpec d;
    d.name = name;
    if (protocol == "3.1.1") {
        d.client.version = mqtt::Version::v311;
    } else if (protocol == "5") {
        d.client.version = mqtt::Version::v5;
    } else {
        throw py::value_error("protocol must be '3.1.1' or '5', got '" + protocol + "'");
    }
    d.client.clean_start = clean_session;
    if (keep_alive_s < 0 || keep_alive_s > 65535) {
        throw py::value_error("keep_alive_s must be from 0 to 65535");
    }
    d.client.keep_alive_s = static_cast<std::uint16_t>(keep_alive_s);
    if (session_expiry_s < 0) {
        throw py::value_error("session_expiry_s must not be negative");
    }
    d.client.session_expiry_s = static_cast<std::uint32_t>(session_expiry_s);
    for (const auto& [filter, q] : subscribe) {
        d.subscribe.push_back({filter, {qos_of(q, "subscribe qos")}});
    }
    if (!publish.is_none()) {
        auto p = publish.cast<py::dict>();
        PublishPlan plan;
        for (auto item : p) {
            const auto key = item.first.cast<std::string>();
            if (key == "topic") {
                plan.topic = value_of<std::string>(item.second, "publish['topic']", "a string");
            } else if (key == "interval_s") {
                plan.interval = secs(value_of<double>(item.second, "publish['interval_s']", "a number"), "publish interval_s");
            } else if (key == "qos") {
                plan.qos = qos_of(value_of<int>(item.second, "publish['qos']", "0 or 1"), "publish qos");
            } else if (key == "retain") {
                plan.retain = value_of<bool>(item.second, "publish['retain']", "a bool");
            } else if (key == "payload") {
                plan.payload = value_of<std::string>(item.second, "publish['payload']", "a string");
            } else if (key == "count") {
                plan.count = static_cast<std::uint64_t>(number_in(item.second, "publish['count']", 0, 1e18));
            } else {
                throw py::value_error("unknown publish option '" + key + "' (topic, interval_s, qos, retain, payload, count)");
            }
        }
        if (plan.topic.empty()) {
            throw py::value_error("publish needs a topic");
        }
        if (plan.interval <= Duration::zero()) {
            throw py::value_error("publish interval_s must be positive");
        }
        d.publish = plan;
    }
    if (!will.is_none()) {
        auto w = will.cast<py::dict>();
        mqtt::Will wl;
        if (!w.contains("topic")) {
            throw py::value_error("will needs a topic");
        }
        wl.topic = value_of<std::string>(w["topic"], "will['topic']", "a string");
        wl.payload = w.contains("payload") ? value_of<std::string>(w["payload"], "will['payload']", "a string") : std::string{};
        wl.qos = qos_of(w.contains("qos") ? value_of<int>(w["qos"], "will['qos']", "0 or 1") : 0, "will qos");
        wl.retain = w.contains("retain") && value_of<bool>(w["retain"], "will['retain']", "a bool");
        d.client.will = wl;
    }
    d.start_at = secs(start_at_s, "start_at_s");
    if (!link.is_none()) {
        d.link = link_of(link.cast<py::dict>(), base_link);
    }
    if (!shadow.is_none()) {
        if (!behaviour.is_none()) {
            throw py::value_error("a device has either a behaviour or shadow=, not both");
        }
        auto options = shadow.cast<py::dict>();
        ShadowSyncOptions o;
        for (auto item : options) {
            const auto key = item.first.cast<std::string>();
            if (key == "thing") {
                o.thing = item.second.cast<std::string>();
            } else if (key == "name") {
                o.shadow_name = item.second.cast<std::string>();
            } else if (key == "reported") {
                o.reported = py::module_::import("json").attr("dumps")(item.second).cast<std::string>();
            } else {
                throw py::value_error("shadow: unknown key '" + key + "' (known: thing, name, reported)");
            }
        }
        try {
            d.hooks = make_shadow_sync(std::move(o));
        } catch (const std::invalid_argument& e) {
            throw py::value_error(e.what());
        }
    }
    if (!behaviour.is_none()) {
        d.hooks = std::make_shared<PyHooks>(behaviour);
        d.tick_interval = tick_s > 0 ? secs(tick_s, "tick_s") : Duration::zero();
    }
    return d;
}

py::dict stats_dict(const DeviceStats& s) {
    py::dict d;
    d["name"] = s.name;
    d["connected"] = s.connected;
    d["connects"] = s.connects;
    d["disconnects"] = s.disconnects;
    d["published"] = s.published;
    d["acked"] = s.acked;
    d["dropped"] = s.dropped;
    d["received"] = s.received;
    d["duplicates"] = s.duplicates;
    d["crashes"] = s.crashes;
    d["tls_failures"] = s.tls_failures;
    d["connects_refused"] = s.connects_refused;
    d["revocations"] = s.revocations;
    return d;
}

void add_fault(Simulation& s, Fault f) {
    try {
        s.add_fault(std::move(f));
    } catch (const std::invalid_argument& e) {
        throw py::value_error(e.what());
    }
}

}  // namespace

void bind_sim(py::module_& m) {
    py::register_exception<ScenarioError>(m, "ScenarioError", PyExc_ValueError);

    py::class_<BehaviourContext, std::shared_ptr<BehaviourContext>>(m, "DeviceContext", R"pbdoc(
What a Python behaviour sees: virtual clocks, a seeded random stream, and MQTT operations.
Valid only during the behaviour call that received it.)pbdoc")
        .def_property_readonly("name", [](const BehaviourContext& c) { return c.get().name(); })
        .def_property_readonly("wall_ms", [](const BehaviourContext& c) { return c.get().wall_ms(); },
                               "The device's virtual wall clock, Unix ms.")
        .def_property_readonly("now_s", [](const BehaviourContext& c) { return static_cast<double>(c.get().monotonic_ns()) / 1e9; },
                               "Virtual seconds since the start of the simulation (the device's clock).")
        .def_property_readonly("connected", [](const BehaviourContext& c) { return c.get().connected(); })
        .def("random", [](BehaviourContext& c) { return c.get().random(); },
             "Uniform in [0, 1) from the device's own seeded stream.")
        .def("publish", [](BehaviourContext& c, const std::string& topic, py::object payload, int qos, bool retain) {
                 std::string p = py::isinstance<py::bytes>(payload) ? payload.cast<std::string>() : py::str(payload).cast<std::string>();
                 c.get().publish(topic, p, qos_of(qos, "qos") == mqtt::QoS::at_least_once ? 1 : 0, retain);
             }, py::arg("topic"), py::arg("payload"), py::kw_only(), py::arg("qos") = 0, py::arg("retain") = false)
        .def("subscribe", [](BehaviourContext& c, const std::string& f, int qos) {
                 c.get().subscribe(f, qos_of(qos, "qos") == mqtt::QoS::at_least_once ? 1 : 0);
             }, py::arg("filter"), py::kw_only(), py::arg("qos") = 0)
        .def("unsubscribe", [](BehaviourContext& c, const std::string& f) { c.get().unsubscribe(f); }, py::arg("filter"));

    py::class_<Simulation, std::unique_ptr<Simulation>>(m, "Simulation", py::dynamic_attr(), R"pbdoc(
A deterministic simulation of AWS IoT Core: the real broker, virtual devices, a virtual network
and faults, in virtual time. Same arguments and seed: the same trace_hash, bit for bit.)pbdoc")
        .def(py::init([](std::uint64_t seed, double latency_ms, double jitter_ms, double loss_probability,
                         double split_probability, bool keep_trace, long session_expiry_s) {
                 SimulationOptions o;
                 o.seed = seed;
                 if (latency_ms < 0 || jitter_ms < 0) {
                     throw py::value_error("latency_ms and jitter_ms must not be negative");
                 }
                 if (loss_probability < 0 || loss_probability > 0.99) {
                     throw py::value_error("loss_probability must be from 0 to 0.99");
                 }
                 if (session_expiry_s < 1 || session_expiry_s > 604800) {
                     throw py::value_error("session_expiry_s must be from 1 to 604800");
                 }
                 o.link.latency = {LatencyModel::Kind::constant, Duration(static_cast<std::int64_t>(latency_ms * 1e6)), {}, 0};
                 o.link.jitter = Duration(static_cast<std::int64_t>(jitter_ms * 1e6));
                 o.link.loss_probability = loss_probability;
                 o.link.split_probability = split_probability;
                 o.keep_trace = keep_trace;
                 o.broker.session_expiry_max_s = static_cast<std::uint32_t>(session_expiry_s);
                 return std::make_unique<Simulation>(o);
             }),
             py::kw_only(), py::arg("seed") = 1, py::arg("latency_ms") = 10.0, py::arg("jitter_ms") = 0.0,
             py::arg("loss_probability") = 0.0, py::arg("split_probability") = 0.0, py::arg("keep_trace") = true,
             py::arg("session_expiry_s") = 3600)
        .def_static("from_scenario", [](const std::string& path, py::object seed, bool keep_trace) {
                 Scenario sc = load_scenario(path);
                 if (!seed.is_none()) {
                     sc.options.seed = seed.cast<std::uint64_t>();
                 }
                 sc.options.keep_trace = keep_trace;
                 auto sim = build_simulation(sc);
                 return std::make_pair(std::move(sim), static_cast<double>(sc.duration.count()) / 1e9);
             }, py::arg("path"), py::kw_only(), py::arg("seed") = py::none(), py::arg("keep_trace") = true,
             "Builds the scenario; returns (simulation, duration_s).")
        .def("add_device", [](Simulation& s, const std::string& name, const std::string& protocol, bool clean_session,
                              int keep_alive_s, long session_expiry_s, const std::vector<std::pair<std::string, int>>& subscribe,
                              py::object publish, py::object will, double start_at_s, py::object link, py::object behaviour,
                              double tick_s, py::object shadow) {
                 refuse_inside_hook("add_device()");
                 try {
                     s.add_device(device_spec(name, protocol, clean_session, keep_alive_s, session_expiry_s, subscribe,
                                              publish, will, start_at_s, link, behaviour, tick_s, s.options().link, shadow));
                 } catch (const std::invalid_argument& e) {
                     throw py::value_error(e.what());
                 }
             },
             py::arg("name"), py::kw_only(), py::arg("protocol") = "3.1.1", py::arg("clean_session") = true,
             py::arg("keep_alive_s") = 60, py::arg("session_expiry_s") = 0,
             py::arg("subscribe") = std::vector<std::pair<std::string, int>>{}, py::arg("publish") = py::none(),
             py::arg("will") = py::none(), py::arg("start_at_s") = 0.0, py::arg("link") = py::none(),
             py::arg("behaviour") = py::none(), py::arg("tick_s") = 0.0, py::arg("shadow") = py::none(),
             R"pbdoc(Adds a virtual device. subscribe: [(filter, qos)]; publish: dict(topic, interval_s, qos,
retain, payload, count) with {seq}, {device}, {time_ms} in the payload; will: dict(topic, payload,
qos, retain); link: dict(latency_ms, jitter_ms, loss_probability, ...); behaviour: an object with
on_start/on_connected/on_message/on_tick(ctx, ...) methods, ticked every tick_s; shadow:
dict(thing, name, reported) makes it a shadow-synced device (applies deltas, reports back).)pbdoc")
        .def("add_fleet", [](Simulation& s, const std::string& prefix, std::size_t count, const std::string& protocol,
                             int keep_alive_s, py::object publish, const std::vector<std::pair<std::string, int>>& subscribe) {
                 refuse_inside_hook("add_fleet()");
                 s.add_fleet(prefix, count, device_spec(prefix, protocol, true, keep_alive_s, 0, subscribe, publish,
                                                        py::none(), 0.0, py::none(), py::none(), 0.0, s.options().link));
             },
             py::arg("prefix"), py::arg("count"), py::kw_only(), py::arg("protocol") = "3.1.1", py::arg("keep_alive_s") = 60,
             py::arg("publish") = py::none(), py::arg("subscribe") = std::vector<std::pair<std::string, int>>{},
             "Adds count devices named prefix-000001...")
        .def("partition", [](Simulation& s, std::vector<std::string> devices, double at_s, double duration_s) {
                 refuse_inside_hook("partition()");
                 add_fault(s, Fault{FaultKind::partition, Instant{secs(at_s, "at_s")}, std::move(devices), secs(duration_s, "duration_s"), {}, {}, 0});
             }, py::arg("devices"), py::kw_only(), py::arg("at_s"), py::arg("duration_s") = 0.0,
             "Cuts devices off the broker at at_s; heals after duration_s (0: until heal()).")
        .def("heal", [](Simulation& s, std::vector<std::string> devices, double at_s) {
                 refuse_inside_hook("heal()");
                 add_fault(s, Fault{FaultKind::heal, Instant{secs(at_s, "at_s")}, std::move(devices), {}, {}, {}, 0});
             }, py::arg("devices"), py::kw_only(), py::arg("at_s"))
        .def("crash_device", [](Simulation& s, const std::string& device, double at_s, double reboot_after_s, bool power_loss) {
                 refuse_inside_hook("crash_device()");
                 add_fault(s, Fault{power_loss ? FaultKind::power_loss : FaultKind::device_crash, Instant{secs(at_s, "at_s")},
                                    {device}, secs(reboot_after_s, "reboot_after_s"), {}, {}, 0});
             }, py::arg("device"), py::kw_only(), py::arg("at_s"), py::arg("reboot_after_s") = 0.0, py::arg("power_loss") = false)
        .def("crash_broker", [](Simulation& s, double at_s, double restart_after_s) {
                 refuse_inside_hook("crash_broker()");
                 add_fault(s, Fault{FaultKind::broker_crash, Instant{secs(at_s, "at_s")}, {}, secs(restart_after_s, "restart_after_s"), {}, {}, 0});
             }, py::arg("at_s"), py::kw_only(), py::arg("restart_after_s") = 5.0)
        .def("degrade_link", [](Simulation& s, std::vector<std::string> devices, double at_s, double duration_s, py::kwargs link) {
                 refuse_inside_hook("degrade_link()");
                 add_fault(s, Fault{FaultKind::link, Instant{secs(at_s, "at_s")}, std::move(devices), secs(duration_s, "duration_s"),
                                    link_of(link, s.options().link), {}, 0});
             }, py::arg("devices"), py::kw_only(), py::arg("at_s"), py::arg("duration_s") = 0.0)
        .def("clock_skew", [](Simulation& s, const std::string& node, double at_s, double skew_s) {
                 refuse_inside_hook("clock_skew()");
                 add_fault(s, Fault{FaultKind::clock_skew, Instant{secs(at_s, "at_s")}, {node}, {}, {},
                                    Duration(static_cast<std::int64_t>(skew_s * 1e9)), 0});
             }, py::arg("node"), py::kw_only(), py::arg("at_s"), py::arg("skew_s"))
        .def("swarm", [](Simulation& s, double faults_per_minute, std::vector<std::string> kinds, double until_s, double duration_max_s) {
                 refuse_inside_hook("swarm()");
                 SwarmOptions o;
                 o.faults_per_minute = faults_per_minute;
                 o.until = Instant{secs(until_s, "until_s")};
                 o.duration_max = secs(duration_max_s, "duration_max_s");
                 o.kinds.clear();
                 for (const auto& k : kinds) {
                     if (k == "partition") o.kinds.push_back(FaultKind::partition);
                     else if (k == "device_crash") o.kinds.push_back(FaultKind::device_crash);
                     else if (k == "power_loss") o.kinds.push_back(FaultKind::power_loss);
                     else if (k == "link") o.kinds.push_back(FaultKind::link);
                     else if (k == "broker_crash") o.kinds.push_back(FaultKind::broker_crash);
                     else throw py::value_error("unknown swarm fault '" + k + "'");
                 }
                 s.enable_swarm(o);
             }, py::kw_only(), py::arg("faults_per_minute"), py::arg("kinds") = std::vector<std::string>{"partition", "device_crash", "link"},
             py::arg("until_s"), py::arg("duration_max_s") = 60.0)
        .def("run_until", [](Simulation& s, double seconds) {
                 refuse_inside_hook("run_until()");
                 const Instant t{secs(seconds, "seconds")};
                 if (t < s.now()) {
                     throw py::value_error("cannot run backwards: the simulation is already at " + std::to_string(static_cast<double>(s.now().since_epoch.count()) / 1e9) + " s");
                 }
                 s.run_until(t);
                 reraise_pending_python_error();
             }, py::arg("seconds"), "Runs to virtual time `seconds` (from the start).")
        .def("run_for", [](Simulation& s, double seconds) {
                 refuse_inside_hook("run_for()");
                 s.run_for(secs(seconds, "seconds"));
                 reraise_pending_python_error();
             }, py::arg("seconds"))
        .def_property_readonly("now_s", [](const Simulation& s) { return static_cast<double>(s.now().since_epoch.count()) / 1e9; })
        .def_property_readonly("trace_hash", [](const Simulation& s) { return s.trace().hash_hex(); })
        .def_property_readonly("events_processed", &Simulation::events_processed)
        .def_property_readonly("messages_delivered", &Simulation::messages_delivered)
        .def_property_readonly("seed", [](const Simulation& s) { return s.options().seed; })
        .def("trace_records", [](const Simulation& s) {
                 py::list out;
                 for (const auto& r : s.trace().records()) {
                     py::dict d;
                     d["t_s"] = static_cast<double>(r.time_ns) / 1e9;
                     d["kind"] = std::string(trace_kind_name(r.kind));
                     d["node"] = r.node;
                     d["connection"] = r.connection;
                     d["detail"] = r.detail;
                     out.append(d);
                 }
                 return out;
             }, "The trace as a list of dicts (t_s, kind, node, connection, detail).")
        .def("device_stats", [](const Simulation& s) {
                 py::list out;
                 for (const auto& d : s.device_stats()) {
                     out.append(stats_dict(d));
                 }
                 return out;
             })
        .def("device", [](const Simulation& s, const std::string& name) {
                 auto d = s.device(name);
                 if (!d) {
                     throw py::key_error("no device named '" + name + "'");
                 }
                 return stats_dict(*d);
             }, py::arg("name"))
        .def("received", [](const Simulation& s, const std::string& name) {
                 if (!s.device(name)) {
                     throw py::key_error("no device named '" + name + "'");
                 }
                 py::list out;
                 for (const auto& [t, p] : s.received(name)) {
                     out.append(py::make_tuple(t, py::bytes(p)));
                 }
                 return out;
             }, py::arg("name"), "Messages the device received: [(topic, payload bytes)].")
        .def("broker_stats", [](const Simulation& s) {
                 py::dict d;
                 const auto* b = s.broker();
                 d["running"] = b != nullptr;
                 if (b != nullptr) {
                     const auto& st = b->stats();
                     d["connections"] = b->connection_count();
                     d["connections_accepted"] = st.connections_accepted;
                     d["publishes_received"] = st.publishes_received;
                     d["messages_delivered"] = st.messages_delivered;
                     d["qos1_dropped_queue_full"] = st.qos1_dropped_queue_full;
                     d["qos0_dropped_slow_consumer"] = st.qos0_dropped_slow_consumer;
                     d["protocol_errors"] = st.protocol_errors;
                 }
                 return d;
             })
        .def("retained_topics", [](const Simulation& s) {
                 const auto* b = s.broker();
                 return b != nullptr ? b->retained_topics() : std::vector<std::string>{};
             })
        .def("_world", [](const Simulation& s) -> std::string {
                 const auto* core = s.core();
                 if (core == nullptr) {
                     return "null";
                 }
                 nlohmann::json world = iotsim::iotcore::describe_world(*core);
                 // The same shape as the server's GET /iotsim/world: things, certificates, policies.
                 world["registry"] = iotsim::registry::describe_registry(s.registry());
                 return world.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
             }, "iotsim.iotcore.describe_world plus the registry, as JSON text ('null' while the broker is down).")
        .def("session", [](const Simulation& s, const std::string& client_id) -> py::object {
                 const auto* b = s.broker();
                 auto info = b != nullptr ? b->session(client_id) : std::nullopt;
                 if (!info) {
                     return py::none();
                 }
                 py::dict d;
                 d["client_id"] = info->client_id;
                 d["connected"] = info->connected;
                 d["persistent"] = info->persistent;
                 py::list subs;
                 for (const auto& e : info->subscriptions) {
                     subs.append(py::make_tuple(e.filter, static_cast<int>(e.options.qos)));
                 }
                 d["subscriptions"] = subs;
                 d["queued"] = info->queued;
                 d["inflight"] = info->inflight;
                 return d;
             }, py::arg("client_id"), "The broker's view of a session (None if there is none).")
        .def("_shadow_call", [](Simulation& s, const std::string& op, const std::string& thing,
                                const std::string& name, const std::string& payload) {
                 refuse_inside_hook("shadow calls");
                 ShadowReply r;
                 if (op == "get") {
                     r = s.shadow_get(thing, name);
                 } else if (op == "update") {
                     r = s.shadow_update(thing, payload, name);
                 } else if (op == "delete") {
                     r = s.shadow_delete(thing, name);
                 } else {
                     throw py::value_error("unknown shadow operation " + op);
                 }
                 return std::make_pair(r.status, r.document);
             }, py::arg("op"), py::arg("thing"), py::arg("name"), py::arg("payload"),
             "Low-level shadow data-plane call: (status, JSON document). Use get_shadow() & co.")
        .def("_list_named_shadows", [](Simulation& s, const std::string& thing, const std::string& next_token,
                                       int page_size) {
                 refuse_inside_hook("shadow calls");
                 const ShadowReply r = s.list_named_shadows(thing, next_token, page_size);
                 return std::make_pair(r.status, r.document);
             }, py::arg("thing"), py::arg("next_token"), py::arg("page_size"),
             "Low-level ListNamedShadowsForThing: (status, JSON document). Use list_named_shadows().")
        .def("_rules_call", [](Simulation& s, const std::string& method, const std::string& path,
                               const std::string& query, const std::string& body) {
                 refuse_inside_hook("topic rule calls");
                 const ShadowReply r = s.rules_call(method, path, query, body);
                 return std::make_pair(r.status, r.document);
             }, py::arg("method"), py::arg("path"), py::arg("query"), py::arg("body"),
             "Low-level topic-rule control-plane call: (status, JSON body). Use create_topic_rule() & co.")
        .def("action_records", [](const Simulation& s) {
                 py::list out;
                 for (const auto& r : s.action_records()) {
                     py::dict d;
                     d["rule"] = r.rule_name;
                     d["index"] = r.index;
                     d["type"] = r.type;
                     d["resource"] = r.resource;
                     d["payload"] = py::bytes(r.payload);
                     d["error"] = r.error ? py::object(py::str(*r.error)) : py::object(py::none());
                     // As the file runner writes it: invalid UTF-8 in a payload replaced, never thrown.
                     d["entry"] = r.entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
                     d["stand_in"] = r.stand_in;
                     out.append(std::move(d));
                 }
                 return out;
             }, "Every rule action the stand-ins ran (republish excepted), in order: dicts with rule, index "
                "(-1: the errorAction), type, resource, payload (bytes), error (None on success) and entry (JSON text: "
                "what the stand-in stored) and stand_in (its file under a server's data directory). "
                "Kept when keep_trace=True.")
        .def("_set_lambda_handler", [](Simulation& s, py::object dispatch) {
                 refuse_inside_hook("add_lambda()");
                 if (dispatch.is_none()) {
                     s.set_lambda_handler({});
                     return;
                 }
                 // dispatch(name, event bytes) -> (ok, text): the Python side (iotsim/rules.py)
                 // keeps the functions and turns their exceptions into failures.
                 s.set_lambda_handler([dispatch = std::move(dispatch)](const std::string& name, std::string_view event)
                                          -> Result<std::string, rules::RuntimeError> {
                     ++hook_depth;  // a function must not run or change the simulation it is called from
                     struct Guard {
                         ~Guard() { --hook_depth; }
                     } guard;
                     std::pair<bool, std::string> answer;
                     try {
                         answer = dispatch(name, py::bytes(event.data(), event.size())).cast<std::pair<bool, std::string>>();
                     } catch (py::error_already_set& e) {
                         const std::string what = e.what();
                         if (!pending_python_error()) {
                             pending_python_error().emplace(std::move(e));
                         }
                         return rules::RuntimeError{"The function " + name + " was interrupted: " + what};
                     } catch (const py::cast_error&) {
                         return rules::RuntimeError{"The function " + name + " gave no (ok, text) answer"};
                     }
                     if (!answer.first) {
                         return rules::RuntimeError{std::move(answer.second)};
                     }
                     return std::move(answer.second);
                 });
             }, py::arg("dispatch"), "Low-level: the local functions' dispatcher. Use add_lambda().")
        .def("fail_action_resources", [](Simulation& s, std::vector<std::string> resources) {
                 s.fail_action_resources(std::move(resources));
             }, py::arg("resources"),
             "From now on, actions on these resources (bucket, queue, SNS topic, table, function, URL...) "
             "fail and go to the rule's errorAction; [] heals them.")
        .def("check_shadow_converged", [](Simulation& s, const std::string& thing, const std::string& name) {
                 s.check_shadow_converged(thing, name);
             }, py::arg("thing"), py::kw_only(), py::arg("name") = "",
             "At the end of the run (violations()), this shadow must exist with no delta.")
        .def("violations", [](Simulation& s) { return s.finish_checks(); },
             "Invariant violations (per-publisher order, QoS 1 at-least-once); empty when all hold.")
        .def("__repr__", [](const Simulation& s) {
                 return "<iotsim.Simulation seed=" + std::to_string(s.options().seed) + " devices=" +
                        std::to_string(s.device_count()) + " now=" + std::to_string(static_cast<double>(s.now().since_epoch.count()) / 1e9) +
                        "s trace_hash=" + s.trace().hash_hex() + ">";
             });
}
