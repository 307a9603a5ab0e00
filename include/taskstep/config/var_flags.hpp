#pragma once
//! \file
//! Variables given on a command line, as `fly execute` reads them: `-v NAME=STRING`,
//! `-y NAME=YAML` (go-yaml typed) and `-l FILE` (read through sigs.k8s.io/yaml, so numbers become
//! float64 and maps string-keyed).

#include <string>
#include <string_view>
#include <utility>

#include <fmt/core.h>

#include "taskstep/core/result.hpp"
#include "taskstep/vars/variables.hpp"
#include "taskstep/yaml/convert.hpp"
#include "taskstep/yaml/decode.hpp"

namespace taskstep::config {

//! A parsed `NAME=...` flag value.
struct var_pair {
  std::string name;
  value val;
};

//! `-v NAME=STRING`; `invalid input pair 'x' (must be name=value)`.
inline result<var_pair> parse_var_pair(std::string_view arg) {
  const auto eq = arg.find('=');
  if (eq == std::string_view::npos)
    return fail(errc::usage, fmt::format("invalid input pair '{}' (must be name=value)", arg));
  return var_pair{std::string(arg.substr(0, eq)), value(std::string(arg.substr(eq + 1)))};
}

//! `-y NAME=YAML`: the value parsed by go-yaml.
inline result<var_pair> parse_yaml_var_pair(std::string_view arg) {
  auto pair = parse_var_pair(arg);
  if (!pair) return pair;
  auto v = yaml::parse(pair->val.as_string(), /*strict=*/false);
  if (!v) return fail(errc::usage, v.error().message());
  pair->val = std::move(*v);
  return pair;
}

//! A YAML vars file (`-l`): a map of name → value, as fly loads it into `vars.StaticVariables`.
inline result<vars::static_vars> load_vars_file(std::string_view text) {
  auto tree = yaml::parse(text, /*strict=*/false);
  if (!tree) return fail(errc::usage, fmt::format("error converting YAML to JSON: {}", tree.error().message()));
  if (auto r = yaml::stringify_keys(*tree); !r) return fail(r.error().prefixed("error converting YAML to JSON: "));
  if (auto json = to_json(*tree); !json) return fail(json.error().prefixed("error converting YAML to JSON: "));
  vars::static_vars out;
  if (tree->is_null()) return out;
  if (!tree->is_mapping())
    return fail(errc::usage, fmt::format("error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} "
                                         "into Go value of type vars.StaticVariables",
                                         yaml::json_kind(*tree)));
  yaml::sanitize_utf8(*tree);
  const value go = yaml::to_go_interface(*tree);
  for (const auto& e : go.as_mapping()) out.set(e.key.as_string(), e.val);
  return out;
}

}  // namespace taskstep::config
