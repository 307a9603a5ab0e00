// Must not compile: a resolver that reads only one artifact repository type is checked against the
// expect: taskstep: R is not an image_resolver: it needs resolve(const task_plan&, const task_config&, const Artifacts&) const -> result<image_spec> for any artifact_reader Artifacts
// concept's private archetype, not against the type it happens to be used with.
#include "taskstep/config/config.hpp"
#include "taskstep/image/concourse_resolver.hpp"
#include "taskstep/placement/placement.hpp"
#include "taskstep/step/task_step.hpp"
#include "taskstep/artifact/directory_repository.hpp"

struct one_repository_resolver {
  taskstep::result<taskstep::image_spec> resolve(const taskstep::task_plan&, const taskstep::task_config&,
                                                 const taskstep::artifact::directory_repository&) const {
    return taskstep::image_spec(taskstep::no_image{});
  }
};

int main() {
  taskstep::worker::null_worker w;
  taskstep::step::single_worker set(w);
  taskstep::step::basic_task_step step(taskstep::task_plan{}, taskstep::config::static_source(taskstep::task_config{}),
                                       one_repository_resolver{}, taskstep::placement::first_fit{}, set);
  (void)step;
}
