// libFuzzer target for the rules engine.
//
// The input's first byte picks the SQL version and which payload to use; the rest is rule SQL.
// A statement that parses is evaluated against fixed JSON and binary payloads, with hooks for the
// external functions; the template parser and renderer get the same text. The engine must never
// crash, hang or read out of bounds (ASan, UBSan) on any SQL. As a cross-check, any JSON output
// must parse back with the engine's own reader.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "iotsim/common/rng.hpp"
#include "iotsim/rules/evaluate.hpp"
#include "iotsim/rules/statement.hpp"
#include "iotsim/rules/template.hpp"
#include "iotsim/rules/value.hpp"

namespace {

using namespace iotsim;
using namespace iotsim::rules;

constexpr std::string_view payloads[] = {
    R"({"temp":35,"deviceId":"d1","arr":[1,2.5,"x",null,{"n":"temperature","v":22.5}],"o":{"a":{"b":true}},"s":"héllo"})",
    "\x00\x01\xff binary",
    "",
    "80",
};

void check_json(const EvalOutcome& out, SqlVersion version) {
    if (out.kind == OutcomeKind::Match && out.format == PayloadFormat::Json &&
        !out.payload.empty()) {
        if (!parse_json(out.payload, version).has_value()) {
            std::abort();  // the engine wrote JSON it cannot read back
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1 || size > 4096) {
        return 0;
    }
    const std::uint8_t control = data[0];
    const SqlVersion version =
        (control & 1) != 0 ? SqlVersion::v2016_03_23 : SqlVersion::v2015_10_08;
    const std::string_view sql(reinterpret_cast<const char*>(data + 1), size - 1);
    const std::string_view payload = payloads[(control >> 1) & 3];

    Rng rng(control);
    EvalContext ctx{rng};
    ctx.client_id = "fuzz";
    ctx.trace_id = "00000000-0000-4000-8000-000000000000";
    ctx.get_thing_shadow = [&](std::string_view thing, std::optional<std::string_view>,
                               std::string_view) -> Result<std::string, RuntimeError> {
        if (thing.empty()) {
            return RuntimeError{"no thing"};
        }
        return std::string(R"({"state":{"reported":{"on":true}},"version":3})");
    };
    ctx.aws_lambda = [&](std::string_view,
                         std::string_view input) -> Result<std::string, RuntimeError> {
        return std::string(input);
    };
    const Message message{"sensors/d1/data", payload, {{"k", "v"}}};

    auto statement = parse(sql, version);
    if (statement.ok()) {
        EvalOutcome out;
        evaluate(statement.value(), message, ctx, out);
        check_json(out, version);
        (void)topic_matches(statement.value().from_filter(), message.topic);
    }
    auto tmpl = parse_template(sql, version,
                               (control & 8) != 0 ? TemplateUse::ErrorAction : TemplateUse::Action);
    if (tmpl.ok()) {
        (void)render(tmpl.value(), message, ctx);
    }
    return 0;
}
