// `iotsim`: the command-line tool. Subcommands: serve (the local AWS IoT Core endpoint).
// Every user error (a wrong flag, a busy port, an unwritable data dir) is one line on stderr and
// exit code 2; never a stack trace.

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

#include <boost/program_options.hpp>

#include <chrono>
#include <fstream>
#include <iomanip>

#include "iotsim/net/credentials.hpp"
#include "iotsim/net/server.hpp"
#include "iotsim/sim/scenario.hpp"
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
    "  iotsim run SCENARIO [--seed N] [--until 10m] [--trace out.jsonl]\n"
    "                           run a deterministic simulation; prints a summary, then trace-hash\n"
    "  iotsim diagram SCENARIO [--kind architecture|sequence] [-o out.svg] ...\n"
    "  iotsim diagram --endpoint http://127.0.0.1:8080 [-o out.svg]\n"
    "                           draw a simulated world, its message sequence, or a running\n"
    "                           server's clients, topics, rules, shadows and registry (Graphviz)\n"
    "  iotsim grade --lab LAB SUBMISSION...\n"
    "                           grade lab submissions (Gradescope results.json and a report)\n"
    "  iotsim report NOTEBOOK... [--out lab-report]\n"
    "                           run notebooks headless into a Markdown report with figures\n"
    "  iotsim outputs [--data-dir .iotsim] [KIND [RESOURCE]] [--json]\n"
    "                           print what rule actions wrote to the local stand-ins\n"
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
    int wss_port = 4443;
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
        ("http-port", po::value(&http_port)->default_value(8080),
         "iot-data REST API over plain HTTP (shadows, Publish, retained messages); 0 = any free port")
        ("wss-port", po::value(&wss_port)->default_value(4443),
         "AWS's port 443: HTTPS and MQTT over WebSocket (GET /mqtt, SigV4-presigned or a custom "
         "authorizer), MQTT with ALPN \"mqtt\" (custom authorizers); no client certificate "
         "requested; 0 = any free port")
        ("https-port", po::value(&https_port)->default_value(8443),
         "iot-data REST API over HTTPS (the server certificate from DATA_DIR); 0 = any free port")
        ("endpoint", po::value(&options.endpoint)->default_value(options.endpoint),
         "device data endpoint host name (in the server certificate)")
        ("plain-principal", po::value(&options.plain_principal)->default_value(options.plain_principal),
         "the principal of clients on the plain MQTT port (lifecycle events, logs)")
        ("plain-policy", po::value(&options.plain_policy),
         "authorize plain-port clients by this IoT policy of the registry (its default version, "
         "with ${iot:ClientId}) instead of allowing them everything")
        ("session-expiry", po::value<unsigned>()->default_value(3600),
         "persistent session expiry in seconds (AWS default 3600, at most 604800)")
        ("credentials", po::value<std::string>(),
         "an AWS credentials file (~/.aws/credentials format: aws_access_key_id and "
         "aws_secret_access_key per profile) whose keys are accepted too; HTTP requests must be "
         "SigV4-signed with one of them or with DATA_DIR/credentials (written on first start)");
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
    for (const char* name : {"mqtt-port", "mqtts-port", "http-port", "https-port", "wss-port"}) {
        if (!port_in_range<int>(vm, name, error)) {
            return usage_error(error);
        }
    }
    const unsigned expiry = vm["session-expiry"].as<unsigned>();
    if (expiry == 0 || expiry > 604800) {
        return usage_error("--session-expiry must be from 1 to 604800 seconds");
    }
    options.broker.session_expiry_max_s = expiry;
    if (vm.count("credentials") != 0U) {
        const std::string path = vm["credentials"].as<std::string>();
        if (auto bad = iotsim::net::read_credentials_file(path, options.aws_credentials)) {
            return usage_error("--credentials " + path + ": " + *bad);
        }
    }
    options.data_dir = data_dir;
    options.mqtt_port = static_cast<std::uint16_t>(mqtt_port);
    options.mqtts_port = static_cast<std::uint16_t>(mqtts_port);
    options.http_port = static_cast<std::uint16_t>(http_port);
    options.https_port = static_cast<std::uint16_t>(https_port);
    options.wss_port = static_cast<std::uint16_t>(wss_port);
    options.handle_signals = true;
    try {
        iotsim::net::Server server(options);
        std::cout << "iotsim: listening mqtt=" << options.host << ":" << server.mqtt_port()
                  << " mqtts=" << options.host << ":" << server.mqtts_port() << " http=" << options.host << ":"
                  << server.http_port() << " https=" << options.host << ":" << server.https_port() << " wss=" << options.host << ":"
                  << server.wss_port()
                  << " data-dir=" << data_dir << std::endl;
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


int run(const std::vector<std::string>& args) {
    po::options_description desc("iotsim run SCENARIO options");
    std::string scenario_path;
    std::string until_text;
    std::string trace_path;
    std::uint64_t seed = 0;
    desc.add_options()
        ("help,h", "show this help")
        ("scenario", po::value(&scenario_path), "scenario file (JSON, format version 1 or 2; see sim/scenarios/README.md)")
        ("seed", po::value(&seed), "seed (overrides the scenario's)")
        ("until", po::value(&until_text), "virtual time to run to, e.g. 10m (overrides the scenario's duration)")
        ("trace", po::value(&trace_path), "write every trace record as JSON Lines to this file");
    po::positional_options_description pos;
    pos.add("scenario", 1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        return usage_error(e.what());
    }
    if (vm.count("help") != 0U) {
        std::cout << desc << '\n';
        return 0;
    }
    if (scenario_path.empty()) {
        return usage_error("run needs a scenario file");
    }
    try {
        iotsim::sim::Scenario scenario = iotsim::sim::load_scenario(scenario_path);
        if (vm.count("seed") != 0U) {
            scenario.options.seed = seed;
        }
        if (!until_text.empty()) {
            scenario.duration = iotsim::sim::parse_duration(until_text, "--until");
        }
        scenario.options.keep_trace = !trace_path.empty();
        auto sim = iotsim::sim::build_simulation(scenario);
        const auto started = std::chrono::steady_clock::now();  // wall time of the run, for the summary only
        sim->run_until(iotsim::Instant{scenario.duration});
        const auto& violations = sim->finish_checks();
        const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::uint64_t published = 0, acked = 0, received = 0, connects = 0, disconnects = 0, crashes = 0;
        std::uint64_t tls_failures = 0, connects_refused = 0, revocations = 0;
        for (const auto& d : sim->device_stats()) {
            published += d.published;
            acked += d.acked;
            received += d.received;
            connects += d.connects;
            disconnects += d.disconnects;
            crashes += d.crashes;
            tls_failures += d.tls_failures;
            connects_refused += d.connects_refused;
            revocations += d.revocations;
        }
        const double virt_s = static_cast<double>(scenario.duration.count()) / 1e9;
        std::cout << "scenario: " << scenario.name << "  seed: " << scenario.options.seed << "\n"
                  << "virtual time: " << virt_s << " s in " << std::fixed << std::setprecision(3) << wall_s
                  << " s wall (" << std::setprecision(0) << (wall_s > 0 ? virt_s / wall_s : 0.0) << "x)\n"
                  << "devices: " << sim->device_count() << "  connects: " << connects << "  disconnects: " << disconnects
                  << "  crashes: " << crashes << "\n"
                  << "published: " << published << "  acknowledged: " << acked << "  delivered: " << received << "\n"
                  << "events: " << sim->events_processed() << "  trace records: " << sim->trace().count() << "\n";
        if (!scenario.options.registry.certificates.empty()) {
            std::cout << "certificates: " << scenario.options.registry.certificates.size()
                      << "  tls handshakes refused: " << tls_failures << "  connects refused: " << connects_refused
                      << "  revoked connections: " << revocations << "\n";
        }
        if (const auto* b = sim->broker()) {
            const auto& st = b->stats();
            std::cout << "broker: publishes " << st.publishes_received << "  deliveries " << st.messages_delivered
                      << "  qos1 dropped (session queue full) " << st.qos1_dropped_queue_full
                      << "  qos0 dropped (slow consumer) " << st.qos0_dropped_slow_consumer << "  expired "
                      << st.messages_expired << "\n";
        }
        if (!trace_path.empty()) {
            std::ofstream out(trace_path);
            if (!out) {
                std::cerr << "iotsim: cannot write " << trace_path << '\n';
                return exit_usage;
            }
            sim->trace().write_jsonl(out);
        }
        int rc = 0;
        if (!violations.empty()) {
            std::cout << "checks: " << violations.size() << " violation(s)\n";
            for (const auto& v : violations) {
                std::cout << "  " << v << '\n';
            }
            std::cout << "repro: iotsim run " << scenario_path << " --seed " << scenario.options.seed << '\n';
            rc = 1;
        } else {
            std::cout << "checks: ok\n";
        }
        std::cout << "trace-hash: " << sim->trace().hash_hex() << std::endl;
        return rc;
    } catch (const iotsim::sim::ScenarioError& e) {
        std::cerr << "iotsim: " << e.what() << '\n';
        return exit_usage;
    } catch (const std::invalid_argument& e) {
        std::cerr << "iotsim: " << e.what() << '\n';
        return exit_usage;
    }
}

}  // namespace

/// `iotsim diagram`, `grade`, `report` and `outputs` are Python (python/iotsim): run `python3 -m MODULE ARGS`
/// with Debian's interpreter and the package next to this binary (build/<preset>/python) first on
/// PYTHONPATH. Returns only on failure.
int run_python_module(const char* argv0, const std::string& command, const std::string& module,
                      const std::vector<std::string>& args) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (ec) {
        self = fs::absolute(argv0);
    }
    const fs::path package_dir = self.parent_path() / "python";
    std::string pythonpath = package_dir.string();
    if (const char* old = std::getenv("PYTHONPATH"); old != nullptr && *old != '\0') {
        pythonpath += ":" + std::string(old);
    }
    ::setenv("PYTHONPATH", pythonpath.c_str(), 1);
    const char* python = std::getenv("IOTSIM_PYTHON");
    const std::string interpreter = python != nullptr ? python : "/usr/bin/python3";
    std::vector<std::string> full{interpreter, "-m", module};
    full.insert(full.end(), args.begin() + 1, args.end());
    std::vector<char*> cargv;
    for (auto& a : full) {
        cargv.push_back(a.data());
    }
    cargv.push_back(nullptr);
    ::execv(interpreter.c_str(), cargv.data());
    std::cerr << "iotsim: " << command << " needs Debian's python3 at " << interpreter
              << " (set IOTSIM_PYTHON to another interpreter)\n";
    return exit_usage;
}

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
    if (command == "run") {
        return run(std::vector<std::string>(args.begin() + 1, args.end()));
    }
    if (command == "diagram") {
        return run_python_module(argv[0], command, "iotsim.diagram", args);
    }
    if (command == "grade") {
        return run_python_module(argv[0], command, "iotsim.grading", args);
    }
    if (command == "report") {
        return run_python_module(argv[0], command, "iotsim.report", args);
    }
    if (command == "outputs") {
        return run_python_module(argv[0], command, "iotsim.outputs", args);
    }
    if (command == "serve") {
        return serve(std::vector<std::string>(args.begin() + 1, args.end()));
    }
    return usage_error("unknown command '" + command + "'");
}
