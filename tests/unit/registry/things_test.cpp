// Things: CreateThing, DescribeThing, UpdateThing, DeleteThing, ListThings (reference §4.2).

#include "registry_harness.hpp"

using namespace registry_test;

BOOST_AUTO_TEST_SUITE(registry_things)

BOOST_FIXTURE_TEST_CASE(create_thing_gives_uuid_arn_version_one, Fixture) {
    const ThingRecord& t = thing("sensor-1", {{"room", "kitchen"}});
    BOOST_TEST(t.name == "sensor-1");
    BOOST_TEST(t.id.size() == 36u);
    BOOST_TEST(t.id[14] == '4');  // UUID version 4
    BOOST_TEST(t.version == 1);
    BOOST_TEST(registry.thing_arn("sensor-1") ==
               "arn:aws:iot:us-east-1:123456789012:thing/sensor-1");
    const ThingRecord& d = registry.describe_thing("sensor-1");
    BOOST_TEST(d.attributes.at("room") == "kitchen");
}

BOOST_FIXTURE_TEST_CASE(create_thing_is_idempotent_for_identical_configuration, Fixture) {
    const std::string id = thing("t1", {{"a", "1"}}).id;
    BOOST_TEST(thing("t1", {{"a", "1"}}).id == id);
}

BOOST_FIXTURE_TEST_CASE(create_thing_with_other_configuration_is_resource_already_exists, Fixture) {
    (void)thing("t1", {{"a", "1"}});
    expect_error([&] { (void)thing("t1", {{"a", "2"}}); }, "ResourceAlreadyExistsException", 409);
}

BOOST_FIXTURE_TEST_CASE(create_thing_refuses_bad_names_and_attributes, Fixture) {
    expect_error([&] { (void)thing("bad name"); }, "InvalidRequestException", 400);
    expect_error([&] { (void)thing(std::string(129, 'a')); }, "InvalidRequestException", 400);
    expect_error([&] { (void)thing("t", {{"bad name", "v"}}); }, "InvalidRequestException", 400);
    expect_error([&] { (void)thing("t", {{"n", "bad value!"}}); }, "InvalidRequestException", 400);
}

BOOST_FIXTURE_TEST_CASE(untyped_thing_has_at_most_three_attributes_typed_fifty, Fixture) {
    expect_error(
        [&] {
            (void)thing("t", {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}});
        },
        "InvalidRequestException", 400);
    CreateThingTypeInput type;
    type.thing_type_name = "Lamp";
    (void)registry.create_thing_type(type, now());
    const ThingRecord& t = thing("t", {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}}, "Lamp");
    BOOST_TEST(t.attributes.size() == 4u);
    BOOST_TEST(t.type_name == "Lamp");
}

BOOST_FIXTURE_TEST_CASE(create_thing_with_unknown_type_is_not_found, Fixture) {
    expect_error([&] { (void)thing("t", {}, "Nope"); }, "ResourceNotFoundException", 404);
}

BOOST_FIXTURE_TEST_CASE(create_thing_with_deprecated_type_is_invalid, Fixture) {
    CreateThingTypeInput type;
    type.thing_type_name = "Old";
    (void)registry.create_thing_type(type, now());
    registry.deprecate_thing_type("Old", false, now());
    expect_error([&] { (void)thing("t", {}, "Old"); }, "InvalidRequestException", 400);
}

BOOST_FIXTURE_TEST_CASE(describe_unknown_thing_is_not_found, Fixture) {
    expect_error([&] { (void)registry.describe_thing("ghost"); }, "ResourceNotFoundException", 404);
}

BOOST_FIXTURE_TEST_CASE(update_thing_replaces_attributes_and_increments_version, Fixture) {
    (void)thing("t", {{"a", "1"}, {"b", "2"}});
    UpdateThingInput input;
    input.thing_name = "t";
    input.attributes = Attributes{{"c", "3"}};
    registry.update_thing(input, now());
    const ThingRecord& t = registry.describe_thing("t");
    BOOST_TEST(t.version == 2);
    BOOST_TEST((t.attributes == Attributes{{"c", "3"}}));
}

BOOST_FIXTURE_TEST_CASE(update_thing_with_merge_keeps_others_and_empty_value_removes, Fixture) {
    (void)thing("t", {{"a", "1"}, {"b", "2"}});
    UpdateThingInput input;
    input.thing_name = "t";
    input.attributes = Attributes{{"a", ""}, {"c", "3"}};
    input.merge = true;
    registry.update_thing(input, now());
    BOOST_TEST((registry.describe_thing("t").attributes == Attributes{{"b", "2"}, {"c", "3"}}));
}

BOOST_FIXTURE_TEST_CASE(update_thing_with_stale_expected_version_is_version_conflict, Fixture) {
    (void)thing("t");
    UpdateThingInput input;
    input.thing_name = "t";
    input.expected_version = 1;
    registry.update_thing(input, now());  // version 1 -> 2
    expect_error([&] { registry.update_thing(input, now()); }, "VersionConflictException", 409);
    input.expected_version = 2;
    registry.update_thing(input, now());
    BOOST_TEST(registry.describe_thing("t").version == 3);
}

BOOST_FIXTURE_TEST_CASE(update_thing_sets_and_removes_the_type, Fixture) {
    CreateThingTypeInput type;
    type.thing_type_name = "Lamp";
    (void)registry.create_thing_type(type, now());
    (void)thing("t");
    UpdateThingInput input;
    input.thing_name = "t";
    input.thing_type_name = "Lamp";
    registry.update_thing(input, now());
    BOOST_TEST(registry.describe_thing("t").type_name == "Lamp");
    UpdateThingInput remove;
    remove.thing_name = "t";
    remove.remove_thing_type = true;
    registry.update_thing(remove, now());
    BOOST_TEST(registry.describe_thing("t").type_name.empty());
    remove.thing_type_name = "Lamp";
    expect_error([&] { registry.update_thing(remove, now()); }, "InvalidRequestException", 400);
}

BOOST_FIXTURE_TEST_CASE(removing_the_type_refuses_more_than_three_attributes, Fixture) {
    CreateThingTypeInput type;
    type.thing_type_name = "Lamp";
    (void)registry.create_thing_type(type, now());
    (void)thing("t", {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}}, "Lamp");
    UpdateThingInput remove;
    remove.thing_name = "t";
    remove.remove_thing_type = true;
    expect_error([&] { registry.update_thing(remove, now()); }, "InvalidRequestException", 400);
    BOOST_TEST(registry.describe_thing("t").type_name == "Lamp");
}

BOOST_FIXTURE_TEST_CASE(update_unknown_thing_is_not_found, Fixture) {
    UpdateThingInput input;
    input.thing_name = "ghost";
    expect_error([&] { registry.update_thing(input, now()); }, "ResourceNotFoundException", 404);
}

BOOST_FIXTURE_TEST_CASE(delete_thing_succeeds_for_unknown_thing, Fixture) {
    registry.delete_thing("ghost", std::nullopt, now());
    (void)thing("t");
    registry.delete_thing("t", std::nullopt, now());
    BOOST_TEST(registry.find_thing("t") == nullptr);
}

BOOST_FIXTURE_TEST_CASE(delete_thing_with_stale_expected_version_is_version_conflict, Fixture) {
    (void)thing("t");
    expect_error([&] { registry.delete_thing("t", 7, now()); }, "VersionConflictException", 409);
    registry.delete_thing("t", 1, now());
    BOOST_TEST(registry.find_thing("t") == nullptr);
}

BOOST_FIXTURE_TEST_CASE(delete_thing_with_principal_attached_is_invalid_request, Fixture) {
    (void)thing("t");
    const CertificateRecord& cert = certificate("dev");
    const std::string arn = registry.certificate_arn(cert.id);
    registry.attach_thing_principal("t", arn, ThingPrincipalType::non_exclusive, now());
    expect_error([&] { registry.delete_thing("t", std::nullopt, now()); },
                 "InvalidRequestException", 400);
    registry.detach_thing_principal("t", arn, now());
    registry.delete_thing("t", std::nullopt, now());
}

BOOST_FIXTURE_TEST_CASE(list_things_filters_by_attribute_type_and_prefix, Fixture) {
    CreateThingTypeInput type;
    type.thing_type_name = "Lamp";
    (void)registry.create_thing_type(type, now());
    (void)thing("a", {{"color", "red"}});
    (void)thing("b", {{"color", "reddish"}}, "Lamp");
    (void)thing("c", {{"color", "blue"}});
    ListThingsInput input;
    input.attribute_name = "color";
    input.attribute_value = "red";
    auto page = registry.list_things(input);
    BOOST_REQUIRE(page.items.size() == 1u);
    BOOST_TEST(page.items[0].name == "a");
    input.use_prefix_attribute_value = true;
    BOOST_TEST(registry.list_things(input).items.size() == 2u);
    ListThingsInput by_type;
    by_type.thing_type_name = "Lamp";
    page = registry.list_things(by_type);
    BOOST_REQUIRE(page.items.size() == 1u);
    BOOST_TEST(page.items[0].name == "b");
}

BOOST_FIXTURE_TEST_CASE(list_things_paginates_by_name_with_opaque_tokens, Fixture) {
    for (const char* n : {"e", "a", "d", "b", "c"}) {
        (void)thing(n);
    }
    ListThingsInput input;
    input.page.size = 2;
    std::vector<std::string> seen;
    int pages = 0;
    do {
        auto page = registry.list_things(input);
        ++pages;
        for (const auto& t : page.items) {
            seen.push_back(t.name);
        }
        input.page.token = page.next_token;
    } while (!input.page.token.empty());
    BOOST_TEST(pages == 3);
    BOOST_TEST(seen == (std::vector<std::string>{"a", "b", "c", "d", "e"}));
}

BOOST_FIXTURE_TEST_CASE(list_things_token_survives_deletion_of_the_next_item, Fixture) {
    for (const char* n : {"a", "b", "c", "d"}) {
        (void)thing(n);
    }
    ListThingsInput input;
    input.page.size = 2;
    auto first = registry.list_things(input);
    registry.delete_thing("c", std::nullopt, now());
    input.page.token = first.next_token;
    auto second = registry.list_things(input);
    BOOST_REQUIRE(second.items.size() == 1u);
    BOOST_TEST(second.items[0].name == "d");
    BOOST_TEST(second.next_token.empty());
}

BOOST_FIXTURE_TEST_CASE(list_things_refuses_bad_page_size_and_token, Fixture) {
    ListThingsInput input;
    input.page.size = 251;
    expect_error([&] { (void)registry.list_things(input); }, "InvalidRequestException", 400);
    input.page.size = 0;
    expect_error([&] { (void)registry.list_things(input); }, "InvalidRequestException", 400);
    input.page.size = 10;
    input.page.token = "!!!not-base64";
    expect_error([&] { (void)registry.list_things(input); }, "InvalidRequestException", 400);
}

BOOST_AUTO_TEST_SUITE_END()
