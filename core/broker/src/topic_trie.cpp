#include "topic_trie.hpp"

#include <algorithm>

namespace iotsim::broker {

SubscriptionTrie::SubscriptionTrie() : root_(std::make_unique<Node>()) {}
SubscriptionTrie::~SubscriptionTrie() = default;

SubscriptionTrie::Node* SubscriptionTrie::find_or_create(std::string_view filter) {
    Node* node = root_.get();
    std::size_t start = 0;
    while (true) {
        const std::size_t slash = filter.find('/', start);
        const std::string_view level = filter.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        std::unique_ptr<Node>* slot = nullptr;
        if (level == "+") {
            slot = &node->plus;
        } else if (level == "#") {
            slot = &node->hash;
        } else {
            auto it = node->children.find(level);
            if (it == node->children.end()) {
                it = node->children.emplace(std::string(level), nullptr).first;
            }
            slot = &it->second;
        }
        if (!*slot) {
            *slot = std::make_unique<Node>();
        }
        node = slot->get();
        if (slash == std::string_view::npos) {
            return node;
        }
        start = slash + 1;
    }
}

bool SubscriptionTrie::erase_in(std::string_view filter, const std::function<bool(Node&)>& remove) {
    // Walk down remembering the path, remove, then prune empty nodes bottom-up.
    struct Step {
        Node* parent;
        std::string_view level;
    };
    std::vector<Step> path;
    Node* node = root_.get();
    std::size_t start = 0;
    while (true) {
        const std::size_t slash = filter.find('/', start);
        const std::string_view level = filter.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        Node* child = nullptr;
        if (level == "+") {
            child = node->plus.get();
        } else if (level == "#") {
            child = node->hash.get();
        } else if (auto it = node->children.find(level); it != node->children.end()) {
            child = it->second.get();
        }
        if (child == nullptr) {
            return false;
        }
        path.push_back({node, level});
        node = child;
        if (slash == std::string_view::npos) {
            break;
        }
        start = slash + 1;
    }
    if (!remove(*node)) {
        return false;
    }
    for (auto it = path.rbegin(); it != path.rend(); ++it) {
        Node* parent = it->parent;
        Node* child = nullptr;
        if (it->level == "+") {
            child = parent->plus.get();
        } else if (it->level == "#") {
            child = parent->hash.get();
        } else {
            child = parent->children.find(it->level)->second.get();
        }
        if (!child->empty()) {
            break;
        }
        if (it->level == "+") {
            parent->plus.reset();
        } else if (it->level == "#") {
            parent->hash.reset();
        } else {
            parent->children.erase(parent->children.find(it->level));
        }
    }
    return true;
}

bool SubscriptionTrie::insert(std::string_view filter, Session* session, const mqtt::SubscribeOptions& options) {
    Node* node = find_or_create(filter);
    for (auto& s : node->subscribers) {
        if (s.session == session) {
            s.options = options;
            return false;
        }
    }
    node->subscribers.push_back({session, options});
    ++size_;
    return true;
}

bool SubscriptionTrie::erase(std::string_view filter, Session* session) {
    const bool erased = erase_in(filter, [&](Node& node) {
        auto it = std::find_if(node.subscribers.begin(), node.subscribers.end(),
                               [&](const Subscriber& s) { return s.session == session; });
        if (it == node.subscribers.end()) {
            return false;
        }
        node.subscribers.erase(it);
        return true;
    });
    if (erased) {
        --size_;
    }
    return erased;
}

bool SubscriptionTrie::insert_shared(std::string_view share_name, std::string_view filter, Session* session,
                                     const mqtt::SubscribeOptions& options) {
    Node* node = find_or_create(filter);
    auto git = std::find_if(node->groups.begin(), node->groups.end(),
                            [&](const auto& g) { return g->name == share_name; });
    if (git == node->groups.end()) {
        node->groups.push_back(std::make_unique<SharedGroup>());
        node->groups.back()->name = std::string(share_name);
        git = node->groups.end() - 1;
    }
    for (auto& m : (*git)->members) {
        if (m.session == session) {
            m.options = options;
            return false;
        }
    }
    (*git)->members.push_back({session, options});
    ++size_;
    return true;
}

bool SubscriptionTrie::erase_shared(std::string_view share_name, std::string_view filter, Session* session) {
    const bool erased = erase_in(filter, [&](Node& node) {
        auto git = std::find_if(node.groups.begin(), node.groups.end(),
                                [&](const auto& g) { return g->name == share_name; });
        if (git == node.groups.end()) {
            return false;
        }
        auto& members = (*git)->members;
        auto it = std::find_if(members.begin(), members.end(),
                               [&](const Subscriber& s) { return s.session == session; });
        if (it == members.end()) {
            return false;
        }
        members.erase(it);
        if (members.empty()) {
            node.groups.erase(git);
        }
        return true;
    });
    if (erased) {
        --size_;
    }
    return erased;
}

}  // namespace iotsim::broker
