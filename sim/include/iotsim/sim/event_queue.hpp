#pragma once

#include <cstdint>
#include <vector>

#include "iotsim/common/assert.hpp"
#include "iotsim/common/time.hpp"

namespace iotsim::sim {

/// What an event does; interpreted by the Simulation's dispatcher (a switch, no virtual call
/// and no heap allocation per event).
enum class EventKind : std::uint8_t {
    noop,
    segment_to_broker,    // a = connection: deliver the next in-flight segment to the broker
    segment_to_device,    // a = connection: deliver the next in-flight segment to the device
    syn_arrives,          // a = connection: the device's connection attempt reaches the broker host
    connect_result,       // a = connection: the device learns its connection attempt's outcome
    broker_timer,         // b = generation (stale wake-ups are ignored)
    device_timer,         // a = device, b = generation
    behaviour,            // a = device: the device's behaviour wants to act (publish, ...)
    fault,                // a = index into the fault plan
    device_start,         // a = device: power on
    python_callback,      // a = callback id
};

/// 24 bytes: the time, then the sequence number and kind packed in one word (sequence in the
/// high 56 bits, so comparing the word compares sequence numbers), then the two arguments.
struct Event {
    Instant at;
    std::uint64_t sequence_kind = 0;
    std::uint32_t a = 0;
    std::uint32_t b = 0;

    [[nodiscard]] std::uint64_t sequence() const { return sequence_kind >> 8; }
    [[nodiscard]] EventKind kind() const { return static_cast<EventKind>(sequence_kind & 0xFF); }
};
static_assert(sizeof(Event) == 24);

/// The simulator's agenda: events ordered by (time, sequence number), so that same-time events
/// run in the order they were scheduled (FoundationDB's orderedDelay). A 4-ary min-heap of
/// 32-byte PODs: no allocation per event once warmed up.
class EventQueue {
public:
    /// `b` is 32 bits: generation counters are compared for equality only, so wrapping is harmless.
    void push(Instant at, EventKind kind, std::uint32_t a = 0, std::uint64_t b = 0) {
        heap_.push_back(Event{at, (next_sequence_++ << 8) | static_cast<std::uint64_t>(kind), a,
                              static_cast<std::uint32_t>(b)});
        sift_up(heap_.size() - 1);
    }

    [[nodiscard]] bool empty() const { return heap_.empty(); }
    [[nodiscard]] std::size_t size() const { return heap_.size(); }
    [[nodiscard]] const Event& top() const {
        IOTSIM_ASSERT(!heap_.empty());
        return heap_.front();
    }

    Event pop() {
        IOTSIM_ASSERT(!heap_.empty());
        Event out = heap_.front();
        const Event last = heap_.back();
        heap_.pop_back();
        if (!heap_.empty()) {
            // Floyd's bottom-up deletion: walk the hole down to a leaf along the smallest
            // children (no comparison with `last` on the way), then sift `last` up from there.
            // The last element usually belongs near the bottom, so this saves most comparisons.
            std::size_t i = 0;
            const std::size_t n = heap_.size();
            while (true) {
                const std::size_t first = kArity * i + 1;
                if (first >= n) {
                    break;
                }
                std::size_t best = first;
                const std::size_t end = first + kArity < n ? first + kArity : n;
                for (std::size_t c = first + 1; c < end; ++c) {
                    if (before(heap_[c], heap_[best])) {
                        best = c;
                    }
                }
                heap_[i] = heap_[best];
                i = best;
            }
            heap_[i] = last;
            sift_up(i);
        }
        return out;
    }

    [[nodiscard]] std::uint64_t scheduled() const { return next_sequence_; }

private:
    static constexpr std::size_t kArity = 4;

    static __uint128_t key(const Event& e) {
        return (static_cast<__uint128_t>(static_cast<std::uint64_t>(e.at.since_epoch.count())) << 64) | e.sequence_kind;
    }

    static bool before(const Event& x, const Event& y) {
        // One 128-bit comparison (virtual time is never negative): branch-free on x86-64.
        return key(x) < key(y);
    }

    void sift_up(std::size_t i) {
        const Event e = heap_[i];
        while (i > 0) {
            const std::size_t parent = (i - 1) / kArity;
            if (!before(e, heap_[parent])) {
                break;
            }
            heap_[i] = heap_[parent];
            i = parent;
        }
        heap_[i] = e;
    }

    std::vector<Event> heap_;
    std::uint64_t next_sequence_ = 0;
};

}  // namespace iotsim::sim
