// Must not compile: a worker whose run() takes only null_process_io& is not a worker_client (the
// expect: taskstep: W is not a worker_client: it needs info() const -> const worker_info& and run(const container_spec&, const process_spec&, IO&, std::stop_token) -> result<run_result> for any process_io IO
// concept checks run() with a private archetype io, as the step hands the worker its own io type).
#include "taskstep/step/task_step.hpp"

struct null_io_only_worker {
  taskstep::worker_info description;
  const taskstep::worker_info& info() const { return description; }
  taskstep::result<taskstep::run_result> run(const taskstep::container_spec&, const taskstep::process_spec&,
                                             taskstep::null_process_io&, std::stop_token) {
    return taskstep::run_result{};
  }
};

int main() {
  null_io_only_worker w;
  taskstep::step::single_worker set(w);
  (void)set;
}
