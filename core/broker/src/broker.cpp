#include "iotsim/broker/broker.hpp"

#include <algorithm>
#include <array>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <nlohmann/json.hpp>

#include "iotsim/common/assert.hpp"
#include "iotsim/common/spare_strings.hpp"
#include "iotsim/mqtt/codec.hpp"
#include "iotsim/mqtt/topic.hpp"
#include "state.hpp"
#include "topic_trie.hpp"

namespace iotsim::broker {

using mqtt::QoS;
using mqtt::ReasonCode;
using mqtt::Version;

namespace {

/// Why a connection ended, as AWS names it in the disconnected lifecycle event
/// (../shared/reference/aws-iot-core.md §1.12), and whether the will is published.
enum class Cause : std::uint8_t {
    client_initiated,   // DISCONNECT from the client: no will
    client_will,        // MQTT 5 DISCONNECT 0x04 "with will message": will (per spec; AWS silent)
    connection_lost,    // transport closed under us
    client_error,       // protocol violation
    auth_error,         // a denied operation that closes the connection
    duplicate_client_id,
    keep_alive_timeout,
    server_shutdown,
    customauth_ttl,  // a custom authorizer's disconnectAfterInSeconds elapsed
};

std::string_view cause_name(Cause cause) {
    switch (cause) {
        case Cause::client_initiated:
        case Cause::client_will: return "CLIENT_INITIATED_DISCONNECT";
        case Cause::connection_lost: return "CONNECTION_LOST";
        case Cause::client_error: return "CLIENT_ERROR";
        case Cause::auth_error: return "AUTH_ERROR";
        case Cause::duplicate_client_id: return "DUPLICATE_CLIENTID";
        case Cause::keep_alive_timeout: return "MQTT_KEEP_ALIVE_TIMEOUT";
        case Cause::server_shutdown: return "SERVER_INITIATED_DISCONNECT";
        case Cause::customauth_ttl: return "CUSTOMAUTH_TTL_EXPIRATION";
    }
    return "UNKNOWN";
}

bool publishes_will(Cause cause) { return cause != Cause::client_initiated; }

enum class TimerKind : std::uint8_t { connect_timeout, keep_alive, session_expiry, connect_ttl };

/// When a custom authorizer's disconnectAfterInSeconds ends the connection (counted from the
/// transport's accept, which precedes the CONNACK by the function's run time), or nullopt.
std::optional<Instant> connect_ttl_deadline(const Connection& c) {
    if (!c.peer.custom || c.peer.custom->disconnect_after_s == 0) {
        return std::nullopt;
    }
    return c.accepted_at + seconds(c.peer.custom->disconnect_after_s);
}

struct TimerEntry {
    Instant deadline;
    TimerKind kind;
    std::uint64_t key;
    friend auto operator<=>(const TimerEntry&, const TimerEntry&) = default;
};

constexpr std::string_view basic_ingest_prefix = "$aws/rules/";

/// Per message: the first byte settles most topics without a compare through a call.
bool is_basic_ingest(std::string_view topic) { return topic.starts_with('$') && topic.starts_with(basic_ingest_prefix); }

/// Strips `$aws/rules/<rule>/` (AWS: those three levels do not count toward the topic limits).
std::string_view without_basic_ingest(std::string_view topic) {
    if (!is_basic_ingest(topic)) {
        return topic;
    }
    const std::string_view rest = topic.substr(basic_ingest_prefix.size());
    const std::size_t slash = rest.find('/');
    return slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
}

QoS min_qos(QoS a, QoS b) { return static_cast<std::uint8_t>(a) < static_cast<std::uint8_t>(b) ? a : b; }

}  // namespace

struct Broker::Impl {
    BrokerConfig config;
    BrokerServices services;
    BrokerStats stats;

    // Looked up on every input; never iterated into output (shutdown() sorts the ids first).
    // Connections live in the table's nodes (stable addresses), keyed by their own id rather
    // than a copy of it. Both hosts number connections 1, 2, 3...: below `dense_max` an id also
    // indexes an array of pointers, so a lookup is one load from an array that stays in the
    // cache (8 bytes per id) instead of a hash, a division and a bucket; above it (a host that
    // numbers otherwise, or a server past a million connections) the hash table answers.
    class ConnectionTable {
    public:
        [[nodiscard]] Connection* find(ConnectionId id) const {
            if (id.value < dense_.size()) {
                return dense_[id.value];
            }
            if (id.value < dense_max) {
                return nullptr;  // every id below dense_max that is in the set is in dense_
            }
            const auto it = set_.find(id);
            return it == set_.end() ? nullptr : &it->connection;
        }
        /// Asked after every packet (did it end the connection?): the array, as find() does.
        [[nodiscard]] bool contains(ConnectionId id) const { return find(id) != nullptr; }
        Connection& emplace(ConnectionId id) {
            Connection& c = set_.emplace(id).first->connection;
            if (id.value < dense_max) {
                if (dense_.size() <= id.value) {
                    dense_.resize(static_cast<std::size_t>(id.value) + 1, nullptr);
                }
                dense_[id.value] = &c;
            }
            return c;
        }
        void erase(ConnectionId id) {
            if (const auto it = set_.find(id); it != set_.end()) {
                set_.erase(it);
            }
            if (id.value < dense_.size()) {
                dense_[id.value] = nullptr;
            }
        }
        [[nodiscard]] std::size_t size() const { return set_.size(); }
        /// Every id, in increasing order.
        [[nodiscard]] std::vector<ConnectionId> ids() const {
            std::vector<ConnectionId> out;
            out.reserve(set_.size());
            for (const Slot& slot : set_) {
                out.push_back(slot.connection.id);
            }
            std::sort(out.begin(), out.end());
            return out;
        }

    private:
        static constexpr std::uint64_t dense_max = std::uint64_t{1} << 20;
        struct Slot {
            explicit Slot(ConnectionId id) { connection.id = id; }
            mutable Connection connection;  // the set's elements are const; the id never changes
        };
        // noexcept and cheap, so that the table does not store each node's hash besides.
        struct Hash {
            using is_transparent = void;
            std::size_t operator()(ConnectionId id) const noexcept { return std::hash<std::uint64_t>{}(id.value); }
            std::size_t operator()(const Slot& s) const noexcept { return (*this)(s.connection.id); }
        };
        struct Equal {
            using is_transparent = void;
            bool operator()(const Slot& a, const Slot& b) const noexcept { return a.connection.id == b.connection.id; }
            bool operator()(ConnectionId a, const Slot& b) const noexcept { return a == b.connection.id; }
            bool operator()(const Slot& a, ConnectionId b) const noexcept { return a.connection.id == b; }
        };
        std::unordered_set<Slot, Hash, Equal> set_;
        std::vector<Connection*> dense_;  // by id below dense_max; nullptr: no such connection
    };
    ConnectionTable connections;
    // Keyed by a view of the session's own client_id (a Session never moves and its client id
    // never changes): the id is stored once, not again in the key (memory per idle connection is
    // a benchmark target).
    // Sessions live in the table's nodes (a Session never moves), one allocation each.
    std::map<std::string_view, Session, std::less<>> sessions;
    // Offline sessions awaiting expiry (expires_at set), for their timers: a connected session has
    // no entry (memory per idle connection is a benchmark target). Lookups only.
    std::unordered_map<std::uint64_t, Session*> sessions_by_serial;
    // sessionIdentifiers that are not lowercase UUIDs (only a store written by something else has
    // them), by session serial: a Session holds a UUID's 16 bytes only.
    std::map<std::uint64_t, std::string> foreign_session_identifiers;
    std::uint64_t next_session_serial = 1;
    std::map<std::string, RetainedMessage, std::less<>> retained;
    std::map<std::uint32_t, std::unique_ptr<Session>> listeners;  // Broker::listen pseudo-sessions
    std::map<std::string, ListenerId, std::less<>> basic_ingest;   // rule name -> its listener
    // Lifecycle versionNumber: AWS promises a number that increases per client id and may skip
    // values, so one counter for all clients does, without a map that grows with every client id
    // ever seen.
    std::uint64_t lifecycle_version = 0;
    SubscriptionTrie trie;

    std::set<TimerEntry> timers;
    std::optional<Instant> armed;

    Effects fx;
    // The output of the current input, per connection, in the order the connections were first
    // written to (the order of the Sends). Kept here rather than in each Connection, which would
    // hold an empty std::string between inputs (memory per idle connection is a benchmark
    // target); a connection dropped meanwhile leaves its entry with a null `connection`.
    struct Outbox {
        Connection* connection;
        std::string bytes;
    };
    std::vector<Outbox> dirty;
    // Emptied output strings a host handed back (recycle()), to write the next outputs into.
    SpareStrings spare_bytes{32};

    // Messages that nothing but the broker's hand holds any more (QoS 0 routed, no retained
    // copy, no queue, no service), kept with their strings' buffers for the next PUBLISH.
    std::vector<std::shared_ptr<Message>> spare_messages;
    std::array<mqtt::Publish, 2> publish_scratch;  // [0]: MQTT 3.1.1, [1]: MQTT 5 (see handle_frame)

    std::shared_ptr<Message> take_message() {
        if (spare_messages.empty()) {
            return std::make_shared<Message>();
        }
        std::shared_ptr<Message> m = std::move(spare_messages.back());
        spare_messages.pop_back();
        return m;
    }

    /// Keeps `m` for take_message() when this is its last reference; otherwise only lets go.
    void give_message(MessagePtr&& m) {
        if (m.use_count() != 1 || spare_messages.size() >= 64 ||
            m->payload.capacity() > SpareStrings::capacity_max || m->topic.capacity() > SpareStrings::capacity_max) {
            m.reset();
            return;
        }
        std::shared_ptr<Message> kept = std::const_pointer_cast<Message>(std::move(m));
        Message& k = *kept;
        k.topic.clear();
        k.payload.clear();
        k.qos = QoS::at_most_once;
        k.retain = false;
        if (k.from_v5) {
            k.properties = mqtt::Properties{};
        }
        k.expires_at.reset();
        k.publisher.clear();
        k.from_v5 = false;
        spare_messages.push_back(std::move(kept));
    }
    bool store_dirty = false;

    // Routing scratch, reused across messages to avoid per-message allocation.
    struct Target {
        Session* session;
        QoS qos;
        bool retain_as_published;
        bool no_local;
    };
    std::vector<Target> targets;
    std::uint64_t route_stamp = 0;

    Impl(BrokerConfig c, BrokerServices s) : config(std::move(c)), services(s) {}

    // ---------------------------------------------------------------- effects plumbing

    Effects finish() {
        commit_if_dirty();
        if (!dirty.empty()) {
            fx.reserve(fx.size() + dirty.size() + 1);  // one growth, not one per doubling of a fan-out
        }
        for (Outbox& o : dirty) {
            Connection* c = o.connection;
            if (c == nullptr) {
                continue;
            }
            c->outbox_slot = 0;
            if (!o.bytes.empty()) {
                c->unflushed_bytes += o.bytes.size();
                fx.push_back(Send{c->id, std::move(o.bytes)});
            }
        }
        dirty.clear();
        if (!timers.empty()) {
            const Instant earliest = timers.begin()->deadline;
            if (!armed || *armed != earliest) {
                armed = earliest;
                fx.push_back(ArmTimer{earliest});
            }
        } else {
            armed.reset();
        }
        return std::exchange(fx, {});
    }

    void commit_if_dirty() {
        if (store_dirty) {
            services.store.commit();
            store_dirty = false;
        }
    }

    void event(Severity severity, const Connection& c, std::string kind, std::string detail) {
        fx.push_back(Event{severity, c.id, std::move(kind), c.client_id.str(), std::move(detail)});
    }

    /// A Packet, or a packet the codec encodes without building one (Ack, PublishRef).
    template <class P>
    void write(Connection& c, const P& packet) {
        mqtt::encode(packet, c.version, outbox(c));
    }

    /// The connection's output for the current input, to append to. The reference is good until
    /// the next call for another connection.
    std::string& outbox(Connection& c) {
        if (c.outbox_slot == 0) {
            Outbox& o = dirty.emplace_back(Outbox{&c, {}});
            spare_bytes.take_into(o.bytes);
            c.outbox_slot = static_cast<std::uint32_t>(dirty.size());
        }
        return dirty[c.outbox_slot - 1].bytes;
    }

    [[nodiscard]] std::size_t outbox_bytes(const Connection& c) const {
        return c.outbox_slot == 0 ? 0 : dirty[c.outbox_slot - 1].bytes.size();
    }

    [[nodiscard]] std::string session_identifier_of(const Session& s) const {
        if (!s.session_identifier.empty()) {
            return s.session_identifier.str();
        }
        const auto it = foreign_session_identifiers.find(s.serial);
        return it != foreign_session_identifiers.end() ? it->second : std::string{};
    }

    void arm(Instant deadline, TimerKind kind, std::uint64_t key) { timers.insert({deadline, kind, key}); }

    // ---------------------------------------------------------------- connection teardown

    /// Sends MQTT 5 DISCONNECT (when `reason` is set and the client speaks MQTT 5 and has been
    /// accepted), closes the transport and ends the connection with AWS's consequences: will,
    /// lifecycle event, session kept or discarded.
    void drop(Connection& c, Cause cause, std::optional<ReasonCode> reason, std::string_view why, Now now) {
        if (reason && c.version == Version::v5 && c.state == ConnectionState::connected) {
            mqtt::Disconnect d{*reason, {}};
            if (c.problem_information && !why.empty()) {
                d.properties.reason_string = std::string(why);
            }
            write(c, d);
        }
        // Whatever this input produced must be durable before its acknowledgements leave.
        commit_if_dirty();
        if (c.outbox_slot != 0) {
            Outbox& o = dirty[c.outbox_slot - 1];
            if (!o.bytes.empty()) {
                c.unflushed_bytes += o.bytes.size();
                fx.push_back(Send{c.id, std::move(o.bytes)});
            }
            o.connection = nullptr;
            o.bytes = std::string();
            c.outbox_slot = 0;
        }
        const bool was_connected = c.state == ConnectionState::connected;
        if (was_connected) {
            event(cause == Cause::client_initiated || cause == Cause::connection_lost ? Severity::info
                                                                                      : Severity::warning,
                  c, "disconnected", std::string(cause_name(cause)) + (why.empty() ? "" : ": " + std::string(why)));
        } else {
            event(Severity::warning, c, "closed_before_connect", std::string(why));
        }
        fx.push_back(Close{c.id});
        if (const auto ttl = connect_ttl_deadline(c); ttl && was_connected) {
            timers.erase(TimerEntry{*ttl, TimerKind::connect_ttl, c.id.value});
        }
        if (was_connected) {
            end_session_link(c, cause, now);
        }
        const ConnectionId id = c.id;
        connections.erase(id);  // c is gone from here on
    }

    void end_session_link(Connection& c, Cause cause, Now now) {
        // Unlink first: the will and the lifecycle event are routed below, and a message for this
        // client must now be queued (or dropped), never written to the closing connection.
        Session* s = c.session;
        const std::string session_identifier = s != nullptr ? session_identifier_of(*s) : std::string{};
        if (s != nullptr) {
            s->connection = nullptr;
            c.session = nullptr;
            // Unacknowledged messages go back to the head of the queue, in order: on reconnection
            // they are sent again, possibly with other packet ids (AWS: "the same logical PUBLISH
            // message with a different packet ID"; the DUP flag is not used).
            if (!s->inflight.empty()) {
                std::vector<Owed> back;
                back.reserve(s->inflight.size());
                for (auto& [id, owed] : s->inflight) {
                    back.push_back(std::move(owed));
                }
                s->inflight.clear();
                std::sort(back.begin(), back.end(),
                          [](const Owed& a, const Owed& b) { return a.sequence < b.sequence; });
                s->queue.prepend(std::move(back));
            }
        }
        if (c.rare && c.rare->will && publishes_will(cause)) {
            publish_will(c, now);
        }
        if (c.lifecycle) {
            nlohmann::json j = {
                {"clientId", c.client_id.view()},
                {"timestamp", now.wall.unix_ms()},
                {"eventType", "disconnected"},
                {"sessionIdentifier", session_identifier},
                {"principalIdentifier", c.peer.principal},
                {"clientInitiatedDisconnect", cause == Cause::client_initiated || cause == Cause::client_will},
                {"disconnectReason", cause_name(cause)},
                {"versionNumber", c.version_number},
            };
            publish_lifecycle("$aws/events/presence/disconnected/" + c.client_id.str(), j, now);
        }
        if (s == nullptr) {
            return;
        }
        if (!s->persistent()) {
            destroy_session(*s);
            return;
        }
        s->expires_at = now.monotonic + seconds(s->expiry_interval_s);
        arm(s->expires_at, TimerKind::session_expiry, s->serial);
        sessions_by_serial[s->serial] = s;
        persist_session(*s, now);
    }

    void publish_will(Connection& c, Now now) {
        mqtt::Will& w = *c.rare->will;
        auto m = std::make_shared<Message>();
        m->topic = std::move(w.topic);
        m->payload = std::move(w.payload);
        m->qos = min_qos(w.qos, QoS::at_least_once);
        m->retain = w.retain;
        m->properties = forwarded_properties(w.properties);
        m->expires_at = expiry_of(w.properties, c.version, now);
        m->publisher = c.client_id.str();
        m->from_v5 = c.version == Version::v5;
        c.rare->will.reset();
        accept_message(std::move(m), now);
    }

    void destroy_session(Session& s) {
        for (const auto& [filter, options] : s.subscriptions) {
            unindex(filter, s);
        }
        if (s.persistent()) {
            services.store.erase_session(s.client_id);
            store_dirty = true;
        }
        sessions_by_serial.erase(s.serial);
        if (s.session_identifier.empty()) {
            foreign_session_identifiers.erase(s.serial);
        }
        sessions.erase(sessions.find(s.client_id));  // s (and the key's text) is gone from here on
    }

    // ---------------------------------------------------------------- persistence

    void persist_session(const Session& s, Now now) {
        if (!s.persistent()) {
            return;
        }
        SessionRecord r;
        r.client_id = s.client_id.str();
        r.version = s.version;
        r.expiry_interval_s = s.expiry_interval_s;
        r.expires_at_unix_ms = s.connection ? 0 : now.wall.unix_ms() + std::int64_t{s.expiry_interval_s} * 1000;
        r.session_identifier = session_identifier_of(s);
        for (const auto& [filter, options] : s.subscriptions) {
            r.subscriptions.push_back({filter, options});
        }
        services.store.put_session(r);
        store_dirty = true;
    }

    // ---------------------------------------------------------------- subscriptions index

    void index(std::string_view filter, Session& s, const mqtt::SubscribeOptions& o) {
        if (auto shared = mqtt::parse_shared_filter(filter)) {
            trie.insert_shared(shared->share_name, shared->filter, &s, o);
        } else {
            trie.insert(filter, &s, o);
        }
    }

    void unindex(std::string_view filter, Session& s) {
        if (auto shared = mqtt::parse_shared_filter(filter)) {
            trie.erase_shared(shared->share_name, shared->filter, &s);
        } else {
            trie.erase(filter, &s);
        }
    }

    // ---------------------------------------------------------------- message properties

    static mqtt::Properties forwarded_properties(const mqtt::Properties& in) {
        mqtt::Properties p;
        p.payload_format_indicator = in.payload_format_indicator;
        p.content_type = in.content_type;
        p.response_topic = in.response_topic;
        p.correlation_data = in.correlation_data;
        p.user_properties = in.user_properties;
        return p;
    }

    /// AWS clamps the Message Expiry Interval to 1..604800 s (0 becomes 1).
    std::optional<WallTime> expiry_of(const mqtt::Properties& p, Version v, Now now) const {
        if (v != Version::v5 || !p.message_expiry_interval) {
            return std::nullopt;
        }
        const std::uint32_t s = std::clamp<std::uint32_t>(*p.message_expiry_interval, 1, config.message_expiry_max_s);
        return WallTime{now.wall.since_unix_epoch + seconds(s)};
    }

    static bool expired(const Message& m, Now now) { return m.expires_at && now.wall >= *m.expires_at; }

    // ---------------------------------------------------------------- routing and delivery

    /// A message accepted from a client or from inside the service: retained store, then
    /// routing to every matching subscription.
    void accept_message(const MessagePtr& m, Now now) {
        if (m->retain) {
            if (m->payload.empty()) {
                if (retained.erase(m->topic) > 0) {
                    services.store.erase_retained(m->topic);
                    store_dirty = true;
                }
            } else {
                RetainedMessage r{m, now.wall};
                services.store.put_retained(r);
                store_dirty = true;
                retained.insert_or_assign(m->topic, std::move(r));
            }
        }
        if (is_basic_ingest(m->topic)) {
            // Basic Ingest: only the named rule sees it (reference §1.15).
            std::string_view rule = std::string_view(m->topic).substr(basic_ingest_prefix.size());
            rule = rule.substr(0, rule.find('/'));
            if (auto it = basic_ingest.find(rule); it != basic_ingest.end()) {
                fx.push_back(Dispatch{it->second, m});
            }
            return;
        }
        route(m, now);
    }

    void route(const MessagePtr& m, Now now) {
        ++route_stamp;
        targets.clear();
        auto add = [&](Session* s, const mqtt::SubscribeOptions& o) {
            if (s->route_stamp == route_stamp) {
                Target& t = targets[s->route_slot];
                t.qos = static_cast<std::uint8_t>(o.qos) > static_cast<std::uint8_t>(t.qos) ? o.qos : t.qos;
                t.retain_as_published = t.retain_as_published || o.retain_as_published;
                t.no_local = t.no_local && o.no_local;
                return;
            }
            s->route_stamp = route_stamp;
            s->route_slot = static_cast<std::uint32_t>(targets.size());
            targets.push_back({s, o.qos, o.retain_as_published, o.no_local});
        };
        trie.match(
            m->topic, [&](const Subscriber& sub) { add(sub.session, sub.options); },
            [&](const SharedGroup& g) {
                // One member per group: a random connected member; if none is connected, a random
                // persistent member queues it (QoS 1), else it is dropped (AWS §1.9).
                std::size_t online = 0;
                for (const auto& member : g.members) {
                    online += member.session->connection != nullptr ? 1 : 0;
                }
                const bool any_online = online > 0;
                const std::size_t pool = any_online ? online : g.members.size();
                std::size_t pick = static_cast<std::size_t>(services.rng.uniform(pool));
                for (const auto& member : g.members) {
                    if (any_online && member.session->connection == nullptr) {
                        continue;
                    }
                    if (pick-- == 0) {
                        // Shared subscriptions never receive retained flags as published.
                        mqtt::SubscribeOptions o = member.options;
                        o.retain_as_published = false;
                        o.no_local = false;
                        add(member.session, o);
                        break;
                    }
                }
            });
        encoded_cache_clear();
        const std::size_t count = targets.size();
        for (std::size_t i = 0; i < count; ++i) {
            if (count > 8) {
                // A fan-out: each delivery reads another session and connection; ask for those of
                // the targets a few places on (hints only).
                if (i + 12 < count) {
                    __builtin_prefetch(targets[i + 12].session);
                }
                if (i + 6 < count) {
                    if (const Connection* ahead = targets[i + 6].session->connection) {
                        const char* p = reinterpret_cast<const char*>(ahead);
                        for (std::size_t off = 0; off < sizeof(Connection); off += 64) {
                            __builtin_prefetch(p + off);
                        }
                    }
                }
            }
            const Target& t = targets[i];
            if (t.no_local && t.session->client_id.view() == m->publisher) {
                continue;
            }
            deliver(*t.session, m, min_qos(m->qos, t.qos), t.retain_as_published && m->retain, now, true);
        }
    }

    // Per-route cache of encoded PUBLISH bytes, keyed by (version, qos, retain): every subscriber
    // of the same kind gets the same bytes except the packet id, which is patched in place.
    struct EncodedVariant {
        bool valid = false;
        std::string bytes;
        std::size_t packet_id_offset = 0;
    };
    std::array<EncodedVariant, 8> encoded_cache;
    void encoded_cache_clear() {
        for (auto& v : encoded_cache) {
            v.valid = false;
        }
    }

    void deliver(Session& s, const MessagePtr& m, QoS qos, bool retain_flag, Now now, bool from_route) {
        if (expired(*m, now)) {
            ++stats.messages_expired;
            return;
        }
        if (s.listener.value != 0) {
            fx.push_back(Dispatch{s.listener, m});
            return;
        }
        Connection* c = s.connection;
        if (qos == QoS::at_most_once) {
            if (c == nullptr) {
                return;  // QoS 0 is never queued (AWS §1.6)
            }
            if (c->unflushed_bytes + outbox_bytes(*c) > config.output_bytes_max) {
                ++stats.qos0_dropped_slow_consumer;
                return;
            }
            if (!authorized_receive(*c, m->topic)) {
                return;
            }
            send_publish(*c, *m, QoS::at_most_once, 0, retain_flag, now, from_route);
            return;
        }
        Owed owed{m, 0, retain_flag};
        if (s.persistent()) {
            owed.sequence = s.next_sequence++;
        }
        const bool can_send_now = c != nullptr && s.queue.empty() && window_open(s, *c);
        if (!can_send_now && s.queue.size() >= config.session_queue_max) {
            ++stats.qos1_dropped_queue_full;
            return;
        }
        if (s.persistent()) {
            services.store.put_queued({s.client_id.str(), owed.sequence, m});
            store_dirty = true;
        }
        if (can_send_now) {
            send_owed(s, *c, std::move(owed), now, from_route);
        } else {
            s.queue.push_back(std::move(owed));
        }
    }

    bool window_open(const Session& s, const Connection& c) const {
        const std::size_t window = std::min<std::size_t>(config.inflight_out_max, c.client_receive_maximum);
        return s.inflight.size() < window && c.unflushed_bytes + outbox_bytes(c) <= config.output_bytes_max;
    }

    void send_owed(Session& s, Connection& c, Owed owed, Now now, bool from_route) {
        if (!authorized_receive(c, owed.message->topic)) {
            forget_owed(s, owed);
            return;
        }
        std::uint16_t id = s.next_packet_id;
        while (s.inflight.contains(id)) {
            id = static_cast<std::uint16_t>(id == 65535 ? 1 : id + 1);
        }
        s.next_packet_id = static_cast<std::uint16_t>(id == 65535 ? 1 : id + 1);
        if (!send_publish(c, *owed.message, QoS::at_least_once, id, owed.retain_flag, now, from_route)) {
            forget_owed(s, owed);  // larger than the client's Maximum Packet Size: discarded
            return;
        }
        s.inflight.emplace(id, std::move(owed));
    }

    void forget_owed(Session& s, const Owed& owed) {
        if (owed.sequence != 0) {
            services.store.erase_queued(s.client_id, owed.sequence);
            store_dirty = true;
        }
    }

    /// Sends queued QoS 1 messages while the window and the output budget allow.
    void pump(Session& s, Now now) {
        Connection* c = s.connection;
        while (c != nullptr && !s.queue.empty() && window_open(s, *c)) {
            Owed owed = std::move(s.queue.front());
            s.queue.pop_front();
            if (expired(*owed.message, now)) {
                ++stats.messages_expired;
                forget_owed(s, owed);
                continue;
            }
            send_owed(s, *c, std::move(owed), now, false);
        }
    }

    bool authorized_receive(Connection& c, std::string_view topic) {
        if (services.authorizer.authorize_receive(ClientContext{c.peer, c.client_id}, topic)) {
            return true;
        }
        ++stats.receive_denied;
        return false;
    }

    /// Appends a PUBLISH to the connection's outbox. Returns false when it would exceed the
    /// client's Maximum Packet Size (then it is discarded, [MQTT-3.1.2-25]).
    bool send_publish(Connection& c, const Message& m, QoS qos, std::uint16_t packet_id, bool retain_flag, Now now,
                      bool cacheable) {
        const std::size_t variant = (c.version == Version::v5 ? 4U : 0U) + (qos == QoS::at_least_once ? 2U : 0U) +
                                    (retain_flag ? 1U : 0U);
        EncodedVariant* cached = cacheable ? &encoded_cache[variant] : nullptr;
        if (cached == nullptr || !cached->valid) {
            // Encoded from the message where it lies (no Publish copy of its topic and payload).
            mqtt::PublishRef p{false, qos, retain_flag, m.topic,
                               qos == QoS::at_least_once ? std::uint16_t{1} : std::uint16_t{0}, m.payload, nullptr};
            // Only a message that expires needs its own copy of the properties (a pointer, not an
            // optional of the 488-byte struct, which every delivery would construct and destroy).
            std::unique_ptr<mqtt::Properties> with_expiry;
            if (c.version == Version::v5) {
                p.properties = &m.properties;
                if (m.expires_at) {
                    // Remaining lifetime in whole seconds (AWS sends 0 when <= 999 ms remain).
                    const auto left = std::chrono::duration_cast<seconds>(m.expires_at->since_unix_epoch -
                                                                          now.wall.since_unix_epoch);
                    with_expiry = std::make_unique<mqtt::Properties>(m.properties);
                    with_expiry->message_expiry_interval = static_cast<std::uint32_t>(std::max<std::int64_t>(0, left.count()));
                    p.properties = with_expiry.get();
                }
            }
            if (cached == nullptr) {
                if (mqtt::encoded_size(p, c.version) > c.client_packet_bytes_max) {
                    return false;
                }
                std::string& out = outbox(c);
                const std::size_t at = out.size();
                mqtt::encode(p, c.version, out);
                patch_packet_id(out, at + mqtt::encoded_header_bytes(out.data() + at) + 2 + m.topic.size(), qos, packet_id);
                ++stats.messages_delivered;
                return true;
            }
            cached->bytes.clear();  // its capacity serves every route
            mqtt::encode(p, c.version, cached->bytes);
            cached->packet_id_offset = mqtt::encoded_header_bytes(cached->bytes.data()) + 2 + m.topic.size();
            cached->valid = true;
        }
        if (cached->bytes.size() > c.client_packet_bytes_max) {
            return false;
        }
        std::string& out = outbox(c);
        const std::size_t at = out.size();
        out += cached->bytes;
        patch_packet_id(out, at + cached->packet_id_offset, qos, packet_id);
        ++stats.messages_delivered;
        return true;
    }

    static void patch_packet_id(std::string& bytes, std::size_t offset, QoS qos, std::uint16_t id) {
        if (qos == QoS::at_least_once) {
            bytes[offset] = static_cast<char>(id >> 8);
            bytes[offset + 1] = static_cast<char>(id & 0xFF);
        }
    }

    // ---------------------------------------------------------------- lifecycle events

    void publish_lifecycle(std::string topic, const nlohmann::json& body, Now now) {
        // AWS publishes lifecycle events through normal routing, so subscribers and (later) rules
        // see them. QoS 1 so that persistent subscribers get them after an absence; AWS does not
        // document the QoS.
        auto m = std::make_shared<Message>();
        m->topic = std::move(topic);
        m->payload = body.dump();
        m->qos = QoS::at_least_once;
        route(m, now);
    }

    void lifecycle_connected(Connection& c, Now now) {
        if (!c.lifecycle) {
            return;
        }
        nlohmann::json j = {
            {"clientId", c.client_id.view()},
            {"timestamp", now.wall.unix_ms()},
            {"eventType", "connected"},
            {"sessionIdentifier", session_identifier_of(*c.session)},
            {"principalIdentifier", c.peer.principal},
            {"ipAddress", c.peer.address},
            {"versionNumber", c.version_number},
        };
        publish_lifecycle("$aws/events/presence/connected/" + c.client_id.str(), j, now);
    }

    void lifecycle_connect_failed(const PeerIdentity& peer, std::string_view client_id, Now now) {
        if (client_id.empty() || mqtt::contains_wildcard(client_id)) {
            return;
        }
        nlohmann::json j = {
            {"clientId", client_id},
            {"timestamp", now.wall.unix_ms()},
            {"eventType", "connect_failed"},
            {"connectFailureReason", "AUTHORIZATION_FAILED"},
            {"principalIdentifier", peer.principal},
            {"sessionIdentifier", services.rng.uuid4()},
            {"ipAddress", peer.address},
        };
        publish_lifecycle("$aws/events/presence/connect_failed/" + std::string(client_id), j, now);
    }

    void lifecycle_subscription(Connection& c, std::string_view kind, const std::vector<std::string>& filters,
                                Now now) {
        if (!c.lifecycle || filters.empty()) {
            return;
        }
        nlohmann::json j = {
            {"clientId", c.client_id.view()},
            {"timestamp", now.wall.unix_ms()},
            {"eventType", kind},
            {"sessionIdentifier", session_identifier_of(*c.session)},
            {"principalIdentifier", c.peer.principal},
            {"topics", filters},
        };
        publish_lifecycle("$aws/events/subscriptions/" + std::string(kind) + "/" + c.client_id.str(), j, now);
    }

    // ---------------------------------------------------------------- topic rules (AWS)

    /// AWS's limits for a topic name a client publishes to (§1.7, §1.13).
    enum class TopicCheck : std::uint8_t { ok, invalid, reserved };
    TopicCheck check_publish_topic(std::string_view topic) const {
        const std::string_view counted = without_basic_ingest(topic);
        if (counted.size() > config.topic_bytes_max || mqtt::count_slashes(counted) > config.topic_slashes_max) {
            return TopicCheck::invalid;
        }
        if (topic.starts_with('$')) {
            // Clients may publish only to the reserved topics AWS lets them: the shadow and jobs
            // request topics under $aws/things/ and Basic Ingest under $aws/rules/.
            if (topic.starts_with("$aws/things/") ||
                (topic.starts_with(basic_ingest_prefix) && topic.size() > basic_ingest_prefix.size())) {
                return TopicCheck::ok;
            }
            return TopicCheck::reserved;
        }
        return TopicCheck::ok;
    }

    /// The SUBACK failure for a filter, or nullopt when the filter is acceptable.
    std::optional<ReasonCode> check_filter(std::string_view filter) const {
        std::string_view counted = filter;
        if (auto shared = mqtt::parse_shared_filter(filter)) {
            if (!shared->valid || shared->share_name.size() > config.share_name_bytes_max) {
                return ReasonCode::topic_filter_invalid;
            }
            counted = shared->filter;
        } else if (!mqtt::is_valid_topic_filter(filter)) {
            return ReasonCode::topic_filter_invalid;
        }
        if (counted.size() > config.topic_bytes_max || mqtt::count_slashes(counted) > config.topic_slashes_max) {
            return ReasonCode::topic_filter_invalid;
        }
        if (counted.starts_with('$')) {
            // Basic Ingest topics can't be subscribed to; other reserved namespaces can be
            // subscribed to as AWS allows (shadow, events, jobs...).
            if (counted.starts_with(basic_ingest_prefix) || !counted.starts_with("$aws/")) {
                return ReasonCode::topic_filter_invalid;
            }
        }
        return std::nullopt;
    }

    // ---------------------------------------------------------------- input handling

    void protocol_violation(Connection& c, ReasonCode reason, std::string_view why, Now now) {
        ++stats.protocol_errors;
        drop(c, Cause::client_error, reason, why, now);
    }

    void receive(Connection& c, std::string_view bytes, Now now) {
        const ConnectionId id = c.id;
        std::string_view stream = bytes;
        if (c.inbuf) {
            c.inbuf->append(bytes);
            stream = *c.inbuf;
        }
        if (c.state == ConnectionState::awaiting_connect && !stream.empty() &&
            static_cast<std::uint8_t>(stream.front()) != 0x10) {
            // The first packet must be CONNECT [MQTT-3.1.0-1]; no need to wait for the rest of
            // whatever this is.
            ++stats.protocol_errors;
            drop(c, Cause::client_error, std::nullopt, "first packet is not CONNECT", now);
            return;
        }
        std::size_t consumed = 0;
        while (consumed < stream.size()) {
            const std::string_view rest = stream.substr(consumed);
            const mqtt::Frame f = mqtt::read_frame(rest, config.packet_bytes_max);
            if (f.status == mqtt::FrameStatus::incomplete) {
                break;
            }
            if (f.status == mqtt::FrameStatus::malformed) {
                protocol_violation(c, ReasonCode::malformed_packet, "malformed remaining length", now);
                return;
            }
            if (f.status == mqtt::FrameStatus::too_large) {
                protocol_violation(c, ReasonCode::packet_too_large, "packet exceeds the maximum packet size", now);
                return;
            }
            if (rest.size() < f.total_bytes()) {
                break;
            }
            c.last_activity = now.monotonic;
            const std::string_view body = rest.substr(f.header_bytes, f.remaining_length);
            consumed += f.total_bytes();
            handle_frame(c, f.first_byte, body, now);
            if (!connections.contains(id)) {
                return;  // the packet ended the connection
            }
        }
        if (!c.inbuf) {
            if (consumed < stream.size()) {
                c.inbuf = std::make_unique<std::string>(stream.substr(consumed));
            }
        } else if (consumed == c.inbuf->size()) {
            c.inbuf.reset();
        } else {
            c.inbuf->erase(0, consumed);
        }
    }

    void handle_frame(Connection& c, std::uint8_t first_byte, std::string_view body, Now now) {
        if (c.state == ConnectionState::awaiting_connect) {
            auto connect = mqtt::decode_connect(first_byte, body);
            if (!connect) {
                ++stats.protocol_errors;
                if (connect.error().reason == ReasonCode::unsupported_protocol_version) {
                    // [MQTT-3.1.2-2]: answer an unsupported level with return code 0x01.
                    write(c, mqtt::Connack{false, static_cast<std::uint8_t>(mqtt::ConnectReturnCode::unacceptable_protocol_version), {}});
                } else if (connect.error().reason == ReasonCode::topic_name_invalid && body.size() > 6 &&
                           body.substr(0, 6) == std::string_view("\x00\x04MQTT", 6) && body[6] == 5) {
                    // An MQTT 5 CONNECT with an invalid will topic: AWS answers CONNACK 0x90.
                    c.version = Version::v5;
                    write(c, mqtt::Connack{false, static_cast<std::uint8_t>(ReasonCode::topic_name_invalid), {}});
                }
                drop(c, Cause::client_error, std::nullopt, connect.error().message, now);
                return;
            }
            handle_connect(c, std::move(connect).value(), now);
            return;
        }
        if ((first_byte >> 4U) == static_cast<std::uint8_t>(mqtt::PacketType::publish)) {
            // Into a Publish the broker keeps (one per version): its strings' buffers are swapped
            // with a recycled message's, so a steady stream of PUBLISHes allocates nothing.
            mqtt::Publish& p = publish_scratch[c.version == Version::v5 ? 1 : 0];
            if (const auto error = mqtt::decode_publish_into(c.version, first_byte, body, p)) {
                protocol_violation(c, error->reason, error->message, now);
                return;
            }
            handle_publish(c, p, now);
            return;
        }
        auto decoded = mqtt::decode(c.version, first_byte, body);
        if (!decoded) {
            protocol_violation(c, decoded.error().reason, decoded.error().message, now);
            return;
        }
        mqtt::Packet& packet = decoded.value();
        if (auto* a = std::get_if<mqtt::Ack>(&packet)) {
            handle_ack(c, *a, now);
        } else if (auto* s = std::get_if<mqtt::Subscribe>(&packet)) {
            handle_subscribe(c, *s, now);
        } else if (auto* u = std::get_if<mqtt::Unsubscribe>(&packet)) {
            handle_unsubscribe(c, *u, now);
        } else if (std::holds_alternative<mqtt::Pingreq>(packet)) {
            write(c, mqtt::Pingresp{});
        } else if (auto* d = std::get_if<mqtt::Disconnect>(&packet)) {
            handle_disconnect(c, *d, now);
        } else if (std::holds_alternative<mqtt::Connect>(packet)) {
            // AWS: a second CONNECT on a connection is a client error (MQTT 5: 0x82).
            protocol_violation(c, ReasonCode::protocol_error, "second CONNECT on a connection", now);
        } else if (std::holds_alternative<mqtt::Auth>(packet)) {
            protocol_violation(c, ReasonCode::protocol_error, "AUTH is not supported", now);
        } else {
            protocol_violation(c, ReasonCode::protocol_error, "packet type not allowed from a client", now);
        }
    }

    void refuse_connect(Connection& c, const mqtt::Connect& connect, ReasonCode v5_reason,
                        std::optional<mqtt::ConnectReturnCode> v3_code, std::string_view why, Now now) {
        ++stats.connects_refused;
        if (connect.version == Version::v5) {
            mqtt::Connack ack{false, static_cast<std::uint8_t>(v5_reason), {}};
            if (connect.properties.request_problem_information.value_or(1) != 0) {
                ack.properties.reason_string = std::string(why);
            }
            write(c, ack);
        } else if (v3_code) {
            write(c, mqtt::Connack{false, static_cast<std::uint8_t>(*v3_code), {}});
        }
        c.client_id = SharedText(connect.client_id);
        drop(c, Cause::client_error, std::nullopt, why, now);
    }

    void handle_connect(Connection& c, mqtt::Connect connect, Now now) {
        c.version = connect.version;
        // Client identifier rules (AWS §1.5).
        if (connect.client_id.size() > config.client_id_bytes_max) {
            refuse_connect(c, connect, ReasonCode::client_identifier_not_valid,
                           mqtt::ConnectReturnCode::identifier_rejected, "client id longer than 128 bytes", now);
            return;
        }
        if (connect.client_id.starts_with('$')) {
            refuse_connect(c, connect, ReasonCode::client_identifier_not_valid,
                           mqtt::ConnectReturnCode::identifier_rejected,
                           "client ids starting with $ are reserved for AWS IoT", now);
            return;
        }
        bool assigned = false;
        if (connect.client_id.empty()) {
            // MQTT 5: the server assigns one. MQTT 3.1.1 (AWS silent): only with a clean session,
            // as the spec requires [MQTT-3.1.3-8].
            if (connect.version == Version::v311 && !connect.clean_start) {
                refuse_connect(c, connect, ReasonCode::client_identifier_not_valid,
                               mqtt::ConnectReturnCode::identifier_rejected,
                               "empty client id requires a clean session", now);
                return;
            }
            do {
                connect.client_id = "iotsim-" + services.rng.uuid4();
            } while (sessions.contains(connect.client_id));
            assigned = true;
        }
        if (connect.will) {
            const mqtt::Will& w = *connect.will;
            if (w.qos == QoS::exactly_once) {
                refuse_connect(c, connect, ReasonCode::qos_not_supported, std::nullopt, "will QoS 2 is not supported", now);
                return;
            }
            if (!mqtt::is_valid_topic_name(w.topic) || check_publish_topic(w.topic) != TopicCheck::ok ||
                (w.retain && w.topic.starts_with('$'))) {
                refuse_connect(c, connect, ReasonCode::topic_name_invalid, std::nullopt, "will topic is invalid", now);
                return;
            }
            if (w.payload.size() > config.payload_bytes_max) {
                refuse_connect(c, connect, ReasonCode::quota_exceeded, std::nullopt, "will payload exceeds 128 KB", now);
                return;
            }
        }
        const ConnectDecision decision = services.authorizer.authorize_connect(c.peer, connect);
        switch (decision) {
            case ConnectDecision::allow: break;
            case ConnectDecision::not_authorized:
            case ConnectDecision::bad_credentials: {
                const bool bad = decision == ConnectDecision::bad_credentials;
                lifecycle_connect_failed(c.peer, connect.client_id, now);
                // AWS on MQTT 3.1.1: the socket is closed without a CONNACK (§1.5, AMBIG 2).
                refuse_connect(c, connect, bad ? ReasonCode::bad_user_name_or_password : ReasonCode::not_authorized,
                               std::nullopt, "not authorized to connect", now);
                return;
            }
        }

        // Keep-alive: AWS clamps to 30..1200 s, 0 meaning 1200 (§1.5).
        std::uint16_t keep_alive = connect.keep_alive;
        if (keep_alive == 0 || keep_alive > config.keep_alive_max_s) {
            keep_alive = config.keep_alive_max_s;
        } else if (keep_alive < config.keep_alive_min_s) {
            keep_alive = config.keep_alive_min_s;
        }

        // Session expiry: MQTT 3.1.1 persistent sessions get the account's expiry; MQTT 5 asks
        // and is capped by it.
        std::uint32_t expiry = 0;
        if (connect.version == Version::v5) {
            expiry = std::min(connect.properties.session_expiry_interval.value_or(0), config.session_expiry_max_s);
        } else if (!connect.clean_start) {
            expiry = config.session_expiry_max_s;
        }

        // Client-id takeover: the new connection wins (AWS §1.5).
        if (auto it = sessions.find(connect.client_id); it != sessions.end() && it->second.connection != nullptr) {
            Connection& old = *it->second.connection;
            drop(old, Cause::duplicate_client_id, ReasonCode::session_taken_over, "another connection used this client id",
                 now);
        }

        Session* session = nullptr;
        bool session_present = false;
        if (auto it = sessions.find(connect.client_id); it != sessions.end()) {
            Session& existing = it->second;
            // Clean start discards; AWS cannot resume a session across protocol versions (§1.6),
            // so that also starts afresh.
            if (connect.clean_start || existing.version != connect.version) {
                destroy_session(existing);
            } else {
                session = &existing;
                session_present = true;
            }
        }
        if (session == nullptr) {
            // The key views the text of `id`, which the session then keeps.
            SharedText id(connect.client_id);
            Session& fresh = sessions.try_emplace(id.view()).first->second;
            fresh.serial = next_session_serial++;
            fresh.client_id = std::move(id);
            fresh.version = connect.version;
            // uuid4() is a lowercase UUID, which always fits.
            const bool uuid = fresh.session_identifier.assign(services.rng.uuid4());
            IOTSIM_ASSERT(uuid);
            session = &fresh;
        }
        const bool was_persistent = session->persistent();
        session->expiry_interval_s = expiry;
        if (session->expires_at != Session::never) {
            // Online again: its pending expiry timer finds nothing when it fires.
            session->expires_at = Session::never;
            sessions_by_serial.erase(session->serial);
        }
        session->connection = &c;
        if (was_persistent && !session->persistent()) {
            services.store.erase_session(session->client_id);
            store_dirty = true;
        }

        c.state = ConnectionState::connected;
        // The connect timeout has done its job; drop its entry now rather than when it fires.
        timers.erase(TimerEntry{c.accepted_at + config.connect_timeout, TimerKind::connect_timeout, c.id.value});
        c.session = session;
        c.client_id = session->client_id;
        c.keep_alive_s = keep_alive;
        if (connect.will) {
            c.rare_part().will = std::make_unique<mqtt::Will>(std::move(*connect.will));
        }
        c.lifecycle = !mqtt::contains_wildcard(c.client_id.view());
        c.version_number = ++lifecycle_version;
        if (connect.version == Version::v5) {
            c.client_receive_maximum = connect.properties.receive_maximum.value_or(65535);
            c.client_packet_bytes_max = connect.properties.maximum_packet_size.value_or(268'435'460);
            c.problem_information = connect.properties.request_problem_information.value_or(1) != 0;
        }
        ++stats.connections_accepted;

        mqtt::Connack ack{session_present, 0, {}};
        if (connect.version == Version::v5) {
            auto& p = ack.properties;
            if (connect.properties.session_expiry_interval.value_or(0) != expiry) {
                p.session_expiry_interval = expiry;
            }
            if (assigned) {
                p.assigned_client_identifier = c.client_id.str();
            }
            p.server_keep_alive = keep_alive;
            p.receive_maximum = config.receive_maximum;
            p.maximum_qos = 1;
            p.retain_available = 1;
            p.maximum_packet_size = config.packet_bytes_max;
            p.topic_alias_maximum = config.topic_alias_max;
            p.wildcard_subscription_available = 1;
            p.subscription_identifier_available = 0;
            p.shared_subscription_available = 1;
        }
        write(c, ack);
        event(Severity::info, c, "connected",
              std::string(connect.version == Version::v5 ? "MQTT 5" : "MQTT 3.1.1") + " keepalive=" +
                  std::to_string(keep_alive) + "s session=" + (session_present ? "resumed" : "new") +
                  (session->persistent() ? " persistent" : " clean"));
        persist_session(*session, now);
        arm(now.monotonic + keep_alive_timeout(c), TimerKind::keep_alive, c.id.value);
        if (const auto ttl = connect_ttl_deadline(c)) {
            arm(*ttl, TimerKind::connect_ttl, c.id.value);
        }
        lifecycle_connected(c, now);
        pump(*session, now);
    }

    static Duration keep_alive_timeout(const Connection& c) {
        return milliseconds(std::int64_t{c.keep_alive_s} * 1500);
    }

    // `p` is the decoded packet: taken apart here (its topic and payload are moved out).
    void handle_publish(Connection& c, mqtt::Publish& p, Now now) {
        ++stats.publishes_received;
        const bool v5 = c.version == Version::v5;
        if (p.qos == QoS::exactly_once) {
            // AWS never acknowledges QoS 2 (§1.4): MQTT 5 gets DISCONNECT 0x9B; 3.1.1 is closed.
            protocol_violation(c, ReasonCode::qos_not_supported, "QoS 2 is not supported", now);
            return;
        }
        if (v5) {
            if (!p.properties.subscription_identifiers.empty()) {
                protocol_violation(c, ReasonCode::protocol_error, "PUBLISH from a client carries a subscription identifier", now);
                return;
            }
            if (p.properties.topic_alias) {
                const std::uint16_t alias = *p.properties.topic_alias;
                if (alias == 0 || alias > config.topic_alias_max) {
                    protocol_violation(c, ReasonCode::topic_alias_invalid, "topic alias out of range", now);
                    return;
                }
                if (p.topic.empty()) {
                    const std::string* known = nullptr;
                    if (c.rare) {
                        if (auto it = c.rare->topic_aliases.find(alias); it != c.rare->topic_aliases.end()) {
                            known = &it->second;
                        }
                    }
                    if (known == nullptr) {
                        protocol_violation(c, ReasonCode::protocol_error, "unknown topic alias", now);
                        return;
                    }
                    p.topic = *known;
                } else {
                    c.rare_part().topic_aliases[alias] = p.topic;
                }
                p.properties.topic_alias.reset();
            }
            if (p.properties.response_topic && !mqtt::is_valid_topic_name(*p.properties.response_topic)) {
                protocol_violation(c, ReasonCode::protocol_error, "response topic contains wildcards", now);
                return;
            }
        }
        if (p.payload.size() > config.payload_bytes_max) {
            // AWS: CLIENT_ERROR disconnect. MQTT 5 reason 0x97 is iotsim's choice (AMBIG: AWS lists
            // no code for it; 0x97 Quota exceeded is the closest of the codes AWS documents).
            protocol_violation(c, ReasonCode::quota_exceeded, "payload exceeds 131072 bytes", now);
            return;
        }
        const TopicCheck check = check_publish_topic(p.topic);
        const bool retain_reserved = p.retain && p.topic.starts_with('$');
        if (check != TopicCheck::ok || retain_reserved) {
            const std::string_view why = check == TopicCheck::invalid
                                             ? "topic exceeds 256 bytes or 7 slashes"
                                             : (retain_reserved ? "retained publish to a reserved topic"
                                                                : "publish to a reserved topic");
            if (!v5) {
                protocol_violation(c, ReasonCode::topic_name_invalid, why, now);
                return;
            }
            if (p.qos == QoS::at_least_once) {
                mqtt::Ack ack{mqtt::PacketType::puback, p.packet_id, ReasonCode::topic_name_invalid, {}};
                if (c.problem_information) {
                    ack.properties.reason_string = std::string(why);
                }
                write(c, ack);
            }
            event(Severity::warning, c, "publish_refused", std::string(why));
            return;
        }
        if (!services.authorizer.authorize_publish(ClientContext{c.peer, c.client_id}, p.topic, p.retain)) {
            // AWS §1.10: MQTT 3.1.1 closes the connection; MQTT 5 answers PUBACK 0x87 (QoS 1) or
            // drops the message (QoS 0).
            if (!v5) {
                drop(c, Cause::auth_error, std::nullopt, "not authorized to publish to " + p.topic, now);
                return;
            }
            if (p.qos == QoS::at_least_once) {
                write(c, mqtt::Ack{mqtt::PacketType::puback, p.packet_id, ReasonCode::not_authorized, {}});
            }
            event(Severity::warning, c, "publish_denied", p.topic);
            return;
        }
        std::shared_ptr<Message> fresh = take_message();
        fresh->expires_at = expiry_of(p.properties, c.version, now);
        fresh->topic.swap(p.topic);  // the scratch keeps the recycled message's buffers
        fresh->payload.swap(p.payload);
        fresh->qos = p.qos;
        fresh->retain = p.retain;
        if (v5) {
            fresh->properties = forwarded_properties(p.properties);
        }
        fresh->publisher.assign(c.client_id.view());
        fresh->from_v5 = v5;
        const std::uint16_t packet_id = p.packet_id;
        const QoS qos = p.qos;
        MessagePtr m = std::move(fresh);
        accept_message(m, now);
        give_message(std::move(m));
        if (qos == QoS::at_least_once) {
            // The store is committed before this PUBACK leaves (finish()/drop()).
            mqtt::encode_success_ack(mqtt::PacketType::puback, packet_id, outbox(c));
        }
    }

    void handle_ack(Connection& c, const mqtt::Ack& a, Now now) {
        if (a.type != mqtt::PacketType::puback) {
            // QoS 2 flows are not supported by AWS IoT Core.
            protocol_violation(c, ReasonCode::protocol_error, "QoS 2 flow packets are not supported", now);
            return;
        }
        Session& s = *c.session;
        auto it = s.inflight.find(a.packet_id);
        if (it == s.inflight.end()) {
            return;  // unknown or duplicate PUBACK: harmless, ignored
        }
        forget_owed(s, it->second);
        s.inflight.erase(it);
        pump(s, now);
    }

    void handle_subscribe(Connection& c, const mqtt::Subscribe& sub, Now now) {
        const bool v5 = c.version == Version::v5;
        if (v5 && !sub.properties.subscription_identifiers.empty()) {
            protocol_violation(c, ReasonCode::subscription_identifiers_not_supported,
                               "subscription identifiers are not supported", now);
            return;
        }
        Session& s = *c.session;
        mqtt::Suback ack{sub.packet_id, {}, {}};
        ack.reasons.reserve(sub.entries.size());
        const auto fail = [&](ReasonCode v5_code) {
            ack.reasons.push_back(static_cast<std::uint8_t>(v5 ? v5_code : ReasonCode::unspecified_error));
        };
        std::vector<std::string> granted_filters;
        std::vector<std::pair<std::string, mqtt::SubscribeOptions>> retained_to_send;
        const bool too_many = sub.entries.size() > config.filters_per_subscribe_max;
        for (const auto& entry : sub.entries) {
            if (too_many) {
                fail(ReasonCode::quota_exceeded);  // AWS: at most 8 filters per SUBSCRIBE
                continue;
            }
            if (check_filter(entry.filter)) {
                fail(ReasonCode::topic_filter_invalid);
                continue;
            }
            if (!services.authorizer.authorize_subscribe(ClientContext{c.peer, c.client_id}, entry.filter)) {
                fail(ReasonCode::not_authorized);
                continue;
            }
            const bool existed = s.subscriptions.contains(entry.filter);
            if (!existed && s.subscriptions.size() >= config.subscriptions_per_connection_max) {
                fail(ReasonCode::quota_exceeded);
                continue;
            }
            mqtt::SubscribeOptions options = entry.options;
            // AWS grants at most QoS 1 (§1.4; AMBIG 3: grant 1 rather than drop the SUBSCRIBE).
            options.qos = min_qos(options.qos, QoS::at_least_once);
            s.subscriptions.insert_or_assign(entry.filter, options);
            index(entry.filter, s, options);
            ack.reasons.push_back(static_cast<std::uint8_t>(options.qos));
            granted_filters.push_back(entry.filter);
            const bool send_retained = options.retain_handling == 0 || (options.retain_handling == 1 && !existed);
            if (send_retained && !mqtt::parse_shared_filter(entry.filter)) {
                retained_to_send.emplace_back(entry.filter, options);
            }
        }
        write(c, ack);
        if (!granted_filters.empty()) {
            persist_session(s, now);
        }
        // AWS: a retained message is delivered on subscribe only to a filter that equals its
        // topic (no wildcard matching), with RETAIN set.
        for (const auto& [filter, options] : retained_to_send) {
            auto it = retained.find(filter);
            if (it == retained.end() || expired(*it->second.message, now)) {
                continue;
            }
            deliver(s, it->second.message, min_qos(it->second.message->qos, options.qos), true, now, false);
        }
        lifecycle_subscription(c, "subscribed", granted_filters, now);
    }

    void handle_unsubscribe(Connection& c, const mqtt::Unsubscribe& u, Now now) {
        const bool v5 = c.version == Version::v5;
        Session& s = *c.session;
        mqtt::Unsuback ack{u.packet_id, {}, {}};
        std::vector<std::string> removed;
        for (const auto& filter : u.filters) {
            if (check_filter(filter)) {
                ack.reasons.push_back(static_cast<std::uint8_t>(ReasonCode::topic_filter_invalid));
                continue;
            }
            if (auto it = s.subscriptions.find(filter); it != s.subscriptions.end()) {
                unindex(filter, s);
                s.subscriptions.erase(it);
            }
            // AWS lists 0x00 (not 0x11 "No subscription existed") among its UNSUBACK codes.
            ack.reasons.push_back(static_cast<std::uint8_t>(ReasonCode::success));
            removed.push_back(filter);
        }
        if (!v5) {
            ack.reasons.clear();
        }
        write(c, ack);
        persist_session(s, now);
        lifecycle_subscription(c, "unsubscribed", removed, now);
    }

    void handle_disconnect(Connection& c, const mqtt::Disconnect& d, Now now) {
        Session& s = *c.session;
        if (c.version == Version::v5 && d.properties.session_expiry_interval) {
            // [MQTT-3.14.2-2]: a session that ends at disconnect cannot be extended here.
            if (s.expiry_interval_s == 0 && *d.properties.session_expiry_interval != 0) {
                protocol_violation(c, ReasonCode::protocol_error, "session expiry set on DISCONNECT after 0 at CONNECT", now);
                return;
            }
            const std::uint32_t expiry = std::min(*d.properties.session_expiry_interval, config.session_expiry_max_s);
            if (s.persistent() && expiry == 0) {
                services.store.erase_session(s.client_id);
                store_dirty = true;
            }
            s.expiry_interval_s = expiry;
        }
        const Cause cause = d.reason == ReasonCode::disconnect_with_will_message ? Cause::client_will
                                                                                 : Cause::client_initiated;
        drop(c, cause, std::nullopt, {}, now);
    }

    // ---------------------------------------------------------------- timers

    void timer_fired(Now now) {
        armed.reset();
        while (!timers.empty() && timers.begin()->deadline <= now.monotonic) {
            const TimerEntry t = *timers.begin();
            timers.erase(timers.begin());
            switch (t.kind) {
                case TimerKind::connect_timeout: {
                    Connection* c = connections.find(ConnectionId{t.key});
                    if (c != nullptr && c->state == ConnectionState::awaiting_connect) {
                        drop(*c, Cause::connection_lost, std::nullopt, "no CONNECT within the connect timeout", now);
                    }
                    break;
                }
                case TimerKind::keep_alive: {
                    Connection* found = connections.find(ConnectionId{t.key});
                    if (found == nullptr) {
                        break;
                    }
                    Connection& c = *found;
                    const Instant deadline = c.last_activity + keep_alive_timeout(c);
                    if (deadline <= now.monotonic) {
                        drop(c, Cause::keep_alive_timeout, ReasonCode::keep_alive_timeout,
                             "no packet within 1.5 times the keep-alive", now);
                    } else {
                        arm(deadline, TimerKind::keep_alive, t.key);
                    }
                    break;
                }
                case TimerKind::connect_ttl: {
                    Connection* c = connections.find(ConnectionId{t.key});
                    if (c == nullptr || c->state != ConnectionState::connected) {
                        break;
                    }
                    const auto ttl = connect_ttl_deadline(*c);
                    if (ttl && *ttl <= now.monotonic) {
                        // AWS: CUSTOMAUTH_TTL_EXPIRATION; MQTT 5's code for it is 0xA0.
                        drop(*c, Cause::customauth_ttl, ReasonCode::maximum_connect_time,
                             "the custom authorizer's disconnectAfterInSeconds elapsed", now);
                    }
                    break;
                }
                case TimerKind::session_expiry: {
                    auto it = sessions_by_serial.find(t.key);
                    if (it == sessions_by_serial.end()) {
                        break;
                    }
                    Session& s = *it->second;
                    if (s.connection == nullptr && s.expires_at <= now.monotonic) {
                        destroy_session(s);
                    }
                    break;
                }
            }
        }
    }

    // ---------------------------------------------------------------- recovery

    void recover(Now now) {
        StoreSnapshot snap = services.store.load();
        for (auto& r : snap.retained) {
            const std::string topic = r.message->topic;
            retained.insert_or_assign(topic, std::move(r));
        }
        for (auto& rec : snap.sessions) {
            // A session whose client was connected when the broker stopped expires one interval
            // after the restart: the restart is when the disconnect was detected.
            std::int64_t left_ms = std::int64_t{rec.expiry_interval_s} * 1000;
            if (rec.expires_at_unix_ms != 0) {
                left_ms = rec.expires_at_unix_ms - now.wall.unix_ms();
            }
            if (left_ms <= 0) {
                services.store.erase_session(rec.client_id);
                store_dirty = true;
                continue;
            }
            SharedText id(rec.client_id);
            const auto [at, inserted] = sessions.try_emplace(id.view());
            if (!inserted) {
                continue;  // a store holds one record per client id; never two
            }
            Session* raw = &at->second;
            raw->serial = next_session_serial++;
            raw->client_id = std::move(id);
            raw->version = rec.version;
            raw->expiry_interval_s = rec.expiry_interval_s;
            if (!raw->session_identifier.assign(rec.session_identifier) && !rec.session_identifier.empty()) {
                foreign_session_identifiers.emplace(raw->serial, rec.session_identifier);
            }
            raw->expires_at = now.monotonic + milliseconds(left_ms);
            arm(raw->expires_at, TimerKind::session_expiry, raw->serial);
            sessions_by_serial[raw->serial] = raw;
            for (const auto& entry : rec.subscriptions) {
                raw->subscriptions.insert_or_assign(entry.filter, entry.options);
                index(entry.filter, *raw, entry.options);
            }
        }
        for (auto& q : snap.queued) {
            auto it = sessions.find(q.client_id);
            if (it == sessions.end()) {
                services.store.erase_queued(q.client_id, q.sequence);
                store_dirty = true;
                continue;
            }
            Session& s = it->second;
            s.queue.push_back(Owed{q.message, q.sequence, false});
            s.next_sequence = std::max(s.next_sequence, q.sequence + 1);
        }
    }
};

// -------------------------------------------------------------------- public API

Broker::Broker(BrokerConfig config, BrokerServices services)
    : impl_(std::make_unique<Impl>(std::move(config), services)) {}

Broker::~Broker() = default;

Effects Broker::recover(Now now) {
    impl_->recover(now);
    return impl_->finish();
}

Effects Broker::accept(ConnectionId connection, PeerIdentity peer, Now now) {
    IOTSIM_ASSERT(!impl_->connections.contains(connection));
    Connection& c = impl_->connections.emplace(connection);
    c.peer = std::move(peer);
    c.accepted_at = now.monotonic;
    c.last_activity = now.monotonic;
    impl_->arm(now.monotonic + impl_->config.connect_timeout, TimerKind::connect_timeout, connection.value);
    return impl_->finish();
}

Effects Broker::receive(ConnectionId connection, std::string_view bytes, Now now) {
    if (Connection* found = impl_->connections.find(connection)) {
        impl_->receive(*found, bytes, now);
    }
    return impl_->finish();
}

void Broker::recycle(Effects&& spent) {
    for (auto& e : spent) {
        if (auto* send = std::get_if<Send>(&e)) {
            impl_->spare_bytes.keep(std::move(send->bytes));
        }
    }
    if (impl_->fx.empty() && impl_->fx.capacity() < spent.capacity()) {
        spent.clear();
        impl_->fx = std::move(spent);
    }
}

Effects Broker::drained(ConnectionId connection, std::size_t bytes, Now now) {
    if (Connection* found = impl_->connections.find(connection)) {
        Connection& c = *found;
        c.unflushed_bytes -= std::min(bytes, c.unflushed_bytes);
        if (c.session != nullptr && !c.session->queue.empty()) {
            impl_->pump(*c.session, now);
        }
    }
    if (impl_->fx.empty() && impl_->dirty.empty() && !impl_->store_dirty) {
        return {};  // nothing to send, store or arm (the usual case): fx keeps its capacity
    }
    return impl_->finish();
}

Effects Broker::closed(ConnectionId connection, Now now) {
    if (Connection* found = impl_->connections.find(connection)) {
        impl_->drop(*found, Cause::connection_lost, std::nullopt, {}, now);
    }
    return impl_->finish();
}

Effects Broker::revoke(ConnectionId connection, Now now) {
    if (Connection* found = impl_->connections.find(connection)) {
        impl_->drop(*found, Cause::auth_error, ReasonCode::not_authorized,
                    "the connection's certificate is no longer ACTIVE", now);
    }
    return impl_->finish();
}

Effects Broker::set_credentials(ConnectionId connection, std::shared_ptr<const CustomCredentials> credentials,
                                Now now) {
    if (Connection* found = impl_->connections.find(connection)) {
        Connection& c = *found;
        const bool refused = credentials == nullptr || !credentials->authenticated;
        if (c.state == ConnectionState::connected && refused) {
            const std::string why = "the custom authorizer no longer authenticates the connection" +
                                    (credentials && !credentials->refusal.empty() ? ": " + credentials->refusal
                                                                                  : std::string{});
            impl_->drop(c, Cause::auth_error, ReasonCode::not_authorized, why, now);
        } else {
            if (credentials && !credentials->principal_id.empty()) {
                c.peer.principal = credentials->principal_id;
            }
            // A refreshed answer may bring another disconnectAfterInSeconds: re-arm.
            const auto before = connect_ttl_deadline(c);
            if (before && c.state == ConnectionState::connected) {
                impl_->timers.erase(TimerEntry{*before, TimerKind::connect_ttl, c.id.value});
            }
            c.peer.custom = std::move(credentials);
            if (const auto after = connect_ttl_deadline(c); after && c.state == ConnectionState::connected) {
                impl_->arm(*after, TimerKind::connect_ttl, c.id.value);
            }
        }
    }
    return impl_->finish();
}

Effects Broker::timer_fired(Now now) {
    impl_->timer_fired(now);
    return impl_->finish();
}

Effects Broker::publish(Message message, Now now) {
    impl_->accept_message(std::make_shared<Message>(std::move(message)), now);
    return impl_->finish();
}

void Broker::listen(ListenerId listener, std::string_view filter) {
    IOTSIM_ASSERT(listener.value != 0);
    IOTSIM_ASSERT(mqtt::is_valid_topic_filter(filter) && !mqtt::parse_shared_filter(filter));
    auto& s = impl_->listeners[listener.value];
    if (!s) {
        s = std::make_unique<Session>();
        s->listener = listener;
        s->client_id = SharedText("$listener/" + std::to_string(listener.value));
    }
    mqtt::SubscribeOptions o;
    o.qos = QoS::at_least_once;
    impl_->trie.insert(filter, s.get(), o);
}

void Broker::unlisten(ListenerId listener, std::string_view filter) {
    if (auto it = impl_->listeners.find(listener.value); it != impl_->listeners.end()) {
        impl_->trie.erase(filter, it->second.get());
    }
}

void Broker::listen_basic_ingest(ListenerId listener, std::string_view rule_name) {
    IOTSIM_ASSERT(listener.value != 0);
    impl_->basic_ingest.insert_or_assign(std::string(rule_name), listener);
}

void Broker::unlisten_basic_ingest(std::string_view rule_name) {
    if (auto it = impl_->basic_ingest.find(rule_name); it != impl_->basic_ingest.end()) {
        impl_->basic_ingest.erase(it);
    }
}

Effects Broker::shutdown(Now now) {
    // In id order, whatever the hash table's.
    for (const ConnectionId id : impl_->connections.ids()) {
        if (Connection* c = impl_->connections.find(id)) {
            impl_->drop(*c, Cause::server_shutdown, ReasonCode::server_shutting_down, "server shutting down", now);
        }
    }
    return impl_->finish();
}

namespace {

SessionInfo describe_session(const Session& s) {
    SessionInfo info;
    info.client_id = s.client_id.str();
    info.connected = s.connection != nullptr;
    info.persistent = s.persistent();
    info.version = s.version;
    if (s.connection != nullptr) {
        info.transport = s.connection->peer.transport;
        info.principal = s.connection->peer.principal;
    }
    info.subscriptions.reserve(s.subscriptions.size());
    for (const auto& [filter, options] : s.subscriptions) {
        info.subscriptions.push_back({filter, options});
    }
    info.queued = s.queue.size();
    info.inflight = s.inflight.size();
    return info;
}

}  // namespace

std::optional<SessionInfo> Broker::session(std::string_view client_id) const {
    auto it = impl_->sessions.find(client_id);
    if (it == impl_->sessions.end()) {
        return std::nullopt;
    }
    return describe_session(it->second);
}

std::vector<SessionInfo> Broker::sessions(std::size_t max, std::size_t* total) const {
    if (total != nullptr) {
        *total = impl_->sessions.size();
    }
    std::vector<SessionInfo> out;
    out.reserve(std::min(max, impl_->sessions.size()));
    for (const auto& [client_id, session] : impl_->sessions) {
        if (out.size() >= max) {
            break;
        }
        out.push_back(describe_session(session));
    }
    return out;
}

std::vector<std::string> Broker::retained_topics() const {
    std::vector<std::string> out;
    out.reserve(impl_->retained.size());
    for (const auto& [topic, r] : impl_->retained) {
        out.push_back(topic);
    }
    return out;
}

std::optional<RetainedMessage> Broker::retained(std::string_view topic) const {
    auto it = impl_->retained.find(topic);
    if (it == impl_->retained.end()) {
        return std::nullopt;
    }
    return it->second;
}

std::size_t Broker::connection_count() const { return impl_->connections.size(); }
const BrokerStats& Broker::stats() const { return impl_->stats; }
const BrokerConfig& Broker::config() const { return impl_->config; }

}  // namespace iotsim::broker
