// Must not compile: a worker without info() in a worker_pool is named by the pool's assertion.
// expect: taskstep: W is not a worker_client: it needs info() const -> const worker_info& and run(const container_spec&, const process_spec&, IO&, std::stop_token) -> result<run_result> for any process_io IO
#include "taskstep/worker/pool.hpp"

struct no_info_worker {
  template <class IO>
  taskstep::result<taskstep::run_result> run(const taskstep::container_spec&, const taskstep::process_spec&, IO&,
                                             std::stop_token) {
    return taskstep::run_result{};
  }
};

int main() {
  taskstep::worker::worker_pool<taskstep::worker::null_worker, no_info_worker> pool;
  (void)pool;
}
