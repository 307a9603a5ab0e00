// Compile-time TU 1: every core/ header and a little use of each (no yaml, config, vars, step).
#include "taskstep/core/artifact.hpp"
#include "taskstep/core/container_spec.hpp"
#include "taskstep/core/duration.hpp"
#include "taskstep/core/json.hpp"
#include "taskstep/core/process_io.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/core/task_config.hpp"
#include "taskstep/core/task_plan.hpp"
#include "taskstep/core/value.hpp"
#include "taskstep/core/worker_info.hpp"
#include "taskstep/core/working_dir.hpp"

int main() {
  using namespace taskstep;
  task_plan plan;
  task_config c;
  c.platform = "linux";
  c.run.path = "true";
  c.params["A"] = "1";
  plan.config = c;
  container_spec spec;
  spec.env = environment(c.params);
  spec.working_dir = working_directory(plan.name);
  worker_info w;
  const auto ok = validate(c);
  return ok && !spec.working_dir.empty() && w.platform == "linux" ? 0 : 1;
}
