#include "iotsim/client/client.hpp"

#include <algorithm>
#include <iterator>
#include <limits>
#include <optional>
#include <utility>

#include "iotsim/common/assert.hpp"
#include "iotsim/common/slot_ring.hpp"
#include "iotsim/common/spare_strings.hpp"
#include "iotsim/mqtt/codec.hpp"
#include "iotsim/mqtt/topic.hpp"

namespace iotsim::client {

using mqtt::QoS;
using mqtt::ReasonCode;
using mqtt::Version;

std::string_view client_state_name(ClientState state) {
    switch (state) {
        case ClientState::idle: return "idle";
        case ClientState::connecting: return "connecting";
        case ClientState::awaiting_connack: return "awaiting_connack";
        case ClientState::connected: return "connected";
        case ClientState::backing_off: return "backing_off";
        case ClientState::stopped: return "stopped";
    }
    return "unknown";
}

std::string_view disconnect_cause_name(DisconnectCause cause) {
    switch (cause) {
        case DisconnectCause::transport_failed: return "transport_failed";
        case DisconnectCause::transport_closed: return "transport_closed";
        case DisconnectCause::connect_timeout: return "connect_timeout";
        case DisconnectCause::connack_refused: return "connack_refused";
        case DisconnectCause::server_disconnect: return "server_disconnect";
        case DisconnectCause::keep_alive_timeout: return "keep_alive_timeout";
        case DisconnectCause::ack_timeout: return "ack_timeout";
        case DisconnectCause::protocol_error: return "protocol_error";
        case DisconnectCause::client_disconnect: return "client_disconnect";
    }
    return "unknown";
}

namespace {

constexpr std::size_t no_slot = std::numeric_limits<std::size_t>::max();
/// AWS IoT Core fails every filter of a SUBSCRIBE that carries more than 8 (§1.13), so the
/// client's own resubscribes never carry more.
constexpr std::size_t resubscribe_filters_max = 8;
constexpr std::uint8_t dup_flag = 0x08;
constexpr std::uint16_t packet_id_max = 65535;

std::string hex(std::uint8_t value) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out = "0x";
    out.push_back(digits[value >> 4U]);
    out.push_back(digits[value & 0x0FU]);
    return out;
}

std::string duration_text(Duration d) {
    if (d % seconds(1) == Duration::zero()) {
        return std::to_string(std::chrono::duration_cast<seconds>(d).count()) + "s";
    }
    return std::to_string(std::chrono::duration_cast<milliseconds>(d).count()) + "ms";
}

/// MQTT 3.1.1 §3.2.2.3; reason_name() knows only MQTT 5's codes, whose values differ.
std::string_view connack_v311_name(std::uint8_t code) {
    switch (code) {
        case 0x01: return "Unacceptable protocol version";
        case 0x02: return "Identifier rejected";
        case 0x03: return "Server unavailable";
        case 0x04: return "Bad user name or password";
        case 0x05: return "Not authorized";
        default: return "Unknown return code";
    }
}

bool is_sendable_topic(std::string_view topic) {
    // The codec asserts on a string longer than its two-byte length prefix; the rest are the
    // checks a server answers by closing the connection, better refused here.
    return topic.size() <= 0xFFFFU && mqtt::is_valid_topic_name(topic) &&
           mqtt::is_valid_mqtt_utf8(topic);
}

/// The effects of one input. Everything written during the input goes into a single SendBytes,
/// so the host makes one write per input, and it goes *before* the input's other effects: they
/// are justified by what is written (a MessageReceived after its PUBACK, a QoS 0
/// PublishCompleted) or must not be overtaken by it (a host that reacts to Connected or
/// PublishCompleted by publishing at once must not get ahead of the resends). Only a
/// CloseTransport ends the run of bytes; nothing is written after it in the same input.
class Output {
public:
    /// `slot`: a SendBytes that an earlier call left in `effects` and that may be extended.
    /// `spare`: emptied strings to write into (their capacity saves an allocation), if any.
    explicit Output(ClientEffects& effects, std::size_t slot = no_slot, SpareStrings* spare = nullptr)
        : effects_(effects), start_(effects.size()), slot_(slot), spare_(spare) {}

    std::string& wire() {
        IOTSIM_ASSERT(!closed_);
        if (slot_ == no_slot) {
            slot_ = start_;
            if (start_ == effects_.size()) {
                effects_.emplace_back(std::in_place_type<SendBytes>);  // the usual case
            } else {
                effects_.insert(effects_.begin() + static_cast<std::ptrdiff_t>(start_), SendBytes{});
            }
            if (spare_ != nullptr) {
                spare_->take_into(std::get<SendBytes>(effects_[slot_]).bytes);
            }
        }
        return std::get<SendBytes>(effects_[slot_]).bytes;
    }

    template <class E>
    void emit(E effect) {
        effects_.emplace_back(std::move(effect));
    }

    /// An effect constructed where it lies in the vector (for the large ones).
    template <class E, class... Args>
    E& emplace(Args&&... args) {
        return std::get<E>(effects_.emplace_back(std::in_place_type<E>, std::forward<Args>(args)...));
    }

    /// CloseTransport after every byte written so far.
    void close() {
        effects_.emplace_back(CloseTransport{});
        slot_ = no_slot;
        closed_ = true;
    }

    [[nodiscard]] std::size_t slot() const { return slot_; }

private:
    ClientEffects& effects_;
    std::size_t start_ = 0;
    std::size_t slot_ = no_slot;
    SpareStrings* spare_ = nullptr;
    bool closed_ = false;
};

/// A QoS 1 PUBLISH kept until its PUBACK. Encoded once: a resend patches the DUP bit and the
/// packet identifier in place instead of encoding again.
struct Outbound {
    std::uint64_t token = 0;
    std::string bytes;
    std::uint32_t id_offset = 0;  // where the two packet-identifier bytes are
    std::uint16_t packet_id = 0;  // 0 until first sent; kept for every resend [MQTT-4.4.0-1]
    Instant sent_at;
};

/// A SUBSCRIBE or UNSUBSCRIBE waiting for its acknowledgement.
struct Request {
    std::uint64_t token = 0;      // 0: a resubscribe the client made on its own
    std::uint16_t packet_id = 0;  // 0: not sent on the current connection
    Instant sent_at;
    mqtt::Packet packet;  // mqtt::Subscribe or mqtt::Unsubscribe
};

}  // namespace

struct alignas(64) Client::Impl {
    Impl(ClientOptions o, Rng r)
        : keep_alive_s(o.keep_alive_s),
          version(o.version),
          packet_bytes_max(o.packet_bytes_max),
          ack_timeout(o.ack_timeout),
          offline_queue_max(o.offline_queue_max),
          options(std::move(o)),
          rng(r),
          client_id(options.client_id) {
        IOTSIM_ASSERT(options.inflight_max > 0);
    }

    // What every packet and publish() reads or writes comes first, in five cache lines (the
    // offsets below; the struct is aligned to a line): a simulated fleet's thousands of clients
    // do not fit in the cache, and each line here is one memory access per message. `options`
    // (1.2 KB, mostly the will and the CONNECT properties) and what only connecting uses come
    // after; the few options read per packet are copied here.

    // [0, 64): the connection's state.
    ClientState state = ClientState::idle;
    bool packet_ids_wrapped = false;
    std::uint16_t keep_alive_s = 0;
    std::uint16_t send_window = 0;
    std::uint16_t next_packet_id = 1;
    const mqtt::Version version;                 // options.version
    const std::uint32_t packet_bytes_max;        // options.packet_bytes_max (0: none)
    std::uint32_t server_packet_bytes_max = 0;   // 0: the server set none
    std::uint32_t sent = 0;                      // see `outbound`
    // The current connection (or attempt). `epoch` changes whenever one ends, so that code which
    // handled a packet can tell that the packet ended the connection.
    std::uint64_t epoch = 0;
    std::uint64_t next_token = 1;
    Instant last_sent;
    Instant last_received;
    const Duration ack_timeout;                  // options.ack_timeout

    // [64, 128): timers, and where the last application call left its SendBytes, so that calls
    // sharing one effects vector (a burst of publish()) share one write. Valid only for the same
    // vector, untouched since (same size), on the same connection.
    std::optional<Instant> armed;  // the deadline of the last ArmTimer, until it fires
    std::optional<Instant> ping_sent_at;
    const ClientEffects* shared_effects = nullptr;
    std::size_t shared_size = 0;
    std::size_t shared_slot = no_slot;
    std::uint64_t shared_epoch = 0;

    // [128, 256): QoS 1, in publish order: outbound[0, sent) were sent on this connection and
    // wait for their PUBACK, the rest wait to be sent. After a connection loss `sent` is 0; the
    // entries that had been sent keep their packet id and come first, so ids form a prefix. The
    // ring's one inline slot is the line [192, 256): a steady publisher has one in flight.
    // Emptied byte strings (written SendBytes the host handed back, acknowledged PUBLISHes) are
    // reused for the next ones: the client's own, or a pool the host shares among its clients.
    SpareStrings* spare_bytes = &own_spare_bytes;
    const std::size_t offline_queue_max;         // options.offline_queue_max
    std::vector<Request> requests;  // SUBSCRIBE and UNSUBSCRIBE, in call order
    // Every PUBLISH is decoded into it (see handle_frame); made with the first one, so that a
    // device that only publishes does not carry its ~560 bytes (100,000 devices: 56 MB).
    std::unique_ptr<mqtt::Publish> publish_scratch;
    SlotRing<Outbound, 1> outbound;

    // [256, 320): what receiving reads.
    std::string inbuf;
    SpareStrings spare_text{4};  // a received message's topic and payload, handed back by recycle()

    // [320, 512): the counters; [384, 448) holds those a message changes.
    ClientStats stats;

    // Read when connecting, or never per packet.
    SpareStrings own_spare_bytes{2};
    ClientOptions options;
    Rng rng;
    std::string client_id;
    Instant attempt_deadline;
    std::uint32_t attempt = 0;  // failed attempts since the last accepted CONNACK
    Instant retry_at;
    bool ever_connected = false;
    std::vector<mqtt::SubscribeEntry> subscriptions;  // granted, for resubscribing

    // ------------------------------------------------------------------ plumbing

    bool v5() const { return version == Version::v5; }

    std::size_t reusable_slot(const ClientEffects& effects) const {
        if (&effects == shared_effects && effects.size() == shared_size && shared_epoch == epoch &&
            shared_slot < effects.size() &&
            std::holds_alternative<SendBytes>(effects[shared_slot])) {
            return shared_slot;
        }
        return no_slot;
    }

    void remember_slot(const ClientEffects& effects, const Output& out) {
        shared_effects = &effects;
        shared_size = effects.size();
        shared_slot = out.slot();
        shared_epoch = epoch;
    }

    /// A Packet, or a packet the codec encodes without building one (Ack, PublishRef).
    template <class P>
    void write(Output& out, const P& packet, Now now) {
        mqtt::encode(packet, version, out.wire());
        last_sent = now.monotonic;
    }

    /// Asks for an earlier wake-up if one is needed. A later deadline does not re-arm: the
    /// pending wake-up finds nothing due and arms the next one, so packets cost no timer work.
    void finish(Output& out) {
        const std::optional<Instant> due = next_deadline();
        if (due && (!armed || *due < *armed)) {
            armed = due;
            out.emit(ArmTimer{*due});
        }
    }

    Duration ping_timeout() const {
        return options.ping_timeout > Duration::zero() ? options.ping_timeout
                                                       : seconds(keep_alive_s) / 2;
    }

    /// When the next PINGREQ is due: keep-alive after the last packet sent *or* received (paho's
    /// rule). Sending alone would let a device that only publishes QoS 0 live forever on a
    /// half-open connection; the MQTT minimum is only the "sent" half (3.1.1 [MQTT-3.1.2-23]).
    Instant ping_due() const { return std::min(last_sent, last_received) + seconds(keep_alive_s); }

    struct Oldest {
        Instant sent_at;
        std::uint16_t packet_id = 0;
    };

    std::optional<Oldest> oldest_unacked() const {
        std::optional<Oldest> oldest;
        if (sent > 0) {
            oldest = Oldest{outbound.front().sent_at, outbound.front().packet_id};
        }
        for (const Request& r : requests) {
            if (r.packet_id != 0 && (!oldest || r.sent_at < oldest->sent_at)) {
                oldest = Oldest{r.sent_at, r.packet_id};
            }
        }
        return oldest;
    }

    std::optional<Instant> next_deadline() const {
        switch (state) {
            case ClientState::connecting:
            case ClientState::awaiting_connack: return attempt_deadline;
            case ClientState::backing_off: return retry_at;
            case ClientState::idle:
            case ClientState::stopped: return std::nullopt;
            case ClientState::connected: break;
        }
        std::optional<Instant> due;
        if (ping_sent_at) {
            due = *ping_sent_at + ping_timeout();
        } else if (keep_alive_s != 0) {
            due = ping_due();
        }
        if (ack_timeout > Duration::zero()) {
            if (const auto oldest = oldest_unacked()) {
                const Instant t = oldest->sent_at + ack_timeout;
                if (!due || t < *due) {
                    due = t;
                }
            }
        }
        return due;
    }

    bool packet_id_in_use(std::uint16_t id) const {
        for (std::uint32_t i = 0; i < outbound.size(); ++i) {
            const std::uint16_t used = outbound[i].packet_id;
            if (used == 0) {
                break;  // the entries with ids are a prefix
            }
            if (used == id) {
                return true;
            }
        }
        for (const Request& r : requests) {
            if (r.packet_id == id) {
                return true;
            }
        }
        return false;
    }

    std::uint16_t allocate_packet_id() {
        // Ids in use never exceed the in-flight window plus the pending requests, so a free one is
        // found; the bound turns a broken invariant into an assert instead of a hang.
        for (std::uint32_t tries = 0; tries < packet_id_max; ++tries) {
            const std::uint16_t id = next_packet_id;
            if (next_packet_id == packet_id_max) {
                next_packet_id = 1;
                packet_ids_wrapped = true;
            } else {
                ++next_packet_id;
            }
            // Until the counter first wraps every id is fresh: no scan on the common path.
            if (!packet_ids_wrapped || !packet_id_in_use(id)) {
                return id;
            }
        }
        IOTSIM_ASSERT(false);
        return 0;
    }

    // ------------------------------------------------------------------ connection life cycle

    void begin_attempt(Output& out, Now now) {
        state = ClientState::connecting;
        attempt_deadline = now.monotonic + options.connect_timeout;
        ++stats.connect_attempts;
        out.emit(OpenTransport{});
    }

    mqtt::Connect make_connect() const {
        mqtt::Connect c;
        c.version = options.version;
        c.clean_start = options.clean_start;
        c.keep_alive = options.keep_alive_s;
        c.client_id = client_id;
        c.will = options.will;
        c.username = options.username;
        c.password = options.password;
        if (v5()) {
            c.properties = options.connect_properties;
            c.properties.session_expiry_interval.reset();
            if (options.session_expiry_s != 0) {
                c.properties.session_expiry_interval = options.session_expiry_s;
            }
            if (options.packet_bytes_max != 0) {
                c.properties.maximum_packet_size = options.packet_bytes_max;
            }
        }
        return c;
    }

    void transport_up(Output& out, Now now) {
        if (state != ClientState::connecting) {
            return;  // the attempt was cancelled (CloseTransport); nothing is owed
        }
        state = ClientState::awaiting_connack;
        attempt_deadline = now.monotonic + options.connect_timeout;
        last_received = now.monotonic;
        write(out, make_connect(), now);
    }

    /// Forgets the connection: what was in flight is owed again on the next one.
    void reset_connection() {
        // What was in flight is the head of the queue again, in send order: resent before
        // anything newer, in the original order [MQTT-4.6.0-1].
        sent = 0;
        // The client's own resubscribes are rebuilt from the remembered filters if the next
        // session needs them; the application's requests are sent again under new ids.
        requests.erase(std::remove_if(requests.begin(), requests.end(),
                                      [](const Request& r) { return r.token == 0; }),
                       requests.end());
        for (Request& r : requests) {
            r.packet_id = 0;
        }
        inbuf.clear();
        ping_sent_at.reset();
        ++epoch;
    }

    void end_connection(Output& out, Now now, DisconnectCause cause, std::uint8_t code,
                        std::string reason, bool close_transport) {
        const bool was_connected = state == ClientState::connected;
        if (close_transport) {
            out.close();
        }
        if (was_connected && cause != DisconnectCause::client_disconnect) {
            ++stats.connection_losses;
        }
        reset_connection();
        out.emit(Disconnected{cause, code, std::move(reason), was_connected});
        if (cause == DisconnectCause::client_disconnect) {
            state = ClientState::stopped;
        } else if (!options.auto_reconnect) {
            state = ClientState::idle;
        } else {
            retry_at = now.monotonic + backoff_delay(options.backoff, attempt, rng);
            if (attempt < std::numeric_limits<std::uint32_t>::max()) {
                ++attempt;
            }
            state = ClientState::backing_off;
        }
    }

    void protocol_error(Output& out, Now now, ReasonCode reason, std::string_view why) {
        ++stats.protocol_errors;
        if (v5()) {
            // MQTT 5 §4.13.1: say why before closing, as a server does.
            write(out, mqtt::Disconnect{reason, {}}, now);
        }
        end_connection(out, now, DisconnectCause::protocol_error, static_cast<std::uint8_t>(reason),
                       "protocol error: " + std::string(why), true);
    }

    void handle_connack(Output& out, mqtt::Connack connack, Now now) {
        // 3.1.1 §3.2.2.3 / 5 §3.2.2.2: a failure code means the server closes the connection.
        const bool refused = v5() ? connack.reason >= 0x80 : connack.reason != 0;
        if (refused) {
            ++stats.connects_refused;
            std::string reason = "CONNACK " + hex(connack.reason) + " ";
            reason += v5() ? mqtt::reason_name(static_cast<ReasonCode>(connack.reason))
                           : connack_v311_name(connack.reason);
            if (connack.properties.reason_string) {
                reason += ": " + *connack.properties.reason_string;
            }
            end_connection(out, now, DisconnectCause::connack_refused, connack.reason,
                           std::move(reason), true);
            return;
        }
        state = ClientState::connected;
        ++stats.connects;
        if (ever_connected) {
            ++stats.reconnects;
        }
        ever_connected = true;
        attempt = 0;
        keep_alive_s = options.keep_alive_s;
        send_window = options.inflight_max;
        server_packet_bytes_max = 0;
        if (v5()) {
            const mqtt::Properties& p = connack.properties;
            if (p.server_keep_alive) {
                keep_alive_s = *p.server_keep_alive;  // [MQTT-3.2.2-21]
            }
            if (p.receive_maximum) {
                send_window = std::min(send_window, *p.receive_maximum);  // [MQTT-3.3.4-7]
            }
            if (p.maximum_packet_size) {
                server_packet_bytes_max = *p.maximum_packet_size;  // [MQTT-3.2.2-15]
            }
            if (p.assigned_client_identifier) {
                // Kept for reconnects: a persistent session can only be resumed under its id.
                client_id = *p.assigned_client_identifier;
            }
        }
        const bool session_present = connack.session_present;
        out.emit(Connected{session_present, std::move(connack)});
        if (!session_present && options.resubscribe) {
            queue_resubscribes();
        }
        send_requests(out, now);
        pump(out, now);
    }

    void queue_resubscribes() {
        std::vector<Request> fresh;
        for (std::size_t i = 0; i < subscriptions.size(); i += resubscribe_filters_max) {
            mqtt::Subscribe s;
            const auto first = subscriptions.begin() + static_cast<std::ptrdiff_t>(i);
            const std::size_t n = std::min(resubscribe_filters_max, subscriptions.size() - i);
            s.entries.assign(first, first + static_cast<std::ptrdiff_t>(n));
            fresh.push_back(Request{0, 0, Instant{}, std::move(s)});
        }
        stats.resubscribes += fresh.size();
        // Before the application's pending requests: a later unsubscribe must act after them.
        requests.insert(requests.begin(), std::make_move_iterator(fresh.begin()),
                        std::make_move_iterator(fresh.end()));
    }

    void send_requests(Output& out, Now now) {
        for (Request& r : requests) {
            if (r.packet_id != 0) {
                continue;
            }
            r.packet_id = allocate_packet_id();
            if (auto* s = std::get_if<mqtt::Subscribe>(&r.packet)) {
                s->packet_id = r.packet_id;
            } else {
                std::get<mqtt::Unsubscribe>(r.packet).packet_id = r.packet_id;
            }
            r.sent_at = now.monotonic;
            write(out, r.packet, now);
        }
    }

    /// A finished QoS 1 PUBLISH's buffer goes to the spares; one they do not take (they are full,
    /// or it is too large to keep idle) is freed rather than left in the queue's vacant slot.
    void give_back(std::string& bytes) {
        spare_bytes->keep(std::move(bytes));
        if (bytes.capacity() > 15) {
            bytes = std::string{};
        }
    }

    /// Sends queued QoS 1 PUBLISHes while the window allows.
    void pump(Output& out, Now now) {
        while (state == ClientState::connected && sent < outbound.size() && sent < send_window) {
            Outbound& o = outbound[sent];
            if (server_packet_bytes_max != 0 && o.bytes.size() > server_packet_bytes_max) {
                // [MQTT-3.2.2-15]: never send more than the server accepts; it cannot be split.
                ++stats.publishes_rejected;
                out.emit(PublishCompleted{o.token, ReasonCode::packet_too_large, true});
                give_back(o.bytes);
                outbound.erase(sent);
                continue;
            }
            if (o.packet_id == 0) {
                o.packet_id = allocate_packet_id();
                o.bytes[o.id_offset] = static_cast<char>(o.packet_id >> 8U);
                o.bytes[o.id_offset + 1] = static_cast<char>(o.packet_id & 0xFFU);
                ++stats.publishes_sent;
            } else {
                // [MQTT-3.3.1-1]: a re-delivery carries DUP=1.
                o.bytes[0] = static_cast<char>(static_cast<std::uint8_t>(o.bytes[0]) | dup_flag);
                ++stats.publishes_resent;
            }
            out.wire().append(o.bytes);
            last_sent = now.monotonic;
            o.sent_at = now.monotonic;
            ++sent;
        }
    }

    void remember(const mqtt::SubscribeEntry& entry) {
        for (mqtt::SubscribeEntry& s : subscriptions) {
            if (s.filter == entry.filter) {
                s.options = entry.options;  // a second SUBSCRIBE replaces the first [MQTT-3.8.4-3]
                return;
            }
        }
        subscriptions.push_back(entry);
    }

    void forget(std::string_view filter) {
        std::erase_if(subscriptions,
                      [&](const mqtt::SubscribeEntry& s) { return s.filter == filter; });
    }

    // ------------------------------------------------------------------ input

    void receive(Output& out, std::string_view bytes, Now now) {
        if ((state != ClientState::awaiting_connack && state != ClientState::connected) ||
            bytes.empty()) {
            return;  // bytes of a transport the client has already given up
        }
        last_received = now.monotonic;
        std::string_view stream = bytes;
        if (!inbuf.empty()) {
            inbuf.append(bytes);
            stream = inbuf;
        }
        const std::uint64_t connection = epoch;
        const std::uint32_t limit =
            packet_bytes_max != 0 ? packet_bytes_max : mqtt::remaining_length_max;
        std::size_t consumed = 0;
        while (consumed < stream.size()) {
            const std::string_view rest = stream.substr(consumed);
            const mqtt::Frame f = mqtt::read_frame(rest, limit);
            if (f.status == mqtt::FrameStatus::incomplete) {
                break;
            }
            if (f.status == mqtt::FrameStatus::malformed) {
                protocol_error(out, now, ReasonCode::malformed_packet,
                               "malformed remaining length");
                return;
            }
            if (f.status == mqtt::FrameStatus::too_large ||
                (packet_bytes_max != 0 && f.total_bytes() > packet_bytes_max)) {
                protocol_error(out, now, ReasonCode::packet_too_large,
                               "packet exceeds packet_bytes_max");
                return;
            }
            if (rest.size() < f.total_bytes()) {
                break;
            }
            consumed += f.total_bytes();
            handle_frame(out, f.first_byte, rest.substr(f.header_bytes, f.remaining_length), now);
            if (epoch != connection) {
                return;  // the packet ended the connection, and reset_connection() cleared inbuf
            }
        }
        if (inbuf.empty()) {
            if (consumed < stream.size()) {
                inbuf.assign(stream.substr(consumed));
            }
        } else {
            inbuf.erase(0, consumed);
        }
    }

    void handle_frame(Output& out, std::uint8_t first_byte, std::string_view body, Now now) {
        if (first_byte == 0x40 && body.size() == 2 && state != ClientState::awaiting_connack) {
            // A two-byte PUBACK (3.1.1's only form, MQTT 5's for Success, §3.4.2.1): its packet
            // identifier is all there is to decode. Identifier 0 is malformed: decode() says so.
            const auto id = static_cast<std::uint16_t>((static_cast<std::uint8_t>(body[0]) << 8U) |
                                                       static_cast<std::uint8_t>(body[1]));
            if (id != 0) {
                handle_puback(out, id, ReasonCode::success, now);
                return;
            }
        }
        if ((first_byte >> 4U) == static_cast<std::uint8_t>(mqtt::PacketType::publish) &&
            state != ClientState::awaiting_connack) {
            // Into a Publish the client keeps, whose strings keep their buffers from message to
            // message (handle_publish swaps them with strings the host handed back through
            // recycle()): a steady stream of messages allocates nothing.
            if (!publish_scratch) {
                publish_scratch = std::make_unique<mqtt::Publish>();
            }
            if (const auto error = mqtt::decode_publish_into(version, first_byte, body, *publish_scratch)) {
                protocol_error(out, now, error->reason, error->message);
                return;
            }
            handle_publish(out, *publish_scratch, now);
            return;
        }
        auto decoded = mqtt::decode(version, first_byte, body);
        if (!decoded) {
            protocol_error(out, now, decoded.error().reason, decoded.error().message);
            return;
        }
        mqtt::Packet& packet = decoded.value();
        if (state == ClientState::awaiting_connack) {
            if (auto* connack = std::get_if<mqtt::Connack>(&packet)) {
                handle_connack(out, std::move(*connack), now);
            } else {
                // [MQTT-3.2.0-1]: the server's first packet is CONNACK.
                protocol_error(out, now, ReasonCode::protocol_error,
                               "first packet from the server is not CONNACK");
            }
            return;
        }
        if (auto* publish = std::get_if<mqtt::Publish>(&packet)) {
            handle_publish(out, *publish, now);
        } else if (auto* ack = std::get_if<mqtt::Ack>(&packet);
                   ack && ack->type == mqtt::PacketType::puback) {
            handle_puback(out, ack->packet_id, ack->reason, now);
        } else if (auto* suback = std::get_if<mqtt::Suback>(&packet)) {
            handle_suback(out, std::move(*suback), now);
        } else if (auto* unsuback = std::get_if<mqtt::Unsuback>(&packet)) {
            handle_unsuback(out, std::move(*unsuback), now);
        } else if (std::holds_alternative<mqtt::Pingresp>(packet)) {
            ping_sent_at.reset();
        } else if (auto* disconnect = std::get_if<mqtt::Disconnect>(&packet); disconnect && v5()) {
            handle_server_disconnect(out, *disconnect, now);
        } else {
            // A second CONNACK, client-only packets, the QoS 2 flow (never started by this client),
            // AUTH (no enhanced authentication), a 3.1.1 server's DISCONNECT.
            protocol_error(out, now, ReasonCode::protocol_error,
                           "unexpected " +
                               std::string(mqtt::packet_type_name(mqtt::packet_type(packet))) +
                               " from the server");
        }
    }

    // `publish` is the decoded packet (the client's scratch): taken apart here, its strings
    // swapped into the MessageReceived built in the effects vector.
    void handle_publish(Output& out, mqtt::Publish& publish, Now now) {
        if (publish.qos == QoS::exactly_once) {
            // AWS grants at most QoS 1; a server that sends QoS 2 anyway is broken.
            protocol_error(out, now, ReasonCode::qos_not_supported,
                           "QoS 2 PUBLISH (QoS 2 is not supported)");
            return;
        }
        if (publish.properties.topic_alias) {
            // [MQTT-3.1.2-27]: the client's CONNECT allows no topic aliases.
            protocol_error(out, now, ReasonCode::topic_alias_invalid,
                           "Topic Alias although the client allows none");
            return;
        }
        if (publish.qos == QoS::at_least_once) {
            mqtt::encode_success_ack(mqtt::PacketType::puback, publish.packet_id, out.wire());
            last_sent = now.monotonic;
        }
        ++stats.messages_received;
        if (publish.dup) {
            ++stats.duplicates_received;
        }
        mqtt::Publish& m = out.emplace<MessageReceived>().publish;
        m.dup = publish.dup;
        m.qos = publish.qos;
        m.retain = publish.retain;
        m.packet_id = publish.packet_id;
        spare_text.take_into(m.topic);  // the scratch gets their buffers in exchange
        m.topic.swap(publish.topic);
        spare_text.take_into(m.payload);
        m.payload.swap(publish.payload);
        if (v5()) {
            m.properties = std::move(publish.properties);  // (cleared at the next MQTT 5 decode)
        }
    }

    void handle_puback(Output& out, std::uint16_t packet_id, ReasonCode reason, Now now) {
        // PUBACKs come in send order [MQTT-4.6.0-2]: the match is the front but for a broken peer.
        std::uint32_t i = 0;
        while (i < sent && outbound[i].packet_id != packet_id) {
            ++i;
        }
        if (i == sent) {
            ++stats.unexpected_acks;
            return;
        }
        const std::uint64_t token = outbound[i].token;
        give_back(outbound[i].bytes);
        outbound.erase(i);
        --sent;
        if (static_cast<std::uint8_t>(reason) >= 0x80) {
            ++stats.publishes_failed;  // final: resending a refused message cannot help
        } else {
            ++stats.publishes_acked;
        }
        out.emit(PublishCompleted{token, reason, false});
        pump(out, now);
    }

    std::vector<Request>::iterator find_request(std::uint16_t packet_id, bool subscribe) {
        return std::find_if(requests.begin(), requests.end(), [&](const Request& r) {
            return r.packet_id == packet_id &&
                   std::holds_alternative<mqtt::Subscribe>(r.packet) == subscribe;
        });
    }

    void handle_suback(Output& out, mqtt::Suback suback, Now now) {
        const auto it = find_request(suback.packet_id, true);
        if (it == requests.end()) {
            ++stats.unexpected_acks;
            return;
        }
        const auto& entries = std::get<mqtt::Subscribe>(it->packet).entries;
        if (suback.reasons.size() != entries.size()) {
            // [MQTT-3.9.3-1]: one reason per filter; the codec cannot know the count.
            protocol_error(out, now, ReasonCode::protocol_error,
                           "SUBACK reason count differs from the SUBSCRIBE");
            return;
        }
        const std::uint64_t token = it->token;
        for (std::size_t i = 0; i < entries.size(); ++i) {
            if (suback.reasons[i] < 0x80) {
                remember(entries[i]);
            } else if (token == 0) {
                forget(entries[i].filter);
                ++stats.subscriptions_lost;
            }
        }
        requests.erase(it);
        if (token != 0) {
            out.emit(SubscribeCompleted{token, std::move(suback.reasons)});
        }
    }

    void handle_unsuback(Output& out, mqtt::Unsuback unsuback, Now now) {
        const auto it = find_request(unsuback.packet_id, false);
        if (it == requests.end()) {
            ++stats.unexpected_acks;
            return;
        }
        const auto& filters = std::get<mqtt::Unsubscribe>(it->packet).filters;
        if (v5() && unsuback.reasons.size() != filters.size()) {
            protocol_error(out, now, ReasonCode::protocol_error,
                           "UNSUBACK reason count differs from the UNSUBSCRIBE");
            return;
        }
        // Forgotten again: a SUBACK that arrived after unsubscribe() may have remembered them.
        for (const std::string& filter : filters) {
            forget(filter);
        }
        const std::uint64_t token = it->token;
        requests.erase(it);
        out.emit(UnsubscribeCompleted{token, std::move(unsuback.reasons)});
    }

    void handle_server_disconnect(Output& out, const mqtt::Disconnect& disconnect, Now now) {
        ++stats.server_disconnects;
        const auto code = static_cast<std::uint8_t>(disconnect.reason);
        std::string reason = "server DISCONNECT " + hex(code) + " " +
                             std::string(mqtt::reason_name(disconnect.reason));
        if (disconnect.properties.reason_string) {
            reason += ": " + *disconnect.properties.reason_string;
        }
        end_connection(out, now, DisconnectCause::server_disconnect, code, std::move(reason), true);
    }

    void timer_fired(Output& out, Now now) {
        armed.reset();
        const Instant t = now.monotonic;
        switch (state) {
            case ClientState::connecting:
            case ClientState::awaiting_connack:
                if (t >= attempt_deadline) {
                    ++stats.connect_timeouts;
                    const bool open = state == ClientState::connecting;
                    end_connection(out, now, DisconnectCause::connect_timeout, 0,
                                   std::string(open ? "connect timeout: transport not up within "
                                                    : "connect timeout: no CONNACK within ") +
                                       duration_text(options.connect_timeout),
                                   true);
                }
                break;
            case ClientState::backing_off:
                if (t >= retry_at) {
                    begin_attempt(out, now);
                }
                break;
            case ClientState::connected: check_connection(out, now); break;
            case ClientState::idle:
            case ClientState::stopped: break;
        }
    }

    void check_connection(Output& out, Now now) {
        const Instant t = now.monotonic;
        if (ping_sent_at && t >= *ping_sent_at + ping_timeout()) {
            // §3.1.2.10 (3.1.1 and 5): no PINGRESP within a reasonable time, so close.
            ++stats.ping_timeouts;
            end_connection(out, now, DisconnectCause::keep_alive_timeout, 0,
                           "keep-alive: no PINGRESP within " + duration_text(ping_timeout()), true);
            return;
        }
        if (ack_timeout > Duration::zero()) {
            if (const auto oldest = oldest_unacked();
                oldest && t >= oldest->sent_at + ack_timeout) {
                ++stats.ack_timeouts;
                end_connection(out, now, DisconnectCause::ack_timeout, 0,
                               "ack timeout: packet id " + std::to_string(oldest->packet_id) +
                                   " unacknowledged for " + duration_text(ack_timeout),
                               true);
                return;
            }
        }
        if (keep_alive_s != 0 && !ping_sent_at && t >= ping_due()) {
            write(out, mqtt::Pingreq{}, now);
            ping_sent_at = t;
            ++stats.pings_sent;
        }
    }

    // ------------------------------------------------------------------ application calls

    std::uint64_t publish(Output& out, std::string_view topic, std::string_view payload, QoS qos, bool retain,
                          const mqtt::Properties* properties, Now now) {
        const std::uint64_t token = next_token++;
        const auto refuse = [&](ReasonCode reason) {
            ++stats.publishes_rejected;
            out.emit(PublishCompleted{token, reason, true});
        };
        if (qos == QoS::exactly_once) {
            refuse(ReasonCode::qos_not_supported);  // AWS IoT Core has no QoS 2
            return token;
        }
        if (!is_sendable_topic(topic)) {
            refuse(ReasonCode::topic_name_invalid);
            return token;
        }
        // QoS 1 is encoded with a placeholder id; the real one is patched in when first sent.
        const mqtt::PublishRef packet{false, qos, retain, topic, static_cast<std::uint16_t>(qos == QoS::at_least_once ? 1 : 0),
                                      payload, v5() ? properties : nullptr};
        const std::size_t size = mqtt::encoded_size(packet, version);
        if (size > mqtt::remaining_length_max) {
            refuse(ReasonCode::packet_too_large);
            return token;
        }
        if (qos == QoS::at_most_once) {
            if (state != ClientState::connected) {
                ++stats.qos0_dropped_offline;
                out.emit(PublishCompleted{token, ReasonCode::unspecified_error, true});
            } else if (server_packet_bytes_max != 0 && size > server_packet_bytes_max) {
                refuse(ReasonCode::packet_too_large);
            } else {
                write(out, packet, now);
                ++stats.publishes_sent;
                out.emit(PublishCompleted{token, ReasonCode::success, false});
            }
            return token;
        }
        const bool sendable_now =
            state == ClientState::connected && sent == outbound.size() && sent < send_window;
        if (!sendable_now && outbound.size() - sent >= offline_queue_max) {
            ++stats.qos1_dropped_queue_full;
            out.emit(PublishCompleted{token, ReasonCode::quota_exceeded, true});
            return token;
        }
        Outbound& o = outbound.push_back();
        o.token = token;
        o.packet_id = 0;
        o.sent_at = Instant{};
        o.bytes.clear();
        spare_bytes->take_into(o.bytes);  // (a slot's buffer went back to the spares with its PUBACK)
        o.bytes.reserve(size);
        mqtt::encode(packet, version, o.bytes);
        o.id_offset = static_cast<std::uint32_t>(mqtt::encoded_header_bytes(o.bytes.data()) + 2 + topic.size());
        pump(out, now);
        return token;
    }

    std::uint64_t subscribe(Output& out, std::vector<mqtt::SubscribeEntry> entries, Now now) {
        IOTSIM_ASSERT(!entries.empty());  // [MQTT-3.8.3-3]: an empty SUBSCRIBE is malformed
        const std::uint64_t token = next_token++;
        mqtt::Subscribe s;
        s.entries = std::move(entries);
        requests.push_back(Request{token, 0, Instant{}, std::move(s)});
        if (state == ClientState::connected) {
            send_requests(out, now);
        }
        return token;
    }

    std::uint64_t unsubscribe(Output& out, std::vector<std::string> filters, Now now) {
        IOTSIM_ASSERT(!filters.empty());  // [MQTT-3.10.3-2]
        const std::uint64_t token = next_token++;
        // Forgotten now: should the connection drop before the UNSUBACK, a resubscribe must not
        // bring the filters back.
        for (const std::string& filter : filters) {
            forget(filter);
        }
        mqtt::Unsubscribe u;
        u.filters = std::move(filters);
        requests.push_back(Request{token, 0, Instant{}, std::move(u)});
        if (state == ClientState::connected) {
            send_requests(out, now);
        }
        return token;
    }

    void disconnect(Output& out, Now now) {
        switch (state) {
            case ClientState::connected:
                // Reason 0x00 (normal disconnection): the server discards the will [MQTT-3.14.4-3].
                write(out, mqtt::Disconnect{}, now);
                end_connection(out, now, DisconnectCause::client_disconnect, 0, "client DISCONNECT",
                               true);
                break;
            case ClientState::connecting:
            case ClientState::awaiting_connack:
                end_connection(out, now, DisconnectCause::client_disconnect, 0,
                               "client DISCONNECT before CONNACK", true);
                break;
            case ClientState::idle:
            case ClientState::backing_off: state = ClientState::stopped; break;
            case ClientState::stopped: break;
        }
    }
};

// ---------------------------------------------------------------------- Client

Client::Client(ClientOptions options, Rng rng)
    : impl_(std::make_unique<Impl>(std::move(options), rng)) {}
Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

ClientEffects Client::start(Now now) {
    ClientEffects fx;
    Output out(fx, no_slot, impl_->spare_bytes);
    if (impl_->state == ClientState::idle || impl_->state == ClientState::stopped) {
        impl_->attempt = 0;
        impl_->begin_attempt(out, now);
    }
    impl_->finish(out);
    return fx;
}

ClientEffects Client::transport_up(Now now) {
    ClientEffects fx;
    Output out(fx, no_slot, impl_->spare_bytes);
    impl_->transport_up(out, now);
    impl_->finish(out);
    return fx;
}

ClientEffects Client::transport_failed(Now now) {
    ClientEffects fx;
    Output out(fx, no_slot, impl_->spare_bytes);
    switch (impl_->state) {
        case ClientState::connecting:  // closed before it was ever up: a failed open
            ++impl_->stats.transport_failures;
            impl_->end_connection(out, now, DisconnectCause::transport_failed, 0,
                                  "transport failed", false);
            break;
        case ClientState::awaiting_connack:
        case ClientState::connected:
            impl_->end_connection(out, now, DisconnectCause::transport_closed, 0,
                                  "transport closed", false);
            break;
        default: break;  // an attempt the client already gave up
    }
    impl_->finish(out);
    return fx;
}

ClientEffects Client::receive(std::string_view bytes, Now now) {
    ClientEffects fx;
    receive(bytes, now, fx);
    return fx;
}

void Client::receive(std::string_view bytes, Now now, ClientEffects& fx) {
    Output out(fx, no_slot, impl_->spare_bytes);
    impl_->receive(out, bytes, now);
    impl_->finish(out);
}

ClientEffects Client::transport_closed(Now now) {
    // The same outcome as a failed open: before transport_up() it is a failed attempt, after it a
    // lost connection.
    return transport_failed(now);
}

ClientEffects Client::timer_fired(Now now) {
    ClientEffects fx;
    timer_fired(now, fx);
    return fx;
}

void Client::timer_fired(Now now, ClientEffects& fx) {
    Output out(fx, no_slot, impl_->spare_bytes);
    impl_->timer_fired(out, now);
    impl_->finish(out);
}

std::uint64_t Client::publish(std::string_view topic, std::string_view payload, mqtt::QoS qos, bool retain,
                              Now now, ClientEffects& out, const mqtt::Properties* properties) {
    Output o(out, impl_->reusable_slot(out), impl_->spare_bytes);
    const std::uint64_t token = impl_->publish(o, topic, payload, qos, retain, properties, now);
    impl_->finish(o);
    impl_->remember_slot(out, o);
    return token;
}

std::uint64_t Client::subscribe(std::vector<mqtt::SubscribeEntry> entries, Now now,
                                ClientEffects& out) {
    Output o(out, impl_->reusable_slot(out), impl_->spare_bytes);
    const std::uint64_t token = impl_->subscribe(o, std::move(entries), now);
    impl_->finish(o);
    impl_->remember_slot(out, o);
    return token;
}

std::uint64_t Client::unsubscribe(std::vector<std::string> filters, Now now, ClientEffects& out) {
    Output o(out, impl_->reusable_slot(out), impl_->spare_bytes);
    const std::uint64_t token = impl_->unsubscribe(o, std::move(filters), now);
    impl_->finish(o);
    impl_->remember_slot(out, o);
    return token;
}

ClientEffects Client::disconnect(Now now) {
    ClientEffects fx;
    Output out(fx, no_slot, impl_->spare_bytes);
    impl_->disconnect(out, now);
    impl_->finish(out);
    return fx;
}

void Client::share_spare_bytes(SpareStrings* pool) {
    impl_->spare_bytes = pool != nullptr ? pool : &impl_->own_spare_bytes;
}

void Client::recycle(ClientEffects& spent) {
    for (auto& e : spent) {
        if (auto* send = std::get_if<SendBytes>(&e)) {
            impl_->spare_bytes->keep(std::move(send->bytes));
        } else if (auto* m = std::get_if<MessageReceived>(&e)) {
            impl_->spare_text.keep(std::move(m->publish.topic));
            impl_->spare_text.keep(std::move(m->publish.payload));
        }
    }
}

ClientState Client::state() const { return impl_->state; }
const ClientStats& Client::stats() const { return impl_->stats; }
const std::string& Client::client_id() const { return impl_->client_id; }
std::uint16_t Client::keep_alive_s() const { return impl_->keep_alive_s; }
std::size_t Client::inflight() const { return impl_->sent; }
std::size_t Client::queued() const { return impl_->outbound.size() - impl_->sent; }
const std::vector<mqtt::SubscribeEntry>& Client::subscriptions() const {
    return impl_->subscriptions;
}
const ClientOptions& Client::options() const { return impl_->options; }

}  // namespace iotsim::client
