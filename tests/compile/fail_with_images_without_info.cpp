// Must not compile: with_images wraps a worker_client only.
// expect: taskstep: W is not a worker_client: it needs info() const -> const worker_info& and run(const container_spec&, const process_spec&, IO&, std::stop_token) -> result<run_result> for any process_io IO
#include "taskstep/worker/with_images.hpp"

struct no_info_worker {
  template <class IO>
  taskstep::result<taskstep::run_result> run(const taskstep::container_spec&, const taskstep::process_spec&, IO&,
                                             std::stop_token) {
    return taskstep::run_result{};
  }
};

struct no_fetcher {};

int main() {
  taskstep::worker::with_images<no_info_worker, no_fetcher> w(no_info_worker{}, no_fetcher{});
  (void)w;
}
