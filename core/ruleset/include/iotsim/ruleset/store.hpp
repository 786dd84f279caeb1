#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace iotsim::ruleset {

/// A rule as persisted: its name, its TopicRulePayload as JSON text and its creation time.
struct StoredRule {
    std::string name;
    std::string payload_json;
    std::int64_t created_at_ms = 0;

    friend bool operator==(const StoredRule&, const StoredRule&) = default;
};

/// Where the rules engine keeps its rules (memory in the simulator and tests; the server may
/// inject a persistent one). Implementations may throw on environment failures only.
class RuleStore {
public:
    virtual ~RuleStore() = default;
    virtual void put(const StoredRule& rule) = 0;
    virtual void erase(std::string_view name) = 0;
    /// Every rule, ordered by name.
    [[nodiscard]] virtual std::vector<StoredRule> load_all() = 0;
};

/// The in-memory RuleStore; outlives an engine (a simulated restart keeps its "disk").
class MemoryRuleStore final : public RuleStore {
public:
    void put(const StoredRule& rule) override;
    void erase(std::string_view name) override;
    [[nodiscard]] std::vector<StoredRule> load_all() override;

private:
    std::map<std::string, StoredRule, std::less<>> rules_;
};

}  // namespace iotsim::ruleset
