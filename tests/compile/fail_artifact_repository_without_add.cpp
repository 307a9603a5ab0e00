// Must not compile: the step registers outputs, so its artifacts need add() as well as reads.
// expect: taskstep: Artifacts is not an artifact_repository: it needs an artifact_reader's find, contains and read_file, and add(std::string name, std::filesystem::path dir)
#include "taskstep/config/config.hpp"
#include "taskstep/image/concourse_resolver.hpp"
#include "taskstep/placement/placement.hpp"
#include "taskstep/step/task_step.hpp"

struct read_only_artifacts {
  const std::filesystem::path* find(std::string_view) const { return nullptr; }
  bool contains(std::string_view) const { return false; }
  taskstep::result<std::string> read_file(std::string_view, std::string_view) const { return std::string(); }
};

int main() {
  taskstep::worker::null_worker w;
  taskstep::step::single_worker set(w);
  taskstep::step::basic_task_step step(taskstep::task_plan{}, taskstep::config::static_source(taskstep::task_config{}),
                                       taskstep::image::concourse_resolver{}, taskstep::placement::first_fit{}, set);
  read_only_artifacts artifacts;
  taskstep::step::null_delegate d;
  (void)step.run(artifacts, d);
}
