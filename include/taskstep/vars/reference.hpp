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

#include "taskstep/core/detail/unicode_letters.hpp"
#include "taskstep/core/json.hpp"

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

//! `source:path` or `path`: how Concourse names a reference in "unused vars" reports.
inline std::string identifier(const var_reference& ref) {
  return ref.source.empty() ? ref.path : ref.source + ":" + ref.path;
}

}  // namespace taskstep::vars
