#pragma once
//! \file
//! `static_source`: the config embedded in the plan (`config:`); an absent config is an empty one,
//! which then fails validation (Concourse's `StaticConfigSource`).

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "taskstep/config/concepts.hpp"

namespace taskstep::config {

//! Returns a copy of its config. Models `config_source`.
class static_source {
 public:
  static_source() = default;
  explicit static_source(std::optional<task_config> config) : config_(std::move(config)) {}

  result<task_config> fetch() { return config_ ? *config_ : task_config{}; }
  [[nodiscard]] std::vector<std::string> warnings() const { return {}; }

 private:
  std::optional<task_config> config_;
};

static_assert(config_source<static_source>);

}  // namespace taskstep::config
