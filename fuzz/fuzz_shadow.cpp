// libFuzzer target for the Device Shadow service's input path: a script of MQTT publishes that
// ShadowService::handle_publish answers, mostly on valid request topics, with clock advances,
// storage failures and restarts in between. Checks after every step that the service never
// crashes and keeps its invariants:
//   - a response comes back for every request topic, and its first notification is the reply;
//   - an accepted update yields exactly the stored version + 1 (0 when there is no shadow or its
//     tombstone has expired), so versions never decrease while a shadow or tombstone exists;
//   - a rejected request writes nothing; an accepted change is in the store as the service has it;
//   - a stored shadow is within the state size and depth limits, holds no empty object and no
//     null outside arrays, and its metadata mirrors its state leaf for leaf;
//   - every published payload is valid JSON in to_payload's canonical form (the service writes
//     /update/documents from cached text: it must be the bytes a plain dump would give), and
//     /update/documents holds the stored shadow as `current` and the one before as `previous`.
//
// Input: one options byte, then steps, each a control byte C and its operands.
//   C & 0x03        thing index ("t0".."t3")
//   C & 0x04        the named shadow "s" instead of the classic one
//   (C >> 3) & 0x03 0 get, 1 update, 2 delete, 3 special (next byte K):
//                     K == 0xFF restart the service over the same store (recover)
//                     K == 0xFE toggle storage failures
//                     otherwise: a raw topic of K & 0x3F bytes, then the payload
//   C >> 5          clock: 0 none, 1-4 +C>>5 seconds, 5 +1 h, 6 +47 h, 7 +48 h and expire
//   payload         a length byte L (L == 0xFF: two more bytes, little endian), then the bytes
// Options byte: bit 0 disables the rate limit, bit 1 omits `previous` for new shadows, bit 2
// shrinks the limits (state 256 bytes, depth 3) so that they are reached.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "iotsim/shadow/document.hpp"
#include "iotsim/shadow/service.hpp"
#include "iotsim/shadow/store.hpp"
#include "iotsim/shadow/topics.hpp"

using namespace iotsim;
using namespace iotsim::shadow;
using nlohmann::json;

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail = {}) {
    std::fprintf(stderr, "invariant violated: %s %s\n", what, detail.c_str());
    std::abort();
}

#define CHECK(cond, ...)                            \
    do {                                            \
        if (!(cond)) {                              \
            fail(#cond __VA_OPT__(, ) __VA_ARGS__); \
        }                                           \
    } while (false)

class FlakyStore final : public ShadowStore {
public:
    void put(const ShadowRecord& record) override {
        if (failing) {
            throw std::runtime_error("disk full");
        }
        inner.put(record);
    }
    void erase(const ShadowKey& key) override {
        if (failing) {
            throw std::runtime_error("disk full");
        }
        inner.erase(key);
    }
    std::vector<ShadowRecord> load() override { return inner.load(); }

    MemoryShadowStore inner;
    bool failing = false;
};

struct Reader {
    const std::uint8_t* data;
    std::size_t size;
    std::size_t at = 0;

    [[nodiscard]] bool done() const { return at >= size; }
    std::uint8_t byte() { return done() ? 0 : data[at++]; }
    std::string_view bytes(std::size_t n) {
        n = std::min(n, size - std::min(at, size));
        const std::string_view out(reinterpret_cast<const char*>(data) + at, n);
        at += n;
        return out;
    }
    std::string_view payload() {
        std::size_t n = byte();
        if (n == 0xFF) {
            n = byte();
            n |= static_cast<std::size_t>(byte()) << 8U;
        }
        return bytes(n);
    }
};

// Objects outside arrays are never empty and hold no null; metadata mirrors the value.
void check_stored(const json& value, const json& metadata, bool in_array, std::size_t depth) {
    CHECK(depth < 256);
    if (value.is_object()) {
        CHECK(metadata.is_object(), metadata.dump());
        if (!in_array) {
            CHECK(!value.empty());
        }
        CHECK(metadata.size() == value.size(), value.dump() + " / " + metadata.dump());
        for (const auto& item : value.items()) {
            CHECK(in_array || !item.value().is_null());
            const auto m = metadata.find(item.key());
            CHECK(m != metadata.end(), item.key());
            check_stored(item.value(), *m, in_array, depth + 1);
        }
        return;
    }
    if (value.is_array()) {
        CHECK(metadata.is_array(), metadata.dump());
        CHECK(metadata.size() == value.size());
        for (std::size_t i = 0; i < value.size(); ++i) {
            CHECK(!value[i].is_null());
            check_stored(value[i], metadata[i], true, depth + 1);
        }
        return;
    }
    CHECK(metadata.is_object() && metadata.size() == 1 && metadata.contains("timestamp") &&
              metadata["timestamp"].is_number_integer(),
          metadata.dump());
}

void check_record(const ShadowRecord& record, const ShadowLimits& limits) {
    CHECK(record.state.is_object());
    CHECK(record.metadata.is_object());
    if (record.deleted) {
        CHECK(record.state.empty() && record.metadata.empty());
        return;
    }
    CHECK(record.version >= 1);
    CHECK(state_size_bytes(record.state) <= limits.state_bytes_max);
    CHECK(record.metadata.size() == record.state.size());
    for (const auto& section : record.state.items()) {
        CHECK(section.key() == desired_key || section.key() == reported_key, section.key());
        CHECK(section.value().is_object() && !section.value().empty());
        CHECK(section_depth(section.value()) <= limits.depth_max);
        const auto m = record.metadata.find(section.key());
        CHECK(m != record.metadata.end());
        check_stored(section.value(), *m, false, 0);
    }
    if (const auto delta = compute_delta(record.state)) {
        CHECK(!delta->empty());
    }
}

bool equal_records(const ShadowRecord& a, const ShadowRecord& b) {
    return a.key == b.key && a.state == b.state && a.metadata == b.metadata &&
           a.version == b.version && a.updated_at == b.updated_at && a.deleted == b.deleted;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Reader in{data, size};
    const std::uint8_t flags = in.byte();
    ShadowOptions options;
    if ((flags & 1U) != 0) {
        options.limits.requests_per_second_per_thing = 0;
    }
    options.documents_previous_for_new_shadow = (flags & 2U) == 0;
    if ((flags & 4U) != 0) {
        options.limits.state_bytes_max = 256;
        options.limits.depth_max = 3;
    }
    FlakyStore store;
    auto service = std::make_unique<ShadowService>(store, options);
    WallTime now{seconds(1'767'225'600)};

    for (int step = 0; step < 64 && !in.done(); ++step) {
        const std::uint8_t c = in.byte();
        const ShadowKey key{"t" + std::to_string(c & 3U), (c & 4U) != 0 ? "s" : ""};
        const unsigned operation = (c >> 3U) & 3U;
        const unsigned clock = c >> 5U;
        if (clock >= 1 && clock <= 4) {
            now = WallTime{now.since_unix_epoch + seconds(clock)};
        } else if (clock == 5) {
            now = WallTime{now.since_unix_epoch + hours(1)};
        } else if (clock == 6) {
            now = WallTime{now.since_unix_epoch + hours(47)};
        } else if (clock == 7) {
            now = WallTime{now.since_unix_epoch + hours(48)};
            service->expire_tombstones(now);
        }

        std::string topic;
        if (operation == 3) {
            const std::uint8_t k = in.byte();
            if (k == 0xFF) {
                service = std::make_unique<ShadowService>(store, options);
                try {
                    service->recover(now);
                } catch (const std::exception&) {
                    // A failure at start is the host's to report; it retries on a working disk.
                    CHECK(store.failing);
                    store.failing = false;
                    service->recover(now);
                }
                continue;
            }
            if (k == 0xFE) {
                store.failing = !store.failing;
                continue;
            }
            topic = std::string(in.bytes(k & 0x3FU));
        } else {
            static constexpr std::array<std::string_view, 3> names = {"get", "update", "delete"};
            topic = shadow_topic(key, names[operation]);
        }
        const std::string_view payload = in.payload();

        // What the service should find before the request, from the store's side.
        const auto request = parse_request_topic(topic);
        std::int64_t base_version = 0;
        bool live = false;
        std::optional<ShadowRecord> before;
        if (request) {
            if (const ShadowRecord* stored = store.inner.find(request->key)) {
                before = *stored;
                const bool expired =
                    stored->deleted && now.since_unix_epoch - stored->updated_at.since_unix_epoch >=
                                           options.deleted_version_retention;
                if (!expired) {
                    base_version = stored->version;
                    live = !stored->deleted;
                }
            }
        }
        const std::uint64_t writes_before = store.inner.writes();

        const auto response = service->handle_publish(topic, payload, now);
        if (!request) {
            CHECK(!response.has_value());
            continue;
        }
        CHECK(response.has_value());
        CHECK(response->key == request->key);
        CHECK(response->operation == request->operation);
        CHECK(!response->notifications.empty());
        const std::string reply = std::string(operation_name(request->operation)) +
                                  (response->accepted() ? "/accepted" : "/rejected");
        CHECK(response->notifications.front().suffix == reply,
              response->notifications.front().suffix);
        json documents;
        for (const auto& n : response->notifications) {
            json parsed = json::parse(n.payload, nullptr, false);
            CHECK(!parsed.is_discarded() && parsed.is_object(), n.payload);
            CHECK(to_payload(parsed) == n.payload, n.payload);
            CHECK(parsed.dump(-1, ' ', false, json::error_handler_t::replace) == n.payload,
                  n.payload);
            if (n.suffix == "update/documents") {
                documents = std::move(parsed);
            }
        }
        // The service's view and the store's agree after every step.
        const ShadowRecord* stored = store.inner.find(request->key);
        const ShadowRecord* seen = service->find(request->key);
        if (seen != nullptr) {
            CHECK(stored != nullptr && equal_records(*seen, *stored));
            check_record(*seen, options.limits);
        }

        if (!response->accepted()) {
            CHECK(response->document.contains("code") && response->document.contains("message"));
            // Nothing written, except the erasure of an expired tombstone found on the way.
            if (store.inner.writes() != writes_before) {
                CHECK(store.inner.writes() == writes_before + 1);
                CHECK(before && before->deleted && stored == nullptr);
            }
            if (before && stored != nullptr) {
                CHECK(equal_records(*before, *stored));
            }
            continue;
        }
        switch (request->operation) {
            case ShadowOperation::get:
                CHECK(live);
                CHECK(response->document["version"] == base_version);
                break;
            case ShadowOperation::update:
                CHECK(seen != nullptr);
                CHECK(seen->version == base_version + 1,
                      std::to_string(seen->version) + " after " + std::to_string(base_version));
                CHECK(response->document["version"] == seen->version);
                CHECK(response->notifications.size() >= 2);
                CHECK(documents.is_object());
                CHECK(documents["current"]["state"] == seen->state, documents.dump());
                CHECK(documents["current"]["metadata"] == seen->metadata, documents.dump());
                CHECK(documents["current"]["version"] == seen->version);
                if (live) {
                    CHECK(documents["previous"]["state"] == before->state, documents.dump());
                    CHECK(documents["previous"]["metadata"] == before->metadata, documents.dump());
                    CHECK(documents["previous"]["version"] == base_version);
                } else if (options.documents_previous_for_new_shadow) {
                    const json empty_previous = {{"state", json::object()},
                                                 {"metadata", json::object()},
                                                 {"version", base_version}};
                    CHECK(documents["previous"] == empty_previous, documents.dump());
                } else {
                    CHECK(!documents.contains("previous"));
                }
                break;
            case ShadowOperation::delete_shadow:
                CHECK(live);
                CHECK(stored != nullptr && stored->deleted && stored->version == base_version);
                CHECK(response->document["version"] == base_version);
                break;
        }
    }
    return 0;
}
