// TLS handshake benchmark with client certificates, for any MQTT broker (iotsim, mosquitto).
// Shares no code with iotsim: plain OpenSSL 3 and POSIX sockets.
//
// Each of C worker threads repeatedly: connects over TCP, performs a full TLS handshake
// presenting a client certificate (no session resumption: no session is ever offered; the
// sessions and TLS 1.3 tickets the server sends are counted and dropped), sends an MQTT 3.1.1
// CONNECT (clean session, a new client id per connection unless --reuse-client-ids) and waits
// for the CONNACK, which must have return code 0; then sends DISCONNECT and closes. N such
// connections are made in total. Anything else (refused TCP connection, failed handshake, bad
// or missing CONNACK, timeout) counts as an error.
//
// Latency is per connection, from connect() to the CONNACK. The rate is successful connections
// per second of wall time from the first connect to the last close.
//
// Prints one human-readable line on stderr and one JSON line on stdout.
// Usage: see --help.
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string host = "127.0.0.1";
    int port = 8883;
    std::string cafile;
    std::string cert;
    std::string key;
    std::string sni = "localhost";
    std::string label = "server";
    std::string tls = "auto";  // auto | 1.2 | 1.3
    long count = 1000;
    int concurrency = 1;
    long warmup = 10;
    int timeout_ms = 10000;
    bool verify_server = true;
    bool reuse_client_ids = false;
};

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: iotsim_tls_bench --port P --cafile CA --cert CERT --key KEY [options]\n"
                 "  --host H        server address [127.0.0.1]\n"
                 "  --port P        MQTT over TLS port [8883]\n"
                 "  --cafile F      CA that signed the server certificate (verified)\n"
                 "  --cert F        client certificate (PEM)\n"
                 "  --key F         client private key (PEM)\n"
                 "  --sni NAME      server name sent in the handshake [localhost]\n"
                 "  --no-verify     do not verify the server certificate\n"
                 "  --tls V         auto | 1.2 | 1.3: the protocol version; auto = the highest both\n"
                 "                  sides support [auto]\n"
                 "  -n N            connections (handshake + CONNECT/CONNACK) to measure [1000]\n"
                 "  -c C            concurrent worker threads [1]\n"
                 "  --warmup W      connections made (and not measured) before the run [10]\n"
                 "  --timeout MS    per-connection timeout for each step [10000]\n"
                 "  --label NAME    name in the output [server]\n"
                 "  --reuse-client-ids  each worker uses one client id for all its connections\n"
                 "                  (default: a new client id per connection, as many devices)\n"
                 "Output: a summary on stderr, one JSON line on stdout.\n");
}

bool parse_args(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "tls_bench: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "-h" || a == "--help") {
            usage(stdout);
            std::exit(0);
        } else if (a == "--host") {
            o.host = next();
        } else if (a == "--port") {
            o.port = std::atoi(next());
        } else if (a == "--cafile") {
            o.cafile = next();
        } else if (a == "--cert") {
            o.cert = next();
        } else if (a == "--key") {
            o.key = next();
        } else if (a == "--sni") {
            o.sni = next();
        } else if (a == "--no-verify") {
            o.verify_server = false;
        } else if (a == "--tls") {
            o.tls = next();
        } else if (a == "-n") {
            o.count = std::atol(next());
        } else if (a == "-c") {
            o.concurrency = std::atoi(next());
        } else if (a == "--warmup") {
            o.warmup = std::atol(next());
        } else if (a == "--timeout") {
            o.timeout_ms = std::atoi(next());
        } else if (a == "--reuse-client-ids") {
            o.reuse_client_ids = true;
        } else if (a == "--label") {
            o.label = next();
        } else {
            std::fprintf(stderr, "tls_bench: unknown argument %s\n", a.c_str());
            return false;
        }
    }
    if (o.cert.empty() || o.key.empty() || (o.verify_server && o.cafile.empty())) {
        std::fprintf(stderr, "tls_bench: --cert, --key and --cafile (or --no-verify) are required\n");
        return false;
    }
    if (o.port <= 0 || o.port > 65535 || o.count <= 0 || o.concurrency <= 0 || o.warmup < 0 ||
        o.timeout_ms <= 0 || (o.tls != "auto" && o.tls != "1.2" && o.tls != "1.3")) {
        std::fprintf(stderr, "tls_bench: bad argument value\n");
        return false;
    }
    return true;
}

/// Sessions (TLS 1.3 NewSessionTicket messages, TLS 1.2 full handshakes) the servers sent.
std::atomic<long> tickets_received{0};

std::string ssl_errors() {
    std::string out;
    unsigned long e = 0;
    while ((e = ERR_get_error()) != 0) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) {
            out += "; ";
        }
        out += buf;
    }
    return out;
}

SSL_CTX* make_context(const Options& o) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == nullptr) {
        return nullptr;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (o.tls == "1.2") {
        SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    } else if (o.tls == "1.3") {
        SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    }
    // Full handshakes only: no session is ever offered (none is kept), and TLS 1.2 tickets are
    // not asked for. TLS 1.3 servers send tickets anyway: they are counted (the callback sees
    // each one; the client-side cache mode only enables it) and dropped.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, [](SSL*, SSL_SESSION*) -> int {
        tickets_received.fetch_add(1, std::memory_order_relaxed);
        return 0;  // not kept: OpenSSL frees it
    });
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    if (SSL_CTX_use_certificate_chain_file(ctx, o.cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, o.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        std::fprintf(stderr, "tls_bench: cannot load the client certificate/key: %s\n", ssl_errors().c_str());
        SSL_CTX_free(ctx);
        return nullptr;
    }
    if (o.verify_server) {
        if (SSL_CTX_load_verify_locations(ctx, o.cafile.c_str(), nullptr) != 1) {
            std::fprintf(stderr, "tls_bench: cannot load the CA file: %s\n", ssl_errors().c_str());
            SSL_CTX_free(ctx);
            return nullptr;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    }
    return ctx;
}

/// Waits until `fd` is readable/writable as SSL wants; false on timeout.
bool wait_fd(int fd, short events, Clock::time_point deadline) {
    while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) {
            return false;
        }
        pollfd p{fd, events, 0};
        const int r = ::poll(&p, 1, static_cast<int>(left));
        if (r > 0) {
            return true;
        }
        if (r < 0 && errno != EINTR) {
            return false;
        }
    }
}

/// Drives a non-blocking SSL operation until it completes; returns its result (> 0 success).
template <class Op>
int drive(SSL* ssl, int fd, Clock::time_point deadline, Op op) {
    while (true) {
        const int r = op();
        if (r > 0) {
            return r;
        }
        const int err = SSL_get_error(ssl, r);
        if (err == SSL_ERROR_WANT_READ) {
            if (!wait_fd(fd, POLLIN, deadline)) {
                return -2;
            }
        } else if (err == SSL_ERROR_WANT_WRITE) {
            if (!wait_fd(fd, POLLOUT, deadline)) {
                return -2;
            }
        } else {
            return r == 0 ? 0 : -1;
        }
    }
}

struct Target {
    sockaddr_storage addr{};
    socklen_t addr_len = 0;
};

bool resolve(const Options& o, Target& t) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(o.port);
    if (::getaddrinfo(o.host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) {
        return false;
    }
    std::memcpy(&t.addr, res->ai_addr, res->ai_addrlen);
    t.addr_len = static_cast<socklen_t>(res->ai_addrlen);
    ::freeaddrinfo(res);
    return true;
}

/// An MQTT 3.1.1 CONNECT: clean session, keep-alive 60 s, the given client id.
std::string connect_packet(const std::string& client_id) {
    std::string var;
    var += std::string("\x00\x04MQTT\x04\x02\x00\x3c", 10);  // protocol name, level 4, clean, ka 60
    var += static_cast<char>((client_id.size() >> 8) & 0xFF);
    var += static_cast<char>(client_id.size() & 0xFF);
    var += client_id;
    std::string pkt;
    pkt += '\x10';
    std::size_t len = var.size();
    do {
        std::uint8_t b = len % 128;
        len /= 128;
        if (len > 0) {
            b |= 0x80;
        }
        pkt += static_cast<char>(b);
    } while (len > 0);
    pkt += var;
    return pkt;
}

struct Outcome {
    bool ok = false;
    double latency_us = 0;
    std::string error;          // when !ok
    std::string version;        // negotiated, when the handshake succeeded
    std::string cipher;
};

Outcome one_connection(SSL_CTX* ctx, const Options& o, const Target& t, const std::string& client_id) {
    Outcome out;
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::milliseconds(o.timeout_ms);
    const int fd = ::socket(t.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        out.error = std::string("socket: ") + std::strerror(errno);
        return out;
    }
    SSL* ssl = nullptr;
    auto finish = [&](const std::string& error) {
        out.error = error;
        if (ssl != nullptr) {
            SSL_free(ssl);
        }
        ::close(fd);
        return out;
    };
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&t.addr), t.addr_len) != 0) {
        return finish(std::string("connect: ") + std::strerror(errno));
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // Blocking with timeouts: a timed-out read or write surfaces as WANT_READ/WANT_WRITE and
    // drive() then polls until the connection's deadline.
    timeval tv{};
    tv.tv_sec = o.timeout_ms / 1000;
    tv.tv_usec = (o.timeout_ms % 1000) * 1000;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ssl = SSL_new(ctx);
    if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1) {
        return finish("SSL_new: " + ssl_errors());
    }
    if (!o.sni.empty()) {
        SSL_set_tlsext_host_name(ssl, o.sni.c_str());
    }
    const int hs = drive(ssl, fd, deadline, [&] { return SSL_connect(ssl); });
    if (hs <= 0) {
        const long verify = SSL_get_verify_result(ssl);
        std::string why = hs == -2 ? "handshake timeout" : "handshake failed: " + ssl_errors();
        if (verify != X509_V_OK) {
            why += std::string(" (server certificate: ") + X509_verify_cert_error_string(verify) + ")";
        }
        return finish(why);
    }
    out.version = SSL_get_version(ssl);
    out.cipher = SSL_get_cipher_name(ssl);
    const std::string pkt = connect_packet(client_id);
    std::size_t written = 0;
    const int w = drive(ssl, fd, deadline, [&] {
        return SSL_write_ex(ssl, pkt.data(), pkt.size(), &written) == 1 ? 1 : 0;
    });
    if (w <= 0 || written != pkt.size()) {
        return finish("CONNECT write failed: " + ssl_errors());
    }
    unsigned char connack[4];
    std::size_t got = 0;
    while (got < sizeof connack) {
        std::size_t n = 0;
        const int r = drive(ssl, fd, deadline, [&] {
            return SSL_read_ex(ssl, connack + got, sizeof connack - got, &n) == 1 ? 1 : 0;
        });
        if (r <= 0) {
            const std::string detail = ssl_errors();
            if (r == -2) {
                return finish("CONNACK timeout");
            }
            // TLS 1.3: a server that rejects the client certificate says so only after the
            // client's handshake "completed", so the alert arrives here.
            return finish("no CONNACK (connection closed" + (detail.empty() ? std::string() : ": " + detail) +
                          ")");
        }
        got += n;
    }
    if (connack[0] != 0x20 || connack[1] != 0x02) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "not a CONNACK: %02x %02x", connack[0], connack[1]);
        return finish(buf);
    }
    if (connack[3] != 0) {
        return finish("CONNACK return code " + std::to_string(connack[3]));
    }
    out.latency_us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    // Polite close: DISCONNECT, close_notify, close.
    static const char disconnect[2] = {'\xe0', '\x00'};
    std::size_t ignored = 0;
    SSL_write_ex(ssl, disconnect, sizeof disconnect, &ignored);
    SSL_shutdown(ssl);
    SSL_free(ssl);
    ::close(fd);
    out.ok = true;
    return out;
}

double percentile(std::vector<double>& sorted, double p) {
    if (sorted.empty()) {
        return 0;
    }
    const double rank = p * static_cast<double>(sorted.size() - 1);
    const auto lo = static_cast<std::size_t>(rank);
    const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - static_cast<double>(lo));
}

double cpu_seconds() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (!parse_args(argc, argv, o)) {
        usage(stderr);
        return 2;
    }
    Target target;
    if (!resolve(o, target)) {
        std::fprintf(stderr, "tls_bench: cannot resolve %s\n", o.host.c_str());
        return 2;
    }
    SSL_CTX* ctx = make_context(o);
    if (ctx == nullptr) {
        return 2;
    }
    const std::string id_prefix = "tlsbench-" + std::to_string(::getpid()) + "-";

    // Warm-up (not measured): also shows a misconfiguration before the run.
    std::string version;
    std::string cipher;
    for (long i = 0; i < o.warmup; ++i) {
        Outcome w = one_connection(ctx, o, target, id_prefix + "w" + std::to_string(i));
        if (!w.ok) {
            std::fprintf(stderr, "tls_bench[%s]: warm-up connection failed: %s\n", o.label.c_str(), w.error.c_str());
            SSL_CTX_free(ctx);
            return 1;
        }
        version = w.version;
        cipher = w.cipher;
    }

    tickets_received.store(0);
    std::atomic<long> next{0};
    std::mutex mu;
    std::vector<double> latencies;
    latencies.reserve(static_cast<std::size_t>(o.count));
    long errors = 0;
    std::vector<std::string> first_errors;
    const double cpu_start = cpu_seconds();
    const auto start = Clock::now();
    std::vector<std::thread> workers;
    for (int w = 0; w < o.concurrency; ++w) {
        workers.emplace_back([&, w] {
            std::vector<double> mine;
            long my_errors = 0;
            std::vector<std::string> my_first;
            std::string v;
            std::string c;
            while (true) {
                const long i = next.fetch_add(1);
                if (i >= o.count) {
                    break;
                }
                Outcome r = one_connection(ctx, o, target,
                                           o.reuse_client_ids ? id_prefix + std::to_string(w)
                                                              : id_prefix + std::to_string(w) + "-" + std::to_string(i));
                if (r.ok) {
                    mine.push_back(r.latency_us);
                    v = r.version;
                    c = r.cipher;
                } else {
                    ++my_errors;
                    if (my_first.size() < 3) {
                        my_first.push_back(r.error);
                    }
                }
            }
            std::lock_guard<std::mutex> lock(mu);
            latencies.insert(latencies.end(), mine.begin(), mine.end());
            errors += my_errors;
            for (auto& e : my_first) {
                if (first_errors.size() < 5) {
                    first_errors.push_back(std::move(e));
                }
            }
            if (!v.empty()) {
                version = v;
                cipher = c;
            }
        });
    }
    for (auto& t : workers) {
        t.join();
    }
    const double wall = std::chrono::duration<double>(Clock::now() - start).count();
    const double cpu = cpu_seconds() - cpu_start;
    SSL_CTX_free(ctx);

    std::sort(latencies.begin(), latencies.end());
    const double ok = static_cast<double>(latencies.size());
    const double rate = ok / wall;
    const double p50 = percentile(latencies, 0.50) / 1000.0;
    const double p99 = percentile(latencies, 0.99) / 1000.0;
    const double max = latencies.empty() ? 0 : latencies.back() / 1000.0;
    std::fprintf(stderr,
                 "tls_bench[%s]: %s %s, %ld connections at concurrency %d: %.1f handshakes/s, "
                 "p50 %.2f ms, p99 %.2f ms, max %.2f ms, %ld errors, %.2f s wall, client CPU %.0f us/handshake, "
                 "%.2f sessions received per connection\n",
                 o.label.c_str(), version.c_str(), cipher.c_str(), o.count, o.concurrency, rate, p50, p99, max,
                 errors, wall, ok > 0 ? 1e6 * cpu / ok : 0.0,
                 static_cast<double>(tickets_received.load()) / static_cast<double>(o.count));
    for (const std::string& e : first_errors) {
        std::fprintf(stderr, "tls_bench[%s]: error: %s\n", o.label.c_str(), e.c_str());
    }
    std::printf("{\"label\":\"%s\",\"tls\":\"%s\",\"cipher\":\"%s\",\"n\":%ld,\"c\":%d,\"ok\":%zu,"
                "\"errors\":%ld,\"wall_s\":%.3f,\"rate\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
                "\"client_cpu_s\":%.3f,\"sessions\":%ld}\n",
                o.label.c_str(), version.c_str(), cipher.c_str(), o.count, o.concurrency, latencies.size(), errors,
                wall, rate, p50, p99, max, cpu, tickets_received.load());
    return errors == 0 ? 0 : 1;
}
