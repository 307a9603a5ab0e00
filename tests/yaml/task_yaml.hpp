#pragma once
// Small helpers for the yaml/ tests: run a task file through `parse_task_config` and look at one
// aspect of the outcome, so each TEST_CASE reads as "this YAML gives that".

#include <string>
#include <string_view>
#include <vector>

#include "taskstep/yaml/decode.hpp"

namespace taskstep::test {

// The error message `parse_task_config` gives, or "<no error>" when the text is accepted.
inline std::string error_of(std::string_view text) {
  auto r = yaml::parse_task_config(text);
  return r ? std::string("<no error>") : r.error().message();
}

// A valid task file with `extra` appended at the top level.
inline std::string with_base(std::string_view extra) {
  return "platform: linux\nrun: {path: x}\n" + std::string(extra);
}

// The config as `json.Marshal` would write it, or "error: <message>".
inline std::string json_of(std::string_view text) {
  auto r = yaml::parse_task_config(text);
  return r ? yaml::to_json(*r) : "error: " + r.error().message();
}

// The value one param gets, or "error: <message>". `yaml_value` is written after `NAME: `.
inline std::string param_of(std::string_view yaml_value) {
  auto r = yaml::parse_task_config(with_base("params:\n  NAME: " + std::string(yaml_value) + "\n"));
  if (!r) return "error: " + r.error().message();
  auto it = r->params.find("NAME");
  return it == r->params.end() ? std::string("<absent>") : it->second;
}

// The environment of a task file, or a one-element list holding "error: <message>".
inline std::vector<std::string> env_of(std::string_view text) {
  auto r = yaml::parse_task_config(text);
  if (!r) return {"error: " + r.error().message()};
  return environment(r->params);
}

// The platform a task file ends up with (a string field), or "error: <message>".
inline std::string platform_of(std::string_view yaml_value) {
  auto r = yaml::parse_task_config("platform: " + std::string(yaml_value) + "\nrun: {path: x}\n");
  return r ? r->platform : "error: " + r.error().message();
}

}  // namespace taskstep::test
