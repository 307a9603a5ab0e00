#pragma once
//! \file
//! `to_yaml_text`: a task config as YAML, written with yaml-cpp's emitter (`taskstep render --yaml`).
//! Keys come in the order of the JSON output (`yaml::to_json`: struct fields in Go's declaration order,
//! map keys sorted bytewise) and every scalar reads back, through the libyaml/go-yaml path, as the same
//! JSON: a string go-yaml would read as another type or text (`true`, `1`, `~`, `a: b`) is
//! double-quoted. Part of the `taskstep::yaml_cpp` CMake target.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "taskstep/core/json.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/core/task_config.hpp"
#include "taskstep/core/value.hpp"
#include "taskstep/yaml/decode.hpp"
#include "taskstep/yaml/parse.hpp"

namespace taskstep::config {

namespace detail {

// Whether go-yaml reads `s`, written as a plain scalar, back as the string `s` (asked of the libyaml
// parser itself); yaml-cpp's emitter still quotes what is not plain-safe in its own eyes.
inline bool reads_back_as_string(const std::string& s) {
  auto back = yaml::parse(s);
  return back && back->is_string() && back->as_string() == s;
}

inline void emit_string(YAML::Emitter& out, const std::string& s) {
  if (reads_back_as_string(s)) out << s;
  else out << YAML::DoubleQuoted << s;
}

inline result<void> emit(YAML::Emitter& out, const value& v) {
  switch (v.type()) {
    case value::kind::string: emit_string(out, v.as_string()); return {};
    case value::kind::sequence:
      out << YAML::BeginSeq;
      for (const auto& e : v.as_sequence())
        if (auto r = emit(out, e); !r) return r;
      out << YAML::EndSeq;
      return {};
    case value::kind::mapping: {
      // As write_json: keys stringified, later duplicates win, sorted unless the map is a struct.
      std::vector<std::pair<std::string, const value*>> entries;
      for (const auto& e : v.as_mapping()) {
        auto key = json_key_string(e.key, e.val);
        if (!key) return fail(key.error());
        auto same = std::find_if(entries.begin(), entries.end(), [&](const auto& x) { return x.first == *key; });
        if (same != entries.end()) same->second = &e.val;
        else entries.emplace_back(std::move(*key), &e.val);
      }
      if (v.origin != value::map_kind::record)
        std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      out << YAML::BeginMap;
      for (const auto& [key, val] : entries) {
        out << YAML::Key;
        emit_string(out, key);
        out << YAML::Value;
        if (auto r = emit(out, *val); !r) return r;
      }
      out << YAML::EndMap;
      return {};
    }
    case value::kind::null: out << YAML::Null; return {};  // as a string, yaml-cpp would quote "null"
    case value::kind::boolean: out << std::get<bool>(v.data); return {};
    default: {
      // Numbers as Go's JSON writes them: each is also a plain YAML scalar of that type (1e+21, 1.5).
      auto text = to_json(v);
      if (!text) return fail(text.error());
      out << *text;
      return {};
    }
  }
}

}  // namespace detail

//! `config` as a YAML document (ends with a newline), with the JSON output's keys and order. Errors
//! are those of `to_json` (`json: unsupported value: NaN`) or yaml-cpp's, as values.
template <class D = dialect::concourse_6_7>
[[nodiscard]] result<std::string> to_yaml_text(const task_config& config) noexcept {
  try {
    YAML::Emitter out;
    if (auto r = detail::emit(out, yaml::encode_task_config<D>(config)); !r) return fail(r.error());
    if (!out.good()) return fail(errc::io, "yaml-cpp: " + out.GetLastError());
    return std::string(out.c_str()) + "\n";
  } catch (const std::exception& e) {
    return fail(errc::io, std::string("yaml-cpp: ") + e.what());
  }
}

}  // namespace taskstep::config
