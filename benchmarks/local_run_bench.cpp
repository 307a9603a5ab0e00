// A local run of /bin/true (wall time per run):
//   raw_spawn              baseline (the issue's): posix_spawn("/bin/true") + waitpid, nothing else
//   raw_spawn_pipes        posix_spawn with stdout/stderr pipes, stdin /dev/null, a poll loop to EOF,
//                          then waitpid: the least any runner that streams output must do
//   worker_run/cgroups:C/tmpfs:T
//                          worker::local_process::run alone (no step): run directory, process group,
//                          pipes, poll loop, and as root with C=1 a per-run cgroup (C=0: none).
//                          T=0: work_root under $TMPDIR (/tmp: ext4 here, mounted with `discard`, where
//                          each rmdir costs ~4 ms); T=1: work_root under /dev/shm (tmpfs)
//   step_local/cgroups:C/tmpfs:T
//                          basic_task_step<static_source, host_resolver, first_fit,
//                          single_worker<local_process>> running `run.path: /bin/true`
//
// Run: build/benchmarks/local_run_bench [--benchmark_repetitions=5]
#include "bench_support.hpp"  // first: see the note on first_fit there

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <stop_token>
#include <string>
#include <vector>

#include "taskstep/artifact/staging.hpp"
#include "taskstep/config/static_source.hpp"
#include "taskstep/image/concourse_resolver.hpp"
#include "taskstep/step/delegate.hpp"
#include "taskstep/step/task_step.hpp"
#include "taskstep/worker/local_process.hpp"

extern char** environ;

using namespace taskstep;
namespace fs = std::filesystem;

namespace {

const fs::path bench_root = fs::temp_directory_path() / "taskstep-bench-local";
const fs::path shm_root = "/dev/shm/taskstep-bench-local";

worker::local_process make_worker(bool cgroups, bool tmpfs) {
  worker::local_process_options o;
  const fs::path& root = tmpfs ? shm_root : bench_root;
  o.work_root = root / "runs";
  o.cache_root = root / "caches";
  o.use_cgroups = cgroups;
  o.print_warnings = false;
  return worker::local_process(o);
}

void raw_spawn(benchmark::State& state) {
  char arg0[] = "/bin/true";
  char* argv[] = {arg0, nullptr};
  char env0[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  char* envp[] = {env0, nullptr};
  for (auto _ : state) {
    pid_t pid = 0;
    if (posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, envp) != 0) {
      state.SkipWithError("posix_spawn failed");
      break;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) state.SkipWithError("/bin/true failed");
  }
}

void raw_spawn_pipes(benchmark::State& state) {
  char arg0[] = "/bin/true";
  char* argv[] = {arg0, nullptr};
  char env0[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  char* envp[] = {env0, nullptr};
  for (auto _ : state) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
      state.SkipWithError("pipe failed");
      break;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, "/bin/true", &fa, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(out[1]);
    close(err[1]);
    if (rc != 0) {
      state.SkipWithError("posix_spawn failed");
      break;
    }
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open_fds = 2;
    char buf[4096];
    while (open_fds > 0) {
      if (poll(fds, 2, -1) < 0) break;
      for (auto& p : fds) {
        if (p.fd >= 0 && (p.revents & (POLLIN | POLLHUP)) != 0) {
          if (read(p.fd, buf, sizeof buf) <= 0) {
            close(p.fd);
            p.fd = -1;
            --open_fds;
          }
        }
      }
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) state.SkipWithError("/bin/true failed");
  }
}

void worker_run(benchmark::State& state) {
  auto w = make_worker(state.range(0) != 0, state.range(1) != 0);
  container_spec spec;
  spec.team = "main";
  spec.step_name = "bench";
  spec.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  const process_spec process{"/bin/true", {}, "", ""};
  null_process_io io;
  for (auto _ : state) {
    auto r = w.run(spec, process, io, std::stop_token{});
    if (!r || r->exit_status != 0) {
      state.SkipWithError(r ? "/bin/true failed" : r.error().message().c_str());
      break;
    }
    w.release(*r);
  }
}

void step_local(benchmark::State& state) {
  auto w = make_worker(state.range(0) != 0, state.range(1) != 0);
  step::single_worker<worker::local_process> set(w);
  task_plan plan;
  plan.name = "bench";
  task_config c;
  c.platform = "linux";
  c.run.path = "/bin/true";
  plan.config = c;
  step::step_options o;
  o.seed = 42;
  step::basic_task_step<config::static_source, image::host_resolver, placement::first_fit,
                        step::single_worker<worker::local_process>>
      s(plan, config::static_source(plan.config), image::host_resolver{}, placement::first_fit{}, set, o);
  bench::memory_artifacts artifacts;
  step::null_delegate d;
  for (auto _ : state) {
    auto r = s.run(artifacts, d);
    if (!r || r->exit_status != 0) {
      state.SkipWithError(r ? "/bin/true failed" : r.error().message().c_str());
      break;
    }
  }
}

void worker_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"cgroups", "tmpfs"})->ArgsProduct({{0, 1}, {0, 1}})->Unit(benchmark::kMicrosecond)->UseRealTime();
}

}  // namespace

BENCHMARK(raw_spawn)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(raw_spawn_pipes)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(worker_run)->Apply(worker_args);
BENCHMARK(step_local)->Apply(worker_args);

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  (void)artifact::remove_tree(bench_root);
  (void)artifact::remove_tree(shm_root);
  return 0;
}
