// to_payload writes exactly nlohmann's compact dump, and the service's cached document text never
// goes stale: /update/documents after updates, rejections and failures.
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "shadow_harness.hpp"

using namespace iotsim::shadow;
using namespace iotsim::shadow::test;

namespace {

std::string reference_dump(const json& value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

const ShadowKey lamp = classic("lamp");

/// A store whose writes fail on demand.
class FlakyStore final : public ShadowStore {
public:
    void put(const ShadowRecord& record) override {
        if (failing) {
            throw std::runtime_error("disk full");
        }
        inner.put(record);
    }
    void erase(const ShadowKey& key) override { inner.erase(key); }
    std::vector<ShadowRecord> load() override { return inner.load(); }

    MemoryShadowStore inner;
    bool failing = false;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(shadow_payload)

BOOST_AUTO_TEST_CASE(to_payload_writes_the_bytes_of_nlohmann_dump) {
    const std::vector<json> values = {
        json::object(),
        json::array(),
        json(nullptr),
        json(true),
        json(false),
        json(0),
        json(-1),
        json(std::numeric_limits<std::int64_t>::min()),
        json(std::numeric_limits<std::int64_t>::max()),
        json(std::numeric_limits<std::uint64_t>::max()),
        json(0.0),
        json(-0.0),
        json(1.0),
        json(0.1),
        json(1e300),
        json(-2.5e-7),
        json(5e-324),
        json(std::numeric_limits<double>::infinity()),
        json(std::numeric_limits<double>::quiet_NaN()),
        json("plain"),
        json("quote \" backslash \\ slash /"),
        json(std::string("controls \x01\b\f\n\r\t\x1f and \x7f")),
        json("utf-8: L\u00e4mpe \u2603 \U0001F4A1"),
        json(std::string("invalid \xff\xfe utf-8 \xc0")),
        json::parse(R"({"b":[1,{"c":[]},"x"],"a":{},"\u00e9":{"k":null},"z":1.5e10})"),
        json::parse(R"([[[[]]],{"":""}])"),
    };
    for (const json& value : values) {
        BOOST_TEST(to_payload(value) == reference_dump(value), reference_dump(value));
    }
    // Object keys that need escaping.
    json odd = json::object();
    odd[std::string("k\"\\\n\x01")] = 1;
    odd[std::string("\xff")] = 2;
    BOOST_TEST(to_payload(odd) == reference_dump(odd));
}

BOOST_AUTO_TEST_CASE(documents_stay_exact_across_many_updates) {
    Fixture f;
    const char* updates[] = {
        R"({"state":{"desired":{"a":1,"b":{"c":2,"d":[1,2]}},"reported":{"a":0,"e":"x"}}})",
        R"({"state":{"reported":{"a":1}}})",
        R"({"state":{"desired":{"b":{"c":null}}}})",
        R"({"state":{"desired":{"b":{"d":null}}}})",  // b empties and disappears
        R"({"state":{"reported":{"f":{"g":{"h":true}}},"desired":{"z":"\u00e4\n"}}})",
        R"({"state":{"desired":null}})",
        R"({"state":{"desired":{"a":2}}})",
        R"({"state":null})",
        R"({"state":{"reported":{"a":[{"x":1}]}}})",
    };
    json previous_state = json::object();
    json previous_metadata = json::object();
    std::int64_t version = 0;
    for (const char* body : updates) {
        f.advance(seconds(1));
        const ShadowResponse response = f.update_raw(lamp, body);
        BOOST_REQUIRE(response.accepted());
        ++version;
        const json documents = payload(response, "update/documents");
        BOOST_TEST(documents["previous"]["state"] == previous_state);
        BOOST_TEST(documents["previous"]["metadata"] == previous_metadata);
        BOOST_TEST(documents["previous"]["version"] == version - 1);
        const ShadowRecord* record = f.service.find(lamp);
        BOOST_REQUIRE(record);
        BOOST_TEST(documents["current"]["state"] == record->state);
        BOOST_TEST(documents["current"]["metadata"] == record->metadata);
        BOOST_TEST(documents["current"]["version"] == version);
        for (const auto& n : response.notifications) {
            BOOST_TEST(reference_dump(json::parse(n.payload)) == n.payload);
        }
        previous_state = record->state;
        previous_metadata = record->metadata;
    }
}

BOOST_AUTO_TEST_CASE(a_rejected_merge_leaves_the_document_and_its_text_as_they_were) {
    ShadowOptions options;
    options.limits.state_bytes_max = 64;
    FlakyStore disk;
    ShadowService service(disk, options);
    const auto t = at_s(t0_s);
    BOOST_REQUIRE(
        service
            .update(lamp, R"({"state":{"reported":{"a":1,"b":{"c":2}}}})", t, RequestOrigin::mqtt)
            .accepted());
    const ShadowRecord before = *service.find(lamp);
    // Too large once merged (413), then a storage failure (500): both after the in-place merge.
    check_error(service.update(
                    lamp, R"({"state":{"reported":{"b":{"d":"012345678901234567890123456789"}}}})",
                    at_s(t0_s + 1), RequestOrigin::mqtt),
                413, "The payload exceeds the maximum size allowed");
    disk.failing = true;
    check_error(service.update(lamp, R"({"state":{"reported":{"b":null,"a":3}}})", at_s(t0_s + 2),
                               RequestOrigin::mqtt),
                500, "Internal service failure");
    disk.failing = false;
    const ShadowRecord* now = service.find(lamp);
    BOOST_TEST(now->state == before.state);
    BOOST_TEST(now->metadata == before.metadata);
    BOOST_TEST(now->version == before.version);
    BOOST_TEST(now->updated_at.since_unix_epoch.count() ==
               before.updated_at.since_unix_epoch.count());

    const auto next = service.update(lamp, R"({"state":{"reported":{"e":5}}})", at_s(t0_s + 3),
                                     RequestOrigin::mqtt);
    BOOST_REQUIRE(next.accepted());
    const json documents = payload(next, "update/documents");
    BOOST_TEST(documents["previous"]["state"] == before.state);
    BOOST_TEST(documents["previous"]["metadata"] == before.metadata);
    BOOST_TEST(documents["current"]["state"] ==
               json::parse(R"({"reported":{"a":1,"b":{"c":2},"e":5}})"));
    BOOST_TEST(documents["current"]["metadata"] == service.find(lamp)->metadata);
    BOOST_TEST(documents["current"]["version"] == 2);
}

// The accepted message echoes the request's state as to_payload writes it. Compact requests are
// echoed from their own text, so a request whose text differs from that form in any way (spaces,
// key order, a repeated key, -0, a number not in shortest form) must still come out rewritten.
BOOST_AUTO_TEST_CASE(update_accepted_echoes_the_state_compact_whatever_the_request_looked_like) {
    const std::vector<std::string> requests = {
        R"({"state":{"reported":{"a":1,"b":[1,2],"c":{"d":"x"}}}})",
        R"({"state": {"reported":{"a":1}}})",
        R"({"state":{"reported":{"a": 1}}})",
        R"({"state":{"reported":{"b":1,"a":2}}})",
        R"({"state":{"reported":{"a":1,"a":2}}})",
        R"({"state":{"reported":{"a":-0}}})",
        R"({"state":{"reported":{"a":1.50}}})",
        R"({"state":{"reported":{"a":1e2}}})",
        R"({"state":{"reported":{"a":2.5,"b":-0.25,"c":1e-7}}})",
        R"({"state":{"reported":{"a":[1, 2]}}})",
        R"({"state":{"reported":{"a":1}},"state":{"desired":{"b":0.1}}})",
        R"({"clientToken":"t","state":{"desired":{"a":true,"b":null}}})",
        R"({"state":null})",
        "{\"state\":{\"reported\":{\"a\":\"\\u0041\"}}}",
    };
    for (const std::string& request : requests) {
        BOOST_TEST_CONTEXT(request) {
            Fixture f;
            const auto r = f.update_raw(lamp, request);
            BOOST_REQUIRE(r.accepted());
            const std::string expected =
                R"("state":)" + reference_dump(json::parse(request)["state"]) + R"(,"timestamp":)";
            std::string accepted;
            for (const auto& n : r.notifications) {
                if (n.suffix == "update/accepted") {
                    accepted = n.payload;
                }
            }
            BOOST_TEST(accepted.find(expected) != std::string::npos, accepted);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
