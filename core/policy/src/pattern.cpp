// Pattern compilation (at parse time) and glob matching with in-place variable substitution (on
// every evaluation). No regex: a pattern is a list of literal runs, `*`, `?` and variables.

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "compiled.hpp"
#include "iotsim/common/assert.hpp"
#include "text.hpp"

namespace iotsim::policy::detail {

namespace {

void flush_literal(Pattern& pattern, std::string& literal) {
    if (literal.empty()) {
        return;
    }
    Piece piece;
    piece.kind = Piece::Kind::literal;
    piece.text = std::move(literal);
    pattern.pieces.push_back(std::move(piece));
    literal.clear();
}

bool starts_with_at(std::string_view text, std::size_t at, std::string_view prefix,
                    bool ignore_case) {
    if (text.size() - at < prefix.size()) {
        return false;
    }
    const std::string_view window = text.substr(at, prefix.size());
    if (ignore_case) {
        return iequals(window, prefix);
    }
    // Resources share long prefixes (the ARN's) and differ near the end: the last byte refuses
    // most mismatches without a full comparison.
    return prefix.empty() || (window.back() == prefix.back() && window == prefix);
}

// One character for `?`: a whole UTF-8 sequence, so that `?` stands for one character of a
// topic however it is encoded.
std::size_t next_char(std::string_view text, std::size_t at) {
    ++at;
    while (at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0U) == 0x80U) {
        ++at;
    }
    return at;
}

}  // namespace

Pattern compile_pattern(std::string_view text, PatternSyntax syntax) {
    Pattern pattern;
    pattern.source = std::string(text);
    std::string literal;
    std::size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        if (syntax.variables && c == '$' && i + 1 < text.size() && text[i + 1] == '{') {
            const std::size_t close = text.find('}', i + 2);
            if (close != std::string_view::npos) {
                const std::string_view inner = text.substr(i + 2, close - i - 2);
                // ${*}, ${?} and ${$} stand for the characters themselves (reference §4.4).
                if (inner == "*" || inner == "?" || inner == "$") {
                    literal += inner;
                } else {
                    flush_literal(pattern, literal);
                    Piece piece;
                    piece.kind = Piece::Kind::variable;
                    piece.var = pattern.variables.size();
                    pattern.variables.push_back(parse_variable(inner));
                    pattern.pieces.push_back(std::move(piece));
                }
                i = close + 1;
                continue;
            }
            // An unterminated `${` is literal text, as IAM leaves text it cannot read.
        }
        if (syntax.wildcards && c == '*') {
            flush_literal(pattern, literal);
            pattern.has_wildcards = true;
            if (pattern.pieces.empty() || pattern.pieces.back().kind != Piece::Kind::any_sequence) {
                Piece piece;
                piece.kind = Piece::Kind::any_sequence;
                pattern.pieces.push_back(std::move(piece));
            }
        } else if (syntax.wildcards && c == '?') {
            flush_literal(pattern, literal);
            pattern.has_wildcards = true;
            Piece piece;
            piece.kind = Piece::Kind::any_char;
            pattern.pieces.push_back(std::move(piece));
        } else {
            literal += c;
        }
        ++i;
    }
    flush_literal(pattern, literal);
    if (syntax.arn) {
        // IAM ("Using wildcards in resource ARNs", reference §4.4): `*` and `?` work within
        // the colon-separated segments of an ARN; a `*` that is the last character of its
        // segment "can expand to match beyond the colon boundaries". The sixth segment (the
        // resource) is the rest of the ARN, colons included, so its wildcards match ':' too.
        constexpr std::size_t resource_segment = 6;
        std::size_t segment = 1;
        bool crossing_star_seen = false;
        for (std::size_t k = 0; k < pattern.pieces.size(); ++k) {
            Piece& piece = pattern.pieces[k];
            if (piece.kind == Piece::Kind::literal) {
                segment += static_cast<std::size_t>(std::count(piece.text.begin(), piece.text.end(), ':'));
                continue;
            }
            if (piece.kind == Piece::Kind::variable) {
                continue;
            }
            const bool segment_final =
                k + 1 == pattern.pieces.size() ||
                (pattern.pieces[k + 1].kind == Piece::Kind::literal && pattern.pieces[k + 1].text.front() == ':');
            piece.crosses_colon = segment >= resource_segment ||
                                  (piece.kind == Piece::Kind::any_sequence && segment_final);
            if (!piece.crosses_colon && crossing_star_seen) {
                pattern.full_search = true;
            }
            crossing_star_seen = crossing_star_seen ||
                                 (piece.kind == Piece::Kind::any_sequence && piece.crosses_colon);
        }
    }
    for (const Piece& piece : pattern.pieces) {
        if (piece.kind == Piece::Kind::literal) {
            pattern.min_length += piece.text.size();
        } else if (piece.kind == Piece::Kind::any_char) {
            ++pattern.min_length;
        }
    }
    pattern.exact = !pattern.has_wildcards && pattern.variables.empty();
    return pattern;
}

namespace {

/// Exhaustive glob for the rare ARN pattern where a `*` that crosses colons comes before a
/// wildcard that must not (the greedy loop in match() gives up a `*`'s extent only for the last
/// one). `reach[t]`: the pieces so far can match text[0, t). O(pieces x text).
bool full_search(const Pattern& pattern, std::string_view text, const RequestContext& context,
                 bool ignore_case, Scratch& scratch) {
    std::vector<char> reach(text.size() + 1, 0);
    std::vector<char> next(text.size() + 1, 0);
    reach[0] = 1;
    for (const Piece& piece : pattern.pieces) {
        std::fill(next.begin(), next.end(), 0);
        std::string_view unit = piece.text;
        if (piece.kind == Piece::Kind::variable) {
            unit = *resolve_single(pattern.variables[piece.var], context, scratch);
        }
        for (std::size_t t = 0; t <= text.size(); ++t) {
            if (reach[t] == 0) {
                continue;
            }
            switch (piece.kind) {
            case Piece::Kind::any_sequence:
                for (std::size_t u = t; u <= text.size(); u = next_char(text, u)) {
                    next[u] = 1;
                    if (u == text.size() || (!piece.crosses_colon && text[u] == ':')) {
                        break;
                    }
                }
                break;
            case Piece::Kind::any_char:
                if (t < text.size() && (piece.crosses_colon || text[t] != ':')) {
                    next[next_char(text, t)] = 1;
                }
                break;
            case Piece::Kind::literal:
            case Piece::Kind::variable:
                if (starts_with_at(text, t, unit, ignore_case)) {
                    next[t + unit.size()] = 1;
                }
                break;
            }
        }
        reach.swap(next);
    }
    return reach[text.size()] != 0;
}

}  // namespace

MatchResult match(const Pattern& pattern, std::string_view text, const RequestContext& context,
                  bool ignore_case, const VariableRef** missing) {
    if (pattern.exact) {
        // One literal (or nothing): a comparison, sizes first.
        const std::string_view literal = pattern.pieces.empty()
                                             ? std::string_view()
                                             : std::string_view(pattern.pieces.front().text);
        if (text.size() != literal.size()) {
            return MatchResult::no_match;
        }
        return (ignore_case ? iequals(text, literal) : text == literal) ? MatchResult::match
                                                                        : MatchResult::no_match;
    }
    Scratch scratch{};
    // Resolve every variable once up front: an unresolvable one decides the outcome whatever
    // the text, and the glob below can then rely on each resolving.
    for (const VariableRef& ref : pattern.variables) {
        if (!resolve_single(ref, context, scratch)) {
            if (missing != nullptr) {
                *missing = &ref;
            }
            return MatchResult::unresolved;
        }
    }
    // Only after the variables: an unresolvable one is reported whatever the text's length.
    if (text.size() < pattern.min_length) {
        return MatchResult::no_match;
    }

    if (pattern.full_search) {
        return full_search(pattern, text, context, ignore_case, scratch) ? MatchResult::match
                                                                          : MatchResult::no_match;
    }
    // Greedy glob with one backtrack point (the last `*`): an earlier `*` never needs to give
    // back what a later one can absorb. Literal runs and substituted values compare as units.
    const std::size_t n = pattern.pieces.size();
    std::size_t pi = 0;
    std::size_t ti = 0;
    std::size_t star_pi = n;  // none yet
    std::size_t star_ti = 0;
    while (true) {
        if (pi < n) {
            const Piece& piece = pattern.pieces[pi];
            if (piece.kind == Piece::Kind::any_sequence) {
                if (pi + 1 == n) {
                    return MatchResult::match;  // a trailing `*` takes the rest
                }
                star_pi = pi;
                star_ti = ti;
                ++pi;
                continue;
            }
            if (piece.kind == Piece::Kind::any_char) {
                if (ti < text.size() && (piece.crosses_colon || text[ti] != ':')) {
                    ti = next_char(text, ti);
                    ++pi;
                    continue;
                }
            } else {
                std::string_view unit = piece.text;
                if (piece.kind == Piece::Kind::variable) {
                    const std::optional<std::string_view> value =
                        resolve_single(pattern.variables[piece.var], context, scratch);
                    IOTSIM_ASSERT(value.has_value());
                    unit = *value;
                }
                if (starts_with_at(text, ti, unit, ignore_case)) {
                    ti += unit.size();
                    ++pi;
                    continue;
                }
            }
        } else if (ti == text.size()) {
            return MatchResult::match;
        }
        if (star_pi == n || star_ti >= text.size()) {
            return MatchResult::no_match;
        }
        if (!pattern.pieces[star_pi].crosses_colon && text[star_ti] == ':') {
            // The `*` would leave its ARN segment. Every earlier `*` cannot cross a colon either
            // (otherwise full_search): it is in an earlier segment, its extent forced by the ':'
            // after it, or in this one, and this one absorbs what it could. No match.
            return MatchResult::no_match;
        }
        star_ti = next_char(text, star_ti);
        ti = star_ti;
        pi = star_pi + 1;
    }
}

bool substitute(const Pattern& pattern, const RequestContext& context, std::string& out,
                const VariableRef** missing) {
    Scratch scratch{};
    out.clear();
    for (const Piece& piece : pattern.pieces) {
        switch (piece.kind) {
        case Piece::Kind::literal:
            out += piece.text;
            break;
        case Piece::Kind::any_sequence:
            out += '*';
            break;
        case Piece::Kind::any_char:
            out += '?';
            break;
        case Piece::Kind::variable: {
            const VariableRef& ref = pattern.variables[piece.var];
            const std::optional<std::string_view> value = resolve_single(ref, context, scratch);
            if (!value) {
                if (missing != nullptr) {
                    *missing = &ref;
                }
                return false;
            }
            out += *value;
            break;
        }
        }
    }
    return true;
}

}  // namespace iotsim::policy::detail
