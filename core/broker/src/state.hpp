#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <new>
#include <vector>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "iotsim/broker/identity.hpp"
#include "iotsim/broker/ids.hpp"
#include "iotsim/broker/message.hpp"
#include "iotsim/common/time.hpp"
#include "iotsim/mqtt/packet.hpp"

namespace iotsim::broker {

struct Connection;

/// A QoS 1 message owed to a session: waiting (queue) or sent and unacknowledged (inflight).
struct Owed {
    MessagePtr message;
    std::uint64_t sequence = 0;  // store key; 0 when the session is not persistent
    bool retain_flag = false;    // RETAIN bit to deliver with
};

/// A FIFO that allocates nothing until used: libstdc++'s std::deque allocates ~600 bytes on
/// construction, which is most of an idle connection's budget (BENCHMARKS.md: memory per idle
/// connection against mosquitto's ~0.7 kB).
template <class T>
class LazyQueue {
public:
    [[nodiscard]] bool empty() const { return !q_ || q_->empty(); }
    [[nodiscard]] std::size_t size() const { return q_ ? q_->size() : 0; }
    T& front() { return q_->front(); }
    void pop_front() {
        q_->pop_front();
        if (q_->empty()) {
            q_.reset();
        }
    }
    void push_back(T v) { deque().push_back(std::move(v)); }
    /// Puts `items` before everything queued, in their order.
    void prepend(std::vector<T>&& items) {
        auto& d = deque();
        d.insert(d.begin(), std::make_move_iterator(items.begin()), std::make_move_iterator(items.end()));
    }

private:
    std::deque<T>& deque() {
        if (!q_) {
            q_ = std::make_unique<std::deque<T>>();
        }
        return *q_;
    }
    std::unique_ptr<std::deque<T>> q_;
};

/// A std::map that allocates nothing until first inserted into: an empty std::map is 48 bytes
/// inline, this is one pointer, and an idle connection's session has no subscriptions and
/// nothing in flight (memory per idle connection is a benchmark target). Once allocated the
/// map stays until clear(), so a busy session does not allocate it per message.
template <class Map>
class LazyMap {
public:
    using iterator = typename Map::iterator;
    using const_iterator = typename Map::const_iterator;

    [[nodiscard]] bool empty() const { return !m_ || m_->empty(); }
    [[nodiscard]] std::size_t size() const { return m_ ? m_->size() : 0; }
    // Without a map, begin() == end(): value-initialized iterators compare equal.
    iterator begin() { return m_ ? m_->begin() : iterator{}; }
    iterator end() { return m_ ? m_->end() : iterator{}; }
    const_iterator begin() const { return m_ ? m_->cbegin() : const_iterator{}; }
    const_iterator end() const { return m_ ? m_->cend() : const_iterator{}; }
    template <class K>
    [[nodiscard]] bool contains(const K& key) const {
        return m_ && m_->contains(key);
    }
    template <class K>
    iterator find(const K& key) {
        return m_ ? m_->find(key) : iterator{};
    }
    void erase(iterator it) { m_->erase(it); }
    template <class K, class V>
    void insert_or_assign(K&& key, V&& value) {
        map().insert_or_assign(std::forward<K>(key), std::forward<V>(value));
    }
    template <class K, class V>
    void emplace(K&& key, V&& value) {
        map().emplace(std::forward<K>(key), std::forward<V>(value));
    }
    void clear() { m_.reset(); }

private:
    Map& map() {
        if (!m_) {
            m_ = std::make_unique<Map>();
        }
        return *m_;
    }
    std::unique_ptr<Map> m_;
};

/// An immutable string shared by a reference count: a client id is held by its session and by
/// the connection bound to it, in one allocation for both, and each holder is one pointer where
/// a std::string is 32 bytes (memory per idle connection is a benchmark target). The count is
/// not atomic: a broker runs on one thread.
class SharedText {
public:
    SharedText() = default;
    explicit SharedText(std::string_view text) {
        if (text.empty()) {
            return;
        }
        void* raw = ::operator new(sizeof(Rep) + text.size());
        rep_ = new (raw) Rep{1, static_cast<std::uint32_t>(text.size())};
        std::copy(text.begin(), text.end(), rep_->data());
    }
    SharedText(const SharedText& other) noexcept : rep_(other.rep_) {
        if (rep_ != nullptr) {
            ++rep_->refs;
        }
    }
    SharedText(SharedText&& other) noexcept : rep_(std::exchange(other.rep_, nullptr)) {}
    SharedText& operator=(SharedText other) noexcept {
        std::swap(rep_, other.rep_);
        return *this;
    }
    ~SharedText() {
        if (rep_ != nullptr && --rep_->refs == 0) {
            rep_->~Rep();
            ::operator delete(rep_);
        }
    }

    [[nodiscard]] std::string_view view() const noexcept {
        return rep_ != nullptr ? std::string_view(rep_->data(), rep_->size) : std::string_view{};
    }
    operator std::string_view() const noexcept { return view(); }  // NOLINT: a string's view
    [[nodiscard]] std::string str() const { return std::string(view()); }
    [[nodiscard]] bool empty() const noexcept { return rep_ == nullptr; }

private:
    struct Rep {
        std::uint32_t refs;
        std::uint32_t size;
        char* data() noexcept { return reinterpret_cast<char*>(this + 1); }
    };
    Rep* rep_ = nullptr;
};

/// A session's sessionIdentifier as a lowercase UUID's 16 bytes, its 36 characters written
/// when asked for: a std::string would cost its own 32 bytes and a 48-byte malloc chunk (memory
/// per idle connection is a benchmark target). Text of any other form (a store written by
/// something else) does not fit: assign() says so, and the broker keeps such text aside.
class SessionIdentifier {
public:
    /// Takes `text` if it is a lowercase UUID (not all zeros); otherwise holds none and returns
    /// false.
    bool assign(std::string_view text) {
        uuid_ = {};
        if (text.size() != uuid_chars) {
            return false;
        }
        std::array<std::uint8_t, 16> bytes{};
        std::size_t nibble = 0;
        for (std::size_t i = 0; i < text.size(); ++i) {
            const char ch = text[i];
            if (i == 8 || i == 13 || i == 18 || i == 23) {
                if (ch != '-') {
                    return false;
                }
                continue;
            }
            unsigned value = 0;
            if (ch >= '0' && ch <= '9') {
                value = static_cast<unsigned>(ch - '0');
            } else if (ch >= 'a' && ch <= 'f') {
                value = static_cast<unsigned>(ch - 'a' + 10);
            } else {
                return false;
            }
            bytes[nibble / 2] = static_cast<std::uint8_t>(bytes[nibble / 2] | (value << (nibble % 2 == 0 ? 4U : 0U)));
            ++nibble;
        }
        if (bytes == std::array<std::uint8_t, 16>{}) {
            return false;
        }
        uuid_ = bytes;
        return true;
    }
    [[nodiscard]] bool empty() const { return uuid_ == std::array<std::uint8_t, 16>{}; }
    /// The UUID's text, "" when it holds none.
    [[nodiscard]] std::string str() const {
        if (empty()) {
            return {};
        }
        static constexpr std::string_view digits = "0123456789abcdef";
        std::string text;
        text.reserve(uuid_chars);
        for (std::size_t i = 0; i < uuid_.size(); ++i) {
            if (i == 4 || i == 6 || i == 8 || i == 10) {
                text.push_back('-');
            }
            text.push_back(digits[uuid_[i] >> 4U]);
            text.push_back(digits[uuid_[i] & 0x0FU]);
        }
        return text;
    }

private:
    static constexpr std::size_t uuid_chars = 36;
    std::array<std::uint8_t, 16> uuid_{};
};

/// MQTT session state (MQTT 5 §4.1): outlives its connection when persistent.
struct Session {
    std::uint64_t serial = 0;  // timer key; never reused
    SharedText client_id;
    SessionIdentifier session_identifier;
    LazyMap<std::map<std::string, mqtt::SubscribeOptions, std::less<>>> subscriptions;
    LazyQueue<Owed> queue;
    LazyMap<std::map<std::uint16_t, Owed>> inflight;
    std::uint64_t next_sequence = 1;
    Connection* connection = nullptr;
    // While offline and persistent, when it expires; `never` otherwise (a sentinel, not a
    // std::optional: 8 bytes fewer per session, and memory per idle connection is a target).
    static constexpr Instant never{Duration::max()};
    Instant expires_at = never;
    // Routing scratch: which route() pass last touched this session, and where its entry is
    // (32 bits: a message has fewer target sessions than that, and the slot shares a word).
    std::uint64_t route_stamp = 0;
    std::uint32_t route_slot = 0;
    std::uint32_t expiry_interval_s = 0;  // 0: ends with its connection
    /// Nonzero for a service listener's pseudo-session (Broker::listen): deliveries to it become
    /// Dispatch effects. Such sessions live outside the session table and never connect.
    ListenerId listener;
    std::uint16_t next_packet_id = 1;
    mqtt::Version version = mqtt::Version::v311;

    [[nodiscard]] bool persistent() const { return expiry_interval_s > 0; }
};

enum class ConnectionState : std::uint8_t { awaiting_connect, connected };

// Members of Session and Connection are ordered largest first so that the small ones share
// words: one of each per idle connection (memory per idle connection is a benchmark target).
struct Connection {
    ConnectionId id;
    PeerIdentity peer;
    // Bytes of an incomplete packet; allocated only while there are some (most connections,
    // idle ones included, have none between reads: memory per idle connection is a target).
    std::unique_ptr<std::string> inbuf;
    SharedText client_id;  // the session's, once connected
    std::size_t unflushed_bytes = 0;  // handed to the host, not yet drained
    Session* session = nullptr;
    Instant last_activity;
    Instant accepted_at;
    /// What few connections have: a will, inbound topic aliases (MQTT 5). Behind one pointer,
    /// allocated on first use.
    struct Rare {
        std::unique_ptr<mqtt::Will> will;  // Will is ~600 bytes
        std::map<std::uint16_t, std::string> topic_aliases;
    };
    std::unique_ptr<Rare> rare;
    Rare& rare_part() {
        if (!rare) {
            rare = std::make_unique<Rare>();
        }
        return *rare;
    }
    std::uint64_t version_number = 0;  // lifecycle versionNumber of this connection
    std::uint32_t client_packet_bytes_max = 268'435'460;
    std::uint32_t outbox_slot = 0;  // 1 + its index in the broker's outboxes while it has output
    std::uint16_t client_receive_maximum = 65535;
    std::uint16_t keep_alive_s = 0;  // after AWS's clamp
    ConnectionState state = ConnectionState::awaiting_connect;
    mqtt::Version version = mqtt::Version::v311;
    bool problem_information = true;  // MQTT 5 Request Problem Information
    bool lifecycle = true;            // false when the client id contains '+' or '#'
};

}  // namespace iotsim::broker
