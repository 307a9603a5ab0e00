#pragma once
//! \file
//! `((var))` references as Concourse 6.7 finds and splits them.
//!
//! A reference is `((` + one or more of `-/.:@"`, ASCII word characters or Unicode letters + `))`
//! (6.7's `\(\((([-/\.\w\pL]+\:)?[-/\.:@"\\w\\pL]+)\)\)`); anything else, e.g. `((a b))` or `((!x))`, is
//! plain text. The name splits into an optional `source:` (text before the first `:`, if not at index 0),
//! a path (the first dot-separated segment, quotes removed) and fields (the other segments, verbatim);
//! dots inside `"…"` do not split.

#include <string>
#include <string_view>
#include <vector>

#include "taskstep/core/detail/go_format.hpp"
#include "taskstep/core/dialect.hpp"
#include "taskstep/core/detail/unicode_letters.hpp"
#include "taskstep/core/json.hpp"
#include "taskstep/core/result.hpp"

namespace taskstep::vars {

//! One parsed reference (`vars.VariableReference`).
struct var_reference {
  std::string name;    //!< the whole text between `((` and `))`
  std::string source;  //!< before the first `:`; empty when there is none
  std::string path;    //!< the variable's name in its source
  std::vector<std::string> fields;  //!< map keys to walk into the value
};

namespace detail {

using taskstep::detail::is_unicode_letter;

// Length of the reference-name character at s[i] (0 if it is not one). `allow_extra` admits `:@"`.
inline std::size_t name_char(std::string_view s, std::size_t i, bool allow_extra) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    const bool word = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (word || c == '-' || c == '/' || c == '.') return 1;
    if (allow_extra && (c == ':' || c == '@' || c == '"')) return 1;
    return 0;
  }
  std::size_t j = i;
  const long cp = taskstep::detail::decode_utf8(s, j);
  if (cp < 0 || !is_unicode_letter(static_cast<std::uint32_t>(cp))) return 0;
  return j - i;
}

}  // namespace detail

//! One occurrence of a reference in a string.
struct reference_match {
  std::size_t begin;  //!< index of the opening `((`
  std::size_t end;    //!< one past the closing `))`
  std::string name;
};

//! Every reference in `s`, leftmost first, non-overlapping (Go's `FindAllSubmatch`).
inline std::vector<reference_match> find_references(std::string_view s) {
  std::vector<reference_match> out;
  std::size_t i = 0;
  while (i + 4 < s.size() + 1) {
    if (s[i] != '(' || i + 1 >= s.size() || s[i + 1] != '(') {
      ++i;
      continue;
    }
    std::size_t j = i + 2;
    while (j < s.size()) {
      const std::size_t n = detail::name_char(s, j, true);
      if (n == 0) break;
      j += n;
    }
    if (j > i + 2 && j + 1 < s.size() && s[j] == ')' && s[j + 1] == ')') {
      out.push_back({i, j + 2, std::string(s.substr(i + 2, j - i - 2))});
      i = j + 2;
    } else {
      ++i;
    }
  }
  return out;
}

//! True when the whole of `s` is exactly one reference (its value then keeps its type).
inline bool is_whole_reference(std::string_view s) {
  auto refs = find_references(s);
  return refs.size() == 1 && refs[0].begin == 0 && refs[0].end == s.size();
}

namespace detail {

// Go's pathRegex `("[^"]*"|[^\.]+)+`, FindAllString.
inline std::vector<std::string> split_path(std::string_view s) {
  std::vector<std::string> pieces;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t j = i;
    while (j < s.size()) {
      if (s[j] == '"') {
        const auto close = s.find('"', j + 1);
        if (close != std::string_view::npos) {
          j = close + 1;
          continue;
        }
      }
      if (s[j] == '.') break;
      while (j < s.size() && s[j] != '.') {
        // a quote met inside an unquoted run is an ordinary character
        ++j;
      }
    }
    if (j == i) {
      ++i;  // a dot: no match starts here
      continue;
    }
    pieces.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return pieces;
}

}  // namespace detail

//! Splits a reference name into source, path and fields (`vars.parseVarName` of 6.7).
inline var_reference parse_reference(std::string_view name) {
  var_reference ref;
  ref.name = std::string(name);
  std::string_view rest = name;
  const auto colon = name.find(':');
  if (colon != std::string_view::npos && colon > 0) {
    ref.source = std::string(name.substr(0, colon));
    rest = name.substr(colon + 1);
  }
  auto pieces = detail::split_path(rest);
  if (!pieces.empty()) {
    for (char c : pieces[0])
      if (c != '"') ref.path += c;
    ref.fields.assign(pieces.begin() + 1, pieces.end());
  }
  return ref;
}

using taskstep::reference_syntax;  // core/dialect.hpp

namespace detail {

// findUnquoted: the byte index of the first `r` outside `"…"`.
inline std::size_t find_unquoted(std::string_view s, char r) {
  bool quoted = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == r && !quoted) return i;
    if (s[i] == '"') quoted = !quoted;
  }
  return std::string_view::npos;
}

inline std::string trim_unquote(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  std::string out;
  for (char c : s)
    if (c != '"') out += c;
  return out;
}

// 8.2.5 cleanPath of a relative segment: path.Clean("/" + p) without the leading slash.
inline std::string clean_segment(std::string_view p) {
  const bool abs = !p.empty() && p[0] == '/';
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (i <= p.size()) {
    std::size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    const std::string_view part = p.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out = abs ? "/" : "";
  for (std::size_t k = 0; k < parts.size(); ++k) out += (k ? "/" : "") + std::string(parts[k]);
  return out;
}

}  // namespace detail

//! `vars.ParseReference` of 7.x and 8.2.5: `invalid var 'x': empty field` (also a segment that is only
//! traversal, 8.2.5), `source must not be quoted` (7.x), `contains unclosed quotes` (8.2.5).
inline result<var_reference> parse_reference(std::string_view name, reference_syntax syntax) {
  if (syntax == reference_syntax::concourse_6_7) return parse_reference(name);
  const bool v825 = syntax == reference_syntax::concourse_8_2_5;
  const std::string quoted_name = std::string(name);
  var_reference ref;
  ref.name = quoted_name;
  std::string_view input = name;
  if (v825) {
    std::size_t quotes = 0;
    for (char c : input) quotes += c == '"';
    if (quotes % 2 != 0) return fail(errc::var_lookup, "invalid var '" + quoted_name + "': contains unclosed quotes");
  }
  if (const auto colon = detail::find_unquoted(input, ':'); colon != std::string_view::npos) {
    const std::string_view source = input.substr(0, colon);
    if (v825) {
      ref.source = detail::trim_unquote(source);
    } else {
      if (source.find('"') != std::string_view::npos)
        return fail(errc::var_lookup, "invalid var '" + quoted_name + "': source must not be quoted");
      ref.source = std::string(source);
    }
    input = input.substr(colon + 1);
  }
  std::vector<std::string> fields;
  bool more = true;
  while (more) {
    const auto dot = detail::find_unquoted(input, '.');
    more = dot != std::string_view::npos;
    std::string field = detail::trim_unquote(more ? input.substr(0, dot) : input);
    if (v825) field = detail::clean_segment(field);
    if (field.empty()) return fail(errc::var_lookup, "invalid var '" + quoted_name + "': empty field");
    fields.push_back(std::move(field));
    if (more) input = input.substr(dot + 1);
  }
  ref.path = fields[0];
  ref.fields.assign(fields.begin() + 1, fields.end());
  return ref;
}

//! `Reference.String()` (7.x): `source:path.field`, a segment holding any of `,.:/ ` Go-quoted. Names a
//! reference in `undefined vars` and field errors from 7.0.
inline std::string reference_string(const var_reference& ref) {
  auto seg = [](const std::string& s) {
    return s.find_first_of(",.:/ ") != std::string::npos ? taskstep::detail::go_quote(s) : s;
  };
  std::string out = ref.source.empty() ? std::string() : ref.source + ":";
  out += seg(ref.path);
  for (const auto& f : ref.fields) out += "." + seg(f);
  return out;
}

//! `source:path` or `path`: how Concourse names a reference in "unused vars" reports.
inline std::string identifier(const var_reference& ref) {
  return ref.source.empty() ? ref.path : ref.source + ":" + ref.path;
}

}  // namespace taskstep::vars
