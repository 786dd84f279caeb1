#pragma once

#include <array>
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
    registry_fault,       // a = index into the registry fault plan
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
/// run in the order they were scheduled (FoundationDB's orderedDelay).
///
/// A radix heap (Ahuja, Mehlhorn, Orlin, Tarjan 1990) with 16-way digits: virtual time never goes
/// backwards (every event is scheduled at or after the time of the last one popped), so events can
/// be kept in buckets by the highest 4-bit digit in which their time differs from that last time,
/// and that digit's value (257 buckets). A push is an append; a pop takes from bucket 0 (events at
/// the last time) or, when it is empty, moves the lowest non-empty bucket's events down, each
/// event moving at most 16 times in its life. Events
/// with equal times share a bucket and keep their append order through every move, which is the
/// order of their sequence numbers: the FIFO tie-break holds without comparing sequences.
/// No allocation per event once the buckets have grown.
class EventQueue {
public:
    /// `b` is 32 bits: generation counters are compared for equality only, so wrapping is
    /// harmless. `at` must not be before the time of the last event popped (the simulator only
    /// schedules at or after its `now`).
    void push(Instant at, EventKind kind, std::uint32_t a = 0, std::uint64_t b = 0) {
        const auto t = time_of(at);
        IOTSIM_ASSERT(t >= last_);
        const std::size_t i = bucket_of(t);
        buckets_[i].push_back(Event{at, (next_sequence_++ << 8) | static_cast<std::uint64_t>(kind), a,
                                    static_cast<std::uint32_t>(b)});
        mark(i);
        ++size_;
    }

    [[nodiscard]] bool empty() const { return size_ == 0; }
    [[nodiscard]] std::size_t size() const { return size_; }

    /// The next event, without removing it (and without moving anything: the last popped time
    /// stays where it is, so events may still be scheduled from it).
    [[nodiscard]] const Event& top() const {
        IOTSIM_ASSERT(size_ > 0);
        if (head0_ < buckets_[0].size()) {
            return buckets_[0][head0_];
        }
        const auto& bucket = buckets_[first_nonempty()];
        const Event* best = &bucket.front();
        for (const Event& e : bucket) {
            if (time_of(e.at) < time_of(best->at)) {
                best = &e;  // strictly earlier only: the first of equal times has the lowest sequence
            }
        }
        return *best;
    }

    /// For prefetching (events pushed meanwhile may run first):
    /// - peek_soon(k): the `k`-th event after the next one among those at the current time (the
    ///   radix heap's bucket 0, in order), or nullptr. Useful when many events share a time (a
    ///   fan-out's deliveries).
    /// - peek_next(): top(), or nullptr if there is none (when bucket 0 is used up, a scan of the
    ///   lowest non-empty bucket, which holds the events nearest in time and so few of them when
    ///   events are spread out).
    [[nodiscard]] const Event* peek_soon(std::size_t k) const {
        const std::size_t i = head0_ + k;
        return i < buckets_[0].size() ? &buckets_[0][i] : nullptr;
    }
    [[nodiscard]] const Event* peek_next() const { return size_ == 0 ? nullptr : &top(); }

    Event pop() {
        IOTSIM_ASSERT(size_ > 0);
        if (head0_ == buckets_[0].size()) {
            refill();
        }
        const Event out = buckets_[0][head0_++];
        if (head0_ == buckets_[0].size()) {
            buckets_[0].clear();
            head0_ = 0;
        }
        --size_;
        return out;
    }

    /// Pops the next event into `out` if it is due at or before `until`; otherwise moves
    /// nothing (as top() does) and returns false. top() then pop() in one look at the buckets.
    bool pop_due(Instant until, Event& out) {
        if (size_ == 0) {
            return false;
        }
        if (head0_ < buckets_[0].size()) {
            if (buckets_[0][head0_].at > until) {
                return false;
            }
        } else {
            const std::size_t i = first_nonempty();
            const std::uint64_t least = least_in(i);
            if (Instant{Duration(static_cast<std::int64_t>(least))} > until) {
                return false;
            }
            refill(i, least);
        }
        out = pop();
        return true;
    }

    [[nodiscard]] std::uint64_t scheduled() const { return next_sequence_; }

private:
    // Times are split into 16 digits of 4 bits. Bucket 1 + 16 * level + digit holds the events
    // whose time first differs from the last time in digit `level` (from the least significant),
    // where their digit is `digit` (always above the last time's there). Level-major order is
    // time order between buckets. A binary radix heap would move an event once per bit between
    // its time and the current one (a device's next publish, a second away, ~12 times); 16-way
    // digits move it once per digit (~4 times), for 256 buckets instead of 64.
    static constexpr std::size_t kDigitBits = 4;
    static constexpr std::size_t kDigits = std::size_t{1} << kDigitBits;
    static constexpr std::size_t kBuckets = 1 + 64 / kDigitBits * kDigits;
    static constexpr std::size_t kWords = (kBuckets - 1) / 64;

    static std::uint64_t time_of(Instant at) { return static_cast<std::uint64_t>(at.since_epoch.count()); }

    [[nodiscard]] std::size_t bucket_of(std::uint64_t t) const {
        const std::uint64_t diff = t ^ last_;
        if (diff == 0) {
            return 0;
        }
        const std::size_t level = static_cast<std::size_t>(63 - __builtin_clzll(diff)) / kDigitBits;
        const std::size_t digit = static_cast<std::size_t>(t >> (level * kDigitBits)) & (kDigits - 1);
        return 1 + level * kDigits + digit;
    }

    /// The lowest non-empty bucket above 0 (one must exist).
    [[nodiscard]] std::size_t first_nonempty() const {
        for (std::size_t w = 0; w < kWords; ++w) {
            if (nonempty_[w] != 0) {
                return 1 + w * 64 + static_cast<std::size_t>(__builtin_ctzll(nonempty_[w]));
            }
        }
        IOTSIM_ASSERT(false);
        return 0;
    }

    /// Buckets above 0 that hold events, one bit each (bucket 0 is tracked by its head).
    void mark(std::size_t i) {
        if (i != 0) {
            nonempty_[(i - 1) / 64] |= std::uint64_t{1} << ((i - 1) % 64);
        }
    }

    /// Bucket 0 is used up: the lowest non-empty bucket's minimum becomes the last time, and its
    /// events move to lower buckets (in order, so equal times keep their order).
    void refill() {
        const std::size_t i = first_nonempty();
        refill(i, least_in(i));
    }

    [[nodiscard]] std::uint64_t least_in(std::size_t i) const {
        const auto& from = buckets_[i];
        std::uint64_t least = time_of(from.front().at);
        for (const Event& e : from) {
            least = time_of(e.at) < least ? time_of(e.at) : least;
        }
        return least;
    }

    /// Moves bucket `i`, whose earliest time is `least`, down (see refill()).
    void refill(std::size_t i, std::uint64_t least) {
        buckets_[0].clear();
        head0_ = 0;
        auto& from = buckets_[i];
        last_ = least;
        nonempty_[(i - 1) / 64] &= ~(std::uint64_t{1} << ((i - 1) % 64));
        for (const Event& e : from) {
            const std::size_t to = bucket_of(time_of(e.at));  // always a bucket below i
            buckets_[to].push_back(e);
            mark(to);
        }
        from.clear();
    }

    std::array<std::vector<Event>, kBuckets> buckets_;
    std::size_t head0_ = 0;  // bucket 0 is consumed from the front
    std::size_t size_ = 0;
    std::uint64_t last_ = 0;  // the time of the last event popped (0 before the first)
    std::uint64_t next_sequence_ = 0;
    std::array<std::uint64_t, kWords> nonempty_{};  // see mark()
};

}  // namespace iotsim::sim
