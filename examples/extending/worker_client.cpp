// A worker client of your own: a worker that runs a few built-in commands inside this process
// (`echo`, `true`, `false`, `wait`), for hosts that cannot fork, or for tests. Placed in a
// `worker_pool` and driven by a real `basic_task_step`. Walked through in docs/extending.md.
//
// It models `worker::worker_client`: `info() const` (how placement sees it) and
// `run(container_spec, process_spec, io, std::stop_token) -> result<run_result>`.

#include <chrono>
#include <cstdio>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>

#include "taskstep/artifact/directory_repository.hpp"
#include "taskstep/config/static_source.hpp"
#include "taskstep/image/concourse_resolver.hpp"
#include "taskstep/placement/first_fit.hpp"
#include "taskstep/step/task_step.hpp"
#include "taskstep/worker/pool.hpp"

namespace {

using namespace taskstep;

//! Runs `echo`, `true`, `false` and `wait` (until stopped) without a process. Models `worker::worker_client`.
class builtin_worker {
 public:
  explicit builtin_worker(std::string name) { description_.name = std::move(name); }

  [[nodiscard]] const worker_info& info() const noexcept { return description_; }

  template <process_io IO>
  result<run_result> run(const container_spec& container, const process_spec& process, IO& io, std::stop_token stop) {
    run_result r;
    if (process.path != "echo" && process.path != "true" && process.path != "false" && process.path != "wait")
      return fail(errc::worker, "builtin worker '" + description_.name + "': no such command: " + process.path);
    io.starting();  // right before "spawning": the step reports start-task here
    if (process.path == "echo") {
      std::string line;
      for (const auto& a : process.args) line += (line.empty() ? "" : " ") + a;
      io.out(line + "\n");
      for (const auto& e : container.env) io.err(e + "\n");  // params arrive as NAME=value
    } else if (process.path == "false") {
      r.exit_status = 1;
    } else if (process.path == "wait") {
      while (!stop.stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      r.stopped = true;  // no exit status; the step reports `interrupted` or `timeout exceeded`
    }
    return r;
  }

 private:
  worker_info description_;
};

static_assert(worker::worker_client<builtin_worker>, "taskstep: builtin_worker must model worker_client");

int failures = 0;
void check(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what.c_str());
  if (!ok) ++failures;
}

struct outcome {
  result<step::step_outcome> r;
  step::recording_delegate delegate;
};

outcome run_task(worker::worker_pool<builtin_worker>& pool, std::string path, std::vector<std::string> args,
                 step::step_options options = {}) {
  task_config config;
  config.platform = "linux";
  config.run.path = std::move(path);
  config.run.args = std::move(args);
  config.params["GREETING"] = "hello";
  task_plan plan;
  plan.config = config;
  artifact::directory_repository artifacts;
  outcome o{step::step_outcome{}, {}};
  step::basic_task_step step(plan, config::static_source(config), image::host_resolver{}, placement::first_fit{}, pool,
                             std::move(options));
  o.r = step.run(artifacts, o.delegate);
  return o;
}

}  // namespace

int main() {
  worker::worker_pool<builtin_worker> pool({builtin_worker("in-process")});

  auto echo = run_task(pool, "echo", {"hello,", "world"});
  std::printf("stdout: %s", echo.delegate.stdout_text.c_str());
  check(echo.r && echo.r->exit_status == 0, "echo succeeds");
  check(echo.delegate.stdout_text == "hello, world\n", "its output reaches the delegate");
  check(echo.delegate.stderr_text == "GREETING=hello\n", "params reach the worker as the environment");
  check(echo.delegate.events ==
            std::vector<std::string>{"initializing", "selected in-process", "starting", "finished 0"},
        "the step reports initializing, selected, starting, finished");

  auto failing = run_task(pool, "false", {});
  check(failing.r && failing.r->exit_status == 1 && !failing.r->succeeded(), "a non-zero exit is a failure, not an error");

  auto unknown = run_task(pool, "make", {});
  check(!unknown.r && unknown.r.error().code() == errc::worker &&
            unknown.delegate.events.back() == "errored builtin worker 'in-process': no such command: make",
        "a worker error is a value, reported through errored()");

  step::step_options timeout;
  timeout.timeout = std::chrono::milliseconds(20);
  auto waited = run_task(pool, "wait", {}, timeout);
  check(!waited.r && waited.r.error().message() == "timeout exceeded", "a stopped run ends with the step's timeout");
  return failures == 0 ? 0 : 1;
}
