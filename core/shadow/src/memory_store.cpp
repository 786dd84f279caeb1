#include "iotsim/shadow/store.hpp"

#include "iotsim/common/assert.hpp"
#include "iotsim/shadow/document.hpp"

namespace iotsim::shadow {

void MemoryShadowStore::put(const ShadowRecord& record) {
    put_serialized(record, to_payload(record.state), to_payload(record.metadata));
}

void MemoryShadowStore::put_serialized(const ShadowRecord& record, std::string_view state_json,
                                       std::string_view metadata_json) {
    Stored& stored = records_[record.key];
    // assign() reuses the strings' buffers: the text of a shadow changes little between puts.
    stored.state_json.assign(state_json);
    stored.metadata_json.assign(metadata_json);
    stored.version = record.version;
    stored.updated_at = record.updated_at;
    stored.deleted = record.deleted;
    stored.decoded_fresh = false;
    ++writes_;
}

void MemoryShadowStore::erase(const ShadowKey& key) {
    records_.erase(key);
    ++writes_;
}

ShadowRecord MemoryShadowStore::decode(const ShadowKey& key, const Stored& stored) {
    ShadowRecord record;
    record.key = key;
    record.state = nlohmann::json::parse(stored.state_json, nullptr, /*allow_exceptions=*/false);
    record.metadata =
        nlohmann::json::parse(stored.metadata_json, nullptr, /*allow_exceptions=*/false);
    // The text is to_payload's output of a document: it parses.
    IOTSIM_ASSERT(!record.state.is_discarded() && !record.metadata.is_discarded());
    record.version = stored.version;
    record.updated_at = stored.updated_at;
    record.deleted = stored.deleted;
    return record;
}

std::vector<ShadowRecord> MemoryShadowStore::load() {
    std::vector<ShadowRecord> records;
    records.reserve(records_.size());
    for (const auto& [key, stored] : records_) {
        records.push_back(decode(key, stored));
    }
    return records;
}

const ShadowRecord* MemoryShadowStore::find(const ShadowKey& key) const {
    const auto it = records_.find(key);
    if (it == records_.end()) {
        return nullptr;
    }
    const Stored& stored = it->second;
    if (!stored.decoded_fresh) {
        stored.decoded = decode(key, stored);
        stored.decoded_fresh = true;
    }
    return &stored.decoded;
}

}  // namespace iotsim::shadow
