#pragma once
// Helpers for the config/ tests: a task config from YAML text without validation, and a config source
// that fails or counts its fetches (to watch what the decorators do with their inner source).

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/vars_support.hpp"
#include "taskstep/config/concepts.hpp"
#include "taskstep/core/task_config.hpp"
#include "taskstep/yaml/decode.hpp"

namespace taskstep::test {

//! Decodes `text` as a task config (strict decode, no validation); throws if it does not decode.
inline task_config config_from_yaml(std::string_view text) {
  auto c = yaml::decode_task_config(yaml_value(text));
  if (!c) throw std::runtime_error("test config does not decode: " + c.error().message());
  return *c;
}

//! A config source that returns a fixed result and fixed warnings.
class canned_source {
 public:
  explicit canned_source(result<task_config> r, std::vector<std::string> warnings = {})
      : result_(std::move(r)), warnings_(std::move(warnings)) {}
  result<task_config> fetch() { return result_; }
  [[nodiscard]] std::vector<std::string> warnings() const { return warnings_; }

 private:
  result<task_config> result_;
  std::vector<std::string> warnings_;
};
static_assert(config::config_source<canned_source>);

}  // namespace taskstep::test
