#pragma once
// Small helpers for the vars/ and config/ tests: build values from YAML text, show values as JSON,
// evaluate a YAML template, and get an error's text. Header-only; no Catch2 dependency.

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "taskstep/core/json.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/core/value.hpp"
#include "taskstep/vars/template.hpp"
#include "taskstep/vars/variables.hpp"
#include "taskstep/yaml/parse.hpp"

namespace taskstep::test {

//! The go-yaml (non-strict) tree of `text`; throws on a syntax error so the test reports it.
inline value yaml_value(std::string_view text) {
  auto v = yaml::parse(text, /*strict=*/false);
  if (!v) throw std::runtime_error("test YAML does not parse: " + v.error().message());
  return *v;
}

//! Compact JSON of a value (maps sorted), or a marker when it cannot be encoded.
inline std::string json_of(const value& v) {
  auto j = to_json(v);
  return j ? *j : "<json error: " + j.error().message() + ">";
}

//! Static variables from a YAML map text, e.g. `a: 1\nm: {x: y}` (values keep their go-yaml types).
inline vars::static_vars static_from_yaml(std::string_view text) {
  vars::static_vars out;
  const value tree = yaml_value(text);
  if (tree.is_null()) return out;
  for (const auto& e : tree.as_mapping()) {
    if (!e.key.is_string()) throw std::runtime_error("test vars need string keys (YAML 1.1 reads y/n/on/off as bools)");
    out.set(e.key.as_string(), e.val);
  }
  return out;
}

//! Evaluates the YAML template `text` with `vars`.
template <vars::variable_source V>
result<value> eval_yaml(std::string_view text, const V& vars, vars::evaluate_options opts = {}) {
  return vars::evaluate(yaml_value(text), vars, opts);
}

//! The JSON of a successful result, or `error: <message>`: one string to compare in a CHECK.
inline std::string outcome(const result<value>& r) {
  if (!r) return "error: " + r.error().message();
  return json_of(*r);
}

//! The message of a failed result, or `<no error>` when it succeeded.
template <class T>
std::string error_text(const result<T>& r) {
  return r ? std::string("<no error>") : r.error().message();
}

}  // namespace taskstep::test
