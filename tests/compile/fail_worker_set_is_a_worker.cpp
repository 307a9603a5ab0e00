// Must not compile: the step takes a worker_set; a worker client on its own is not one.
// expect: taskstep: Workers is not a worker_set: it needs infos() const -> std::vector<worker_info> and run(std::size_t index, const container_spec&, const process_spec&, IO&, std::stop_token) -> result<run_result> for any process_io IO (put one worker client in step::single_worker, several in worker::worker_pool)
#include "taskstep/config/config.hpp"
#include "taskstep/image/concourse_resolver.hpp"
#include "taskstep/placement/placement.hpp"
#include "taskstep/step/task_step.hpp"

int main() {
  taskstep::worker::null_worker w;
  taskstep::step::basic_task_step step(taskstep::task_plan{}, taskstep::config::static_source(taskstep::task_config{}),
                                       taskstep::image::concourse_resolver{}, taskstep::placement::first_fit{}, w);
  (void)step;
}
