#include "iotsim/registry/registry.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <utility>

#include "iotsim/common/assert.hpp"
#include "iotsim/http/base64.hpp"
#include "iotsim/policy/policy.hpp"
#include "iotsim/registry/certificate.hpp"
#include "iotsim/registry/error.hpp"

namespace iotsim::registry {

namespace {

[[noreturn]] void fail(const char* type, std::string message) {
    throw RegistryError(errors::make(type, std::move(message)));
}

[[noreturn]] void invalid(std::string message) {
    fail(errors::invalid_request, std::move(message));
}

[[noreturn]] void not_found(std::string message) {
    fail(errors::resource_not_found, std::move(message));
}

bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/// `[a-zA-Z0-9:_-]+`, 1..128: things, thing types, thing groups, billing groups.
bool is_resource_name(std::string_view name) {
    return !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
        return is_alnum(c) || c == ':' || c == '_' || c == '-';
    });
}

/// `[\w+=,.@-]+`, 1..128: policies.
bool is_policy_name(std::string_view name) {
    return !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
        return is_alnum(c) || c == '_' || c == '+' || c == '=' || c == ',' || c == '.' ||
               c == '@' || c == '-';
    });
}

/// AttributeName: `[a-zA-Z0-9_.,@/:#-]+`, at most 128.
bool is_attribute_name(std::string_view name) {
    return !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
        return is_alnum(c) || c == '_' || c == '.' || c == ',' || c == '@' || c == '/' ||
               c == ':' || c == '#' || c == '-';
    });
}

/// AttributeValue: `[a-zA-Z0-9_.,@/:#=\[\]-]*`, at most 800.
bool is_attribute_value(std::string_view value) {
    return value.size() <= 800 && std::all_of(value.begin(), value.end(), [](char c) {
               return is_alnum(c) || c == '_' || c == '.' || c == ',' || c == '@' || c == '/' ||
                      c == ':' || c == '#' || c == '=' || c == '[' || c == ']' || c == '-';
           });
}

/// ThingTypeDescription / ThingGroupDescription: `[\p{Graph}\x20]*`, at most 2028. Bytes
/// >= 0x80 (UTF-8 of non-ASCII graphic characters) pass; control characters do not.
bool is_description(std::string_view text) {
    return text.size() <= 2028 && std::all_of(text.begin(), text.end(), [](char c) {
               const auto u = static_cast<unsigned char>(c);
               return u >= 0x20 && u != 0x7f;
           });
}

void check_name(std::string_view name, std::string_view what) {
    if (!is_resource_name(name)) {
        invalid("Invalid " + std::string(what) + " name: '" + std::string(name) +
                "'. It must be 1 to 128 characters of [a-zA-Z0-9:_-]");
    }
}

/// Drops empty values: AWS documents an empty value as the way to remove an attribute.
/// AMBIG (iotsim's rule): an empty value means "absent" in every call (CreateThing, UpdateThing
/// with and without merge, thing groups), so the registry never holds one.
Attributes without_empty(Attributes attributes) {
    std::erase_if(attributes, [](const auto& kv) { return kv.second.empty(); });
    return attributes;
}

std::string random_hex(Rng& rng, int words) {
    std::string out;
    for (int i = 0; i < words; ++i) {
        char buf[17];
        std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng.next_u64()));
        out += buf;
    }
    return out;
}

/// The registry's page cursor: the base64 of the sort key of the first item of the next page.
std::string encode_token(std::string_view key) {
    return http::base64_encode(key);
}

int page_size(const PageRequest& page, const RegistryOptions& options) {
    const int size = page.size.value_or(options.page_size_default);
    if (size < 1 || size > options.page_size_max) {
        invalid("Invalid page size: must be between 1 and " +
                std::to_string(options.page_size_max));
    }
    return size;
}

/// Cuts one page out of `keyed`, already sorted by key (ascending, or descending when
/// `descending`). The token names the first key of the page.
template <class T>
Page<T> paginate(std::vector<std::pair<std::string, T>> keyed, const PageRequest& page,
                 const RegistryOptions& options, bool descending = false) {
    const auto size = static_cast<std::size_t>(page_size(page, options));
    std::size_t start = 0;
    if (!page.token.empty()) {
        const auto key = http::base64_decode(page.token);
        if (!key) {
            invalid("Invalid pagination token");
        }
        const auto it = std::find_if(keyed.begin(), keyed.end(), [&](const auto& kv) {
            return descending ? kv.first <= *key : kv.first >= *key;
        });
        start = static_cast<std::size_t>(it - keyed.begin());
    }
    Page<T> out;
    for (std::size_t i = start; i < keyed.size() && out.items.size() < size; ++i) {
        out.items.push_back(std::move(keyed[i].second));
    }
    if (start + out.items.size() < keyed.size()) {
        out.next_token = encode_token(keyed[start + out.items.size()].first);
    }
    return out;
}

Page<std::string> paginate_names(const std::vector<std::string>& names, const PageRequest& page,
                                 const RegistryOptions& options) {
    std::vector<std::pair<std::string, std::string>> keyed;
    keyed.reserve(names.size());
    for (const std::string& n : names) {
        keyed.emplace_back(n, n);
    }
    return paginate(std::move(keyed), page, options);
}

/// A sort key for "by creation date, then id": 20 zero-padded digits of nanoseconds.
std::string creation_key(WallTime created, std::string_view id) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%020lld",
                  static_cast<long long>(created.since_unix_epoch.count()));
    return std::string(buf) + "/" + std::string(id);
}

template <class Map>
void insert_sorted_unique(Map& vec, const std::string& value) {
    const auto it = std::lower_bound(vec.begin(), vec.end(), value);
    if (it == vec.end() || *it != value) {
        vec.insert(it, value);
    }
}

template <class Vec>
void erase_value(Vec& vec, std::string_view value) {
    std::erase_if(vec, [&](const std::string& v) { return v == value; });
}

void check_document(std::string_view name, std::string_view document, const std::string& arn) {
    policy::PolicyOptions options;
    options.name = std::string(name);
    options.arn = arn;
    auto parsed = policy::parse_policy(document, options);
    if (!parsed) {
        fail(errors::malformed_policy, parsed.error().message);
    }
}

}  // namespace

Registry::Registry(RegistryStore& store, Rng& rng, RegistryOptions options)
    : store_(store),
      rng_(rng),
      options_(std::move(options)),
      arn_prefix_(policy::arn_prefix(options_.scope)) {}

void Registry::recover() {
    RegistrySnapshot snapshot = store_.load();
    things_.clear();
    thing_types_.clear();
    thing_groups_.clear();
    certificates_.clear();
    ca_certificates_.clear();
    policies_.clear();
    authorizers_.clear();
    principal_things_.clear();
    target_policies_.clear();
    for (ThingRecord& r : snapshot.things) {
        for (const auto& [principal, type] : r.principals) {
            principal_things_[principal].insert(r.name);
        }
        things_.emplace(r.name, std::move(r));
    }
    for (ThingTypeRecord& r : snapshot.thing_types) {
        thing_types_.emplace(r.name, std::move(r));
    }
    for (ThingGroupRecord& r : snapshot.thing_groups) {
        thing_groups_.emplace(r.name, std::move(r));
    }
    for (CertificateRecord& r : snapshot.certificates) {
        certificates_.emplace(r.id, std::move(r));
    }
    for (CaCertificateRecord& r : snapshot.ca_certificates) {
        ca_certificates_.emplace(r.id, std::move(r));
    }
    for (PolicyRecord& r : snapshot.policies) {
        for (const std::string& target : r.targets) {
            target_policies_[target].insert(r.name);
        }
        policies_.emplace(r.name, std::move(r));
    }
    for (AuthorizerRecord& r : snapshot.authorizers) {
        authorizers_.emplace(r.name, std::move(r));
    }
    settings_ = snapshot.settings.value_or(RegistrySettings{});
}

// ---- ARNs ----------------------------------------------------------------------------------

std::string Registry::thing_arn(std::string_view name) const {
    return arn_prefix_ + "thing/" + std::string(name);
}
std::string Registry::thing_type_arn(std::string_view name) const {
    return arn_prefix_ + "thingtype/" + std::string(name);
}
std::string Registry::thing_group_arn(std::string_view name) const {
    return arn_prefix_ + "thinggroup/" + std::string(name);
}
std::string Registry::certificate_arn(std::string_view id) const {
    return arn_prefix_ + "cert/" + std::string(id);
}
std::string Registry::ca_certificate_arn(std::string_view id) const {
    return arn_prefix_ + "cacert/" + std::string(id);
}
std::string Registry::policy_arn(std::string_view name) const {
    return arn_prefix_ + "policy/" + std::string(name);
}

std::string Registry::authorizer_arn(std::string_view name) const {
    return arn_prefix_ + "authorizer/" + std::string(name);
}

std::optional<std::string> Registry::certificate_id_of(std::string_view arn) const {
    const std::string prefix = arn_prefix_ + "cert/";
    if (!arn.starts_with(prefix)) {
        return std::nullopt;
    }
    return std::string(arn.substr(prefix.size()));
}

std::optional<std::string> Registry::group_name_of(std::string_view arn) const {
    const std::string prefix = arn_prefix_ + "thinggroup/";
    if (!arn.starts_with(prefix)) {
        return std::nullopt;
    }
    return std::string(arn.substr(prefix.size()));
}

// ---- lookups -------------------------------------------------------------------------------

ThingRecord& Registry::thing_or_throw(std::string_view name) {
    const auto it = things_.find(name);
    if (it == things_.end()) {
        not_found("Thing " + std::string(name) + " cannot be found.");
    }
    return it->second;
}
const ThingRecord& Registry::thing_or_throw(std::string_view name) const {
    return const_cast<Registry*>(this)->thing_or_throw(name);
}
ThingGroupRecord& Registry::group_or_throw(std::string_view name) {
    const auto it = thing_groups_.find(name);
    if (it == thing_groups_.end()) {
        not_found("ThingGroup " + std::string(name) + " cannot be found.");
    }
    return it->second;
}
const ThingGroupRecord& Registry::group_or_throw(std::string_view name) const {
    return const_cast<Registry*>(this)->group_or_throw(name);
}
PolicyRecord& Registry::policy_or_throw(std::string_view name) {
    const auto it = policies_.find(name);
    if (it == policies_.end()) {
        not_found("Policy " + std::string(name) + " cannot be found.");
    }
    return it->second;
}
const PolicyRecord& Registry::policy_or_throw(std::string_view name) const {
    return const_cast<Registry*>(this)->policy_or_throw(name);
}
CertificateRecord& Registry::certificate_or_throw(std::string_view id) {
    const auto it = certificates_.find(id);
    if (it == certificates_.end()) {
        not_found("The certificate " + std::string(id) + " cannot be found.");
    }
    return it->second;
}
const CertificateRecord& Registry::certificate_or_throw(std::string_view id) const {
    return const_cast<Registry*>(this)->certificate_or_throw(id);
}
CaCertificateRecord& Registry::ca_or_throw(std::string_view id) {
    const auto it = ca_certificates_.find(id);
    if (it == ca_certificates_.end()) {
        not_found("The CA certificate " + std::string(id) + " cannot be found.");
    }
    return it->second;
}
const CaCertificateRecord& Registry::ca_or_throw(std::string_view id) const {
    return const_cast<Registry*>(this)->ca_or_throw(id);
}

const CertificateRecord* Registry::find_certificate(std::string_view certificate_id) const {
    const auto it = certificates_.find(certificate_id);
    return it == certificates_.end() ? nullptr : &it->second;
}

const ThingRecord* Registry::find_thing(std::string_view thing_name) const {
    const auto it = things_.find(thing_name);
    return it == things_.end() ? nullptr : &it->second;
}

void Registry::check_attributes(const Attributes& attributes, bool typed) const {
    for (const auto& [name, value] : attributes) {
        if (!is_attribute_name(name)) {
            invalid("Invalid attribute name: '" + name + "'");
        }
        if (!is_attribute_value(value)) {
            invalid("Invalid value for attribute '" + name + "'");
        }
    }
    const std::size_t max =
        typed ? options_.typed_thing_attributes_max : options_.thing_attributes_max;
    if (attributes.size() > max) {
        invalid("Maximum number of attributes (" + std::to_string(max) + ") exceeded" +
                (typed ? "" : " for a thing without a thing type"));
    }
}

void Registry::check_tags(const Tags& tags) const {
    for (const auto& [key, value] : tags) {
        if (key.empty() || key.size() > 128) {
            invalid("Tag keys must be 1 to 128 characters");
        }
        if (key.starts_with("aws:")) {
            invalid("Tag keys starting with 'aws:' are reserved");
        }
        if (value.size() > 256) {
            invalid("Tag values must be at most 256 characters");
        }
    }
    if (tags.size() > options_.tags_per_resource_max) {
        fail(errors::limit_exceeded, "A resource can have at most " +
                                         std::to_string(options_.tags_per_resource_max) + " tags");
    }
}

void Registry::put_thing(const ThingRecord& record) {
    store_.put_thing(record);
    things_.insert_or_assign(record.name, record);
}

void Registry::put_policy(const PolicyRecord& record) {
    store_.put_policy(record);
    policies_.insert_or_assign(record.name, record);
}

std::string Registry::fresh_generation_id() {
    return random_hex(rng_, 4);
}

// ---- Things --------------------------------------------------------------------------------

const ThingRecord& Registry::create_thing(const CreateThingInput& input, Now now) {
    check_name(input.thing_name, "thing");
    const Attributes attributes = without_empty(input.attributes);
    std::string type_name;
    if (input.thing_type_name) {
        check_name(*input.thing_type_name, "thing type");
        type_name = *input.thing_type_name;
    }
    if (const auto it = things_.find(input.thing_name); it != things_.end()) {
        const ThingRecord& existing = it->second;
        // Idempotent for the same configuration (API_CreateThing).
        if (existing.type_name == type_name && existing.attributes == attributes &&
            existing.billing_group_name == input.billing_group_name.value_or("")) {
            return existing;
        }
        fail(errors::resource_already_exists,
             "Thing " + input.thing_name + " already exists in account with different attributes");
    }
    if (!type_name.empty()) {
        const auto type = thing_types_.find(type_name);
        if (type == thing_types_.end()) {
            not_found("Thing Type " + type_name + " cannot be found.");
        }
        if (type->second.deprecated) {
            invalid("Can not create new thing with deprecated thing type " + type_name);
        }
    }
    if (input.billing_group_name) {
        // iotsim has no billing groups, so every name is unknown (AWS: 404).
        not_found("Billing group " + *input.billing_group_name + " cannot be found.");
    }
    check_attributes(attributes, !type_name.empty());
    ThingRecord record;
    record.name = input.thing_name;
    record.id = rng_.uuid4();
    record.type_name = type_name;
    record.attributes = attributes;
    record.version = 1;
    record.created = now.wall;
    put_thing(record);
    return things_.find(input.thing_name)->second;
}

const ThingRecord& Registry::describe_thing(std::string_view thing_name) const {
    return thing_or_throw(thing_name);
}

void Registry::update_thing(const UpdateThingInput& input, Now now) {
    (void)now;
    ThingRecord updated = thing_or_throw(input.thing_name);
    if (input.expected_version && *input.expected_version != updated.version) {
        fail(errors::version_conflict,
             "The version for thing " + input.thing_name + " does not match the expected version.");
    }
    if (input.remove_thing_type && input.thing_type_name) {
        invalid("Cannot both set and remove the thing type of thing " + input.thing_name);
    }
    if (input.remove_thing_type) {
        updated.type_name.clear();
    } else if (input.thing_type_name) {
        check_name(*input.thing_type_name, "thing type");
        const auto type = thing_types_.find(*input.thing_type_name);
        if (type == thing_types_.end()) {
            not_found("Thing Type " + *input.thing_type_name + " cannot be found.");
        }
        if (type->second.deprecated && updated.type_name != *input.thing_type_name) {
            invalid("Can not associate thing with deprecated thing type " + *input.thing_type_name);
        }
        updated.type_name = *input.thing_type_name;
    }
    if (input.attributes) {
        if (input.merge) {
            for (const auto& [name, value] : *input.attributes) {
                if (value.empty()) {
                    updated.attributes.erase(name);
                } else {
                    updated.attributes[name] = value;
                }
            }
        } else {
            updated.attributes = without_empty(*input.attributes);
        }
    }
    check_attributes(updated.attributes, !updated.type_name.empty());
    ++updated.version;
    put_thing(updated);
}

void Registry::delete_thing(std::string_view thing_name,
                            std::optional<std::int64_t> expected_version, Now now) {
    (void)now;
    check_name(thing_name, "thing");
    const auto it = things_.find(thing_name);
    if (it == things_.end()) {
        return;  // AWS: "Returns successfully ... if you specify a thing that doesn't exist."
    }
    if (expected_version && *expected_version != it->second.version) {
        fail(errors::version_conflict, "The version for thing " + std::string(thing_name) +
                                           " does not match the expected version.");
    }
    if (!it->second.principals.empty()) {
        // Reference §4.2 [OBS]: a thing with principals attached cannot be deleted.
        invalid("Cannot delete thing " + std::string(thing_name) +
                " because it still has principals attached. Detach the principals first.");
    }
    store_.erase_thing(thing_name);
    things_.erase(it);
}

Page<ThingRecord> Registry::list_things(const ListThingsInput& input) const {
    if (input.attribute_value && !input.attribute_name) {
        invalid("attributeValue requires attributeName");
    }
    if (input.use_prefix_attribute_value && !input.attribute_value) {
        invalid("usePrefixAttributeValue requires attributeValue");
    }
    std::vector<std::pair<std::string, ThingRecord>> keyed;
    for (const auto& [name, thing] : things_) {
        if (input.thing_type_name && thing.type_name != *input.thing_type_name) {
            continue;
        }
        if (input.attribute_name) {
            const auto a = thing.attributes.find(*input.attribute_name);
            if (a == thing.attributes.end()) {
                continue;
            }
            if (input.attribute_value &&
                !(input.use_prefix_attribute_value ? a->second.starts_with(*input.attribute_value)
                                                   : a->second == *input.attribute_value)) {
                continue;
            }
        }
        keyed.emplace_back(name, thing);
    }
    return paginate(std::move(keyed), input.page, options_);
}

// ---- Thing types ---------------------------------------------------------------------------

const ThingTypeRecord& Registry::create_thing_type(const CreateThingTypeInput& input, Now now) {
    check_name(input.thing_type_name, "thing type");
    if (!is_description(input.description)) {
        invalid("Invalid thingTypeDescription");
    }
    if (input.searchable_attributes.size() > options_.searchable_attributes_max) {
        invalid("A thing type can have at most " +
                std::to_string(options_.searchable_attributes_max) + " searchable attributes");
    }
    for (const std::string& a : input.searchable_attributes) {
        if (!is_attribute_name(a)) {
            invalid("Invalid searchable attribute name: '" + a + "'");
        }
    }
    check_tags(input.tags);
    if (const auto it = thing_types_.find(input.thing_type_name); it != thing_types_.end()) {
        const ThingTypeRecord& existing = it->second;
        // AMBIG: AWS documents idempotency for CreateThing only; iotsim treats the same
        // properties again as success (what the CLI shows after a retried call) and other
        // properties as a conflict.
        if (existing.description == input.description &&
            existing.searchable_attributes == input.searchable_attributes &&
            existing.mqtt5_configuration == input.mqtt5_configuration) {
            return existing;
        }
        fail(errors::resource_already_exists,
             "Thing Type " + input.thing_type_name + " already exists with different properties");
    }
    ThingTypeRecord record;
    record.name = input.thing_type_name;
    record.id = rng_.uuid4();
    record.description = input.description;
    record.searchable_attributes = input.searchable_attributes;
    record.mqtt5_configuration = input.mqtt5_configuration;
    record.created = now.wall;
    record.tags = input.tags;
    store_.put_thing_type(record);
    return thing_types_.insert_or_assign(record.name, record).first->second;
}

const ThingTypeRecord& Registry::describe_thing_type(std::string_view name) const {
    const auto it = thing_types_.find(name);
    if (it == thing_types_.end()) {
        not_found("Thing Type " + std::string(name) + " cannot be found.");
    }
    return it->second;
}

Page<ThingTypeRecord> Registry::list_thing_types(
    const PageRequest& page, const std::optional<std::string>& name_filter) const {
    std::vector<std::pair<std::string, ThingTypeRecord>> keyed;
    for (const auto& [name, type] : thing_types_) {
        if (!name_filter || name == *name_filter) {
            keyed.emplace_back(name, type);
        }
    }
    return paginate(std::move(keyed), page, options_);
}

void Registry::deprecate_thing_type(std::string_view name, bool undo, Now now) {
    ThingTypeRecord updated = describe_thing_type(name);
    if (undo) {
        updated.deprecated = false;
        updated.deprecated_at.reset();
    } else if (!updated.deprecated) {
        // Deprecating again keeps the first date, so it cannot postpone a pending deletion.
        updated.deprecated = true;
        updated.deprecated_at = now.wall;
    }
    store_.put_thing_type(updated);
    thing_types_.insert_or_assign(updated.name, std::move(updated));
}

void Registry::delete_thing_type(std::string_view name, Now now) {
    const ThingTypeRecord& type = describe_thing_type(name);
    if (!type.deprecated || !type.deprecated_at) {
        invalid("Thing Type " + std::string(name) + " must be deprecated before it can be deleted");
    }
    // AWS (reference §4.2): deletion is possible 5 minutes after deprecation. Wall time, as
    // the deprecation date is a wall-clock timestamp that survives restarts.
    if (now.wall.since_unix_epoch <
        type.deprecated_at->since_unix_epoch + options_.thing_type_delete_delay) {
        invalid("Thing Type " + std::string(name) +
                " was deprecated less than 5 minutes ago; it can be deleted 5 minutes after "
                "deprecation");
    }
    for (const auto& [thing_name, thing] : things_) {
        if (thing.type_name == name) {
            invalid("Can not delete thing type " + std::string(name) +
                    " because things are still associated with it");
        }
    }
    store_.erase_thing_type(name);
    thing_types_.erase(thing_types_.find(name));
}

// ---- Thing groups --------------------------------------------------------------------------

std::size_t Registry::depth_of(std::string_view name) const {
    return ancestors_of(name).size() + 1;
}

std::vector<std::string> Registry::ancestors_of(std::string_view name) const {
    std::vector<std::string> chain;
    const ThingGroupRecord* group = &group_or_throw(name);
    while (!group->parent.empty()) {
        chain.push_back(group->parent);
        const auto it = thing_groups_.find(group->parent);
        IOTSIM_ASSERT(it != thing_groups_.end());  // a parent cannot be deleted before its children
        group = &it->second;
    }
    std::reverse(chain.begin(), chain.end());
    return chain;
}

std::vector<std::string> Registry::descendants_of(std::string_view name) const {
    std::vector<std::string> out;
    std::vector<std::string> frontier{std::string(name)};
    while (!frontier.empty()) {
        const std::string current = frontier.back();
        frontier.pop_back();
        for (const auto& [child, group] : thing_groups_) {
            if (group.parent == current) {
                out.push_back(child);
                frontier.push_back(child);
            }
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

const ThingGroupRecord& Registry::create_thing_group(const CreateThingGroupInput& input, Now now) {
    check_name(input.thing_group_name, "thing group");
    if (!is_description(input.description)) {
        invalid("Invalid thingGroupDescription");
    }
    const Attributes attributes = without_empty(input.attributes);
    check_attributes(attributes, true);
    check_tags(input.tags);
    const std::string parent = input.parent_group_name.value_or("");
    if (const auto it = thing_groups_.find(input.thing_group_name); it != thing_groups_.end()) {
        const ThingGroupRecord& existing = it->second;
        if (existing.parent == parent && existing.description == input.description &&
            existing.attributes == attributes) {
            return existing;
        }
        fail(errors::resource_already_exists,
             "Thing Group " + input.thing_group_name + " already exists with different properties");
    }
    if (!parent.empty()) {
        check_name(parent, "parent thing group");
        // CreateThingGroup's model lists no ResourceNotFoundException: an unknown parent is a
        // bad request.
        if (!thing_groups_.contains(parent)) {
            invalid("Parent thing group " + parent + " does not exist");
        }
        if (depth_of(parent) + 1 > options_.group_depth_max) {
            invalid("Thing group hierarchy cannot be deeper than " +
                    std::to_string(options_.group_depth_max) + " levels");
        }
        const auto children =
            std::count_if(thing_groups_.begin(), thing_groups_.end(),
                          [&](const auto& kv) { return kv.second.parent == parent; });
        if (static_cast<std::size_t>(children) >= options_.group_children_max) {
            invalid("Thing group " + parent + " cannot have more than " +
                    std::to_string(options_.group_children_max) + " child groups");
        }
    }
    ThingGroupRecord record;
    record.name = input.thing_group_name;
    record.id = rng_.uuid4();
    record.parent = parent;
    record.description = input.description;
    record.attributes = attributes;
    record.created = now.wall;
    record.tags = input.tags;
    store_.put_thing_group(record);
    return thing_groups_.insert_or_assign(record.name, record).first->second;
}

const ThingGroupRecord& Registry::describe_thing_group(std::string_view name) const {
    return group_or_throw(name);
}

std::int64_t Registry::update_thing_group(const UpdateThingGroupInput& input, Now now) {
    (void)now;
    ThingGroupRecord updated = group_or_throw(input.thing_group_name);
    if (input.expected_version && *input.expected_version != updated.version) {
        fail(errors::version_conflict, "The version for thing group " + input.thing_group_name +
                                           " does not match the expected version.");
    }
    if (input.description) {
        if (!is_description(*input.description)) {
            invalid("Invalid thingGroupDescription");
        }
        updated.description = *input.description;
    }
    if (input.attributes) {
        if (input.merge) {
            for (const auto& [name, value] : *input.attributes) {
                if (value.empty()) {
                    updated.attributes.erase(name);
                } else {
                    updated.attributes[name] = value;
                }
            }
        } else {
            updated.attributes = without_empty(*input.attributes);
        }
    }
    check_attributes(updated.attributes, true);
    ++updated.version;
    store_.put_thing_group(updated);
    const std::int64_t version = updated.version;
    thing_groups_.insert_or_assign(updated.name, std::move(updated));
    return version;
}

void Registry::delete_thing_group(std::string_view name,
                                  std::optional<std::int64_t> expected_version, Now now) {
    (void)now;
    check_name(name, "thing group");
    const auto it = thing_groups_.find(name);
    if (it == thing_groups_.end()) {
        return;  // the model lists no ResourceNotFoundException: deleting nothing succeeds
    }
    if (expected_version && *expected_version != it->second.version) {
        fail(errors::version_conflict, "The version for thing group " + std::string(name) +
                                           " does not match the expected version.");
    }
    for (const auto& [child, group] : thing_groups_) {
        if (group.parent == name) {
            invalid("Cannot delete thing group " + std::string(name) +
                    " because it has child groups");
        }
    }
    // AMBIG: the group's things leave it and its policies are detached (nothing may point at a
    // deleted group); AWS documents neither a refusal nor a cascade.
    for (auto& [thing_name, thing] : things_) {
        if (std::find(thing.groups.begin(), thing.groups.end(), name) != thing.groups.end()) {
            ThingRecord updated = thing;
            erase_value(updated.groups, name);
            store_.put_thing(updated);
            thing = std::move(updated);
        }
    }
    const std::string arn = thing_group_arn(name);
    if (const auto attached = target_policies_.find(arn); attached != target_policies_.end()) {
        for (const std::string& policy_name : std::set<std::string>(attached->second)) {
            PolicyRecord updated = policies_.at(policy_name);
            erase_value(updated.targets, arn);
            put_policy(updated);
        }
        target_policies_.erase(arn);
    }
    store_.erase_thing_group(name);
    thing_groups_.erase(thing_groups_.find(name));
}

Page<ThingGroupRecord> Registry::list_thing_groups(const ListThingGroupsInput& input) const {
    std::vector<std::string> names;
    if (input.parent_group) {
        group_or_throw(*input.parent_group);
        if (input.recursive.value_or(false)) {
            names = descendants_of(*input.parent_group);
        } else {
            for (const auto& [name, group] : thing_groups_) {
                if (group.parent == *input.parent_group) {
                    names.push_back(name);
                }
            }
        }
    } else {
        // AMBIG: without parentGroup every group is listed, or only root groups with
        // recursive=false ("If true, return child groups as well").
        for (const auto& [name, group] : thing_groups_) {
            if (input.recursive.value_or(true) || group.parent.empty()) {
                names.push_back(name);
            }
        }
    }
    std::vector<std::pair<std::string, ThingGroupRecord>> keyed;
    for (const std::string& name : names) {
        if (input.name_prefix && !name.starts_with(*input.name_prefix)) {
            continue;
        }
        keyed.emplace_back(name, thing_groups_.find(name)->second);
    }
    return paginate(std::move(keyed), input.page, options_);
}

std::string Registry::group_name_from(const std::optional<std::string>& name,
                                      const std::optional<std::string>& arn) const {
    if (name) {
        return *name;
    }
    if (arn) {
        if (auto n = group_name_of(*arn)) {
            return *n;
        }
        not_found("Thing group " + *arn + " cannot be found.");
    }
    invalid("Either thingGroupName or thingGroupArn must be given");
}

std::string Registry::thing_name_from(const std::optional<std::string>& name,
                                      const std::optional<std::string>& arn) const {
    if (name) {
        return *name;
    }
    if (arn) {
        const std::string prefix = arn_prefix_ + "thing/";
        if (arn->starts_with(prefix)) {
            return arn->substr(prefix.size());
        }
        not_found("Thing " + *arn + " cannot be found.");
    }
    invalid("Either thingName or thingArn must be given");
}

void Registry::add_thing_to_thing_group(std::string_view group_name, std::string_view thing_name,
                                        Now now) {
    (void)now;
    group_or_throw(group_name);
    ThingRecord updated = thing_or_throw(thing_name);
    if (std::find(updated.groups.begin(), updated.groups.end(), group_name) !=
        updated.groups.end()) {
        return;
    }
    if (updated.groups.size() >= options_.groups_per_thing_max) {
        invalid("Thing " + std::string(thing_name) + " cannot be added to more than " +
                std::to_string(options_.groups_per_thing_max) + " thing groups");
    }
    // A thing cannot be in two groups of the same hierarchy (reference §4.2): same root.
    const auto root_of = [this](std::string_view g) {
        const auto chain = ancestors_of(g);
        return chain.empty() ? std::string(g) : chain.front();
    };
    const std::string root = root_of(group_name);
    for (const std::string& g : updated.groups) {
        if (root_of(g) == root) {
            invalid("Thing " + std::string(thing_name) + " is already in thing group " + g +
                    " of the same hierarchy");
        }
    }
    insert_sorted_unique(updated.groups, std::string(group_name));
    put_thing(updated);
}

void Registry::remove_thing_from_thing_group(std::string_view group_name,
                                             std::string_view thing_name, Now now) {
    (void)now;
    group_or_throw(group_name);
    ThingRecord updated = thing_or_throw(thing_name);
    if (std::find(updated.groups.begin(), updated.groups.end(), group_name) ==
        updated.groups.end()) {
        return;
    }
    erase_value(updated.groups, group_name);
    put_thing(updated);
}

Page<std::string> Registry::list_things_in_thing_group(std::string_view group_name, bool recursive,
                                                       const PageRequest& page) const {
    group_or_throw(group_name);
    std::set<std::string> groups{std::string(group_name)};
    if (recursive) {
        for (std::string& d : descendants_of(group_name)) {
            groups.insert(std::move(d));
        }
    }
    std::vector<std::string> names;
    for (const auto& [name, thing] : things_) {
        if (std::any_of(thing.groups.begin(), thing.groups.end(),
                        [&](const std::string& g) { return groups.contains(g); })) {
            names.push_back(name);
        }
    }
    return paginate_names(names, page, options_);
}

Page<std::string> Registry::list_thing_groups_for_thing(std::string_view thing_name,
                                                        const PageRequest& page) const {
    return paginate_names(thing_or_throw(thing_name).groups, page, options_);
}

// ---- Certificates --------------------------------------------------------------------------

const CertificateRecord& Registry::record_certificate(std::string_view pem,
                                                      CertificateStatus status, std::string ca_id,
                                                      Now now) {
    auto facts = parse_certificate(pem);
    if (!facts) {
        fail(errors::certificate_validation, facts.error());
    }
    if (certificates_.contains(facts.value().id)) {
        fail(errors::resource_already_exists,
             "The certificate is already provisioned or registered");
    }
    CertificateRecord record;
    record.id = facts.value().id;
    record.pem = std::string(pem);
    record.status = status;
    record.ca_certificate_id = std::move(ca_id);
    record.created = now.wall;
    record.last_modified = now.wall;
    record.not_before = facts.value().not_before;
    record.not_after = facts.value().not_after;
    record.generation_id = fresh_generation_id();
    store_.put_certificate(record);
    return certificates_.insert_or_assign(record.id, record).first->second;
}

namespace {

/// The status a registration asks for: `status` wins, then `setAsActive`. AWS lets clients
/// register ACTIVE, INACTIVE or REVOKED certificates only (RegisterCertificateRequest.status).
CertificateStatus registration_status(const RegisterCertificateInput& input) {
    if (!input.status) {
        return input.set_as_active ? CertificateStatus::active : CertificateStatus::inactive;
    }
    switch (*input.status) {
        case CertificateStatus::active:
        case CertificateStatus::inactive:
        case CertificateStatus::revoked: return *input.status;
        default: break;
    }
    fail(errors::certificate_state,
         "A certificate cannot be registered with status " + std::string(to_string(*input.status)));
}

}  // namespace

const CertificateRecord& Registry::register_certificate(const RegisterCertificateInput& input,
                                                        Now now) {
    const CertificateStatus status = registration_status(input);
    auto facts = parse_certificate(input.certificate_pem);
    if (!facts) {
        fail(errors::certificate_validation, facts.error());
    }
    const CaCertificateRecord* ca = nullptr;
    if (input.ca_certificate_pem) {
        auto ca_facts = parse_certificate(*input.ca_certificate_pem);
        if (!ca_facts) {
            fail(errors::certificate_validation, "caCertificatePem: " + ca_facts.error());
        }
        const auto it = ca_certificates_.find(ca_facts.value().id);
        if (it == ca_certificates_.end()) {
            fail(errors::certificate_validation, "The CA certificate is not registered");
        }
        if (!is_signed_by(input.certificate_pem, it->second.pem)) {
            fail(errors::certificate_validation,
                 "The certificate is not signed by the given CA certificate");
        }
        ca = &it->second;
    } else {
        // Without caCertificatePem, the registered CA that issued the certificate (first by id).
        for (const auto& [id, candidate] : ca_certificates_) {
            if (is_signed_by(input.certificate_pem, candidate.pem)) {
                ca = &candidate;
                break;
            }
        }
        if (ca == nullptr) {
            fail(errors::certificate_validation,
                 "The certificate is not signed by a registered CA certificate");
        }
    }
    // AMBIG: registering an ACTIVE certificate under an INACTIVE CA is refused like activating
    // one later (UpdateCertificate); AWS documents neither text.
    if (status == CertificateStatus::active && ca->status != CaCertificateStatus::active) {
        fail(errors::certificate_state, "The CA certificate " + ca->id + " is not active");
    }
    const std::string ca_id = ca->id;
    const CertificateRecord& record = record_certificate(input.certificate_pem, status, ca_id, now);
    if (ca_certificates_.at(ca_id).mode != CertificateMode::default_mode) {
        CertificateRecord updated = record;
        updated.mode = ca_certificates_.at(ca_id).mode;
        store_.put_certificate(updated);
        return certificates_.insert_or_assign(updated.id, updated).first->second;
    }
    return record;
}

const CertificateRecord& Registry::register_certificate_without_ca(
    const RegisterCertificateInput& input, Now now) {
    const CertificateStatus status = registration_status(input);
    auto facts = parse_certificate(input.certificate_pem);
    if (!facts) {
        fail(errors::certificate_validation, facts.error());
    }
    if (certificates_.contains(facts.value().id)) {
        fail(errors::resource_already_exists,
             "The certificate is already provisioned or registered");
    }
    CertificateRecord record;
    record.id = facts.value().id;
    record.pem = input.certificate_pem;
    record.status = status;
    record.mode = CertificateMode::sni_only;  // certificates without a CA are SNI_ONLY on AWS
    record.created = now.wall;
    record.last_modified = now.wall;
    record.not_before = facts.value().not_before;
    record.not_after = facts.value().not_after;
    record.generation_id = fresh_generation_id();
    store_.put_certificate(record);
    return certificates_.insert_or_assign(record.id, record).first->second;
}

const CertificateRecord& Registry::add_issued_certificate(std::string_view pem,
                                                          CertificateStatus status, Now now,
                                                          std::string_view ca_certificate_id) {
    IOTSIM_ASSERT(status == CertificateStatus::active || status == CertificateStatus::inactive);
    return record_certificate(pem, status, std::string(ca_certificate_id), now);
}

const CertificateRecord* Registry::auto_register_certificate(std::string_view pem, Now now) {
    auto facts = parse_certificate(pem);
    // A CA certificate (the registered CA itself is self-signed, so "signed by" it) is never a
    // device certificate.
    if (!facts || facts.value().is_ca || certificates_.contains(facts.value().id) ||
        ca_certificates_.contains(facts.value().id)) {
        return nullptr;
    }
    for (const auto& [id, ca] : ca_certificates_) {
        if (ca.status == CaCertificateStatus::active && ca.auto_registration &&
            is_signed_by(pem, ca.pem)) {
            const CertificateRecord& record =
                record_certificate(pem, CertificateStatus::pending_activation, id, now);
            if (ca.mode == CertificateMode::default_mode) {
                return &record;
            }
            CertificateRecord updated = record;
            updated.mode = ca.mode;
            store_.put_certificate(updated);
            return &certificates_.insert_or_assign(updated.id, updated).first->second;
        }
    }
    return nullptr;
}

const CertificateRecord& Registry::describe_certificate(std::string_view id) const {
    return certificate_or_throw(id);
}

Page<CertificateRecord> Registry::list_certificates(const ListCertificatesInput& input) const {
    std::vector<std::pair<std::string, CertificateRecord>> keyed;
    for (const auto& [id, cert] : certificates_) {
        keyed.emplace_back(creation_key(cert.created, id), cert);
    }
    std::sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
        return input.ascending ? a.first < b.first : a.first > b.first;
    });
    return paginate(std::move(keyed), input.page, options_, !input.ascending);
}

Page<CertificateRecord> Registry::list_certificates_by_ca(
    std::string_view ca_certificate_id, const ListCertificatesInput& input) const {
    std::vector<std::pair<std::string, CertificateRecord>> keyed;
    for (const auto& [id, cert] : certificates_) {
        if (cert.ca_certificate_id == ca_certificate_id) {
            keyed.emplace_back(creation_key(cert.created, id), cert);
        }
    }
    std::sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
        return input.ascending ? a.first < b.first : a.first > b.first;
    });
    return paginate(std::move(keyed), input.page, options_, !input.ascending);
}

void Registry::update_certificate(std::string_view id, CertificateStatus new_status, Now now) {
    CertificateRecord updated = certificate_or_throw(id);
    if (new_status == CertificateStatus::pending_transfer ||
        new_status == CertificateStatus::pending_activation) {
        // API_UpdateCertificate: "Setting the status to PENDING_TRANSFER or PENDING_ACTIVATION
        // will result in an exception being thrown."
        fail(errors::certificate_state,
             "The certificate status cannot be set to " + std::string(to_string(new_status)));
    }
    if (updated.status == new_status) {
        return;  // idempotent
    }
    if (updated.status == CertificateStatus::revoked) {
        // "If a certificate is revoked when it is registered, it can't be activated later";
        // AMBIG: iotsim keeps every revoked certificate revoked (AWS's console offers no way
        // back either).
        fail(errors::certificate_state, "The certificate " + std::string(id) + " is revoked");
    }
    if (updated.status == CertificateStatus::pending_transfer) {
        fail(errors::certificate_state,
             "The certificate " + std::string(id) + " is pending transfer");
    }
    if (new_status == CertificateStatus::active && !updated.ca_certificate_id.empty()) {
        const auto ca = ca_certificates_.find(updated.ca_certificate_id);
        if (ca != ca_certificates_.end() && ca->second.status != CaCertificateStatus::active) {
            fail(errors::certificate_state,
                 "The CA certificate " + updated.ca_certificate_id + " is not active");
        }
    }
    updated.status = new_status;
    updated.last_modified = now.wall;
    ++updated.customer_version;
    updated.generation_id = fresh_generation_id();
    store_.put_certificate(updated);
    certificates_.insert_or_assign(updated.id, std::move(updated));
}

void Registry::delete_certificate(std::string_view id, bool force_delete, Now now) {
    const CertificateRecord& cert = certificate_or_throw(id);
    const std::string arn = certificate_arn(id);
    if (cert.status == CertificateStatus::active) {
        fail(errors::certificate_state,
             "Certificate must be deactivated (not ACTIVE) before deletion.");
    }
    if (const auto t = principal_things_.find(arn);
        t != principal_things_.end() && !t->second.empty()) {
        fail(errors::delete_conflict, "Things must be detached before deletion (arn: " + arn + ")");
    }
    const auto p = target_policies_.find(arn);
    if (p != target_policies_.end() && !p->second.empty()) {
        if (!force_delete) {
            fail(errors::delete_conflict,
                 "Certificate policies must be detached before deletion (arn: " + arn + ")");
        }
        for (const std::string& policy_name : std::set<std::string>(p->second)) {
            detach_policy(policy_name, arn, now);
        }
    }
    target_policies_.erase(arn);
    store_.erase_certificate(id);
    certificates_.erase(certificates_.find(id));
}

// ---- CA certificates -----------------------------------------------------------------------

const CaCertificateRecord& Registry::register_ca_certificate(
    const RegisterCaCertificateInput& input, Now now) {
    auto facts = parse_certificate(input.ca_certificate_pem);
    if (!facts) {
        fail(errors::certificate_validation, facts.error());
    }
    if (!facts.value().is_ca) {
        fail(errors::certificate_validation,
             "The certificate is not a CA certificate (basicConstraints CA:TRUE is required)");
    }
    if (ca_certificates_.contains(facts.value().id)) {
        fail(errors::resource_already_exists, "The CA certificate is already registered");
    }
    check_tags(input.tags);
    if (input.mode == CertificateMode::default_mode) {
        if (!input.verification_certificate_pem) {
            invalid(
                "A verification certificate is required to register a CA certificate in "
                "DEFAULT mode");
        }
        auto verification = parse_certificate(*input.verification_certificate_pem);
        if (!verification) {
            fail(errors::certificate_validation,
                 "verificationCertificate: " + verification.error());
        }
        if (!is_signed_by(*input.verification_certificate_pem, input.ca_certificate_pem)) {
            fail(errors::certificate_validation,
                 "The verification certificate is not signed by the CA certificate");
        }
        if (settings_.registration_code.empty() ||
            verification.value().subject_common_name != settings_.registration_code) {
            fail(errors::registration_code_validation,
                 "The verification certificate's common name is not the registration code");
        }
    }
    CaCertificateRecord record;
    record.id = facts.value().id;
    record.pem = input.ca_certificate_pem;
    record.status =
        input.set_as_active ? CaCertificateStatus::active : CaCertificateStatus::inactive;
    record.auto_registration = input.allow_auto_registration;
    record.mode = input.mode;
    record.created = now.wall;
    record.last_modified = now.wall;
    record.not_before = facts.value().not_before;
    record.not_after = facts.value().not_after;
    record.generation_id = fresh_generation_id();
    record.registration_config = input.registration_config;
    record.tags = input.tags;
    store_.put_ca_certificate(record);
    return ca_certificates_.insert_or_assign(record.id, record).first->second;
}

const CaCertificateRecord& Registry::describe_ca_certificate(std::string_view id) const {
    return ca_or_throw(id);
}

Page<CaCertificateRecord> Registry::list_ca_certificates(const ListCertificatesInput& input) const {
    std::vector<std::pair<std::string, CaCertificateRecord>> keyed;
    for (const auto& [id, cert] : ca_certificates_) {
        keyed.emplace_back(creation_key(cert.created, id), cert);
    }
    std::sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
        return input.ascending ? a.first < b.first : a.first > b.first;
    });
    return paginate(std::move(keyed), input.page, options_, !input.ascending);
}

void Registry::update_ca_certificate(std::string_view id, std::optional<CaCertificateStatus> status,
                                     std::optional<bool> auto_registration, Now now) {
    CaCertificateRecord updated = ca_or_throw(id);
    if (status) {
        updated.status = *status;
    }
    if (auto_registration) {
        updated.auto_registration = *auto_registration;
    }
    updated.last_modified = now.wall;
    ++updated.customer_version;
    updated.generation_id = fresh_generation_id();
    store_.put_ca_certificate(updated);
    ca_certificates_.insert_or_assign(updated.id, std::move(updated));
}

void Registry::delete_ca_certificate(std::string_view id, Now now) {
    (void)now;
    const CaCertificateRecord& ca = ca_or_throw(id);
    if (ca.status == CaCertificateStatus::active) {
        fail(errors::certificate_state,
             "CA certificate must be deactivated (not ACTIVE) before deletion.");
    }
    store_.erase_ca_certificate(id);
    ca_certificates_.erase(ca_certificates_.find(id));
}

std::string Registry::get_registration_code(Now now) {
    (void)now;
    if (settings_.registration_code.empty()) {
        RegistrySettings updated = settings_;
        updated.registration_code = random_hex(rng_, 4);
        store_.put_settings(updated);
        settings_ = std::move(updated);
    }
    return settings_.registration_code;
}

// ---- Policies ------------------------------------------------------------------------------

const PolicyRecord& Registry::create_policy(std::string_view name, std::string_view document,
                                            const Tags& tags, Now now) {
    if (!is_policy_name(name)) {
        invalid("Invalid policy name: '" + std::string(name) +
                "'. It must be 1 to 128 characters of [\\w+=,.@-]");
    }
    if (policies_.contains(name)) {
        fail(errors::resource_already_exists,
             "Policy cannot be created - name already exists (name=" + std::string(name) + ")");
    }
    check_document(name, document, policy_arn(name));
    check_tags(tags);
    PolicyRecord record;
    record.name = std::string(name);
    record.versions.push_back(PolicyVersionRecord{1, std::string(document), now.wall});
    record.default_version_id = 1;
    record.last_version_id = 1;
    record.created = now.wall;
    record.last_modified = now.wall;
    record.generation_id = fresh_generation_id();
    record.tags = tags;
    put_policy(record);
    return policies_.find(name)->second;
}

const PolicyRecord& Registry::get_policy(std::string_view name) const {
    return policy_or_throw(name);
}

Page<std::string> Registry::list_policies(const ListCertificatesInput& input) const {
    std::vector<std::pair<std::string, std::string>> keyed;
    for (const auto& [name, policy] : policies_) {
        keyed.emplace_back(creation_key(policy.created, name), name);
    }
    std::sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
        return input.ascending ? a.first < b.first : a.first > b.first;
    });
    return paginate(std::move(keyed), input.page, options_, !input.ascending);
}

void Registry::delete_policy(std::string_view name, Now now) {
    (void)now;
    const PolicyRecord& policy = policy_or_throw(name);
    if (!policy.targets.empty()) {
        fail(errors::delete_conflict,
             "The policy cannot be deleted as the policy is attached to one or more principals "
             "(name=" +
                 std::string(name) + ")");
    }
    if (policy.versions.size() > 1) {
        fail(errors::delete_conflict,
             "Cannot delete the policy because it has one or more versions other than the "
             "default version (name=" +
                 std::string(name) + ")");
    }
    store_.erase_policy(name);
    policies_.erase(policies_.find(name));
}

const PolicyVersionRecord& Registry::create_policy_version(std::string_view name,
                                                           std::string_view document,
                                                           bool set_as_default, Now now) {
    PolicyRecord updated = policy_or_throw(name);
    if (updated.versions.size() >= options_.policy_versions_max) {
        fail(errors::versions_limit_exceeded,
             "The policy " + std::string(name) + " already has the maximum number of versions (" +
                 std::to_string(options_.policy_versions_max) + ")");
    }
    check_document(name, document, policy_arn(name));
    const std::int64_t id = ++updated.last_version_id;
    updated.versions.push_back(PolicyVersionRecord{id, std::string(document), now.wall});
    updated.last_modified = now.wall;
    if (set_as_default) {
        updated.default_version_id = id;
        updated.generation_id = fresh_generation_id();
    }
    put_policy(updated);
    return *policies_.find(name)->second.find_version(id);
}

const PolicyVersionRecord& Registry::get_policy_version(std::string_view name,
                                                        std::int64_t version_id) const {
    const PolicyRecord& policy = policy_or_throw(name);
    const PolicyVersionRecord* version = policy.find_version(version_id);
    if (version == nullptr) {
        not_found("Policy " + std::string(name) + " version " + std::to_string(version_id) +
                  " cannot be found.");
    }
    return *version;
}

void Registry::set_default_policy_version(std::string_view name, std::int64_t version_id, Now now) {
    (void)get_policy_version(name, version_id);
    PolicyRecord updated = policy_or_throw(name);
    if (updated.default_version_id == version_id) {
        return;
    }
    updated.default_version_id = version_id;
    updated.last_modified = now.wall;
    updated.generation_id = fresh_generation_id();
    put_policy(updated);
}

void Registry::delete_policy_version(std::string_view name, std::int64_t version_id, Now now) {
    (void)get_policy_version(name, version_id);
    PolicyRecord updated = policy_or_throw(name);
    if (updated.default_version_id == version_id) {
        fail(errors::delete_conflict, "Cannot delete the default version of a policy");
    }
    std::erase_if(updated.versions,
                  [version_id](const PolicyVersionRecord& v) { return v.id == version_id; });
    updated.last_modified = now.wall;
    put_policy(updated);
}

// ---- Attachments ---------------------------------------------------------------------------

void Registry::attach_policy(std::string_view policy_name, std::string_view target, Now now) {
    PolicyRecord updated = policy_or_throw(policy_name);
    if (const auto id = certificate_id_of(target)) {
        certificate_or_throw(*id);
    } else if (const auto group = group_name_of(target)) {
        group_or_throw(*group);
    } else {
        // AMBIG: Cognito identities are not modelled; other targets are refused.
        invalid("Invalid target: " + std::string(target) +
                ". A target is a certificate ARN or a thing group ARN");
    }
    if (std::find(updated.targets.begin(), updated.targets.end(), target) !=
        updated.targets.end()) {
        return;
    }
    const auto attached = target_policies_.find(target);
    if (attached != target_policies_.end() &&
        attached->second.size() >= options_.policies_per_target_max) {
        fail(errors::limit_exceeded, "The target " + std::string(target) + " already has " +
                                         std::to_string(options_.policies_per_target_max) +
                                         " policies attached");
    }
    insert_sorted_unique(updated.targets, std::string(target));
    (void)now;  // attachments do not change the policy's lastModifiedDate
    put_policy(updated);
    target_policies_[std::string(target)].insert(std::string(policy_name));
}

void Registry::detach_policy(std::string_view policy_name, std::string_view target, Now now) {
    (void)now;
    PolicyRecord updated = policy_or_throw(policy_name);
    if (std::find(updated.targets.begin(), updated.targets.end(), target) ==
        updated.targets.end()) {
        return;
    }
    erase_value(updated.targets, target);
    put_policy(updated);
    if (const auto it = target_policies_.find(target); it != target_policies_.end()) {
        it->second.erase(std::string(policy_name));
        if (it->second.empty()) {
            target_policies_.erase(it);
        }
    }
}

Page<std::string> Registry::list_attached_policies(std::string_view target, bool recursive,
                                                   const PageRequest& page) const {
    std::vector<std::string> targets{std::string(target)};
    if (const auto id = certificate_id_of(target)) {
        certificate_or_throw(*id);
    } else if (const auto group = group_name_of(target)) {
        group_or_throw(*group);
        if (recursive) {
            for (const std::string& ancestor : ancestors_of(*group)) {
                targets.push_back(thing_group_arn(ancestor));
            }
        }
    } else {
        invalid("Invalid target: " + std::string(target));
    }
    std::set<std::string> names;
    for (const std::string& t : targets) {
        if (const auto it = target_policies_.find(t); it != target_policies_.end()) {
            names.insert(it->second.begin(), it->second.end());
        }
    }
    return paginate_names(std::vector<std::string>(names.begin(), names.end()), page, options_);
}

Page<std::string> Registry::list_targets_for_policy(std::string_view policy_name,
                                                    const PageRequest& page) const {
    return paginate_names(policy_or_throw(policy_name).targets, page, options_);
}

void Registry::attach_thing_principal(std::string_view thing_name, std::string_view principal,
                                      ThingPrincipalType type, Now now) {
    (void)now;
    ThingRecord updated = thing_or_throw(thing_name);
    const auto id = certificate_id_of(principal);
    if (!id) {
        // AMBIG: Cognito and federated identities are not modelled.
        invalid("Invalid principal: " + std::string(principal) +
                ". A principal is a certificate ARN");
    }
    certificate_or_throw(*id);
    const auto attached = principal_things_.find(principal);
    if (attached != principal_things_.end()) {
        for (const std::string& other : attached->second) {
            if (other == thing_name) {
                continue;
            }
            const ThingPrincipalType other_type =
                things_.at(other).principals.at(std::string(principal));
            if (other_type == ThingPrincipalType::exclusive ||
                type == ThingPrincipalType::exclusive) {
                invalid("Principal " + std::string(principal) + " is attached to thing " + other +
                        (other_type == ThingPrincipalType::exclusive ? " exclusively" : "") +
                        "; an exclusive attachment must be the principal's only thing");
            }
        }
    }
    const auto current = updated.principals.find(std::string(principal));
    if (current != updated.principals.end() && current->second == type) {
        return;
    }
    updated.principals[std::string(principal)] = type;
    put_thing(updated);
    principal_things_[std::string(principal)].insert(std::string(thing_name));
}

void Registry::detach_thing_principal(std::string_view thing_name, std::string_view principal,
                                      Now now) {
    (void)now;
    ThingRecord updated = thing_or_throw(thing_name);
    const auto it = updated.principals.find(std::string(principal));
    if (it == updated.principals.end()) {
        return;
    }
    updated.principals.erase(it);
    put_thing(updated);
    if (const auto p = principal_things_.find(principal); p != principal_things_.end()) {
        p->second.erase(std::string(thing_name));
        if (p->second.empty()) {
            principal_things_.erase(p);
        }
    }
}

Page<std::string> Registry::list_thing_principals(std::string_view thing_name,
                                                  const PageRequest& page) const {
    std::vector<std::string> principals;
    for (const auto& [principal, type] : thing_or_throw(thing_name).principals) {
        principals.push_back(principal);
    }
    return paginate_names(principals, page, options_);
}

Page<std::string> Registry::list_principal_things(std::string_view principal,
                                                  const PageRequest& page) const {
    const auto id = certificate_id_of(principal);
    if (!id) {
        invalid("Invalid principal: " + std::string(principal));
    }
    certificate_or_throw(*id);
    std::vector<std::string> names;
    if (const auto it = principal_things_.find(principal); it != principal_things_.end()) {
        names.assign(it->second.begin(), it->second.end());
    }
    return paginate_names(names, page, options_);
}

const ThingRecord* Registry::connection_thing(std::string_view certificate_id,
                                              std::optional<std::string_view> client_id) const {
    const std::string arn = certificate_arn(certificate_id);
    const ThingRecord* bound = nullptr;
    for (const std::string& name : things_for_principal(certificate_id)) {
        const ThingRecord* thing = find_thing(name);
        if (thing == nullptr) {
            continue;
        }
        const auto principal = thing->principals.find(arn);
        if (principal != thing->principals.end() && principal->second == ThingPrincipalType::exclusive) {
            return thing;
        }
        if (client_id && name == *client_id) {
            bound = thing;
        }
    }
    return bound;
}

std::vector<EffectivePolicy> Registry::policies_for_principal(
    std::string_view certificate_id) const {
    std::vector<EffectivePolicy> out;
    std::set<std::string> seen;
    const auto add_target = [&](const std::string& target) {
        const auto it = target_policies_.find(target);
        if (it == target_policies_.end()) {
            return;
        }
        for (const std::string& name : it->second) {
            if (!seen.insert(name).second) {
                continue;
            }
            const PolicyRecord& policy = policies_.at(name);
            const PolicyVersionRecord& version = policy.default_version();
            out.push_back(EffectivePolicy{name, policy_arn(name), version.id, version.document});
        }
    };
    const std::string arn = certificate_arn(certificate_id);
    add_target(arn);
    // Policies of the groups (and their ancestors) of the certificate's things (§4.2, §4.4).
    std::set<std::string> groups;
    if (const auto it = principal_things_.find(arn); it != principal_things_.end()) {
        for (const std::string& thing_name : it->second) {
            for (const std::string& group : things_.at(thing_name).groups) {
                groups.insert(group);
                for (const std::string& ancestor : ancestors_of(group)) {
                    groups.insert(ancestor);
                }
            }
        }
    }
    for (const std::string& group : groups) {
        add_target(thing_group_arn(group));
    }
    return out;
}

std::vector<std::string> Registry::things_for_principal(std::string_view certificate_id) const {
    const auto it = principal_things_.find(certificate_arn(certificate_id));
    if (it == principal_things_.end()) {
        return {};
    }
    return {it->second.begin(), it->second.end()};
}

// ---- Tags ----------------------------------------------------------------------------------

void Registry::tag_resource(std::string_view resource_arn, const Tags& tags, Now now) {
    (void)now;
    check_tags(tags);
    const auto merged = [&](Tags current) {
        for (const auto& [k, v] : tags) {
            current[k] = v;
        }
        check_tags(current);
        return current;
    };
    const std::string_view arn = resource_arn;
    if (!arn.starts_with(arn_prefix_)) {
        invalid("Invalid resource ARN: " + std::string(arn));
    }
    const std::string_view rest = arn.substr(arn_prefix_.size());
    if (rest.starts_with("thingtype/")) {
        ThingTypeRecord updated = describe_thing_type(rest.substr(10));
        updated.tags = merged(updated.tags);
        store_.put_thing_type(updated);
        thing_types_.insert_or_assign(updated.name, std::move(updated));
    } else if (rest.starts_with("thinggroup/")) {
        ThingGroupRecord updated = group_or_throw(rest.substr(11));
        updated.tags = merged(updated.tags);
        store_.put_thing_group(updated);
        thing_groups_.insert_or_assign(updated.name, std::move(updated));
    } else if (rest.starts_with("policy/")) {
        PolicyRecord updated = policy_or_throw(rest.substr(7));
        updated.tags = merged(updated.tags);
        put_policy(updated);
    } else if (rest.starts_with("cacert/")) {
        CaCertificateRecord updated = ca_or_throw(rest.substr(7));
        updated.tags = merged(updated.tags);
        store_.put_ca_certificate(updated);
        ca_certificates_.insert_or_assign(updated.id, std::move(updated));
    } else {
        // Things and device certificates cannot be tagged on AWS IoT (no tags in their models).
        invalid("Resource " + std::string(arn) + " cannot be tagged");
    }
}

void Registry::untag_resource(std::string_view resource_arn, const std::vector<std::string>& keys,
                              Now now) {
    (void)now;
    const std::string_view arn = resource_arn;
    const auto without = [&](Tags current) {
        for (const std::string& k : keys) {
            current.erase(k);
        }
        return current;
    };
    if (!arn.starts_with(arn_prefix_)) {
        invalid("Invalid resource ARN: " + std::string(arn));
    }
    const std::string_view rest = arn.substr(arn_prefix_.size());
    if (rest.starts_with("thingtype/")) {
        ThingTypeRecord updated = describe_thing_type(rest.substr(10));
        updated.tags = without(updated.tags);
        store_.put_thing_type(updated);
        thing_types_.insert_or_assign(updated.name, std::move(updated));
    } else if (rest.starts_with("thinggroup/")) {
        ThingGroupRecord updated = group_or_throw(rest.substr(11));
        updated.tags = without(updated.tags);
        store_.put_thing_group(updated);
        thing_groups_.insert_or_assign(updated.name, std::move(updated));
    } else if (rest.starts_with("policy/")) {
        PolicyRecord updated = policy_or_throw(rest.substr(7));
        updated.tags = without(updated.tags);
        put_policy(updated);
    } else if (rest.starts_with("cacert/")) {
        CaCertificateRecord updated = ca_or_throw(rest.substr(7));
        updated.tags = without(updated.tags);
        store_.put_ca_certificate(updated);
        ca_certificates_.insert_or_assign(updated.id, std::move(updated));
    } else {
        invalid("Resource " + std::string(arn) + " cannot be tagged");
    }
}

Tags Registry::list_tags_for_resource(std::string_view resource_arn) const {
    const std::string_view arn = resource_arn;
    if (!arn.starts_with(arn_prefix_)) {
        invalid("Invalid resource ARN: " + std::string(arn));
    }
    const std::string_view rest = arn.substr(arn_prefix_.size());
    if (rest.starts_with("thingtype/")) {
        return describe_thing_type(rest.substr(10)).tags;
    }
    if (rest.starts_with("thinggroup/")) {
        return group_or_throw(rest.substr(11)).tags;
    }
    if (rest.starts_with("policy/")) {
        return policy_or_throw(rest.substr(7)).tags;
    }
    if (rest.starts_with("cacert/")) {
        return ca_or_throw(rest.substr(7)).tags;
    }
    invalid("Resource " + std::string(arn) + " cannot be tagged");
}

// ---- Endpoint ------------------------------------------------------------------------------

std::string Registry::describe_endpoint(const std::optional<std::string>& type) const {
    // AWS answers the legacy iot:Data endpoint without a type; iotsim has a single endpoint.
    if (!type || *type == "iot:Data-ATS" || *type == "iot:Data") {
        return options_.data_endpoint;
    }
    if (*type == "iot:CredentialProvider") {
        return options_.credential_provider_endpoint.empty()
                   ? options_.data_endpoint
                   : options_.credential_provider_endpoint;
    }
    if (*type == "iot:Jobs") {
        return options_.jobs_endpoint.empty() ? options_.data_endpoint : options_.jobs_endpoint;
    }
    invalid("Endpoint type " + *type + " is not valid.");
}

// ---- Custom authorizers ---------------------------------------------------------------------

namespace {

/// AuthorizerName: `[\w=,@-]+`, 1 to 128 characters.
void check_authorizer_name(std::string_view name) {
    const bool ok = !name.empty() && name.size() <= 128 &&
                    std::all_of(name.begin(), name.end(), [](char c) {
                        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' ||
                               c == '=' || c == ',' || c == '@' || c == '-';
                    });
    if (!ok) {
        invalid("Invalid authorizer name: '" + std::string(name) +
                "'. It must be 1 to 128 characters of [\\w=,@-]");
    }
}

/// TokenKeyName: `[a-zA-Z0-9_-]+`, 1 to 128 characters.
void check_token_key_name(std::string_view name) {
    const bool ok = !name.empty() && name.size() <= 128 &&
                    std::all_of(name.begin(), name.end(), [](char c) {
                        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' ||
                               c == '-';
                    });
    if (!ok) {
        invalid("Invalid tokenKeyName: '" + std::string(name) +
                "'. It must be 1 to 128 characters of [a-zA-Z0-9_-]");
    }
}

/// AuthorizerFunctionArn: at most 2048 characters; iotsim also wants a Lambda function ARN
/// (arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]) because the function name
/// is what the host maps to a local handler.
void check_function_arn(std::string_view arn) {
    const bool ok = arn.size() <= 2048 && arn.starts_with("arn:") &&
                    arn.find(":function:") != std::string_view::npos &&
                    !arn.substr(arn.find(":function:") + 10).empty();
    if (!ok) {
        invalid("Invalid authorizerFunctionArn: '" + std::string(arn) +
                "'. It must be a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>)");
    }
}

void check_public_keys(const std::map<std::string, std::string>& keys) {
    if (keys.size() > 2) {
        // botocore's PublicKeyMap has no documented bound; AWS's console allows two keys
        // (rotation). AMBIG: iotsim caps at 2 and says so.
        invalid("tokenSigningPublicKeys can hold at most 2 keys");
    }
    for (const auto& [name, pem] : keys) {
        // KeyName: [a-zA-Z0-9:_-]+, 1 to 128; KeyValue: at most 5120 characters.
        if (!is_resource_name(name)) {
            invalid("Invalid key name in tokenSigningPublicKeys: '" + name +
                    "'. It must be 1 to 128 characters of [a-zA-Z0-9:_-]");
        }
        if (pem.size() > 5120) {
            invalid("Invalid public key '" + name + "' in tokenSigningPublicKeys: at most 5120 characters");
        }
        if (const std::string why = check_token_signing_key(pem); !why.empty()) {
            invalid("Invalid public key '" + name + "' in tokenSigningPublicKeys: it " + why);
        }
    }
}

void check_signing(const AuthorizerRecord& r) {
    if (r.signing_disabled) {
        return;
    }
    if (r.token_key_name.empty()) {
        invalid("tokenKeyName is required when signing is enabled");
    }
    if (r.token_signing_public_keys.empty()) {
        invalid("tokenSigningPublicKeys is required when signing is enabled");
    }
}

}  // namespace

const AuthorizerRecord& Registry::create_authorizer(const AuthorizerInput& input, Now now) {
    check_authorizer_name(input.name);
    if (!input.function_arn) {
        invalid("authorizerFunctionArn is required");
    }
    check_function_arn(*input.function_arn);
    AuthorizerRecord r;
    r.name = input.name;
    r.function_arn = *input.function_arn;
    if (input.token_key_name) {
        check_token_key_name(*input.token_key_name);
        r.token_key_name = *input.token_key_name;
    }
    if (input.token_signing_public_keys) {
        check_public_keys(*input.token_signing_public_keys);
        r.token_signing_public_keys = *input.token_signing_public_keys;
    }
    r.status = input.status.value_or(AuthorizerStatus::active);
    r.signing_disabled = input.signing_disabled.value_or(false);
    r.enable_caching_for_http = input.enable_caching_for_http.value_or(false);
    check_signing(r);
    check_tags(input.tags);
    r.tags = input.tags;
    if (authorizers_.contains(input.name)) {
        fail(errors::resource_already_exists, "Authorizer " + input.name + " already exists");
    }
    r.created = now.wall;
    r.last_modified = now.wall;
    store_.put_authorizer(r);
    return authorizers_.emplace(r.name, std::move(r)).first->second;
}

const AuthorizerRecord& Registry::update_authorizer(const AuthorizerInput& input, Now now) {
    check_authorizer_name(input.name);
    const auto it = authorizers_.find(input.name);
    if (it == authorizers_.end()) {
        not_found("Authorizer " + input.name + " cannot be found.");
    }
    AuthorizerRecord r = it->second;
    if (input.function_arn) {
        check_function_arn(*input.function_arn);
        r.function_arn = *input.function_arn;
    }
    if (input.token_key_name) {
        check_token_key_name(*input.token_key_name);
        r.token_key_name = *input.token_key_name;
    }
    if (input.token_signing_public_keys) {
        check_public_keys(*input.token_signing_public_keys);
        r.token_signing_public_keys = *input.token_signing_public_keys;
    }
    if (input.status) {
        r.status = *input.status;
    }
    if (input.enable_caching_for_http) {
        r.enable_caching_for_http = *input.enable_caching_for_http;
    }
    check_signing(r);
    r.last_modified = now.wall;
    store_.put_authorizer(r);
    it->second = std::move(r);
    return it->second;
}

const AuthorizerRecord& Registry::describe_authorizer(std::string_view name) const {
    const AuthorizerRecord* r = find_authorizer(name);
    if (r == nullptr) {
        not_found("Authorizer " + std::string(name) + " cannot be found.");
    }
    return *r;
}

void Registry::delete_authorizer(std::string_view name, Now now) {
    (void)now;
    const AuthorizerRecord& r = describe_authorizer(name);
    // AMBIG: the model names DeleteConflictException without saying when; the console asks
    // for the authorizer to be deactivated first, and a default authorizer is in use.
    if (r.status == AuthorizerStatus::active) {
        fail(errors::delete_conflict,
             "Authorizer " + r.name + " is ACTIVE. Set its status to INACTIVE before deleting it");
    }
    if (settings_.default_authorizer == r.name) {
        fail(errors::delete_conflict, "Authorizer " + r.name +
                                          " is the default authorizer. Clear the default authorizer first");
    }
    const std::string key = r.name;
    store_.erase_authorizer(key);
    authorizers_.erase(key);
}

Page<AuthorizerRecord> Registry::list_authorizers(const ListAuthorizersInput& input) const {
    std::vector<std::pair<std::string, AuthorizerRecord>> keyed;
    for (const auto& [name, r] : authorizers_) {
        if (!input.status || r.status == *input.status) {
            keyed.emplace_back(name, r);
        }
    }
    if (!input.ascending) {
        std::reverse(keyed.begin(), keyed.end());
    }
    return paginate(std::move(keyed), input.page, options_, !input.ascending);
}

const AuthorizerRecord& Registry::set_default_authorizer(std::string_view name, Now now) {
    (void)now;
    check_authorizer_name(name);
    const AuthorizerRecord& r = describe_authorizer(name);
    if (!settings_.default_authorizer.empty() && settings_.default_authorizer != r.name) {
        fail(errors::resource_already_exists,
             "The default authorizer is already set to " + settings_.default_authorizer +
                 ". Clear it before setting another one");
    }
    RegistrySettings updated = settings_;
    updated.default_authorizer = r.name;
    store_.put_settings(updated);
    settings_ = std::move(updated);
    return r;
}

const AuthorizerRecord& Registry::describe_default_authorizer() const {
    const AuthorizerRecord* r = default_authorizer();
    if (r == nullptr) {
        not_found("No default authorizer is set.");
    }
    return *r;
}

void Registry::clear_default_authorizer(Now now) {
    (void)now;
    if (settings_.default_authorizer.empty()) {
        not_found("No default authorizer is set.");
    }
    RegistrySettings updated = settings_;
    updated.default_authorizer.clear();
    store_.put_settings(updated);
    settings_ = std::move(updated);
}

const AuthorizerRecord* Registry::find_authorizer(std::string_view name) const {
    const auto it = authorizers_.find(name);
    return it == authorizers_.end() ? nullptr : &it->second;
}

const AuthorizerRecord* Registry::default_authorizer() const {
    return settings_.default_authorizer.empty() ? nullptr : find_authorizer(settings_.default_authorizer);
}

}  // namespace iotsim::registry
