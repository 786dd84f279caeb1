#include "iotsim/shadow/store.hpp"

namespace iotsim::shadow {

void MemoryShadowStore::put(const ShadowRecord& record) {
    records_.insert_or_assign(record.key, record);
    ++writes_;
}

void MemoryShadowStore::erase(const ShadowKey& key) {
    records_.erase(key);
    ++writes_;
}

std::vector<ShadowRecord> MemoryShadowStore::load() {
    std::vector<ShadowRecord> records;
    records.reserve(records_.size());
    for (const auto& [key, record] : records_) {
        records.push_back(record);
    }
    return records;
}

const ShadowRecord* MemoryShadowStore::find(const ShadowKey& key) const {
    const auto it = records_.find(key);
    return it == records_.end() ? nullptr : &it->second;
}

}  // namespace iotsim::shadow
