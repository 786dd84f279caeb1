// The network host. This file (with the rest of core/net) is the only code in iotsim that
// includes Boost.Asio or reads the system clocks: it turns sockets, TLS and timers into the
// broker's inputs and carries out the broker's effects.

#include "iotsim/net/server.hpp"

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/smart_ptr/intrusive_ptr.hpp>
#include <chrono>
#include <ctime>
#include <deque>
#include <fstream>
#include <iterator>
#include <iostream>
#include <map>
#include <unordered_map>
#include <optional>
#include <system_error>
#include <cerrno>
#include <cstring>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "iotsim/auth/custom_auth.hpp"
#include "iotsim/auth/policy_authorizer.hpp"
#include "iotsim/broker/broker.hpp"
#include "iotsim/http/base64.hpp"
#include "iotsim/http/connection.hpp"
#include "iotsim/http/router.hpp"
#include "iotsim/http/websocket.hpp"
#include "iotsim/iotcore/world.hpp"
#include "iotsim/iotcore/data_plane.hpp"
#include "iotsim/actions/action_runner.hpp"
#include "iotsim/ruleset/router.hpp"
#include "iotsim/iotcore/iotcore.hpp"
#include "iotsim/net/certificate_issuer.hpp"
#include "iotsim/net/credentials.hpp"
#include "iotsim/net/pki.hpp"
#include "iotsim/policy/action.hpp"
#include "iotsim/registry/control_plane_router.hpp"
#include "iotsim/registry/describe.hpp"
#include "iotsim/registry/error.hpp"
#include "iotsim/registry/registry.hpp"
#include "iotsim/storage/sqlite_registry_store.hpp"
#include "iotsim/storage/sqlite_rule_store.hpp"
#include "iotsim/storage/sqlite_shadow_store.hpp"
#include "iotsim/storage/sqlite_store.hpp"

namespace iotsim::net {
namespace {

/// The SHA-256 id of the certificate the peer presented in the TLS handshake (verified against
/// the root CA: the context requires it or checks it when offered), "" without one.
std::string peer_certificate_id(SSL* ssl) {
    std::string id;
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (cert != nullptr) {
        unsigned char* der = nullptr;
        const int n = i2d_X509(cert, &der);
        if (n > 0) {
            id = certificate_id_of_der(der, static_cast<std::size_t>(n));
            OPENSSL_free(der);
        }
        X509_free(cert);
    }
    return id;
}

/// The peer's certificate as PEM ("" without one): what just-in-time registration records.
std::string peer_certificate_pem(SSL* ssl) {
    std::string pem;
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (cert != nullptr) {
        BIO* bio = BIO_new(BIO_s_mem());
        if (bio != nullptr && PEM_write_bio_X509(bio, cert) == 1) {
            char* data = nullptr;
            const long n = BIO_get_mem_data(bio, &data);
            pem.assign(data, static_cast<std::size_t>(n));
        }
        BIO_free(bio);
        X509_free(cert);
    }
    return pem;
}

/// Client certificates are matched by their exact DER in the registry, not by CA chain
/// (reference §5.1): certificates registered with RegisterCertificate(WithoutCA) under the
/// customer's own CA, and unknown ones for just-in-time registration, must finish the handshake,
/// and the registry then decides at CONNECT. So a chain that does not lead to the local root is
/// accepted here; everything else OpenSSL checks still counts (expired or not yet valid, a bad
/// signature, the proof of possession of the key).
int accept_unknown_issuer(int preverified, X509_STORE_CTX* ctx) {
    if (preverified == 1) {
        return 1;
    }
    switch (X509_STORE_CTX_get_error(ctx)) {
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_CERT_UNTRUSTED:
            return 1;
        default:
            return 0;
    }
}

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
// Sockets, acceptors and timers bound to the io_context's own executor rather than Asio's default
// type-erased any_io_executor (48 bytes, copied into every pending operation): a socket is 48
// bytes instead of 80 and a pending wait 80 instead of 120 (memory per idle connection is a
// benchmark target, BENCHMARKS.md).
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, Executor>;

constexpr std::size_t read_chunk_bytes = 64 * 1024;  // the shared read buffer (plain TCP)
constexpr std::size_t tls_read_bytes = 16 * 1024;    // one TLS record
constexpr std::size_t gather_buffers_max = 64;
constexpr auto tls_handshake_timeout = std::chrono::seconds(10);
constexpr auto close_linger = std::chrono::seconds(5);
constexpr auto shutdown_grace = std::chrono::seconds(2);
constexpr auto http_idle_timeout = std::chrono::seconds(120);  // an idle keep-alive HTTP connection
constexpr auto upgrade_write_timeout = std::chrono::seconds(10);  // writing a 101 (and what precedes it)
constexpr std::size_t http_queue_bytes_max = 1U << 20;  // unwritten responses before reading pauses
constexpr std::size_t http_read_bytes = 16 * 1024;
// AWS's Lambda timeout for authorizer functions (reference §5.4).
constexpr auto authorizer_timeout = std::chrono::milliseconds(5000);
// Bytes beyond a largest CONNECT a connection may send while its authorizer function runs
// before reading pauses.
constexpr std::size_t custom_auth_held_slack = 64U * 1024;

/// Offers MQTT on AWS's port 443 to clients that ask for ALPN "mqtt" (custom authentication,
/// reference §1.2); "http/1.1" or no ALPN is HTTPS and MQTT over WebSocket.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                void*) {
    for (const std::string_view wanted : {std::string_view("mqtt"), std::string_view("http/1.1")}) {
        for (unsigned int i = 0; i < inlen;) {
            const unsigned int n = in[i];
            if (i + 1 + n > inlen) {
                break;
            }
            if (std::string_view(reinterpret_cast<const char*>(in + i + 1), n) == wanted) {
                *out = in + i + 1;
                *outlen = static_cast<unsigned char>(n);
                return SSL_TLSEXT_ERR_OK;
            }
            i += 1 + n;
        }
    }
    return SSL_TLSEXT_ERR_NOACK;
}

std::string negotiated_alpn(SSL* ssl) {
    const unsigned char* data = nullptr;
    unsigned int len = 0;
    SSL_get0_alpn_selected(ssl, &data, &len);
    return data == nullptr ? std::string{} : std::string(reinterpret_cast<const char*>(data), len);
}

std::string server_name_of(SSL* ssl) {
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    return name == nullptr ? std::string{} : std::string(name);
}

Now read_clocks() {
    return Now{Instant{std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now().time_since_epoch())},
               WallTime{std::chrono::duration_cast<Duration>(std::chrono::system_clock::now().time_since_epoch())}};
}

std::string utc_timestamp() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string_view transport_name(broker::Transport t) {
    switch (t) {
        case broker::Transport::tcp: return "mqtt";
        case broker::Transport::tls: return "mqtts";
        case broker::Transport::websocket: return "wss";
        case broker::Transport::simulated: return "sim";
    }
    return "?";
}

}  // namespace

struct Server::Impl {
    struct Conn;
    struct HttpConn;

    ServerOptions options;
    asio::io_context io{1};
    ssl::context tls{ssl::context::tls_server};
    ssl::context https_tls{ssl::context::tls_server};  // HTTPS: a client certificate is optional
    // AWS's port 443 without ALPN: HTTPS and MQTT over WebSocket authenticated by SigV4; no
    // client certificate is requested (the CRT's TLS client fails a request it cannot answer).
    ssl::context wss_tls{ssl::context::tls_server};
    std::unique_ptr<storage::SqliteStore> store;
    std::unique_ptr<storage::SqliteShadowStore> shadow_store;
    std::unique_ptr<storage::SqliteRegistryStore> registry_store;
    std::unique_ptr<storage::SqliteRuleStore> rule_store;  // topic rules; outlives `broker`
    std::uint64_t os_seed;
    Rng rng;
    Rng http_rng;
    Rng registry_rng;
    Rng control_plane_rng;
    // The registry (iot control plane) and the authorizer that reads it: X.509 connections are
    // checked against IoT policies; the plain port stays allow-all (a local convenience).
    std::unique_ptr<registry::Registry> registry;
    std::unique_ptr<LocalCertificateIssuer> issuer;
    std::unique_ptr<registry::ControlPlaneRouter> control_plane;
    std::unique_ptr<auth::PolicyAuthorizer> authorizer;
    std::unique_ptr<iotcore::IotCore> broker;  // the broker with its services
    std::unique_ptr<iotcore::IotCoreDataPlane> data_plane;
    std::unique_ptr<http::Router> router;
    Acceptor plain{io};
    Acceptor secure{io};
    Acceptor http_plain{io};
    Acceptor http_secure{io};
    Acceptor http_wss{io};
    std::map<std::uint64_t, std::shared_ptr<HttpConn>> http_conns;
    std::unique_ptr<ruleset::TopicRuleRouter> rules_router;  // CreateTopicRule & co. on the HTTP ports
    Rng rules_router_rng{0};

    /// Rule actions other than republish run here, off the broker's thread (a lambda may take
    /// seconds): requests go in from the IO thread; the messages they produce (errorAction
    /// republishes) are posted back to it.
    struct ActionWorker {
        Impl& srv;
        actions::FileActionRunner runner;
        std::mutex mutex;
        std::condition_variable wake;
        std::deque<ruleset::RuleActionRequest> queue;
        bool stop = false;
        std::thread thread;

        ActionWorker(Impl& s, const std::filesystem::path& data_dir)
            : srv(s),
              runner(data_dir, std::chrono::milliseconds(3000), std::chrono::milliseconds(3000),
                     [] { return read_clocks().wall; }) {
            runner.keep_records = false;  // the stand-ins are the record; memory stays flat
            thread = std::thread([this] { loop(); });
        }
        ~ActionWorker() {
            {
                std::lock_guard lock(mutex);
                stop = true;
            }
            wake.notify_all();
            thread.join();
        }
        void submit(std::vector<ruleset::RuleActionRequest> requests) {
            if (requests.empty()) {
                return;
            }
            {
                std::lock_guard lock(mutex);
                for (auto& r : requests) {
                    queue.push_back(std::move(r));
                }
            }
            wake.notify_one();
        }
        void loop() {
            while (true) {
                ruleset::RuleActionRequest request;
                {
                    std::unique_lock lock(mutex);
                    wake.wait(lock, [this] { return stop || !queue.empty(); });
                    if (stop) {
                        return;
                    }
                    request = std::move(queue.front());
                    queue.pop_front();
                }
                auto messages = runner.run(request);
                if (!messages.empty()) {
                    asio::post(srv.io, [this, messages = std::move(messages)]() mutable {
                        for (auto& m : messages) {
                            srv.apply(srv.broker->publish(std::move(m), read_clocks()));
                        }
                    });
                }
            }
        }
    };
    std::unique_ptr<ActionWorker> action_worker;

    /// Custom authorizers' functions (DATA_DIR/lambda/<name>, the local stand-in for Lambda) run
    /// here, off the IO thread, on a few threads (AWS runs Lambda invocations concurrently), each
    /// with its own runner files; each answer is posted back to the IO thread. A job whose
    /// connection has gone is skipped; beyond `queue_max` waiting jobs a request is refused.
    struct AuthorizerWorker {
        static constexpr std::size_t threads = 4;
        static constexpr std::size_t queue_max = 256;
        struct Job {
            std::string function_arn;
            std::string event;
            std::function<void(Result<std::string, rules::RuntimeError>)> done;  // on the IO thread
            std::shared_ptr<std::atomic<bool>> cancelled;  // set when the connection closes
        };
        Impl& srv;
        std::vector<std::unique_ptr<actions::FileActionRunner>> runners;
        std::mutex mutex;
        std::condition_variable wake;
        std::deque<Job> queue;
        bool stop = false;
        std::vector<std::thread> pool;

        AuthorizerWorker(Impl& s, const std::filesystem::path& data_dir) : srv(s) {
            for (std::size_t i = 0; i < threads; ++i) {
                auto runner = std::make_unique<actions::FileActionRunner>(data_dir, authorizer_timeout,
                                                                          authorizer_timeout,
                                                                          [] { return read_clocks().wall; });
                runner->keep_records = false;
                runner->invoke_tag = "authorizer-" + std::to_string(i);  // its own event and result files
                runners.push_back(std::move(runner));
            }
            for (std::size_t i = 0; i < threads; ++i) {
                pool.emplace_back([this, i] { loop(*runners[i]); });
            }
        }
        ~AuthorizerWorker() {
            {
                std::lock_guard lock(mutex);
                stop = true;
            }
            wake.notify_all();
            for (auto& t : pool) {
                t.join();
            }
        }
        /// False when too many jobs wait (the caller refuses the request).
        bool submit(Job job) {
            {
                std::lock_guard lock(mutex);
                if (queue.size() >= queue_max) {
                    return false;
                }
                queue.push_back(std::move(job));
            }
            wake.notify_one();
            return true;
        }
        void loop(actions::FileActionRunner& runner) {
            while (true) {
                Job job;
                {
                    std::unique_lock lock(mutex);
                    wake.wait(lock, [this] { return stop || !queue.empty(); });
                    if (stop) {
                        return;
                    }
                    job = std::move(queue.front());
                    queue.pop_front();
                }
                if (job.cancelled && job.cancelled->load()) {
                    // The connection closed while the job waited. `done` may hold its last
                    // reference: it is dropped on the IO thread, where connections live and die.
                    asio::post(srv.io, [done = std::move(job.done)] {});
                    continue;
                }
                auto result = runner.invoke(job.function_arn, job.event);
                asio::post(srv.io, [done = std::move(job.done), result = std::move(result)]() mutable {
                    done(std::move(result));
                });
            }
        }
    };
    std::unique_ptr<AuthorizerWorker> authorizer_worker;

    /// TestInvokeAuthorizer: the function runs on the IO thread (a test call, bounded by the
    /// 5 s timeout; MQTT connections never wait for it).
    struct TestInvoker final : registry::AuthorizerInvoker {
        Impl& srv;
        std::unique_ptr<actions::FileActionRunner> runner;
        explicit TestInvoker(Impl& s) : srv(s) {}

        nlohmann::json test_invoke(const registry::AuthorizerRecord& authorizer, const nlohmann::json& body,
                                   Now now) override {
            (void)now;
            using nlohmann::json;
            if (!runner) {
                runner = std::make_unique<actions::FileActionRunner>(srv.options.data_dir, authorizer_timeout,
                                                                     authorizer_timeout);
                runner->keep_records = false;
                runner->invoke_tag = "test-invoke";
            }
            const auto invalid = [](const std::string& message) {
                throw registry::RegistryError(registry::errors::make(registry::errors::invalid_request, message));
            };
            const auto text = [&](const json& object, const char* key) -> std::optional<std::string> {
                const auto it = object.find(key);
                if (it == object.end() || it->is_null()) {
                    return std::nullopt;
                }
                if (!it->is_string()) {
                    invalid(std::string("Invalid value for ") + key + ": must be a string");
                }
                return it->get<std::string>();
            };
            const auto object = [&](const char* key) -> const json* {
                const auto it = body.find(key);
                if (it == body.end() || it->is_null()) {
                    return nullptr;
                }
                if (!it->is_object()) {
                    invalid(std::string("Invalid value for ") + key + ": must be an object");
                }
                return &*it;
            };
            auth::CustomAuthRequest request;
            if (const json* http_context = object("httpContext")) {
                request.http = true;
                if (const auto h = http_context->find("headers"); h != http_context->end() && h->is_object()) {
                    for (const auto& [k, v] : h->items()) {
                        if (v.is_string()) {
                            request.headers.emplace_back(k, v.get<std::string>());
                        }
                    }
                }
                std::string query = text(*http_context, "queryString").value_or("");
                request.query = query.starts_with('?') ? query.substr(1) : query;
            }
            if (const json* mqtt_context = object("mqttContext")) {
                auth::MqttCredentials mqtt;
                mqtt.username = text(*mqtt_context, "username").value_or("");
                mqtt.client_id = text(*mqtt_context, "clientId").value_or("");
                if (const auto password = text(*mqtt_context, "password")) {
                    auto raw = http::base64_decode(*password);  // a blob: base64 in JSON
                    if (!raw) {
                        invalid("Invalid value for mqttContext.password: must be base64");
                    }
                    mqtt.password = std::move(*raw);
                }
                request.mqtt = std::move(mqtt);
            }
            if (const json* tls_context = object("tlsContext")) {
                request.tls = true;
                request.server_name = text(*tls_context, "serverName").value_or("");
            }
            auto prepared = auth::prepare_invocation(authorizer, text(body, "token"), text(body, "tokenSignature"),
                                                     request, srv.auth_rng.uuid4());
            if (!prepared) {
                invalid("Custom authorizer refused the request: " + prepared.error().reason);
            }
            const auto answer = runner->invoke(authorizer.function_arn, auth::event_text(prepared.value()));
            auto grant = srv.grant_from(authorizer, answer);
            if (!grant->authenticated && !grant->refusal.starts_with("the authorizer function answered")) {
                throw registry::RegistryError(
                    registry::errors::make(registry::errors::invalid_response, grant->refusal));
            }
            json out = json{{"isAuthenticated", grant->authenticated}, {"policyDocuments", grant->documents}};
            if (!grant->principal_id.empty()) {
                out["principalId"] = grant->principal_id;
            }
            if (grant->authenticated) {
                out["refreshAfterInSeconds"] = grant->refresh_after_s;
                out["disconnectAfterInSeconds"] = grant->disconnect_after_s;
            }
            return out;
        }
    };
    TestInvoker test_invoker{*this};
    Rng auth_rng{0};  // connectionMetadata.id of authorizer events
    std::uint64_t next_grant_serial = 1;

    /// A grant from the function's answer, or a refused one saying why.
    std::shared_ptr<const auth::CustomAuthGrant> grant_from(const registry::AuthorizerRecord& custom_authorizer,
                                                           const Result<std::string, rules::RuntimeError>& answer) {
        const std::uint64_t serial = next_grant_serial++;
        if (!answer) {
            return auth::refused_grant(custom_authorizer.name,
                                       "the authorizer function failed: " + answer.error().message, serial);
        }
        auto parsed =
            auth::parse_authorizer_response(answer.value(), custom_authorizer, registry->options().scope, serial);
        if (!parsed) {
            return auth::refused_grant(custom_authorizer.name, "invalid authorizer response: " + parsed.error(),
                                       serial);
        }
        return std::move(parsed).value();
    }
    // aws_lambda() in IoT SQL: the broker thread's own runner (the worker's is on its thread).
    std::unique_ptr<actions::FileActionRunner> sql_lambda;
    std::vector<std::string> startup_notes;  // logged once the server has started
    std::uint64_t next_http_connection = 1;
    Timer broker_timer{io};
    Timer shutdown_timer{io};
    asio::signal_set signals{io};
    // A hash table: its node is half a std::map's (memory per idle connection is a benchmark
    // target). Whoever iterates it sorts what it found by id.
    std::unordered_map<std::uint64_t, boost::intrusive_ptr<Conn>> conns;
    // Plain TCP connections read into this one buffer when they are readable, so an idle
    // connection holds no read buffer of its own (memory per idle connection is a target).
    std::array<char, read_chunk_bytes> shared_rbuf{};
    // Plain (not TLS) MQTT connections, WebSockets on the plain HTTP port included, are not Asio
    // sockets: each is a file descriptor in one edge-triggered epoll set of the host's own, whose
    // descriptor Asio watches. An Asio socket would cost every idle connection Asio's per-socket
    // reactor state (176 B) and a pending wait operation (96 B); mosquitto's ~0.7 kB per idle
    // connection is the benchmark's target (BENCHMARKS.md). An event names its connection by id,
    // so an event for a connection closed earlier in the same batch finds nothing.
    std::optional<asio::posix::basic_stream_descriptor<Executor>> ready_set;
    int ready_fd = -1;  // owned by ready_set
    std::array<epoll_event, 256> ready_events{};
    std::uint64_t next_connection = 1;
    bool stopping = false;

    /// The address a connection comes from, in binary (16 bytes where the text would take a
    /// 32-byte std::string; memory per idle connection is a benchmark target).
    struct PeerAddress {
        std::array<unsigned char, 16> bytes{};
        bool v6 = false;
        bool known = false;

        void set(const asio::ip::address& a) {
            known = true;
            v6 = a.is_v6();
            if (v6) {
                bytes = a.to_v6().to_bytes();
            } else {
                const auto v4 = a.to_v4().to_bytes();
                std::copy(v4.begin(), v4.end(), bytes.begin());
            }
        }
        [[nodiscard]] std::string text() const {
            if (!known) {
                return "unknown";
            }
            if (v6) {
                return asio::ip::address_v6(bytes).to_string();
            }
            return asio::ip::address_v4({bytes[0], bytes[1], bytes[2], bytes[3]}).to_string();
        }
    };

    struct Conn {
        // Memory per idle connection is a benchmark target (BENCHMARKS.md): what every plain TCP
        // connection uses is kept here and small; what only some connections need (TLS, a timer,
        // WebSocket framing, a custom authorizer) sits behind pointers, allocated when needed.
        Impl& srv;
        broker::ConnectionId id;
        // Where the peer connects from, for logs. The rest of its broker::PeerIdentity (principal,
        // certificate...) goes to Broker::accept (begin_mqtt), which keeps it; not kept here too.
        PeerAddress address;
        // References: handlers in flight and the server's table. Atomic because a custom
        // authorizer's job, which holds one, crosses to the authorizer's threads and back (it is
        // dropped on the IO thread, so the connection dies there too). An
        // intrusive count, where std::shared_ptr would add a control block and a weak pointer
        // (memory per idle connection is a benchmark target).
        std::atomic<std::uint32_t> refs{0};
        std::uint16_t port = 0;
        broker::Transport transport = broker::Transport::tcp;
        bool writing = false;         // TLS: an async write is in flight
        bool reading = false;         // TLS: an async read is in flight
        bool accepted = false;        // the broker knows this connection
        bool broker_closed = false;   // the broker asked to close (or was told it closed)
        bool socket_closed = false;
        // Plain connections (`fd`, in the server's epoll set; edge-triggered, so the flags remember
        // what the last edge said until a read or write finds otherwise).
        bool readable = false;        // bytes may be waiting: read until a short read or EAGAIN
        bool write_blocked = false;   // the last write found the socket full: wait for EPOLLOUT
        bool pump_posted = false;     // a read is posted
        bool flush_posted = false;    // a write's completion is posted
        // The peer closed (or the socket failed): the end of the stream is queued behind any
        // bytes, and no further edge will announce it, so reading goes on until recv says so.
        bool peer_closed = false;
        int fd = -1;                  // plain only; -1 with TLS (the stream holds the socket)
        // Bytes of wq.front() already written (plain only). A Send is one input's output, packets
        // of at most 149,504 bytes (AWS's 128 KB payload): far below 4 GB.
        std::uint32_t wq_offset = 0;
        std::size_t pending_bytes = 0;
        std::vector<std::string> wq;  // unwritten Sends, oldest first
        std::unique_ptr<ssl::stream<Socket>> tls;  // heap: most of a plain connection's size otherwise
        /// MQTT over WebSocket (GET /mqtt, adopted from an HTTP connection): the framing state,
        /// and per queued write how many of its bytes are MQTT (the broker's drained() counts
        /// those, not the frame headers; 0 for a pong or close frame).
        struct WebSocket {
            http::ws::ServerFramer framer;
            std::vector<std::size_t> mqtt_bytes;
            bool close_sent = false;
        };
        /// What TLS connections need besides the stream, WebSocket framing, and the timer only
        /// some connections arm: a plain connection allocates this only if it closes with writes
        /// still queued.
        struct Extras {
            std::unique_ptr<char[]> tls_rbuf;  // TLS only: an async read needs its own buffer
            std::string certificate_id;        // the client certificate's id, "" without one
            std::optional<Timer> timer;        // TLS handshake deadline, close linger
            std::unique_ptr<WebSocket> ws;
        };
        std::unique_ptr<Extras> extras_;
        [[nodiscard]] WebSocket* ws() const { return extras_ ? extras_->ws.get() : nullptr; }
        /// A connection a custom authorizer decides (ALPN "mqtt" on the port-443 stand-in, or an
        /// unsigned WebSocket): the bytes are held until the CONNECT is read and the function
        /// has answered, then go to the broker with the decision (Broker::set_credentials).
        struct CustomAuth {
            auth::CustomAuthRequest request;
            std::string held;
            bool gate = true;       // still holding bytes
            bool awaiting = false;  // the function is running
            std::optional<Timer> refresh;
            std::string connection_id;  // connectionMetadata.id: one per connection, refreshes too
            std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
        };
        std::unique_ptr<CustomAuth> custom;

        Conn(Impl& s, broker::ConnectionId i, Socket sock, bool use_tls) : srv(s), id(i) {
            if (use_tls) {
                tls = std::make_unique<ssl::stream<Socket>>(std::move(sock), s.tls);
                extras().tls_rbuf = std::make_unique<char[]>(tls_read_bytes);
            } else {
                take_plain(std::move(sock));
            }
        }

        /// A connection adopted from an HTTP port (plain or TLS stream): a WebSocket after its
        /// 101, or MQTT itself after ALPN "mqtt".
        Conn(Impl& s, broker::ConnectionId i, std::optional<Socket> sock,
             std::unique_ptr<ssl::stream<Socket>> tls_stream, bool websocket)
            : srv(s), id(i) {
            if (websocket) {
                extras().ws = std::make_unique<WebSocket>();
            }
            if (tls_stream) {
                tls = std::move(tls_stream);
                extras().tls_rbuf = std::make_unique<char[]>(tls_read_bytes);
            } else {
                take_plain(std::move(*sock));
            }
        }

        Conn(const Conn&) = delete;
        Conn& operator=(const Conn&) = delete;

        friend void intrusive_ptr_add_ref(Conn* c) noexcept { c->refs.fetch_add(1, std::memory_order_relaxed); }
        friend void intrusive_ptr_release(Conn* c) noexcept {
            if (c->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
                delete c;
            }
        }
        boost::intrusive_ptr<Conn> shared_from_this() { return boost::intrusive_ptr<Conn>(this); }
        ~Conn() {
            if (fd >= 0) {
                ::close(fd);  // the server is going away with the connection still open
            }
        }

        /// A plain connection: notes the peer's address, then takes the descriptor out of Asio
        /// into the server's epoll set. On failure `fd` stays -1 and start() closes the
        /// connection.
        void take_plain(Socket sock) {
            error_code ec;
            sock.set_option(tcp::no_delay(true), ec);
            const auto remote = sock.remote_endpoint(ec);
            if (!ec) {
                address.set(remote.address());
                port = remote.port();
            }
            sock.non_blocking(true, ec);  // the descriptor keeps O_NONBLOCK once released
            if (ec) {
                return;
            }
            const int released = sock.release(ec);
            if (ec) {
                return;
            }
            epoll_event event{};
            event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
            event.data.u64 = id.value;
            if (::epoll_ctl(srv.ready_fd, EPOLL_CTL_ADD, released, &event) != 0) {
                ::close(released);
                return;
            }
            fd = released;
        }

        Extras& extras() {
            if (!extras_) {
                extras_ = std::make_unique<Extras>();
            }
            return *extras_;
        }

        /// Records where the peer connects from (`address` and `port`).
        void note_remote() {
            if (!tls) {
                return;  // take_plain noted it
            }
            error_code ec;
            const auto remote = socket().remote_endpoint(ec);
            if (!ec) {
                address.set(remote.address());
                port = remote.port();
            }
        }

        /// The identity for Broker::accept as far as the transport knows it; callers add the
        /// principal and what authenticated it.
        broker::PeerIdentity peer_identity() const {
            broker::PeerIdentity peer;
            peer.transport = transport;
            peer.address = address.text();
            peer.port = port;
            return peer;
        }

        /// Starts MQTT on an adopted WebSocket, authenticated by SigV4 as `key_id`, or (with
        /// `custom_request`) by a custom authorizer at CONNECT.
        void start_websocket(std::string key_id, std::string_view leftover,
                             std::optional<auth::CustomAuthRequest> custom_request) {
            if (lost_plain()) {
                return;
            }
            note_remote();
            transport = broker::Transport::websocket;
            broker::PeerIdentity peer = peer_identity();
            if (custom_request) {
                custom = std::make_unique<CustomAuth>();
                custom->request = std::move(*custom_request);
            } else {
                peer.principal = std::move(key_id);
                peer.sigv4 = true;
            }
            begin_mqtt(std::move(peer));
            if (!leftover.empty() && accepted && !socket_closed) {
                on_read({}, leftover.data(), leftover.size());  // frames sent right behind the handshake
            }
        }

        /// Starts MQTT on a TLS stream that negotiated ALPN "mqtt" on the port-443 stand-in: no
        /// client certificate, a custom authorizer decides at CONNECT.
        void start_custom_mqtt() {
            note_remote();
            transport = broker::Transport::tls;
            custom = std::make_unique<CustomAuth>();
            custom->request.tls = true;
            custom->request.server_name = server_name_of(tls->native_handle());
            if (custom->request.server_name.empty()) {
                // AWS: custom authentication over MQTT needs SNI; "connection attempts that don't
                // include the SNI are refused" (reference §1.2).
                srv.log_line("custom_auth_refused conn=" + std::to_string(id.value) + " from=" + address.text() +
                             " reason=\"ALPN mqtt without SNI\"");
                close_socket();
                return;
            }
            begin_mqtt(peer_identity());
        }

        /// MQTT bytes for the broker, held while a custom authorizer has not decided.
        void deliver(std::string_view data) {
            if (!custom || !custom->gate) {
                srv.apply(srv.broker->receive(id, data, read_clocks()));
                return;
            }
            custom->held.append(data);
            if (custom->awaiting) {
                return;
            }
            const auto peek = auth::peek_connect(custom->held, srv.options.broker.packet_bytes_max);
            if (peek.status == auth::ConnectPeek::Status::incomplete) {
                return;
            }
            if (peek.status == auth::ConnectPeek::Status::not_connect) {
                release();  // the broker refuses it as it refuses any bad first packet
                return;
            }
            const mqtt::Connect& connect = *peek.connect;
            custom->request.mqtt = auth::MqttCredentials{connect.username.value_or(""), connect.password,
                                                         connect.client_id};
            invoke_authorizer(false);
        }

        /// Runs the authorizer for the held CONNECT (or, `refresh`, again for a connected client).
        void invoke_authorizer(bool refresh) {
            if (custom->connection_id.empty()) {
                custom->connection_id = srv.auth_rng.uuid4();
            }
            auto prepared = auth::prepare_invocation(*srv.registry, custom->request, custom->connection_id);
            if (!prepared) {
                decided(auth::refused_grant({}, prepared.error().reason, srv.next_grant_serial++), refresh);
                return;
            }
            custom->awaiting = true;
            auto invocation = std::move(prepared).value();
            const std::string arn = invocation.authorizer.function_arn;
            const std::string name = invocation.authorizer.name;
            const bool queued = srv.authorizer_worker->submit(AuthorizerWorker::Job{
                arn, auth::event_text(invocation),
                [self = shared_from_this(), authorizer = std::move(invocation.authorizer),
                 refresh](Result<std::string, rules::RuntimeError> answer) {
                    if (self->socket_closed || self->broker_closed || !self->custom) {
                        return;
                    }
                    self->custom->awaiting = false;
                    self->decided(self->srv.grant_from(authorizer, answer), refresh);
                },
                custom->cancelled});
            if (!queued) {
                custom->awaiting = false;
                decided(auth::refused_grant(name, "too many authorizer invocations are waiting",
                                            srv.next_grant_serial++),
                        refresh);
            }
        }

        void decided(std::shared_ptr<const auth::CustomAuthGrant> grant, bool refresh) {
            srv.log_line(std::string("custom_auth conn=") + std::to_string(id.value) + " authorizer=" +
                         (grant->authorizer.empty() ? "-" : grant->authorizer) +
                         (refresh ? " refresh=true" : "") +
                         (grant->authenticated ? " result=allowed principal=" + grant->principal_id
                                               : " result=refused reason=\"" + grant->refusal + "\""));
            const bool authenticated = grant->authenticated;
            const std::uint32_t refresh_after = grant->refresh_after_s;
            srv.apply(srv.broker->set_credentials(id, std::move(grant), read_clocks()));
            if (!refresh) {
                release();
            }
            if (authenticated && refresh_after > 0 && !socket_closed && !broker_closed) {
                if (!custom->refresh) {
                    custom->refresh.emplace(srv.io);
                }
                custom->refresh->expires_after(std::chrono::seconds(refresh_after));
                custom->refresh->async_wait([self = shared_from_this()](error_code e) {
                    if (!e && !self->socket_closed && !self->broker_closed && self->custom) {
                        self->invoke_authorizer(true);  // AWS re-invokes the function after refreshAfterInSeconds
                    }
                });
            }
        }

        /// Hands the held bytes to the broker and stops holding.
        void release() {
            custom->gate = false;
            std::string bytes = std::move(custom->held);
            custom->held.clear();
            if (!bytes.empty() && !broker_closed) {
                srv.apply(srv.broker->receive(id, bytes, read_clocks()));
            }
            read();  // reading may have paused while the bytes were held
        }

        Timer& timer() {
            Extras& x = extras();
            if (!x.timer) {
                x.timer.emplace(srv.io);
            }
            return *x.timer;
        }

        Socket& socket() { return tls->next_layer(); }  // TLS only

        /// A plain connection whose descriptor could not join the epoll set (take_plain).
        bool lost_plain() {
            if (tls || fd >= 0) {
                return false;
            }
            srv.log_line("connection_failed conn=" + std::to_string(id.value) + " from=" + address.text() +
                         " reason=\"cannot watch the socket\"");
            close_socket();
            return true;
        }

        void start() {
            if (lost_plain()) {
                return;
            }
            error_code ec;
            if (tls) {
                socket().set_option(tcp::no_delay(true), ec);
            }
            note_remote();
            if (!tls) {
                transport = broker::Transport::tcp;
                broker::PeerIdentity peer = peer_identity();
                peer.principal = srv.options.plain_principal;
                begin_mqtt(std::move(peer));
                return;
            }
            transport = broker::Transport::tls;
            timer().expires_after(tls_handshake_timeout);
            timer().async_wait([self = shared_from_this()](error_code e) {
                if (!e && !self->accepted) {
                    self->srv.log_line("tls_handshake_timeout conn=" + std::to_string(self->id.value) + " from=" +
                                       self->address.text());
                    self->close_socket();
                }
            });
            tls->async_handshake(ssl::stream_base::server, [self = shared_from_this()](error_code e) {
                self->timer().cancel();
                if (e) {
                    self->srv.log_line("tls_handshake_failed conn=" + std::to_string(self->id.value) + " from=" +
                                       self->address.text() + ":" + std::to_string(self->port) + " reason=\"" +
                                       e.message() + "\"");
                    self->close_socket();
                    return;
                }
                broker::PeerIdentity peer = self->peer_identity();
                peer.certificate_id = peer_certificate_id(self->tls->native_handle());
                peer.principal = peer.certificate_id;
                self->extras().certificate_id = peer.certificate_id;  // for disconnect_revoked
                self->srv.just_in_time_register(peer.certificate_id, self->tls->native_handle());
                self->begin_mqtt(std::move(peer));
            });
        }

        void begin_mqtt(broker::PeerIdentity peer) {
            if (srv.stopping || socket_closed) {
                close_socket();
                return;
            }
            accepted = true;
            srv.apply(srv.broker->accept(id, std::move(peer), read_clocks()));
            read();
        }

        /// Whether reading waits: the broker is done, or back-pressure.
        bool read_paused() const {
            if (!accepted || broker_closed || socket_closed) {
                return true;
            }
            // Back-pressure: a peer that does not read its output is not read from either.
            if (pending_bytes > 2 * srv.options.broker.output_bytes_max) {
                return true;  // resumed by on_written
            }
            return custom && custom->gate &&
                   custom->held.size() > srv.options.broker.packet_bytes_max + custom_auth_held_slack;  // resumed by release()
        }

        /// Reads, or resumes reading, unless paused.
        void read() {
            if (read_paused()) {
                return;
            }
            if (!tls) {
                // Nothing to do until the next edge unless bytes may be waiting; then read from
                // a fresh handler (read() is called from within the broker's effects).
                if (readable && !pump_posted) {
                    pump_posted = true;
                    asio::post(srv.io, [self = shared_from_this()] {
                        self->pump_posted = false;
                        self->pump();
                    });
                }
                return;
            }
            if (reading) {
                return;
            }
            reading = true;
            tls->async_read_some(asio::buffer(extras_->tls_rbuf.get(), tls_read_bytes),
                                 [self = shared_from_this()](error_code e, std::size_t n) {
                                     self->reading = false;
                                     self->on_read(e, self->extras_->tls_rbuf.get(), n);
                                 });
        }

        /// Plain: what the epoll set says of the socket.
        void on_ready(std::uint32_t events) {
            if (socket_closed) {
                return;
            }
            if ((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
                peer_closed = true;
            }
            if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
                readable = true;
                pump();
            }
            if (!socket_closed && write_blocked && (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0) {
                write_blocked = false;
                write();
            }
        }

        /// Plain: one read into the shared buffer. A short read means the socket is drained: any
        /// byte that arrives later raises a new edge. Not so the end of the stream once announced
        /// (`peer_closed`): it may sit behind the bytes just read, so reading goes on until recv
        /// returns 0 (or fails).
        void pump() {
            if (!readable || read_paused()) {
                return;
            }
            const ssize_t n = ::recv(fd, srv.shared_rbuf.data(), srv.shared_rbuf.size(), 0);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    readable = false;
                } else if (errno == EINTR) {
                    read();
                } else {
                    on_read(error_code(errno, asio::error::get_system_category()), nullptr, 0);
                }
                return;
            }
            if (n == 0) {
                on_read(asio::error::eof, nullptr, 0);
                return;
            }
            if (static_cast<std::size_t>(n) < srv.shared_rbuf.size() && !peer_closed) {
                readable = false;
            }
            on_read({}, srv.shared_rbuf.data(), static_cast<std::size_t>(n));
        }

        void on_read(error_code e, const char* data, std::size_t n) {
            if (e) {
                if (!broker_closed) {
                    broker_closed = true;
                    srv.apply(srv.broker->closed(id, read_clocks()));
                }
                close_socket();
                return;
            }
            if (broker_closed) {
                return;  // the broker has finished with this connection; ignore late bytes
            }
            if (ws()) {
                http::ws::FramerOutput frames = ws()->framer.receive(std::string_view(data, n));
                if (!frames.data.empty()) {
                    deliver(frames.data);
                }
                if (!frames.reply.empty() && !socket_closed && !ws()->close_sent) {
                    ws()->close_sent = frames.close;
                    queue_raw(std::move(frames.reply), 0);
                }
                if (frames.close) {
                    if (!frames.error.empty()) {
                        srv.log_line("websocket_closed conn=" + std::to_string(id.value) + " reason=\"" +
                                     frames.error + "\"");
                    }
                    if (!broker_closed) {
                        broker_closed = true;
                        srv.apply(srv.broker->closed(id, read_clocks()));
                    }
                    close_requested();
                    return;
                }
                read();
                return;
            }
            deliver(std::string_view(data, n));
            read();
        }

        void queue_raw(std::string bytes, std::size_t mqtt_bytes) {
            pending_bytes += bytes.size();
            wq.push_back(std::move(bytes));
            ws()->mqtt_bytes.push_back(mqtt_bytes);
            write();
        }

        void send(std::string bytes) {
            if (socket_closed || bytes.empty()) {
                return;  // nothing to write (an empty Send would never complete a plain write)
            }
            if (ws()) {
                const std::size_t mqtt_bytes = bytes.size();
                queue_raw(http::ws::binary_frame(bytes), mqtt_bytes);
                return;
            }
            pending_bytes += bytes.size();
            wq.push_back(std::move(bytes));
            write();
        }

        void write() {
            if (wq.empty() || socket_closed) {
                return;
            }
            if (!tls) {
                // As Asio's async_write does: written at once, the completion (which tells the
                // broker what drained) posted, so that it does not re-enter the broker from within
                // its own effects; what is queued meanwhile goes out together when it runs.
                if (write_blocked || flush_posted) {
                    return;
                }
                std::size_t written = 0;
                std::size_t done = 0;
                const error_code e = write_some(written, done);
                if (!e && written == 0) {
                    return;  // the socket is full: EPOLLOUT resumes
                }
                flush_posted = true;
                asio::post(srv.io, [self = shared_from_this(), e, written, done] {
                    self->flush_posted = false;
                    self->on_written(e, written, done);
                });
                return;
            }
            if (writing) {
                return;
            }
            writing = true;
            std::vector<asio::const_buffer> bufs;
            const std::size_t count = std::min(wq.size(), gather_buffers_max);
            bufs.reserve(count);
            for (std::size_t i = 0; i < count; ++i) {
                bufs.push_back(asio::buffer(wq[i]));
            }
            auto handler = [self = shared_from_this(), count](error_code e, std::size_t n) {
                self->on_written(e, n, count);
            };
            asio::async_write(*tls, bufs, handler);
        }

        /// Plain: writes what is queued until done or the socket is full (`write_blocked`; then
        /// EPOLLOUT resumes). `written` counts bytes, `done` the whole Sends written, for
        /// on_written.
        error_code write_some(std::size_t& written, std::size_t& done) {
            while (done < wq.size()) {
                std::array<iovec, gather_buffers_max> iov{};
                std::size_t count = 0;
                for (std::size_t i = done; i < wq.size() && count < iov.size(); ++i, ++count) {
                    const std::size_t skip = i == done ? wq_offset : 0;
                    iov[count].iov_base = wq[i].data() + skip;
                    iov[count].iov_len = wq[i].size() - skip;
                }
                msghdr message{};
                message.msg_iov = iov.data();
                message.msg_iovlen = count;
                const ssize_t n = ::sendmsg(fd, &message, MSG_NOSIGNAL);
                if (n < 0) {
                    if (errno == EINTR) {
                        continue;
                    }
                    if (errno == EAGAIN || errno == EWOULDBLOCK) {
                        write_blocked = true;
                        break;
                    }
                    return error_code(errno, asio::error::get_system_category());
                }
                written += static_cast<std::size_t>(n);
                for (auto left = static_cast<std::size_t>(n); left > 0;) {
                    const std::size_t rest = wq[done].size() - wq_offset;
                    if (left < rest) {
                        wq_offset += static_cast<std::uint32_t>(left);  // < the Send's size
                        break;
                    }
                    left -= rest;
                    wq_offset = 0;
                    ++done;
                }
            }
            return {};
        }

        void on_written(error_code e, std::size_t n, std::size_t count) {
            writing = false;
            if (e) {
                wq.clear();
                wq_offset = 0;
                pending_bytes = 0;
                if (!broker_closed) {
                    broker_closed = true;
                    srv.apply(srv.broker->closed(id, read_clocks()));
                }
                close_socket();
                return;
            }
            wq.erase(wq.begin(), wq.begin() + static_cast<std::ptrdiff_t>(count));
            if (wq.empty()) {
                // Free the queue's array: an idle connection would otherwise keep one for the
                // last thing it was sent (memory per idle connection is a benchmark target).
                std::vector<std::string>().swap(wq);
            }
            pending_bytes -= n;
            std::size_t drained = n;
            if (ws()) {
                drained = 0;
                for (std::size_t i = 0; i < count; ++i) {
                    drained += ws()->mqtt_bytes[i];
                }
                ws()->mqtt_bytes.erase(ws()->mqtt_bytes.begin(), ws()->mqtt_bytes.begin() + static_cast<std::ptrdiff_t>(count));
            }
            if (!broker_closed && drained > 0) {
                srv.apply(srv.broker->drained(id, drained, read_clocks()));
            }
            if (!wq.empty()) {
                write();
            } else if (broker_closed) {
                close_socket();
            } else {
                read();  // resume reading if back-pressure had paused it
            }
        }

        /// The broker's Close effect: flush what is queued, then close (bounded by a linger).
        void close_requested() {
            broker_closed = true;
            if (ws() && !ws()->close_sent && !socket_closed) {
                ws()->close_sent = true;
                queue_raw(http::ws::close_frame(1000), 0);
            }
            if (wq.empty() && !writing) {
                close_socket();
                return;
            }
            timer().expires_after(close_linger);
            timer().async_wait([self = shared_from_this()](error_code e) {
                if (!e) {
                    self->close_socket();
                }
            });
        }

        void close_socket() {
            if (socket_closed) {
                return;
            }
            const boost::intrusive_ptr<Conn> keep = shared_from_this();  // leaving `conns` below
            socket_closed = true;
            if (extras_ && extras_->timer) {
                extras_->timer->cancel();
            }
            if (custom) {
                custom->cancelled->store(true);
                if (custom->refresh) {
                    custom->refresh->cancel();
                }
            }
            if (tls) {
                error_code ec;
                socket().shutdown(Socket::shutdown_both, ec);
                socket().close(ec);
            } else if (fd >= 0) {
                ::shutdown(fd, SHUT_RDWR);
                ::close(fd);  // leaves the epoll set with it
                fd = -1;
            }
            srv.conns.erase(id.value);  // handlers still hold a reference until they run
            srv.maybe_finish_shutdown();
        }
    };

    /// One connection on an HTTP port: bytes in, http::HttpConnection (codec + iot-data router
    /// over the IotCore) in the middle, response bytes out. The effects of each request (shadow
    /// notifications, a Publish) are carried out before its response is written.
    struct HttpConn : std::enable_shared_from_this<HttpConn> {
        Impl& srv;
        std::uint64_t id;
        std::optional<Socket> plain;
        std::unique_ptr<ssl::stream<Socket>> tls;
        http::HttpConnection http;
        std::array<char, http_read_bytes> rbuf{};
        std::deque<std::string> wq;
        std::size_t wq_bytes = 0;
        bool writing = false;
        bool reading = false;
        bool close_after_write = false;
        /// Set when the connection closes: a queued authorizer job for it is skipped.
        std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
        /// Set once GET /mqtt was answered 101: the access key id (SigV4) or the custom
        /// authorizer's request, and the bytes behind the request.
        struct Upgrade {
            std::string key_id;
            std::string leftover;
            std::optional<auth::CustomAuthRequest> custom;
        };
        std::optional<Upgrade> upgrade_to;
        bool closed = false;
        Timer timer;
        std::string address;  // the peer's IP address
        std::string from;     // address:port, for logs

        /// False on the HTTPS port (AWS's 8443 offers no custom authentication).
        bool offers_custom_auth = true;

        HttpConn(Impl& s, std::uint64_t i, Socket sock, ssl::context* tls_context)
            : srv(s), id(i), http(*s.router), timer(s.io), offers_custom_auth(tls_context != &s.https_tls) {
            if (tls_context != nullptr) {
                tls = std::make_unique<ssl::stream<Socket>>(std::move(sock), *tls_context);
            } else {
                plain.emplace(std::move(sock));
            }
        }

        Socket& socket() { return tls ? tls->next_layer() : *plain; }

        void start() {
            error_code ec;
            socket().set_option(tcp::no_delay(true), ec);
            const auto remote = socket().remote_endpoint(ec);
            address = ec ? std::string() : remote.address().to_string();
            from = ec ? "unknown" : address + ":" + std::to_string(remote.port());
            arm_idle();
            if (!tls) {
                read();
                return;
            }
            tls->async_handshake(ssl::stream_base::server, [self = shared_from_this()](error_code e) {
                if (e) {
                    self->srv.log_line("https_handshake_failed from=" + self->from + " reason=\"" + e.message() + "\"");
                    self->close();
                    return;
                }
                if (negotiated_alpn(self->tls->native_handle()) == "mqtt") {
                    // AWS's port 443 with ALPN "mqtt": MQTT with custom authentication.
                    self->timer.cancel();
                    self->closed = true;  // the socket now belongs to the MQTT connection
                    self->srv.adopt_mqtt(std::move(self->tls));
                    self->srv.http_conns.erase(self->id);
                    return;
                }
                // A client certificate (verified against the root CA when offered) authenticates
                // the connection's unsigned requests (AWS's port 8443); the policies decide.
                http::Caller caller;
                caller.certificate_id = peer_certificate_id(self->tls->native_handle());
                caller.address = self->address;
                caller.custom_auth_offered = self->offers_custom_auth;
                self->http.set_caller(std::move(caller));
                self->read();
            });
        }

        void arm_idle() {
            timer.expires_after(http_idle_timeout);
            timer.async_wait([self = shared_from_this()](error_code e) {
                if (!e) {
                    self->close();
                }
            });
        }

        void read() {
            if (closed || close_after_write || upgrade_to || reading || http.authorizing()) {
                return;
            }
            // Back-pressure: a client that pipelines requests without reading the answers is not
            // read from until they are written (its idle timer runs meanwhile).
            if (wq_bytes > http_queue_bytes_max) {
                return;
            }
            reading = true;
            auto handler = [self = shared_from_this()](error_code e, std::size_t n) {
                self->reading = false;
                self->on_read(e, n);
            };
            if (tls) {
                tls->async_read_some(asio::buffer(rbuf), handler);
            } else {
                plain->async_read_some(asio::buffer(rbuf), handler);
            }
        }

        void on_read(error_code e, std::size_t n) {
            if (e || closed) {
                close();
                return;
            }
            arm_idle();
            handle(http.receive(std::string_view(rbuf.data(), n), read_clocks()));
        }

        /// Carries out one HttpConnection output: effects, bytes, upgrade, close, or a request
        /// for a custom authorizer (its answer comes back through http.resume()).
        void handle(http::ConnectionOutput out) {
            srv.apply(srv.data_plane->take_effects());
            if (out.custom_auth_request) {
                if (!out.bytes.empty()) {
                    queue(std::move(out.bytes));
                }
                authorize(std::move(*out.custom_auth_request));
                return;  // reading resumes once the authorizer has decided
            }
            if (out.upgrade) {
                std::optional<auth::CustomAuthRequest> custom;
                if (out.custom_auth) {
                    custom.emplace();
                    custom->http = true;
                    for (auto& h : out.upgrade_headers) {
                        custom->headers.emplace_back(std::move(h.name), std::move(h.value));
                    }
                    custom->query = std::move(out.upgrade_query);
                    if (tls) {
                        custom->tls = true;
                        custom->server_name = server_name_of(tls->native_handle());
                    }
                }
                upgrade_to.emplace(Upgrade{std::move(out.principal), std::move(out.leftover), std::move(custom)});
                queue(std::move(out.bytes));
                timer.expires_after(upgrade_write_timeout);
                timer.async_wait([self = shared_from_this()](error_code expired) {
                    if (!expired) {
                        self->close();
                    }
                });
                return;  // no more reads: what follows belongs to the WebSocket
            }
            if (out.close) {
                close_after_write = true;
            }
            if (!out.bytes.empty()) {
                queue(std::move(out.bytes));
            } else if (close_after_write) {
                linger();
                return;
            }
            read();
        }

        /// An iot-data request with custom authentication (reference §5.4: the token in its
        /// headers or query): the function runs on the authorizer worker, and the request is then
        /// answered with its decision. Reading pauses meanwhile.
        void authorize(const http::Request& request) {
            auth::CustomAuthRequest r;
            r.http = true;
            for (const auto& h : request.headers) {
                r.headers.emplace_back(h.name, h.value);
            }
            r.query = request.query;
            if (tls) {
                r.tls = true;
                r.server_name = server_name_of(tls->native_handle());
            }
            auto prepared = auth::prepare_invocation(*srv.registry, r, srv.auth_rng.uuid4());
            if (!prepared) {
                decided(auth::refused_grant({}, prepared.error().reason, srv.next_grant_serial++));
                return;
            }
            auto invocation = std::move(prepared).value();
            const std::string arn = invocation.authorizer.function_arn;
            const std::string name = invocation.authorizer.name;
            const bool queued = srv.authorizer_worker->submit(AuthorizerWorker::Job{
                arn, auth::event_text(invocation),
                [self = shared_from_this(), authorizer = std::move(invocation.authorizer)](
                    Result<std::string, rules::RuntimeError> answer) {
                    if (!self->closed) {
                        self->decided(self->srv.grant_from(authorizer, answer));
                    }
                },
                cancelled});
            if (!queued) {
                decided(auth::refused_grant(name, "too many authorizer invocations are waiting",
                                            srv.next_grant_serial++));
            }
        }

        void decided(std::shared_ptr<const auth::CustomAuthGrant> grant) {
            srv.log_line("custom_auth http from=" + from + " authorizer=" +
                         (grant->authorizer.empty() ? "-" : grant->authorizer) +
                         (grant->authenticated ? " result=allowed principal=" + grant->principal_id
                                               : " result=refused reason=\"" + grant->refusal + "\""));
            handle(http.resume(std::move(grant), read_clocks()));
        }

        void queue(std::string bytes) {
            wq_bytes += bytes.size();
            wq.push_back(std::move(bytes));
            write();
        }

        void write() {
            if (writing || wq.empty() || closed) {
                return;
            }
            writing = true;
            auto handler = [self = shared_from_this()](error_code e, std::size_t) {
                self->writing = false;
                if (e) {
                    self->close();
                    return;
                }
                self->wq_bytes -= self->wq.front().size();
                self->wq.pop_front();
                if (!self->wq.empty()) {
                    self->write();
                } else if (self->upgrade_to) {
                    self->finish_upgrade();
                    return;
                } else if (self->close_after_write) {
                    self->linger();
                    return;
                }
                self->read();  // resumes reading if back-pressure had paused it
            };
            if (tls) {
                asio::async_write(*tls, asio::buffer(wq.front()), handler);
            } else {
                asio::async_write(*plain, asio::buffer(wq.front()), handler);
            }
        }

        /// GET /mqtt answered 101 (queued last in `wq`): once everything before it and the 101
        /// itself are written, the socket goes to a broker connection that speaks MQTT in
        /// WebSocket frames; this HttpConn then ends without closing the socket. Nothing more is
        /// read meanwhile, and a client that does not read its answers gets closed.
        void finish_upgrade() {
            timer.cancel();
            closed = true;  // the socket now belongs to the WebSocket connection
            Upgrade up = std::move(*upgrade_to);
            upgrade_to.reset();
            srv.adopt_websocket(std::move(plain), std::move(tls), std::move(up.key_id), std::move(up.leftover),
                                std::move(up.custom));
            srv.http_conns.erase(id);
        }

        /// After an answer that ends the connection (an error, `Connection: close`): stop sending,
        /// then read and discard what the client still sends for a moment before closing, so that
        /// a client still writing a refused body sees the response rather than a reset.
        void linger() {
            error_code ec;
            if (tls) {
                close();  // a TLS close_notify dance is not worth it for an error path
                return;
            }
            plain->shutdown(Socket::shutdown_send, ec);
            timer.expires_after(std::chrono::seconds(1));
            timer.async_wait([self = shared_from_this()](error_code e) {
                if (!e) {
                    self->close();
                }
            });
            drain();
        }

        void drain() {
            if (closed) {
                return;
            }
            plain->async_read_some(asio::buffer(rbuf), [self = shared_from_this()](error_code e, std::size_t) {
                if (e) {
                    self->close();
                    return;
                }
                self->drain();
            });
        }

        void close() {
            if (closed) {
                return;
            }
            closed = true;
            cancelled->store(true);
            timer.cancel();
            error_code ec;
            socket().shutdown(Socket::shutdown_both, ec);
            socket().close(ec);
            srv.http_conns.erase(id);
            srv.maybe_finish_shutdown();
        }
    };

    void adopt_websocket(std::optional<Socket> sock, std::unique_ptr<ssl::stream<Socket>> tls_stream,
                         std::string key_id, std::string leftover, std::optional<auth::CustomAuthRequest> custom) {
        const broker::ConnectionId id{next_connection++};
        const boost::intrusive_ptr<Conn> conn(new Conn(*this, id, std::move(sock), std::move(tls_stream), true));
        conns.emplace(id.value, conn);
        conn->start_websocket(std::move(key_id), leftover, std::move(custom));
    }

    void adopt_mqtt(std::unique_ptr<ssl::stream<Socket>> tls_stream) {
        const broker::ConnectionId id{next_connection++};
        const boost::intrusive_ptr<Conn> conn(new Conn(*this, id, std::nullopt, std::move(tls_stream), false));
        conns.emplace(id.value, conn);
        conn->start_custom_mqtt();
    }

    /// Just-in-time registration (reference §4.3): an unknown certificate signed by a registered
    /// ACTIVE CA with auto-registration is recorded PENDING_ACTIVATION and announced on
    /// `$aws/events/certificates/registered/<caCertificateId>`; the connection itself is then
    /// refused at CONNECT (the certificate is not ACTIVE), as AWS refuses the first connection.
    void just_in_time_register(const std::string& certificate_id, SSL* ssl) {
        if (certificate_id.empty() || registry->find_certificate(certificate_id) != nullptr) {
            return;
        }
        const Now now = read_clocks();
        const registry::CertificateRecord* record = nullptr;
        try {
            record = registry->auto_register_certificate(peer_certificate_pem(ssl), now);
        } catch (const std::exception& e) {
            log_line(std::string("jitr_failed reason=\"") + e.what() + "\"");
            return;
        }
        if (record == nullptr) {
            return;
        }
        authorizer->invalidate();
        const std::int64_t ms = now.wall.unix_ms();
        const nlohmann::json event = {{"certificateId", record->id},
                                      {"caCertificateId", record->ca_certificate_id},
                                      {"timestamp", ms},
                                      {"certificateStatus", "PENDING_ACTIVATION"},
                                      {"awsAccountId", registry->options().scope.account},
                                      {"certificateRegistrationTimestamp", ms}};
        broker::Message message;
        message.topic = "$aws/events/certificates/registered/" + record->ca_certificate_id;
        message.payload = event.dump();
        message.qos = mqtt::QoS::at_least_once;
        log_line("jitr certificate=" + record->id + " ca=" + record->ca_certificate_id + " status=PENDING_ACTIVATION");
        apply(broker->publish(std::move(message), now));
    }

    /// Whether an unsigned WebSocket upgrade may go on to a custom authorizer: one is ACTIVE.
    bool custom_auth_available() const {
        registry::ListAuthorizersInput input;
        input.page.size = 1;
        input.status = registry::AuthorizerStatus::active;
        return !registry->list_authorizers(input).items.empty();
    }

    void http_accept_loop(Acceptor& acceptor, ssl::context* tls_context) {
        acceptor.async_accept([this, &acceptor, tls_context](error_code e, Socket sock) {
            if (e == asio::error::operation_aborted || stopping) {
                return;
            }
            if (e) {
                log_line("accept_failed reason=\"" + e.message() + "\"");
                auto t = std::make_shared<Timer>(io, std::chrono::milliseconds(100));
                t->async_wait([this, t, &acceptor, tls_context](error_code) { http_accept_loop(acceptor, tls_context); });
                return;
            }
            const std::uint64_t id = next_http_connection++;
            auto conn = std::make_shared<HttpConn>(*this, id, std::move(sock), tls_context);
            http_conns.emplace(id, conn);
            conn->start();
            http_accept_loop(acceptor, tls_context);
        });
    }

    explicit Impl(ServerOptions o)
        : options(std::move(o)),
          os_seed(seed_from_os()),
          rng(Rng::derive(os_seed, "broker")),
          http_rng(Rng::derive(os_seed, "http")),
          registry_rng(Rng::derive(os_seed, "registry")),
          control_plane_rng(Rng::derive(os_seed, "control-plane")) {
        if (!options.log) {
            options.log = [](const std::string& line) { std::cerr << line << '\n'; };
        }
    }

    /// The network host is the one place allowed to draw entropy from the OS: a server run is not
    /// meant to be reproducible (the simulator is).
    static std::uint64_t seed_from_os() {
        std::uint64_t seed = 0;
        if (RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed) != 1) {
            seed = static_cast<std::uint64_t>(::getpid()) ^
                   static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
        }
        return seed;
    }

    void log_line(const std::string& line) { options.log(utc_timestamp() + " " + line); }

    void open() {
        namespace fs = std::filesystem;
        std::error_code fec;
        fs::create_directories(options.data_dir, fec);
        if (fec) {
            throw StartupError("cannot create data directory " + options.data_dir.string() + ": " + fec.message());
        }
        if (::access(options.data_dir.c_str(), W_OK) != 0) {
            throw StartupError("data directory " + options.data_dir.string() + " is not writable");
        }
        const int set = ::epoll_create1(EPOLL_CLOEXEC);
        if (set < 0) {
            throw StartupError(std::string("cannot create an epoll set: ") + std::strerror(errno));
        }
        ready_set.emplace(io, set);
        ready_fd = set;
        PkiFiles pki;
        try {
            pki = ensure_pki(options.data_dir, {"localhost", options.endpoint, "127.0.0.1", "::1"});
        } catch (const PkiError& e) {
            throw StartupError(e.what());
        }
        try {
            store = std::make_unique<storage::SqliteStore>(options.data_dir / "iotsim.db");
            shadow_store = std::make_unique<storage::SqliteShadowStore>(options.data_dir / "iotsim.db");
            registry_store = std::make_unique<storage::SqliteRegistryStore>(options.data_dir / "iotsim.db");
            rule_store = std::make_unique<storage::SqliteRuleStore>(options.data_dir / "iotsim.db");
        } catch (const storage::StoreError& e) {
            throw StartupError(e.what());
        }
        open_registry(pki);
        try {
            tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                            ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
            SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
            tls.use_certificate_chain_file(pki.server_cert.string());
            tls.use_private_key_file(pki.server_key.string(), ssl::context::pem);
            tls.load_verify_file(pki.root_ca_cert.string());
            SSL_CTX_set_verify(tls.native_handle(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                               accept_unknown_issuer);
            // HTTPS: AWS authenticates REST calls with SigV4 or a client certificate, so a
            // certificate is verified when offered but not required.
            https_tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
            SSL_CTX_set_min_proto_version(https_tls.native_handle(), TLS1_2_VERSION);
            https_tls.use_certificate_chain_file(pki.server_cert.string());
            https_tls.use_private_key_file(pki.server_key.string(), ssl::context::pem);
            https_tls.load_verify_file(pki.root_ca_cert.string());
            SSL_CTX_set_verify(https_tls.native_handle(), SSL_VERIFY_PEER, accept_unknown_issuer);
            wss_tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                                ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
            SSL_CTX_set_min_proto_version(wss_tls.native_handle(), TLS1_2_VERSION);
            wss_tls.use_certificate_chain_file(pki.server_cert.string());
            wss_tls.use_private_key_file(pki.server_key.string(), ssl::context::pem);
            wss_tls.set_verify_mode(ssl::verify_none);
            SSL_CTX_set_alpn_select_cb(wss_tls.native_handle(), select_alpn, nullptr);
        } catch (const boost::system::system_error& e) {
            throw StartupError("cannot set up TLS from " + options.data_dir.string() + ": " + e.what());
        }
        if (options.handle_signals) {
            signals.add(SIGINT);
            signals.add(SIGTERM);
            signals.async_wait([this](error_code e, int) {
                if (!e) {
                    begin_shutdown();
                }
            });
        }
        iotcore::IotCoreConfig config;
        config.broker = options.broker;
        config.shadow = options.shadow;
        broker = std::make_unique<iotcore::IotCore>(
            std::move(config), iotcore::IotCoreServices{*authorizer, *store, *shadow_store, rng}, *rule_store);
        data_plane = std::make_unique<iotcore::IotCoreDataPlane>(*broker);
        // SigV4 on every HTTP request (reference §5): the keys of DATA_DIR/credentials, written
        // on first start, plus those of --credentials.
        http::RouterOptions router_options;
        router_options.sigv4.secrets = load_credentials();
        router = std::make_unique<http::Router>(*data_plane, http_rng, router_options);
        router->set_authorize([this](const http::AuthorizeRequest& request) { return authorize_rest(request); });
        rules_router_rng = Rng::derive(os_seed, "rules-router");
        rules_router = std::make_unique<ruleset::TopicRuleRouter>(broker->rules(), rules_router_rng);
        action_worker = std::make_unique<ActionWorker>(*this, options.data_dir);
        authorizer_worker = std::make_unique<AuthorizerWorker>(*this, options.data_dir);
        auth_rng = Rng::derive(os_seed, "custom-auth");
        control_plane->set_authorizer_invoker(&test_invoker);
        router->set_websocket_custom_auth([this](const http::Request&) { return custom_auth_available(); });
        // An unsigned iot-data request naming an authorizer, or any unsigned one once a default
        // authorizer is set (AWS: "used when a device sends no AWS credentials").
        // Only Publish is offered this way (AWS: "Only publish is supported over HTTP"), so the
        // control plane and the other iot-data calls keep asking for SigV4; and not on port 8443
        // (Caller::custom_auth_offered false there: "On port 8443 HTTPS ... custom authentication
        // can't be used").
        router->set_custom_auth([this](const http::Request& request) {
            if (request.method != "POST" || !request.path.starts_with("/topics/")) {
                return false;
            }
            const bool named = request.header("x-amz-customauthorizer-name") != nullptr ||
                               request.query.find("x-amz-customauthorizer-name=") != std::string::npos;
            return named || registry->default_authorizer() != nullptr;
        });
        // AMBIG: AWS's rule evaluation waits for aws_lambda()'s answer; so does iotsim, on the
        // broker's thread, which serves nobody meanwhile: the timeout is 1 s, not an action's 3 s.
        sql_lambda = std::make_unique<actions::FileActionRunner>(options.data_dir, std::chrono::milliseconds(1000));
        sql_lambda->keep_records = false;
        broker->set_aws_lambda([this](std::string_view arn, std::string_view input)
                                   -> Result<std::string, rules::RuntimeError> {
            return sql_lambda->invoke(arn, input);
        });
        // `aws iot` and `aws iot-data` share the HTTP ports: a request the control plane
        // recognises (botocore's iot paths, e.g. /things/{name}) goes to the registry, anything
        // else (/things/{name}/shadow, /topics/..., /retainedMessage...) to iot-data.
        router->set_front([this](const http::Request& request, Now now) -> std::optional<http::Response> {
            if (request.path == world_path) {
                return world_response(request);
            }
            if (ruleset::TopicRuleRouter::owns_path(request.path)) {
                return rules_router->handle(request, now);  // /rules...: topic rules (DATA_DIR/iotsim.db)
            }
            const std::string operation(registry::ControlPlaneRouter::operation_for(request));
            if (operation.empty()) {
                return std::nullopt;
            }
            http::Response response = control_plane->handle(request, now);
            authorizer->invalidate();  // policies, certificates and things apply from the next check
            if (response.status < 300 && operation.find("Certificate") != std::string::npos) {
                disconnect_revoked(now);
            }
            return response;
        });
        listen(plain, options.mqtt_port, "mqtt");
        listen(secure, options.mqtts_port, "mqtts");
        listen(http_plain, options.http_port, "http");
        listen(http_secure, options.https_port, "https");
        listen(http_wss, options.wss_port, "wss");
        try {
            apply(broker->recover(read_clocks()));
        } catch (const std::exception& e) {
            throw StartupError(std::string("cannot recover from ") + (options.data_dir / "iotsim.db").string() + ": " +
                               e.what());
        }
        for (const auto& note : startup_notes) {
            log_line(note);
        }
    }

    /// Disconnects every MQTT connection whose client certificate is no longer registered and
    /// ACTIVE (after UpdateCertificate, DeleteCertificate...; reference §4.3: AWS disconnects
    /// them "within minutes", iotsim at once), as Broker::revoke describes.
    void disconnect_revoked(Now now) {
        std::vector<broker::ConnectionId> revoked;
        for (const auto& [id, conn] : conns) {
            if (!conn->extras_ || conn->extras_->certificate_id.empty()) {
                continue;
            }
            const registry::CertificateRecord* cert = registry->find_certificate(conn->extras_->certificate_id);
            if (cert == nullptr || cert->status != registry::CertificateStatus::active) {
                revoked.push_back(conn->id);
            }
        }
        std::sort(revoked.begin(), revoked.end(),
                  [](broker::ConnectionId a, broker::ConnectionId b) { return a.value < b.value; });
        for (const broker::ConnectionId id : revoked) {
            log_line("certificate_revoked conn=" + std::to_string(id.value));
            apply(broker->revoke(id, now));
        }
    }

    /// DATA_DIR/credentials (created with fresh keys on first start) merged with the keys of
    /// --credentials (options.aws_credentials).
    Credentials load_credentials() {
        Credentials keys;
        std::filesystem::path path;
        try {
            path = ensure_credentials(options.data_dir);
        } catch (const PkiError& e) {
            throw StartupError(e.what());
        }
        if (auto error = read_credentials_file(path, keys)) {
            throw StartupError(path.string() + ": " + *error + " (delete it and restart for new keys)");
        }
        for (const auto& [key_id, secret] : options.aws_credentials) {
            keys[key_id] = secret;
        }
        if (keys.empty()) {  // never: read_credentials_file refuses a file without keys
            throw StartupError(path.string() + ": no credentials (delete it and restart for new keys)");
        }
        startup_notes.push_back("HTTP requests must be SigV4-signed: AWS_SHARED_CREDENTIALS_FILE=" + path.string());
        return keys;
    }

    /// The iot-data operations of an unsigned HTTPS request authenticated by its client
    /// certificate, checked against the certificate's IoT policies (reference §4.4, the action
    /// table); a SigV4-signed request (the account's own keys, like an IAM administrator's) is
    /// allowed everything. AMBIG: AWS lists `thing/<thing>/<shadow>` as UpdateThingShadow's
    /// resource for a named shadow and `thing/<thing>` for the others, and gives
    /// ListNamedShadowsForThing both `*` and `thing/<thing>`; iotsim checks exactly that table,
    /// with `thing/<thing>` for the list (the REST page's example). A denial is AWS's observed
    /// 403 `{"message":"Forbidden"}`.
    std::optional<http::ApiError> authorize_rest(const http::AuthorizeRequest& request) {
        broker::PeerIdentity peer;
        if (request.custom) {
            // A custom authorizer decided: AWS supports only Publish this way over HTTP (§5.4).
            auto grant = std::static_pointer_cast<const auth::CustomAuthGrant>(request.custom);
            if (!grant->authenticated) {
                return http::ApiError{401, "UnauthorizedException", "Unauthorized"};
            }
            if (request.operation != http::Operation::publish) {
                return http::ApiError{403, "ForbiddenException", "Forbidden"};
            }
            peer.transport = broker::Transport::tls;
            peer.principal = grant->principal_id;
            peer.custom = std::move(grant);
        } else if (request.certificate_id.empty()) {
            return std::nullopt;
        } else {
            peer.transport = broker::Transport::tls;
            peer.certificate_id = request.certificate_id;
            peer.principal = request.certificate_id;
        }
        peer.address = request.address;
        namespace actions = policy::actions;
        auto& a = *authorizer;
        bool allowed = false;
        switch (request.operation) {
            case http::Operation::get_thing_shadow:
                allowed = a.authorize_rest(peer, actions::get_thing_shadow, "thing", request.resource);
                break;
            case http::Operation::update_thing_shadow:
                allowed = a.authorize_rest(peer, actions::update_thing_shadow, "thing",
                                           request.shadow_name.empty()
                                               ? request.resource
                                               : request.resource + "/" + request.shadow_name);
                break;
            case http::Operation::delete_thing_shadow:
                allowed = a.authorize_rest(peer, actions::delete_thing_shadow, "thing", request.resource);
                break;
            case http::Operation::list_named_shadows_for_thing:
                allowed = a.authorize_rest(peer, actions::list_named_shadows_for_thing, "thing", request.resource);
                break;
            case http::Operation::publish:
                allowed = a.authorize_rest(peer, actions::publish, "topic", request.resource) &&
                          (!request.retain || a.authorize_rest(peer, actions::retain_publish, "topic", request.resource));
                break;
            case http::Operation::list_retained_messages:
                allowed = a.authorize_rest(peer, actions::list_retained_messages, "", "");
                break;
            case http::Operation::get_retained_message:
                allowed = a.authorize_rest(peer, actions::get_retained_message, "topic", request.resource);
                break;
        }
        if (allowed) {
            return std::nullopt;
        }
        return http::ApiError{403, "ForbiddenException", "Forbidden"};
    }

    /// iotsim's own read-only view of everything inside (`GET /iotsim/world`; not an AWS API, so
    /// under a path no AWS operation uses): what `iotsim diagram --endpoint` draws. AWS has no
    /// API listing connected clients and their subscriptions; iotsim shows them because a
    /// student's diagram of their own running lab should. SigV4 applies as to every request.
    static constexpr std::string_view world_path = "/iotsim/world";

    http::Response world_response(const http::Request& request) {
        http::Response response;
        response.headers.push_back({"Content-Type", "application/json"});
        response.headers.push_back({"x-amzn-RequestId", router->next_request_id()});
        if (request.method != "GET") {
            response.status = 405;
            response.headers.push_back({"x-amzn-ErrorType", "MethodNotAllowedException"});
            response.headers.push_back({"Allow", "GET"});
            response.body = R"({"message":"Method Not Allowed: GET only"})";
            return response;
        }
        nlohmann::json world = iotcore::describe_world(*broker);
        world["registry"] = registry::describe_registry(*registry);
        world["endpoint"] = options.endpoint;
        world["listeners"] = {{"mqtt", plain.local_endpoint().port()},
                              {"mqtts", secure.local_endpoint().port()},
                              {"http", http_plain.local_endpoint().port()},
                              {"https", http_secure.local_endpoint().port()},
                              {"wss", http_wss.local_endpoint().port()}};
        response.body = world.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        return response;
    }

    /// The registry from DATA_DIR/iotsim.db, its control plane and the policy authorizer. On an
    /// empty registry (first start, or a data directory from before the registry existed) the
    /// demo device certificate (device.cert.pem) is registered ACTIVE with the allow-all policy
    /// `iotsim-demo-policy` attached, so the demo device and the labs connect as before.
    void open_registry(const PkiFiles& pki) {
        registry::RegistryOptions registry_options;
        registry_options.data_endpoint = options.endpoint;
        registry = std::make_unique<registry::Registry>(*registry_store, registry_rng, registry_options);
        try {
            registry->recover();
        } catch (const std::exception& e) {
            throw StartupError(std::string("cannot recover the registry from ") +
                               (options.data_dir / "iotsim.db").string() + ": " + e.what());
        }
        try {
            issuer = std::make_unique<LocalCertificateIssuer>(pki.root_ca_cert, pki.root_ca_key);
        } catch (const PkiError& e) {
            throw StartupError(e.what());
        }
        control_plane = std::make_unique<registry::ControlPlaneRouter>(*registry, control_plane_rng);
        control_plane->set_certificate_issuer(issuer.get());
        auth::PolicyAuthorizerOptions authorizer_options;
        authorizer_options.local_policy = options.plain_policy;
        authorizer = std::make_unique<auth::PolicyAuthorizer>(*registry, authorizer_options);
        seed_demo_identity(pki);
    }

    void seed_demo_identity(const PkiFiles& pki) {
        registry::ListCertificatesInput none;
        none.page.size = 1;
        if (!registry->list_certificates(none).items.empty() || !registry->list_policies(none).items.empty()) {
            return;
        }
        std::ifstream in(pki.device_cert, std::ios::binary);
        const std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const Now now = read_clocks();
        try {
            const registry::CertificateRecord& cert =
                registry->add_issued_certificate(pem, registry::CertificateStatus::active, now);
            const std::string cert_arn = registry->certificate_arn(cert.id);
            registry->create_policy(demo_policy_name, demo_policy_document, {}, now);
            registry->attach_policy(demo_policy_name, cert_arn, now);
            // Logged once startup has succeeded: a failed start prints its one error line only.
            startup_notes.push_back("registered demo device certificate " + cert.id + " with policy " +
                                    demo_policy_name);
        } catch (const std::exception& e) {
            throw StartupError(std::string("cannot register the demo device certificate: ") + e.what());
        }
    }

    static constexpr const char* demo_policy_name = "iotsim-demo-policy";
    static constexpr const char* demo_policy_document =
        R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]})";

    void listen(Acceptor& acceptor, std::uint16_t port, std::string_view what) {
        error_code ec;
        const auto address = asio::ip::make_address(options.host, ec);
        if (ec) {
            throw StartupError("invalid --host " + options.host + ": " + ec.message());
        }
        const tcp::endpoint endpoint(address, port);
        acceptor.open(endpoint.protocol(), ec);
        if (!ec) {
            acceptor.set_option(Acceptor::reuse_address(true), ec);
        }
        if (!ec) {
            acceptor.bind(endpoint, ec);
        }
        if (!ec) {
            acceptor.listen(asio::socket_base::max_listen_connections, ec);
        }
        if (ec) {
            throw StartupError("cannot listen for " + std::string(what) + " on " + options.host + ":" +
                               std::to_string(port) + ": " + ec.message());
        }
    }

    /// Waits for the epoll set of plain connections to have events, then hands them out.
    void watch_ready() {
        ready_set->async_wait(asio::posix::descriptor_base::wait_read, [this](error_code e) {
            if (e) {
                return;  // the server is going away
            }
            dispatch_ready();
            watch_ready();
        });
    }

    /// One batch of events (at most ready_events.size(): Asio re-checks the set when the wait is
    /// started again, so what remains comes next, after other handlers have had their turn).
    void dispatch_ready() {
        const int n = ::epoll_wait(ready_fd, ready_events.data(), static_cast<int>(ready_events.size()), 0);
        for (int i = 0; i < n; ++i) {
            const auto it = conns.find(ready_events[static_cast<std::size_t>(i)].data.u64);
            if (it == conns.end()) {
                continue;  // closed since the event was queued
            }
            const boost::intrusive_ptr<Conn> conn = it->second;  // may close (and leave conns) meanwhile
            conn->on_ready(ready_events[static_cast<std::size_t>(i)].events);
        }
    }

    void accept_loop(Acceptor& acceptor, bool use_tls) {
        acceptor.async_accept([this, &acceptor, use_tls](error_code e, Socket sock) {
            if (e == asio::error::operation_aborted || stopping) {
                return;
            }
            if (e) {
                // EMFILE and friends: say so and keep accepting after a breath.
                log_line("accept_failed reason=\"" + e.message() + "\"");
                auto t = std::make_shared<Timer>(io, std::chrono::milliseconds(100));
                t->async_wait([this, t, &acceptor, use_tls](error_code) { accept_loop(acceptor, use_tls); });
                return;
            }
            const broker::ConnectionId id{next_connection++};
            const boost::intrusive_ptr<Conn> conn(new Conn(*this, id, std::move(sock), use_tls));
            conns.emplace(id.value, conn);
            conn->start();
            accept_loop(acceptor, use_tls);
        });
    }

    void apply(broker::Effects effects) {
        for (auto& effect : effects) {
            // A reference held while the connection acts: closing takes it out of `conns`, and an
            // idle plain connection has no handler in flight that would keep it alive.
            if (auto* s = std::get_if<broker::Send>(&effect)) {
                if (auto it = conns.find(s->connection.value); it != conns.end()) {
                    const boost::intrusive_ptr<Conn> conn = it->second;
                    conn->send(std::move(s->bytes));
                }
            } else if (auto* c = std::get_if<broker::Close>(&effect)) {
                if (auto it = conns.find(c->connection.value); it != conns.end()) {
                    const boost::intrusive_ptr<Conn> conn = it->second;
                    conn->close_requested();
                }
            } else if (auto* t = std::get_if<broker::ArmTimer>(&effect)) {
                arm(t->deadline);
            } else if (auto* ev = std::get_if<broker::Event>(&effect)) {
                log_event(*ev);
            }
        }
        if (action_worker) {
            action_worker->submit(broker->take_rule_actions());
        }
    }

    void arm(Instant deadline) {
        broker_timer.expires_at(std::chrono::steady_clock::time_point(
            std::chrono::duration_cast<std::chrono::steady_clock::duration>(deadline.since_epoch)));
        broker_timer.async_wait([this](error_code e) {
            if (!e) {
                apply(broker->timer_fired(read_clocks()));
            }
        });
    }

    void log_event(const broker::Event& ev) {
        if (ev.severity == broker::Severity::debug) {
            return;
        }
        std::string line = ev.kind + " conn=" + std::to_string(ev.connection.value);
        if (!ev.client_id.empty()) {
            line += " client_id=" + ev.client_id;
        }
        if (auto it = conns.find(ev.connection.value); it != conns.end()) {
            const Conn& conn = *it->second;
            line += " from=" + conn.address.text() + ":" + std::to_string(conn.port) + " via=" +
                    std::string(transport_name(conn.transport));
        }
        if (!ev.detail.empty()) {
            line += " (" + ev.detail + ")";
        }
        log_line(line);
    }

    void begin_shutdown() {
        if (stopping) {
            return;
        }
        stopping = true;
        log_line("shutting_down connections=" + std::to_string(conns.size()));
        error_code ec;
        plain.close(ec);
        secure.close(ec);
        http_plain.close(ec);
        http_secure.close(ec);
        http_wss.close(ec);
        signals.cancel(ec);
        std::vector<std::shared_ptr<HttpConn>> https;
        for (auto& [id, c] : http_conns) {
            https.push_back(c);
        }
        for (auto& c : https) {
            c->close();
        }
        // Connections still in their TLS handshake never reached the broker: just close them.
        std::vector<boost::intrusive_ptr<Conn>> pending;
        for (auto& [id, c] : conns) {
            if (!c->accepted) {
                pending.push_back(c);
            }
        }
        for (auto& c : pending) {
            c->close_socket();
        }
        apply(broker->shutdown(read_clocks()));
        broker_timer.cancel();
        shutdown_timer.expires_after(shutdown_grace);
        shutdown_timer.async_wait([this](error_code e) {
            if (!e) {
                io.stop();
            }
        });
        maybe_finish_shutdown();
    }

    void maybe_finish_shutdown() {
        if (stopping && conns.empty() && http_conns.empty()) {
            shutdown_timer.cancel();
            broker_timer.cancel();
            io.stop();
        }
    }
};

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) { impl_->open(); }

Server::~Server() = default;

std::uint16_t Server::mqtt_port() const { return impl_->plain.local_endpoint().port(); }
std::uint16_t Server::mqtts_port() const { return impl_->secure.local_endpoint().port(); }
std::uint16_t Server::http_port() const { return impl_->http_plain.local_endpoint().port(); }
std::uint16_t Server::https_port() const { return impl_->http_secure.local_endpoint().port(); }
std::uint16_t Server::wss_port() const { return impl_->http_wss.local_endpoint().port(); }

void Server::run() {
    Impl& s = *impl_;
    s.watch_ready();
    s.accept_loop(s.plain, false);
    s.accept_loop(s.secure, true);
    s.http_accept_loop(s.http_plain, nullptr);
    s.http_accept_loop(s.http_secure, &s.https_tls);
    s.http_accept_loop(s.http_wss, &s.wss_tls);
    s.io.run();
    s.store->commit();
}

void Server::stop() {
    asio::post(impl_->io, [this] { impl_->begin_shutdown(); });
}

}  // namespace iotsim::net
