#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "iotsim/broker/config.hpp"
#include "iotsim/shadow/service.hpp"

namespace iotsim::net {

/// Where and how `iotsim serve` listens. Port 0 lets the OS choose (tests use it).
struct ServerOptions {
    std::filesystem::path data_dir = ".iotsim";
    std::string host = "127.0.0.1";
    std::uint16_t mqtt_port = 1883;    // plain MQTT: a local convenience, AWS has none
    std::uint16_t mqtts_port = 8883;   // MQTT over TLS with client certificates, as AWS
    std::uint16_t http_port = 8080;    // iot-data REST API, plain HTTP (a local convenience)
    std::uint16_t https_port = 8443;   // iot-data REST API over TLS (client certificate optional)
    /// AWS's port 443 (without ALPN): HTTPS and MQTT over WebSocket (GET /mqtt), SigV4 only; no
    /// client certificate is requested.
    std::uint16_t wss_port = 4443;
    /// The name DescribeEndpoint returns; also in the server certificate.
    std::string endpoint = "iotsim-ats.iot.us-east-1.localhost";
    /// Principal of clients on the plain port.
    std::string plain_principal = "iotsim-local";
    /// "" : plain-port clients are allowed everything (a local convenience); otherwise the IoT
    /// policy of that name (its default version) authorizes them, with ${iot:ClientId}.
    std::string plain_policy;
    broker::BrokerConfig broker;
    shadow::ShadowOptions shadow;
    /// Access key id -> secret accepted by SigV4 on the HTTP ports besides DATA_DIR/credentials
    /// (written with fresh keys on first start): every HTTP request is checked.
    std::map<std::string, std::string, std::less<>> aws_credentials;
    /// Shut down gracefully on SIGINT/SIGTERM (handlers are installed before the constructor
    /// returns, so a signal right after the ready line is never lost).
    bool handle_signals = false;
    /// Log lines (one per connect/disconnect); defaults to stderr.
    std::function<void(const std::string&)> log;
};

/// A startup failure the user can fix: busy port, unwritable data dir, unreadable keys. `iotsim`
/// prints what() on one line and exits with code 2.
class StartupError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The network host: the only code that includes Boost.Asio. It owns the sockets, TLS (OpenSSL),
/// the clocks and a single thread, and drives one iotcore::IotCore (the broker and its services)
/// with the bytes it reads on the MQTT ports, carrying out its effects; on the HTTP ports it feeds
/// the bytes to http::HttpConnection (the iot-data REST API) over the same IotCore. Output is bounded per connection: the broker stops
/// sending QoS 0 (dropped) and QoS 1 (kept in the session queue) to a connection with more than
/// BrokerConfig::output_bytes_max unwritten bytes, and the host stops reading from a connection
/// whose own unwritten output exceeds twice that, until the peer reads.
class Server {
public:
    /// Opens the data directory, the store and the listeners. Throws StartupError.
    explicit Server(ServerOptions options);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    [[nodiscard]] std::uint16_t mqtt_port() const;
    [[nodiscard]] std::uint16_t mqtts_port() const;
    [[nodiscard]] std::uint16_t http_port() const;
    [[nodiscard]] std::uint16_t https_port() const;
    [[nodiscard]] std::uint16_t wss_port() const;

    /// Runs until stop() or SIGINT/SIGTERM (when ServerOptions::handle_signals), then shuts down
    /// gracefully.
    void run();
    /// Thread-safe: asks run() to shut down.
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace iotsim::net
