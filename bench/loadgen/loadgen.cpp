// iotsim_loadgen - a small, fast MQTT 3.1.1 load generator for broker benchmarks.
//
// Deliberately independent of iotsim: it has its own minimal MQTT codec (CONNECT,
// CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK, PINGREQ/PINGRESP) and drives all
// connections from one thread with non-blocking sockets and edge-triggered epoll.
// Publishers are pipelined (many PUBLISH packets per write). Every mode prints
// exactly one JSON line on stdout; diagnostics go to stderr. See --help.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace {

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);  // == std::chrono::steady_clock on Linux
  return int64_t(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// printf helpers (%llu / %lld) without C-style casts
unsigned long long ull(uint64_t v) { return v; }
long long ll(int64_t v) { return v; }

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------
struct Options {
  std::string mode;
  std::string host = "127.0.0.1";
  int port = 1883;
  int publishers = -1, subscribers = -1, qos = -1;
  int64_t messages = -1;   // per publisher
  int payload = 64;
  int64_t window = -1;     // end-to-end window (messages published but not yet delivered)
  int pub_window = 100;    // QoS 1: PUBLISHes not yet PUBACKed by the broker
  double rate = -1;        // msgs/s per publisher, 0 = unlimited
  double seconds = -1;     // latency: duration; fanin/qos1/fanout: publish for this long
  int connections = 10000; // idle mode
  double hold = 5;         // idle mode: seconds to keep connections open
  int keepalive = -1;
  double timeout = 60;          // overall run timeout once publishing starts
  double connect_timeout = 15;  // all connections (and subscriptions) must be ready by then
  double drain = 3;             // give up if nothing arrives for this long after sending ended
  int concurrency = 256;        // idle mode: handshakes in flight at once
  bool single_topic = false;
  std::string ready_file, topic_prefix, client_prefix = "lg", source_addrs = "auto";
};

const char* kHelp = R"(iotsim_loadgen - MQTT 3.1.1 broker load generator (one JSON result line on stdout)

usage: iotsim_loadgen MODE [options]

modes:
  fanin    P publishers -> 1 subscriber, QoS 0 (default P=10, 50000 msgs each).
           Publisher i publishes to PREFIX/fanin/i, the subscriber subscribes to
           PREFIX/fanin/+ (PREFIX = bench/PID). Reports messages received per second
           at the subscriber.
  qos1     1 publisher -> 1 subscriber at QoS 1 (default 100000 msgs). The publisher
           keeps at most --pub-window (100) PUBLISHes un-PUBACKed by the broker; the
           subscriber subscribes with QoS 1 and PUBACKs every message.
  fanout   1 publisher -> S subscribers (default S=100, 10000 msgs), QoS 0, one topic.
           Reports deliveries per second (messages x subscribers).
  latency  1 publisher at a fixed --rate (1000 msg/s) for --seconds (10) -> 1 subscriber.
           The payload carries the send time (CLOCK_MONOTONIC, same process);
           reports p50/p90/p99/p99.9/max latency in microseconds.
  idle     Opens --connections (10000) idle MQTT connections (keep-alive 1200 s,
           distinct client ids), waits for all CONNACKs, touches --ready-file, keeps
           them open for --hold (5) seconds, then exits.

options (defaults depend on the mode):
  --host ADDR            broker IPv4 address (127.0.0.1)
  --port N               broker port (1883)
  --publishers N         number of publishing connections
  --subscribers N        number of subscribing connections
  --messages N           messages per publisher (latency: default rate*seconds)
  --seconds S            latency: duration (10). fanin/qos1/fanout: instead of
                         --messages, publish for S seconds, then wait for those
                         messages to be delivered (equally long runs for fast and
                         slow brokers)
  --payload BYTES        payload size (64; latency needs >= 16)
  --qos 0|1              QoS of publishes and subscriptions
  --window N             end-to-end flow control: a publisher only sends while fewer
                         than N published messages are still undelivered to the
                         subscribers (default: QoS 0 max(100, 20000/subscribers),
                         QoS 1 1000; 0 = unlimited). Keeps the broker saturated
                         without letting its queues grow without bound. A publisher
                         waits until >= 1/4 of the window is free, so that writes
                         stay batched. If nothing is delivered for
                         1 s while the window is full, the outstanding messages are
                         written off as lost (counted in window_resets).
  --pub-window N         QoS 1 publisher: max PUBLISHes awaiting PUBACK (100);
                         refilled in chunks of >= 1/4 of it
  --rate R               messages/s per publisher, 0 = as fast as possible
  --connections N        idle mode connection count (10000)
  --hold S               idle mode: seconds to hold connections after all CONNACKs (5)
  --ready-file PATH      idle mode: file created once all connections are up
  --concurrency N        idle mode: max connection handshakes in flight (256)
  --source-addrs LIST    comma-separated local IPv4 addresses to bind (round robin),
                         'none', or 'auto' (default: for loopback brokers use
                         127.0.0.1, 127.0.0.2, ... one per 20000 connections)
  --keepalive S          MQTT keep-alive seconds (60; idle: 1200)
  --single-topic         fanin: all publishers use one topic, no wildcard
  --topic-prefix P       topic prefix (bench/PID)
  --client-prefix P      client id prefix (lg); ids are P-MODE-PID-ROLE-INDEX
  --timeout S            max seconds for the measured phase (60)
  --connect-timeout S    max seconds to get all CONNACKs/SUBACKs (15)
  --drain S              stop if nothing is received for S seconds after the last
                         publish was sent (3)
  -h, --help             this text

exit status: 0 ok; 1 usage/connect/protocol error (message on stderr, JSON line with
"ok":false on stdout); 3 run finished but incomplete (messages lost, timeout, or not
all idle connections established).
)";

[[noreturn]] void usage_error(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "iotsim_loadgen: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n(see --help)\n");
  va_end(ap);
  exit(1);
}

int64_t parse_int(const char* flag, const char* v, int64_t lo, int64_t hi) {
  char* end = nullptr;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (errno || !end || *end || x < lo || x > hi)
    usage_error("invalid value for %s: '%s' (expected integer %lld..%lld)", flag, v, ll(lo),
                ll(hi));
  return x;
}

double parse_double(const char* flag, const char* v, double lo, double hi) {
  char* end = nullptr;
  errno = 0;
  double x = strtod(v, &end);
  if (errno || !end || *end || !(x >= lo && x <= hi))
    usage_error("invalid value for %s: '%s' (expected number %g..%g)", flag, v, lo, hi);
  return x;
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-h" || a == "--help") {
      fputs(kHelp, stdout);
      exit(0);
    }
    if (a.substr(0, 2) != "--") {
      if (!o.mode.empty()) usage_error("unexpected argument '%s'", argv[i]);
      o.mode = a;
      continue;
    }
    if (a == "--single-topic") {
      o.single_topic = true;
      continue;
    }
    if (i + 1 >= argc) usage_error("missing value for %s", argv[i]);
    const char* f = argv[i];
    const char* v = argv[++i];
    if (a == "--host") o.host = v;
    else if (a == "--port") o.port = int(parse_int(f, v, 1, 65535));
    else if (a == "--publishers") o.publishers = int(parse_int(f, v, 0, 100000));
    else if (a == "--subscribers") o.subscribers = int(parse_int(f, v, 0, 100000));
    else if (a == "--messages") o.messages = parse_int(f, v, 0, int64_t(1) << 40);
    else if (a == "--payload") o.payload = int(parse_int(f, v, 0, 16 << 20));
    else if (a == "--qos") o.qos = int(parse_int(f, v, 0, 1));
    else if (a == "--window") o.window = parse_int(f, v, 0, int64_t(1) << 40);
    else if (a == "--pub-window") o.pub_window = int(parse_int(f, v, 1, 65535));
    else if (a == "--rate") o.rate = parse_double(f, v, 0, 1e9);
    else if (a == "--seconds") o.seconds = parse_double(f, v, 0.001, 1e6);
    else if (a == "--connections") o.connections = int(parse_int(f, v, 1, 1000000));
    else if (a == "--hold") o.hold = parse_double(f, v, 0, 1e6);
    else if (a == "--ready-file") o.ready_file = v;
    else if (a == "--concurrency") o.concurrency = int(parse_int(f, v, 1, 100000));
    else if (a == "--source-addrs") o.source_addrs = v;
    else if (a == "--keepalive") o.keepalive = int(parse_int(f, v, 0, 65535));
    else if (a == "--topic-prefix") o.topic_prefix = v;
    else if (a == "--client-prefix") o.client_prefix = v;
    else if (a == "--timeout") o.timeout = parse_double(f, v, 0.001, 1e6);
    else if (a == "--connect-timeout") o.connect_timeout = parse_double(f, v, 0.001, 1e6);
    else if (a == "--drain") o.drain = parse_double(f, v, 0.001, 1e6);
    else usage_error("unknown option %s", f);
  }
  if (o.mode.empty()) usage_error("missing MODE (fanin, qos1, fanout, latency, idle)");
  // Per-process topics: a previous run's publishes still draining through the broker
  // must not reach this run's subscribers.
  if (o.topic_prefix.empty()) o.topic_prefix = "bench/" + std::to_string(getpid());
  auto dflt = [](auto& x, auto v) {
    if (x < 0) x = v;
  };
  // Throughput modes with --seconds and without --messages run for a fixed time.
  const int64_t kUnbounded = int64_t(1) << 40;
  const bool timed = o.seconds > 0 && o.messages < 0;
  if (o.mode == "fanin") {
    dflt(o.publishers, 10), dflt(o.subscribers, 1), dflt(o.qos, 0);
    dflt(o.messages, timed ? kUnbounded : 50000), dflt(o.rate, 0.0);
  } else if (o.mode == "qos1") {
    dflt(o.publishers, 1), dflt(o.subscribers, 1), dflt(o.qos, 1);
    dflt(o.messages, timed ? kUnbounded : 100000), dflt(o.rate, 0.0);
  } else if (o.mode == "fanout") {
    dflt(o.publishers, 1), dflt(o.subscribers, 100), dflt(o.qos, 0);
    dflt(o.messages, timed ? kUnbounded : 10000), dflt(o.rate, 0.0);
  } else if (o.mode == "latency") {
    dflt(o.publishers, 1), dflt(o.subscribers, 1), dflt(o.qos, 0), dflt(o.rate, 1000.0);
    dflt(o.seconds, 10.0);
    if (o.rate <= 0) usage_error("latency mode needs --rate > 0");
    dflt(o.messages, int64_t(std::llround(o.rate * o.seconds)));
    if (o.payload < 16) usage_error("latency mode needs --payload >= 16");
  } else if (o.mode == "idle") {
    dflt(o.keepalive, 1200);
    o.publishers = o.subscribers = 0;
    dflt(o.qos, 0), dflt(o.messages, 0), dflt(o.rate, 0.0);
  } else {
    usage_error("unknown mode '%s'", o.mode.c_str());
  }
  dflt(o.keepalive, 60);
  // Default end-to-end window: ~20000 undelivered deliveries for QoS 0 (enough to keep
  // a broker busy, bounded so its queues stay small), 1000 messages for QoS 1 (below
  // mosquitto's default max_queued_messages, which would otherwise drop messages).
  dflt(o.window, o.qos == 0 ? std::max<int64_t>(100, 20000 / std::max(1, o.subscribers)) : 1000);
  if (o.mode != "idle" && (o.publishers < 1 || o.subscribers < 1))
    usage_error("need at least one publisher and one subscriber");
  return o;
}

// ---------------------------------------------------------------------------
// Minimal MQTT 3.1.1 codec
// ---------------------------------------------------------------------------
namespace mqtt {
enum : uint8_t {
  CONNECT = 1, CONNACK = 2, PUBLISH = 3, PUBACK = 4, SUBSCRIBE = 8, SUBACK = 9,
  PINGREQ = 12, PINGRESP = 13
};

void put_u16(std::string& b, unsigned v) {
  b.push_back(char((v >> 8) & 0xff));
  b.push_back(char(v & 0xff));
}
void put_str(std::string& b, std::string_view s) {
  put_u16(b, unsigned(s.size()));
  b.append(s);
}
std::string packet(uint8_t first, const std::string& body) {
  std::string p(1, char(first));
  size_t n = body.size();
  do {  // remaining length, variable-length encoding
    uint8_t d = n & 0x7f;
    n >>= 7;
    p.push_back(char(n ? d | 0x80 : d));
  } while (n);
  return p + body;
}
std::string connect(std::string_view client_id, unsigned keepalive) {
  std::string b;
  put_str(b, "MQTT");
  b.push_back(4);     // protocol level 3.1.1
  b.push_back(0x02);  // clean session
  put_u16(b, keepalive);
  put_str(b, client_id);
  return packet(CONNECT << 4, b);
}
std::string subscribe(unsigned pid, std::string_view filter, int qos) {
  std::string b;
  put_u16(b, pid);
  put_str(b, filter);
  b.push_back(char(qos));
  return packet(SUBSCRIBE << 4 | 0x02, b);
}
// PUBLISH template; *pid_off / *payload_off receive the offsets to patch per message.
std::string publish(std::string_view topic, int qos, size_t payload, size_t* pid_off,
                    size_t* payload_off) {
  std::string b;
  put_str(b, topic);
  size_t pid_at = b.size();
  if (qos) put_u16(b, 1);
  size_t pay_at = b.size();
  for (size_t i = 0; i < payload; ++i) b.push_back(char('a' + i % 26));
  std::string p = packet(uint8_t(PUBLISH << 4 | qos << 1), b);
  size_t hdr = p.size() - b.size();
  *pid_off = hdr + pid_at;
  *payload_off = hdr + pay_at;
  return p;
}
inline void puback(std::string& out, unsigned pid) {
  char p[4] = {char(PUBACK << 4), 2, char(pid >> 8), char(pid & 0xff)};
  out.append(p, 4);
}
const std::string kPingreq("\xc0\x00", 2);
}  // namespace mqtt

// ---------------------------------------------------------------------------
// Connections and the benchmark engine
// ---------------------------------------------------------------------------
enum class Role : uint8_t { Pub, Sub, Idle };
enum class St : uint8_t { Unused, Connecting, WaitConnack, WaitSuback, Ready, Closed };

struct Conn {
  int fd = -1;
  Role role = Role::Idle;
  St st = St::Unused;
  bool wblocked = false;
  bool dirty = false;
  uint16_t next_pid = 1;
  uint32_t index = 0;  // index within its role
  uint64_t sent = 0, acked = 0, recv = 0;
  int64_t t_connect = 0;
  std::string pending;  // bytes of an incomplete inbound packet
  std::string out;      // outbound bytes not yet written
  size_t out_off = 0;
};

constexpr uint32_t kTimerTag = 0xffffffffu;

class Bench {
 public:
  explicit Bench(Options o) : o_(std::move(o)) {}
  int run();

 private:
  // setup / io
  void raise_nofile(size_t need);
  void setup_sources(size_t total);
  void start_connect(uint32_t id);
  void on_tcp_connected(Conn& c);
  void on_readable(Conn& c);
  void parse(Conn& c, const uint8_t* p, size_t n);
  void on_packet(Conn& c, uint8_t h, const uint8_t* body, size_t len);
  void flush(Conn& c);
  void conn_failed(Conn& c, const std::string& why);
  bool pump(Conn& c, int64_t now);
  void handle_events(int timeout_ms);
  [[noreturn]] void fatal(const char* fmt, ...);
  std::string client_id(Role r, uint32_t i) const;
  std::string where() const { return o_.host + ":" + std::to_string(o_.port); }
  int run_traffic();
  int run_idle();

  Options o_;
  sockaddr_in dst_{};
  std::vector<sockaddr_in> srcs_;
  int ep_ = -1, tfd_ = -1;
  std::vector<Conn> conns_;
  std::vector<uint32_t> pubs_;
  std::vector<uint8_t> scratch_;
  std::vector<uint32_t> dirty_;  // connections with output queued while reading
  bool running_ = false;

  // counters
  uint64_t n_connacked_ = 0, n_subacked_ = 0, n_failed_ = 0, n_closed_by_broker_ = 0;
  uint64_t sent_total_ = 0, delivered_ = 0, pub_acked_ = 0, lost_adj_ = 0, window_resets_ = 0;
  std::string first_error_;
  int64_t t_start_ = 0, t_last_rx_ = 0, t_last_progress_ = 0;
  uint64_t progress_mark_ = 0;

  // publish template
  std::vector<std::string> tmpl_;  // per publisher
  size_t pid_off_ = 0, payload_off_ = 0;

  // latency samples (ns)
  bool want_latency_ = false;
  std::vector<int64_t> lat_;
};

void Bench::fatal(const char* fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "iotsim_loadgen: error: %s\n", msg);
  std::string esc;
  for (const char* p = msg; *p; ++p) {
    if (*p == '"' || *p == '\\') esc.push_back('\\');
    esc.push_back(*p >= 0x20 ? *p : ' ');
  }
  printf("{\"mode\":\"%s\",\"ok\":false,\"error\":\"%s\"}\n", o_.mode.c_str(), esc.c_str());
  fflush(stdout);
  exit(1);
}

std::string Bench::client_id(Role r, uint32_t i) const {
  const char* rn = r == Role::Pub ? "pub" : r == Role::Sub ? "sub" : "idle";
  return o_.client_prefix + "-" + o_.mode + "-" + std::to_string(getpid()) + "-" + rn + "-" +
         std::to_string(i);
}

void Bench::raise_nofile(size_t need) {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
    fatal("need %zu file descriptors but RLIMIT_NOFILE is %llu (raise it with ulimit -n)", need,
          ull(rl.rlim_cur));
}

void Bench::setup_sources(size_t total) {
  if (o_.source_addrs == "none") return;
  if (o_.source_addrs == "auto") {
    // Each source address has ~28k ephemeral ports towards one broker port.
    if ((ntohl(dst_.sin_addr.s_addr) >> 24) != 127 || total <= 20000) return;
    for (size_t k = 0; k < (total + 19999) / 20000; ++k) {
      sockaddr_in s{};
      s.sin_family = AF_INET;
      s.sin_addr.s_addr = htonl(0x7f000001u + uint32_t(k));
      srcs_.push_back(s);
    }
    return;
  }
  std::string_view l = o_.source_addrs;
  while (!l.empty()) {
    size_t c = l.find(',');
    std::string a(l.substr(0, c));
    l = c == std::string_view::npos ? std::string_view() : l.substr(c + 1);
    sockaddr_in s{};
    s.sin_family = AF_INET;
    if (inet_pton(AF_INET, a.c_str(), &s.sin_addr) != 1) usage_error("bad source address '%s'", a.c_str());
    srcs_.push_back(s);
  }
}

void Bench::conn_failed(Conn& c, const std::string& why) {
  if (c.fd >= 0) close(c.fd);
  c.fd = -1;
  bool was_ready = c.st == St::Ready;
  c.st = St::Closed;
  if (o_.mode != "idle") {
    fatal("%s connection %u to %s: %s", c.role == Role::Pub ? "publisher" : "subscriber", c.index,
          where().c_str(), why.c_str());
  }
  if (was_ready) {
    ++n_closed_by_broker_;
    --n_connacked_;
  } else {
    ++n_failed_;
  }
  if (first_error_.empty()) first_error_ = why;
}

void Bench::start_connect(uint32_t id) {
  Conn& c = conns_[id];
  c.t_connect = now_ns();
  c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) fatal("socket(): %s", strerror(errno));
  int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!srcs_.empty()) {
    setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    const sockaddr_in& s = srcs_[id % srcs_.size()];
    if (bind(c.fd, reinterpret_cast<const sockaddr*>(&s), sizeof s) != 0) {
      char a[32];
      inet_ntop(AF_INET, &s.sin_addr, a, sizeof a);
      fatal("bind to source address %s: %s", a, strerror(errno));
    }
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u32 = id;
  if (epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev) != 0) fatal("epoll_ctl: %s", strerror(errno));
  int r = connect(c.fd, reinterpret_cast<const sockaddr*>(&dst_), sizeof dst_);
  if (r == 0) {
    on_tcp_connected(c);
  } else if (errno == EINPROGRESS) {
    c.st = St::Connecting;
  } else {
    int e = errno;
    if (e == EADDRNOTAVAIL)
      conn_failed(c, std::string("connect: ") + strerror(e) +
                         " (ephemeral ports exhausted? use --source-addrs)");
    else
      conn_failed(c, std::string("connect: ") + strerror(e));
  }
}

void Bench::on_tcp_connected(Conn& c) {
  c.st = St::WaitConnack;
  c.out += mqtt::connect(client_id(c.role, c.index), unsigned(o_.keepalive));
  flush(c);
}

void Bench::flush(Conn& c) {
  while (c.out_off < c.out.size()) {
    ssize_t n = send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_off += size_t(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      c.wblocked = true;
      return;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      conn_failed(c, std::string("write: ") + strerror(errno));
      return;
    }
  }
  c.out.clear();
  c.out_off = 0;
}

void Bench::on_readable(Conn& c) {
  for (;;) {
    size_t pl = c.pending.size();
    if (pl + 65536 > scratch_.size()) scratch_.resize(pl * 2 + 65536);
    if (pl) memcpy(scratch_.data(), c.pending.data(), pl);
    size_t room = scratch_.size() - pl;
    ssize_t n = read(c.fd, scratch_.data() + pl, room);
    if (n > 0) {
      if (want_latency_ || running_) t_last_rx_ = now_ns();
      c.pending.clear();
      parse(c, scratch_.data(), pl + size_t(n));
      if (c.st == St::Closed) return;
      if (!c.out.empty() && !c.dirty) {
        // Coalesce: PUBACKs etc. are written once per event-loop pass.
        c.dirty = true;
        dirty_.push_back(uint32_t(&c - conns_.data()));
      }
      if (size_t(n) < room) return;  // drained (edge-triggered: new data re-arms)
    } else if (n == 0) {
      conn_failed(c, "connection closed by broker");
      return;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;
    } else {
      conn_failed(c, std::string("read: ") + strerror(errno));
      return;
    }
  }
}

void Bench::parse(Conn& c, const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i < n) {
    size_t j = i + 1, len = 0;
    int shift = 0;
    bool complete_len = false;
    while (j < n && shift <= 21) {
      uint8_t d = p[j++];
      len |= size_t(d & 0x7f) << shift;
      shift += 7;
      if (!(d & 0x80)) {
        complete_len = true;
        break;
      }
    }
    if (!complete_len) {
      if (shift > 21) return conn_failed(c, "malformed remaining length from broker");
      break;
    }
    if (n - j < len) break;
    on_packet(c, p[i], p + j, len);
    if (c.st == St::Closed) return;
    i = j + len;
  }
  if (i < n) c.pending.assign(reinterpret_cast<const char*>(p + i), n - i);
}

void Bench::on_packet(Conn& c, uint8_t h, const uint8_t* b, size_t len) {
  switch (h >> 4) {
    case mqtt::PUBLISH: {
      int qos = (h >> 1) & 3;
      if (len < 2) return conn_failed(c, "malformed PUBLISH");
      size_t tl = size_t(b[0]) << 8 | b[1];
      size_t off = 2 + tl + (qos ? 2 : 0);
      if (off > len) return conn_failed(c, "malformed PUBLISH");
      if (qos == 1) mqtt::puback(c.out, unsigned(b[2 + tl]) << 8 | b[3 + tl]);
      ++c.recv;
      ++delivered_;
      if (want_latency_ && len - off >= 8) {
        int64_t ts;
        memcpy(&ts, b + off, 8);
        lat_.push_back(t_last_rx_ - ts);
      }
      return;
    }
    case mqtt::PUBACK:
      ++c.acked;
      ++pub_acked_;
      return;
    case mqtt::CONNACK:
      if (c.st != St::WaitConnack || len < 2) return conn_failed(c, "unexpected CONNACK");
      if (b[1] != 0) {
        static const char* rc[] = {"accepted", "unacceptable protocol version",
                                   "identifier rejected", "server unavailable",
                                   "bad user name or password", "not authorized"};
        return conn_failed(c, std::string("CONNACK refused: ") + (b[1] < 6 ? rc[b[1]] : "code ") +
                                  (b[1] < 6 ? "" : std::to_string(b[1])));
      }
      ++n_connacked_;
      if (c.role == Role::Sub) {
        std::string filter = o_.topic_prefix + "/" + o_.mode + "/" +
                             (o_.publishers > 1 && !o_.single_topic ? "+" : "0");
        c.out += mqtt::subscribe(1, filter, o_.qos);
        c.st = St::WaitSuback;
      } else {
        c.st = St::Ready;
      }
      return;
    case mqtt::SUBACK:
      if (c.st != St::WaitSuback || len < 3) return conn_failed(c, "unexpected SUBACK");
      if (b[2] == 0x80) return conn_failed(c, "SUBSCRIBE rejected by broker (SUBACK 0x80)");
      if (b[2] != o_.qos)
        fprintf(stderr, "iotsim_loadgen: warning: broker granted QoS %d, requested %d\n", b[2], o_.qos);
      ++n_subacked_;
      c.st = St::Ready;
      return;
    case mqtt::PINGRESP:
      return;
    default:
      fprintf(stderr, "iotsim_loadgen: warning: ignoring unexpected packet type %d\n", h >> 4);
  }
}

// Writes as many PUBLISH packets as credit allows. Returns true if it could send more
// right away (stopped only by its per-call batch limit).
bool Bench::pump(Conn& c, int64_t now) {
  if (c.st != St::Ready || c.wblocked) return false;
  const int64_t N = o_.messages;
  const uint64_t S = uint64_t(o_.subscribers);
  const std::string& t = tmpl_[c.index];
  for (int round = 0; round < 4; ++round) {
    int64_t credit = N - int64_t(c.sent);
    if (o_.rate > 0) {
      int64_t due = int64_t(double(now - t_start_) * o_.rate / 1e9) + 1;
      credit = std::min(credit, due - int64_t(c.sent));
    }
    // Windows refill in chunks of >= 1/4 window (or what is left to send), so that
    // credit trickling back one message at a time does not turn into one write
    // per message.
    const int64_t left = credit;
    if (o_.qos > 0) {
      int64_t free = o_.pub_window - int64_t(c.sent - c.acked);
      if (free < std::min<int64_t>(left, std::max(1, o_.pub_window / 4))) return false;
      credit = std::min(credit, free);
    }
    if (o_.window > 0) {
      uint64_t owed = sent_total_ * S;
      uint64_t got = delivered_ + lost_adj_;
      int64_t outstanding = owed > got ? int64_t((owed - got + S - 1) / S) : 0;
      int64_t free = o_.window - outstanding;
      if (free < std::min<int64_t>(left, std::max<int64_t>(1, o_.window / 4))) return false;
      credit = std::min(credit, free);
    }
    if (credit <= 0) return false;
    int64_t batch = std::min<int64_t>(credit, std::max<int64_t>(1, 65536 / int64_t(t.size())));
    size_t base = c.out.size();
    c.out.resize(base + size_t(batch) * t.size());
    char* w = c.out.data() + base;
    int64_t stamp = want_latency_ ? now_ns() : 0;
    for (int64_t k = 0; k < batch; ++k, w += t.size()) {
      memcpy(w, t.data(), t.size());
      if (o_.qos > 0) {
        w[pid_off_] = char(c.next_pid >> 8);
        w[pid_off_ + 1] = char(c.next_pid & 0xff);
        if (++c.next_pid == 0) c.next_pid = 1;
      }
      if (want_latency_) {
        uint64_t seq = c.sent + uint64_t(k);
        memcpy(w + payload_off_, &stamp, 8);
        memcpy(w + payload_off_ + 8, &seq, 8);
      }
    }
    c.sent += uint64_t(batch);
    sent_total_ += uint64_t(batch);
    flush(c);
    if (c.wblocked || c.st != St::Ready) return false;
  }
  return true;
}

void Bench::handle_events(int timeout_ms) {
  epoll_event evs[512];
  int n = epoll_wait(ep_, evs, 512, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return;
    fatal("epoll_wait: %s", strerror(errno));
  }
  for (int i = 0; i < n; ++i) {
    uint32_t id = evs[i].data.u32;
    uint32_t e = evs[i].events;
    if (id == kTimerTag) {
      uint64_t ticks;
      while (read(tfd_, &ticks, sizeof ticks) > 0) {
      }
      continue;
    }
    Conn& c = conns_[id];
    if (c.st == St::Closed || c.st == St::Unused) continue;
    if (c.st == St::Connecting) {
      if (!(e & (EPOLLOUT | EPOLLERR | EPOLLHUP))) continue;
      int err = 0;
      socklen_t l = sizeof err;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &l);
      if (err) {
        conn_failed(c, std::string("connect: ") + strerror(err));
        continue;
      }
      on_tcp_connected(c);
      if (c.st == St::Closed) continue;
    }
    if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(c);
    if (c.st == St::Closed) continue;
    if (e & EPOLLOUT) {
      c.wblocked = false;
      if (!c.out.empty() && !c.dirty) flush(c);
    }
  }
  for (uint32_t id : dirty_) {
    Conn& c = conns_[id];
    c.dirty = false;
    if (c.st != St::Closed && !c.wblocked && !c.out.empty()) flush(c);
  }
  dirty_.clear();
}

int Bench::run() {
  signal(SIGPIPE, SIG_IGN);
  dst_.sin_family = AF_INET;
  dst_.sin_port = htons(uint16_t(o_.port));
  if (inet_pton(AF_INET, o_.host.c_str(), &dst_.sin_addr) != 1)
    usage_error("--host must be an IPv4 address, got '%s'", o_.host.c_str());
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  if (ep_ < 0) fatal("epoll_create1: %s", strerror(errno));
  scratch_.resize(256 * 1024 + 2 * (size_t(o_.payload) + 1024));
  return o_.mode == "idle" ? run_idle() : run_traffic();
}

int Bench::run_traffic() {
  const uint32_t P = uint32_t(o_.publishers), S = uint32_t(o_.subscribers);
  raise_nofile(P + S + 64);
  setup_sources(P + S);
  want_latency_ = o_.mode == "latency";
  for (uint32_t i = 0; i < P; ++i) {
    std::string topic = o_.topic_prefix + "/" + o_.mode + "/" +
                        (o_.single_topic ? std::string("0") : std::to_string(i));
    tmpl_.push_back(mqtt::publish(topic, o_.qos, size_t(o_.payload), &pid_off_, &payload_off_));
  }
  conns_.resize(P + S);
  for (uint32_t i = 0; i < S; ++i) conns_[i].role = Role::Sub, conns_[i].index = i;
  for (uint32_t i = 0; i < P; ++i) {
    conns_[S + i].role = Role::Pub, conns_[S + i].index = i;
    pubs_.push_back(S + i);
  }
  // Timed run: publish until --seconds have passed, then expect what was sent.
  const bool timed = o_.mode != "latency" && o_.seconds > 0 && o_.messages >= (int64_t(1) << 40);
  uint64_t expected = timed ? UINT64_MAX : uint64_t(o_.messages) * P * S;
  if (want_latency_) lat_.reserve(size_t(expected));

  // Phase 1: connect everything and subscribe.
  const int64_t t0 = now_ns();
  for (uint32_t id = 0; id < conns_.size(); ++id) start_connect(id);
  while (n_connacked_ < P + S || n_subacked_ < S) {
    if (now_ns() - t0 > int64_t(o_.connect_timeout * 1e9))
      fatal("timed out after %.1f s waiting for the broker at %s (%llu/%u CONNACKs, %llu/%u SUBACKs)",
            o_.connect_timeout, where().c_str(), ull(n_connacked_), P + S,
            ull(n_subacked_), S);
    handle_events(20);
  }
  const double connect_s = double(now_ns() - t0) / 1e9;

  // Phase 2: publish and receive.
  if (o_.rate > 0) {
    tfd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (tfd_ < 0) fatal("timerfd_create: %s", strerror(errno));
    int64_t period = std::max<int64_t>(int64_t(1e9 / o_.rate), 50000);
    itimerspec its{};
    its.it_interval.tv_sec = period / 1000000000;
    its.it_interval.tv_nsec = period % 1000000000;
    its.it_value = its.it_interval;
    timerfd_settime(tfd_, 0, &its, nullptr);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = kTimerTag;
    epoll_ctl(ep_, EPOLL_CTL_ADD, tfd_, &ev);
  }
  running_ = true;
  const double cpu0 = cpu_seconds();
  t_start_ = t_last_rx_ = t_last_progress_ = now_ns();
  int64_t t_sent_all = 0;
  bool pub_stopped = false;
  size_t rot = 0;
  const char* reason = "complete";
  const int64_t kStall = 1000000000LL;  // 1 s without deliveries while window-blocked
  for (;;) {
    int64_t now = now_ns();
    if (timed && !pub_stopped && now - t_start_ >= int64_t(o_.seconds * 1e9)) {
      pub_stopped = true;  // time is up: now wait for what was published
      expected = sent_total_ * S;
    }
    bool more = false;
    if (!pub_stopped) {  // rotate the first publisher so that none is favoured
      for (size_t k = 0; k < P; ++k) more |= pump(conns_[pubs_[(k + rot) % P]], now);
      ++rot;
    }
    if (delivered_ >= expected) break;
    if (delivered_ != progress_mark_) progress_mark_ = delivered_, t_last_progress_ = now;
    bool all_sent = timed ? pub_stopped : sent_total_ == uint64_t(o_.messages) * P;
    if (all_sent && !t_sent_all) t_sent_all = now;
    if (now - t_start_ > int64_t(o_.timeout * 1e9)) {
      reason = "timeout";
      break;
    }
    if (all_sent && now - std::max(t_last_progress_, t_sent_all) > int64_t(o_.drain * 1e9)) {
      reason = "stalled (messages lost)";
      break;
    }
    if (!all_sent && o_.window > 0 && now - t_last_progress_ > kStall) {
      // Window full and nothing arrives: the broker dropped messages. Write them off.
      lost_adj_ = sent_total_ * S - delivered_;
      ++window_resets_;
      t_last_progress_ = now;
      fprintf(stderr, "iotsim_loadgen: warning: no deliveries for 1 s with a full window; "
                      "assuming messages were dropped (reset %llu)\n",
              ull(window_resets_));
    }
    handle_events(more ? 0 : 5);
  }
  if (timed && !pub_stopped) expected = sent_total_ * S;
  const int64_t t_end = t_last_rx_;
  const double cpu = cpu_seconds() - cpu0;
  const double elapsed = std::max(1e-9, double(t_end - t_start_) / 1e9);
  const bool complete = delivered_ >= expected;

  printf("{\"mode\":\"%s\",\"ok\":true,\"complete\":%s,\"reason\":\"%s\",\"host\":\"%s\",\"port\":%d,"
         "\"publishers\":%u,\"subscribers\":%u,\"qos\":%d,\"payload\":%d,\"messages_per_publisher\":%lld,"
         "\"published\":%llu,\"expected\":%llu,\"received\":%llu,\"lost\":%llu,\"pub_acked\":%llu,"
         "\"window\":%lld,\"window_resets\":%llu,\"connect_s\":%.3f,\"elapsed_s\":%.4f,"
         "\"msgs_per_s\":%.1f,\"publish_per_s\":%.1f,\"loadgen_cpu_pct\":%.1f,\"publish_seconds\":%.3f",
         o_.mode.c_str(), complete ? "true" : "false", reason, o_.host.c_str(), o_.port, P, S, o_.qos,
         o_.payload, ll(timed ? int64_t(sent_total_ / P) : o_.messages), ull(sent_total_),
         ull(expected), ull(delivered_),
         ull(expected > delivered_ ? expected - delivered_ : 0),
         ull(pub_acked_), ll(o_.window), ull(window_resets_),
         connect_s, elapsed, double(delivered_) / elapsed, double(sent_total_) / elapsed,
         100.0 * cpu / elapsed, timed ? o_.seconds : 0.0);
  if (want_latency_) {
    std::vector<int64_t>& v = lat_;
    std::sort(v.begin(), v.end());
    auto pct = [&](double q) -> double {
      if (v.empty()) return 0;
      size_t k = size_t(std::ceil(q * double(v.size()))) - (q > 0 ? 1 : 0);
      return double(v[std::min(k, v.size() - 1)]) / 1e3;
    };
    double sum = 0;
    for (int64_t x : v) sum += double(x);
    printf(",\"rate\":%.1f,\"achieved_rate\":%.1f,\"samples\":%zu,\"min_us\":%.1f,\"mean_us\":%.1f,"
           "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f",
           o_.rate * P, double(sent_total_) / elapsed, v.size(), pct(0),
           v.empty() ? 0.0 : sum / double(v.size()) / 1e3, pct(0.5), pct(0.9), pct(0.99),
           pct(0.999), pct(1.0));
  }
  printf("}\n");
  fflush(stdout);
  if (!complete)
    fprintf(stderr, "iotsim_loadgen: %s: received %llu of %llu (%s)\n", o_.mode.c_str(),
            ull(delivered_), ull(expected), reason);
  return complete ? 0 : 3;
}

int Bench::run_idle() {
  const uint32_t N = uint32_t(o_.connections);
  raise_nofile(N + 64);
  setup_sources(N);
  conns_.resize(N);
  for (uint32_t i = 0; i < N; ++i) conns_[i].role = Role::Idle, conns_[i].index = i;
  const int64_t t0 = now_ns();
  uint32_t next = 0;
  int64_t last_progress = t0;
  uint64_t last_done = 0;
  // Open connections with at most --concurrency handshakes in flight.
  for (;;) {
    uint64_t done = n_connacked_ + n_failed_ + n_closed_by_broker_;
    while (next < N && next - done < uint64_t(o_.concurrency)) start_connect(next++);
    done = n_connacked_ + n_failed_ + n_closed_by_broker_;
    if (done >= N) break;
    int64_t now = now_ns();
    if (done != last_done) last_done = done, last_progress = now;
    if (now - last_progress > int64_t(o_.connect_timeout * 1e9)) {
      fprintf(stderr, "iotsim_loadgen: idle: no progress for %.1f s, giving up on %llu handshakes\n",
              o_.connect_timeout, ull(N - done));
      for (uint32_t i = 0; i < next; ++i)
        if (conns_[i].st == St::Connecting || conns_[i].st == St::WaitConnack)
          conn_failed(conns_[i], "timed out waiting for CONNACK");
      n_failed_ += N - next;
      break;
    }
    handle_events(20);
  }
  const double connect_s = double(now_ns() - t0) / 1e9;
  const uint64_t connected = n_connacked_;
  if (connected == 0)
    fatal("could not open any connection to %s: %s", where().c_str(), first_error_.c_str());
  if (connected < N)
    fprintf(stderr, "iotsim_loadgen: idle: only %llu of %u connections established (first error: %s)\n",
            ull(connected), N, first_error_.c_str());
  else
    fprintf(stderr, "iotsim_loadgen: idle: %u connections established in %.2f s\n", N, connect_s);
  if (!o_.ready_file.empty()) {
    FILE* f = fopen(o_.ready_file.c_str(), "w");
    if (!f) fatal("cannot create ready file %s: %s", o_.ready_file.c_str(), strerror(errno));
    fprintf(f, "%llu\n", ull(connected));
    fclose(f);
  }
  // Hold; answer nothing but keep reading so broker-side closes are noticed.
  running_ = true;
  const int64_t t_hold = now_ns();
  int64_t next_ping = t_hold + int64_t(o_.keepalive) * 500000000LL;
  while (now_ns() - t_hold < int64_t(o_.hold * 1e9)) {
    handle_events(50);
    if (o_.keepalive > 0 && now_ns() >= next_ping) {
      for (Conn& c : conns_)
        if (c.st == St::Ready) c.out += mqtt::kPingreq, flush(c);
      next_ping += int64_t(o_.keepalive) * 500000000LL;
    }
  }
  const double held = double(now_ns() - t_hold) / 1e9;
  const bool ok = n_connacked_ == N;
  printf("{\"mode\":\"idle\",\"ok\":true,\"complete\":%s,\"host\":\"%s\",\"port\":%d,\"requested\":%u,"
         "\"connected\":%llu,\"failed\":%llu,\"closed_by_broker\":%llu,\"source_addrs\":%zu,"
         "\"connect_s\":%.3f,\"connects_per_s\":%.1f,\"held_s\":%.2f,\"keepalive\":%d}\n",
         ok ? "true" : "false", o_.host.c_str(), o_.port, N, ull(connected),
         ull(n_failed_), ull(n_closed_by_broker_),
         std::max<size_t>(1, srcs_.size()), connect_s, double(connected) / std::max(1e-9, connect_s),
         held, o_.keepalive);
  fflush(stdout);
  return ok ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  Bench b(parse_args(argc, argv));
  return b.run();
}
