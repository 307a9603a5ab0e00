#pragma once
// What execute.cpp (flags, task file, vars, printing) hands to the one worker-specific file that runs
// the build: execute_local.cpp, execute_oci.cpp or execute_slurm.cpp each instantiate the step with
// one worker type. The config chain and the printing stay behind `task_source` and `events`, so
// each of those files compiles the step and its worker, nothing else.

#include <chrono>
#include <filesystem>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "args.hpp"
#include "taskstep/build/outcome.hpp"
#include "taskstep/build/progress.hpp"
#include "taskstep/build/request.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/core/task_config.hpp"

namespace taskstep_cli {

// The task file as the step reads it (env-overridden params, --param, ((vars)), secrets, validated);
// a config source.
struct task_source {
  std::function<taskstep::result<taskstep::task_config>()> fetch_config;
  std::function<std::vector<std::string>()> current_warnings;
  taskstep::result<taskstep::task_config> fetch() { return fetch_config(); }
  [[nodiscard]] std::vector<std::string> warnings() const { return current_warnings(); }
};

// The step's delegate as execute.cpp implements it (human or --json printing).
class events {
 public:
  virtual void initializing(const taskstep::task_config& c) = 0;
  virtual void selected_worker(std::string_view name) = 0;
  virtual void starting(const taskstep::task_config& c) = 0;
  virtual void finished(int status) = 0;
  virtual void errored(std::string_view message) = 0;
  virtual void out(std::string_view s) = 0;
  virtual void err(std::string_view s) = 0;
  virtual void progress(const taskstep::build::progress_report& r) = 0;  // staging inputs, copying outputs

 protected:
  ~events() = default;
};

struct execute_call {
  const execute_args& args;
  taskstep::build::one_off_request request;
  taskstep::task_config config;  // as read (args appended), for fly's checks before interpolation
  taskstep::step::step_options options;
  std::chrono::milliseconds grace{10000};
  std::filesystem::path cache_root;
  events& delegate;
  std::stop_token stop;       // the first Ctrl-C / SIGTERM (or EPIPE on stdout): a graceful abort
  std::stop_token immediate;  // the second: the workers skip the grace (build/interrupts.hpp)
};

taskstep::build::build_outcome execute_local(execute_call& call, task_source source);
taskstep::build::build_outcome execute_oci(execute_call& call, task_source source);
taskstep::build::build_outcome execute_slurm(execute_call& call, task_source source);

// Why the oci worker cannot run here with these flags (empty: it can).
std::string oci_unavailable(const execute_args& args);

}  // namespace taskstep_cli
