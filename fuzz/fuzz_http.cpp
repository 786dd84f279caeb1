// libFuzzer target for the HTTP server side: the input is the byte stream of one connection
// (requests as botocore, the AWS CLI or curl send them; see corpus/http). It runs through
// HttpConnection (ServerCodec + Router) on a data plane made of a real ShadowService and an
// in-memory retained-message map, twice: once in one read, once cut into short reads whose sizes
// come from the input itself. Both runs must write the same bytes and agree on closing (framing
// must not depend on how TCP splits the stream); any difference aborts so libFuzzer keeps the
// input. ASan and UBSan catch memory errors; an exception escaping would abort too.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "iotsim/common/rng.hpp"
#include "iotsim/http/connection.hpp"
#include "iotsim/http/data_plane.hpp"
#include "iotsim/http/router.hpp"
#include "iotsim/http/websocket.hpp"
#include "iotsim/shadow/service.hpp"
#include "iotsim/shadow/store.hpp"

namespace {

using namespace iotsim;
using namespace iotsim::http;

class FuzzDataPlane final : public DataPlane {
public:
    FuzzDataPlane() : shadows_(store_) {}

    shadow::ShadowResponse shadow_get(const shadow::ShadowKey& key, std::string_view body, Now now) override {
        return shadows_.get(key, body, now.wall, shadow::RequestOrigin::rest);
    }
    shadow::ShadowResponse shadow_update(const shadow::ShadowKey& key, std::string_view body, Now now) override {
        return shadows_.update(key, body, now.wall, shadow::RequestOrigin::rest);
    }
    shadow::ShadowResponse shadow_delete(const shadow::ShadowKey& key, std::string_view body, Now now) override {
        return shadows_.delete_shadow(key, body, now.wall, shadow::RequestOrigin::rest);
    }
    shadow::ShadowListResponse list_named_shadows(std::string_view thing_name, std::string_view next_token,
                                                  std::optional<int> page_size, Now now) override {
        return shadows_.list_named_shadows(thing_name, next_token, page_size, now.wall);
    }
    Result<std::monostate, ApiError> publish(broker::Message message, Now now) override {
        if (message.retain) {
            if (message.payload.empty()) {
                retained_.erase(message.topic);
            } else {
                const std::string topic = message.topic;
                retained_[topic] = broker::RetainedMessage{
                    std::make_shared<const broker::Message>(std::move(message)), now.wall};
            }
        }
        return std::monostate{};
    }
    Result<RetainedPage, ApiError> list_retained(std::string_view next_token, int max_results,
                                                 Now /*now*/) override {
        RetainedPage page;
        auto it = next_token.empty() ? retained_.begin() : retained_.upper_bound(std::string(next_token));
        for (; it != retained_.end(); ++it) {
            if (page.messages.size() == static_cast<std::size_t>(max_results)) {
                page.next_token = page.messages.back().message->topic;
                break;
            }
            page.messages.push_back(it->second);
        }
        return page;
    }
    std::optional<broker::RetainedMessage> get_retained(std::string_view topic, Now /*now*/) override {
        const auto it = retained_.find(std::string(topic));
        if (it == retained_.end()) {
            return std::nullopt;
        }
        return it->second;
    }

private:
    shadow::MemoryShadowStore store_;
    shadow::ShadowService shadows_;
    std::map<std::string, broker::RetainedMessage> retained_;
};

struct Run {
    std::string bytes;    // what the connection writes: HTTP responses, then WebSocket replies
    std::string ws_data;  // the application bytes of WebSocket binary messages
    bool closed = false;
};

/// Feeds `input` to a fresh connection in reads of the sizes `next_size` returns.
/// With `signed_requests`, the Router checks SigV4 against one key (inputs with an odd last
/// byte), so the verifier sees fuzzed Authorization headers too.
template <class NextSize>
Run run(std::string_view input, bool signed_requests, NextSize next_size) {
    FuzzDataPlane plane;
    Rng rng(7);
    RouterOptions options;
    if (signed_requests) {
        options.sigv4.secrets = {{"AKIDEXAMPLE", "secret"}};
    }
    Router router(plane, rng, options);
    HttpConnection connection(router);
    // After a 101 (GET /mqtt), the rest is WebSocket frames, as the network host hands them on.
    std::optional<ws::ServerFramer> framer;
    const auto frames = [&](std::string_view bytes, Run& result) {
        ws::FramerOutput f = framer->receive(bytes);
        result.ws_data += f.data;
        result.bytes += f.reply;
        result.closed = f.close;
    };
    const Now now{Instant{seconds(100)}, WallTime{seconds(1'767'225'600)}};
    Run result;
    while (!input.empty() && !result.closed) {
        const std::size_t n = std::min(next_size(), input.size());
        const std::string_view chunk = input.substr(0, n);
        input.remove_prefix(n);
        if (framer) {
            frames(chunk, result);
            continue;
        }
        ConnectionOutput out = connection.receive(chunk, now);
        result.bytes += out.bytes;
        result.closed = out.close;
        if (out.upgrade) {
            framer.emplace(4096);
            if (!out.leftover.empty()) {
                frames(out.leftover, result);
            }
        }
    }
    return result;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const bool signed_requests = size > 0 && (data[size - 1] & 1U) != 0;
    const Run whole = run(input, signed_requests, [size] { return size; });
    std::size_t i = 0;
    const Run split = run(input, signed_requests, [&i, data, size] {
        // Read sizes 1..16 drawn from the input bytes, so the fuzzer explores cut points too.
        const std::size_t n = 1 + (size == 0 ? 0U : static_cast<std::size_t>(data[i % size] & 0x0FU));
        ++i;
        return n;
    });
    if (whole.bytes != split.bytes || whole.ws_data != split.ws_data || whole.closed != split.closed) {
        std::fprintf(stderr, "fuzz_http: output depends on how the input is split\n--- whole:\n%s\n--- split:\n%s\n",
                     whole.bytes.c_str(), split.bytes.c_str());
        std::abort();
    }
    if (!whole.bytes.empty() && !whole.bytes.starts_with("HTTP/1.1 ")) {
        std::fprintf(stderr, "fuzz_http: output is not an HTTP response\n");
        std::abort();
    }
    return 0;
}
