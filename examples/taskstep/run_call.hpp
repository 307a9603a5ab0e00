#pragma once
// What run.cpp (flags, pipeline, vars, printing) hands to the one worker-specific file that runs the
// job's build: run_local.cpp or run_oci.cpp each instantiate job::run_job with one worker type. The
// printing stays behind `run_events`, so each of those files compiles the build and its worker only.

#include <chrono>
#include <filesystem>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "args.hpp"
#include "taskstep/build/outcome.hpp"
#include "taskstep/job/build.hpp"

namespace taskstep_cli {

// The job build's delegate as run.cpp implements it (human or --json printing).
class run_events {
 public:
  virtual void step_started(const taskstep::job::step_info& s) = 0;
  virtual void step_finished(const taskstep::job::step_info& s, const taskstep::plan::outcome& o) = 0;
  virtual void note(const taskstep::job::step_info& s, std::string_view text) = 0;
  virtual void initializing(const taskstep::job::step_info& s, const taskstep::task_config& c) = 0;
  virtual void selected_worker(const taskstep::job::step_info& s, std::string_view name) = 0;
  virtual void starting(const taskstep::job::step_info& s, const taskstep::task_config& c) = 0;
  virtual void finished(const taskstep::job::step_info& s, int status) = 0;
  virtual void errored(const taskstep::job::step_info& s, std::string_view message) = 0;
  virtual void out(const taskstep::job::step_info& s, std::string_view text) = 0;
  virtual void err(const taskstep::job::step_info& s, std::string_view text) = 0;

 protected:
  ~run_events() = default;
};

struct run_call {
  const run_args& args;
  const taskstep::job::decoded_job& job;
  taskstep::job::job_request request;
  std::filesystem::path cache_root;
  std::chrono::milliseconds grace{10000};
  run_events& events;
  std::vector<std::string> resource_types;  // what the local worker accepts as image_resource types (it ignores images)
  std::stop_token stop;       // the first Ctrl-C / SIGTERM: a graceful abort
  std::stop_token immediate;  // the second: the workers skip the grace
};

taskstep::build::build_outcome run_local(run_call& call);
taskstep::build::build_outcome run_oci(run_call& call);

// Why the oci worker cannot run here with these flags (empty: it can).
std::string run_oci_unavailable(const run_args& args);

}  // namespace taskstep_cli
