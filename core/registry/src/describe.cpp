#include "iotsim/registry/describe.hpp"

#include <algorithm>
#include <string>

namespace iotsim::registry {

namespace {

/// Walks a listing page by page, handing each item to `take`, and stops once `max` were taken;
/// true if items were left (the listing is not walked to its end: it may be long).
template <class List, class Take>
bool walk(const List& list, std::size_t max, Take&& take) {
    std::size_t taken = 0;
    std::string token;
    do {
        const auto page = list(token);
        for (const auto& item : page.items) {
            if (taken == max) {
                return true;
            }
            take(item);
            ++taken;
        }
        token = page.next_token;
    } while (!token.empty());
    return false;
}

}  // namespace

nlohmann::json describe_registry(const Registry& registry, std::size_t max) {
    const int page_size = registry.options().page_size_max;
    // A policy attached to every certificate would otherwise list max x max ARNs.
    const std::size_t targets_max = std::min<std::size_t>(max, 100);
    nlohmann::json out = nlohmann::json::object();

    nlohmann::json things = nlohmann::json::array();
    const bool things_truncated = walk(
        [&](const std::string& token) {
            ListThingsInput input;
            input.page = {token, page_size};
            return registry.list_things(input);
        },
        max,
        [&](const ThingRecord& t) {
            nlohmann::json thing = {{"thingName", t.name}};
            if (!t.type_name.empty()) {
                thing["thingTypeName"] = t.type_name;
            }
            thing["attributes"] = nlohmann::json::object();
            for (const auto& [name, value] : t.attributes) {
                thing["attributes"][name] = value;
            }
            nlohmann::json principals = nlohmann::json::array();
            for (const auto& [arn, type] : t.principals) {
                principals.push_back(arn);
            }
            thing["principals"] = std::move(principals);
            things.push_back(std::move(thing));
        });

    nlohmann::json certificates = nlohmann::json::array();
    const bool certificates_truncated = walk(
        [&](const std::string& token) {
            ListCertificatesInput input;
            input.page = {token, page_size};
            input.ascending = true;
            return registry.list_certificates(input);
        },
        max,
        [&](const CertificateRecord& c) {
            certificates.push_back({{"certificateId", c.id}, {"status", std::string(to_string(c.status))}});
        });

    nlohmann::json policies = nlohmann::json::array();
    const bool policies_truncated = walk(
        [&](const std::string& token) {
            ListCertificatesInput input;
            input.page = {token, page_size};
            input.ascending = true;
            return registry.list_policies(input);
        },
        max,
        [&](const std::string& name) {
            nlohmann::json targets = nlohmann::json::array();
            const bool cut = walk(
                [&](const std::string& token) { return registry.list_targets_for_policy(name, {token, page_size}); },
                targets_max, [&](const std::string& arn) { targets.push_back(arn); });
            nlohmann::json p = {{"policyName", name}, {"targets", std::move(targets)}};
            if (cut) {
                p["targetsTruncated"] = true;
            }
            policies.push_back(std::move(p));
        });

    out["things"] = std::move(things);
    out["certificates"] = std::move(certificates);
    out["policies"] = std::move(policies);
    out["truncated"] = {
        {"things", things_truncated}, {"certificates", certificates_truncated}, {"policies", policies_truncated}};
    return out;
}

}  // namespace iotsim::registry
