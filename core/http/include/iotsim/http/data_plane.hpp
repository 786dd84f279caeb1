#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "iotsim/broker/message.hpp"
#include "iotsim/common/result.hpp"
#include "iotsim/common/time.hpp"
#include "iotsim/http/error.hpp"
#include "iotsim/shadow/key.hpp"
#include "iotsim/shadow/service.hpp"

namespace iotsim::http {

/// One page of ListRetainedMessages.
struct RetainedPage {
    /// In a stable order (iotsim: byte order of topics).
    std::vector<broker::RetainedMessage> messages;
    /// Token of the next page; "" on the last page.
    std::string next_token;
};

/// What the iot-data REST API needs from the rest of the service. The composition of broker and
/// shadow implements it; the Router never sees a Broker or a ShadowService. Implementations
/// publish the shadow notifications (ShadowResponse::notifications) and route publishes
/// themselves; the Router only turns their results into HTTP.
///
/// Every call is synchronous and carries the host's `now`. Requests reach the data plane only
/// after routing, authorization and parameter validation; names and topics are decoded (but a
/// thing or shadow name is not checked against AWS's pattern: the shadow service does that).
///
/// Thread safety: called from the thread that drives the Router.
class DataPlane {
public:
    virtual ~DataPlane() = default;

    /// GetThingShadow (`RequestOrigin::rest`). `body` is the request body (normally empty).
    [[nodiscard]] virtual shadow::ShadowResponse shadow_get(const shadow::ShadowKey& key,
                                                            std::string_view body, Now now) = 0;
    /// UpdateThingShadow: `body` is the request state document.
    [[nodiscard]] virtual shadow::ShadowResponse shadow_update(const shadow::ShadowKey& key,
                                                               std::string_view body, Now now) = 0;
    /// DeleteThingShadow.
    [[nodiscard]] virtual shadow::ShadowResponse shadow_delete(const shadow::ShadowKey& key,
                                                               std::string_view body, Now now) = 0;
    /// ListNamedShadowsForThing; `next_token` "" for the first page, `page_size` as sent.
    [[nodiscard]] virtual shadow::ShadowListResponse list_named_shadows(
        std::string_view thing_name, std::string_view next_token, std::optional<int> page_size,
        Now now) = 0;
    /// Publish: routes `message` as the broker routes a client's PUBLISH (retain honoured; an
    /// empty retained payload deletes the retained message). The Router has already checked the
    /// topic, QoS, payload size and properties. An error is sent to the client as is.
    [[nodiscard]] virtual Result<std::monostate, ApiError> publish(broker::Message message,
                                                                   Now now) = 0;
    /// ListRetainedMessages: up to `max_results` (1-200) messages after `next_token` ("" for the
    /// first page). An unknown token is the implementation's 400 (api_error(400, ...)).
    [[nodiscard]] virtual Result<RetainedPage, ApiError> list_retained(std::string_view next_token,
                                                                      int max_results,
                                                                      Now now) = 0;
    /// GetRetainedMessage: the retained message of `topic`, or nullopt (404).
    [[nodiscard]] virtual std::optional<broker::RetainedMessage> get_retained(
        std::string_view topic, Now now) = 0;
};

}  // namespace iotsim::http
