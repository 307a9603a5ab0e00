#pragma once
//! \file
//! JSON text exactly as Go's encoding/json writes it (`json.Marshal`): compact, map keys sorted,
//! `<`, `>`, `&`, U+2028 and U+2029 escaped, floats in Go's shortest form. Concourse renders list and
//! map params with it, so the same bytes reach the environment.

#include <algorithm>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "taskstep/core/detail/go_format.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/core/value.hpp"

namespace taskstep {

namespace detail {

// Decodes one UTF-8 sequence at s[i]; returns the code point and advances i, or -1 for an invalid byte.
inline long decode_utf8(std::string_view s, std::size_t& i) {
  const auto c0 = static_cast<unsigned char>(s[i]);
  int n = c0 < 0x80 ? 1 : (c0 >> 5) == 6 ? 2 : (c0 >> 4) == 14 ? 3 : (c0 >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + static_cast<std::size_t>(n) > s.size()) {
    ++i;
    return -1;
  }
  long cp = n == 1 ? c0 : n == 2 ? (c0 & 0x1f) : n == 3 ? (c0 & 0x0f) : (c0 & 0x07);
  for (int k = 1; k < n; ++k) {
    const auto c = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    if ((c >> 6) != 2) {
      ++i;
      return -1;
    }
    cp = (cp << 6) | (c & 0x3f);
  }
  static constexpr long min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_for_len[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    ++i;
    return -1;
  }
  i += static_cast<std::size_t>(n);
  return cp;
}

}  // namespace detail

//! Appends `s` as a JSON string literal with Go's escaping (HTML-safe, invalid UTF-8 → U+FFFD).
inline void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
        out += static_cast<char>(c);
      } else if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == '\t') {
        out += "\\t";
      } else {
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
      }
      continue;
    }
    const std::size_t start = i;
    const long cp = detail::decode_utf8(s, i);
    if (cp < 0) {
      out += "\\ufffd";
    } else if (cp == 0x2028 || cp == 0x2029) {
      out += cp == 0x2028 ? "\\u2028" : "\\u2029";
    } else {
      out.append(s.substr(start, i - start));
    }
  }
  out += '"';
}

//! Go's `%#v` of a go-yaml value, used in a few error messages. Inside containers a nil is
//! `interface {}(nil)`.
inline std::string go_sharp_v(const value& v, bool in_container = false) {
  if (in_container && v.is_null()) return "interface {}(nil)";
  switch (v.type()) {
    case value::kind::null: return "<nil>";
    case value::kind::boolean: return std::get<bool>(v.data) ? "true" : "false";
    case value::kind::integer: return std::to_string(std::get<std::int64_t>(v.data));
    case value::kind::unsigned_integer: {
      static constexpr char hex[] = "0123456789abcdef";
      auto u = std::get<std::uint64_t>(v.data);
      std::string digits;
      do {
        digits.insert(digits.begin(), hex[u & 15]);
        u >>= 4;
      } while (u != 0);
      return "0x" + digits;
    }
    case value::kind::floating: return detail::format_g(std::get<double>(v.data));
    case value::kind::string: return detail::go_quote(v.as_string());
    case value::kind::sequence: {
      std::string out = "[]interface {}{";
      bool first = true;
      for (const auto& e : v.as_sequence()) {
        if (!first) out += ", ";
        first = false;
        out += go_sharp_v(e, true);
      }
      return out + "}";
    }
    case value::kind::mapping: {
      // fmt prints maps sorted by key: nil first, then by type (bool, float64, int, string, uint64 — the
      // order Go's linker happens to give the type descriptors), then by value.
      std::vector<const map_entry*> entries;
      for (const auto& e : v.as_mapping()) entries.push_back(&e);
      auto rank = [](const value& k) {
        switch (k.type()) {
          case value::kind::null: return 0;
          case value::kind::boolean: return 1;
          case value::kind::floating: return 2;
          case value::kind::integer: return 3;
          case value::kind::string: return 4;
          case value::kind::unsigned_integer: return 5;
          default: return 6;
        }
      };
      std::stable_sort(entries.begin(), entries.end(), [&](const map_entry* a, const map_entry* b) {
        const int ra = rank(a->key), rb = rank(b->key);
        if (ra != rb) return ra < rb;
        switch (a->key.type()) {
          case value::kind::boolean: return !std::get<bool>(a->key.data) && std::get<bool>(b->key.data);
          case value::kind::floating: return std::get<double>(a->key.data) < std::get<double>(b->key.data);
          case value::kind::integer: return std::get<std::int64_t>(a->key.data) < std::get<std::int64_t>(b->key.data);
          case value::kind::unsigned_integer:
            return std::get<std::uint64_t>(a->key.data) < std::get<std::uint64_t>(b->key.data);
          case value::kind::string: return a->key.as_string() < b->key.as_string();
          default: return false;
        }
      });
      std::string out = std::string(go_type_name(v)) + "{";
      bool first = true;
      for (const auto* ep : entries) {
        const auto& e = *ep;
        if (!first) out += ", ";
        first = false;
        out += go_sharp_v(e.key, true) + ":" + go_sharp_v(e.val, true);
      }
      return out + "}";
    }
  }
  return {};
}

//! How sigs.k8s.io/yaml turns a YAML map key into a JSON object key.
inline result<std::string> json_key_string(const value& key, const value& val) {
  switch (key.type()) {
    case value::kind::string: return key.as_string();
    case value::kind::integer: return std::to_string(std::get<std::int64_t>(key.data));
    case value::kind::boolean: return std::string(std::get<bool>(key.data) ? "true" : "false");
    case value::kind::floating: {
      std::string s = detail::format_float32_g(std::get<double>(key.data));
      if (s == "+Inf") s = ".inf";
      else if (s == "-Inf") s = "-.inf";
      else if (s == "NaN") s = ".nan";
      return s;
    }
    default: {
      std::string type = key.is_null() ? "%!s(<nil>)" : std::string(go_type_name(key));
      return fail(errc::decode, "Unsupported map key of type: " + type + ", key: " + go_sharp_v(key) +
                                    ", value: " + go_sharp_v(val));
    }
  }
}

namespace detail {

inline bool write_json(std::string& out, const value& v, std::string& err) {
  switch (v.type()) {
    case value::kind::null: out += "null"; return true;
    case value::kind::boolean: out += std::get<bool>(v.data) ? "true" : "false"; return true;
    case value::kind::integer: out += std::to_string(std::get<std::int64_t>(v.data)); return true;
    case value::kind::unsigned_integer: out += std::to_string(std::get<std::uint64_t>(v.data)); return true;
    case value::kind::floating: {
      const double d = std::get<double>(v.data);
      if (!std::isfinite(d)) {
        err = "json: unsupported value: " + special_float(d);
        return false;
      }
      out += format_json_float(d);
      return true;
    }
    case value::kind::string: append_json_string(out, v.as_string()); return true;
    case value::kind::sequence: {
      out += '[';
      bool first = true;
      for (const auto& e : v.as_sequence()) {
        if (!first) out += ',';
        first = false;
        if (!write_json(out, e, err)) return false;
      }
      out += ']';
      return true;
    }
    case value::kind::mapping: {
      // Keys are stringified (later duplicates win, as in a Go map) and sorted bytewise.
      std::vector<std::pair<std::string, const value*>> entries;
      entries.reserve(v.as_mapping().size());
      for (const auto& e : v.as_mapping()) {
        auto key = json_key_string(e.key, e.val);
        if (!key) {
          err = key.error().message();
          return false;
        }
        entries.emplace_back(std::move(*key), &e.val);
      }
      if (v.origin != value::map_kind::record) {
        // Stable, so that of equal keys the last one is last in its run: keep that one.
        std::stable_sort(entries.begin(), entries.end(), [](auto& a, auto& b) { return a.first < b.first; });
        std::size_t kept = 0;
        for (std::size_t i = 0; i < entries.size(); ++i) {
          if (i + 1 < entries.size() && entries[i + 1].first == entries[i].first) continue;
          if (kept != i) entries[kept] = std::move(entries[i]);
          ++kept;
        }
        entries.resize(kept);
      } else if (entries.size() > 1) {
        // Struct fields keep their declaration order (a duplicate keeps the first place, the last value).
        std::unordered_map<std::string, std::size_t> first;
        std::vector<std::pair<std::string, const value*>> unique;
        unique.reserve(entries.size());
        for (auto& p : entries) {
          auto [it, inserted] = first.emplace(p.first, unique.size());
          if (inserted) unique.push_back(std::move(p));
          else unique[it->second].second = p.second;
        }
        entries = std::move(unique);
      }
      out += '{';
      bool first = true;
      for (const auto& [k, val] : entries) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, k);
        out += ':';
        if (!write_json(out, *val, err)) return false;
      }
      out += '}';
      return true;
    }
  }
  return true;
}

}  // namespace detail

//! `json.Marshal(v)`: compact JSON (maps sorted by key, records in field order), or Go's error for NaN/Inf (`json: unsupported value: NaN`).
inline result<std::string> to_json(const value& v) {
  std::string out;
  std::string err;
  if (!detail::write_json(out, v, err)) return fail(errc::decode, err);
  return out;
}

}  // namespace taskstep
