// SqliteRegistryStore: the registry's records in DATA_DIR/iotsim.db, reloaded exactly, next to
// the broker's and the shadow service's tables.

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "iotsim/storage/sqlite_registry_store.hpp"
#include "iotsim/storage/sqlite_shadow_store.hpp"
#include "iotsim/storage/sqlite_store.hpp"
#include "registry_harness.hpp"

using namespace registry_test;
using iotsim::storage::SqliteRegistryStore;
using iotsim::storage::StoreError;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() /
               ("iotsim-registry-store-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    static int& counter() {
        static int n = 0;
        return n;
    }
    fs::path db() const { return path / "iotsim.db"; }
};

/// Certificates made once, so that two registries can be given the same ones.
struct Material {
    TestCert ca = make_cert("CA", nullptr, true);
    TestCert device = make_cert("device", &ca, false, epoch_s - 86400, epoch_s + 86400, 7);
};

/// A registry with one of everything: a thing type, groups, things, certificates, a CA, policies
/// with versions and attachments, tags and the registration code.
void populate(Registry& registry, Now now, const Material& m = Material{}) {
    CreateThingTypeInput type;
    type.thing_type_name = "lamp-type";
    type.searchable_attributes = {"room"};
    registry.create_thing_type(type, now);
    CreateThingGroupInput root;
    root.thing_group_name = "building";
    root.tags = {{"k", "v"}};
    registry.create_thing_group(root, now);
    CreateThingGroupInput child;
    child.thing_group_name = "floor1";
    child.parent_group_name = "building";
    registry.create_thing_group(child, now);
    CreateThingInput lamp;
    lamp.thing_name = "lamp";
    lamp.thing_type_name = "lamp-type";
    lamp.attributes = {{"room", "kitchen"}};
    registry.create_thing(lamp, now);
    registry.add_thing_to_thing_group("floor1", "lamp", now);
    const TestCert& ca = m.ca;
    const TestCert verification = make_cert(registry.get_registration_code(now), &ca);
    RegisterCaCertificateInput ca_input;
    ca_input.ca_certificate_pem = ca.pem;
    ca_input.verification_certificate_pem = verification.pem;
    ca_input.set_as_active = true;
    registry.register_ca_certificate(ca_input, now);
    const TestCert& device = m.device;
    RegisterCertificateInput reg;
    reg.certificate_pem = device.pem;
    reg.ca_certificate_pem = ca.pem;
    reg.set_as_active = true;
    const std::string cert_arn = registry.certificate_arn(registry.register_certificate(reg, now).id);
    registry.create_policy("p", allow_all_policy, {{"team", "a"}}, now);
    registry.create_policy_version("p", connect_policy, true, now);
    registry.attach_policy("p", cert_arn, now);
    registry.attach_policy("p", registry.thing_group_arn("building"), now);
    registry.attach_thing_principal("lamp", cert_arn, ThingPrincipalType::exclusive, now);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sqlite_registry_store)

BOOST_AUTO_TEST_CASE(reopened_store_loads_what_a_memory_store_holds) {
    TempDir dir;
    MemoryRegistryStore memory;
    {
        SqliteRegistryStore sqlite(dir.db());
        // Every write goes to both stores: a registry over each, same seed, same calls.
        Rng rng_a{7};
        Rng rng_b{7};
        Registry a(memory, rng_a);
        Registry b(sqlite, rng_b);
        a.recover();
        b.recover();
        const Material material;
        populate(a, at_s(epoch_s), material);
        populate(b, at_s(epoch_s), material);
        b.delete_thing_group("floor1", std::nullopt, at_s(epoch_s + 1));  // erase + rewrites
        a.delete_thing_group("floor1", std::nullopt, at_s(epoch_s + 1));
    }
    SqliteRegistryStore reopened(dir.db());
    const RegistrySnapshot got = reopened.load();
    const RegistrySnapshot want = memory.load();
    BOOST_TEST((got.things == want.things));
    BOOST_TEST((got.thing_types == want.thing_types));
    BOOST_TEST((got.thing_groups == want.thing_groups));
    BOOST_TEST((got.certificates == want.certificates));
    BOOST_TEST((got.ca_certificates == want.ca_certificates));
    BOOST_TEST((got.policies == want.policies));
    BOOST_TEST((got.settings == want.settings));
    BOOST_TEST(got.things.size() == 1u);
    BOOST_TEST(got.thing_groups.size() == 1u);
    BOOST_TEST(got.policies.at(0).versions.size() == 2u);
}

BOOST_AUTO_TEST_CASE(registry_recovers_from_the_database_after_a_restart) {
    TempDir dir;
    std::string cert_id;
    {
        SqliteRegistryStore store(dir.db());
        Rng rng{1};
        Registry registry(store, rng);
        registry.recover();
        populate(registry, at_s(epoch_s));
        const auto certs = registry.list_certificates(ListCertificatesInput{});
        BOOST_REQUIRE(certs.items.size() == 1u);
        cert_id = certs.items[0].id;
    }
    SqliteRegistryStore store(dir.db());
    Rng rng{2};
    Registry registry(store, rng);
    registry.recover();
    BOOST_TEST(registry.describe_thing("lamp").attributes.at("room") == "kitchen");
    BOOST_TEST(registry.things_for_principal(cert_id) == std::vector<std::string>{"lamp"});
    const auto policies = registry.policies_for_principal(cert_id);
    BOOST_REQUIRE(policies.size() == 1u);
    BOOST_TEST(policies[0].version_id == 2);
    BOOST_TEST(registry.find_certificate(cert_id)->status == CertificateStatus::active);
    // Deleting works on recovered state and is durable as well.
    registry.detach_policy("p", registry.certificate_arn(cert_id), at_s(epoch_s + 5));
    SqliteRegistryStore again(dir.db());
    const auto snapshot = again.load();
    BOOST_TEST(snapshot.policies.at(0).targets == std::vector<std::string>{registry.thing_group_arn("building")});
}

BOOST_AUTO_TEST_CASE(shares_the_database_with_the_broker_and_shadow_stores) {
    TempDir dir;
    iotsim::storage::SqliteStore broker_store(dir.db());
    iotsim::storage::SqliteShadowStore shadow_store(dir.db());
    SqliteRegistryStore store(dir.db());
    ThingRecord thing;
    thing.name = "t";
    thing.id = "id";
    store.put_thing(thing);
    store.erase_thing("absent");  // no-op
    BOOST_TEST(store.load().things.size() == 1u);
    BOOST_TEST(shadow_store.load().empty());
}

BOOST_AUTO_TEST_CASE(corrupt_rows_and_unknown_schema_versions_throw_store_error) {
    TempDir dir;
    {
        SqliteRegistryStore store(dir.db());
    }
    sqlite3* db = nullptr;
    BOOST_REQUIRE(sqlite3_open(dir.db().c_str(), &db) == SQLITE_OK);
    sqlite3_exec(db, "INSERT INTO registry_records VALUES ('thing', 'x', 'not json')", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    {
        SqliteRegistryStore store(dir.db());
        BOOST_CHECK_THROW((void)store.load(), StoreError);
    }
    BOOST_REQUIRE(sqlite3_open(dir.db().c_str(), &db) == SQLITE_OK);
    sqlite3_exec(db, "DELETE FROM registry_records; UPDATE meta SET value = '99' WHERE key = 'registry_schema_version'",
                 nullptr, nullptr, nullptr);
    sqlite3_close(db);
    BOOST_CHECK_THROW(SqliteRegistryStore{dir.db()}, StoreError);
}

BOOST_AUTO_TEST_CASE(a_file_that_is_not_a_database_throws_store_error) {
    TempDir dir;
    {
        std::ofstream out(dir.db());
        out << "definitely not sqlite, just text that is long enough to have a header page........";
    }
    BOOST_CHECK_THROW(SqliteRegistryStore{dir.db()}, StoreError);
}

BOOST_AUTO_TEST_SUITE_END()
