#include "iotsim/sim/simulation.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "iotsim/actions/action_runner.hpp"
#include "iotsim/auth/policy_authorizer.hpp"
#include "iotsim/client/client.hpp"
#include "iotsim/common/assert.hpp"
#include "iotsim/common/fold_hash.hpp"
#include "iotsim/common/slot_ring.hpp"
#include "iotsim/common/spare_strings.hpp"
#include "iotsim/mqtt/codec.hpp"
#include "iotsim/mqtt/topic.hpp"
#include "iotsim/registry/error.hpp"
#include "iotsim/registry/store.hpp"
#include "iotsim/ruleset/router.hpp"
#include "iotsim/shadow/document.hpp"
#include "iotsim/sim/event_queue.hpp"
#include "iotsim/sim/policy_check.hpp"

#include "certificates.hpp"

namespace iotsim::sim {

std::string fault_kind_name(FaultKind kind) {
    switch (kind) {
        case FaultKind::partition: return "partition";
        case FaultKind::heal: return "heal";
        case FaultKind::device_crash: return "device_crash";
        case FaultKind::power_loss: return "power_loss";
        case FaultKind::broker_crash: return "broker_crash";
        case FaultKind::link: return "link";
        case FaultKind::clock_skew: return "clock_skew";
        case FaultKind::clock_drift: return "clock_drift";
    }
    return "?";
}

std::string registry_fault_name(RegistryFault::Kind kind) {
    switch (kind) {
        case RegistryFault::Kind::update_certificate: return "update_certificate";
        case RegistryFault::Kind::attach_policy: return "attach_policy";
        case RegistryFault::Kind::detach_policy: return "detach_policy";
    }
    return "?";
}

namespace {

/// A node's clocks: virtual time seen through its skew (wall only) and drift (both clocks).
struct Clock {
    Duration skew = Duration::zero();
    std::int64_t drift_ppm = 0;

    [[nodiscard]] Instant monotonic(Instant global) const {
        if (drift_ppm == 0) {
            return global;
        }
        const __int128_t extra = static_cast<__int128_t>(global.since_epoch.count()) * drift_ppm / 1'000'000;
        return Instant{global.since_epoch + Duration(static_cast<std::int64_t>(extra))};
    }
    /// The global time at which this node's monotonic clock reads `local`.
    [[nodiscard]] Instant global(Instant local) const {
        if (drift_ppm == 0) {
            return local;
        }
        const __int128_t g = static_cast<__int128_t>(local.since_epoch.count()) * 1'000'000 / (1'000'000 + drift_ppm);
        return Instant{Duration(static_cast<std::int64_t>(g))};
    }
};

struct Segment {
    Instant at;
    std::string bytes;
    bool fin = false;
};

/// The segments in flight on one direction, in order, in a SlotRing. Its first two slots are
/// stored in the connection itself: a direction rarely holds more, so an idle connection
/// allocates nothing (libstdc++'s std::deque allocates ~600 bytes on construction). A busier one
/// (a sink that many devices publish to) moves to a heap ring that doubles when full; it goes
/// back inline when it drains after holding very many (a partition's backlog is not kept).
/// A segment's buffer is the writer's, swapped in by send(); delivery hands it to the reader's
/// scratch, and the scratch's previous one goes to the simulator's spare strings (see
/// `wire_pool`): slots normally keep none.
class SegmentQueue {
public:
    [[nodiscard]] bool empty() const { return ring_.empty(); }
    Segment& front() { return ring_.front(); }
    [[nodiscard]] const Segment& front() const { return ring_.front(); }
    /// A new last segment for the caller to fill (its string is empty, with some capacity).
    Segment& push_back() { return ring_.push_back(); }
    void pop_front() {
        // Its capacity stays for a later segment, up to a bound (a large coalesced read is not
        // kept by an idle connection).
        auto& done = ring_.front().bytes;
        if (done.capacity() > kept_capacity_max) {
            done = std::string{};
        } else {
            done.clear();
        }
        ring_.pop_front();
    }
    /// After the direction's last segment (a FIN): the slots' buffers are released, since a
    /// closed connection stays in the simulator's table for the rest of the run.
    void release_buffers() {
        ring_.for_each_vacant([](Segment& s) { s.bytes = std::string{}; });
        ring_.shrink_if_empty();
    }

    template <class F>
    void for_each(F&& f) {
        for (std::uint32_t i = 0; i < ring_.size(); ++i) {
            f(ring_[i]);
        }
    }

private:
    static constexpr std::size_t kept_capacity_max = SpareStrings::capacity_max;  // as the writers keep
    SlotRing<Segment, 2> ring_;
};

/// One direction of a connection: an ordered byte stream with one pending delivery event.
struct Direction {
    SegmentQueue queue;
    Instant last;             // delivery time of the last queued segment (order is kept)
    Instant link_free;        // bandwidth: when the link finishes sending what is queued
    bool scheduled = false;   // a delivery event is pending
    bool stalled = false;     // delivery found the device partitioned; resumes on heal
};

struct Conn {
    std::uint32_t device = 0;
    std::uint64_t broker_incarnation = 0;
    bool broker_open = false;   // the broker has accepted it and not closed it
    bool device_open = false;   // the device's transport is up and not closed
    bool abandoned = false;     // the device gave up on it (closed or crashed)
    std::int32_t certificate = -1;        // index into the host's certificates; -1: none
    const char* tls_failure = nullptr;    // why the TLS handshake failed, if it did
    Direction to_broker;
    Direction to_device;
};

/// Where a received payload came from, for the order and delivery checks.
struct Origin {
    std::string_view publisher;  // into the payload
    std::uint64_t seq = 0;
};

std::optional<Origin> parse_origin(std::string_view payload) {
    constexpr std::string_view seq_key = "\"seq\":";
    constexpr std::string_view dev_key = "\"device\":\"";
    // The built-in templates start with the device: then the sequence is looked for after it
    // only, one scan of the payload instead of two.
    const std::size_t d = payload.starts_with("{\"device\":\"") ? 1 : payload.find(dev_key);
    if (d == std::string_view::npos) {
        return std::nullopt;
    }
    const std::size_t start = d + dev_key.size();
    const std::size_t end = payload.find('"', start);
    if (end == std::string_view::npos) {
        return std::nullopt;
    }
    // The first "seq": anywhere, as before this scan was split: before the device key, or from
    // the device value's opening quote on (one can start there or at the closing quote; none can
    // start inside the key or the quote-free value).
    std::size_t s = payload.substr(0, d).find(seq_key);
    if (s == std::string_view::npos) {
        s = payload.find(seq_key, start - 1);
        if (s == std::string_view::npos) {
            return std::nullopt;
        }
    }
    Origin o;
    std::size_t i = s + seq_key.size();
    bool digits = false;
    while (i < payload.size() && payload[i] >= '0' && payload[i] <= '9') {
        o.seq = o.seq * 10 + static_cast<std::uint64_t>(payload[i] - '0');
        ++i;
        digits = true;
    }
    if (!digits) {
        return std::nullopt;
    }
    o.publisher = payload.substr(start, end - start);
    return o;
}

/// A publish plan's topic or payload. The scenario format substitutes {device} in both, and
/// {seq} and {time_ms} in a payload, at each publish. What a placeholder becomes is not scanned
/// again, so a device whose name contains "{seq}" publishes its name as it is. A template is
/// compiled once and shared by every device whose plan has the same text (a fleet's thousands
/// read one copy, which stays in the cache).
struct Template {
    enum class Slot : std::uint8_t { device, seq, time_ms };
    std::string literal;                                  // the text without its placeholders
    std::vector<std::pair<std::uint32_t, Slot>> slots;    // (offset into literal, what goes there)

    static Template compile(std::string_view text, bool numbers) {
        Template t;
        while (!text.empty()) {
            const std::size_t brace = text.find('{');
            t.literal.append(text.substr(0, brace));
            if (brace == std::string_view::npos) {
                break;
            }
            text.remove_prefix(brace);
            if (numbers && text.starts_with("{seq}")) {
                t.slots.emplace_back(static_cast<std::uint32_t>(t.literal.size()), Slot::seq);
                text.remove_prefix(5);
            } else if (text.starts_with("{device}")) {
                t.slots.emplace_back(static_cast<std::uint32_t>(t.literal.size()), Slot::device);
                text.remove_prefix(8);
            } else if (numbers && text.starts_with("{time_ms}")) {
                t.slots.emplace_back(static_cast<std::uint32_t>(t.literal.size()), Slot::time_ms);
                text.remove_prefix(9);
            } else {
                t.literal.push_back('{');
                text.remove_prefix(1);
            }
        }
        return t;
    }

    /// Appends the text with the device's name and the numbers in their slots.
    void expand(std::string& out, std::string_view device, std::uint64_t seq, std::int64_t time_ms) const {
        // Pointer and length appends: no position checks, one copy per piece.
        const char* const text = literal.data();
        std::size_t from = 0;
        for (const auto& [at, slot] : slots) {
            out.append(text + from, at - from);
            from = at;
            if (slot == Slot::device) {
                out.append(device.data(), device.size());
                continue;
            }
            std::array<char, 24> digits;  // NOLINT(cppcoreguidelines-pro-type-member-init): written by to_chars
            const auto end = slot == Slot::seq
                                 ? std::to_chars(digits.data(), digits.data() + digits.size(), seq).ptr
                                 : std::to_chars(digits.data(), digits.data() + digits.size(), time_ms).ptr;
            out.append(digits.data(), static_cast<std::size_t>(end - digits.data()));
        }
        out.append(text + from, literal.size() - from);
    }
};

/// The last messages a device received (topic, payload), at most `max`: a ring whose slots are
/// reused, so a device that keeps them costs no allocation per message once it is full.
class Inbox {
public:
    /// The entry kept; good until the next push. The strings are taken by swapping: `topic` and
    /// `payload` come back holding the evicted entry's (empty until the ring is full), whose
    /// buffers the client reuses for the next message it decodes (Client::recycle).
    const std::pair<std::string, std::string>& push(std::string& topic, std::string& payload, std::size_t max) {
        if (ring_.size() < max) {
            return ring_.emplace_back(std::move(topic), std::move(payload));
        }
        auto& slot = ring_[head_];
        slot.first.swap(topic);
        slot.second.swap(payload);
        head_ = head_ + 1 == ring_.size() ? 0 : head_ + 1;
        return slot;
    }
    [[nodiscard]] std::vector<std::pair<std::string, std::string>> in_order() const {
        std::vector<std::pair<std::string, std::string>> out;
        out.reserve(ring_.size());
        out.insert(out.end(), ring_.begin() + static_cast<std::ptrdiff_t>(head_), ring_.end());
        out.insert(out.end(), ring_.begin(), ring_.begin() + static_cast<std::ptrdiff_t>(head_));
        return out;
    }

private:
    std::vector<std::pair<std::string, std::string>> ring_;
    std::size_t head_ = 0;  // the oldest entry once the ring is full
};

/// Seen sequence numbers of one publisher at one subscriber.
/// The newest 64 sequence numbers' bits are kept beside the counters, in the table's entry (one
/// memory access per message for a publisher that counts up), the older ones in a bit vector.
struct SeenSeqs {
    std::uint64_t max_first_time = 0;
    std::uint64_t base = 0;    // the window is [base, base + 64), base a multiple of 64
    std::uint64_t window = 0;  // bit i: base + i was seen
    std::vector<bool> older;   // below base: index = sequence number

    [[nodiscard]] bool has(std::uint64_t seq) const {
        if (seq >= base) {
            return seq < base + 64 && (window & (std::uint64_t{1} << (seq - base))) != 0;
        }
        return seq < older.size() && older[seq];
    }

    /// Whether `seq` was seen before; it is from now on.
    bool test_and_set(std::uint64_t seq) {
        if (seq >= base + 64) {
            // The window moves up to seq's block; its bits go to `older` (numbers between the
            // old window and the new one were never seen: nothing below base is ever added).
            if (window != 0) {
                if (older.size() < base + 64) {
                    older.resize(base + 64 + 1024, false);
                }
                for (std::uint64_t bits = window; bits != 0; bits &= bits - 1) {
                    older[base + static_cast<std::uint64_t>(__builtin_ctzll(bits))] = true;
                }
            }
            base = seq & ~std::uint64_t{63};
            window = 0;
        }
        if (seq >= base) {
            const std::uint64_t bit = std::uint64_t{1} << (seq - base);
            const bool seen = (window & bit) != 0;
            window |= bit;
            return seen;
        }
        if (older.size() <= seq) {
            older.resize(seq + 1024, false);
        }
        const bool seen = older[seq];
        older[seq] = true;
        return seen;
    }
};

/// Publisher name -> its SeenSeqs at one subscriber, looked up per message received. Open
/// addressing with linear probing over entries that hold their name inline (a device's name
/// fits a string's own buffer): a lookup usually reads one entry, where a node map reads a
/// bucket, then a node, then compares through a call. Never iterated, never shrinks.
class SeenTable {
public:
    [[nodiscard]] const SeenSeqs* find(std::string_view name) const {
        if (slots_.empty()) {
            return nullptr;
        }
        const Entry& e = slots_[probe(name, hash_of(name))];
        return e.hash != 0 ? &e.seqs : nullptr;
    }

    SeenSeqs& get(std::string_view name) {
        if ((size_ + 1) * 2 > slots_.size()) {
            grow();
        }
        const std::uint64_t h = hash_of(name);
        Entry& e = slots_[probe(name, h)];
        if (e.hash == 0) {
            e.hash = h;
            e.name.assign(name);
            ++size_;
        }
        return e.seqs;
    }

private:
    struct Entry {
        std::uint64_t hash = 0;  // 0: empty
        std::string name;
        SeenSeqs seqs;
    };

    /// Never 0 (the empty mark): the top bit is set, the low bits (the slot) are left alone.
    static std::uint64_t hash_of(std::string_view name) { return fold_hash::fold_bytes(0, name) | (std::uint64_t{1} << 63); }

    /// The slot holding `name`, or the empty slot where it belongs.
    [[nodiscard]] std::size_t probe(std::string_view name, std::uint64_t h) const {
        const std::size_t mask = slots_.size() - 1;
        std::size_t i = static_cast<std::size_t>(h) & mask;
        while (slots_[i].hash != 0 && (slots_[i].hash != h || slots_[i].name != name)) {
            i = (i + 1) & mask;
        }
        return i;
    }

    void grow() {
        std::vector<Entry> old = std::exchange(slots_, std::vector<Entry>(std::max<std::size_t>(16, slots_.size() * 2)));
        for (Entry& e : old) {
            if (e.hash != 0) {
                slots_[probe(e.name, e.hash)] = std::move(e);
            }
        }
    }

    std::vector<Entry> slots_;  // a power of two, at most half full
    std::size_t size_ = 0;
};

}  // namespace

namespace {
class Context final : public DeviceContext {
public:
    Context(Simulation::Impl& impl, std::uint32_t index) : impl_(impl), index_(index) {}
    const std::string& name() const override;
    std::int64_t wall_ms() const override;
    std::int64_t monotonic_ns() const override;
    double random() override;
    bool connected() const override;
    void publish(const std::string& topic, const std::string& payload, int qos, bool retain) override;
    void subscribe(const std::string& filter, int qos) override;
    void unsubscribe(const std::string& filter) override;

private:
    Simulation::Impl& impl_;
    std::uint32_t index_;
};
}  // namespace

struct Simulation::Impl {
    SimulationOptions options;
    EventQueue queue;
    Instant now;
    std::uint64_t events = 0;
    std::uint64_t delivered = 0;
    Trace trace;
    Rng net_rng;
    Rng fault_rng;
    Rng broker_rng;

    // The broker host.
    /// The broker's Authorizer: the registry's PolicyAuthorizer (devices without a certificate
    /// are allowed everything, as on the plain port), seen through the host so that refusals
    /// are counted per device (and, for tests only, deliveries allowed regardless).
    class HostAuthorizer final : public broker::Authorizer {
    public:
        explicit HostAuthorizer(Impl& sim) : sim_(sim) {}
        broker::ConnectDecision authorize_connect(const broker::PeerIdentity& peer,
                                                  const mqtt::Connect& connect) override {
            const broker::ConnectDecision decision = sim_.policy_authorizer->authorize_connect(peer, connect);
            if (decision != broker::ConnectDecision::allow && sim_.receiving_conn != 0) {
                ++sim_.devices[sim_.conns[sim_.receiving_conn].device].stats.connects_refused;
            }
            return decision;
        }
        bool authorize_publish(const broker::ClientContext& client, std::string_view topic, bool retain) override {
            return sim_.policy_authorizer->authorize_publish(client, topic, retain);
        }
        bool authorize_subscribe(const broker::ClientContext& client, std::string_view filter) override {
            return sim_.policy_authorizer->authorize_subscribe(client, filter);
        }
        bool authorize_receive(const broker::ClientContext& client, std::string_view topic) override {
            return sim_.options.test_authorizer_allows_every_delivery ||
                   sim_.policy_authorizer->authorize_receive(client, topic);
        }

    private:
        Impl& sim_;
    };
    HostAuthorizer authorizer{*this};
    broker::MemoryStore store;  // the broker's "disk": survives a simulated crash
    // The control plane: the registry over its "disk" (which survives a broker crash; the
    // registry is reloaded from it at restart), the authorizer over the registry, and the
    // policy_denied_delivery oracle, which shares only the registry with the authorizer.
    registry::MemoryRegistryStore registry_store;
    Rng registry_rng{Rng::derive(options.seed, "registry")};  // the registry's ids (things, generations)
    std::unique_ptr<registry::Registry> registry;
    std::unique_ptr<auth::PolicyAuthorizer> policy_authorizer;
    std::optional<DeliveryPolicyCheck> delivery_check;
    /// A certificate as the host's TLS layer knows it (from the certificate itself, as the
    /// server's OpenSSL does): its id and validity.
    struct HostCertificate {
        std::string name;
        std::string id;
        WallTime not_before;
        WallTime not_after;
    };
    std::vector<HostCertificate> certificates;
    std::map<std::string, std::uint32_t, std::less<>> certificate_by_name;
    std::vector<RegistryFault> registry_faults;
    std::uint32_t receiving_conn = 0;  // the connection whose bytes the broker is reading, if any
    /// The shadow service's "disk" (survives a simulated crash too), checking on every write
    /// that versions follow each other (SimulationOptions::check_shadow_versions).
    class CheckedShadowStore final : public shadow::ShadowStore {
    public:
        explicit CheckedShadowStore(Impl& sim) : sim_(sim) {}
        void put(const shadow::ShadowRecord& r) override {
            check(r);
            memory_.put(r);
        }
        void put_serialized(const shadow::ShadowRecord& r, std::string_view state, std::string_view metadata) override {
            check(r);
            memory_.put_serialized(r, state, metadata);
        }
        void erase(const shadow::ShadowKey& key) override {
            versions_.erase(key);
            memory_.erase(key);
        }
        std::vector<shadow::ShadowRecord> load() override { return memory_.load(); }
        [[nodiscard]] const shadow::ShadowRecord* find(const shadow::ShadowKey& key) const { return memory_.find(key); }

    private:
        struct Stored {
            std::int64_t version = 0;
            bool deleted = false;
        };
        void check(const shadow::ShadowRecord& r) {
            auto [it, fresh] = versions_.try_emplace(r.key);
            if (sim_.options.check_shadow_versions) {
                std::int64_t expected = 1;
                if (!fresh) {
                    expected = r.deleted && !it->second.deleted ? it->second.version : it->second.version + 1;
                }
                if (r.version != expected) {
                    sim_.violation("shadow " + r.key.thing_name + (r.key.classic() ? "" : "/" + r.key.shadow_name) +
                                   ": version " + std::to_string(r.version) + " stored after " +
                                   (fresh ? std::string("none")
                                          : std::to_string(it->second.version) + (it->second.deleted ? " (deleted)" : "")) +
                                   ", expected " + std::to_string(expected));
                }
            }
            it->second = Stored{r.version, r.deleted};
        }
        Impl& sim_;
        shadow::MemoryShadowStore memory_;
        std::map<shadow::ShadowKey, Stored> versions_;  // what was last stored per shadow, cheaply
    };
    CheckedShadowStore shadow_store{*this};
    ruleset::MemoryRuleStore rule_store;        // the broker's rules "on disk": survives a crash
    actions::MemoryActionRunner action_runner;  // the host's rule actions, in memory
    actions::LambdaHandler lambda_handler;      // local functions (Python callables), if any
    Rng rules_router_rng{Rng::derive(options.seed, "rules-router")};  // control-plane request ids
    std::unique_ptr<iotcore::IotCore> broker;  // the broker with its services (shadow, ...)
    std::uint64_t broker_incarnation = 1;
    std::uint64_t broker_timer_generation = 0;
    Clock broker_clock;

    struct Device {
        // What every delivery touches comes first, in a few cache lines (the fan-out benchmark's
        // 10,000 devices do not fit in the cache); `spec` and the checks' state come after.
        std::optional<client::Client> client;
        Clock clock;
        LinkOptions link;
        std::uint32_t conn = 0;
        bool powered = false;
        bool partitioned = false;
        bool subscribed = false;
        bool has_hooks = false;        // spec.hooks is set
        std::uint8_t trace_version = 4;  // spec.client.version as the trace's decoder wants it
        std::size_t inbox_max = 0;     // spec.inbox_max
        std::uint64_t timer_generation = 0;
        std::uint64_t boot = 0;
        std::uint64_t seq = 0;
        // spec.publish as behaviour() reads it (`spec` is two kilobytes further on).
        std::string topic;  // the publish plan's, {device} filled in (a topic takes no numbers)
        const Template* payload_template = nullptr;
        Duration publish_interval{};
        std::uint64_t publish_count = 0;
        mqtt::QoS publish_qos = mqtt::QoS::at_most_once;
        bool publish_retain = false;
        DeviceStats stats;
        DeviceSpec spec;
        std::int32_t certificate = -1;  // index into certificates; -1: none
        std::string client_id;          // the client id its CONNECTs carry
        Rng rng{0};
        Inbox inbox;
        // QoS 1 publish token -> (seq, virtual time it was handed to the client).
        std::map<std::uint64_t, std::pair<std::uint64_t, Instant>> token_seq;
        std::vector<bool> acked_seqs;                      // for the delivery check
        std::vector<Instant> acked_sent_at;                // when each acknowledged seq was sent
        // When the device first saw a SUBACK: a subscriber owes nothing published before it.
        std::optional<Instant> subscribed_at;
        SeenTable seen;  // publisher -> seqs received
        // Filters unsubscribed (UNSUBACK received) on the current connection: a PUBLISH that
        // arrives after it on the same connection and matches no remaining subscription is a
        // delivery after unsubscribe (TCP keeps order, so the broker sent it after the UNSUBACK).
        std::vector<std::string> unsubscribed;
        std::map<std::uint64_t, std::vector<std::string>> pending_unsubscribe;  // token -> filters
    };
    // Byte strings the writers write into and readers' scratches give back, shared by every
    // client and the broker's recycling: last in, first out, so the buffer written next is one
    // used a moment ago and still in the cache (a fleet's own buffers, a second apart, are not).
    // Declared before the devices: it outlives their clients.
    SpareStrings wire_pool{256};
    std::vector<Device> devices;
    std::string payload_scratch;     // behaviour(): the payload being published
    // Publish plans' topics and payloads, compiled once per text (and whether it takes numbers).
    std::map<std::pair<std::string, bool>, std::unique_ptr<Template>, std::less<>> templates;

    const Template* template_of(const std::string& text, bool numbers) {
        auto& t = templates[{text, numbers}];
        if (!t) {
            t = std::make_unique<Template>(Template::compile(text, numbers));
        }
        return t.get();
    }
    std::vector<std::string> names;  // device names by index, for the trace
    std::map<std::string, std::uint32_t> by_name;
    std::vector<Conn> conns{1};  // id 0 unused
    std::vector<Fault> faults;
    std::vector<std::string> violation_list;

    explicit Impl(SimulationOptions o)
        : options(std::move(o)),
          trace(options.keep_trace),
          net_rng(Rng::derive(options.seed, "network")),
          fault_rng(Rng::derive(options.seed, "faults")),
          broker_rng(Rng::derive(options.seed, "broker")) {
        trace.set_node_names(&names);
        const WallTime epoch{milliseconds(options.wall_epoch_unix_ms)};
        for (const auto& [name, payload] : options.rules) {
            // Validated here (RuleError for a bad rule), stored, loaded by recover().
            const auto rule = ruleset::compile_rule(name, payload, epoch);
            rule_store.put(ruleset::StoredRule{name, rule.payload().dump(), epoch.unix_ms()});
        }
        action_runner.keep_records = options.keep_trace;
        action_runner.wall_clock = [this] { return node_now(broker_clock).wall; };
        open_registry();
        set_up_registry();
        start_broker();
    }

    // ------------------------------------------------------------------ control plane

    /// (Re)loads the registry from its store, with a fresh authorizer and oracle over it: at
    /// the start and when the crashed broker process restarts.
    void open_registry() {
        registry = std::make_unique<registry::Registry>(registry_store, registry_rng);
        registry->recover();
        auth::PolicyAuthorizerOptions o;
        o.allow_unauthenticated_local = true;  // devices without a certificate: allowed everything
        policy_authorizer = std::make_unique<auth::PolicyAuthorizer>(*registry, o);
        if (delivery_check) {
            delivery_check->invalidate(*registry);
        } else {
            delivery_check.emplace(*registry);
        }
    }

    /// SimulationOptions::registry at virtual time zero: policies, things, then each certificate
    /// issued by the simulation's CA (drawn from the seed), recorded, attached.
    void set_up_registry() {
        const RegistrySetup& setup = options.registry;
        const Now t0 = node_now(broker_clock);
        std::string where;
        try {
            for (const auto& p : setup.policies) {
                where = "registry.policies." + p.name;
                (void)registry->create_policy(p.name, p.document, {}, t0);
            }
            for (const auto& t : setup.things) {
                where = "registry.things." + t.name;
                registry::CreateThingInput input;
                input.thing_name = t.name;
                input.attributes = t.attributes;
                (void)registry->create_thing(input, t0);
            }
            const WallTime epoch{milliseconds(options.wall_epoch_unix_ms)};
            // Sub-streams per certificate: adding one changes no other certificate's bytes. The
            // CA is made only when a certificate is (scenarios without one cost nothing).
            std::optional<SimulationCa> ca;
            for (const auto& c : setup.certificates) {
                if (!ca) {
                    ca.emplace(Rng::derive(options.seed, "certificates/ca"), epoch);
                }
                where = "registry.certificates." + c.name;
                if (c.name.empty() || certificate_by_name.contains(c.name)) {
                    throw std::invalid_argument(where + ": certificate names must be unique and not empty");
                }
                if (c.not_after < c.not_before) {
                    throw std::invalid_argument(where + ": not_after is before not_before");
                }
                Rng rng = Rng::derive(options.seed, "certificates/" + c.name);
                const std::string pem = ca->issue(c.name, rng, WallTime{epoch.since_unix_epoch + c.not_before},
                                                 WallTime{epoch.since_unix_epoch + c.not_after});
                const bool active = c.status == registry::CertificateStatus::active;
                const registry::CertificateRecord& record = registry->add_issued_certificate(
                    pem, active ? registry::CertificateStatus::active : registry::CertificateStatus::inactive, t0);
                HostCertificate host{c.name, record.id, record.not_before, record.not_after};
                if (c.status != registry::CertificateStatus::active && c.status != registry::CertificateStatus::inactive) {
                    registry->update_certificate(host.id, c.status, t0);
                }
                const std::string arn = registry->certificate_arn(host.id);
                for (const auto& p : c.policies) {
                    registry->attach_policy(p, arn, t0);
                }
                for (const auto& t : c.things) {
                    registry->attach_thing_principal(t, arn, registry::ThingPrincipalType::non_exclusive, t0);
                }
                certificate_by_name.emplace(c.name, static_cast<std::uint32_t>(certificates.size()));
                certificates.push_back(std::move(host));
            }
        } catch (const registry::RegistryError& e) {
            throw std::invalid_argument(where + ": " + e.error().type + ": " + e.error().message);
        }
        policy_authorizer->invalidate();
        delivery_check->invalidate(*registry);
    }

    void apply_registry_fault(std::size_t index) {
        const RegistryFault f = registry_faults[index];
        const HostCertificate& cert = certificates[certificate_by_name.find(f.certificate)->second];
        std::string detail = registry_fault_name(f.kind) + " " + f.certificate;
        detail += f.kind == RegistryFault::Kind::update_certificate ? " " + std::string(registry::to_string(f.status))
                                                                    : " " + f.policy;
        trace.note(now, TraceKind::fault, Trace::broker_node, 0, detail);
        const Now n = node_now(broker_clock);
        try {
            switch (f.kind) {
                case RegistryFault::Kind::update_certificate: registry->update_certificate(cert.id, f.status, n); break;
                case RegistryFault::Kind::attach_policy:
                    registry->attach_policy(f.policy, registry->certificate_arn(cert.id), n);
                    break;
                case RegistryFault::Kind::detach_policy:
                    registry->detach_policy(f.policy, registry->certificate_arn(cert.id), n);
                    break;
            }
        } catch (const registry::RegistryError& e) {
            // Refused as the control plane refuses it (e.g. leaving REVOKED): nothing changed.
            trace.note(now, TraceKind::fault, Trace::broker_node, 0,
                       detail + " refused: " + e.error().type + ": " + e.error().message);
            return;
        }
        // As the server does after each control-plane request: decisions are re-made from the
        // registry, and certificate changes disconnect whoever no longer holds an ACTIVE one.
        policy_authorizer->invalidate();
        delivery_check->invalidate(*registry);
        if (f.kind == RegistryFault::Kind::update_certificate) {
            disconnect_revoked();
        }
    }

    /// The server's disconnect_revoked: every broker connection whose certificate is no longer
    /// registered and ACTIVE is revoked (MQTT 5: DISCONNECT 0x87; lifecycle AUTH_ERROR).
    void disconnect_revoked() {
        if (!broker) {
            return;
        }
        std::vector<std::uint32_t> revoked;
        for (std::uint32_t id = 1; id < conns.size(); ++id) {
            const Conn& c = conns[id];
            if (!c.broker_open || c.certificate < 0 || c.broker_incarnation != broker_incarnation) {
                continue;
            }
            const registry::CertificateRecord* record =
                registry->find_certificate(certificates[static_cast<std::size_t>(c.certificate)].id);
            if (record == nullptr || record->status != registry::CertificateStatus::active) {
                revoked.push_back(id);
            }
        }
        for (const std::uint32_t id : revoked) {
            ++devices[conns[id].device].stats.revocations;
            trace.note(now, TraceKind::certificate_revoked, Trace::broker_node, id,
                       "certificate_revoked conn=" + std::to_string(id) + " certificate=" +
                           certificates[static_cast<std::size_t>(conns[id].certificate)].name);
            if (broker) {
                apply_broker(broker->revoke(broker::ConnectionId{id}, node_now(broker_clock)));
            }
        }
    }

    /// policy_denied_delivery: every PUBLISH the broker writes to a connection that presented a
    /// certificate is re-checked by the oracle at the moment the broker sends it (checking on
    /// arrival would blame the broker for a policy change made while the message was in flight).
    void check_deliveries(const Conn& c, std::string_view bytes) {
        const Device& d = devices[c.device];
        const mqtt::Version version = d.spec.client.version;
        const HostCertificate& cert = certificates[static_cast<std::size_t>(c.certificate)];
        std::size_t at = 0;
        while (at < bytes.size()) {
            const mqtt::Frame f = mqtt::read_frame(bytes.substr(at), mqtt::remaining_length_max);
            if (f.status != mqtt::FrameStatus::complete || bytes.size() - at < f.total_bytes()) {
                break;
            }
            if ((f.first_byte >> 4) == 3) {  // PUBLISH
                auto packet = mqtt::decode(version, f.first_byte, bytes.substr(at + f.header_bytes, f.remaining_length));
                const auto* publish = packet ? std::get_if<mqtt::Publish>(&packet.value()) : nullptr;
                if (publish != nullptr) {
                    broker::PeerIdentity peer;
                    peer.transport = broker::Transport::tls;
                    peer.address = peer_address(c.device);
                    peer.certificate_id = cert.id;
                    peer.principal = cert.id;
                    if (auto why = delivery_check->denied(peer, d.client_id, publish->topic)) {
                        violation("policy_denied_delivery: the broker delivered " + publish->topic + " to " +
                                  d.spec.name + " (certificate " + cert.name + "): " + *why);
                    }
                }
            }
            at += f.total_bytes();
        }
    }

    static std::string peer_address(std::uint32_t device) {
        return "10." + std::to_string((device >> 16) & 0xFF) + "." + std::to_string((device >> 8) & 0xFF) + "." +
               std::to_string(device & 0xFF);
    }

    // ------------------------------------------------------------------ clocks

    Now node_now(const Clock& c) const {
        const Instant mono = c.monotonic(now);
        return Now{mono, WallTime{milliseconds(options.wall_epoch_unix_ms) + mono.since_epoch + c.skew}};
    }

    // ------------------------------------------------------------------ broker host

    void start_broker() {
        if (broker_incarnation > 1) {
            open_registry();  // the restarted process reloads the registry from its store
        }
        iotcore::IotCoreConfig config;
        config.broker = options.broker;
        config.rules_seed = options.seed;
        broker = std::make_unique<iotcore::IotCore>(
            std::move(config), iotcore::IotCoreServices{authorizer, store, shadow_store, broker_rng}, rule_store);
        install_lambda_handler();
        apply_broker(broker->recover(node_now(broker_clock)));
    }

    void install_lambda_handler() {
        action_runner.lambda_handler = lambda_handler;
        if (!broker) {
            return;
        }
        if (!lambda_handler) {
            broker->set_aws_lambda({});
            return;
        }
        broker->set_aws_lambda([this](std::string_view arn, std::string_view input)
                                   -> Result<std::string, rules::RuntimeError> {
            return lambda_handler(actions::lambda_function_name(arn), input);
        });
    }

    /// Runs the rule actions the last input produced (the host's side of the rules engine);
    /// an errorAction's republish goes back into the broker.
    void run_rule_actions() {
        if (!broker) {
            return;
        }
        for (const auto& request : broker->take_rule_actions()) {
            const auto before = action_runner.stats();
            auto republish = action_runner.run(request);
            const auto& after = action_runner.stats();
            trace.note(now, TraceKind::rule_action, Trace::broker_node, 0,
                       request.rule_name + " actions=" + std::to_string(after.run - before.run) +
                           " failed=" + std::to_string(after.failed - before.failed) +
                           " error_actions=" + std::to_string(after.error_actions - before.error_actions));
            for (auto& m : republish) {
                apply_broker(broker->publish(std::move(m), node_now(broker_clock)));
            }
        }
    }

    void apply_broker(broker::Effects fx) {
        apply_broker_effects(fx);
        if (broker) {
            broker->recycle(std::move(fx));
        }
    }

    void apply_broker_effects(broker::Effects& fx) {
        run_rule_actions();
        const std::size_t count = fx.size();
        for (std::size_t i = 0; i < count; ++i) {
            auto& e = fx[i];
            if (count > 4) {
                // A fan-out: prefetch the connections and devices of the Sends a few places on.
                if (i + 8 < count) {
                    if (const auto* ahead = std::get_if<broker::Send>(&fx[i + 8])) {
                        const auto id = static_cast<std::uint32_t>(ahead->connection.value);
                        if (id < conns.size()) {
                            prefetch_bytes(&conns[id], sizeof(Conn));
                        }
                    }
                }
                if (i + 4 < count) {
                    if (const auto* ahead = std::get_if<broker::Send>(&fx[i + 4])) {
                        const auto id = static_cast<std::uint32_t>(ahead->connection.value);
                        if (id < conns.size() && conns[id].device < devices.size()) {
                            const Device& d = devices[conns[id].device];
                            prefetch_bytes(&d, static_cast<std::size_t>(reinterpret_cast<const char*>(&d.stats) -
                                                                        reinterpret_cast<const char*>(&d)));
                        }
                    }
                }
            }
            if (auto* s = std::get_if<broker::Send>(&e)) {
                const std::uint32_t id = static_cast<std::uint32_t>(s->connection.value);
                Conn& c = conns[id];
                if (!c.broker_open) {
                    continue;
                }
                trace.bytes(now, TraceKind::bytes_to_device, Trace::broker_node, id, s->bytes,
                            devices[c.device].trace_version);
                if (c.certificate >= 0) {
                    check_deliveries(c, s->bytes);
                }
                const std::size_t n = s->bytes.size();
                send(id, c.to_device, s->bytes, false, devices[c.device]);
                s->bytes.clear();  // (split: the bytes were copied into the segments)
                wire_pool.take_into(s->bytes);  // for the broker's recycle(): it keeps its own spares
                // The simulated socket buffer accepts everything at once.
                if (broker) {
                    broker::Effects more = broker->drained(s->connection, n, node_now(broker_clock));
                    if (!more.empty()) {
                        apply_broker(std::move(more));
                    }
                }
            } else if (auto* cl = std::get_if<broker::Close>(&e)) {
                const std::uint32_t id = static_cast<std::uint32_t>(cl->connection.value);
                Conn& c = conns[id];
                if (c.broker_open) {
                    c.broker_open = false;
                    trace.note(now, TraceKind::close, Trace::broker_node, id, "broker closed");
                    send(id, c.to_device, no_bytes, true, devices[c.device]);
                }
            } else if (auto* t = std::get_if<broker::ArmTimer>(&e)) {
                ++broker_timer_generation;
                queue.push(std::max(now, broker_clock.global(t->deadline)), EventKind::broker_timer, 0,
                           broker_timer_generation);
            } else if (auto* ev = std::get_if<broker::Event>(&e)) {
                if (ev->severity == broker::Severity::error) {
                    violation("broker reported an internal error: " + ev->kind + " " + ev->detail);
                }
                trace.note(now, TraceKind::broker_event, Trace::broker_node, ev->connection.value,
                           ev->kind + " " + ev->client_id + (ev->detail.empty() ? "" : " (" + ev->detail + ")"));
            }
        }
    }

    // ------------------------------------------------------------------ network

    Duration one_way(const LinkOptions& link) {
        Duration d = link.latency.sample(net_rng);
        if (link.jitter > Duration::zero()) {
            d += Duration(static_cast<std::int64_t>(net_rng.uniform(static_cast<std::uint64_t>(link.jitter.count()) + 1)));
        }
        return d;
    }

    /// Queues `bytes` (or a FIN) on one direction of a connection with the device's link model.
    /// Unsplit, the bytes' buffer moves into the segment slot and `bytes` comes back empty
    /// (or holding what the slot had, for the writer's recycle()). Split, they are copied into
    /// buffers from `wire_pool` and `bytes` is left as it was.
    void send(std::uint32_t id, Direction& dir, std::string& bytes, bool fin, Device& d) {
        const LinkOptions& link = d.link;
        Instant leave = std::max(now, dir.link_free);
        if (link.bandwidth_bytes_per_s > 0 && !bytes.empty()) {
            leave = leave + Duration(static_cast<std::int64_t>(bytes.size() * 1'000'000'000ULL / link.bandwidth_bytes_per_s));
            dir.link_free = leave;
        }
        Duration delay = one_way(link);
        Duration rto = link.retransmit_timeout;
        for (int tries = 0; tries < 16 && net_rng.chance(link.loss_probability); ++tries) {
            delay += rto;  // lost, retransmitted after an RTO that doubles (TCP)
            rto += rto;
        }
        Instant at = std::max(leave + delay, dir.last);
        const bool is_to_broker = &dir == &conns[id].to_broker;
        auto push = [&](Instant seg_at, bool seg_fin) -> Segment& {
            dir.last = seg_at;
            Segment& seg = dir.queue.push_back();  // a slot whose string keeps its capacity
            seg.at = seg_at;
            seg.fin = seg_fin;
            return seg;
        };
        if (!fin && bytes.size() > 1 && net_rng.chance(link.split_probability)) {
            // Split into 2..4 segments at random points, a microsecond apart.
            const std::size_t parts = 2 + static_cast<std::size_t>(net_rng.uniform(3));
            std::size_t offset = 0;
            for (std::size_t p = 0; p < parts && offset < bytes.size(); ++p) {
                std::size_t len = bytes.size() - offset;
                if (p + 1 < parts && len > 1) {
                    len = 1 + static_cast<std::size_t>(net_rng.uniform(len - 1));
                }
                Segment& seg = push(at, false);
                seg.bytes.clear();
                wire_pool.take_into(seg.bytes);
                seg.bytes.assign(bytes, offset, len);
                offset += len;
                at = at + std::chrono::microseconds(1);
            }
        } else {
            push(at, fin).bytes = std::move(bytes);  // (the slot is empty: a move takes the buffer, cheaper than a swap)
            bytes.clear();
        }
        schedule(id, dir, is_to_broker);
    }

    void schedule(std::uint32_t id, Direction& dir, bool to_broker) {
        if (dir.scheduled || dir.stalled || dir.queue.empty()) {
            return;
        }
        dir.scheduled = true;
        // b: the device, so that the loop can prefetch it before the event runs (see prefetch_ahead()).
        queue.push(std::max(now, dir.queue.front().at),
                   to_broker ? EventKind::segment_to_broker : EventKind::segment_to_device, id, conns[id].device);
    }

    /// The next segment, coalesced with every later data segment already due: like a TCP read,
    /// the receiver gets all the bytes that have arrived, whatever writes they came from.
    /// Into `seg` (the caller's scratch, whose string is swapped with the slot's: no copy, and
    /// both keep their capacity).
    void take_segment(Direction& dir, Segment& seg) {
        Segment& front = dir.queue.front();
        seg.at = front.at;
        seg.fin = front.fin;
        wire_pool.keep(std::move(seg.bytes));  // the last delivery's, read by now
        seg.bytes = std::move(front.bytes);
        dir.queue.pop_front();
        while (!seg.fin && !dir.queue.empty() && !dir.queue.front().fin && dir.queue.front().at <= now) {
            seg.bytes += dir.queue.front().bytes;
            wire_pool.keep(std::move(dir.queue.front().bytes));
            dir.queue.pop_front();
        }
        if (seg.fin) {
            dir.queue.release_buffers();  // nothing follows a FIN on this direction
        }
    }
    Segment to_broker_scratch;  // the segment being delivered (deliveries never nest)
    std::string no_bytes;       // a FIN's (empty) bytes
    Segment to_device_scratch;

    void deliver_to_broker(std::uint32_t id) {
        Conn& c = conns[id];
        Direction& dir = c.to_broker;
        dir.scheduled = false;
        if (dir.queue.empty()) {
            return;
        }
        if (devices[c.device].partitioned) {
            dir.stalled = true;  // TCP keeps retransmitting; the bytes arrive after the heal
            return;
        }
        Segment& seg = to_broker_scratch;
        take_segment(dir, seg);
        if (c.broker_open && broker && c.broker_incarnation == broker_incarnation) {
            if (seg.fin) {
                c.broker_open = false;
                apply_broker(broker->closed(broker::ConnectionId{id}, node_now(broker_clock)));
            } else {
                receiving_conn = id;
                auto fx = broker->receive(broker::ConnectionId{id}, seg.bytes, node_now(broker_clock));
                receiving_conn = 0;
                apply_broker(std::move(fx));
            }
        }
        schedule(id, dir, true);
    }

    void deliver_to_device(std::uint32_t id) {
        Conn& c = conns[id];
        Direction& dir = c.to_device;
        dir.scheduled = false;
        if (dir.queue.empty()) {
            return;
        }
        Device& d = devices[c.device];
        if (d.partitioned) {
            dir.stalled = true;
            return;
        }
        Segment& seg = to_device_scratch;
        take_segment(dir, seg);
        if (c.device_open && d.client && d.conn == id) {
            if (seg.fin) {
                c.device_open = false;
                d.conn = 0;
                apply_device(c.device, d.client->transport_closed(node_now(d.clock)));
            } else {
                client::ClientEffects fx = take_client_fx();
                d.client->receive(seg.bytes, node_now(d.clock), fx);
                apply_device(c.device, std::move(fx));
            }
        }
        schedule(id, conns[id].to_device, false);
    }

    void open_transport(std::uint32_t index) {
        Device& d = devices[index];
        conns.emplace_back();
        const auto id = static_cast<std::uint32_t>(conns.size() - 1);
        Conn& c = conns[id];
        c.device = index;
        d.conn = id;
        trace.note(now, TraceKind::connect_attempt, index, id, "");
        if (d.partitioned) {
            queue.push(now + d.link.connect_timeout, EventKind::connect_result, id, 0);
        } else if (!broker) {
            queue.push(now + one_way(d.link) + one_way(d.link), EventKind::connect_result, id, 0);  // RST
        } else {
            queue.push(now + one_way(d.link), EventKind::syn_arrives, id);
        }
    }

    void syn_arrives(std::uint32_t id) {
        Conn& c = conns[id];
        Device& d = devices[c.device];
        if (d.partitioned) {
            queue.push(now + d.link.connect_timeout, EventKind::connect_result, id, 0);
            return;
        }
        if (!broker) {
            queue.push(now + one_way(d.link), EventKind::connect_result, id, 0);
            return;
        }
        // The broker's host accepts even if the device has since given up: then the broker sees a
        // connection that never sends CONNECT, as a real server would.
        broker::PeerIdentity peer;
        peer.transport = broker::Transport::simulated;
        peer.address = peer_address(c.device);
        peer.port = static_cast<std::uint16_t>(1024 + (id % 60000));
        peer.principal = d.spec.name;
        if (d.certificate >= 0) {
            // TLS at the identity level: the handshake succeeds when the certificate is valid on
            // the broker's wall clock (OpenSSL's check on the server); otherwise the host resets
            // the connection before any MQTT byte, as the server does on tls_handshake_failed.
            // Status and policies are the broker's business (CONNECT), as on the server.
            const HostCertificate& cert = certificates[static_cast<std::size_t>(d.certificate)];
            const WallTime wall = node_now(broker_clock).wall;
            const char* failure = wall < cert.not_before  ? "certificate is not yet valid"
                                  : wall > cert.not_after ? "certificate has expired"
                                                          : nullptr;
            if (failure != nullptr) {
                c.tls_failure = failure;
                ++d.stats.tls_failures;
                trace.note(now, TraceKind::tls_handshake_failed, Trace::broker_node, id,
                           "tls_handshake_failed conn=" + std::to_string(id) + " device=" + d.spec.name +
                               " certificate=" + cert.name + " reason=\"" + failure + "\"");
                queue.push(now + one_way(d.link), EventKind::connect_result, id, 0);  // the reset
                return;
            }
            peer.transport = broker::Transport::tls;
            peer.certificate_id = cert.id;
            peer.principal = cert.id;
            c.certificate = d.certificate;
        }
        c.broker_open = true;
        c.broker_incarnation = broker_incarnation;
        apply_broker(broker->accept(broker::ConnectionId{id}, std::move(peer), node_now(broker_clock)));
        queue.push(now + one_way(d.link), EventKind::connect_result, id, 1);
    }

    void connect_result(std::uint32_t id, bool ok) {
        Conn& c = conns[id];
        Device& d = devices[c.device];
        if (c.abandoned || d.conn != id || !d.client) {
            return;
        }
        if (ok) {
            c.device_open = true;
            trace.note(now, TraceKind::connection_open, c.device, id, "");
            apply_device(c.device, d.client->transport_up(node_now(d.clock)));
        } else {
            d.conn = 0;
            c.abandoned = true;
            trace.note(now, TraceKind::connect_failed, c.device, id,
                       c.tls_failure != nullptr ? std::string("tls: ") + c.tls_failure
                       : d.partitioned          ? "timeout"
                                                : "refused");
            apply_device(c.device, d.client->transport_failed(node_now(d.clock)));
        }
    }

    // ------------------------------------------------------------------ devices

    // Effect vectors are reused: a vector the host has carried out goes back to a small pool
    // (or, for the broker's, back to the broker), so that steady traffic allocates none.
    std::vector<client::ClientEffects> client_fx_pool;
    client::ClientEffects take_client_fx() {
        if (client_fx_pool.empty()) {
            return {};
        }
        client::ClientEffects fx = std::move(client_fx_pool.back());
        client_fx_pool.pop_back();
        return fx;
    }
    void give_client_fx(client::ClientEffects&& fx) {
        if (client_fx_pool.size() < 8 && fx.capacity() != 0) {
            fx.clear();
            client_fx_pool.push_back(std::move(fx));
        }
    }

    void apply_device(std::uint32_t index, client::ClientEffects fx) {
        apply_device_effects(index, fx);
        if (auto& c = devices[index].client) {
            c->recycle(fx);  // what send() left in the written strings, and the received messages' strings
        }
        give_client_fx(std::move(fx));
    }

    void apply_device_effects(std::uint32_t index, client::ClientEffects& fx) {
        for (auto& e : fx) {
            Device& d = devices[index];
            if (std::holds_alternative<client::OpenTransport>(e)) {
                open_transport(index);
            } else if (auto* s = std::get_if<client::SendBytes>(&e)) {
                if (d.conn != 0 && conns[d.conn].device_open) {
                    trace.bytes(now, TraceKind::bytes_to_broker, index, d.conn, s->bytes,
                                d.trace_version);
                    send(d.conn, conns[d.conn].to_broker, s->bytes, false, d);  // moved into the segment
                }
            } else if (std::holds_alternative<client::CloseTransport>(e)) {
                if (d.conn != 0) {
                    Conn& c = conns[d.conn];
                    c.abandoned = true;
                    if (c.device_open) {
                        c.device_open = false;
                        trace.note(now, TraceKind::close, index, d.conn, "device closed");
                        send(d.conn, c.to_broker, no_bytes, true, d);
                    }
                    d.conn = 0;
                }
            } else if (auto* t = std::get_if<client::ArmTimer>(&e)) {
                ++d.timer_generation;
                queue.push(std::max(now, d.clock.global(t->deadline)), EventKind::device_timer, index, d.timer_generation);
            } else if (auto* m = std::get_if<client::MessageReceived>(&e)) {
                on_message(index, m->publish);
            } else if (auto* cn = std::get_if<client::Connected>(&e)) {
                d.unsubscribed.clear();  // a resumed session may still owe earlier messages
                ++d.stats.connects;
                d.stats.connected = true;
                trace.note(now, TraceKind::device_connected, index, d.conn,
                           cn->session_present ? "session present" : "new session");
                if (!d.subscribed && !d.spec.subscribe.empty()) {
                    d.subscribed = true;
                    client::ClientEffects out;
                    d.client->subscribe(d.spec.subscribe, node_now(d.clock), out);
                    apply_device(index, std::move(out));
                }
                if (d.spec.hooks) {
                    Context ctx(*this, index);
                    d.spec.hooks->on_connected(ctx, cn->session_present);
                }
            } else if (auto* dc = std::get_if<client::Disconnected>(&e)) {
                if (dc->was_connected) {
                    ++d.stats.disconnects;
                }
                d.stats.connected = false;
                trace.note(now, TraceKind::device_disconnected, index, 0, dc->reason);
            } else if (auto* pc = std::get_if<client::PublishCompleted>(&e)) {
                on_publish_completed(index, *pc);
            } else if (std::holds_alternative<client::SubscribeCompleted>(e)) {
                if (!d.subscribed_at) {
                    d.subscribed_at = now;
                }
            } else if (auto* uc = std::get_if<client::UnsubscribeCompleted>(&e)) {
                auto it = d.pending_unsubscribe.find(uc->token);
                if (it != d.pending_unsubscribe.end()) {
                    d.unsubscribed.insert(d.unsubscribed.end(), it->second.begin(), it->second.end());
                    d.pending_unsubscribe.erase(it);
                }
            }
        }
    }

    /// `p` is the client's decoded packet, taken apart here (its strings end in the inbox).
    void on_message(std::uint32_t index, mqtt::Publish& p) {
        Device& d = devices[index];
        ++d.stats.received;
        ++delivered;
        if (p.dup) {
            ++d.stats.duplicates;
        }
        trace.pair(now, TraceKind::message_received, index, d.conn, p.topic, p.payload);
        // Into the inbox first (a hook calling received() sees this message); the strings move
        // there and are read from there (`p` gets the evicted entry's, for the client to reuse).
        const std::string* topic = &p.topic;
        const std::string* payload = &p.payload;
        if (d.inbox_max > 0) {
            const auto& kept = d.inbox.push(p.topic, p.payload, d.inbox_max);
            topic = &kept.first;
            payload = &kept.second;
        }
        if (!d.unsubscribed.empty() && !p.dup) {
            check_after_unsubscribe(d, *topic);
        }
        if (d.has_hooks) {
            Context ctx(*this, index);
            d.spec.hooks->on_message(ctx, *topic, *payload);
        }
        check_origin(d, *topic, *payload);
    }

    void check_origin(Device& d, const std::string& topic, std::string_view payload) {
        if (!options.check_publisher_order && options.check_qos1_delivered.empty()) {
            return;
        }
        auto origin = parse_origin(payload);
        if (!origin) {
            return;
        }
        SeenSeqs& seen = d.seen.get(origin->publisher);
        if (seen.test_and_set(origin->seq)) {
            return;  // a redelivery: allowed at QoS 1
        }
        if (options.check_publisher_order && origin->seq < seen.max_first_time) {
            violation("publisher order: " + d.spec.name + " received " + std::string(origin->publisher) + " seq " +
                      std::to_string(origin->seq) + " for the first time after seq " +
                      std::to_string(seen.max_first_time) + " on " + topic);
        }
        seen.max_first_time = std::max(seen.max_first_time, origin->seq);
    }

    void check_after_unsubscribe(const Device& d, const std::string& topic) {
        bool was_unsubscribed = false;
        for (const auto& f : d.unsubscribed) {
            was_unsubscribed = was_unsubscribed || mqtt::topic_matches(f, topic);
        }
        if (!was_unsubscribed || !d.client) {
            return;
        }
        for (const auto& sub : d.client->subscriptions()) {
            if (mqtt::topic_matches(sub.filter, topic)) {
                return;  // still subscribed through another filter
            }
        }
        violation("delivery after unsubscribe: " + d.spec.name + " received " + topic +
                  " after its UNSUBACK on the same connection");
    }

    void on_publish_completed(std::uint32_t index, const client::PublishCompleted& pc) {
        Device& d = devices[index];
        const bool ok = !pc.dropped && static_cast<std::uint8_t>(pc.reason) < 0x80;
        if (ok) {
            ++d.stats.acked;
        } else {
            ++d.stats.dropped;
        }
        std::array<char, 24> token_text{};
        const char* token_end = std::to_chars(token_text.data(), token_text.data() + token_text.size(), pc.token).ptr;
        const std::string_view token_view(token_text.data(), static_cast<std::size_t>(token_end - token_text.data()));
        if (ok) {
            trace.pair(now, TraceKind::publish_completed, index, d.conn, token_view, "ok");
        } else {
            trace.pair(now, TraceKind::publish_completed, index, d.conn, token_view,
                       "failed rc=" + std::to_string(static_cast<int>(pc.reason)));
        }
        if (options.check_qos1_delivered.empty() || d.token_seq.empty()) {
            return;  // no delivery check follows this device's publishes (the map is far from the hot fields)
        }
        auto it = d.token_seq.find(pc.token);
        if (it == d.token_seq.end()) {
            return;
        }
        if (ok) {
            const auto [seq, sent_at] = it->second;
            if (d.acked_seqs.size() <= seq) {
                d.acked_seqs.resize(seq + 1024, false);
                d.acked_sent_at.resize(seq + 1024);
            }
            d.acked_seqs[seq] = true;
            d.acked_sent_at[seq] = sent_at;
        }
        d.token_seq.erase(it);
    }

    void behaviour(std::uint32_t index) {
        Device& d = devices[index];
        if (!d.powered || d.payload_template == nullptr || !d.client) {
            return;
        }
        if (d.publish_count != 0 && d.seq >= d.publish_count) {
            return;
        }
        ++d.seq;
        const Now n = node_now(d.clock);
        // The client copies both into the packet: one buffer serves every payload.
        payload_scratch.clear();
        d.payload_template->expand(payload_scratch, d.stats.name, d.seq, n.wall.unix_ms());
        client::ClientEffects out = take_client_fx();
        const std::uint64_t token = d.client->publish(d.topic, payload_scratch, d.publish_qos, d.publish_retain, n, out);
        ++d.stats.published;
        if (d.publish_qos == mqtt::QoS::at_least_once && need_delivery_check(d.spec.name)) {
            d.token_seq[token] = {d.seq, now};
        }
        apply_device(index, std::move(out));
        queue.push(now + d.publish_interval, EventKind::behaviour, index, d.boot);
    }

    bool need_delivery_check(const std::string& name) const {
        if (options.check_qos1_delivered.empty()) {
            return false;  // without reading the name, which is far from the device's hot fields
        }
        for (const auto& [pub, sub] : options.check_qos1_delivered) {
            if (pub == name) {
                return true;
            }
        }
        return false;
    }

    void power_on(std::uint32_t index) {
        Device& d = devices[index];
        d.powered = true;
        ++d.boot;
        client::ClientOptions o = d.spec.client;
        if (o.client_id.empty()) {
            o.client_id = d.spec.name;
        }
        // A fresh stream per boot: a rebooted device does not replay its previous jitter.
        d.client.emplace(std::move(o), Rng::derive(options.seed, "device/" + d.spec.name + "/boot/" + std::to_string(d.boot)));
        d.client->share_spare_bytes(&wire_pool);
        d.subscribed = false;
        trace.note(now, TraceKind::device_start, index, 0, "boot " + std::to_string(d.boot));
        apply_device(index, d.client->start(node_now(d.clock)));
        if (d.spec.hooks) {
            Context ctx(*this, index);
            d.spec.hooks->on_start(ctx);
            if (d.spec.tick_interval > Duration::zero()) {
                queue.push(now + d.spec.tick_interval, EventKind::python_callback, index, d.boot);
            }
        }
        if (d.spec.publish) {
            const auto interval = static_cast<std::uint64_t>(std::max<std::int64_t>(1, d.spec.publish->interval.count()));
            queue.push(now + Duration(static_cast<std::int64_t>(d.rng.uniform(interval))), EventKind::behaviour, index, d.boot);
        }
    }

    void power_off(std::uint32_t index, bool reset_connection) {
        Device& d = devices[index];
        if (!d.powered) {
            return;
        }
        ++d.stats.crashes;
        d.powered = false;
        if (d.conn != 0) {
            Conn& c = conns[d.conn];
            c.abandoned = true;
            if (c.device_open) {
                c.device_open = false;
                if (reset_connection) {
                    send(d.conn, c.to_broker, no_bytes, true, d);  // the OS resets the socket
                }
            }
            d.conn = 0;
        }
        d.client.reset();  // volatile state is lost
        d.stats.connected = false;
        ++d.timer_generation;
        d.token_seq.clear();
    }

    // ------------------------------------------------------------------ faults

    std::vector<std::uint32_t> resolve(const std::vector<std::string>& nodes, bool allow_broker) const {
        std::vector<std::uint32_t> out;
        for (const auto& n : nodes) {
            if (n == "broker") {
                if (!allow_broker) {
                    throw std::invalid_argument("fault cannot target the broker here: " + n);
                }
                out.push_back(Trace::broker_node);
                continue;
            }
            auto it = by_name.find(n);
            if (it == by_name.end()) {
                throw std::invalid_argument("unknown device '" + n + "'");
            }
            out.push_back(it->second);
        }
        return out;
    }

    void heal(std::uint32_t index) {
        Device& d = devices[index];
        if (!d.partitioned) {
            return;
        }
        d.partitioned = false;
        for (std::uint32_t id = 1; id < conns.size(); ++id) {
            Conn& c = conns[id];
            if (c.device != index) {
                continue;
            }
            for (Direction* dir : {&c.to_broker, &c.to_device}) {
                if (dir->stalled) {
                    dir->stalled = false;
                    const Instant resume = now + one_way(d.link);
                    dir->queue.for_each([&](Segment& seg) { seg.at = std::max(seg.at, resume); });
                    dir->last = std::max(dir->last, resume);
                    schedule(id, *dir, dir == &c.to_broker);
                }
            }
        }
    }

    void apply_fault(std::size_t index) {
        const Fault f = faults[index];  // copy: the handlers may add faults
        const bool undo = f.at != Instant{} && false;
        (void)undo;
        std::string detail = fault_kind_name(f.kind);
        for (const auto& n : f.nodes) {
            detail += " " + n;
        }
        trace.note(now, TraceKind::fault, Trace::broker_node, 0, detail);
        switch (f.kind) {
            case FaultKind::partition:
                for (auto i : resolve(f.nodes, false)) {
                    devices[i].partitioned = true;
                }
                if (f.duration > Duration::zero()) {
                    schedule_fault(Fault{FaultKind::heal, now + f.duration, f.nodes, {}, {}, {}, 0});
                }
                break;
            case FaultKind::heal:
                for (auto i : resolve(f.nodes, false)) {
                    heal(i);
                }
                break;
            case FaultKind::device_crash:
            case FaultKind::power_loss:
                for (auto i : resolve(f.nodes, false)) {
                    power_off(i, f.kind == FaultKind::device_crash);
                    if (f.duration > Duration::zero()) {
                        queue.push(now + f.duration, EventKind::device_start, i, 1);
                    }
                }
                break;
            case FaultKind::broker_crash:
                if (broker) {
                    broker.reset();  // no shutdown: the process died; the MemoryStore survives
                    ++broker_timer_generation;
                    ++broker_incarnation;
                    for (std::uint32_t id = 1; id < conns.size(); ++id) {
                        Conn& c = conns[id];
                        if (c.broker_open) {
                            c.broker_open = false;
                            send(id, c.to_device, no_bytes, true, devices[c.device]);  // RST from the OS
                        }
                    }
                    if (f.duration > Duration::zero()) {
                        queue.push(now + f.duration, EventKind::device_start, Trace::broker_node, 2);
                    }
                }
                break;
            case FaultKind::link:
                for (auto i : resolve(f.nodes, false)) {
                    devices[i].link = f.link;
                    if (f.duration > Duration::zero()) {
                        Fault restore{FaultKind::link, now + f.duration, {devices[i].spec.name}, {},
                                      devices[i].spec.link.value_or(options.link), {}, 0};
                        schedule_fault(std::move(restore));
                    }
                }
                break;
            case FaultKind::clock_skew:
                for (auto i : resolve(f.nodes, true)) {
                    (i == Trace::broker_node ? broker_clock : devices[i].clock).skew += f.skew;
                }
                break;
            case FaultKind::clock_drift:
                for (auto i : resolve(f.nodes, true)) {
                    (i == Trace::broker_node ? broker_clock : devices[i].clock).drift_ppm = f.drift_ppm;
                }
                break;
        }
    }

    void schedule_fault(Fault f) {
        const Instant at = std::max(now, f.at);
        faults.push_back(std::move(f));
        queue.push(at, EventKind::fault, static_cast<std::uint32_t>(faults.size() - 1));
    }

    // ------------------------------------------------------------------ checks

    void violation(std::string what) {
        trace.note(now, TraceKind::check_failed, Trace::broker_node, 0, what);
        if (violation_list.size() < 100) {
            violation_list.push_back("at " + std::to_string(now.since_epoch.count() / 1'000'000) + " ms: " + std::move(what));
        }
    }

    void finish_checks() {
        for (const auto& [thing, name] : options.check_shadow_converged) {
            const shadow::ShadowRecord* r = shadow_store.find(shadow::ShadowKey{thing, name});
            const std::string label = thing + (name.empty() ? "" : "/" + name);
            if (r == nullptr || r->deleted) {
                violation("shadow " + label + " does not exist at the end of the run");
            } else if (auto delta = shadow::compute_delta(r->state)) {
                violation("shadow " + label + " has not converged: delta " + delta->dump() + " at version " +
                          std::to_string(r->version));
            }
        }
        for (const auto& [pub, sub] : options.check_qos1_delivered) {
            auto pi = by_name.find(pub);
            auto si = by_name.find(sub);
            if (pi == by_name.end() || si == by_name.end()) {
                continue;
            }
            const Device& p = devices[pi->second];
            const Device& s = devices[si->second];
            const SeenSeqs* seen = s.seen.find(pub);
            std::uint64_t missing = 0;
            std::uint64_t first_missing = 0;
            for (std::uint64_t seq = 0; seq < p.acked_seqs.size(); ++seq) {
                if (!p.acked_seqs[seq]) {
                    continue;
                }
                // A message the publisher sent before the subscriber's first SUBACK may have
                // reached the broker before the SUBSCRIBE: nothing is owed for it. (A subscriber
                // that never subscribed owes everything, so that failure still shows.)
                if (s.subscribed_at && p.acked_sent_at[seq] < *s.subscribed_at) {
                    continue;
                }
                const bool got = seen != nullptr && seen->has(seq);
                if (!got) {
                    if (missing++ == 0) {
                        first_missing = seq;
                    }
                }
            }
            if (missing > 0) {
                violation("qos1 at-least-once: " + sub + " never received " + std::to_string(missing) +
                          " message(s) acknowledged to " + pub + " (first: seq " + std::to_string(first_missing) + ")");
            }
        }
    }

    // ------------------------------------------------------------------ prefetching
    //
    // A fan-out makes thousands of deliveries due at once, each to another connection and device
    // (10,000 of them do not fit in the cache): while one runs, the memory of those a few places
    // behind it is requested. Hints only: nothing here changes what runs or in which order.

    static void prefetch_bytes(const void* p, std::size_t n) {
        const char* c = static_cast<const char*>(p);
        for (std::size_t off = 0; off < n; off += 64) {
            __builtin_prefetch(c + off);
        }
    }

    static bool is_segment(const Event& e) {
        return e.kind() == EventKind::segment_to_device || e.kind() == EventKind::segment_to_broker;
    }

    /// First stage: the connection and the device's hot fields (their addresses need no load).
    void prefetch_far(std::uint32_t conn, std::uint32_t device) const {
        if (conn != 0 && conn < conns.size()) {
            prefetch_bytes(&conns[conn], sizeof(Conn));
        }
        if (device < devices.size()) {
            const Device& d = devices[device];  // addresses only: nothing is read here
            prefetch_bytes(&d, static_cast<std::size_t>(reinterpret_cast<const char*>(&d.spec) -
                                                        reinterpret_cast<const char*>(&d)));
        }
    }

    /// Second stage, once the connection is (probably) cached: the bytes of its next segment.
    void prefetch_near(std::uint32_t conn, bool to_device) const {
        if (conn < conns.size()) {
            const Direction& dir = to_device ? conns[conn].to_device : conns[conn].to_broker;
            if (!dir.queue.empty()) {
                __builtin_prefetch(dir.queue.front().bytes.data());
            }
        }
    }

    void prefetch_ahead() const {
        // Many events at this time (a fan-out): those a few places on, in two stages.
        static constexpr std::size_t far = 8;
        static constexpr std::size_t near = 3;
        if (const Event* e = queue.peek_soon(far)) {
            prefetch_event(*e);
        }
        if (const Event* e = queue.peek_soon(near)) {
            if (is_segment(*e)) {
                prefetch_near(e->a, e->kind() == EventKind::segment_to_device);
            }
            return;
        }
        // Events spread out in time (a fleet publishing at its own pace): the next one only,
        // found exactly; the event running now leaves its memory the time to arrive.
        if (const Event* e = queue.peek_next()) {
            prefetch_event(*e);
        }
    }

    void prefetch_event(const Event& e) const {
        if (is_segment(e)) {
            prefetch_far(e.a, e.b);
        } else if (e.kind() == EventKind::device_timer || e.kind() == EventKind::behaviour) {
            prefetch_far(0, e.a);
        }
    }

    // ------------------------------------------------------------------ the loop

    void run_until(Instant until) {
        Event e;
        while (queue.pop_due(until, e)) {
            prefetch_ahead();
            now = e.at;
            ++events;
            dispatch(e);
        }
        if (now < until) {
            now = until;
        }
    }

    void dispatch(const Event& e) {
        switch (e.kind()) {
            case EventKind::noop: break;
            case EventKind::segment_to_broker: deliver_to_broker(e.a); break;
            case EventKind::segment_to_device: deliver_to_device(e.a); break;
            case EventKind::syn_arrives: syn_arrives(e.a); break;
            case EventKind::connect_result: connect_result(e.a, e.b != 0); break;
            case EventKind::broker_timer:
                if (broker && e.b == static_cast<std::uint32_t>(broker_timer_generation)) {
                    apply_broker(broker->timer_fired(node_now(broker_clock)));
                }
                break;
            case EventKind::device_timer: {
                Device& d = devices[e.a];
                if (d.client && e.b == static_cast<std::uint32_t>(d.timer_generation)) {
                    client::ClientEffects fx = take_client_fx();
                    d.client->timer_fired(node_now(d.clock), fx);
                    apply_device(e.a, std::move(fx));
                }
                break;
            }
            case EventKind::behaviour:
                if (e.b == static_cast<std::uint32_t>(devices[e.a].boot)) {
                    behaviour(e.a);
                }
                break;
            case EventKind::fault: apply_fault(e.a); break;
            case EventKind::registry_fault: apply_registry_fault(e.a); break;
            case EventKind::device_start:
                if (e.a == Trace::broker_node) {
                    trace.note(now, TraceKind::fault, Trace::broker_node, 0, "broker_restart");
                    start_broker();
                } else if (!devices[e.a].powered) {
                    power_on(e.a);
                }
                break;
            case EventKind::python_callback: {
                Device& d = devices[e.a];
                if (d.powered && e.b == static_cast<std::uint32_t>(d.boot) && d.spec.hooks) {
                    Context ctx(*this, e.a);
                    d.spec.hooks->on_tick(ctx);
                    queue.push(now + d.spec.tick_interval, EventKind::python_callback, e.a, d.boot);
                }
                break;
            }
        }
    }
};

namespace {

const std::string& Context::name() const { return impl_.devices[index_].spec.name; }
std::int64_t Context::wall_ms() const { return impl_.node_now(impl_.devices[index_].clock).wall.unix_ms(); }
std::int64_t Context::monotonic_ns() const {
    return impl_.node_now(impl_.devices[index_].clock).monotonic.since_epoch.count();
}
double Context::random() { return impl_.devices[index_].rng.uniform01(); }
bool Context::connected() const { return impl_.devices[index_].stats.connected; }

void Context::publish(const std::string& topic, const std::string& payload, int qos, bool retain) {
    auto& d = impl_.devices[index_];
    if (!d.client) {
        return;
    }
    client::ClientEffects out;
    d.client->publish(topic, payload, qos >= 1 ? mqtt::QoS::at_least_once : mqtt::QoS::at_most_once, retain,
                      impl_.node_now(d.clock), out);
    ++d.stats.published;
    impl_.apply_device(index_, std::move(out));
}

void Context::subscribe(const std::string& filter, int qos) {
    auto& d = impl_.devices[index_];
    if (!d.client) {
        return;
    }
    client::ClientEffects out;
    d.client->subscribe({{filter, {qos >= 1 ? mqtt::QoS::at_least_once : mqtt::QoS::at_most_once}}},
                        impl_.node_now(d.clock), out);
    impl_.apply_device(index_, std::move(out));
}

void Context::unsubscribe(const std::string& filter) {
    auto& d = impl_.devices[index_];
    if (!d.client) {
        return;
    }
    client::ClientEffects out;
    const std::uint64_t token = d.client->unsubscribe({filter}, impl_.node_now(d.clock), out);
    d.pending_unsubscribe[token] = {filter};
    impl_.apply_device(index_, std::move(out));
}

}  // namespace

Simulation::Simulation(SimulationOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Simulation::~Simulation() = default;

std::uint32_t Simulation::add_device(DeviceSpec spec) {
    Impl& s = *impl_;
    if (spec.name.empty()) {
        throw std::invalid_argument("a device needs a name");
    }
    if (s.by_name.contains(spec.name) || spec.name == "broker") {
        throw std::invalid_argument("duplicate device name '" + spec.name + "'");
    }
    const auto index = static_cast<std::uint32_t>(s.devices.size());
    Impl::Device d;
    if (!spec.certificate.empty()) {
        auto it = s.certificate_by_name.find(spec.certificate);
        if (it == s.certificate_by_name.end()) {
            throw std::invalid_argument("device '" + spec.name + "' names unknown certificate '" + spec.certificate + "'");
        }
        d.certificate = static_cast<std::int32_t>(it->second);
    }
    d.client_id = spec.client.client_id.empty() ? spec.name : spec.client.client_id;
    d.link = spec.link.value_or(s.options.link);
    d.rng = Rng::derive(s.options.seed, "device/" + spec.name);
    d.stats.name = spec.name;
    const Instant start = Instant{spec.start_at};
    d.has_hooks = spec.hooks != nullptr;
    d.trace_version = spec.client.version == mqtt::Version::v5 ? 5 : 4;
    d.inbox_max = spec.inbox_max;
    if (spec.publish) {
        s.template_of(spec.publish->topic, false)->expand(d.topic, spec.name, 0, 0);
        d.payload_template = s.template_of(spec.publish->payload, true);
        d.publish_interval = spec.publish->interval;
        d.publish_count = spec.publish->count;
        d.publish_qos = spec.publish->qos;
        d.publish_retain = spec.publish->retain;
    }
    d.spec = std::move(spec);
    s.by_name.emplace(d.spec.name, index);
    s.names.push_back(d.spec.name);
    s.devices.push_back(std::move(d));
    s.queue.push(std::max(s.now, start), EventKind::device_start, index, 0);
    return index;
}

void Simulation::add_fleet(const std::string& prefix, std::size_t count, const DeviceSpec& spec) {
    for (std::size_t i = 1; i <= count; ++i) {
        char suffix[16];
        std::snprintf(suffix, sizeof suffix, "-%06zu", i);
        DeviceSpec d = spec;
        d.name = prefix + suffix;
        d.inbox_max = 0;  // a fleet's messages are counted, not kept
        if (!d.client.client_id.empty()) {
            d.client.client_id += suffix;
        }
        add_device(std::move(d));
    }
}

void Simulation::add_fault(Fault fault) {
    if (fault.kind != FaultKind::broker_crash) {
        (void)impl_->resolve(fault.nodes, fault.kind == FaultKind::clock_skew || fault.kind == FaultKind::clock_drift);
    }
    if (fault.duration < Duration::zero()) {
        throw std::invalid_argument("fault duration must not be negative");
    }
    impl_->schedule_fault(std::move(fault));
}

void Simulation::enable_swarm(const SwarmOptions& swarm) {
    Impl& s = *impl_;
    if (swarm.kinds.empty() || swarm.faults_per_minute <= 0 || s.devices.empty()) {
        return;
    }
    const double mean_gap_ns = 60e9 / swarm.faults_per_minute;
    Instant at = swarm.from;
    while (true) {
        double u = s.fault_rng.uniform01();
        if (u <= 0) {
            u = 0x1.0p-53;
        }
        at = at + Duration(static_cast<std::int64_t>(-std::log(u) * mean_gap_ns));
        if (at > swarm.until) {
            break;
        }
        Fault f;
        f.kind = swarm.kinds[s.fault_rng.uniform(swarm.kinds.size())];
        f.at = at;
        const auto max_ns = static_cast<std::uint64_t>(std::max<std::int64_t>(1'000'000'000, swarm.duration_max.count()));
        f.duration = Duration(static_cast<std::int64_t>(1'000'000'000 + s.fault_rng.uniform(max_ns - 999'999'999)));
        if (f.kind != FaultKind::broker_crash) {
            f.nodes.push_back(s.devices[s.fault_rng.uniform(s.devices.size())].spec.name);
        }
        if (f.kind == FaultKind::link) {
            f.link = s.options.link;
            f.link.loss_probability = 0.2;
            f.link.latency.a = milliseconds(300);
        }
        if (f.kind == FaultKind::clock_skew) {
            f.skew = seconds(static_cast<std::int64_t>(s.fault_rng.uniform(600)) - 300);
        }
        s.schedule_fault(std::move(f));
    }
}

void Simulation::add_registry_fault(RegistryFault fault) {
    Impl& s = *impl_;
    if (!s.certificate_by_name.contains(fault.certificate)) {
        throw std::invalid_argument("unknown certificate '" + fault.certificate + "'");
    }
    if (fault.kind != RegistryFault::Kind::update_certificate) {
        bool known = false;
        for (const auto& p : s.options.registry.policies) {
            known = known || p.name == fault.policy;
        }
        if (!known) {
            throw std::invalid_argument("unknown policy '" + fault.policy + "'");
        }
    }
    const Instant at = std::max(s.now, fault.at);
    s.registry_faults.push_back(std::move(fault));
    s.queue.push(at, EventKind::registry_fault, static_cast<std::uint32_t>(s.registry_faults.size() - 1));
}

void Simulation::run_until(Instant until) { impl_->run_until(until); }
Instant Simulation::now() const { return impl_->now; }
const Trace& Simulation::trace() const { return impl_->trace; }

std::vector<DeviceStats> Simulation::device_stats() const {
    std::vector<DeviceStats> out;
    out.reserve(impl_->devices.size());
    for (const auto& d : impl_->devices) {
        out.push_back(d.stats);
    }
    return out;
}

std::optional<DeviceStats> Simulation::device(const std::string& name) const {
    auto it = impl_->by_name.find(name);
    if (it == impl_->by_name.end()) {
        return std::nullopt;
    }
    return impl_->devices[it->second].stats;
}

std::vector<std::pair<std::string, std::string>> Simulation::received(const std::string& name) const {
    auto it = impl_->by_name.find(name);
    if (it == impl_->by_name.end()) {
        return {};
    }
    return impl_->devices[it->second].inbox.in_order();
}

const broker::Broker* Simulation::broker() const {
    return impl_->broker ? &impl_->broker->broker() : nullptr;
}

const iotcore::IotCore* Simulation::core() const { return impl_->broker.get(); }

const registry::Registry& Simulation::registry() const { return *impl_->registry; }

std::optional<std::string> Simulation::certificate_id(const std::string& name) const {
    auto it = impl_->certificate_by_name.find(name);
    if (it == impl_->certificate_by_name.end()) {
        return std::nullopt;
    }
    return impl_->certificates[it->second].id;
}

namespace {

ShadowReply reply_of(const shadow::ShadowResponse& r) { return ShadowReply{r.status, r.document.dump()}; }

ShadowReply broker_down() {
    // AWS's answer when the service cannot be reached; the simulated broker is crashed.
    return ShadowReply{503, R"({"code":503,"message":"Service unavailable"})"};
}

}  // namespace

void Simulation::check_shadow_converged(const std::string& thing, const std::string& shadow_name) {
    impl_->options.check_shadow_converged.emplace_back(thing, shadow_name);
}

ShadowReply Simulation::shadow_get(const std::string& thing, const std::string& shadow_name) {
    if (!impl_->broker) {
        return broker_down();
    }
    auto r = impl_->broker->shadow_get({thing, shadow_name}, "", impl_->node_now(impl_->broker_clock));
    impl_->apply_broker(std::move(r.effects));
    return reply_of(r.response);
}

ShadowReply Simulation::shadow_update(const std::string& thing, const std::string& payload,
                                      const std::string& shadow_name) {
    if (!impl_->broker) {
        return broker_down();
    }
    auto r = impl_->broker->shadow_update({thing, shadow_name}, payload, impl_->node_now(impl_->broker_clock));
    impl_->apply_broker(std::move(r.effects));
    return reply_of(r.response);
}

ShadowReply Simulation::shadow_delete(const std::string& thing, const std::string& shadow_name) {
    if (!impl_->broker) {
        return broker_down();
    }
    auto r = impl_->broker->shadow_delete({thing, shadow_name}, "", impl_->node_now(impl_->broker_clock));
    impl_->apply_broker(std::move(r.effects));
    return reply_of(r.response);
}

ShadowReply Simulation::list_named_shadows(const std::string& thing, const std::string& next_token, int page_size) {
    if (!impl_->broker) {
        return broker_down();
    }
    auto r = impl_->broker->list_named_shadows(thing, next_token, page_size, impl_->node_now(impl_->broker_clock));
    return ShadowReply{r.status, r.document.dump()};
}
ShadowReply Simulation::rules_call(const std::string& method, const std::string& path, const std::string& query,
                                   const std::string& body) {
    if (!impl_->broker) {
        return broker_down();
    }
    http::Request request;
    request.method = method;
    request.path = path;
    request.query = query;
    request.target = query.empty() ? path : path + "?" + query;
    request.body = body;
    ruleset::TopicRuleRouter router(impl_->broker->rules(), impl_->rules_router_rng);
    const http::Response response = router.handle(request, impl_->node_now(impl_->broker_clock));
    const std::string* type = response.header("x-amzn-ErrorType");
    if (type == nullptr) {
        return ShadowReply{response.status, response.body};
    }
    // The error type travels in a header over HTTP; here it joins the body as "__type", as in
    // AWS's JSON protocols, so that one string carries the whole answer.
    nlohmann::json doc = nlohmann::json::parse(response.body, nullptr, false);
    if (!doc.is_object()) {
        doc = nlohmann::json{{"message", response.body}};
    }
    doc["__type"] = type->substr(0, type->find(':'));
    return ShadowReply{response.status, doc.dump()};
}

const std::vector<actions::ActionRecord>& Simulation::action_records() const { return impl_->action_runner.records(); }

void Simulation::set_lambda_handler(actions::LambdaHandler handler) {
    impl_->lambda_handler = std::move(handler);
    impl_->install_lambda_handler();
}

void Simulation::fail_action_resources(std::vector<std::string> resources) {
    impl_->action_runner.fail_resources = std::move(resources);
}

const std::vector<std::string>& Simulation::violations() const { return impl_->violation_list; }
const std::vector<std::string>& Simulation::finish_checks() {
    impl_->finish_checks();
    return impl_->violation_list;
}
std::uint64_t Simulation::events_processed() const { return impl_->events; }
std::uint64_t Simulation::messages_delivered() const { return impl_->delivered; }
const SimulationOptions& Simulation::options() const { return impl_->options; }
std::size_t Simulation::device_count() const { return impl_->devices.size(); }

}  // namespace iotsim::sim
