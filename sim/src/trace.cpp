#include "iotsim/sim/trace.hpp"

#include <ostream>

#include <nlohmann/json.hpp>

#include "iotsim/mqtt/codec.hpp"

namespace iotsim::sim {

std::string_view trace_kind_name(TraceKind kind) {
    switch (kind) {
        case TraceKind::device_start: return "device_start";
        case TraceKind::connect_attempt: return "connect_attempt";
        case TraceKind::connect_failed: return "connect_failed";
        case TraceKind::connection_open: return "connection_open";
        case TraceKind::bytes_to_broker: return "bytes_to_broker";
        case TraceKind::bytes_to_device: return "bytes_to_device";
        case TraceKind::close: return "close";
        case TraceKind::broker_event: return "broker_event";
        case TraceKind::device_connected: return "device_connected";
        case TraceKind::device_disconnected: return "device_disconnected";
        case TraceKind::message_received: return "message_received";
        case TraceKind::publish_completed: return "publish_completed";
        case TraceKind::fault: return "fault";
        case TraceKind::timer: return "timer";
        case TraceKind::check_failed: return "check_failed";
        case TraceKind::rule_action: return "rule_action";
        case TraceKind::tls_handshake_failed: return "tls_handshake_failed";
        case TraceKind::certificate_revoked: return "certificate_revoked";
    }
    return "?";
}

std::string Trace::node_name(std::uint32_t node) const {
    if (node == broker_node) {
        return "broker";
    }
    if (names_ != nullptr && node < names_->size()) {
        return (*names_)[node];
    }
    return "node-" + std::to_string(node);
}

void Trace::keep_note(Instant at, TraceKind kind, std::uint32_t node, std::uint64_t connection, std::string_view text) {
    records_.push_back({at.since_epoch.count(), kind, node_name(node), connection, std::string(text)});
}

void Trace::keep_pair(Instant at, TraceKind kind, std::uint32_t node, std::uint64_t connection, std::string_view a,
                      std::string_view b) {
    std::string detail;
    detail.reserve(a.size() + b.size() + 1);
    detail.append(a).append(" ").append(b);
    records_.push_back({at.since_epoch.count(), kind, node_name(node), connection, std::move(detail)});
}

void Trace::keep_bytes(Instant at, TraceKind kind, std::uint32_t node, std::uint64_t connection, std::string_view data,
                       std::uint8_t version) {
    records_.push_back({at.since_epoch.count(), kind, node_name(node), connection, summarize_packets(data, version)});
}

std::string Trace::hash_hex() const {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 0; i < 16; ++i) {
        out[static_cast<std::size_t>(15 - i)] = hex[(hash_ >> (4 * i)) & 0xF];
    }
    return out;
}

void Trace::write_jsonl(std::ostream& out) const {
    for (const auto& r : records_) {
        nlohmann::json j = {{"t_ns", r.time_ns},
                            {"kind", trace_kind_name(r.kind)},
                            {"node", r.node},
                            {"connection", r.connection},
                            {"detail", r.detail}};
        out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    }
}

std::string summarize_packets(std::string_view data, std::uint8_t version) {
    using namespace iotsim::mqtt;
    std::string out;
    std::size_t at = 0;
    while (at < data.size()) {
        const Frame f = read_frame(data.substr(at), remaining_length_max);
        if (f.status != FrameStatus::complete || data.size() - at < f.total_bytes()) {
            out += (out.empty() ? "" : "; ") + std::string("<") + std::to_string(data.size() - at) + " bytes>";
            break;
        }
        const std::string_view body = data.substr(at + f.header_bytes, f.remaining_length);
        at += f.total_bytes();
        if (!out.empty()) {
            out += "; ";
        }
        if ((f.first_byte >> 4) == 1) {
            auto c = decode_connect(f.first_byte, body);
            if (c) {
                const Connect& p = c.value();
                out += "CONNECT v" + std::string(p.version == Version::v5 ? "5" : "3.1.1") + " id=" + p.client_id +
                       " clean=" + (p.clean_start ? "1" : "0") + " ka=" + std::to_string(p.keep_alive);
                continue;
            }
            out += "CONNECT <malformed>";
            continue;
        }
        const Version v = version == 5 ? Version::v5 : Version::v311;
        auto r = decode(v, f.first_byte, body);
        if (!r) {
            out += std::string(packet_type_name(static_cast<PacketType>(f.first_byte >> 4))) + " <" +
                   std::string(r.error().message) + ">";
            continue;
        }
        const Packet& p = r.value();
        if (const auto* pub = std::get_if<Publish>(&p)) {
            out += "PUBLISH q" + std::to_string(static_cast<int>(pub->qos)) +
                   (pub->qos != QoS::at_most_once ? " id=" + std::to_string(pub->packet_id) : std::string{}) +
                   (pub->retain ? " retain" : "") + (pub->dup ? " dup" : "") + " " + pub->topic + " " +
                   std::to_string(pub->payload.size()) + "B";
        } else if (const auto* ack = std::get_if<Ack>(&p)) {
            out += std::string(packet_type_name(ack->type)) + " id=" + std::to_string(ack->packet_id);
            if (ack->reason != ReasonCode::success) {
                out += " rc=" + std::to_string(static_cast<int>(ack->reason));
            }
        } else if (const auto* ca = std::get_if<Connack>(&p)) {
            out += "CONNACK rc=" + std::to_string(ca->reason) + " sp=" + (ca->session_present ? "1" : "0");
        } else if (const auto* s = std::get_if<Subscribe>(&p)) {
            out += "SUBSCRIBE id=" + std::to_string(s->packet_id);
            for (const auto& e : s->entries) {
                out += " " + e.filter + ":q" + std::to_string(static_cast<int>(e.options.qos));
            }
        } else if (const auto* sa = std::get_if<Suback>(&p)) {
            out += "SUBACK id=" + std::to_string(sa->packet_id);
            for (auto rc : sa->reasons) {
                out += " " + std::to_string(rc);
            }
        } else if (const auto* u = std::get_if<Unsubscribe>(&p)) {
            out += "UNSUBSCRIBE id=" + std::to_string(u->packet_id);
            for (const auto& fl : u->filters) {
                out += " " + fl;
            }
        } else if (const auto* d = std::get_if<Disconnect>(&p)) {
            out += "DISCONNECT rc=" + std::to_string(static_cast<int>(d->reason));
        } else {
            out += std::string(packet_type_name(packet_type(p)));
        }
    }
    return out;
}

}  // namespace iotsim::sim
