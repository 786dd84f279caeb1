#include <stdexcept>

#include "iotsim/registry/store.hpp"

namespace iotsim::registry {

namespace {

using Texts = std::map<std::string, std::string, std::less<>>;

template <class Record>
void put_text(Texts& texts, const std::string& key, const Record& record) {
    texts[key] = nlohmann::json(record).dump();
}

void erase_text(Texts& texts, std::string_view key) {
    if (const auto it = texts.find(key); it != texts.end()) {
        texts.erase(it);
    }
}

template <class Record>
std::vector<Record> load_texts(const Texts& texts) {
    std::vector<Record> records;
    records.reserve(texts.size());
    for (const auto& [key, text] : texts) {
        records.push_back(nlohmann::json::parse(text).template get<Record>());
    }
    return records;
}

}  // namespace

void MemoryRegistryStore::write() {
    if (fail_writes_) {
        throw std::runtime_error("registry store: write failed (test fault)");
    }
    ++writes_;
}

void MemoryRegistryStore::put_thing(const ThingRecord& r) {
    write();
    put_text(things_, r.name, r);
}
void MemoryRegistryStore::erase_thing(std::string_view name) {
    write();
    erase_text(things_, name);
}
void MemoryRegistryStore::put_thing_type(const ThingTypeRecord& r) {
    write();
    put_text(thing_types_, r.name, r);
}
void MemoryRegistryStore::erase_thing_type(std::string_view name) {
    write();
    erase_text(thing_types_, name);
}
void MemoryRegistryStore::put_thing_group(const ThingGroupRecord& r) {
    write();
    put_text(thing_groups_, r.name, r);
}
void MemoryRegistryStore::erase_thing_group(std::string_view name) {
    write();
    erase_text(thing_groups_, name);
}
void MemoryRegistryStore::put_certificate(const CertificateRecord& r) {
    write();
    put_text(certificates_, r.id, r);
}
void MemoryRegistryStore::erase_certificate(std::string_view id) {
    write();
    erase_text(certificates_, id);
}
void MemoryRegistryStore::put_ca_certificate(const CaCertificateRecord& r) {
    write();
    put_text(ca_certificates_, r.id, r);
}
void MemoryRegistryStore::erase_ca_certificate(std::string_view id) {
    write();
    erase_text(ca_certificates_, id);
}
void MemoryRegistryStore::put_policy(const PolicyRecord& r) {
    write();
    put_text(policies_, r.name, r);
}
void MemoryRegistryStore::erase_policy(std::string_view name) {
    write();
    erase_text(policies_, name);
}
void MemoryRegistryStore::put_authorizer(const AuthorizerRecord& r) {
    write();
    put_text(authorizers_, r.name, r);
}
void MemoryRegistryStore::erase_authorizer(std::string_view name) {
    write();
    erase_text(authorizers_, name);
}
void MemoryRegistryStore::put_settings(const RegistrySettings& settings) {
    write();
    settings_ = nlohmann::json(settings).dump();
}

RegistrySnapshot MemoryRegistryStore::load() {
    RegistrySnapshot snapshot;
    snapshot.things = load_texts<ThingRecord>(things_);
    snapshot.thing_types = load_texts<ThingTypeRecord>(thing_types_);
    snapshot.thing_groups = load_texts<ThingGroupRecord>(thing_groups_);
    snapshot.certificates = load_texts<CertificateRecord>(certificates_);
    snapshot.ca_certificates = load_texts<CaCertificateRecord>(ca_certificates_);
    snapshot.policies = load_texts<PolicyRecord>(policies_);
    snapshot.authorizers = load_texts<AuthorizerRecord>(authorizers_);
    if (settings_) {
        snapshot.settings = nlohmann::json::parse(*settings_).get<RegistrySettings>();
    }
    return snapshot;
}

std::size_t MemoryRegistryStore::size() const {
    return things_.size() + thing_types_.size() + thing_groups_.size() + certificates_.size() +
           ca_certificates_.size() + policies_.size() + authorizers_.size() + (settings_ ? 1 : 0);
}

}  // namespace iotsim::registry
