// libFuzzer target for custom authentication (reference §5.4), the untrusted inputs a device or a
// local function controls. The first byte picks the path:
//   0: the rest is an authorizer function's answer -> parse_authorizer_response (AWS's response
//      format, policy documents compiled) and, when it is a grant, PolicyAuthorizer evaluates it;
//   1: the rest is an MQTT byte stream -> peek_connect (the host reads the CONNECT's credentials);
//   2: the rest is split on NUL into an MQTT username, an HTTP header value and a query string
//      -> prepare_invocation against a registry with a signed and a default authorizer.
// Checks that nothing crashes (ASan, UBSan) and a few invariants: a grant that authenticates has
// a valid principal id and time limits in AWS's range; a refusal has a reason; a prepared event
// names the authorizer that verified the token.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "iotsim/auth/custom_auth.hpp"
#include "iotsim/auth/policy_authorizer.hpp"
#include "iotsim/common/rng.hpp"
#include "iotsim/registry/store.hpp"

using namespace iotsim;

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fuzz_custom_auth: %s\n", what);
    std::abort();
}

std::string rsa_public_pem() {
    EVP_PKEY* key = EVP_RSA_gen(2048);
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, key);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    EVP_PKEY_free(key);
    return out;
}

struct World {
    registry::MemoryRegistryStore store;
    Rng rng{1};
    registry::Registry reg{store, rng};
    registry::AuthorizerRecord open;

    World() {
        reg.recover();
        const Now now{Instant{}, WallTime{}};
        registry::AuthorizerInput signed_input;
        signed_input.name = "signed";
        signed_input.function_arn = "arn:aws:lambda:us-east-1:123456789012:function:f";
        signed_input.token_key_name = "Token";
        signed_input.token_signing_public_keys = std::map<std::string, std::string>{{"k", rsa_public_pem()}};
        reg.create_authorizer(signed_input, now);
        registry::AuthorizerInput open_input;
        open_input.name = "open";
        open_input.function_arn = "arn:aws:lambda:us-east-1:123456789012:function:g";
        open_input.signing_disabled = true;
        open = reg.create_authorizer(open_input, now);
        reg.set_default_authorizer("open", now);
    }
};

World& world() {
    static World w;
    return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    World& w = world();
    switch (data[0] % 3) {
        case 0: {
            const policy::ArnScope scope{.region = "us-east-1", .account = "123456789012"};
            auto parsed = auth::parse_authorizer_response(input, w.open, scope, 1);
            if (!parsed) {
                if (parsed.error().empty()) {
                    fail("an invalid answer without a reason");
                }
                break;
            }
            const auto& grant = parsed.value();
            if (grant->authenticated) {
                if (grant->principal_id.empty() || grant->principal_id.size() > 128 ||
                    grant->disconnect_after_s < 300 || grant->disconnect_after_s > 86400 ||
                    grant->refresh_after_s < 300 || grant->refresh_after_s > 86400 || grant->policies.size() > 10) {
                    fail("a grant outside AWS's response format");
                }
            }
            auth::PolicyAuthorizer authorizer{w.reg};
            broker::PeerIdentity peer;
            peer.transport = broker::Transport::tls;
            peer.address = "192.0.2.1";
            peer.custom = grant;
            mqtt::Connect connect;
            connect.client_id = "dev1";
            const auto decision = authorizer.authorize_connect(peer, connect);
            if (!grant->authenticated && decision != broker::ConnectDecision::bad_credentials) {
                fail("a refused grant connected");
            }
            (void)authorizer.authorize_publish(broker::ClientContext{peer, "dev1"}, "a/b", true);
            (void)authorizer.authorize_subscribe(broker::ClientContext{peer, "dev1"}, "a/#");
            break;
        }
        case 1: {
            const auto peek = auth::peek_connect(input, 1U << 20);
            if (peek.status == auth::ConnectPeek::Status::connect && !peek.connect) {
                fail("a CONNECT without its packet");
            }
            break;
        }
        default: {
            std::vector<std::string> parts(3);
            std::size_t i = 0;
            for (const char c : input) {
                if (c == '\0' && i < 2) {
                    ++i;
                } else {
                    parts[i].push_back(c);
                }
            }
            auth::CustomAuthRequest request;
            request.mqtt = auth::MqttCredentials{parts[0], std::string("pw"), "dev1"};
            request.http = true;
            request.headers = {{"Token", parts[1]}, {"x-amz-customauthorizer-signature", parts[1]}};
            request.query = parts[2];
            const auto prepared = auth::prepare_invocation(w.reg, request, "conn");
            if (prepared.ok()) {
                const auto& event = prepared.value().event;
                if (prepared.value().authorizer.name == "signed" && event.value("signatureVerified", false) != true) {
                    fail("a signed authorizer's event without a verified signature");
                }
                (void)event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
            } else if (prepared.error().reason.empty()) {
                fail("a refusal without a reason");
            }
            break;
        }
    }
    return 0;
}
