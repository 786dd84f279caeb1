#include "time_format.hpp"

#include <array>
#include <cstdlib>
#include <vector>

#include "convert.hpp"

namespace iotsim::rules::detail {
namespace {

constexpr std::int64_t ms_per_day = 86'400'000;
// About ±30,000 years: beyond it, days_from_civil's arithmetic is still exact but nobody means it.
constexpr std::int64_t epoch_ms_abs_max = 1'000'000'000'000'000;

constexpr std::array<std::string_view, 12> month_names = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};
constexpr std::array<std::string_view, 7> day_names = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                       "Thursday", "Friday", "Saturday"};

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    const std::int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, std::int64_t m, std::int64_t d) {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const std::int64_t yoe = y - era * 400;
    const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

struct Civil {
    std::int64_t year;
    int month;
    int day;
};

Civil civil_from_days(std::int64_t z) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const std::int64_t doe = z - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t y = yoe + era * 400;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
    const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
    return {y + (m <= 2 ? 1 : 0), static_cast<int>(m), static_cast<int>(d)};
}

bool leap(std::int64_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(std::int64_t y, int m) {
    static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : days[m - 1];
}

struct Zone {
    int offset_minutes = 0;
    std::string id = "UTC";
};

bool digit(char c) {
    return c >= '0' && c <= '9';
}

std::optional<Zone> parse_zone(std::string_view z) {
    if (z == "UTC" || z == "GMT" || z == "Z" || z == "Etc/UTC" || z == "UCT" || z == "Zulu") {
        return Zone{};
    }
    std::string_view s = z;
    if (s.rfind("UTC", 0) == 0 || s.rfind("GMT", 0) == 0) {
        s.remove_prefix(3);
    }
    if (s.size() < 2 || (s[0] != '+' && s[0] != '-')) {
        return std::nullopt;
    }
    const int sign = s[0] == '-' ? -1 : 1;
    s.remove_prefix(1);
    int h = 0;
    int m = 0;
    if (s.size() == 2 && digit(s[0]) && digit(s[1])) {
        h = (s[0] - '0') * 10 + (s[1] - '0');
    } else if (s.size() == 4 && digit(s[0]) && digit(s[1]) && digit(s[2]) && digit(s[3])) {
        h = (s[0] - '0') * 10 + (s[1] - '0');
        m = (s[2] - '0') * 10 + (s[3] - '0');
    } else if (s.size() == 5 && digit(s[0]) && digit(s[1]) && s[2] == ':' && digit(s[3]) &&
               digit(s[4])) {
        h = (s[0] - '0') * 10 + (s[1] - '0');
        m = (s[3] - '0') * 10 + (s[4] - '0');
    } else {
        return std::nullopt;
    }
    if (h > 18 || m > 59) {
        return std::nullopt;
    }
    Zone zone;
    zone.offset_minutes = sign * (h * 60 + m);
    zone.id = zone.offset_minutes == 0 ? "UTC" : std::string(z);
    return zone;
}

std::string offset_text(int minutes, bool colon) {
    if (minutes == 0 && colon) {
        return "+00:00";
    }
    std::string out;
    out.push_back(minutes < 0 ? '-' : '+');
    const int a = std::abs(minutes);
    const int h = a / 60;
    const int m = a % 60;
    out.push_back(static_cast<char>('0' + h / 10));
    out.push_back(static_cast<char>('0' + h % 10));
    if (colon) {
        out.push_back(':');
    }
    out.push_back(static_cast<char>('0' + m / 10));
    out.push_back(static_cast<char>('0' + m % 10));
    return out;
}

void padded(std::string& out, std::int64_t v, std::size_t width) {
    std::string digits = std::to_string(v < 0 ? -v : v);
    if (v < 0) {
        out.push_back('-');
    }
    if (digits.size() < width) {
        out.append(width - digits.size(), '0');
    }
    out += digits;
}

struct Field {
    char letter = 0;  // 0 for literal text
    std::size_t count = 0;
    std::string text;
};

std::optional<std::vector<Field>> tokenize(std::string_view pattern) {
    std::vector<Field> out;
    std::size_t i = 0;
    while (i < pattern.size()) {
        const char c = pattern[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            std::size_t j = i;
            while (j < pattern.size() && pattern[j] == c) {
                ++j;
            }
            out.push_back(Field{c, j - i, {}});
            i = j;
        } else if (c == '\'') {
            ++i;
            std::string text;
            if (i < pattern.size() && pattern[i] == '\'') {
                out.push_back(Field{0, 0, "'"});
                ++i;
                continue;
            }
            while (true) {
                if (i >= pattern.size()) {
                    return std::nullopt;
                }
                if (pattern[i] == '\'') {
                    if (i + 1 < pattern.size() && pattern[i + 1] == '\'') {
                        text.push_back('\'');
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                text.push_back(pattern[i++]);
            }
            out.push_back(Field{0, 0, std::move(text)});
        } else {
            out.push_back(Field{0, 0, std::string(1, c)});
            ++i;
        }
    }
    return out;
}

}  // namespace

std::optional<std::string> format_time(std::string_view pattern, std::int64_t epoch_ms,
                                       std::string_view zone_text) {
    if (epoch_ms > epoch_ms_abs_max || epoch_ms < -epoch_ms_abs_max || pattern.size() > 256) {
        return std::nullopt;
    }
    const auto zone = parse_zone(zone_text);
    const auto fields = tokenize(pattern);
    if (!zone || !fields) {
        return std::nullopt;
    }
    const std::int64_t local = epoch_ms + static_cast<std::int64_t>(zone->offset_minutes) * 60'000;
    const std::int64_t days = floor_div(local, ms_per_day);
    const std::int64_t ms_of_day = local - days * ms_per_day;
    const Civil date = civil_from_days(days);
    const std::int64_t hour = ms_of_day / 3'600'000;
    const std::int64_t minute = ms_of_day / 60'000 % 60;
    const std::int64_t second = ms_of_day / 1000 % 60;
    const std::int64_t millis = ms_of_day % 1000;
    const std::int64_t weekday = ((days % 7) + 11) % 7;  // 0 = Sunday; 1970-01-01 was a Thursday
    const std::int64_t day_of_year = days - days_from_civil(date.year, 1, 1) + 1;

    std::string out;
    for (const Field& f : *fields) {
        switch (f.letter) {
            case 0: out += f.text; break;
            case 'y':
            case 'u':
            case 'Y':
                if (f.count == 2) {
                    padded(out, ((date.year % 100) + 100) % 100, 2);
                } else {
                    padded(out, date.year, f.count);
                }
                break;
            case 'M':
                if (f.count >= 4) {
                    out += month_names[static_cast<std::size_t>(date.month - 1)];
                } else if (f.count == 3) {
                    out += month_names[static_cast<std::size_t>(date.month - 1)].substr(0, 3);
                } else {
                    padded(out, date.month, f.count);
                }
                break;
            case 'd': padded(out, date.day, f.count); break;
            case 'D': padded(out, day_of_year, f.count); break;
            case 'E':
                out += f.count >= 4 ? day_names[static_cast<std::size_t>(weekday)]
                                    : day_names[static_cast<std::size_t>(weekday)].substr(0, 3);
                break;
            case 'H': padded(out, hour, f.count); break;
            case 'k': padded(out, hour == 0 ? 24 : hour, f.count); break;
            case 'h': padded(out, hour % 12 == 0 ? 12 : hour % 12, f.count); break;
            case 'K': padded(out, hour % 12, f.count); break;
            case 'm': padded(out, minute, f.count); break;
            case 's': padded(out, second, f.count); break;
            case 'S': {
                std::string frac;
                padded(frac, millis, 3);
                if (f.count <= 3) {
                    out += frac.substr(0, f.count);
                } else {
                    out += frac;
                    out.append(f.count - 3, '0');
                }
                break;
            }
            case 'a': out += hour < 12 ? "AM" : "PM"; break;
            case 'Z':
                if (f.count == 1) {
                    out += offset_text(zone->offset_minutes, false);
                } else if (f.count == 2) {
                    out += offset_text(zone->offset_minutes, true);
                } else {
                    out += zone->id;
                }
                break;
            case 'X':
                out += zone->offset_minutes == 0 ? "Z"
                                                 : offset_text(zone->offset_minutes, f.count >= 3);
                break;
            case 'z':
                out += zone->offset_minutes == 0 ? "UTC" : offset_text(zone->offset_minutes, true);
                break;
            default: return std::nullopt;
        }
    }
    return out;
}

std::optional<std::int64_t> parse_time_text(std::string_view text, std::string_view pattern) {
    if (pattern.size() > 256 || text.size() > 256) {
        return std::nullopt;
    }
    const auto fields = tokenize(pattern);
    if (!fields) {
        return std::nullopt;
    }
    std::int64_t year = 1970;
    int month = 1;
    int day = 1;
    std::int64_t hour = 0;
    std::int64_t minute = 0;
    std::int64_t second = 0;
    std::int64_t millis = 0;
    int offset = 0;
    int pm = -1;
    bool twelve_hour = false;
    std::size_t i = 0;

    const auto number = [&](std::size_t count, std::size_t max_digits, std::int64_t& out) {
        // A run of letters reads exactly that many digits when it is 2 or more wide (so that
        // "yyyyMMdd" splits); a single letter reads as many digits as there are.
        const std::size_t want = count >= 2 ? count : 0;
        std::size_t j = i;
        while (j < text.size() && digit(text[j]) && (want == 0 || j - i < want) &&
               j - i < max_digits) {
            ++j;
        }
        if (j == i || (want != 0 && j - i != want)) {
            return false;
        }
        std::int64_t v = 0;
        for (std::size_t k = i; k < j; ++k) {
            v = v * 10 + (text[k] - '0');
        }
        out = v;
        i = j;
        return true;
    };
    const auto word = [&](auto const& names, std::size_t prefix) -> int {
        for (std::size_t n = 0; n < names.size(); ++n) {
            const std::string_view name = prefix ? names[n].substr(0, prefix) : names[n];
            if (text.size() - i >= name.size()) {
                bool same = true;
                for (std::size_t k = 0; k < name.size(); ++k) {
                    if (ascii_lower(text[i + k]) != ascii_lower(name[k])) {
                        same = false;
                        break;
                    }
                }
                if (same) {
                    i += name.size();
                    return static_cast<int>(n);
                }
            }
        }
        return -1;
    };
    const auto offset_value = [&]() {
        if (i < text.size() && text[i] == 'Z') {
            ++i;
            offset = 0;
            return true;
        }
        if (text.substr(i, 3) == "UTC" || text.substr(i, 3) == "GMT") {
            i += 3;
            offset = 0;
            return true;
        }
        if (i >= text.size() || (text[i] != '+' && text[i] != '-')) {
            return false;
        }
        std::size_t j = i + 1;
        while (j < text.size() && (digit(text[j]) || text[j] == ':') && j - i <= 6) {
            ++j;
        }
        const auto z = parse_zone(text.substr(i, j - i));
        if (!z) {
            return false;
        }
        offset = z->offset_minutes;
        i = j;
        return true;
    };

    for (const Field& f : *fields) {
        std::int64_t v = 0;
        switch (f.letter) {
            case 0:
                if (text.substr(i, f.text.size()) != f.text) {
                    return std::nullopt;
                }
                i += f.text.size();
                break;
            case 'y':
            case 'u':
            case 'Y':
                if (!number(f.count, 9, v)) {
                    return std::nullopt;
                }
                year = f.count == 2 ? 2000 + v : v;
                break;
            case 'M':
                if (f.count >= 3) {
                    const int m = word(month_names, f.count == 3 ? 3 : 0);
                    if (m < 0) {
                        return std::nullopt;
                    }
                    month = m + 1;
                } else {
                    if (!number(f.count, 2, v)) {
                        return std::nullopt;
                    }
                    month = static_cast<int>(v);
                }
                break;
            case 'd':
                if (!number(f.count, 2, v)) {
                    return std::nullopt;
                }
                day = static_cast<int>(v);
                break;
            case 'E':
                if (word(day_names, f.count >= 4 ? 0 : 3) < 0) {
                    return std::nullopt;
                }
                break;
            case 'H':
            case 'k':
                if (!number(f.count, 2, v)) {
                    return std::nullopt;
                }
                hour = (f.letter == 'k' && v == 24) ? 0 : v;
                break;
            case 'h':
            case 'K':
                if (!number(f.count, 2, v)) {
                    return std::nullopt;
                }
                hour = v % 12;
                twelve_hour = true;
                break;
            case 'm':
                if (!number(f.count, 2, minute)) {
                    return std::nullopt;
                }
                break;
            case 's':
                if (!number(f.count, 2, second)) {
                    return std::nullopt;
                }
                break;
            case 'S': {
                const std::size_t start = i;
                if (!number(f.count, 9, v)) {
                    return std::nullopt;
                }
                std::size_t digits_read = i - start;
                while (digits_read > 3) {
                    v /= 10;
                    --digits_read;
                }
                while (digits_read < 3) {
                    v *= 10;
                    ++digits_read;
                }
                millis = v;
                break;
            }
            case 'a': {
                static constexpr std::array<std::string_view, 2> ampm = {"AM", "PM"};
                pm = word(ampm, 0);
                if (pm < 0) {
                    return std::nullopt;
                }
                break;
            }
            case 'Z':
            case 'X':
            case 'x':
            case 'z':
            case 'V':
            case 'O':
                if (!offset_value()) {
                    return std::nullopt;
                }
                break;
            default: return std::nullopt;
        }
    }
    if (i != text.size()) {
        return std::nullopt;
    }
    if (twelve_hour && pm == 1) {
        hour += 12;
    } else if (!twelve_hour && pm == 1 && hour < 12) {
        hour += 12;
    }
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
        minute > 59 || second > 59 || year > 200000) {
        return std::nullopt;
    }
    const std::int64_t days = days_from_civil(year, month, day);
    return days * ms_per_day + hour * 3'600'000 + minute * 60'000 + second * 1000 + millis -
           static_cast<std::int64_t>(offset) * 60'000;
}

}  // namespace iotsim::rules::detail
