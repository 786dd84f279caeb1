#include "iotsim/http/connection.hpp"

#include <deque>
#include <variant>

namespace iotsim::http {

HttpConnection::HttpConnection(Router& router, HttpConnectionOptions options)
    : codec_(options.limits), router_(router), date_header_(options.date_header) {}

ConnectionOutput HttpConnection::receive(std::string_view bytes, Now now) {
    ConnectionOutput out;
    if (done()) {
        out.close = true;
        return out;
    }
    EncodeOptions encode;
    if (date_header_) {
        encode.date = now.wall;
    }
    std::deque<CodecEvent> events;
    for (CodecEvent& e : codec_.receive(bytes)) {
        events.push_back(std::move(e));
    }
    while (!events.empty()) {
        CodecEvent event = std::move(events.front());
        events.pop_front();
        if (auto* request = std::get_if<Request>(&event)) {
            const Response response = router_.handle(*request, now, caller_);
            if (response.upgrade) {
                out.bytes += encode_response(response, false, encode);
                out.upgrade = true;
                out.principal = response.principal;
                out.custom_auth = response.custom_auth;
                out.upgrade_headers = response.upgrade_headers;
                out.upgrade_query = response.upgrade_query;
                out.leftover = codec_.take_held();
                closed_ = true;
                break;
            }
            const bool close = !request->keep_alive || response.close;
            encode.head = request->method == "HEAD";
            out.bytes += encode_response(response, close, encode);
            encode.head = false;
            if (close) {
                // The codec stops after a request without keep-alive; nothing follows it.
                out.close = true;
                closed_ = true;
                break;
            }
            if (events.empty() && codec_.paused()) {  // the Upgrade request was not taken: HTTP goes on
                for (CodecEvent& e : codec_.resume()) {
                    events.push_back(std::move(e));
                }
            }
        } else if (auto* interim = std::get_if<Interim>(&event)) {
            out.bytes += interim->bytes;
        } else {
            const std::string request_id = router_.next_request_id();
            Response response = error_response(std::get<Malformed>(event).error, request_id);
            response.headers.push_back({"x-amzn-RequestId", request_id});
            out.bytes += encode_response(response, true, encode);
            out.close = true;
            closed_ = true;
            break;
        }
    }
    return out;
}

}  // namespace iotsim::http
