// Job builds on the local worker: real processes, real files.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/temp_dir.hpp"
#include "taskstep/job/build.hpp"
#include "taskstep/worker/local_process.hpp"

using namespace taskstep;
namespace fs = std::filesystem;

namespace {

// Records every event as a line: `started get src`, `out task a: text`, `finished task a: succeeded`.
struct recorder {
  std::vector<std::string> lines;
  std::string output;
  void step_started(const job::step_info& s) { lines.push_back("started " + s.label); }
  void step_finished(const job::step_info& s, const plan::outcome& o) {
    lines.push_back("finished " + s.label + ": " + std::string(plan::to_string(o.status)));
  }
  void note(const job::step_info& s, std::string_view t) { lines.push_back("note " + s.label + ": " + std::string(t)); }
  void initializing(const job::step_info&, const task_config&) {}
  void selected_worker(const job::step_info&, std::string_view) {}
  void starting(const job::step_info&, const task_config&) {}
  void finished(const job::step_info& s, int status) { lines.push_back("exit " + s.label + ": " + std::to_string(status)); }
  void errored(const job::step_info& s, std::string_view t) { lines.push_back("error " + s.label + ": " + std::string(t)); }
  void out(const job::step_info& s, std::string_view t) { output += s.label + "> " + std::string(t); }
  void err(const job::step_info& s, std::string_view t) { output += s.label + "! " + std::string(t); }
  [[nodiscard]] bool has(const std::string& line) const {
    for (const auto& l : lines)
      if (l == line) return true;
    return false;
  }
  [[nodiscard]] bool has_prefix(const std::string& prefix) const {
    for (const auto& l : lines)
      if (l.rfind(prefix, 0) == 0) return true;
    return false;
  }
};
static_assert(job::job_delegate<recorder>);

struct fixture {
  test::temp_dir dir;
  recorder events;
  job::job_request request;
  build::build_outcome run(const std::string& pipeline, const std::string& job_name, std::stop_token stop = {}) {
    auto p = job::load_pipeline(pipeline, vars::static_vars{});
    REQUIRE(p);
    auto j = job::decode_job(*p, job_name);
    REQUIRE(j);
    request.job = job_name;
    auto make = [&](const fs::path& root) -> result<worker::local_process> {
      worker::local_process_options o;
      o.work_root = root;
      o.cache_root = dir.path() / "cache";
      o.info.resource_types = {"registry-image", "docker-image"};
      return worker::local_process(std::move(o));
    };
    auto o = job::run_job(*j, request, make, events, stop);
    for (const auto& l : events.lines) UNSCOPED_INFO(l);
    return o;
  }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string two_tasks = R"(
resources:
- name: src
  type: s3
  source: {bucket: b}
- name: out
  type: s3
  source: {bucket: b}
jobs:
- name: build
  plan:
  - get: src
    passed: [other]
  - task: compile
    file: src/compile.yml
    params: {GREETING: hello}
  - load_var: version
    file: src/version.txt
  - in_parallel:
    - task: test
      config:
        platform: linux
        inputs: [{name: binary}]
        run: {path: sh, args: [-ec, 'cat binary/bin.txt; echo version ((.:version))']}
    - task: lint
      config:
        platform: linux
        inputs: [{name: src}]
        run: {path: sh, args: [-ec, 'ls src']}
  - put: out
    params: {file: binary/bin.txt}
    inputs: detect
  on_success:
    task: announce
    config: {platform: linux, run: {path: echo, args: [done]}}
)";

}  // namespace

TEST_CASE("a job build passes outputs to later tasks, load_var reaches a task's config, hooks run", "[job][build]") {
  fixture f;
  const auto src = f.dir.path() / "src";
  fs::create_directories(src);
  std::ofstream(src / "compile.yml") << "platform: linux\ninputs: [{name: src}]\noutputs: [{name: binary}]\n"
                                        "params: {GREETING: x}\n"
                                        "run: {path: sh, args: [-ec, 'echo \"$GREETING from compile\" > binary/bin.txt']}\n";
  std::ofstream(src / "version.txt") << "1.2.3\n";
  f.request.inputs["src"] = src;
  f.request.outputs.push_back({"binary", f.dir.path() / "downloaded"});
  auto o = f.run(two_tasks, "build");
  INFO(f.events.output);
  CHECK(o.exit_code == 0);
  CHECK(o.status == "succeeded");
  CHECK(f.events.has("started get src"));
  CHECK(f.events.has("finished task compile: succeeded"));
  CHECK(f.events.output.find("task test> hello from compile\n") != std::string::npos);
  CHECK(f.events.output.find("task test> version ((redacted))\n") != std::string::npos);  // load_var without reveal
  CHECK(f.events.output.find("task lint> compile.yml\n") != std::string::npos);
  CHECK(f.events.output.find("load_var version> var version fetched.") != std::string::npos);
  CHECK(f.events.has("note put out: skipped: puts do not run locally (resource out); it would have used the artifacts: binary"));
  CHECK(f.events.has("finished task announce: succeeded"));
  CHECK(slurp(f.dir.path() / "downloaded" / "bin.txt") == "hello from compile\n");
  CHECK(slurp(src / "version.txt") == "1.2.3\n");
}

TEST_CASE("a failed task fails the build and runs on_failure, not what follows", "[job][build]") {
  fixture f;
  auto o = f.run(R"(
jobs:
- name: j
  plan:
  - task: bad
    config: {platform: linux, run: {path: sh, args: [-c, 'exit 3']}}
    on_failure: {task: hook, config: {platform: linux, run: {path: echo, args: [hooked]}}}
  - task: never
    config: {platform: linux, run: {path: echo}}
)", "j");
  CHECK(o.exit_code == 1);
  CHECK(o.status == "failed");
  CHECK(f.events.has("exit task bad: 3"));
  CHECK(f.events.has("finished task hook: succeeded"));
  CHECK(f.events.output.find("task hook> hooked") != std::string::npos);
  CHECK_FALSE(f.events.has("started task never"));
}

TEST_CASE("an errored step errors the build, attempts retry, try keeps going", "[job][build]") {
  fixture f;
  auto o = f.run(R"(
jobs:
- name: j
  plan:
  - try: {task: missing-file, file: nowhere/task.yml}
  - task: flaky
    attempts: 2
    config: {platform: linux, run: {path: sh, args: [-c, 'exit 1']}}
)", "j");
  CHECK(o.exit_code == 1);
  CHECK(f.events.has("error task missing-file: unknown artifact source: 'nowhere' in task config file path 'nowhere/task.yml'"));
  int runs = 0;
  for (const auto& l : f.events.lines) runs += l == "exit task flaky: 1";
  CHECK(runs == 2);

  fixture g;
  o = g.run("jobs:\n- name: j\n  plan:\n  - task: t\n    file: nowhere/task.yml\n", "j");
  CHECK(o.exit_code == 2);
  CHECK(o.status == "errored");
}

TEST_CASE("a get without a local source refuses the build naming the flag, -i names must be gets", "[job][build]") {
  fixture f;
  const std::string p = "resources: [{name: bucket, type: s3, source: {}}]\njobs:\n- name: j\n  plan: [{get: data, resource: bucket}]\n";
  auto o = f.run(p, "j");
  CHECK(o.exit_code == 2);
  CHECK_FALSE(o.started());
  CHECK(f.events.has("error : job j gets artifacts this machine cannot fetch: pass -i data=DIR (s3 resource bucket)"));
  fixture g;
  g.request.inputs["other"] = g.dir.path();
  g.request.inputs["data"] = g.dir.path();
  o = g.run(p, "j");
  CHECK(o.exit_code == 2);
  CHECK_FALSE(o.started());
  CHECK(g.events.has("error : unknown input `other`: job j has no get step of that name (its gets: data)"));
}

TEST_CASE("a git resource whose uri is a remote of the current repository is taken from it", "[job][build]") {
  if (std::system("git --version >/dev/null 2>&1") != 0) {
    WARN("SKIPPED: git is not installed");
    return;
  }
  fixture f;
  const auto repo = f.dir.path() / "repo";
  fs::create_directories(repo / "sub");
  std::ofstream(repo / "tracked.txt") << "tracked\n";
  std::ofstream(repo / "ignored.txt") << "ignored\n";
  std::ofstream(repo / ".gitignore") << "ignored.txt\n";
  REQUIRE(std::system(("cd " + repo.string() + " && git init -q && git remote add origin git@GitHub.com:example/Repo.git && git add -A").c_str()) == 0);
  f.request.cwd = repo / "sub";
  auto o = f.run(R"(
resources: [{name: code, type: git, source: {uri: "https://github.com/example/Repo"}}]
jobs:
- name: j
  plan:
  - get: code
  - task: t
    config: {platform: linux, inputs: [{name: code}], run: {path: sh, args: [-c, 'ls -A code']}}
)", "j");
  INFO(f.events.output);
  CHECK(o.exit_code == 0);
  CHECK(f.events.has_prefix("note get code: from the current repository "));
  CHECK(f.events.output.find("tracked.txt") != std::string::npos);
  CHECK(f.events.output.find("ignored.txt\n") == std::string::npos);  // staged as fly uploads it
}

TEST_CASE("across runs its step per value with the value as a local var, and the build timeout fails it", "[job][build]") {
  fixture f;
  auto o = f.run(R"Y(
jobs:
- name: j
  plan:
  - across: [{var: num, values: [one, two]}]
    task: echo
    config: {platform: linux, run: {path: echo, args: ["n=((.:num))"]}}
)Y", "j");
  CHECK(o.exit_code == 0);
  CHECK(f.events.output.find("task echo> n=one") != std::string::npos);
  CHECK(f.events.output.find("task echo> n=two") != std::string::npos);

  fixture g;
  g.request.timeout = std::chrono::milliseconds(300);
  o = g.run("jobs:\n- name: j\n  plan:\n  - task: slow\n    config: {platform: linux, run: {path: sleep, args: ['30']}}\n", "j");
  CHECK(o.exit_code == 1);
  CHECK(o.status == "failed");
}

TEST_CASE("a stopped build is aborted and on_abort runs", "[job][build]") {
  fixture f;
  std::stop_source stop;
  std::jthread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    stop.request_stop();
  });
  auto o = f.run(R"(
jobs:
- name: j
  on_abort: {task: cleanup, config: {platform: linux, run: {path: echo, args: [cleaned]}}}
  plan:
  - task: slow
    config: {platform: linux, run: {path: sleep, args: ['30']}}
)", "j", stop.get_token());
  CHECK(o.exit_code == 3);
  CHECK(o.status == "aborted");
  CHECK(f.events.output.find("task cleanup> cleaned") != std::string::npos);
}

TEST_CASE("a time get is an empty directory, a task's tags are dropped with a note", "[job][build]") {
  fixture f;
  auto o = f.run(R"(
resources: [{name: hourly, type: time, source: {interval: 1h}}]
jobs:
- name: j
  plan:
  - get: hourly
    trigger: true
  - task: t
    tags: [big]
    config: {platform: linux, inputs: [{name: hourly}], run: {path: sh, args: [-c, 'ls -A hourly | wc -l']}}
)", "j");
  CHECK(o.exit_code == 0);
  CHECK(f.events.has("note get hourly: an empty directory: a time resource has no versions here"));
  CHECK(f.events.has("note task t: tags do not apply locally (one worker runs every step): big"));
  CHECK(f.events.output.find("task t> 0\n") != std::string::npos);
}
