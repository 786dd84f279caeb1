// The data-driven runner for tests/rules/*.test (after DuckDB's sqllogictest).
//
// A file is a list of cases separated by blank lines; `#` starts a comment line. A case is
// `key value` lines:
//
//   case  <behaviour sentence, snake_case>        required, first
//   version 2015-10-08 | 2016-03-23               default: the file's `set version`, else
//   2015-10-08 topic / clientid / principal / traceid / sourceip / now (epoch ms) / seed userprop
//   key=value                            MQTT 5 user property (repeatable) contenttype /
//   responsetopic / correlation     MQTT 5 properties shadow <json> | shadow-error <message> what
//   get_thing_shadow's hook answers lambda <json> | lambda-error <message>        what aws_lambda's
//   hook answers (echo: the input) sql <statement>            (repeat for more lines) or template
//   <text> or error-template <text> payload <text> | payload-hex <hex> | payload-none     default:
//   {} expect <json>              exact output text (objects keep their order) expect none WHERE
//   was false or Undefined expect empty               matched with an empty payload expect binary
//   <text>       matched with a raw (non-JSON) payload; bytes outside ASCII as \xNN expect text
//   <text>         a rendered template expect match <regex>       output matches (ECMAScript, whole
//   text) expect error parse [L:C] <substring>   parse_template/parse fails at line L column C
//   expect error runtime <substring>       evaluation/render fails (errorAction)
//
// A file may start with `set version <v>` to change the default version for its cases.

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "iotsim/common/rng.hpp"
#include "iotsim/rules/evaluate.hpp"
#include "iotsim/rules/statement.hpp"
#include "iotsim/rules/template.hpp"

#ifndef IOTSIM_RULES_TEST_DIR
#error "IOTSIM_RULES_TEST_DIR must name tests/rules"
#endif

namespace {

using namespace iotsim;
using namespace iotsim::rules;

struct Case {
    std::string file;
    int line = 0;
    std::string name;
    std::multimap<std::string, std::string> fields;
    SqlVersion version = SqlVersion::v2015_10_08;

    [[nodiscard]] bool has(const std::string& k) const { return fields.count(k) != 0; }
    [[nodiscard]] std::string get(const std::string& k, std::string def = {}) const {
        auto it = fields.find(k);
        return it == fields.end() ? def : it->second;
    }
};

std::vector<Case> load_file(const std::filesystem::path& path) {
    std::vector<Case> out;
    std::ifstream in(path);
    std::string line;
    int number = 0;
    SqlVersion file_version = SqlVersion::v2015_10_08;
    Case current;
    bool open = false;
    const auto close = [&]() {
        if (open) {
            out.push_back(current);
        }
        open = false;
        current = Case{};
    };
    while (std::getline(in, line)) {
        ++number;
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (line.empty()) {
            close();
            continue;
        }
        if (line[0] == '#') {
            continue;
        }
        const auto space = line.find(' ');
        const std::string key = line.substr(0, space);
        const std::string value = space == std::string::npos ? "" : line.substr(space + 1);
        if (key == "set") {
            if (value.rfind("version ", 0) == 0) {
                file_version = parse_sql_version(value.substr(8)).value();
            }
            continue;
        }
        if (key == "case") {
            close();
            open = true;
            current.file = path.filename().string();
            current.line = number;
            current.name = value;
            current.version = file_version;
            continue;
        }
        if (!open) {
            BOOST_FAIL(path.string() << ":" << number << ": a line outside a case");
        }
        if (key == "version") {
            current.version = parse_sql_version(value).value();
        }
        current.fields.emplace(key, value);
    }
    close();
    return out;
}

std::vector<Case> load_all() {
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(IOTSIM_RULES_TEST_DIR)) {
        if (entry.path().extension() == ".test") {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    std::vector<Case> all;
    for (const auto& f : files) {
        auto cases = load_file(f);
        all.insert(all.end(), cases.begin(), cases.end());
    }
    return all;
}

std::string from_hex(const std::string& hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    return out;
}

std::string printable(const std::string& s) {
    std::string out;
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x7f) {
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out.push_back(hex[u >> 4]);
            out.push_back(hex[u & 15]);
        } else {
            out.push_back(c);
        }
    }
    return out;
}

// Runs one case; returns an empty string on success, else what went wrong.
std::string run(const Case& c) {
    Rng rng(std::stoull(c.get("seed", "1")));
    EvalContext ctx{rng};
    ctx.now = WallTime{std::chrono::milliseconds(std::stoll(c.get("now", "1767225600000")))};
    if (c.has("clientid")) {
        ctx.client_id = c.get("clientid");
    }
    ctx.principal = c.get("principal", "");
    if (c.has("traceid")) {
        ctx.trace_id = c.get("traceid");
    }
    if (c.has("sourceip")) {
        ctx.source_ip = c.get("sourceip");
    }
    std::vector<std::string> shadow_calls;
    if (c.has("shadow") || c.has("shadow-error")) {
        ctx.get_thing_shadow = [&](std::string_view thing, std::optional<std::string_view> name,
                                   std::string_view role) -> Result<std::string, RuntimeError> {
            shadow_calls.push_back(std::string(thing) + "|" + std::string(name.value_or("-")) +
                                   "|" + std::string(role));
            if (c.has("shadow-error")) {
                return RuntimeError{c.get("shadow-error")};
            }
            return c.get("shadow");
        };
    }
    if (c.has("lambda") || c.has("lambda-error")) {
        ctx.aws_lambda = [&](std::string_view,
                             std::string_view input) -> Result<std::string, RuntimeError> {
            if (c.has("lambda-error")) {
                return RuntimeError{c.get("lambda-error")};
            }
            if (c.get("lambda") == "echo") {
                return std::string(input);
            }
            return c.get("lambda");
        };
    }

    std::string payload = "{}";
    if (c.has("payload")) {
        payload = c.get("payload");
    } else if (c.has("payload-hex")) {
        payload = from_hex(c.get("payload-hex"));
    } else if (c.has("payload-none")) {
        payload.clear();
    }
    const std::string topic = c.get("topic", "t");  // Message holds views: keep the text alive
    Message msg{topic, payload};
    auto [first, last] = c.fields.equal_range("userprop");
    for (auto it = first; it != last; ++it) {
        const auto eq = it->second.find('=');
        msg.user_properties.emplace_back(it->second.substr(0, eq), it->second.substr(eq + 1));
    }
    if (c.has("contenttype")) {
        msg.content_type = c.get("contenttype");
    }
    if (c.has("responsetopic")) {
        msg.response_topic = c.get("responsetopic");
    }
    if (c.has("correlation")) {
        msg.correlation_data = c.get("correlation");
    }

    const std::string expect = c.get("expect");
    if (!c.has("expect")) {
        return "the case has no expect line";
    }
    const auto check_parse_error = [&](const ParseError& e) -> std::string {
        // expect error parse [L:C] substring
        std::string rest = expect.substr(std::string("error parse").size());
        if (!rest.empty() && rest[0] == ' ') {
            rest.erase(0, 1);
        }
        static const std::regex pos(R"(^(\d+):(\d+)(?: (.*))?$)");
        std::smatch m;
        std::string needle = rest;
        if (std::regex_match(rest, m, pos)) {
            if (std::stoi(m[1]) != e.line || std::stoi(m[2]) != e.column) {
                return "parse error at " + std::to_string(e.line) + ":" + std::to_string(e.column) +
                       " (" + e.message + "), expected at " + m[1].str() + ":" + m[2].str();
            }
            needle = m[3].matched ? m[3].str() : "";
        }
        if (e.message.find(needle) == std::string::npos) {
            return "parse error '" + e.message + "' does not contain '" + needle + "'";
        }
        return {};
    };

    std::string output;
    bool matched = false;
    bool binary = false;
    if (c.has("template") || c.has("error-template")) {
        const bool for_error = c.has("error-template");
        auto t = parse_template(for_error ? c.get("error-template") : c.get("template"), c.version,
                                for_error ? TemplateUse::ErrorAction : TemplateUse::Action);
        if (!t.ok()) {
            if (expect.rfind("error parse", 0) == 0) {
                return check_parse_error(t.error());
            }
            return "template parse error: " + t.error().to_string();
        }
        if (expect.rfind("error parse", 0) == 0) {
            return "expected a parse error, the template parsed";
        }
        auto r = render(t.value(), msg, ctx);
        if (!r.ok()) {
            if (expect.rfind("error runtime ", 0) == 0) {
                const std::string needle = expect.substr(14);
                return r.error().message.find(needle) == std::string::npos
                           ? "runtime error '" + r.error().message + "' lacks '" + needle + "'"
                           : std::string{};
            }
            return "render error: " + r.error().message;
        }
        output = r.value();
        matched = true;
    } else {
        std::string sql;
        auto [sql_first, sql_last] = c.fields.equal_range("sql");
        for (auto it = sql_first; it != sql_last; ++it) {
            sql += (it == sql_first ? "" : "\n") + it->second;
        }
        auto st = parse(sql, c.version);
        if (!st.ok()) {
            if (expect.rfind("error parse", 0) == 0) {
                return check_parse_error(st.error());
            }
            return "parse error: " + st.error().to_string();
        }
        if (expect.rfind("error parse", 0) == 0) {
            return "expected a parse error, the statement parsed";
        }
        if (c.has("from")) {
            if (st.value().from_filter() != c.get("from")) {
                return "from_filter() is '" + st.value().from_filter() + "'";
            }
        }
        const EvalOutcome out = evaluate(st.value(), msg, ctx);
        if (out.kind == OutcomeKind::Error) {
            if (expect.rfind("error runtime ", 0) == 0) {
                const std::string needle = expect.substr(14);
                return out.error.find(needle) == std::string::npos
                           ? "runtime error '" + out.error + "' lacks '" + needle + "'"
                           : std::string{};
            }
            return "runtime error: " + out.error;
        }
        if (out.kind == OutcomeKind::NoMatch) {
            return expect == "none" ? std::string{} : "no match (WHERE not true)";
        }
        output = out.payload;
        matched = true;
        binary = out.format == PayloadFormat::Binary;
    }
    if (c.has("shadow-calls") &&
        c.get("shadow-calls") != (shadow_calls.empty() ? "" : shadow_calls[0])) {
        return "get_thing_shadow called with '" + (shadow_calls.empty() ? "" : shadow_calls[0]) +
               "'";
    }
    (void)matched;
    if (expect == "none") {
        return "matched with '" + printable(output) + "', expected no match";
    }
    if (expect.rfind("error", 0) == 0) {
        return "succeeded with '" + printable(output) + "', expected " + expect;
    }
    if (expect == "empty") {
        return output.empty() ? std::string{}
                              : "output '" + printable(output) + "', expected empty";
    }
    if (expect.rfind("binary ", 0) == 0) {
        if (!binary) {
            return "output '" + printable(output) + "' is JSON, expected binary";
        }
        return printable(output) == expect.substr(7) ? std::string{}
                                                     : "binary output '" + printable(output) + "'";
    }
    if (expect.rfind("text ", 0) == 0 || expect == "text") {
        const std::string want = expect.size() > 5 ? expect.substr(5) : "";
        return output == want ? std::string{}
                              : "text '" + printable(output) + "', expected '" + want + "'";
    }
    if (expect.rfind("match ", 0) == 0) {
        return std::regex_match(output, std::regex(expect.substr(6)))
                   ? std::string{}
                   : "output '" + printable(output) + "' does not match";
    }
    if (binary) {
        return "binary output '" + printable(output) + "', expected JSON " + expect;
    }
    return output == expect ? std::string{}
                            : "output " + printable(output) + "\n      expected " + expect;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(rules_sql_logic)

BOOST_AUTO_TEST_CASE(every_case_in_the_rules_test_files_holds) {
    const auto cases = load_all();
    std::size_t failures = 0;
    std::map<std::string, int> names;
    for (const Case& c : cases) {
        if (++names[c.file + ":" + c.name] > 1) {
            BOOST_ERROR(c.file << ":" << c.line << ": duplicate case name " << c.name);
        }
        const std::string problem = run(c);
        if (!problem.empty()) {
            ++failures;
            BOOST_ERROR(c.file << ":" << c.line << ": " << c.name << ": " << problem);
        }
    }
    BOOST_TEST_MESSAGE(cases.size() << " cases, " << failures << " failed");
    BOOST_TEST(failures == 0u);
}

BOOST_AUTO_TEST_CASE(the_rules_test_files_hold_at_least_300_cases) {
    BOOST_TEST(load_all().size() >= 300u);
}

BOOST_AUTO_TEST_SUITE_END()
