#include "iotsim/ruleset/store.hpp"

namespace iotsim::ruleset {

void MemoryRuleStore::put(const StoredRule& rule) { rules_.insert_or_assign(rule.name, rule); }

void MemoryRuleStore::erase(std::string_view name) {
    if (auto it = rules_.find(name); it != rules_.end()) {
        rules_.erase(it);
    }
}

std::vector<StoredRule> MemoryRuleStore::load_all() {
    std::vector<StoredRule> out;
    out.reserve(rules_.size());
    for (const auto& [name, rule] : rules_) {
        out.push_back(rule);
    }
    return out;
}

}  // namespace iotsim::ruleset
