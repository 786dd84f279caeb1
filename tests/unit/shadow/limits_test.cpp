// AWS's Device Shadow limits: state size, payload size, nesting depth, request rate
// (../shared/reference/aws-iot-core.md §2.8, §7 item 4).
#include "shadow_harness.hpp"

using namespace iotsim::shadow;
using namespace iotsim::shadow::test;

namespace {

// {"reported":{"s":""}} is 21 bytes compact; the string fills the rest.
json reported_string_of_state_size(std::size_t state_bytes) {
    return json{{"state", {{"reported", {{"s", std::string(state_bytes - 21, 'x')}}}}}};
}

json nested_section(std::size_t levels) {
    json value = 1;
    for (std::size_t i = 0; i < levels; ++i) {
        value = json{{"k" + std::to_string(levels - i), value}};
    }
    return value;  // `levels` objects, one inside the other, the innermost holding a scalar
}

}  // namespace

BOOST_AUTO_TEST_SUITE(shadow_limits)

BOOST_AUTO_TEST_CASE(state_of_exactly_8192_bytes_is_accepted_and_one_byte_more_is_413) {
    Fixture f;
    BOOST_TEST(f.update(classic("a"), reported_string_of_state_size(8192)).accepted());
    BOOST_TEST(state_size_bytes(f.service.find(classic("a"))->state) == 8192U);
    check_error(f.update(classic("b"), reported_string_of_state_size(8193)), 413,
                "The payload exceeds the maximum size allowed");
    BOOST_TEST(f.service.find(classic("b")) == nullptr);
}

BOOST_AUTO_TEST_CASE(a_small_update_is_413_when_the_merged_state_would_exceed_the_limit) {
    Fixture f;
    const ShadowKey key = classic("full");
    BOOST_REQUIRE(f.update(key, reported_string_of_state_size(8100)).accepted());
    json small = json::parse(R"({"state":{"desired":{}},"clientToken":"big"})");
    small["state"]["desired"]["mode"] = std::string(100, 'm');
    const auto r = f.update(key, small);
    check_error(r, 413, "The payload exceeds the maximum size allowed");
    BOOST_TEST(r.document["clientToken"] == "big");
    BOOST_TEST(f.service.find(key)->version == 1);
    BOOST_TEST(!f.service.find(key)->state.contains("desired"));
}

BOOST_AUTO_TEST_CASE(whitespace_in_the_request_does_not_count_toward_the_size) {
    Fixture f;
    const std::string padded = "{ \"state\" :" + std::string(20000, ' ') +
                               reported_string_of_state_size(8192)["state"].dump(4) +
                               std::string(20000, '\n') + "}";
    BOOST_TEST(padded.size() > 40000U);
    BOOST_TEST(f.update_raw(classic("spaced"), padded).accepted());
}

BOOST_AUTO_TEST_CASE(metadata_does_not_count_toward_the_size) {
    Fixture f;
    json reported = json::object();
    for (int i = 0; i < 700; ++i) {
        reported["k" + std::to_string(1000 + i)] = 1;  // 9 bytes each with the comma
    }
    const auto r = f.update(classic("many"), json{{"state", {{"reported", reported}}}});
    BOOST_REQUIRE(r.accepted());
    const ShadowRecord* stored = f.service.find(classic("many"));
    BOOST_TEST(state_size_bytes(stored->state) <= 8192U);
    BOOST_TEST(to_payload(stored->metadata).size() > 8192U);
}

BOOST_AUTO_TEST_CASE(a_request_state_over_the_limit_is_413_even_if_it_only_removes_keys) {
    Fixture f;
    json removals = json::object();
    for (int i = 0; i < 1000; ++i) {
        removals["key" + std::to_string(10000 + i)] = nullptr;  // 15 bytes each
    }
    check_error(f.update(classic("t"), json{{"state", {{"reported", removals}}}}), 413,
                "The payload exceeds the maximum size allowed");
}

BOOST_AUTO_TEST_CASE(payload_over_128_kb_is_413_before_it_is_parsed) {
    Fixture f;
    // Not even JSON: the size is checked first.
    check_error(f.update_raw(classic("t"), std::string(128 * 1024 + 1, '{')), 413,
                "The payload exceeds the maximum size allowed");
    const std::string body = R"({"state":{"reported":{"a":1}}})";
    BOOST_TEST(
        f.update_raw(classic("t"), body + std::string(128 * 1024 - body.size(), ' ')).accepted());
}

BOOST_AUTO_TEST_CASE(six_levels_of_nesting_are_accepted_and_seven_rejected) {
    Fixture f;
    const ShadowKey key = classic("deep");
    // The section object is level 1: six nested objects in all, the leaf under the sixth.
    BOOST_TEST(f.update(key, json{{"state", {{"desired", nested_section(6)}}}}).accepted());
    BOOST_TEST(f.update(key, json{{"state", {{"reported", nested_section(6)}}}}).accepted());
    check_error(f.update(key, json{{"state", {{"desired", nested_section(7)}}}}), 400,
                "JSON contains too many levels of nesting; maximum is 6");
    check_error(f.update(key, json{{"state", {{"reported", nested_section(7)}}}}), 400,
                "JSON contains too many levels of nesting; maximum is 6");
    // Arrays are levels too.
    check_error(
        f.update(key, json::parse(R"({"state":{"desired":{"a":{"b":{"c":{"d":{"e":[[1]]}}}}}}})")),
        400, "JSON contains too many levels of nesting; maximum is 6");
}

BOOST_AUTO_TEST_CASE(the_depth_limit_is_configurable_and_its_message_follows) {
    ShadowOptions options;
    options.limits.depth_max = 8;
    Fixture f(options);
    BOOST_TEST(
        f.update(classic("d"), json{{"state", {{"desired", nested_section(8)}}}}).accepted());
    check_error(f.update(classic("d"), json{{"state", {{"desired", nested_section(9)}}}}), 400,
                "JSON contains too many levels of nesting; maximum is 8");
}

BOOST_AUTO_TEST_CASE(absurd_raw_nesting_is_refused_without_parsing_but_ignored_nodes_may_nest) {
    Fixture f;
    const std::string deep_outside =
        "{\"state\":{},\"x\":" + std::string(70, '[') + std::string(70, ']') + "}";
    check_error(f.update_raw(classic("t"), deep_outside), 400,
                "JSON contains too many levels of nesting; maximum is 6");
    const std::string ignored =
        "{\"state\":{},\"x\":" + std::string(20, '[') + std::string(20, ']') + "}";
    BOOST_TEST(f.update_raw(classic("t"), ignored).accepted());
    // A hundred thousand brackets cost a scan, not a stack.
    check_error(f.update_raw(classic("t"), std::string(100000, '[')), 400,
                "JSON contains too many levels of nesting; maximum is 6");
}

BOOST_AUTO_TEST_CASE(more_than_20_requests_per_second_per_thing_are_throttled) {
    Fixture f;
    const ShadowKey lamp = classic("lamp");
    const ShadowKey other = named("lamp", "other");
    for (int i = 0; i < 10; ++i) {
        BOOST_TEST(f.update(lamp, json{{"state", {{"reported", {{"i", i}}}}}}).accepted());
        BOOST_TEST(f.get(other).status == 404);  // counts too: the limit is per thing
    }
    const auto throttled = f.update(lamp, json::parse(R"({"state":{"reported":{"i":99}}})"));
    check_error(throttled, 429, "Too Many Requests");
    BOOST_TEST(suffixes(throttled) == std::vector<std::string>{"update/rejected"});
    BOOST_TEST(f.service.find(lamp)->state["reported"]["i"] == 9);
    // Another thing has its own budget; the next second starts afresh.
    BOOST_TEST(f.update(classic("fan"), json::parse(R"({"state":{}})")).accepted());
    f.advance(seconds(1));
    BOOST_TEST(f.update(lamp, json::parse(R"({"state":{"reported":{"i":99}}})")).accepted());
}

BOOST_AUTO_TEST_CASE(the_rate_limit_can_be_disabled) {
    ShadowOptions options;
    options.limits.requests_per_second_per_thing = 0;
    Fixture f(options);
    for (int i = 0; i < 100; ++i) {
        BOOST_TEST_REQUIRE(
            f.update(classic("busy"), json{{"state", {{"reported", {{"i", i}}}}}}).accepted());
    }
    BOOST_TEST(f.service.find(classic("busy"))->version == 100);
}

BOOST_AUTO_TEST_SUITE_END()
