// The http action's real POST to a local server (status, refusal, timeout, header injection,
// https refused offline), the timestream action's local table, and the runner's blocking waits
// under signals (EINTR), through ActionRunner::run so that failures reach the errorAction.

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "iotsim/actions/action_runner.hpp"

namespace iotsim::test {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/iotsim-actions-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::vector<std::string> read_lines(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

ruleset::RuleActionRequest request(std::vector<ruleset::RenderedAction> actions,
                                   std::optional<ruleset::RenderedAction> error_action = std::nullopt,
                                   std::string payload = R"({"temp":3})") {
    ruleset::RuleActionRequest r;
    r.rule_name = "rule1";
    r.topic = "in/topic";
    r.client_id = "dev";
    r.trace_id = "00000000-0000-4000-8000-000000000000";
    r.original_payload = payload;
    r.payload = std::move(payload);
    r.actions = std::move(actions);
    r.error_action = std::move(error_action);
    return r;
}

ruleset::RenderedAction action(int index, std::string type, json config) {
    return ruleset::RenderedAction{index, std::move(type), std::move(config)};
}

ruleset::RenderedAction error_republish() { return action(-1, "republish", {{"topic", "errors"}}); }

/// A socket bound to 127.0.0.1 on a port the kernel picks.
int bound_loopback_socket(int& port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    BOOST_REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port = ntohs(addr.sin_port);
    return fd;
}

/// A one-connection HTTP server on 127.0.0.1, in a thread: reads one request (its head and a
/// Content-Length body), answers `response` (nothing when empty), then waits for the client to
/// close. Every wait is bounded so that a broken client fails the test instead of hanging it.
class OneShotServer {
public:
    explicit OneShotServer(std::string response) : response_(std::move(response)) {
        listener_ = bound_loopback_socket(port_);
        BOOST_REQUIRE(::listen(listener_, 1) == 0);
        thread_ = std::thread([this] { serve(); });
    }
    ~OneShotServer() {
        join();
        ::close(listener_);
    }
    OneShotServer(const OneShotServer&) = delete;
    OneShotServer& operator=(const OneShotServer&) = delete;

    [[nodiscard]] std::string url(const std::string& target) const {
        return "http://127.0.0.1:" + std::to_string(port_) + target;
    }
    [[nodiscard]] int port() const { return port_; }
    /// The request as received, once the connection is over.
    const std::string& received() {
        join();
        return received_;
    }

private:
    void join() {
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    static bool readable(int fd) {
        pollfd p{fd, POLLIN, 0};
        return ::poll(&p, 1, 5000) == 1;
    }
    void serve() {
        if (!readable(listener_)) {
            return;
        }
        const int conn = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (conn < 0) {
            return;
        }
        char buf[4096];
        while (readable(conn)) {
            const ssize_t n = ::recv(conn, buf, sizeof buf, 0);
            if (n <= 0) {
                break;
            }
            received_.append(buf, static_cast<std::size_t>(n));
            const auto head_end = received_.find("\r\n\r\n");
            const auto length_at = received_.find("Content-Length: ");
            if (head_end != std::string::npos && length_at != std::string::npos &&
                received_.size() >= head_end + 4 + std::stoul(received_.substr(length_at + 16))) {
                break;
            }
        }
        if (!response_.empty()) {
            (void)::send(conn, response_.data(), response_.size(), MSG_NOSIGNAL);
        }
        while (readable(conn) && ::recv(conn, buf, sizeof buf, 0) > 0) {
        }
        ::close(conn);
    }

    std::string response_;
    int listener_ = -1;
    int port_ = 0;
    std::string received_;
    std::thread thread_;
};

extern "C" void ignore_signal(int) {}

/// Sends SIGUSR1 to the constructing thread every few ms, with a handler installed without
/// SA_RESTART, so that the thread's blocking calls keep failing with EINTR. The handler stays
/// installed afterwards: a signal still pending then must find it.
class SignalStorm {
public:
    SignalStorm() : target_(::pthread_self()) {
        struct sigaction sa {};
        sa.sa_handler = ignore_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;
        BOOST_REQUIRE(::sigaction(SIGUSR1, &sa, nullptr) == 0);
        thread_ = std::thread([this] {
            while (!stop_) {
                ::pthread_kill(target_, SIGUSR1);
                ++sent_;
                std::this_thread::sleep_for(std::chrono::milliseconds(3));
            }
        });
    }
    ~SignalStorm() {
        stop_ = true;
        thread_.join();
    }
    SignalStorm(const SignalStorm&) = delete;
    SignalStorm& operator=(const SignalStorm&) = delete;
    [[nodiscard]] int sent() const { return sent_; }

private:
    pthread_t target_;
    std::atomic<bool> stop_{false};
    std::atomic<int> sent_{0};
    std::thread thread_;
};

/// How many file descriptors the process has open: the same before and after a run, when every
/// path closes what it opened.
std::size_t open_fds() {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator()));
}

json only_line(const fs::path& p) {
    const auto lines = read_lines(p);
    BOOST_REQUIRE_EQUAL(lines.size(), 1U);
    return json::parse(lines[0]);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_action)

BOOST_AUTO_TEST_CASE(an_http_action_posts_the_payload_and_configured_headers_and_a_2xx_is_success) {
    TempDir dir;
    OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    const std::string url = server.url("/ingest?x=1");
    actions::FileActionRunner runner(dir.path);
    auto out = runner.run(request({action(0, "http", {{"url", url},
                                                      {"confirmationUrl", server.url("/")},
                                                      {"headers", {{{"key", "X-Api-Key"}, {"value", "secret"}}}}})},
                                  error_republish()));
    BOOST_TEST(out.empty());
    BOOST_TEST(runner.stats().failed == 0U);
    const std::string& got = server.received();
    BOOST_TEST(got.starts_with("POST /ingest?x=1 HTTP/1.1\r\n"));
    BOOST_TEST(got.find("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n") != std::string::npos);
    BOOST_TEST(got.find("\r\nContent-Type: application/json\r\n") != std::string::npos);
    BOOST_TEST(got.find("\r\nContent-Length: 10\r\n") != std::string::npos);
    BOOST_TEST(got.find("\r\nConnection: close\r\n") != std::string::npos);
    BOOST_TEST(got.find("\r\nX-Api-Key: secret\r\n") != std::string::npos);
    BOOST_TEST(got.ends_with("\r\n\r\n{\"temp\":3}"));
    const json logged = only_line(dir.path / "http/requests.jsonl");
    BOOST_TEST(logged["url"] == url);
    BOOST_TEST(logged["status"] == 200);
    BOOST_TEST(logged["payload"] == R"({"temp":3})");
}

BOOST_AUTO_TEST_CASE(a_configured_content_type_replaces_the_default_one) {
    TempDir dir;
    OneShotServer server("HTTP/1.1 204 No Content\r\n\r\n");
    actions::FileActionRunner runner(dir.path);
    (void)runner.run(request({action(0, "http", {{"url", server.url("")},
                                                  {"headers", {{{"key", "content-type"}, {"value", "text/plain"}}}}})},
                             std::nullopt, "plain text"));
    BOOST_TEST(runner.stats().failed == 0U);
    const std::string& got = server.received();
    BOOST_TEST(got.starts_with("POST / HTTP/1.1\r\n"));
    BOOST_TEST(got.find("\r\ncontent-type: text/plain\r\n") != std::string::npos);
    BOOST_TEST(got.find("Content-Type: application/") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_500_answer_is_a_failure_routed_to_the_error_action_with_the_status) {
    TempDir dir;
    OneShotServer server("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
    const std::string url = server.url("/x");
    actions::FileActionRunner runner(dir.path);
    auto out = runner.run(request({action(0, "http", {{"url", url}})}, error_republish()));
    BOOST_REQUIRE_EQUAL(out.size(), 1U);
    BOOST_TEST(out[0].topic == "errors");
    const json failure = json::parse(out[0].payload)["failures"][0];
    BOOST_TEST(failure["failedAction"] == "HttpAction");
    BOOST_TEST(failure["failedResource"] == url);
    const std::string message = failure["errorMessage"].get<std::string>();
    BOOST_TEST(message.starts_with("Failed to send HTTP request. The error received was "));
    BOOST_TEST(message.find("500") != std::string::npos);
    BOOST_TEST(runner.stats().error_actions == 1U);
    BOOST_TEST(only_line(dir.path / "http/requests.jsonl")["status"] == 500);
}

BOOST_AUTO_TEST_CASE(a_refused_connection_is_a_failure) {
    TempDir dir;
    int port = 0;
    ::close(bound_loopback_socket(port));  // a port nobody listens on
    actions::FileActionRunner runner(dir.path);
    const std::size_t fds = open_fds();
    auto out = runner.run(
        request({action(0, "http", {{"url", "http://127.0.0.1:" + std::to_string(port) + "/"}})}, error_republish()));
    BOOST_REQUIRE_EQUAL(out.size(), 1U);
    const std::string message = json::parse(out[0].payload)["failures"][0]["errorMessage"].get<std::string>();
    BOOST_TEST(message.starts_with("Failed to send HTTP request."));
    BOOST_TEST(message.find("refused") != std::string::npos, message);
    BOOST_TEST(only_line(dir.path / "http/requests.jsonl").contains("error"));
    BOOST_TEST(open_fds() == fds);
}

BOOST_AUTO_TEST_CASE(a_server_that_never_answers_fails_after_the_timeout) {
    TempDir dir;
    const std::size_t fds = open_fds();
    OneShotServer server("");  // reads the request, answers nothing
    actions::FileActionRunner runner(dir.path, std::chrono::milliseconds(3000), std::chrono::milliseconds(200));
    const auto start = std::chrono::steady_clock::now();
    auto out = runner.run(request({action(0, "http", {{"url", server.url("/slow")}})}, error_republish()));
    const auto took = std::chrono::steady_clock::now() - start;
    BOOST_TEST(server.received().starts_with("POST /slow HTTP/1.1\r\n"));
    BOOST_REQUIRE_EQUAL(out.size(), 1U);
    const std::string message = json::parse(out[0].payload)["failures"][0]["errorMessage"].get<std::string>();
    BOOST_TEST(message.find("timed out after 200 ms") != std::string::npos, message);
    BOOST_TEST(took >= std::chrono::milliseconds(200));
    BOOST_TEST(took < std::chrono::milliseconds(2000));
    BOOST_TEST(open_fds() == fds + 1);  // the server's listening socket, until it goes
}

BOOST_AUTO_TEST_CASE(a_header_key_or_value_with_cr_or_lf_is_refused_before_anything_is_sent) {
    TempDir dir;
    actions::FileActionRunner runner(dir.path);
    // Nothing listens on port 9 of 127.0.0.1: a request that got that far would fail differently.
    const std::string url = "http://127.0.0.1:9/";
    auto out = runner.run(request(
        {action(0, "http", {{"url", url}, {"headers", {{{"key", "X-A"}, {"value", "v\r\nX-Injected: 1"}}}}}),
         action(1, "http", {{"url", url}, {"headers", {{{"key", "X-B\nX-Injected"}, {"value", "1"}}}}}),
         action(2, "http", {{"url", url}, {"headers", {{{"key", "Content-Length"}, {"value", "1"}}}}})},
        error_republish()));
    BOOST_REQUIRE_EQUAL(out.size(), 1U);
    const json failures = json::parse(out[0].payload)["failures"];
    BOOST_REQUIRE_EQUAL(failures.size(), 3U);
    BOOST_TEST(failures[0]["errorMessage"].get<std::string>().find("CR, LF") != std::string::npos);
    BOOST_TEST(failures[1]["errorMessage"].get<std::string>().find("CR, LF") != std::string::npos);
    BOOST_TEST(failures[2]["errorMessage"].get<std::string>().find("set by iotsim") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_https_url_is_refused_because_iotsim_cannot_verify_it_offline) {
    TempDir dir;
    actions::FileActionRunner runner(dir.path);
    auto out = runner.run(request({action(0, "http", {{"url", "https://example.com/ingest"}}),
                                   action(1, "http", {{"url", "ftp://example.com/"}}),
                                   action(2, "http", {{"url", "http://user@127.0.0.1/"}})},
                                  error_republish()));
    BOOST_REQUIRE_EQUAL(out.size(), 1U);
    const json failures = json::parse(out[0].payload)["failures"];
    BOOST_REQUIRE_EQUAL(failures.size(), 3U);
    BOOST_TEST(failures[0]["errorMessage"].get<std::string>().find("https:// urls cannot be verified offline") !=
               std::string::npos);
    BOOST_TEST(failures[1]["errorMessage"].get<std::string>().find("not an http:// url") != std::string::npos);
    BOOST_TEST(failures[2]["errorMessage"].get<std::string>().find("user information") != std::string::npos);
    BOOST_TEST(read_lines(dir.path / "http/requests.jsonl").size() == 3U);
}

BOOST_AUTO_TEST_CASE(every_file_descriptor_is_closed_after_success_failure_and_timeout) {
    TempDir dir;
    fs::create_directories(dir.path / "lambda");
    {
        std::ofstream f(dir.path / "lambda/hang");
        f << "#!/bin/sh\nexec sleep 5\n";
    }
    fs::permissions(dir.path / "lambda/hang", fs::perms::owner_all);
    actions::FileActionRunner runner(dir.path, std::chrono::milliseconds(100), std::chrono::milliseconds(100));
    const std::size_t fds = open_fds();
    {
        OneShotServer ok("HTTP/1.1 201 Created\r\n\r\n");
        OneShotServer failing("HTTP/1.0 503 Service Unavailable\r\n\r\n");
        OneShotServer silent("");
        (void)runner.run(request({action(0, "http", {{"url", ok.url("/")}}),
                                  action(1, "http", {{"url", failing.url("/")}}),
                                  action(2, "http", {{"url", silent.url("/")}}),
                                  action(3, "http", {{"url", "http://127.0.0.1:9/"}}),
                                  action(4, "lambda", {{"functionArn", "arn:aws:lambda:us-east-1:1:function:hang"}})}));
    }
    BOOST_TEST(runner.stats().failed == 4U);
    BOOST_TEST(open_fds() == fds);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(interrupted_waits)

BOOST_AUTO_TEST_CASE(lambda_and_http_waits_interrupted_by_signals_resume_with_the_time_that_is_left) {
    TempDir dir;
    fs::create_directories(dir.path / "lambda");
    {
        std::ofstream f(dir.path / "lambda/slow");
        f << "#!/bin/sh\nsleep 0.2\ncat\n";
        std::ofstream g(dir.path / "lambda/hang");
        g << "#!/bin/sh\nexec sleep 5\n";
    }
    for (const char* n : {"slow", "hang"}) {
        fs::permissions(dir.path / "lambda" / n, fs::perms::owner_all);
    }
    OneShotServer server("");  // never answers
    actions::FileActionRunner runner(dir.path, std::chrono::milliseconds(600), std::chrono::milliseconds(300));
    SignalStorm storm;

    // Waited for to the end: the function's output is in its log when run() returns.
    (void)runner.run(request({action(0, "lambda", {{"functionArn", "arn:aws:lambda:us-east-1:1:function:slow"}})}));
    BOOST_TEST(!runner.records().back().error.has_value());
    BOOST_TEST(read_lines(dir.path / "lambda/slow.log") == std::vector<std::string>{R"({"temp":3})"});

    auto start = std::chrono::steady_clock::now();
    (void)runner.run(request({action(0, "lambda", {{"functionArn", "arn:aws:lambda:us-east-1:1:function:hang"}})}));
    auto took = std::chrono::steady_clock::now() - start;
    BOOST_TEST(runner.records().back().error->find("timed out after 600 ms") != std::string::npos);
    BOOST_TEST(took >= std::chrono::milliseconds(600));
    BOOST_TEST(took < std::chrono::milliseconds(3000));

    start = std::chrono::steady_clock::now();
    (void)runner.run(request({action(0, "http", {{"url", server.url("/")}})}));
    took = std::chrono::steady_clock::now() - start;
    BOOST_TEST(runner.records().back().error->find("timed out after 300 ms") != std::string::npos);
    BOOST_TEST(took >= std::chrono::milliseconds(300));
    BOOST_TEST(took < std::chrono::milliseconds(3000));
    BOOST_TEST(storm.sent() > 50);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(timestream_action)

BOOST_AUTO_TEST_CASE(timestream_writes_one_record_per_measure_with_the_dimensions_and_types) {
    TempDir dir;
    actions::FileActionRunner runner(dir.path);
    const json config{{"databaseName", "db1"},
                      {"tableName", "tab1"},
                      {"dimensions", {{{"name", "device"}, {"value", "d1"}}, {{"name", "site"}, {"value", "s1"}}}},
                      {"timestamp", {{"value", "1700000000000"}, {"unit", "MILLISECONDS"}}}};
    auto out = runner.run(
        request({action(0, "timestream", config)}, error_republish(),
                R"({"temp":21.5,"count":3,"ok":true,"label":"kitchen","device":"d1","nested":{"a":1},"list":[1]})"));
    BOOST_TEST(out.empty());
    BOOST_TEST(runner.stats().failed == 0U);
    const auto lines = read_lines(dir.path / "timestream/db1/tab1.jsonl");
    // The dimension "device" is no measure; the nested object and the array are not written.
    BOOST_REQUIRE_EQUAL(lines.size(), 4U);
    const json dimensions = json::parse(R"([{"name":"device","value":"d1"},{"name":"site","value":"s1"}])");
    const std::vector<std::tuple<std::string, std::string, std::string>> expected{
        {"count", "3", "BIGINT"},
        {"label", "kitchen", "VARCHAR"},
        {"ok", "true", "BOOLEAN"},
        {"temp", "21.5", "DOUBLE"}};
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const json r = json::parse(lines[i]);
        BOOST_TEST(r["dimensions"] == dimensions);
        BOOST_TEST(r["measureName"] == std::get<0>(expected[i]));
        BOOST_TEST(r["measureValue"] == std::get<1>(expected[i]));
        BOOST_TEST(r["measureValueType"] == std::get<2>(expected[i]));
        BOOST_TEST(r["time"] == "1700000000000");
        BOOST_TEST(r["timeUnit"] == "MILLISECONDS");
    }
}

BOOST_AUTO_TEST_CASE(a_timestream_record_without_a_timestamp_gets_the_wall_clock_time_in_ms) {
    TempDir dir;
    actions::FileActionRunner runner(dir.path, std::chrono::milliseconds(3000), std::chrono::milliseconds(3000),
                                     [] { return WallTime{std::chrono::milliseconds(1700000000123)}; });
    (void)runner.run(request({action(0, "timestream", {{"databaseName", "db1"},
                                                       {"tableName", "tab1"},
                                                       {"dimensions", {{{"name", "device"}, {"value", "d1"}}}}})}));
    BOOST_TEST(runner.stats().failed == 0U);
    const json r = only_line(dir.path / "timestream/db1/tab1.jsonl");
    BOOST_TEST(r["measureName"] == "temp");
    BOOST_TEST(r["time"] == "1700000000123");
    BOOST_TEST(r["timeUnit"] == "MILLISECONDS");
}

BOOST_AUTO_TEST_CASE(a_timestream_payload_that_is_not_a_json_object_fails_to_the_error_action) {
    TempDir dir;
    actions::FileActionRunner runner(dir.path);
    const json config{{"databaseName", "db1"},
                      {"tableName", "tab1"},
                      {"dimensions", {{{"name", "device"}, {"value", "d1"}}}},
                      {"timestamp", {{"value", "1700000000"}, {"unit", "SECONDS"}}}};
    for (const char* payload : {"[1,2]", "not json", "42"}) {
        auto out = runner.run(request({action(0, "timestream", config)}, error_republish(), payload));
        BOOST_REQUIRE_EQUAL(out.size(), 1U);
        const json failure = json::parse(out[0].payload)["failures"][0];
        BOOST_TEST(failure["failedAction"] == "TimestreamAction");
        BOOST_TEST(failure["failedResource"] == "db1/tab1");
        BOOST_TEST(failure["errorMessage"] ==
                   "Failed to write records to Timestream. The error received was The payload is not a JSON object");
    }
    BOOST_TEST(runner.stats().failed == 3U);
    BOOST_TEST(!fs::exists(dir.path / "timestream/db1/tab1.jsonl"));
    // A table name that would leave the database folder fails too.
    auto out = runner.run(request({action(0, "timestream", {{"databaseName", "db1"}, {"tableName", "../x"}})},
                                  error_republish()));
    BOOST_REQUIRE_EQUAL(out.size(), 1U);
    BOOST_TEST(!fs::exists(dir.path / "timestream/x.jsonl"));
}

BOOST_AUTO_TEST_CASE(the_memory_runner_records_http_and_timestream_and_injects_their_failures) {
    actions::MemoryActionRunner runner;
    runner.wall_clock = [] { return WallTime{std::chrono::milliseconds(1767225600000)}; };
    runner.fail_resources = {"https://down.example.com/", "db1/down"};
    const json dims = json::array({{{"name", "device"}, {"value", "d1"}}});
    const json up{{"databaseName", "db1"}, {"tableName", "up"}, {"dimensions", dims}};
    const json down{{"databaseName", "db1"}, {"tableName", "down"}, {"dimensions", dims}};
    (void)runner.run(request({action(0, "http", {{"url", "https://up.example.com/"}}),
                              action(1, "http", {{"url", "https://down.example.com/"}}), action(2, "timestream", up),
                              action(3, "timestream", down)},
                             action(-1, "sns", {{"targetArn", "alerts"}})));
    BOOST_REQUIRE_EQUAL(runner.records().size(), 5U);
    BOOST_TEST(!runner.records()[0].error.has_value());
    BOOST_TEST(runner.records()[1].error.has_value());
    BOOST_TEST(runner.records()[2].resource == "db1/up");
    BOOST_TEST(!runner.records()[2].error.has_value());
    // The memory stand-in keeps what the file one writes: one record per measure, at the
    // runner's (virtual) wall time.
    const json& records = runner.records()[2].entry;
    BOOST_REQUIRE(records.is_array());
    BOOST_REQUIRE(!records.empty());
    BOOST_TEST(records[0]["time"] == "1767225600000");
    BOOST_TEST(records[0]["dimensions"] == dims);
    BOOST_TEST(runner.records()[0].entry["url"] == "https://up.example.com/");
    BOOST_TEST(runner.records()[3].error.has_value());
    const json failures = json::parse(runner.records()[4].payload)["failures"];
    BOOST_REQUIRE_EQUAL(failures.size(), 2U);
    BOOST_TEST(failures[0]["failedAction"] == "HttpAction");
    BOOST_TEST(failures[1]["failedResource"] == "db1/down");
    (void)runner.run(request({action(0, "timestream", up)}, std::nullopt, "[1]"));
    BOOST_TEST(runner.records().back().error->starts_with("Failed to write records to Timestream."));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace iotsim::test
