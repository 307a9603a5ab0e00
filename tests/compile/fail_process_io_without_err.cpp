// Must not compile: a worker streams to a process_io, which needs err() too.
// expect: taskstep: IO is not a process_io: it needs starting(), out(std::string_view) and err(std::string_view)
#include "taskstep/worker/worker_client.hpp"

struct no_err_io {
  void starting() {}
  void out(std::string_view) {}
};

int main() {
  taskstep::worker::null_worker w;
  no_err_io io;
  (void)w.run(taskstep::container_spec{}, taskstep::process_spec{}, io, std::stop_token{});
}
