#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "iotsim/common/fold_hash.hpp"
#include "iotsim/mqtt/packet.hpp"

namespace iotsim::broker {

struct Session;

struct Subscriber {
    Session* session = nullptr;
    mqtt::SubscribeOptions options;
};

/// A shared-subscription group `$share/{name}/{filter}`: each matching message goes to one member.
struct SharedGroup {
    std::string name;
    std::vector<Subscriber> members;  // in join order
};

/// A topic level's hash, looked up at every level of every routed topic: the folded multiply
/// (one or two multiplies for a short level; std::hash walks it byte by byte).
struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return fold_hash::fold_bytes(0, s); }
};

/// Subscription index: a trie over topic levels, so that routing costs the depth of the topic
/// times the number of matching branches, never a scan of all subscriptions. Subscriber order
/// within a node is insertion order, which keeps delivery order deterministic.
class SubscriptionTrie {
public:
    SubscriptionTrie();
    ~SubscriptionTrie();

    /// Adds or replaces (same session, same filter) a subscription. Returns true when it is new.
    bool insert(std::string_view filter, Session* session, const mqtt::SubscribeOptions& options);
    bool erase(std::string_view filter, Session* session);
    bool insert_shared(std::string_view share_name, std::string_view filter, Session* session,
                       const mqtt::SubscribeOptions& options);
    bool erase_shared(std::string_view share_name, std::string_view filter, Session* session);

    /// Calls `on_subscriber(const Subscriber&)` for every non-shared subscription matching
    /// `topic` and `on_group(SharedGroup&)` for every matching shared group, with AWS's
    /// matching rules (see mqtt::topic_matches).
    template <class OnSubscriber, class OnGroup>
    void match(std::string_view topic, OnSubscriber&& on_subscriber, OnGroup&& on_group) const;

    [[nodiscard]] std::size_t size() const { return size_; }

private:
    struct Node {
        std::unordered_map<std::string, std::unique_ptr<Node>, StringHash, std::equal_to<>> children;
        std::unique_ptr<Node> plus;
        std::unique_ptr<Node> hash;
        std::vector<Subscriber> subscribers;
        std::vector<std::unique_ptr<SharedGroup>> groups;
        [[nodiscard]] bool empty() const {
            return children.empty() && !plus && !hash && subscribers.empty() && groups.empty();
        }
    };

    Node* find_or_create(std::string_view filter);
    bool erase_in(std::string_view filter, const std::function<bool(Node&)>& remove);

    template <class OnSubscriber, class OnGroup>
    static void collect(const Node& node, OnSubscriber& on_subscriber, OnGroup& on_group) {
        // A wide node (a fan-out) touches one session per subscriber: ask for them a few ahead.
        constexpr std::size_t ahead = 8;
        const std::size_t n = node.subscribers.size();
        for (std::size_t i = 0; i < n; ++i) {
            if (i + ahead < n) {
                __builtin_prefetch(node.subscribers[i + ahead].session);
            }
            on_subscriber(node.subscribers[i]);
        }
        for (const auto& g : node.groups) {
            on_group(*g);
        }
    }

    template <class OnSubscriber, class OnGroup>
    static void walk(const Node& node, std::string_view rest, bool at_end, bool first_level,
                     bool dollar, OnSubscriber& on_subscriber, OnGroup& on_group) {
        if (at_end) {
            collect(node, on_subscriber, on_group);
            return;
        }
        // At least one level remains, so '#' matches here (AWS: never the parent level itself).
        if (node.hash && !(first_level && dollar)) {
            collect(*node.hash, on_subscriber, on_group);
        }
        const std::size_t slash = rest.find('/');
        const std::string_view level = rest.substr(0, slash);
        const bool last = slash == std::string_view::npos;
        const std::string_view next = last ? std::string_view{} : rest.substr(slash + 1);
        if (node.plus && !(first_level && dollar)) {
            walk(*node.plus, next, last, false, dollar, on_subscriber, on_group);
        }
        if (!node.children.empty()) {
            if (auto it = node.children.find(level); it != node.children.end()) {
                walk(*it->second, next, last, false, dollar, on_subscriber, on_group);
            }
        }
    }

    std::unique_ptr<Node> root_;
    std::size_t size_ = 0;
};

template <class OnSubscriber, class OnGroup>
void SubscriptionTrie::match(std::string_view topic, OnSubscriber&& on_subscriber, OnGroup&& on_group) const {
    const bool dollar = !topic.empty() && topic.front() == '$';
    walk(*root_, topic, false, true, dollar, on_subscriber, on_group);
}

}  // namespace iotsim::broker
