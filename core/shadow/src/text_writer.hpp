#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace iotsim::shadow::detail {

/// Appends to a std::string through a buffer on the stack, so that writing a byte is a store and
/// a bound check rather than a call. What was written reaches the string on flush() (and only
/// then): call it before anything else touches the string.
class TextWriter {
public:
    explicit TextWriter(std::string& out) : out_(out) {}
    TextWriter(const TextWriter&) = delete;
    TextWriter& operator=(const TextWriter&) = delete;
    ~TextWriter() = default;

    [[gnu::always_inline]] void put(char c) {
        if (next_ == buffer_ + capacity) {
            flush();
        }
        *next_++ = c;
    }

    [[gnu::always_inline]] void write(std::string_view text) {
        if (text.size() > static_cast<std::size_t>(buffer_ + capacity - next_)) {
            flush();
            if (text.size() > capacity / 2) {
                out_.append(text);
                return;
            }
        }
        std::memcpy(next_, text.data(), text.size());
        next_ += text.size();
    }

    /// write(text) for long runs copied as they are (the unchanged members of a document):
    /// straight into the string, one copy instead of two through the buffer.
    void write_through(std::string_view text) {
        if (text.size() < capacity / 16) {
            write(text);
            return;
        }
        flush();
        out_.append(text);
    }

    /// The size of the text written so far, the string's included.
    [[nodiscard]] std::size_t size() const {
        return out_.size() + static_cast<std::size_t>(next_ - buffer_);
    }

    void flush() {
        out_.append(buffer_, static_cast<std::size_t>(next_ - buffer_));
        next_ = buffer_;
    }

private:
    static constexpr std::size_t capacity = 1024;
    std::string& out_;
    char buffer_[capacity];  // NOLINT: uninitialised on purpose, written before read
    char* next_ = buffer_;
};

/// to_payload(value), written to `out` (document.cpp).
void write_payload(TextWriter& out, const nlohmann::json& value);

/// append_string(…, text), written to `out` (document.cpp).
void write_string(TextWriter& out, std::string_view text);

/// The decimal digits of `number`.
void write_integer(TextWriter& out, std::int64_t number);

}  // namespace iotsim::shadow::detail
