// Compile-time TU 3: basic_task_step instantiated with a real policy of every kind: a file source
// decorated by override_params, interpolate (static + tracked credential vars) and validating; the
// Concourse image resolver; a chained placement strategy; a pool of local and null workers.
#include <memory>

#include "taskstep/artifact/directory_repository.hpp"
#include "taskstep/config/config.hpp"
#include "taskstep/image/concourse_resolver.hpp"
#include "taskstep/placement/placement.hpp"
#include "taskstep/step/delegate.hpp"
#include "taskstep/step/task_step.hpp"
#include "taskstep/vars/variables.hpp"
#include "taskstep/worker/local_process.hpp"
#include "taskstep/worker/pool.hpp"
#include "taskstep/worker/worker_client.hpp"

int main(int argc, char** argv) {
  using namespace taskstep;
  artifact::directory_repository repo;
  repo.add("ci", argc > 1 ? argv[1] : ".");
  auto tracker = std::make_shared<vars::credential_tracker>();
  vars::static_vars flags;
  flags.set("cmd", value("true"));
  vars::static_vars creds;
  creds.set("token", value("s3cret"));
  auto variables = vars::multi_vars(flags, vars::tracked_vars(creds, tracker));
  auto source = config::file_source("ci/task.yml", repo) | config::override_params(task_env{{"A", "1"}}) |
                config::interpolate(variables) | config::validating();
  worker::worker_pool<worker::local_process, worker::null_worker> pool;
  pool.add(worker::local_process{});
  pool.add(worker::null_worker{});
  step::step_options options;
  options.credentials = tracker;
  task_plan plan;
  plan.config_path = "ci/task.yml";
  step::basic_task_step s(plan, std::move(source), image::concourse_resolver{},
                          placement::chain{placement::volume_locality{}, placement::limit_active_tasks{4},
                                           placement::fewest_build_containers{}},
                          pool, options);
  step::recording_delegate d;
  auto r = s.run(repo, d);
  return r && r->succeeded() ? 0 : 1;
}
