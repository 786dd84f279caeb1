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
    for (CodecEvent& e : codec_.receive(bytes)) {
        held_.push_back(std::move(e));
    }
    if (!pending_) {
        process(held_, now, out, caller_, /*may_resume_codec=*/true);
    }
    return out;
}

ConnectionOutput HttpConnection::resume(std::shared_ptr<const void> decision, Now now) {
    ConnectionOutput out;
    if (!pending_) {
        return out;
    }
    const Request request = std::move(*pending_);
    pending_.reset();
    std::deque<CodecEvent> first;
    first.emplace_back(request);
    Caller decided = caller_;
    decided.custom = std::move(decision);
    // The decision covers this one request: the codec is not resumed meanwhile (what it holds
    // behind an Upgrade request belongs to the requests still in held_, in order).
    process(first, now, out, decided, /*may_resume_codec=*/false);
    if (!pending_ && !closed_) {
        if (held_.empty() && codec_.paused()) {
            for (CodecEvent& e : codec_.resume()) {
                held_.push_back(std::move(e));
            }
        }
        process(held_, now, out, caller_, /*may_resume_codec=*/true);
    }
    return out;
}

void HttpConnection::process(std::deque<CodecEvent>& events, Now now, ConnectionOutput& out, const Caller& caller,
                             bool may_resume_codec) {
    EncodeOptions encode;
    if (date_header_) {
        encode.date = now.wall;
    }
    while (!events.empty()) {
        CodecEvent event = std::move(events.front());
        events.pop_front();
        if (auto* request = std::get_if<Request>(&event)) {
            const Response response = router_.handle(*request, now, caller);
            if (response.custom_auth_pending) {
                out.custom_auth_request = *request;
                pending_ = std::move(*request);
                return;
            }
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
            if (may_resume_codec && events.empty() && codec_.paused()) {  // the Upgrade was not taken: HTTP goes on
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
}

}  // namespace iotsim::http
