// Thing types (create/describe/list/deprecate/delete) and static thing groups (reference §4.2).

#include "registry_harness.hpp"

using namespace registry_test;

BOOST_AUTO_TEST_SUITE(registry_thing_types)

BOOST_FIXTURE_TEST_CASE(create_and_describe_thing_type, Fixture) {
    CreateThingTypeInput input;
    input.thing_type_name = "Lamp";
    input.description = "smart lamps";
    input.searchable_attributes = {"color"};
    input.tags = {{"team", "a"}};
    const ThingTypeRecord& t = registry.create_thing_type(input, now());
    BOOST_TEST(t.id.size() == 36u);
    const ThingTypeRecord& d = registry.describe_thing_type("Lamp");
    BOOST_TEST(d.description == "smart lamps");
    BOOST_TEST(!d.deprecated);
    BOOST_TEST(d.created.unix_s() == now().wall.unix_s());
    BOOST_TEST(registry.list_tags_for_resource(registry.thing_type_arn("Lamp")).at("team") == "a");
}

BOOST_FIXTURE_TEST_CASE(thing_type_allows_at_most_three_searchable_attributes, Fixture) {
    CreateThingTypeInput input;
    input.thing_type_name = "Lamp";
    input.searchable_attributes = {"a", "b", "c", "d"};
    expect_error([&] { (void)registry.create_thing_type(input, now()); }, "InvalidRequestException",
                 400);
}

BOOST_FIXTURE_TEST_CASE(create_thing_type_with_other_properties_is_resource_already_exists,
                        Fixture) {
    CreateThingTypeInput input;
    input.thing_type_name = "Lamp";
    (void)registry.create_thing_type(input, now());
    (void)registry.create_thing_type(input, now());  // identical: fine
    input.description = "other";
    expect_error([&] { (void)registry.create_thing_type(input, now()); },
                 "ResourceAlreadyExistsException", 409);
}

BOOST_FIXTURE_TEST_CASE(delete_thing_type_needs_deprecation_for_five_minutes, Fixture) {
    CreateThingTypeInput input;
    input.thing_type_name = "Lamp";
    (void)registry.create_thing_type(input, now());
    expect_error([&] { registry.delete_thing_type("Lamp", now()); }, "InvalidRequestException",
                 400);
    registry.deprecate_thing_type("Lamp", false, now());
    BOOST_TEST(registry.describe_thing_type("Lamp").deprecated);
    advance(299);
    expect_error([&] { registry.delete_thing_type("Lamp", now()); }, "InvalidRequestException",
                 400);
    advance(1);
    registry.delete_thing_type("Lamp", now());
    expect_error([&] { (void)registry.describe_thing_type("Lamp"); }, "ResourceNotFoundException",
                 404);
}

BOOST_FIXTURE_TEST_CASE(undo_deprecate_makes_the_type_assignable_again, Fixture) {
    CreateThingTypeInput input;
    input.thing_type_name = "Lamp";
    (void)registry.create_thing_type(input, now());
    registry.deprecate_thing_type("Lamp", false, now());
    registry.deprecate_thing_type("Lamp", true, now());
    BOOST_TEST(!registry.describe_thing_type("Lamp").deprecated);
    BOOST_TEST(!registry.describe_thing_type("Lamp").deprecated_at.has_value());
    (void)thing("t", {}, "Lamp");
}

BOOST_FIXTURE_TEST_CASE(delete_thing_type_in_use_is_invalid, Fixture) {
    CreateThingTypeInput input;
    input.thing_type_name = "Lamp";
    (void)registry.create_thing_type(input, now());
    (void)thing("t", {}, "Lamp");
    registry.deprecate_thing_type("Lamp", false, now());
    advance(600);
    expect_error([&] { registry.delete_thing_type("Lamp", now()); }, "InvalidRequestException",
                 400);
}

BOOST_FIXTURE_TEST_CASE(deprecate_or_delete_unknown_type_is_not_found, Fixture) {
    expect_error([&] { registry.deprecate_thing_type("X", false, now()); },
                 "ResourceNotFoundException", 404);
    expect_error([&] { registry.delete_thing_type("X", now()); }, "ResourceNotFoundException", 404);
}

BOOST_FIXTURE_TEST_CASE(list_thing_types_by_name_with_filter, Fixture) {
    for (const char* n : {"B", "A", "C"}) {
        CreateThingTypeInput input;
        input.thing_type_name = n;
        (void)registry.create_thing_type(input, now());
    }
    auto page = registry.list_thing_types(PageRequest{}, std::nullopt);
    BOOST_REQUIRE(page.items.size() == 3u);
    BOOST_TEST(page.items[0].name == "A");
    BOOST_TEST(registry.list_thing_types(PageRequest{}, std::string("C")).items.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(registry_thing_groups)

BOOST_FIXTURE_TEST_CASE(create_group_hierarchy_and_describe_ancestors, Fixture) {
    (void)group("root");
    (void)group("mid", "root");
    const ThingGroupRecord& leaf = group("leaf", "mid");
    BOOST_TEST(leaf.parent == "mid");
    BOOST_TEST(registry.ancestors_of("leaf") == (std::vector<std::string>{"root", "mid"}));
    BOOST_TEST(registry.describe_thing_group("leaf").version == 1);
}

BOOST_FIXTURE_TEST_CASE(group_with_unknown_parent_is_invalid_request, Fixture) {
    expect_error([&] { (void)group("g", std::string("nope")); }, "InvalidRequestException", 400);
}

BOOST_FIXTURE_TEST_CASE(group_hierarchy_is_at_most_seven_deep, Fixture) {
    (void)group("g1");
    for (int i = 2; i <= 7; ++i) {
        (void)group("g" + std::to_string(i), "g" + std::to_string(i - 1));
    }
    expect_error([&] { (void)group("g8", std::string("g7")); }, "InvalidRequestException", 400);
}

BOOST_FIXTURE_TEST_CASE(add_and_remove_thing_and_list_both_ways, Fixture) {
    (void)group("root");
    (void)group("child", "root");
    (void)thing("t1");
    (void)thing("t2");
    registry.add_thing_to_thing_group("root", "t1", now());
    registry.add_thing_to_thing_group("child", "t2", now());
    registry.add_thing_to_thing_group("child", "t2", now());  // idempotent
    BOOST_TEST(registry.list_things_in_thing_group("root", false, {}).items ==
               (std::vector<std::string>{"t1"}));
    BOOST_TEST(registry.list_things_in_thing_group("root", true, {}).items ==
               (std::vector<std::string>{"t1", "t2"}));
    BOOST_TEST(registry.list_thing_groups_for_thing("t2", {}).items ==
               (std::vector<std::string>{"child"}));
    registry.remove_thing_from_thing_group("child", "t2", now());
    BOOST_TEST(registry.list_thing_groups_for_thing("t2", {}).items.empty());
}

BOOST_FIXTURE_TEST_CASE(thing_cannot_join_two_groups_of_one_hierarchy, Fixture) {
    (void)group("root");
    (void)group("child", "root");
    (void)thing("t");
    registry.add_thing_to_thing_group("child", "t", now());
    expect_error([&] { registry.add_thing_to_thing_group("root", "t", now()); },
                 "InvalidRequestException", 400);
}

BOOST_FIXTURE_TEST_CASE(thing_joins_at_most_ten_groups, Fixture) {
    (void)thing("t");
    for (int i = 0; i < 11; ++i) {
        (void)group("g" + std::to_string(i));
    }
    for (int i = 0; i < 10; ++i) {
        registry.add_thing_to_thing_group("g" + std::to_string(i), "t", now());
    }
    expect_error([&] { registry.add_thing_to_thing_group("g10", "t", now()); },
                 "InvalidRequestException", 400);
}

BOOST_FIXTURE_TEST_CASE(add_to_unknown_group_or_thing_is_not_found, Fixture) {
    (void)group("g");
    (void)thing("t");
    expect_error([&] { registry.add_thing_to_thing_group("x", "t", now()); },
                 "ResourceNotFoundException", 404);
    expect_error([&] { registry.add_thing_to_thing_group("g", "x", now()); },
                 "ResourceNotFoundException", 404);
}

BOOST_FIXTURE_TEST_CASE(delete_group_with_children_is_invalid_and_otherwise_releases_things,
                        Fixture) {
    (void)group("root");
    (void)group("child", "root");
    (void)thing("t");
    registry.add_thing_to_thing_group("child", "t", now());
    expect_error([&] { registry.delete_thing_group("root", std::nullopt, now()); },
                 "InvalidRequestException", 400);
    registry.delete_thing_group("child", std::nullopt, now());
    BOOST_TEST(registry.describe_thing("t").groups.empty());
    registry.delete_thing_group("child", std::nullopt, now());  // absent: succeeds
}

BOOST_FIXTURE_TEST_CASE(update_thing_group_checks_expected_version, Fixture) {
    (void)group("g");
    UpdateThingGroupInput input;
    input.thing_group_name = "g";
    input.description = "kitchen";
    input.expected_version = 1;
    BOOST_TEST(registry.update_thing_group(input, now()) == 2);
    expect_error([&] { (void)registry.update_thing_group(input, now()); },
                 "VersionConflictException", 409);
    expect_error([&] { registry.delete_thing_group("g", 1, now()); }, "VersionConflictException",
                 409);
}

BOOST_FIXTURE_TEST_CASE(list_thing_groups_by_parent_prefix_and_recursion, Fixture) {
    (void)group("a");
    (void)group("a1", "a");
    (void)group("a11", "a1");
    (void)group("b");
    ListThingGroupsInput all;
    BOOST_TEST(registry.list_thing_groups(all).items.size() == 4u);
    ListThingGroupsInput roots;
    roots.recursive = false;
    BOOST_TEST(registry.list_thing_groups(roots).items.size() == 2u);
    ListThingGroupsInput children;
    children.parent_group = "a";
    BOOST_TEST(registry.list_thing_groups(children).items.size() == 1u);
    children.recursive = true;
    BOOST_TEST(registry.list_thing_groups(children).items.size() == 2u);
    ListThingGroupsInput prefix;
    prefix.name_prefix = "a1";
    BOOST_TEST(registry.list_thing_groups(prefix).items.size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
