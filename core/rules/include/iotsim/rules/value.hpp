#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace iotsim::rules {

/// The AWS IoT SQL version a rule is written for (TopicRulePayload.awsIotSqlVersion).
/// `beta` is accepted by parse_sql_version() and treated as 2016-03-23.
enum class SqlVersion : std::uint8_t { v2015_10_08, v2016_03_23 };

/// "2015-10-08" or "2016-03-23".
[[nodiscard]] std::string_view to_string(SqlVersion version);
/// The version for an awsIotSqlVersion string, or nullopt for an unknown one.
[[nodiscard]] std::optional<SqlVersion> parse_sql_version(std::string_view text);

/// AWS IoT SQL's data types (reference §3.5).
enum class ValueType : std::uint8_t {
    Undefined,
    Null,
    Boolean,
    Int,
    Decimal,
    String,
    Array,
    Object,
    Binary
};

class Value;
using Array = std::vector<Value>;
/// Objects keep their keys in insertion order (the payload's order), as AWS's output does.
using Object = std::vector<std::pair<std::string, Value>>;

/// One AWS IoT SQL value. Arrays, objects and binary data are shared and immutable, so copying a
/// Value never copies a document. Int is 64-bit and Decimal is an IEEE double: AWS documents 34
/// digits for both; iotsim chooses machine numbers for speed (an Int that overflows becomes a
/// Decimal, see arithmetic in evaluator.cpp).
/// Thread safety: immutable after construction; copies may be shared across threads.
class Value {
public:
    Value() = default;  // Undefined
    static Value null() { return Value(Tag::null); }
    static Value boolean(bool b) { return Value(b); }
    static Value integer(std::int64_t i) { return Value(i); }
    static Value decimal(double d) { return Value(d); }
    static Value string(std::string s) { return Value(std::move(s)); }
    static Value array(Array a) { return Value(std::make_shared<const Array>(std::move(a))); }
    static Value object(Object o) { return Value(std::make_shared<const Object>(std::move(o))); }
    static Value binary(std::string bytes) {
        return Value(std::make_shared<const BinaryBytes>(BinaryBytes{std::move(bytes)}));
    }

    [[nodiscard]] ValueType type() const { return static_cast<ValueType>(v_.index()); }
    [[nodiscard]] bool is_undefined() const { return v_.index() == 0; }
    [[nodiscard]] bool is_null() const { return type() == ValueType::Null; }
    [[nodiscard]] bool is_number() const {
        return type() == ValueType::Int || type() == ValueType::Decimal;
    }

    [[nodiscard]] bool as_bool() const { return std::get<bool>(v_); }
    [[nodiscard]] std::int64_t as_int() const { return std::get<std::int64_t>(v_); }
    [[nodiscard]] double as_decimal() const { return std::get<double>(v_); }
    /// Int or Decimal as a double.
    [[nodiscard]] double as_number() const {
        return type() == ValueType::Int ? static_cast<double>(as_int()) : as_decimal();
    }
    [[nodiscard]] const std::string& as_string() const { return std::get<std::string>(v_); }
    [[nodiscard]] const Array& as_array() const { return *std::get<ArrayPtr>(v_); }
    [[nodiscard]] const Object& as_object() const { return *std::get<ObjectPtr>(v_); }
    [[nodiscard]] const std::string& as_binary() const { return std::get<BinaryPtr>(v_)->bytes; }

    /// The member `key` of an Object; Undefined for a missing key or a non-object.
    [[nodiscard]] Value member(std::string_view key) const;
    /// Pointer to the member `key` of an Object (no copy), or nullptr.
    [[nodiscard]] const Value* find(std::string_view key) const;

    /// Deep equality with AWS's `=` semantics for same-typed values (Int 1 equals Decimal 1.0;
    /// objects compare regardless of key order). Undefined equals nothing.
    [[nodiscard]] bool equals(const Value& other) const;

private:
    struct BinaryBytes {
        std::string bytes;
    };
    enum class Tag : std::uint8_t { null };
    using ArrayPtr = std::shared_ptr<const Array>;
    using ObjectPtr = std::shared_ptr<const Object>;
    using BinaryPtr = std::shared_ptr<const BinaryBytes>;

    explicit Value(Tag) : v_(std::in_place_index<1>, nullptr) {}
    explicit Value(bool b) : v_(b) {}
    explicit Value(std::int64_t i) : v_(i) {}
    explicit Value(double d) : v_(d) {}
    explicit Value(std::string s) : v_(std::move(s)) {}
    explicit Value(ArrayPtr a) : v_(std::move(a)) {}
    explicit Value(ObjectPtr o) : v_(std::move(o)) {}
    explicit Value(BinaryPtr b) : v_(std::move(b)) {}

    // Index order is ValueType's order.
    std::variant<std::monostate, std::nullptr_t, bool, std::int64_t, double, std::string, ArrayPtr,
                 ObjectPtr, BinaryPtr>
        v_;
};

/// Parses JSON text into a Value. In 2016-03-23 a whole-number decimal (`10.0`) becomes an Int
/// (reference §3.4). Returns nullopt for text that is not exactly one JSON value, for nesting
/// deeper than json_depth_max, or for invalid UTF-8 escapes. Never throws.
[[nodiscard]] std::optional<Value> parse_json(std::string_view text, SqlVersion version);

/// Nesting limit for parse_json (AWS limits payloads to 128 KB; this bounds recursion).
inline constexpr int json_depth_max = 256;

/// Appends the JSON text of `value` to `out`. Undefined members of objects are omitted, Undefined
/// array elements are written as null, a top-level Undefined writes nothing, and Binary is written
/// as a base64 JSON string (AMBIG: binary has no JSON form). Decimals are printed as AWS's Java
/// engine prints doubles (`32.0`, `0.1`, `1.0E7`); NaN and infinities as null.
void write_json(const Value& value, std::string& out);
[[nodiscard]] std::string to_json(const Value& value);

}  // namespace iotsim::rules
