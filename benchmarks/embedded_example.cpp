// The embedded example whose size run_all.sh reports (built with -Os -fno-rtti): a program that
// embeds one task, interpolates it, and runs it on this host through basic_task_step with the local
// worker, printing the task's output. `embedded_example [greeting]`.
#include <cstdio>
#include <string_view>

#include "bench_support.hpp"  // first: see the note on first_fit there
#include "taskstep/config/config.hpp"
#include "taskstep/image/concourse_resolver.hpp"
#include "taskstep/step/task_step.hpp"
#include "taskstep/worker/local_process.hpp"
#include "taskstep/yaml/decode.hpp"

namespace {

struct print_delegate {
  void initializing(const taskstep::task_config&) {}
  void starting(const taskstep::task_config&) {}
  void finished(int) {}
  void errored(std::string_view m) { std::fprintf(stderr, "error: %.*s\n", static_cast<int>(m.size()), m.data()); }
  void out(std::string_view s) { std::fwrite(s.data(), 1, s.size(), stdout); }
  void err(std::string_view s) { std::fwrite(s.data(), 1, s.size(), stderr); }
};

}  // namespace

int main(int argc, char** argv) {
  using namespace taskstep;
  auto config = yaml::parse_task_config("platform: linux\nrun: {path: echo, args: [((greeting))]}\n");
  if (!config) return 2;
  vars::static_vars v;
  v.set("greeting", value(argc > 1 ? argv[1] : "hello from taskstep"));
  task_plan plan;
  plan.name = "embedded";
  worker::local_process_options o;
  o.use_cgroups = false;
  worker::local_process w(o);
  step::single_worker<worker::local_process> workers(w);
  step::basic_task_step s(plan, config::static_source(*config) | config::interpolate(v) | config::validating(),
                          image::host_resolver{}, placement::first_fit{}, workers);
  print_delegate d;
  bench::memory_artifacts artifacts;
  auto r = s.run(artifacts, d);
  return r ? r->exit_status : 1;
}
