#include "iotsim/sim/shadow_device.hpp"

#include <cstdint>
#include <map>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "iotsim/shadow/key.hpp"
#include "iotsim/shadow/topics.hpp"

namespace iotsim::sim {

namespace {

using nlohmann::json;

class ShadowSync final : public DeviceHooks {
public:
    explicit ShadowSync(ShadowSyncOptions options) : options_(std::move(options)) {
        initial_ = json::parse(options_.reported, nullptr, false);
        if (!initial_.is_object()) {
            throw std::invalid_argument("shadow: reported must be a JSON object");
        }
        if (!options_.thing.empty() && !shadow::is_valid_thing_name(options_.thing)) {
            throw std::invalid_argument("shadow: invalid thing name '" + options_.thing + "'");
        }
        if (!options_.shadow_name.empty() && !shadow::is_valid_shadow_name(options_.shadow_name)) {
            throw std::invalid_argument("shadow: invalid shadow name '" + options_.shadow_name + "'");
        }
    }

    void on_start(DeviceContext& ctx) override {
        State& s = devices_[ctx.name()];
        s.actual = initial_;  // volatile: a reboot starts from the power-on state
        s.applied_version = 0;
    }

    void on_connected(DeviceContext& ctx, bool /*session_present*/) override {
        const std::string prefix = prefix_of(ctx);
        ctx.subscribe(prefix + "/update/delta", 1);
        ctx.subscribe(prefix + "/get/accepted", 1);
        report(ctx, devices_[ctx.name()].actual);
        ctx.publish(prefix + "/get", json{{"clientToken", ctx.name()}}.dump(), 1, false);
    }

    void on_message(DeviceContext& ctx, const std::string& topic, const std::string& payload) override {
        const std::string prefix = prefix_of(ctx);
        const json doc = json::parse(payload, nullptr, false);
        if (!doc.is_object()) {
            return;
        }
        const json* delta = nullptr;
        if (topic == prefix + "/update/delta") {
            delta = find(doc, "state");
        } else if (topic == prefix + "/get/accepted") {
            if (const json* state = find(doc, "state")) {
                delta = find(*state, "delta");
            }
        }
        if (delta == nullptr || !delta->is_object()) {
            return;
        }
        State& s = devices_[ctx.name()];
        const std::int64_t version = doc.contains("version") && doc["version"].is_number_integer()
                                         ? doc["version"].get<std::int64_t>()
                                         : 0;
        if (version != 0 && version <= s.applied_version) {
            return;  // stale or repeated
        }
        s.applied_version = version;
        s.actual.merge_patch(*delta);
        report(ctx, *delta);
    }

private:
    struct State {
        json actual = json::object();
        std::int64_t applied_version = 0;
    };

    static const json* find(const json& j, const char* key) {
        auto it = j.find(key);
        return it == j.end() ? nullptr : &*it;
    }

    std::string prefix_of(const DeviceContext& ctx) const {
        shadow::ShadowKey key{options_.thing.empty() ? ctx.name() : options_.thing, options_.shadow_name};
        return shadow::shadow_topic_prefix(key);
    }

    void report(DeviceContext& ctx, const json& reported) {
        if (reported.empty()) {
            return;
        }
        ctx.publish(prefix_of(ctx) + "/update", json{{"state", {{"reported", reported}}}}.dump(), 1, false);
    }

    ShadowSyncOptions options_;
    json initial_;
    std::map<std::string, State, std::less<>> devices_;
};

}  // namespace

std::shared_ptr<DeviceHooks> make_shadow_sync(ShadowSyncOptions options) {
    return std::make_shared<ShadowSync>(std::move(options));
}

}  // namespace iotsim::sim
