// `iotsim`: the command-line tool. Subcommands: serve (the local AWS IoT Core endpoint).
// Every user error (a wrong flag, a busy port, an unwritable data dir) is one line on stderr and
// exit code 2; never a stack trace.

#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "iotsim/net/server.hpp"
#include "iotsim/storage/sqlite_store.hpp"
#include "iotsim_version.hpp"

namespace po = boost::program_options;

namespace {

constexpr int exit_usage = 2;

const char* const usage_text =
    "iotsim " IOTSIM_VERSION " - AWS IoT Core, offline, free and reproducible\n"
    "\n"
    "Usage:\n"
    "  iotsim serve [options]   run the local AWS IoT Core endpoint (MQTT 3.1.1 and 5)\n"
    "  iotsim --version         print the version\n"
    "  iotsim --help            this text; `iotsim serve --help` lists the serve options\n";

int usage_error(const std::string& message) {
    std::cerr << "iotsim: " << message << " (see `iotsim --help`)\n";
    return exit_usage;
}

template <class T>
bool port_in_range(const po::variables_map& vm, const char* name, std::string& error) {
    const int v = vm[name].as<int>();
    if (v < 0 || v > 65535) {
        error = std::string("--") + name + " must be a port number from 0 to 65535, got " + std::to_string(v);
        return false;
    }
    return true;
}

int serve(const std::vector<std::string>& args) {
    iotsim::net::ServerOptions options;
    int mqtt_port = 1883;
    int mqtts_port = 8883;
    int http_port = 8080;
    int https_port = 8443;
    std::string data_dir = ".iotsim";
    po::options_description desc("iotsim serve options");
    desc.add_options()
        ("help,h", "show this help")
        ("data-dir", po::value(&data_dir)->default_value(".iotsim"),
         "directory for the local CA, certificates and iotsim.db (created if missing)")
        ("host", po::value(&options.host)->default_value("127.0.0.1"), "address to listen on")
        ("mqtt-port", po::value(&mqtt_port)->default_value(1883),
         "plain MQTT port (a local convenience: AWS has no unauthenticated port); 0 = any free port")
        ("mqtts-port", po::value(&mqtts_port)->default_value(8883),
         "MQTT over TLS with client certificates, as AWS IoT Core; 0 = any free port")
        ("http-port", po::value(&http_port)->default_value(8080), "HTTP API port (reserved: shadow and control plane)")
        ("https-port", po::value(&https_port)->default_value(8443), "HTTPS API port (reserved)")
        ("endpoint", po::value(&options.endpoint)->default_value(options.endpoint),
         "device data endpoint host name (in the server certificate)")
        ("session-expiry", po::value<unsigned>()->default_value(3600),
         "persistent session expiry in seconds (AWS default 3600, at most 604800)");
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(desc).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        return usage_error(e.what());
    }
    if (vm.count("help") != 0U) {
        std::cout << desc << '\n';
        return 0;
    }
    std::string error;
    for (const char* name : {"mqtt-port", "mqtts-port", "http-port", "https-port"}) {
        if (!port_in_range<int>(vm, name, error)) {
            return usage_error(error);
        }
    }
    const unsigned expiry = vm["session-expiry"].as<unsigned>();
    if (expiry == 0 || expiry > 604800) {
        return usage_error("--session-expiry must be from 1 to 604800 seconds");
    }
    options.broker.session_expiry_max_s = expiry;
    options.data_dir = data_dir;
    options.mqtt_port = static_cast<std::uint16_t>(mqtt_port);
    options.mqtts_port = static_cast<std::uint16_t>(mqtts_port);
    options.handle_signals = true;
    try {
        iotsim::net::Server server(options);
        std::cout << "iotsim: listening mqtt=" << options.host << ":" << server.mqtt_port()
                  << " mqtts=" << options.host << ":" << server.mqtts_port() << " data-dir=" << data_dir << std::endl;
        server.run();
        std::cout << "iotsim: stopped" << std::endl;
        return 0;
    } catch (const iotsim::net::StartupError& e) {
        std::cerr << "iotsim: " << e.what() << '\n';
        return exit_usage;
    } catch (const iotsim::storage::StoreError& e) {
        std::cerr << "iotsim: storage failure: " << e.what() << '\n';
        return 1;
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) {
        std::cerr << usage_text;
        return exit_usage;
    }
    const std::string command = args.front();
    if (command == "--help" || command == "-h" || command == "help") {
        std::cout << usage_text;
        return 0;
    }
    if (command == "--version" || command == "-V") {
        std::cout << "iotsim " IOTSIM_VERSION "\n";
        return 0;
    }
    if (command == "serve") {
        return serve(std::vector<std::string>(args.begin() + 1, args.end()));
    }
    return usage_error("unknown command '" + command + "'");
}
