// ListNamedShadowsForThing (../shared/reference/aws-iot-core.md §2.5, §2.9).
#include "shadow_harness.hpp"

using namespace iotsim::shadow;
using namespace iotsim::shadow::test;

namespace {

void create(Fixture& f, const ShadowKey& key) {
    f.advance(seconds(1));  // stay within the request rate
    BOOST_REQUIRE(f.update(key, json::parse(R"({"state":{}})")).accepted());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(shadow_list)

BOOST_AUTO_TEST_CASE(named_shadows_are_listed_in_name_order_without_the_classic_one) {
    Fixture f;
    create(f, classic("lamp"));
    for (const char* name : {"zeta", "Alpha", "$package", "beta", "alpha"}) {
        create(f, named("lamp", name));
    }
    create(f, named("lamp2", "other"));
    const auto r = f.service.list_named_shadows("lamp", "", std::nullopt, f.now);
    BOOST_REQUIRE(r.accepted());
    BOOST_TEST(r.document == json({{"results", {"$package", "Alpha", "alpha", "beta", "zeta"}},
                                   {"timestamp", f.now_s()}}));
}

BOOST_AUTO_TEST_CASE(pages_follow_the_next_token_until_it_is_absent) {
    Fixture f;
    for (const char* name : {"a", "b", "c", "d", "e"}) {
        create(f, named("lamp", name));
    }
    std::vector<std::string> seen;
    std::string token;
    int pages = 0;
    do {
        const auto r = f.service.list_named_shadows("lamp", token, 2, f.now);
        BOOST_REQUIRE(r.accepted());
        for (const auto& name : r.document["results"]) {
            seen.push_back(name.get<std::string>());
        }
        token = r.document.value("nextToken", "");
        ++pages;
    } while (!token.empty() && pages < 10);
    BOOST_TEST(pages == 3);
    BOOST_TEST(seen == (std::vector<std::string>{"a", "b", "c", "d", "e"}));
}

BOOST_AUTO_TEST_CASE(a_page_that_ends_the_list_exactly_has_no_next_token) {
    Fixture f;
    create(f, named("lamp", "a"));
    create(f, named("lamp", "b"));
    const auto r = f.service.list_named_shadows("lamp", "", 2, f.now);
    BOOST_TEST(r.document["results"].size() == 2U);
    BOOST_TEST(!r.document.contains("nextToken"));
}

BOOST_AUTO_TEST_CASE(an_unknown_thing_lists_nothing) {
    Fixture f;
    const auto r = f.service.list_named_shadows("nobody", "", std::nullopt, f.now);
    BOOST_REQUIRE(r.accepted());
    BOOST_TEST(r.document["results"] == json::array());
}

BOOST_AUTO_TEST_CASE(deleted_shadows_are_not_listed) {
    Fixture f;
    create(f, named("lamp", "a"));
    create(f, named("lamp", "b"));
    BOOST_REQUIRE(f.remove(named("lamp", "a")).accepted());
    BOOST_TEST(f.service.list_named_shadows("lamp", "", std::nullopt, f.now).document["results"] ==
               json({"b"}));
}

BOOST_AUTO_TEST_CASE(bad_page_sizes_tokens_and_thing_names_are_400) {
    Fixture f;
    for (int size : {0, -1, 101}) {
        const auto r = f.service.list_named_shadows("lamp", "", size, f.now);
        BOOST_TEST(r.status == 400);
        BOOST_TEST(r.document["message"] == "Invalid pageSize");
    }
    BOOST_TEST(f.service.list_named_shadows("lamp", "", 100, f.now).accepted());
    for (const char* token : {"zz", "abc", "2f"}) {  // not hex, odd, "/" (not a shadow name)
        const auto r = f.service.list_named_shadows("lamp", token, std::nullopt, f.now);
        BOOST_TEST(r.document["message"] == "Invalid nextToken");
    }
    BOOST_TEST(
        f.service.list_named_shadows("bad name", "", std::nullopt, f.now).document["message"] ==
        "Invalid thing name");
}

BOOST_AUTO_TEST_SUITE_END()
