// The document algorithms: merge, metadata, delta and the measures behind the limits
// (../shared/reference/aws-iot-core.md §2.4, §2.6, §2.8).
#include "shadow_harness.hpp"

using namespace iotsim::shadow;
using namespace iotsim::shadow::test;

namespace {

struct Doc {
    json state = json::object();
    json metadata = json::object();

    void apply(const json& request_state, std::int64_t t) {
        apply_state_update(state, metadata, request_state, t);
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(shadow_document)

BOOST_AUTO_TEST_CASE(null_removes_a_key_and_its_metadata) {
    Doc d;
    d.apply(json::parse(R"({"desired":{"color":"RED","engine":"ON"}})"), 10);
    d.apply(json::parse(R"({"desired":{"engine":null,"absent":null}})"), 20);
    BOOST_TEST(d.state == json::parse(R"({"desired":{"color":"RED"}})"));
    BOOST_TEST(d.metadata == json::parse(R"({"desired":{"color":{"timestamp":10}}})"));
}

BOOST_AUTO_TEST_CASE(objects_merge_deeply_and_untouched_leaves_keep_their_timestamps) {
    Doc d;
    d.apply(json::parse(R"({"reported":{"lights":{"color":{"r":1,"g":2},"on":true}}})"), 10);
    d.apply(json::parse(R"({"reported":{"lights":{"color":{"g":9,"b":3}}}})"), 20);
    BOOST_TEST(d.state ==
               json::parse(R"({"reported":{"lights":{"color":{"r":1,"g":9,"b":3},"on":true}}})"));
    BOOST_TEST(d.metadata == json::parse(R"({"reported":{"lights":{
        "color":{"r":{"timestamp":10},"g":{"timestamp":20},"b":{"timestamp":20}},
        "on":{"timestamp":10}}}})"));
}

BOOST_AUTO_TEST_CASE(arrays_are_replaced_whole_with_per_element_metadata) {
    Doc d;
    d.apply(json::parse(R"({"desired":{"ColorRGB":[128,128,128]}})"), 10);
    d.apply(json::parse(R"({"desired":{"ColorRGB":[255,0]}})"), 20);
    BOOST_TEST(d.state == json::parse(R"({"desired":{"ColorRGB":[255,0]}})"));
    BOOST_TEST(d.metadata ==
               json::parse(R"({"desired":{"ColorRGB":[{"timestamp":20},{"timestamp":20}]}})"));
    d.apply(json::parse(R"({"desired":{"list":[{"a":1},[2]]}})"), 30);
    BOOST_TEST(d.metadata["desired"]["list"] ==
               json::parse(R"([{"a":{"timestamp":30}},[{"timestamp":30}]])"));
}

BOOST_AUTO_TEST_CASE(objects_emptied_by_removal_disappear_up_to_the_section) {
    Doc d;
    d.apply(json::parse(R"({"desired":{"a":{"b":{"c":1}}},"reported":{"x":1}})"), 10);
    d.apply(json::parse(R"({"desired":{"a":{"b":{"c":null}}}})"), 20);
    BOOST_TEST(d.state == json::parse(R"({"reported":{"x":1}})"));
    BOOST_TEST(d.metadata == json::parse(R"({"reported":{"x":{"timestamp":10}}})"));
}

BOOST_AUTO_TEST_CASE(a_null_section_removes_the_whole_section) {
    Doc d;
    d.apply(json::parse(R"({"desired":{"a":1},"reported":{"a":2}})"), 10);
    d.apply(json::parse(R"({"desired":null})"), 20);
    BOOST_TEST(d.state == json::parse(R"({"reported":{"a":2}})"));
    BOOST_TEST(!d.metadata.contains("desired"));
}

BOOST_AUTO_TEST_CASE(a_null_state_clears_both_sections) {
    Doc d;
    d.apply(json::parse(R"({"desired":{"a":1},"reported":{"a":2}})"), 10);
    d.apply(json(nullptr), 20);
    BOOST_TEST(d.state == json::object());
    BOOST_TEST(d.metadata == json::object());
}

BOOST_AUTO_TEST_CASE(nulls_inside_new_objects_are_dropped_and_empty_objects_never_stored) {
    Doc d;
    d.apply(json::parse(R"({"desired":{"a":{"b":null,"c":1},"e":{"f":null},"g":{}}})"), 10);
    BOOST_TEST(d.state == json::parse(R"({"desired":{"a":{"c":1}}})"));
    BOOST_TEST(d.metadata == json::parse(R"({"desired":{"a":{"c":{"timestamp":10}}}})"));
    d.apply(json::parse(R"({"reported":{}})"), 20);
    BOOST_TEST(!d.state.contains("reported"));
}

BOOST_AUTO_TEST_CASE(a_type_change_replaces_the_value_and_its_metadata) {
    Doc d;
    d.apply(json::parse(R"({"reported":{"a":5,"b":{"x":1},"c":{"y":1}}})"), 10);
    d.apply(json::parse(R"({"reported":{"a":{"k":"v"},"b":7,"c":[1]}})"), 20);
    BOOST_TEST(d.state == json::parse(R"({"reported":{"a":{"k":"v"},"b":7,"c":[1]}})"));
    BOOST_TEST(d.metadata == json::parse(R"({"reported":{"a":{"k":{"timestamp":20}},
        "b":{"timestamp":20},"c":[{"timestamp":20}]}})"));
}

BOOST_AUTO_TEST_CASE(a_key_named_timestamp_is_mirrored_like_any_other) {
    Doc d;
    d.apply(json::parse(R"({"reported":{"timestamp":5}})"), 10);
    BOOST_TEST(d.metadata == json::parse(R"({"reported":{"timestamp":{"timestamp":10}}})"));
    d.apply(json::parse(R"({"reported":{"timestamp":{"s":1}}})"), 20);
    BOOST_TEST(d.metadata == json::parse(R"({"reported":{"timestamp":{"s":{"timestamp":20}}}})"));
}

BOOST_AUTO_TEST_CASE(delta_holds_only_differing_leaves_with_their_path_to_the_root) {
    // The lights example of device-shadow-document.html.
    const json state = json::parse(R"({
        "desired":{"lights":{"color":{"r":255,"g":255,"b":255}},"engine":"ON"},
        "reported":{"lights":{"color":{"r":255,"g":0,"b":255}},"engine":"ON"}})");
    const auto delta = compute_delta(state);
    BOOST_REQUIRE(delta);
    BOOST_TEST(*delta == json::parse(R"({"lights":{"color":{"g":255}}})"));
}

BOOST_AUTO_TEST_CASE(delta_compares_arrays_whole) {
    const auto delta = compute_delta(json::parse(R"({"desired":{"rgb":[255,255,0],"same":[1,2]},)"
                                                 R"("reported":{"rgb":[255,0,0],"same":[1,2]}})"));
    BOOST_REQUIRE(delta);
    BOOST_TEST(*delta == json::parse(R"({"rgb":[255,255,0]})"));
}

BOOST_AUTO_TEST_CASE(keys_only_in_reported_never_appear_in_the_delta) {
    BOOST_TEST(!compute_delta(
        json::parse(R"({"desired":{"a":1},"reported":{"a":1,"extra":2,"obj":{"x":1}}})")));
}

BOOST_AUTO_TEST_CASE(keys_of_desired_missing_from_reported_appear_whole) {
    const auto delta = compute_delta(json::parse(
        R"({"desired":{"a":1,"nested":{"p":{"q":1}}},"reported":{"a":1,"nested":{}}})"));
    BOOST_REQUIRE(delta);
    BOOST_TEST(*delta == json::parse(R"({"nested":{"p":{"q":1}}})"));
}

BOOST_AUTO_TEST_CASE(delta_of_a_type_change_is_the_desired_value) {
    const auto delta = compute_delta(json::parse(R"({
        "desired":{"a":{"x":1},"b":"1","c":[1],"d":true},
        "reported":{"a":5,"b":1,"c":{"0":1},"d":1}})"));
    BOOST_REQUIRE(delta);
    BOOST_TEST(*delta == json::parse(R"({"a":{"x":1},"b":"1","c":[1],"d":true})"));
}

BOOST_AUTO_TEST_CASE(numbers_equal_by_value_make_no_delta) {
    BOOST_TEST(
        !compute_delta(json::parse(R"({"desired":{"t":1,"u":2.5},"reported":{"t":1.0,"u":2.5}})")));
    BOOST_TEST(
        compute_delta(json::parse(R"({"desired":{"t":1},"reported":{"t":1.5}})")).has_value());
}

BOOST_AUTO_TEST_CASE(no_desired_means_no_delta_and_no_reported_means_all_of_desired) {
    BOOST_TEST(!compute_delta(json::parse(R"({"reported":{"a":1}})")));
    BOOST_TEST(!compute_delta(json::object()));
    const auto delta = compute_delta(json::parse(R"({"desired":{"a":1,"b":{"c":2}}})"));
    BOOST_REQUIRE(delta);
    BOOST_TEST(*delta == json::parse(R"({"a":1,"b":{"c":2}})"));
}

BOOST_AUTO_TEST_CASE(delta_metadata_carries_the_desired_timestamps_of_the_delta_leaves) {
    Doc d;
    d.apply(json::parse(R"({"desired":{"l":{"c":{"r":1,"g":1}},"rgb":[1,2],"same":3}})"), 10);
    d.apply(json::parse(R"({"desired":{"l":{"c":{"g":2}}}})"), 20);
    d.apply(json::parse(R"({"reported":{"l":{"c":{"r":1,"g":1}},"same":3}})"), 30);
    const auto delta = compute_delta(d.state);
    BOOST_REQUIRE(delta);
    BOOST_TEST(*delta == json::parse(R"({"l":{"c":{"g":2}},"rgb":[1,2]})"));
    BOOST_TEST(delta_metadata(*delta, d.metadata["desired"]) ==
               json::parse(R"({"l":{"c":{"g":{"timestamp":20}}},
                              "rgb":[{"timestamp":10},{"timestamp":10}]})"));
}

BOOST_AUTO_TEST_CASE(section_depth_counts_levels_as_aws_does) {
    BOOST_TEST(section_depth(json::parse(R"({"a":1})")) == 1U);
    BOOST_TEST(section_depth(json::parse(R"({"a":{"b":{"c":{"d":{"e":{"f":1}}}}}})")) == 6U);
    BOOST_TEST(section_depth(json::parse(R"({"a":{"b":{"c":{"d":{"e":{"f":{"g":1}}}}}}})")) == 7U);
    BOOST_TEST(section_depth(json::parse(R"({"a":[[1]]})")) == 3U);
    // Empty containers add no level (AWS-authored Greengrass code counts so).
    BOOST_TEST(section_depth(json::parse(R"({"a":{},"b":[]})")) == 1U);
}

BOOST_AUTO_TEST_CASE(raw_nesting_ignores_brackets_inside_strings_and_stops_early) {
    BOOST_TEST(raw_nesting_depth(R"({"a":[{"b":"[[[{{{"}]})", 100) == 3U);
    BOOST_TEST(raw_nesting_depth(R"({"a":"\"[[[\\"})", 100) == 1U);
    BOOST_TEST(raw_nesting_depth(std::string(100000, '['), 64) == 65U);
    BOOST_TEST(raw_nesting_depth("not json", 64) == 0U);
}

BOOST_AUTO_TEST_CASE(utf8_validation_rejects_malformed_sequences) {
    BOOST_TEST(is_valid_utf8("plain ascii"));
    BOOST_TEST(is_valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));  // é € 😀
    BOOST_TEST(!is_valid_utf8("\xc3"));                                 // truncated
    BOOST_TEST(!is_valid_utf8("\xc0\xaf"));                             // overlong '/'
    BOOST_TEST(!is_valid_utf8("\xed\xa0\x80"));                         // surrogate
    BOOST_TEST(!is_valid_utf8("\xf4\x90\x80\x80"));                     // above U+10FFFF
    BOOST_TEST(!is_valid_utf8("\xff"));
    BOOST_TEST(!is_valid_utf8("\x80"));  // stray continuation
}

BOOST_AUTO_TEST_CASE(state_size_is_the_compact_json_of_the_state) {
    BOOST_TEST(state_size_bytes(json::parse(R"({ "desired" : { "a" : 1 } })")) ==
               std::string(R"({"desired":{"a":1}})").size());
    // Non-ASCII text counts in UTF-8 bytes.
    BOOST_TEST(state_size_bytes(json::parse("{\"reported\":{\"e\":\"\xc3\xa9\"}}")) == 23U);
}

BOOST_AUTO_TEST_SUITE_END()
