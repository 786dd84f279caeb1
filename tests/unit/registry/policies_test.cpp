// Policies and versions, attachments and the authorizer's queries (reference §4.4, §4.5).

#include "registry_harness.hpp"

using namespace registry_test;

BOOST_AUTO_TEST_SUITE(registry_policies)

BOOST_FIXTURE_TEST_CASE(create_policy_makes_version_one_the_default, Fixture) {
    const PolicyRecord& p = registry.create_policy("p1", allow_all_policy, {}, now());
    BOOST_TEST(p.default_version_id == 1);
    BOOST_TEST(p.versions.size() == 1u);
    BOOST_TEST(p.default_version().document == allow_all_policy);
    BOOST_TEST(!p.generation_id.empty());
    BOOST_TEST(registry.policy_arn("p1") == "arn:aws:iot:us-east-1:123456789012:policy/p1");
}

BOOST_FIXTURE_TEST_CASE(create_policy_refuses_malformed_documents_with_the_policy_message,
                        Fixture) {
    expect_error([&] { (void)registry.create_policy("p", "{not json", {}, now()); },
                 "MalformedPolicyException", 400);
    expect_error(
        [&] {
            (void)registry.create_policy(
                "p",
                R"({"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"iot:*","Resource":"*"}]})",
                {}, now());
        },
        "MalformedPolicyException", 400);
    try {
        (void)registry.create_policy("p", "{not json", {}, now());
    } catch (const RegistryError& e) {
        BOOST_TEST(e.error().message.starts_with("Policy document is Malformed"));
    }
    expect_error([&] { (void)registry.get_policy("p"); }, "ResourceNotFoundException", 404);
}

BOOST_FIXTURE_TEST_CASE(create_policy_refuses_bad_names_and_duplicates, Fixture) {
    expect_error([&] { (void)registry.create_policy("bad/name", allow_all_policy, {}, now()); },
                 "InvalidRequestException", 400);
    (void)registry.create_policy("p+=,.@-_1", allow_all_policy, {}, now());
    expect_error([&] { (void)registry.create_policy("p+=,.@-_1", allow_all_policy, {}, now()); },
                 "ResourceAlreadyExistsException", 409);
}

BOOST_FIXTURE_TEST_CASE(policy_has_at_most_five_versions, Fixture) {
    (void)registry.create_policy("p", allow_all_policy, {}, now());
    for (int i = 2; i <= 5; ++i) {
        BOOST_TEST(registry.create_policy_version("p", connect_policy, false, now()).id == i);
    }
    expect_error([&] { (void)registry.create_policy_version("p", connect_policy, false, now()); },
                 "VersionsLimitExceededException", 409);
    registry.delete_policy_version("p", 3, now());
    // Ids are never reused: the next version is 6.
    BOOST_TEST(registry.create_policy_version("p", connect_policy, false, now()).id == 6);
}

BOOST_FIXTURE_TEST_CASE(set_as_default_switches_the_document_and_generation, Fixture) {
    const std::string generation =
        registry.create_policy("p", allow_all_policy, {}, now()).generation_id;
    (void)registry.create_policy_version("p", connect_policy, true, now());
    const PolicyRecord& p = registry.get_policy("p");
    BOOST_TEST(p.default_version_id == 2);
    BOOST_TEST(p.default_version().document == connect_policy);
    BOOST_TEST(p.generation_id != generation);
    registry.set_default_policy_version("p", 1, now());
    BOOST_TEST(registry.get_policy("p").default_version().document == allow_all_policy);
    expect_error([&] { registry.set_default_policy_version("p", 9, now()); },
                 "ResourceNotFoundException", 404);
}

BOOST_FIXTURE_TEST_CASE(default_version_cannot_be_deleted, Fixture) {
    (void)registry.create_policy("p", allow_all_policy, {}, now());
    (void)registry.create_policy_version("p", connect_policy, false, now());
    expect_error([&] { registry.delete_policy_version("p", 1, now()); }, "DeleteConflictException",
                 409);
    expect_error([&] { registry.delete_policy_version("p", 7, now()); },
                 "ResourceNotFoundException", 404);
    registry.delete_policy_version("p", 2, now());
    expect_error([&] { (void)registry.get_policy_version("p", 2); }, "ResourceNotFoundException",
                 404);
}

BOOST_FIXTURE_TEST_CASE(delete_policy_guards_versions_and_attachments, Fixture) {
    (void)registry.create_policy("p", allow_all_policy, {}, now());
    (void)registry.create_policy_version("p", connect_policy, false, now());
    expect_error([&] { registry.delete_policy("p", now()); }, "DeleteConflictException", 409);
    registry.delete_policy_version("p", 2, now());
    const std::string arn = registry.certificate_arn(certificate("dev").id);
    registry.attach_policy("p", arn, now());
    expect_error([&] { registry.delete_policy("p", now()); }, "DeleteConflictException", 409);
    registry.detach_policy("p", arn, now());
    registry.delete_policy("p", now());
    expect_error([&] { registry.delete_policy("p", now()); }, "ResourceNotFoundException", 404);
}

BOOST_FIXTURE_TEST_CASE(list_policies_newest_first_and_paginated, Fixture) {
    for (const char* n : {"a", "b", "c"}) {
        (void)registry.create_policy(n, allow_all_policy, {}, now());
        advance(1);
    }
    ListCertificatesInput input;
    input.page.size = 2;
    auto first = registry.list_policies(input);
    BOOST_TEST(first.items == (std::vector<std::string>{"c", "b"}));
    input.page.token = first.next_token;
    BOOST_TEST(registry.list_policies(input).items == (std::vector<std::string>{"a"}));
    ListCertificatesInput ascending;
    ascending.ascending = true;
    BOOST_TEST(registry.list_policies(ascending).items.front() == "a");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(registry_attachments)

BOOST_FIXTURE_TEST_CASE(attach_policy_to_certificate_and_list_both_ways, Fixture) {
    const std::string arn = registry.certificate_arn(certificate("dev").id);
    (void)registry.create_policy("p", allow_all_policy, {}, now());
    registry.attach_policy("p", arn, now());
    registry.attach_policy("p", arn, now());  // idempotent
    BOOST_TEST(registry.list_attached_policies(arn, false, {}).items ==
               (std::vector<std::string>{"p"}));
    BOOST_TEST(registry.list_targets_for_policy("p", {}).items == (std::vector<std::string>{arn}));
}

BOOST_FIXTURE_TEST_CASE(attach_policy_errors, Fixture) {
    const std::string arn = registry.certificate_arn(certificate("dev").id);
    (void)registry.create_policy("p", allow_all_policy, {}, now());
    expect_error([&] { registry.attach_policy("nope", arn, now()); }, "ResourceNotFoundException",
                 404);
    expect_error(
        [&] { registry.attach_policy("p", registry.certificate_arn(std::string(64, 'b')), now()); },
        "ResourceNotFoundException", 404);
    expect_error([&] { registry.attach_policy("p", "us-east-1:cognito-id", now()); },
                 "InvalidRequestException", 400);
    expect_error([&] { registry.attach_policy("p", registry.thing_group_arn("ghost"), now()); },
                 "ResourceNotFoundException", 404);
}

BOOST_FIXTURE_TEST_CASE(certificate_takes_at_most_ten_policies, Fixture) {
    const std::string arn = registry.certificate_arn(certificate("dev").id);
    for (int i = 0; i < 11; ++i) {
        (void)registry.create_policy("p" + std::to_string(i), allow_all_policy, {}, now());
    }
    for (int i = 0; i < 10; ++i) {
        registry.attach_policy("p" + std::to_string(i), arn, now());
    }
    expect_error([&] { registry.attach_policy("p10", arn, now()); }, "LimitExceededException", 410);
}

BOOST_FIXTURE_TEST_CASE(attach_thing_principal_and_list_both_ways, Fixture) {
    const std::string id = certificate("dev").id;
    const std::string arn = registry.certificate_arn(id);
    (void)thing("t1");
    (void)thing("t2");
    registry.attach_thing_principal("t1", arn, ThingPrincipalType::non_exclusive, now());
    registry.attach_thing_principal("t2", arn, ThingPrincipalType::non_exclusive, now());
    BOOST_TEST(registry.list_thing_principals("t1", {}).items == (std::vector<std::string>{arn}));
    BOOST_TEST(registry.list_principal_things(arn, {}).items ==
               (std::vector<std::string>{"t1", "t2"}));
    BOOST_TEST(registry.things_for_principal(id) == (std::vector<std::string>{"t1", "t2"}));
    registry.detach_thing_principal("t1", arn, now());
    registry.detach_thing_principal("t1", arn, now());  // not attached: succeeds
    BOOST_TEST(registry.things_for_principal(id) == (std::vector<std::string>{"t2"}));
}

BOOST_FIXTURE_TEST_CASE(exclusive_principal_belongs_to_one_thing, Fixture) {
    const std::string arn = registry.certificate_arn(certificate("dev").id);
    (void)thing("t1");
    (void)thing("t2");
    registry.attach_thing_principal("t1", arn, ThingPrincipalType::exclusive, now());
    expect_error(
        [&] {
            registry.attach_thing_principal("t2", arn, ThingPrincipalType::non_exclusive, now());
        },
        "InvalidRequestException", 400);
    registry.detach_thing_principal("t1", arn, now());
    registry.attach_thing_principal("t1", arn, ThingPrincipalType::non_exclusive, now());
    expect_error(
        [&] { registry.attach_thing_principal("t2", arn, ThingPrincipalType::exclusive, now()); },
        "InvalidRequestException", 400);
}

BOOST_FIXTURE_TEST_CASE(attach_thing_principal_errors, Fixture) {
    const std::string arn = registry.certificate_arn(certificate("dev").id);
    (void)thing("t");
    expect_error(
        [&] {
            registry.attach_thing_principal("ghost", arn, ThingPrincipalType::non_exclusive, now());
        },
        "ResourceNotFoundException", 404);
    expect_error(
        [&] {
            registry.attach_thing_principal("t", registry.certificate_arn(std::string(64, 'c')),
                                            ThingPrincipalType::non_exclusive, now());
        },
        "ResourceNotFoundException", 404);
    expect_error(
        [&] {
            registry.attach_thing_principal("t", "arn:aws:iam::123456789012:user/u",
                                            ThingPrincipalType::non_exclusive, now());
        },
        "InvalidRequestException", 400);
}

BOOST_FIXTURE_TEST_CASE(policies_for_principal_include_groups_and_their_ancestors, Fixture) {
    const std::string id = certificate("dev").id;
    const std::string arn = registry.certificate_arn(id);
    (void)thing("t");
    (void)group("root");
    (void)group("child", "root");
    registry.add_thing_to_thing_group("child", "t", now());
    registry.attach_thing_principal("t", arn, ThingPrincipalType::non_exclusive, now());
    for (const char* n : {"direct", "from-root", "from-child"}) {
        (void)registry.create_policy(n, allow_all_policy, {}, now());
    }
    (void)registry.create_policy_version("from-root", connect_policy, true, now());
    registry.attach_policy("direct", arn, now());
    registry.attach_policy("from-root", registry.thing_group_arn("root"), now());
    registry.attach_policy("from-child", registry.thing_group_arn("child"), now());
    registry.attach_policy("direct", registry.thing_group_arn("child"), now());  // once only
    const auto policies = registry.policies_for_principal(id);
    BOOST_REQUIRE(policies.size() == 3u);
    BOOST_TEST(policies[0].policy_name == "direct");
    BOOST_TEST(policies[1].policy_name == "from-child");  // groups by name: child, root
    BOOST_TEST(policies[2].policy_name == "from-root");
    BOOST_TEST(policies[2].version_id == 2);
    BOOST_TEST(policies[2].document == connect_policy);
    BOOST_TEST(
        registry.list_attached_policies(registry.thing_group_arn("child"), true, {}).items.size() ==
        3u);
    BOOST_TEST(registry.list_attached_policies(registry.thing_group_arn("child"), false, {})
                   .items.size() == 2u);
    BOOST_TEST(registry.policies_for_principal(std::string(64, 'f')).empty());
}

BOOST_FIXTURE_TEST_CASE(deleting_a_group_detaches_its_policies, Fixture) {
    (void)group("g");
    (void)registry.create_policy("p", allow_all_policy, {}, now());
    registry.attach_policy("p", registry.thing_group_arn("g"), now());
    registry.delete_thing_group("g", std::nullopt, now());
    BOOST_TEST(registry.get_policy("p").targets.empty());
    registry.delete_policy("p", now());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(registry_tags_endpoint)

BOOST_FIXTURE_TEST_CASE(tag_untag_and_list_on_taggable_resources, Fixture) {
    (void)group("g");
    (void)registry.create_policy("p", allow_all_policy, {{"a", "1"}}, now());
    const std::string parn = registry.policy_arn("p");
    registry.tag_resource(parn, {{"b", "2"}, {"a", "x"}}, now());
    BOOST_TEST((registry.list_tags_for_resource(parn) == Tags{{"a", "x"}, {"b", "2"}}));
    registry.untag_resource(parn, {"a", "missing"}, now());
    BOOST_TEST((registry.list_tags_for_resource(parn) == Tags{{"b", "2"}}));
    registry.tag_resource(registry.thing_group_arn("g"), {{"k", ""}}, now());
    BOOST_TEST(registry.list_tags_for_resource(registry.thing_group_arn("g")).size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(tag_errors, Fixture) {
    (void)thing("t");
    expect_error(
        [&] {
            registry.tag_resource(registry.thing_arn("t"), {{"k", "v"}}, now());
        },
        "InvalidRequestException", 400);
    expect_error(
        [&] {
            registry.tag_resource(registry.policy_arn("ghost"), {{"k", "v"}}, now());
        },
        "ResourceNotFoundException", 404);
    (void)registry.create_policy("p", allow_all_policy, {}, now());
    expect_error(
        [&] {
            registry.tag_resource(registry.policy_arn("p"), {{"aws:x", "v"}}, now());
        },
        "InvalidRequestException", 400);
    Tags many;
    for (int i = 0; i < 50; ++i) {
        many["k" + std::to_string(i)] = "v";
    }
    registry.tag_resource(registry.policy_arn("p"), many, now());
    expect_error(
        [&] {
            registry.tag_resource(registry.policy_arn("p"), {{"one-more", "v"}}, now());
        },
        "LimitExceededException", 410);
}

BOOST_FIXTURE_TEST_CASE(describe_endpoint_answers_the_configured_host, Fixture) {
    BOOST_TEST(registry.describe_endpoint(std::string("iot:Data-ATS")) == "localhost");
    BOOST_TEST(registry.describe_endpoint(std::nullopt) == "localhost");
    BOOST_TEST(registry.describe_endpoint(std::string("iot:CredentialProvider")) == "localhost");
    expect_error([&] { (void)registry.describe_endpoint(std::string("iot:Nope")); },
                 "InvalidRequestException", 400);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(registry_persistence)

BOOST_FIXTURE_TEST_CASE(a_new_registry_recovers_everything_from_the_store, Fixture) {
    CreateThingTypeInput type;
    type.thing_type_name = "Lamp";
    (void)registry.create_thing_type(type, now());
    registry.deprecate_thing_type("Lamp", false, now());
    (void)group("root");
    (void)group("child", "root");
    (void)thing("t", {{"a", "1"}});
    registry.add_thing_to_thing_group("child", "t", now());
    const std::string id = certificate("dev").id;
    const std::string arn = registry.certificate_arn(id);
    registry.attach_thing_principal("t", arn, ThingPrincipalType::exclusive, now());
    (void)registry.create_policy("p", allow_all_policy, {{"k", "v"}}, now());
    (void)registry.create_policy_version("p", connect_policy, true, now());
    registry.attach_policy("p", registry.thing_group_arn("root"), now());
    const std::string code = registry.get_registration_code(now());

    Rng rng2{7};
    Registry again(store, rng2);
    again.recover();
    BOOST_TEST((again.describe_thing("t") == registry.describe_thing("t")));
    BOOST_TEST((again.describe_thing_type("Lamp") == registry.describe_thing_type("Lamp")));
    BOOST_TEST((again.describe_thing_group("child") == registry.describe_thing_group("child")));
    BOOST_TEST((again.describe_certificate(id) == registry.describe_certificate(id)));
    BOOST_TEST((again.get_policy("p") == registry.get_policy("p")));
    BOOST_TEST(again.get_registration_code(now()) == code);
    BOOST_TEST(again.things_for_principal(id) == (std::vector<std::string>{"t"}));
    BOOST_REQUIRE(again.policies_for_principal(id).size() == 1u);
    BOOST_TEST(again.policies_for_principal(id)[0].document == connect_policy);
}

BOOST_FIXTURE_TEST_CASE(a_failed_store_write_leaves_the_registry_unchanged, Fixture) {
    (void)thing("t", {{"a", "1"}});
    store.set_fail_writes(true);
    UpdateThingInput input;
    input.thing_name = "t";
    input.attributes = Attributes{{"b", "2"}};
    BOOST_CHECK_THROW(registry.update_thing(input, now()), std::runtime_error);
    BOOST_TEST(registry.describe_thing("t").version == 1);
    BOOST_TEST((registry.describe_thing("t").attributes == Attributes{{"a", "1"}}));
    BOOST_CHECK_THROW((void)thing("u"), std::runtime_error);
    BOOST_TEST(registry.find_thing("u") == nullptr);
}

BOOST_FIXTURE_TEST_CASE(same_seed_gives_same_ids, Fixture) {
    const std::string id = thing("t").id;
    MemoryRegistryStore other_store;
    Rng other_rng{42};
    Registry other(other_store, other_rng);
    other.recover();
    CreateThingInput input;
    input.thing_name = "t";
    BOOST_TEST(other.create_thing(input, now()).id == id);
}

BOOST_AUTO_TEST_SUITE_END()
