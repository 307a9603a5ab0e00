// Must not compile: a worker without info() cannot be placed, so it cannot be a step's single worker.
// expect: taskstep: W is not a worker_client: it needs info() const -> const worker_info& and run(const container_spec&, const process_spec&, IO&, std::stop_token) -> result<run_result> for any process_io IO
#include "taskstep/config/config.hpp"
#include "taskstep/image/concourse_resolver.hpp"
#include "taskstep/placement/placement.hpp"
#include "taskstep/step/task_step.hpp"

struct no_info_worker {
  template <class IO>
  taskstep::result<taskstep::run_result> run(const taskstep::container_spec&, const taskstep::process_spec&, IO&,
                                             std::stop_token) {
    return taskstep::run_result{};
  }
};

int main() {
  no_info_worker w;
  taskstep::step::single_worker set(w);
  (void)set;
}
