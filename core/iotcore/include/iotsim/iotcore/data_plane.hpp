#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "iotsim/http/data_plane.hpp"
#include "iotsim/iotcore/iotcore.hpp"

namespace iotsim::iotcore {

/// The iot-data REST API's view of an IotCore (http::DataPlane): shadow calls and Publish go to
/// the core, and the effects they cause (the notifications published to MQTT subscribers) are
/// collected for the host, which carries them out after each HTTP input (take_effects()).
///
/// ListRetainedMessages pages through the retained topics in byte order; its nextToken is the
/// hex of the first topic of the next page, so a page boundary survives retained messages being
/// added or removed between calls.
///
/// Thread safety: none; the host thread that drives the IotCore.
class IotCoreDataPlane final : public http::DataPlane {
public:
    explicit IotCoreDataPlane(IotCore& core) : core_(core) {}

    [[nodiscard]] shadow::ShadowResponse shadow_get(const shadow::ShadowKey& key, std::string_view body,
                                                    Now now) override;
    [[nodiscard]] shadow::ShadowResponse shadow_update(const shadow::ShadowKey& key, std::string_view body,
                                                       Now now) override;
    [[nodiscard]] shadow::ShadowResponse shadow_delete(const shadow::ShadowKey& key, std::string_view body,
                                                       Now now) override;
    [[nodiscard]] shadow::ShadowListResponse list_named_shadows(std::string_view thing_name,
                                                                std::string_view next_token,
                                                                std::optional<int> page_size, Now now) override;
    [[nodiscard]] Result<std::monostate, http::ApiError> publish(broker::Message message, Now now) override;
    [[nodiscard]] Result<http::RetainedPage, http::ApiError> list_retained(std::string_view next_token,
                                                                         int max_results, Now now) override;
    [[nodiscard]] std::optional<broker::RetainedMessage> get_retained(std::string_view topic, Now now) override;

    /// The effects caused since the last call, in order.
    [[nodiscard]] broker::Effects take_effects();

private:
    shadow::ShadowResponse take(ShadowResult result);

    std::reference_wrapper<IotCore> core_;
    broker::Effects effects_;
};

}  // namespace iotsim::iotcore
