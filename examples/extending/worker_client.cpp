// A worker client of your own: a worker that runs a few built-in commands inside this process
// (`echo`, `true`, `false`, `wait`), for hosts that cannot fork, or for tests. Placed in a
// `worker_pool` and driven by a real `basic_task_step`. Walked through in docs/extending.md.
//
// It models `worker::worker_client`: `info() const` (how placement sees it) and
// `run(container_spec, process_spec, io, std::stop_token) -> result<run_result>`, and has one
// optional hook, `commit_caches` (`worker::commits_caches`). Then a wrapper worker,
// `announcing_worker<W>`, built on `worker::worker_decorator<W>`: it changes `run` and keeps the hook.

#include <chrono>
#include <cstdio>
#include <memory>
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
#include "taskstep/worker/worker_client.hpp"

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

  //! Optional hook (`worker::commits_caches`): the step calls it after a job build's run. This worker
  //! keeps no caches; it counts the calls (copies share the count).
  result<void> commit_caches(const container_spec&, const run_result&) {
    ++*commits;
    return {};
  }
  std::shared_ptr<int> commits = std::make_shared<int>(0);

 private:
  worker_info description_;
};

static_assert(worker::worker_client<builtin_worker>, TASKSTEP_WORKER_CLIENT_MESSAGE);
static_assert(worker::commits_caches<builtin_worker>);

//! A wrapper worker: announces each command on the task's stderr, then runs it on `W`. Deriving from
//! `worker::worker_decorator<W>` forwards `info()` and every optional hook `W` has (here
//! `commit_caches`); the wrapper writes only what it changes.
template <class W>
class announcing_worker : public worker::worker_decorator<W> {
 public:
  using worker::worker_decorator<W>::worker_decorator;

  template <process_io IO>
  result<run_result> run(const container_spec& container, const process_spec& process, IO& io, std::stop_token stop) {
    io.err("[" + this->info().name + "] " + process.path + "\n");
    return this->inner_.run(container, process, io, std::move(stop));
  }
};

static_assert(worker::worker_client<announcing_worker<builtin_worker>>, TASKSTEP_WORKER_CLIENT_MESSAGE);
static_assert(worker::commits_caches<announcing_worker<builtin_worker>>, "the decorator keeps commit_caches");
static_assert(!worker::refreshes<announcing_worker<builtin_worker>>, "and adds no hook its inner worker lacks");

//! The same wrapper written by hand: it is a worker_client, but it silently loses commit_caches (the
//! step would then never commit a job's caches, and nothing would say so).
struct hand_written_wrapper {
  builtin_worker inner;
  [[nodiscard]] const worker_info& info() const { return inner.info(); }
  template <process_io IO>
  result<run_result> run(const container_spec& c, const process_spec& p, IO& io, std::stop_token stop) {
    return inner.run(c, p, io, std::move(stop));
  }
};
static_assert(worker::worker_client<hand_written_wrapper> && !worker::commits_caches<hand_written_wrapper>);

int failures = 0;
void check(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what.c_str());
  if (!ok) ++failures;
}

struct outcome {
  result<step::step_outcome> r;
  step::recording_delegate delegate;
};

template <class Pool>
outcome run_task(Pool& pool, std::string path, std::vector<std::string> args, step::step_options options = {},
                 std::string job = {}) {
  task_config config;
  config.platform = "linux";
  config.run.path = std::move(path);
  config.run.args = std::move(args);
  config.params["GREETING"] = "hello";
  task_plan plan;
  plan.config = config;
  plan.job = std::move(job);  // a job's build: the step commits caches after the run
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

  // The wrapper, in a pool of its own: its run() changes the output, its forwarded hook is still called.
  builtin_worker inner("wrapped");
  const std::shared_ptr<int> commits = inner.commits;
  worker::worker_pool<announcing_worker<builtin_worker>> wrapped({announcing_worker<builtin_worker>(inner)});
  auto one_off = run_task(wrapped, "echo", {"hi"});
  check(one_off.r && one_off.delegate.stderr_text == "[wrapped] echo\nGREETING=hello\n",
        "the wrapper's run() announces the command, then the inner worker runs it");
  check(one_off.delegate.events ==
            std::vector<std::string>{"initializing", "selected wrapped", "starting", "finished 0"},
        "info() is the inner worker's (selected wrapped)");
  check(*commits == 0, "a one-off build commits no caches");
  auto job_build = run_task(wrapped, "echo", {"hi"}, {}, "unit");
  check(job_build.r && *commits == 1, "a job build commits caches through the wrapper (the hook was forwarded)");
  return failures == 0 ? 0 : 1;
}
