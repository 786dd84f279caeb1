#include "iotsim/sim/scenario.hpp"
#include "iotsim/sim/shadow_device.hpp"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "iotsim/policy/policy.hpp"
#include "iotsim/ruleset/topic_rule.hpp"

namespace iotsim::sim {
namespace {

using json = nlohmann::json;

[[noreturn]] void fail(const std::string& path, const std::string& what) { throw ScenarioError(path + ": " + what); }

std::string type_name(const json& j) { return j.type_name(); }

/// Walks one JSON object, checking that every key is known.
class Fields {
public:
    Fields(const json& j, std::string path) : j_(j), path_(std::move(path)) {
        if (!j_.is_object()) {
            fail(path_, "must be an object, got " + type_name(j_));
        }
    }
    ~Fields() noexcept(false) {
        if (std::uncaught_exceptions() > 0) {
            return;
        }
        for (const auto& [k, v] : j_.items()) {
            if (!used_.contains(k)) {
                fail(at(k), "unknown field");
            }
        }
    }
    Fields(const Fields&) = delete;
    Fields& operator=(const Fields&) = delete;

    [[nodiscard]] std::string at(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
    [[nodiscard]] const json* get(const std::string& key) {
        used_.insert(key);
        auto it = j_.find(key);
        return it == j_.end() ? nullptr : &*it;
    }
    const json& require(const std::string& key) {
        const json* v = get(key);
        if (v == nullptr) {
            fail(at(key), "is required");
        }
        return *v;
    }
    std::string string(const std::string& key, std::string def) {
        const json* v = get(key);
        if (v == nullptr) {
            return def;
        }
        if (!v->is_string()) {
            fail(at(key), "must be a string, got " + type_name(*v));
        }
        return v->get<std::string>();
    }
    double number(const std::string& key, double def, double min, double max) {
        const json* v = get(key);
        if (v == nullptr) {
            return def;
        }
        if (!v->is_number()) {
            fail(at(key), "must be a number, got " + type_name(*v));
        }
        const double d = v->get<double>();
        if (!(d >= min && d <= max)) {
            std::ostringstream os;
            os << "must be from " << min << " to " << max << ", got " << d;
            fail(at(key), os.str());
        }
        return d;
    }
    std::int64_t integer(const std::string& key, std::int64_t def, std::int64_t min, std::int64_t max) {
        const json* v = get(key);
        if (v == nullptr) {
            return def;
        }
        if (!v->is_number_integer()) {
            fail(at(key), "must be an integer, got " + type_name(*v));
        }
        const auto i = v->get<std::int64_t>();
        if (i < min || i > max) {
            fail(at(key), "must be from " + std::to_string(min) + " to " + std::to_string(max) + ", got " + std::to_string(i));
        }
        return i;
    }
    bool boolean(const std::string& key, bool def) {
        const json* v = get(key);
        if (v == nullptr) {
            return def;
        }
        if (!v->is_boolean()) {
            fail(at(key), "must be true or false, got " + type_name(*v));
        }
        return v->get<bool>();
    }
    Duration duration(const std::string& key, Duration def) {
        const json* v = get(key);
        if (v == nullptr) {
            return def;
        }
        if (!v->is_string()) {
            fail(at(key), "must be a duration string such as \"250ms\", \"30s\" or \"10m\", got " + type_name(*v));
        }
        return parse_duration(v->get<std::string>(), at(key));
    }
    /// A duration that may be negative ("-1d": before the start).
    Duration signed_duration(const std::string& key, Duration def) {
        const json* v = get(key);
        if (v == nullptr) {
            return def;
        }
        if (!v->is_string()) {
            fail(at(key), "must be a duration string such as \"-1d\", \"0\" or \"90s\", got " + type_name(*v));
        }
        const std::string text = v->get<std::string>();
        if (text.starts_with('-')) {
            return -parse_duration(std::string_view(text).substr(1), at(key));
        }
        return parse_duration(text, at(key));
    }
    /// An array of strings, each one of `known` (named `what` in errors).
    std::vector<std::string> names(const std::string& key, const std::set<std::string>& known, const std::string& what) {
        std::vector<std::string> out;
        const json* v = get(key);
        if (v == nullptr) {
            return out;
        }
        if (!v->is_array()) {
            fail(at(key), "must be an array of " + what + " names");
        }
        for (std::size_t i = 0; i < v->size(); ++i) {
            const std::string p = at(key) + "[" + std::to_string(i) + "]";
            if (!(*v)[i].is_string()) {
                fail(p, "must be a " + what + " name, got " + type_name((*v)[i]));
            }
            std::string name = (*v)[i].get<std::string>();
            if (!known.contains(name)) {
                fail(p, "names unknown " + what + " \"" + name + "\"");
            }
            out.push_back(std::move(name));
        }
        return out;
    }

private:
    const json& j_;
    std::string path_;
    std::set<std::string> used_;
};

LatencyModel parse_latency(const json& j, const std::string& path) {
    Fields f(j, path);
    LatencyModel m;
    const std::string dist = f.string("distribution", "constant");
    if (dist == "constant") {
        m.kind = LatencyModel::Kind::constant;
        m.a = f.duration("value", milliseconds(10));
    } else if (dist == "uniform") {
        m.kind = LatencyModel::Kind::uniform;
        m.a = f.duration("min", milliseconds(5));
        m.b = f.duration("max", milliseconds(20));
        if (m.b < m.a) {
            fail(f.at("max"), "must not be below min");
        }
    } else if (dist == "normal") {
        m.kind = LatencyModel::Kind::normal;
        m.a = f.duration("mean", milliseconds(10));
        m.b = f.duration("stddev", milliseconds(2));
    } else if (dist == "lognormal") {
        m.kind = LatencyModel::Kind::lognormal;
        m.a = f.duration("median", milliseconds(10));
        m.sigma = f.number("sigma", 0.5, 0.0, 5.0);
    } else {
        fail(f.at("distribution"), "must be constant, uniform, normal or lognormal, got \"" + dist + "\"");
    }
    return m;
}

LinkOptions parse_link(const json& j, const std::string& path, const LinkOptions& base) {
    Fields f(j, path);
    LinkOptions l = base;
    if (const json* lat = f.get("latency")) {
        l.latency = parse_latency(*lat, f.at("latency"));
    }
    l.jitter = f.duration("jitter", l.jitter);
    l.bandwidth_bytes_per_s = static_cast<std::uint64_t>(
        f.integer("bandwidth_bytes_per_s", static_cast<std::int64_t>(l.bandwidth_bytes_per_s), 0, INT64_MAX));
    l.loss_probability = f.number("loss_probability", l.loss_probability, 0.0, 0.99);
    l.retransmit_timeout = f.duration("retransmit_timeout", l.retransmit_timeout);
    l.split_probability = f.number("split_probability", l.split_probability, 0.0, 1.0);
    l.connect_timeout = f.duration("connect_timeout", l.connect_timeout);
    return l;
}

mqtt::QoS parse_qos(Fields& f, const std::string& key) {
    return static_cast<mqtt::QoS>(f.integer(key, 0, 0, 1));
}

DeviceSpec parse_device(const json& j, const std::string& path, const LinkOptions& base_link, bool need_name) {
    Fields f(j, path);
    DeviceSpec d;
    d.name = need_name ? f.string("name", "") : f.string("name", "device");
    if (need_name && d.name.empty()) {
        fail(f.at("name"), "is required");
    }
    d.client.client_id = f.string("client_id", "");
    const std::string protocol = f.string("protocol", "3.1.1");
    if (protocol == "3.1.1") {
        d.client.version = mqtt::Version::v311;
    } else if (protocol == "5") {
        d.client.version = mqtt::Version::v5;
    } else {
        fail(f.at("protocol"), "must be \"3.1.1\" or \"5\", got \"" + protocol + "\"");
    }
    d.client.clean_start = f.boolean("clean_session", true);
    d.client.keep_alive_s = static_cast<std::uint16_t>(f.integer("keep_alive_s", 60, 0, 65535));
    d.client.session_expiry_s = static_cast<std::uint32_t>(f.integer("session_expiry_s", 0, 0, 0xFFFFFFFF));
    d.client.backoff.initial = f.duration("backoff_initial", d.client.backoff.initial);
    d.client.backoff.max = f.duration("backoff_max", d.client.backoff.max);
    d.start_at = f.duration("start_at", Duration::zero());
    d.certificate = f.string("certificate", "");  // checked against the registry by the caller
    if (const json* w = f.get("will")) {
        Fields wf(*w, f.at("will"));
        mqtt::Will will;
        will.topic = wf.string("topic", "");
        if (will.topic.empty()) {
            fail(wf.at("topic"), "is required");
        }
        will.payload = wf.string("payload", "");
        will.qos = parse_qos(wf, "qos");
        will.retain = wf.boolean("retain", false);
        d.client.will = std::move(will);
    }
    if (const json* subs = f.get("subscribe")) {
        if (!subs->is_array()) {
            fail(f.at("subscribe"), "must be an array");
        }
        for (std::size_t i = 0; i < subs->size(); ++i) {
            const std::string p = f.at("subscribe") + "[" + std::to_string(i) + "]";
            Fields sf((*subs)[i], p);
            mqtt::SubscribeEntry e;
            e.filter = sf.string("filter", "");
            if (e.filter.empty()) {
                fail(sf.at("filter"), "is required");
            }
            e.options.qos = parse_qos(sf, "qos");
            d.subscribe.push_back(std::move(e));
        }
    }
    if (const json* pub = f.get("publish")) {
        Fields pf(*pub, f.at("publish"));
        PublishPlan plan;
        plan.topic = pf.string("topic", "");
        if (plan.topic.empty()) {
            fail(pf.at("topic"), "is required");
        }
        plan.interval = pf.duration("interval", seconds(1));
        if (plan.interval <= Duration::zero()) {
            fail(pf.at("interval"), "must be positive");
        }
        plan.qos = parse_qos(pf, "qos");
        plan.retain = pf.boolean("retain", false);
        plan.payload = pf.string("payload", plan.payload);
        plan.count = static_cast<std::uint64_t>(pf.integer("count", 0, 0, INT64_MAX));
        d.publish = std::move(plan);
    }
    if (const json* link = f.get("link")) {
        d.link = parse_link(*link, f.at("link"), base_link);
    }
    if (const json* sh = f.get("shadow")) {
        Fields sf(*sh, f.at("shadow"));
        ShadowSyncOptions o;
        o.thing = sf.string("thing", "");
        o.shadow_name = sf.string("name", "");
        if (const json* rep = sf.get("reported")) {
            if (!rep->is_object()) {
                fail(sf.at("reported"), "must be a JSON object, got " + type_name(*rep));
            }
            o.reported = rep->dump();
        }
        try {
            d.hooks = make_shadow_sync(std::move(o));
        } catch (const std::invalid_argument& e) {
            fail(f.at("shadow"), e.what());
        }
    }
    return d;
}

FaultKind parse_fault_kind(const std::string& s, const std::string& path) {
    static const std::pair<const char*, FaultKind> kinds[] = {
        {"partition", FaultKind::partition},       {"hold", FaultKind::partition},
        {"heal", FaultKind::heal},                 {"release", FaultKind::heal},
        {"device_crash", FaultKind::device_crash}, {"power_loss", FaultKind::power_loss},
        {"broker_crash", FaultKind::broker_crash}, {"link", FaultKind::link},
        {"clock_skew", FaultKind::clock_skew},     {"clock_drift", FaultKind::clock_drift},
    };
    for (const auto& [name, kind] : kinds) {
        if (s == name) {
            return kind;
        }
    }
    fail(path, "unknown fault \"" + s +
                   "\" (known: partition, hold, heal, release, device_crash, power_loss, broker_crash, link, "
                   "clock_skew, clock_drift, update_certificate, attach_policy, detach_policy)");
}

std::optional<RegistryFault::Kind> registry_fault_kind(const std::string& s) {
    if (s == "update_certificate") {
        return RegistryFault::Kind::update_certificate;
    }
    if (s == "attach_policy") {
        return RegistryFault::Kind::attach_policy;
    }
    if (s == "detach_policy") {
        return RegistryFault::Kind::detach_policy;
    }
    return std::nullopt;
}

/// "ACTIVE", "INACTIVE" or "REVOKED" (the statuses a registration may ask for).
registry::CertificateStatus parse_status(Fields& f, const std::string& key, const std::string& def) {
    const std::string text = f.string(key, def);
    const auto status = registry::parse_certificate_status(text);
    if (!status || (*status != registry::CertificateStatus::active && *status != registry::CertificateStatus::inactive &&
                    *status != registry::CertificateStatus::revoked)) {
        fail(f.at(key), "must be \"ACTIVE\", \"INACTIVE\" or \"REVOKED\", got \"" + text + "\"");
    }
    return *status;
}

/// What a registry section declares, for the names other sections refer to.
struct RegistryNames {
    std::set<std::string> policies;
    std::set<std::string> things;
    std::set<std::string> certificates;
};

RegistrySetup parse_registry(const json& j, RegistryNames& names) {
    Fields f(j, "registry");
    RegistrySetup r;
    if (const json* policies = f.get("policies")) {
        if (!policies->is_object()) {
            fail("registry.policies", "must be an object: policy name -> policy document, got " + type_name(*policies));
        }
        for (const auto& [name, doc] : policies->items()) {
            const std::string p = "registry.policies." + name;
            std::string text;
            if (doc.is_object()) {
                text = doc.dump();
            } else if (doc.is_string()) {
                text = doc.get<std::string>();
            } else {
                fail(p, "must be a policy document (an object, or one as a JSON string), got " + type_name(doc));
            }
            policy::PolicyOptions options;
            options.name = name;
            auto parsed = policy::parse_policy(text, options);
            if (!parsed) {
                const policy::PolicyError& e = parsed.error();
                fail(p + (e.path.empty() ? "" : " at " + e.path),
                     std::string(policy::malformed_policy_exception) + ": " + e.message +
                         (e.detail.empty() ? "" : " (" + e.detail + ")"));
            }
            names.policies.insert(name);
            r.policies.push_back(PolicySpec{name, std::move(text)});
        }
    }
    if (const json* things = f.get("things")) {
        if (!things->is_array()) {
            fail("registry.things", "must be an array of {\"name\", \"attributes\"}");
        }
        for (std::size_t i = 0; i < things->size(); ++i) {
            const std::string p = "registry.things[" + std::to_string(i) + "]";
            Fields tf((*things)[i], p);
            ThingSpec thing;
            thing.name = tf.string("name", "");
            if (thing.name.empty()) {
                fail(tf.at("name"), "is required");
            }
            if (!names.things.insert(thing.name).second) {
                fail(tf.at("name"), "duplicate thing \"" + thing.name + "\"");
            }
            if (const json* attributes = tf.get("attributes")) {
                if (!attributes->is_object()) {
                    fail(tf.at("attributes"), "must be an object of strings, got " + type_name(*attributes));
                }
                for (const auto& [k, v] : attributes->items()) {
                    if (!v.is_string()) {
                        fail(tf.at("attributes") + "." + k, "must be a string, got " + type_name(v));
                    }
                    thing.attributes.emplace(k, v.get<std::string>());
                }
            }
            r.things.push_back(std::move(thing));
        }
    }
    if (const json* certificates = f.get("certificates")) {
        if (!certificates->is_object()) {
            fail("registry.certificates", "must be an object: certificate name -> certificate, got " +
                                              type_name(*certificates));
        }
        for (const auto& [name, c] : certificates->items()) {
            const std::string p = "registry.certificates." + name;
            if (name.empty() || name.size() > 64) {
                fail(p, "a certificate name (its subject's CommonName) has 1 to 64 characters");
            }
            Fields cf(c, p);
            CertificateSpec cert;
            cert.name = name;
            cert.status = parse_status(cf, "status", "ACTIVE");
            cert.not_before = cf.signed_duration("not_before", cert.not_before);
            cert.not_after = cf.signed_duration("not_after", cert.not_after);
            if (cert.not_after < cert.not_before) {
                fail(cf.at("not_after"), "must not be before not_before");
            }
            cert.policies = cf.names("policies", names.policies, "policy");
            cert.things = cf.names("things", names.things, "thing");
            names.certificates.insert(name);
            r.certificates.push_back(std::move(cert));
        }
    }
    return r;
}

}  // namespace

Duration parse_duration(std::string_view text, std::string_view path) {
    const std::string p(path);
    if (text == "0") {
        return Duration::zero();
    }
    std::size_t i = 0;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) {
        ++i;
    }
    if (i == 0) {
        if (!text.empty() && text[0] == '-') {
            fail(p, "must not be negative, got \"" + std::string(text) + "\"");
        }
        fail(p, "is not a duration: \"" + std::string(text) + "\" (use e.g. 250ms, 30s, 10m, 1h)");
    }
    double value = 0;
    try {
        value = std::stod(std::string(text.substr(0, i)));
    } catch (...) {
        fail(p, "is not a duration: \"" + std::string(text) + "\"");
    }
    const std::string_view unit = text.substr(i);
    double ns = 0;
    if (unit == "ns") {
        ns = value;
    } else if (unit == "us") {
        ns = value * 1e3;
    } else if (unit == "ms") {
        ns = value * 1e6;
    } else if (unit == "s") {
        ns = value * 1e9;
    } else if (unit == "m" || unit == "min") {
        ns = value * 60e9;
    } else if (unit == "h") {
        ns = value * 3600e9;
    } else if (unit == "d") {
        ns = value * 86400e9;
    } else {
        fail(p, "has an unknown unit in \"" + std::string(text) + "\" (ns, us, ms, s, m, h, d)");
    }
    if (ns > 1e18) {
        fail(p, "is too long: \"" + std::string(text) + "\"");
    }
    return Duration(static_cast<std::int64_t>(std::llround(ns)));
}

Scenario parse_scenario(std::string_view text) {
    const json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded()) {
        throw ScenarioError("scenario: not valid JSON");
    }
    Scenario s;
    Fields f(doc, "");
    const auto version = f.integer("version", 1, 1, 2);
    auto need_v2 = [version](const std::string& path) {
        if (version < 2) {
            fail(path, "needs \"version\": 2 (format version 1 has no registry)");
        }
    };
    s.name = f.string("name", "scenario");
    s.description = f.string("description", "");
    s.options.seed = static_cast<std::uint64_t>(f.integer("seed", 1, 0, INT64_MAX));
    s.duration = f.duration("duration", minutes(1));
    s.options.keep_trace = false;
    if (const json* net = f.get("network")) {
        s.options.link = parse_link(*net, "network", s.options.link);
    }
    if (const json* b = f.get("broker")) {
        Fields bf(*b, "broker");
        s.options.broker.session_expiry_max_s =
            static_cast<std::uint32_t>(bf.integer("session_expiry_s", s.options.broker.session_expiry_max_s, 1, 604800));
        s.options.broker.subscriptions_per_connection_max = static_cast<std::size_t>(
            bf.integer("subscriptions_per_connection", static_cast<std::int64_t>(s.options.broker.subscriptions_per_connection_max), 1, 100000));
    }
    RegistryNames registry_names;
    if (const json* reg = f.get("registry")) {
        need_v2("registry");
        s.options.registry = parse_registry(*reg, registry_names);
    }
    auto check_certificate = [&](const DeviceSpec& d, const std::string& path) {
        if (d.certificate.empty()) {
            return;
        }
        need_v2(path + ".certificate");
        if (!registry_names.certificates.contains(d.certificate)) {
            fail(path + ".certificate", "names unknown certificate \"" + d.certificate + "\"");
        }
    };
    std::set<std::string> names;
    if (const json* devs = f.get("devices")) {
        if (!devs->is_array()) {
            fail("devices", "must be an array");
        }
        for (std::size_t i = 0; i < devs->size(); ++i) {
            const std::string path = "devices[" + std::to_string(i) + "]";
            DeviceSpec d = parse_device((*devs)[i], path, s.options.link, true);
            check_certificate(d, path);
            if (!names.insert(d.name).second || d.name == "broker") {
                fail(path + ".name", "duplicate device name \"" + d.name + "\"");
            }
            s.devices.push_back(std::move(d));
        }
    }
    if (const json* fleets = f.get("fleets")) {
        if (!fleets->is_array()) {
            fail("fleets", "must be an array");
        }
        for (std::size_t i = 0; i < fleets->size(); ++i) {
            const std::string path = "fleets[" + std::to_string(i) + "]";
            Fields ff((*fleets)[i], path);
            FleetSpec fleet;
            fleet.prefix = ff.string("prefix", "");
            if (fleet.prefix.empty()) {
                fail(ff.at("prefix"), "is required");
            }
            fleet.count = static_cast<std::size_t>(ff.integer("count", 1, 1, 1'000'000));
            fleet.device = parse_device(ff.require("device"), ff.at("device"), s.options.link, false);
            check_certificate(fleet.device, ff.at("device"));
            s.fleets.push_back(std::move(fleet));
        }
    }
    if (const json* faults = f.get("faults")) {
        if (!faults->is_array()) {
            fail("faults", "must be an array");
        }
        for (std::size_t i = 0; i < faults->size(); ++i) {
            const std::string path = "faults[" + std::to_string(i) + "]";
            Fields ff((*faults)[i], path);
            const std::string type = ff.string("type", "");
            if (const auto kind = registry_fault_kind(type)) {
                // A control-plane change: {"type", "at", "certificate", "status" | "policy"}.
                need_v2(ff.at("type"));
                RegistryFault rf;
                rf.kind = *kind;
                rf.at = Instant{ff.duration("at", Duration::zero())};
                rf.certificate = ff.string("certificate", "");
                if (rf.certificate.empty()) {
                    fail(ff.at("certificate"), "is required");
                }
                if (!registry_names.certificates.contains(rf.certificate)) {
                    fail(ff.at("certificate"), "names unknown certificate \"" + rf.certificate + "\"");
                }
                if (rf.kind == RegistryFault::Kind::update_certificate) {
                    if (ff.get("status") == nullptr) {
                        fail(ff.at("status"), "is required");
                    }
                    rf.status = parse_status(ff, "status", "");
                } else {
                    rf.policy = ff.string("policy", "");
                    if (rf.policy.empty()) {
                        fail(ff.at("policy"), "is required");
                    }
                    if (!registry_names.policies.contains(rf.policy)) {
                        fail(ff.at("policy"), "names unknown policy \"" + rf.policy + "\"");
                    }
                }
                s.registry_faults.push_back(std::move(rf));
                continue;
            }
            Fault fault;
            fault.kind = parse_fault_kind(type, ff.at("type"));
            fault.at = Instant{ff.duration("at", Duration::zero())};
            fault.duration = ff.duration("duration", Duration::zero());
            if (const json* nodes = ff.get("devices")) {
                if (!nodes->is_array()) {
                    fail(ff.at("devices"), "must be an array of device names");
                }
                for (std::size_t k = 0; k < nodes->size(); ++k) {
                    if (!(*nodes)[k].is_string()) {
                        fail(ff.at("devices") + "[" + std::to_string(k) + "]", "must be a device name");
                    }
                    fault.nodes.push_back((*nodes)[k].get<std::string>());
                }
            }
            if (const json* node = ff.get("node")) {
                if (!node->is_string()) {
                    fail(ff.at("node"), "must be a device name or \"broker\"");
                }
                fault.nodes.push_back(node->get<std::string>());
            }
            if (const json* link = ff.get("link")) {
                fault.link = parse_link(*link, ff.at("link"), s.options.link);
            } else {
                fault.link = s.options.link;
            }
            fault.skew = Duration(static_cast<std::int64_t>(ff.number("skew_ms", 0, -1e12, 1e12) * 1e6));
            fault.drift_ppm = ff.integer("drift_ppm", 0, -100000, 100000);
            if (fault.kind != FaultKind::broker_crash && fault.nodes.empty()) {
                fail(path, "needs \"devices\" (or \"node\")");
            }
            for (std::size_t k = 0; k < fault.nodes.size(); ++k) {
                const std::string& n = fault.nodes[k];
                const bool clock = fault.kind == FaultKind::clock_skew || fault.kind == FaultKind::clock_drift;
                if (!names.contains(n) && !(clock && n == "broker")) {
                    bool in_fleet = false;
                    for (const auto& fl : s.fleets) {
                        in_fleet = in_fleet || (n.starts_with(fl.prefix + "-") && n.size() == fl.prefix.size() + 7);
                    }
                    if (!in_fleet) {
                        fail(path, "names unknown device \"" + n + "\"");
                    }
                }
            }
            s.faults.push_back(std::move(fault));
        }
    }
    if (const json* swarm = f.get("swarm")) {
        Fields sf(*swarm, "swarm");
        SwarmOptions so;
        so.faults_per_minute = sf.number("faults_per_minute", 1.0, 0.0, 10000.0);
        so.duration_max = sf.duration("duration_max", so.duration_max);
        so.from = Instant{sf.duration("from", Duration::zero())};
        so.until = Instant{sf.duration("until", s.duration)};
        if (const json* kinds = sf.get("kinds")) {
            if (!kinds->is_array()) {
                fail("swarm.kinds", "must be an array of fault names");
            }
            so.kinds.clear();
            for (std::size_t k = 0; k < kinds->size(); ++k) {
                const std::string p = "swarm.kinds[" + std::to_string(k) + "]";
                if (!(*kinds)[k].is_string()) {
                    fail(p, "must be a fault name");
                }
                so.kinds.push_back(parse_fault_kind((*kinds)[k].get<std::string>(), p));
            }
        }
        s.swarm = so;
    }
    if (const json* rules = f.get("rules")) {
        // Each element is a TopicRulePayload plus its "name"; validated as CreateTopicRule does.
        if (!rules->is_array()) {
            fail("rules", "must be an array of topic rules");
        }
        std::set<std::string> rule_names;
        for (std::size_t k = 0; k < rules->size(); ++k) {
            const std::string p = "rules[" + std::to_string(k) + "]";
            const json& r = (*rules)[k];
            if (!r.is_object()) {
                fail(p, "must be an object, got " + type_name(r));
            }
            auto n = r.find("name");
            if (n == r.end() || !n->is_string()) {
                fail(p + ".name", "is required (a string)");
            }
            json payload = r;
            payload.erase("name");
            const std::string name = n->get<std::string>();
            if (!rule_names.insert(name).second) {
                fail(p + ".name", "duplicate rule \"" + name + "\"");
            }
            try {
                (void)ruleset::compile_rule(name, payload.dump(), WallTime{});
            } catch (const ruleset::RuleError& e) {
                fail(p, e.error().type + ": " + e.error().message);
            }
            s.options.rules.emplace_back(name, payload.dump());
        }
    }
    if (const json* checks = f.get("checks")) {
        Fields cf(*checks, "checks");
        s.options.check_publisher_order = cf.boolean("publisher_order", true);
        s.options.check_shadow_versions = cf.boolean("shadow_versions", true);
        if (const json* shadows = cf.get("shadow_converged")) {
            if (!shadows->is_array()) {
                fail("checks.shadow_converged", "must be an array of {thing, name}");
            }
            for (std::size_t k = 0; k < shadows->size(); ++k) {
                Fields sf((*shadows)[k], "checks.shadow_converged[" + std::to_string(k) + "]");
                std::string thing = sf.string("thing", "");
                if (thing.empty()) {
                    fail(sf.at("thing"), "is required");
                }
                s.options.check_shadow_converged.emplace_back(std::move(thing), sf.string("name", ""));
            }
        }
        if (const json* pairs = cf.get("qos1_delivered")) {
            if (!pairs->is_array()) {
                fail("checks.qos1_delivered", "must be an array of {publisher, subscriber}");
            }
            for (std::size_t k = 0; k < pairs->size(); ++k) {
                const std::string p = "checks.qos1_delivered[" + std::to_string(k) + "]";
                Fields pf((*pairs)[k], p);
                std::string pub = pf.string("publisher", "");
                std::string sub = pf.string("subscriber", "");
                if (!names.contains(pub)) {
                    fail(pf.at("publisher"), "names unknown device \"" + pub + "\"");
                }
                if (!names.contains(sub)) {
                    fail(pf.at("subscriber"), "names unknown device \"" + sub + "\"");
                }
                s.options.check_qos1_delivered.emplace_back(std::move(pub), std::move(sub));
            }
        }
    }
    return s;
}

Scenario load_scenario(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw ScenarioError(path.string() + ": cannot read the scenario file");
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    try {
        return parse_scenario(ss.str());
    } catch (const ScenarioError& e) {
        throw ScenarioError(path.string() + ": " + e.what());
    }
}

std::unique_ptr<Simulation> build_simulation(const Scenario& s) {
    std::unique_ptr<Simulation> sim;
    try {
        sim = std::make_unique<Simulation>(s.options);
    } catch (const std::invalid_argument& e) {
        throw ScenarioError(e.what());  // the registry refused a record: "registry.policies.p: ..."
    }
    for (const auto& d : s.devices) {
        sim->add_device(d);
    }
    for (const auto& fleet : s.fleets) {
        sim->add_fleet(fleet.prefix, fleet.count, fleet.device);
    }
    try {
        for (const auto& fault : s.faults) {
            sim->add_fault(fault);
        }
        for (const auto& fault : s.registry_faults) {
            sim->add_registry_fault(fault);
        }
    } catch (const std::invalid_argument& e) {
        throw ScenarioError(std::string("faults: ") + e.what());
    }
    if (s.swarm) {
        sim->enable_swarm(*s.swarm);
    }
    return sim;
}

}  // namespace iotsim::sim
