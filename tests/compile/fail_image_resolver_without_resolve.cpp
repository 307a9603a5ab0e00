// Must not compile: a resolver without resolve() cannot be the step's image resolver.
// expect: taskstep: R is not an image_resolver: it needs resolve(const task_plan&, const task_config&, const Artifacts&) const -> result<image_spec> for any artifact_reader Artifacts
#include "taskstep/config/config.hpp"
#include "taskstep/image/concourse_resolver.hpp"
#include "taskstep/placement/placement.hpp"
#include "taskstep/step/task_step.hpp"

struct not_a_resolver {};

int main() {
  taskstep::worker::null_worker w;
  taskstep::step::single_worker set(w);
  taskstep::step::basic_task_step step(taskstep::task_plan{}, taskstep::config::static_source(taskstep::task_config{}),
                                       not_a_resolver{}, taskstep::placement::first_fit{}, set);
  (void)step;
}
