#pragma once
//! \file
//! `override_params`: a step's `params:` override (or add to) the task's params
//! (Concourse's `OverrideParamsConfigSource`). A param the task file does not declare gives the warning
//! `NAME was defined in pipeline but missing from task file`.
//!
//! Step params are strings already: `step_param_string` converts a YAML value the way 6.7 does when it
//! parses a pipeline (through float64 JSON, then CoercedString: null → empty, 1e20 →
//! 100000000000000000000, lists and maps → compact JSON).

#include <string>
#include <utility>
#include <vector>

#include "taskstep/config/concepts.hpp"
#include "taskstep/core/json.hpp"
#include "taskstep/yaml/convert.hpp"
#include "taskstep/yaml/decode.hpp"

namespace taskstep::config {

//! The environment string Concourse 6.7 makes of a pipeline step's param value.
inline result<std::string> step_param_string(value v) {
  if (auto r = yaml::stringify_keys(v); !r) return fail(r.error().prefixed("error converting YAML to JSON: "));
  if (auto json = to_json(v); !json) return fail(json.error().prefixed("error converting YAML to JSON: "));
  yaml::sanitize_utf8(v);
  value go = yaml::to_go_interface(v);
  if (auto r = yaml::json_to_yaml_roundtrip(go); !r) return fail(r.error());  // -0 → 0, as the pipeline parse does
  return yaml::coerced_string(go);
}

//! Decorator: fetches from `Inner`, then sets every step param. Models `config_source`.
template <class Inner>
class override_params_source {
  static_assert(config_source<Inner>, TASKSTEP_CONFIG_SOURCE_MESSAGE);

 public:
  override_params_source(Inner inner, task_env params) : inner_(std::move(inner)), params_(std::move(params)) {}

  result<task_config> fetch() {
    auto config = inner_.fetch();
    if (!config) return config;
    for (const auto& [key, val] : params_) {
      if (!config->params.count(key)) warnings_.push_back(key + " was defined in pipeline but missing from task file");
      config->params[key] = val;
    }
    return config;
  }
  [[nodiscard]] std::vector<std::string> warnings() const {
    auto out = inner_.warnings();
    out.insert(out.end(), warnings_.begin(), warnings_.end());
    return out;
  }

 private:
  Inner inner_;
  task_env params_;
  std::vector<std::string> warnings_;
};

//! Pipe adaptor: `source | override_params(params)`.
inline auto override_params(task_env params) {
  return [params = std::move(params)]<class S>(S inner) mutable {
    return override_params_source<S>(std::move(inner), std::move(params));
  };
}

}  // namespace taskstep::config
