#pragma once
// What execute.cpp (flags, config, vars) hands to the one worker-specific file that runs the build:
// execute_local.cpp, execute_oci.cpp or execute_slurm.cpp each instantiate the step with one worker
// type (keeping each translation unit's compile time and memory small).

#include <chrono>
#include <filesystem>
#include <stop_token>
#include <string>
#include <utility>

#include "delegate.hpp"
#include "execute.hpp"
#include "taskstep/build/outcome.hpp"
#include "taskstep/build/request.hpp"
#include "taskstep/config/config.hpp"
#include "taskstep/step/task_step.hpp"

namespace taskstep_cli {

// The task file as the step reads it: env-overridden params, --param, ((vars)) and secrets, validated.
using cli_vars = decltype(taskstep::vars::multi_vars(
    std::declval<taskstep::vars::static_vars_list>(),
    std::declval<taskstep::vars::tracked_vars<taskstep::vars::static_vars>>()));
using cli_source = decltype(taskstep::config::static_source(std::declval<taskstep::task_config>()) |
                            taskstep::config::override_params(std::declval<taskstep::task_env>()) |
                            taskstep::config::override_params(std::declval<taskstep::task_env>()) |
                            taskstep::config::interpolate(std::declval<cli_vars>()) | taskstep::config::validating());

struct execute_call {
  const execute_args& args;
  taskstep::build::one_off_request request;
  taskstep::task_config config;  // as read (args appended), for fly's checks before interpolation
  taskstep::step::step_options options;
  std::chrono::milliseconds grace{10000};
  std::filesystem::path cache_root;
  cli_delegate& delegate;
  std::stop_token stop;
};

taskstep::build::build_outcome execute_local(execute_call& call, cli_source source);
taskstep::build::build_outcome execute_oci(execute_call& call, cli_source source);
taskstep::build::build_outcome execute_slurm(execute_call& call, cli_source source);

// Why the oci worker cannot run here with these flags (empty: it can).
std::string oci_unavailable(const execute_args& args);

}  // namespace taskstep_cli
