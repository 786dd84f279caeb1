// libFuzzer target for the broker's input path: the input is a script of byte chunks sent on up
// to four connections, interleaved with clock advances and transport closes. Checks that the
// broker never crashes, never asks to Send on a connection after closing it, and never emits an
// error-severity event (a bug, not bad input).
//
// Script format, repeated: one control byte C, then (for sends) a length byte L and L bytes.
//   C & 0x03      connection index
//   C >> 2 == 0   send the next L bytes on that connection
//   C >> 2 == 1   advance the clock by L seconds (fires keep-alive, expiry, connect timeouts)
//   C >> 2 == 2   transport closed under the broker
//   C >> 2 == 3   the host drains the connection's output
//   otherwise     open the connection again if it was closed

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string_view>

#include "iotsim/broker/broker.hpp"

using namespace iotsim;
using namespace iotsim::broker;

namespace {

struct Slot {
    ConnectionId id;
    bool open = false;
    bool closed_by_broker = false;
    std::size_t unflushed = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    AllowAllAuthorizer auth;
    MemoryStore store;
    Rng rng(1);
    BrokerConfig config;
    Broker broker(config, BrokerServices{auth, store, rng});
    Now now{Instant{seconds(100)}, WallTime{seconds(1'700'000'000)}};
    std::array<Slot, 4> slots{};
    std::uint64_t next_id = 1;

    auto apply = [&](const Effects& fx) {
        for (const auto& e : fx) {
            if (const auto* s = std::get_if<Send>(&e)) {
                for (auto& slot : slots) {
                    if (slot.id == s->connection) {
                        if (slot.closed_by_broker) {
                            std::fprintf(stderr, "Send after Close\n");
                            std::abort();
                        }
                        slot.unflushed += s->bytes.size();
                    }
                }
            } else if (const auto* c = std::get_if<Close>(&e)) {
                for (auto& slot : slots) {
                    if (slot.id == c->connection) {
                        slot.closed_by_broker = true;
                    }
                }
            } else if (const auto* ev = std::get_if<Event>(&e)) {
                if (ev->severity == Severity::error) {
                    std::fprintf(stderr, "error event: %s %s\n", ev->kind.c_str(), ev->detail.c_str());
                    std::abort();
                }
            }
        }
    };
    auto open = [&](Slot& slot) {
        slot = Slot{ConnectionId{next_id++}, true, false, 0};
        PeerIdentity peer;
        peer.address = "192.0.2.7";
        peer.principal = "fuzz";
        apply(broker.accept(slot.id, peer, now));
    };
    for (auto& slot : slots) {
        open(slot);
    }

    std::size_t at = 0;
    while (at < size) {
        const std::uint8_t control = data[at++];
        Slot& slot = slots[control & 0x03];
        const int op = control >> 2;
        if (op == 0) {
            if (at >= size) {
                break;
            }
            const std::size_t want = data[at++];
            const std::size_t n = std::min(want, size - at);
            if (slot.open && !slot.closed_by_broker) {
                apply(broker.receive(slot.id, std::string_view(reinterpret_cast<const char*>(data + at), n), now));
            }
            at += n;
        } else if (op == 1) {
            if (at >= size) {
                break;
            }
            const auto d = seconds(data[at++]);
            now.monotonic = now.monotonic + d;
            now.wall.since_unix_epoch += d;
            apply(broker.timer_fired(now));
        } else if (op == 2) {
            if (slot.open && !slot.closed_by_broker) {
                apply(broker.closed(slot.id, now));
            }
            slot.open = false;
        } else if (op == 3) {
            if (slot.open && !slot.closed_by_broker) {
                apply(broker.drained(slot.id, slot.unflushed, now));
                slot.unflushed = 0;
            }
        } else if (!slot.open || slot.closed_by_broker) {
            open(slot);
        }
    }
    apply(broker.shutdown(now));
    // A restart from what the store kept must load cleanly.
    Broker again(config, BrokerServices{auth, store, rng});
    apply(again.recover(now));
    return 0;
}
