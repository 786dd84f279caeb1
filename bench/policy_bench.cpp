// Policy decision micro-benchmark (wall time measured here, in bench/, never in unit tests):
// authorization decisions per second for one connected X.509 client through the broker's real
// authorizer (auth::PolicyAuthorizer over a registry::Registry), i.e. the connection's cached
// policy set, as the broker asks on every PUBLISH, SUBSCRIBE and delivery.
//
// The certificate has two policies attached:
//   1. the AWS console's "Connect one device" quick-connect policy for TutorialTestThing
//      (client/basicPubSub, topic/sdk/test/{java,python,js}, topicfilter/sdk/test/...);
//   2. a per-device policy with ${iot:ClientId} and ${iot:Connection.Thing.ThingName} variables,
//      an IsAttached condition on the shadow topics and an explicit Deny on an admin subtree.
// The certificate is attached EXCLUSIVE_THING to TutorialTestThing, so the thing variables
// resolve. A fixed mix of allowed, implicitly denied and explicitly denied topics is checked.
//
// Every decision is compared with the expected one: the program exits 1 on any difference (it
// doubles as a sanity check). Each kind also prints a checksum of one round of its decisions
// (every round must reproduce it), so the work cannot be dropped by the compiler and two builds
// can be compared. Reports wall-clock and CPU-time rates (the machine may be shared).
// Usage: iotsim_policy_bench [seconds per kind]   (default 1)
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "iotsim/auth/policy_authorizer.hpp"
#include "iotsim/broker/authorizer.hpp"
#include "iotsim/broker/identity.hpp"
#include "iotsim/common/rng.hpp"
#include "iotsim/common/time.hpp"
#include "iotsim/registry/registry.hpp"
#include "iotsim/registry/store.hpp"

using namespace iotsim;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::int64_t epoch_s = 1767225600;  // 2026-01-01T00:00:00Z

Now now_at(std::int64_t s) { return Now{Instant{seconds(s - epoch_s)}, WallTime{seconds(s)}}; }

/// A self-signed EC P-256 device certificate, PEM (the registry records it like one it issued).
std::string make_certificate(const char* cn) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* x = X509_new();
    if (key == nullptr || x == nullptr) {
        std::fprintf(stderr, "OpenSSL: cannot make a key or a certificate\n");
        std::exit(2);
    }
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
    ASN1_TIME_set(X509_getm_notBefore(x), static_cast<time_t>(epoch_s - 86400));
    ASN1_TIME_set(X509_getm_notAfter(x), static_cast<time_t>(epoch_s + 365 * 86400));
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1,
                               -1, 0);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("iotsim bench"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_sign(x, key, EVP_sha256());
    BIO* mem = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(mem, x);
    char* data = nullptr;
    const long size = BIO_get_mem_data(mem, &data);
    std::string pem(data, static_cast<std::size_t>(size));
    BIO_free(mem);
    X509_free(x);
    EVP_PKEY_free(key);
    return pem;
}

#define ARN "arn:aws:iot:us-east-1:123456789012:"

// The AWS IoT console's "Connect one device" policy (TutorialTestThing), as it generates it
// (with iot:RetainPublish, the documented action name, for retained publishes).
const char* const quick_connect_policy = R"({
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["iot:Publish", "iot:Receive", "iot:RetainPublish"],
      "Resource": [
        ")" ARN R"(topic/sdk/test/java",
        ")" ARN R"(topic/sdk/test/python",
        ")" ARN R"(topic/sdk/test/js"
      ]
    },
    {
      "Effect": "Allow",
      "Action": "iot:Subscribe",
      "Resource": [
        ")" ARN R"(topicfilter/sdk/test/java",
        ")" ARN R"(topicfilter/sdk/test/python",
        ")" ARN R"(topicfilter/sdk/test/js"
      ]
    },
    {
      "Effect": "Allow",
      "Action": "iot:Connect",
      "Resource": [
        ")" ARN R"(client/basicPubSub",
        ")" ARN R"(client/sdk-java",
        ")" ARN R"(client/sdk-nodejs-*"
      ]
    }
  ]
})";

// A per-device policy with policy variables, a condition and an explicit Deny.
const char* const device_policy = R"({
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "OwnTopics",
      "Effect": "Allow",
      "Action": ["iot:Publish", "iot:Receive"],
      "Resource": [")" ARN R"(topic/devices/${iot:ClientId}/*"]
    },
    {
      "Sid": "OwnFilters",
      "Effect": "Allow",
      "Action": "iot:Subscribe",
      "Resource": [")" ARN R"(topicfilter/devices/${iot:ClientId}/*"]
    },
    {
      "Sid": "OwnShadow",
      "Effect": "Allow",
      "Action": ["iot:Publish", "iot:Receive", "iot:Subscribe"],
      "Resource": [
        ")" ARN R"(topic/$aws/things/${iot:Connection.Thing.ThingName}/shadow/*",
        ")" ARN R"(topicfilter/$aws/things/${iot:Connection.Thing.ThingName}/shadow/*"
      ],
      "Condition": {"Bool": {"iot:Connection.Thing.IsAttached": "true"}}
    },
    {
      "Sid": "NoAdmin",
      "Effect": "Deny",
      "Action": ["iot:Publish", "iot:Subscribe", "iot:Receive"],
      "Resource": [
        ")" ARN R"(topic/devices/${iot:ClientId}/admin/*",
        ")" ARN R"(topicfilter/devices/${iot:ClientId}/admin/*"
      ]
    }
  ]
})";

#undef ARN

enum class Kind { publish, receive, subscribe };

struct Case {
    Kind kind;
    std::string_view topic;  // a topic, or a filter for subscribe
    bool retain;
    bool expected;
};

// Roughly half allowed; the denied ones are implicit denies (no statement matches, so every
// statement is examined) and explicit denies (the Deny statement wins over an Allow).
const std::vector<Case> cases = {
    // publish
    {Kind::publish, "sdk/test/python", false, true},
    {Kind::publish, "sdk/test/js", true, true},
    {Kind::publish, "sdk/test/ruby", false, false},
    {Kind::publish, "devices/basicPubSub/telemetry", false, true},
    {Kind::publish, "devices/basicPubSub/telemetry", true, false},  // no RetainPublish there
    {Kind::publish, "devices/basicPubSub/admin/reboot", false, false},  // explicit Deny
    {Kind::publish, "devices/otherClient/telemetry", false, false},
    {Kind::publish, "$aws/things/TutorialTestThing/shadow/update", false, true},
    {Kind::publish, "$aws/things/OtherThing/shadow/update", false, false},
    // receive
    {Kind::receive, "sdk/test/python", false, true},
    {Kind::receive, "sdk/test/java", false, true},
    {Kind::receive, "sdk/test/python/extra", false, false},
    {Kind::receive, "devices/basicPubSub/commands/led", false, true},
    {Kind::receive, "devices/basicPubSub/admin/config", false, false},  // explicit Deny
    {Kind::receive, "$aws/things/TutorialTestThing/shadow/update/delta", false, true},
    {Kind::receive, "$aws/things/OtherThing/shadow/update/delta", false, false},
    {Kind::receive, "weather/seattle/temperature", false, false},
    // subscribe (wildcards are literal characters of the topicfilter/ resource)
    {Kind::subscribe, "sdk/test/python", false, true},
    {Kind::subscribe, "sdk/test/#", false, false},
    {Kind::subscribe, "devices/basicPubSub/+", false, true},
    {Kind::subscribe, "devices/basicPubSub/admin/#", false, false},  // explicit Deny
    {Kind::subscribe, "devices/+/telemetry", false, false},
    {Kind::subscribe, "$aws/things/TutorialTestThing/shadow/update/accepted", false, true},
    {Kind::subscribe, "$aws/things/TutorialTestThing/shadow/#", false, true},
    {Kind::subscribe, "#", false, false},
};

const char* kind_name(Kind k) {
    switch (k) {
    case Kind::publish: return "publish";
    case Kind::receive: return "receive";
    case Kind::subscribe: return "subscribe";
    }
    return "?";
}

bool decide(auth::PolicyAuthorizer& authorizer, const broker::ClientContext& client, const Case& c) {
    switch (c.kind) {
    case Kind::publish: return authorizer.authorize_publish(client, c.topic, c.retain);
    case Kind::receive: return authorizer.authorize_receive(client, c.topic);
    case Kind::subscribe: return authorizer.authorize_subscribe(client, c.topic);
    }
    return false;
}

struct RunResult {
    std::uint64_t decisions = 0;
    std::uint64_t allowed = 0;
    std::uint64_t wrong = 0;
    std::uint64_t checksum = 0;  // FNV-1a of one round's decisions; every round must give it
    std::uint64_t rounds_differing = 0;
    double wall_s = 0;
    double cpu_s = 0;
};

/// Runs the cases selected by `pick` round after round for `seconds`.
template <class Pick>
RunResult run(auth::PolicyAuthorizer& authorizer, const broker::ClientContext& client, double seconds,
           Pick pick) {
    std::vector<const Case*> selected;
    for (const Case& c : cases) {
        if (pick(c)) {
            selected.push_back(&c);
        }
    }
    RunResult r;
    const std::clock_t cpu_start = std::clock();
    const auto start = Clock::now();
    while (r.wall_s < seconds) {
        for (int round = 0; round < 2'000; ++round) {
            std::uint64_t hash = 14695981039346656037ULL;
            for (std::size_t i = 0; i < selected.size(); ++i) {
                const bool got = decide(authorizer, client, *selected[i]);
                r.allowed += got ? 1 : 0;
                r.wrong += got != selected[i]->expected ? 1 : 0;
                // Order-sensitive: a decision that moved to another case changes the checksum.
                hash = (hash ^ (got ? 2 * i + 1 : 2 * i)) * 1099511628211ULL;
            }
            if (r.decisions == 0 && round == 0) {
                r.checksum = hash;
            } else if (hash != r.checksum) {
                ++r.rounds_differing;
            }
        }
        r.decisions += 2'000ULL * selected.size();
        r.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
    }
    r.cpu_s = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    return r;
}

void report(const char* what, const RunResult& r) {
    std::printf("%-9s %12.0f decisions/s wall  %12.0f per CPU second  (%llu decisions, %.1f%% allowed, "
                "%.2f s wall, %.2f s CPU, %.0f ns each, checksum %016llx)\n",
                what, static_cast<double>(r.decisions) / r.wall_s,
                static_cast<double>(r.decisions) / r.cpu_s, static_cast<unsigned long long>(r.decisions),
                100.0 * static_cast<double>(r.allowed) / static_cast<double>(r.decisions), r.wall_s, r.cpu_s,
                1e9 * r.wall_s / static_cast<double>(r.decisions),
                static_cast<unsigned long long>(r.checksum));
}

}  // namespace

int main(int argc, char** argv) {
    const double seconds_per_kind = argc > 1 ? std::atof(argv[1]) : 1.0;
    if (!(seconds_per_kind > 0)) {
        std::fprintf(stderr, "usage: iotsim_policy_bench [seconds per kind]\n");
        return 2;
    }

    registry::MemoryRegistryStore store;
    Rng rng(42);
    registry::Registry registry(store, rng);
    registry.recover();
    const Now now = now_at(epoch_s);

    const registry::CertificateRecord& cert = registry.add_issued_certificate(
        make_certificate("TutorialTestThing"), registry::CertificateStatus::active, now);
    const std::string cert_id = cert.id;
    const std::string cert_arn = registry.certificate_arn(cert_id);
    registry::CreateThingInput thing;
    thing.thing_name = "TutorialTestThing";
    registry.create_thing(thing, now);
    registry.attach_thing_principal("TutorialTestThing", cert_arn, registry::ThingPrincipalType::exclusive, now);
    registry.create_policy("TutorialTestThing-Policy", quick_connect_policy, {}, now);
    registry.create_policy("DevicePolicy", device_policy, {}, now);
    registry.attach_policy("TutorialTestThing-Policy", cert_arn, now);
    registry.attach_policy("DevicePolicy", cert_arn, now);

    auth::PolicyAuthorizer authorizer(registry);
    broker::PeerIdentity peer;
    peer.transport = broker::Transport::tls;
    peer.address = "127.0.0.1";
    peer.port = 50000;
    peer.certificate_id = cert_id;
    peer.principal = cert_id;

    // The connection as the broker sees it: CONNECT first (it fills the authorizer's cache).
    mqtt::Connect connect;
    connect.version = mqtt::Version::v311;
    connect.client_id = "basicPubSub";
    if (authorizer.authorize_connect(peer, connect) != broker::ConnectDecision::allow) {
        std::fprintf(stderr, "FAIL: client basicPubSub was not allowed to connect\n");
        return 1;
    }
    connect.client_id = "not-in-the-policy";
    if (authorizer.authorize_connect(peer, connect) == broker::ConnectDecision::allow) {
        std::fprintf(stderr, "FAIL: client not-in-the-policy was allowed to connect\n");
        return 1;
    }
    const broker::ClientContext client{peer, "basicPubSub"};

    // One pass first, naming every wrong decision.
    int wrong = 0;
    for (const Case& c : cases) {
        const bool got = decide(authorizer, client, c);
        if (got != c.expected) {
            std::fprintf(stderr, "FAIL: %s %s%s: %s, expected %s\n", kind_name(c.kind), std::string(c.topic).c_str(),
                         c.retain ? " (retain)" : "", got ? "allowed" : "denied", c.expected ? "allowed" : "denied");
            ++wrong;
        }
    }
    if (wrong != 0) {
        return 1;
    }

    std::printf("policy decisions for one connected client (2 policies, 7 statements, %zu cases)\n",
                cases.size());
    const RunResult pub = run(authorizer, client, seconds_per_kind, [](const Case& c) { return c.kind == Kind::publish; });
    report("publish", pub);
    const RunResult rec = run(authorizer, client, seconds_per_kind, [](const Case& c) { return c.kind == Kind::receive; });
    report("receive", rec);
    const RunResult sub = run(authorizer, client, seconds_per_kind, [](const Case& c) { return c.kind == Kind::subscribe; });
    report("subscribe", sub);
    const RunResult all = run(authorizer, client, seconds_per_kind, [](const Case&) { return true; });
    report("mixed", all);

    // Not part of the decisions/s figure: what a new connection costs the authorizer. Each
    // CONNECT with a client id not seen before misses the cache, so the connection's entry is
    // built (the certificate's policies, its X.509 fields parsed from the PEM for the
    // iot:Certificate.* variables, the bound thing) before iot:Connect is evaluated.
    std::uint64_t connect_wrong = 0;
    const int connects = 2'000;
    std::vector<std::string> client_ids;
    client_ids.reserve(connects);
    for (int i = 0; i < connects; ++i) {
        client_ids.push_back("sdk-nodejs-" + std::to_string(i));  // allowed by client/sdk-nodejs-*
    }
    authorizer.invalidate();
    const std::clock_t connect_cpu_start = std::clock();
    const auto connect_start = Clock::now();
    for (const std::string& id : client_ids) {
        connect.client_id = id;
        connect_wrong += authorizer.authorize_connect(peer, connect) == broker::ConnectDecision::allow ? 0 : 1;
    }
    const double connect_wall = std::chrono::duration<double>(Clock::now() - connect_start).count();
    const double connect_cpu = static_cast<double>(std::clock() - connect_cpu_start) / CLOCKS_PER_SEC;
    std::printf("connect   %12.0f new client ids/s wall  %8.0f per CPU second  (%d CONNECTs, each a cache miss: "
                "%.1f us each)\n",
                connects / connect_wall, connects / connect_cpu, connects, 1e6 * connect_wall / connects);

    const std::uint64_t total_wrong = connect_wrong + pub.wrong + rec.wrong + sub.wrong + all.wrong +
                                      pub.rounds_differing + rec.rounds_differing +
                                      sub.rounds_differing + all.rounds_differing;
    std::printf("evaluations %llu, wrong decisions %llu\n",
                static_cast<unsigned long long>(authorizer.evaluations()),
                static_cast<unsigned long long>(total_wrong));
    if (total_wrong != 0) {
        std::fprintf(stderr, "FAIL: %llu decisions differed from the expected ones\n",
                     static_cast<unsigned long long>(total_wrong));
        return 1;
    }
    return 0;
}
