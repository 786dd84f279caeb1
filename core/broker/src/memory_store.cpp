#include "iotsim/broker/store.hpp"

namespace iotsim::broker {

void MemoryStore::put_retained(const RetainedMessage& retained) {
    retained_.insert_or_assign(retained.message->topic, retained);
}

void MemoryStore::erase_retained(std::string_view topic) {
    if (auto it = retained_.find(topic); it != retained_.end()) {
        retained_.erase(it);
    }
}

void MemoryStore::put_session(const SessionRecord& session) { sessions_.insert_or_assign(session.client_id, session); }

void MemoryStore::erase_session(std::string_view client_id) {
    if (auto it = sessions_.find(client_id); it != sessions_.end()) {
        sessions_.erase(it);
    }
    const std::string id(client_id);
    queued_.erase(queued_.lower_bound({id, 0}), queued_.lower_bound({id, UINT64_MAX}));
    if (auto it = queued_.find({id, UINT64_MAX}); it != queued_.end()) {
        queued_.erase(it);
    }
}

void MemoryStore::put_queued(const QueuedRecord& queued) {
    queued_.insert_or_assign({queued.client_id, queued.sequence}, queued.message);
}

void MemoryStore::erase_queued(std::string_view client_id, std::uint64_t sequence) {
    queued_.erase({std::string(client_id), sequence});
}

StoreSnapshot MemoryStore::load() {
    StoreSnapshot snap;
    for (const auto& [topic, r] : retained_) {
        snap.retained.push_back(r);
    }
    for (const auto& [id, s] : sessions_) {
        snap.sessions.push_back(s);
    }
    for (const auto& [key, m] : queued_) {
        snap.queued.push_back({key.first, key.second, m});
    }
    return snap;
}

}  // namespace iotsim::broker
