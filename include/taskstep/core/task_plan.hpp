#pragma once
//! \file
//! The task plan: what a pipeline's task step (or `fly execute`) asks for, before any config is
//! fetched (Concourse's `atc.TaskPlan` plus the build metadata the step needs).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "taskstep/core/task_config.hpp"

namespace taskstep {

//! One task step of a build.
struct task_plan {
  std::string name = "one-off";          //!< step name: decides the working directory and cache keys
  bool privileged = false;
  std::vector<std::string> tags;         //!< worker tags the step needs
  std::optional<task_config> config;     //!< embedded `config:`
  std::string config_path;               //!< `file:` (`artifact/path.yml`), when there is no config
  std::map<std::string, std::string> input_mapping;   //!< task input name → artifact name
  std::map<std::string, std::string> output_mapping;  //!< task output name → artifact name
  std::string image;                     //!< step `image:`: name of an image artifact
  std::string team = "main";
  std::string job;                       //!< empty for one-off builds (then caches are never saved)
  std::uint64_t build_id = 0;
};

}  // namespace taskstep
