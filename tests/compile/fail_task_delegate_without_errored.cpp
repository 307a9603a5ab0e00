// Must not compile: a delegate without errored() cannot receive a step's events.
// expect: taskstep: D is not a task_delegate: it needs initializing(const task_config&), starting(const task_config&), finished(int), errored(std::string_view), out(std::string_view) and err(std::string_view)
#include "taskstep/config/config.hpp"
#include "taskstep/image/concourse_resolver.hpp"
#include "taskstep/placement/placement.hpp"
#include "taskstep/step/task_step.hpp"
#include "taskstep/artifact/directory_repository.hpp"

struct no_errored_delegate {
  void initializing(const taskstep::task_config&) {}
  void starting(const taskstep::task_config&) {}
  void finished(int) {}
  void out(std::string_view) {}
  void err(std::string_view) {}
};

int main() {
  taskstep::worker::null_worker w;
  taskstep::step::single_worker set(w);
  taskstep::step::basic_task_step step(taskstep::task_plan{}, taskstep::config::static_source(taskstep::task_config{}),
                                       taskstep::image::concourse_resolver{}, taskstep::placement::first_fit{}, set);
  taskstep::artifact::directory_repository artifacts;
  no_errored_delegate d;
  (void)step.run(artifacts, d);
}
