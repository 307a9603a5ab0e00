// `taskstep run`: the real binary on real pipelines, on the local worker.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <thread>

#include "cli/run_command.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path source_dir = fs::path(TASKSTEP_TEST_DATA).parent_path().parent_path();

struct workspace {
  fs::path dir = test_dir();
  std::string pipeline(const std::string& text) {
    write_file(dir / "pipeline.yml", text);
    return (dir / "pipeline.yml").string();
  }
  ~workspace() { fs::remove_all(dir); }
};

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("run: the example pipeline checks this repository on the local worker", "[cli][run]") {
  workspace w;
  const auto report = w.dir / "report";
  auto r = run_taskstep({"run", "-c", (source_dir / "examples/pipelines/ci.yml").string(), "-j", "check-headers", "-i",
                         "taskstep=" + source_dir.string(), "-o", "report=" + report.string(), "--cache-dir",
                         (w.dir / "cache").string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("get taskstep\n") == 0);
  CHECK(r.out.find("\ntask list-headers succeeded\n") != std::string::npos);
  CHECK(r.out.find("[task pragma-once] every header starts with #pragma once\n") != std::string::npos);
  CHECK(r.out.find("\ntask done succeeded\n") != std::string::npos);
  CHECK(r.out.find("\ntask explain") == std::string::npos);  // on_failure did not run
  CHECK(r.out.size() >= 10);
  CHECK(r.out.substr(r.out.size() - 10) == "succeeded\n");
  CHECK(r.err.find("note: version, passed, trigger, params and tags of get steps do not apply locally (get taskstep: trigger)") !=
        std::string::npos);
  const std::string summary = slurp(report / "summary.txt");
  CHECK(summary.find(" headers, first: taskstep/include/taskstep/") != std::string::npos);
}

TEST_CASE("run without -j lists the jobs and what each needs", "[cli][run]") {
  auto r = run_taskstep({"run", "-c", (source_dir / "examples/pipelines/ci.yml").string()});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "check-headers\n  get taskstep (git resource taskstep): needs -i taskstep=DIR\n"
                 "publish\n  get taskstep (git resource taskstep): needs -i taskstep=DIR\n"
                 "run one with: taskstep run -c " + (source_dir / "examples/pipelines/ci.yml").string() + " -j JOB\n");
}

TEST_CASE("run: exit codes are 1 failed, 2 errored, and on_failure runs", "[cli][run]") {
  workspace w;
  auto r = run_taskstep({"run", "-c", w.pipeline(R"(
jobs:
- name: j
  on_failure: {task: hook, config: {platform: linux, run: {path: echo, args: [hook ran]}}}
  plan:
  - task: bad
    config: {platform: linux, run: {path: sh, args: [-c, 'exit 4']}}
)"), "-j", "j"});
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("task bad failed\n") != std::string::npos);
  CHECK(r.out.find("hook ran\n") != std::string::npos);
  CHECK(r.out.substr(r.out.size() - 7) == "failed\n");

  r = run_taskstep({"run", "-c", w.pipeline("resources: [{name: b, type: s3, source: {}}]\njobs:\n- name: j\n  plan: [{get: b}]\n"),
                    "-j", "j"});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "job j gets artifacts this machine cannot fetch: pass -i b=DIR (s3 resource b)\n");
  CHECK(r.out.empty());  // refused before anything ran

  r = run_taskstep({"run", "-c", w.pipeline(R"(
jobs:
- name: j
  plan:
  - task: missing
    file: nowhere/task.yml
)"), "-j", "j"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("unknown artifact source: 'nowhere' in task config file path 'nowhere/task.yml'") != std::string::npos);
  CHECK(r.out.substr(r.out.size() - 8) == "errored\n");
}

TEST_CASE("run: bad pipelines and unknown jobs are refused with the reason", "[cli][run]") {
  workspace w;
  auto r = run_taskstep({"run", "-c", w.pipeline("jobs:\n- name: j\n  plan:\n  - task: t\n    bogus: 1\n"), "-j", "j"});
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find("jobs.j.plan.do[0]: unknown fields [\"bogus\"]") != std::string::npos);
  r = run_taskstep({"run", "-c", w.pipeline("jobs:\n- name: j\n  plan: []\n"), "-j", "nope"});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "unknown job 'nope' (jobs: j)\n");
}

TEST_CASE("run: pipeline vars, secrets redacted, put and set_pipeline skipped with what they would use", "[cli][run]") {
  workspace w;
  write_file(w.dir / "in" / "file.txt", "x");
  auto r = run_taskstep({"run", "-c", w.pipeline(R"(
resources:
- {name: data, type: s3, source: {bucket: ((bucket))}}
jobs:
- name: j
  plan:
  - get: data
  - task: show
    config:
      platform: linux
      inputs: [{name: data}]
      params: {WHO: ((who)), TOKEN: ((token))}
      run: {path: sh, args: [-ec, 'echo "$WHO $TOKEN"; ls data']}
  - put: data
    params: {file: data/file.txt}
  - set_pipeline: self
    file: data/pipeline.yml
)"), "-j", "j", "-v", "who=world", "--secret", "token=s3cr3t", "-i", "data=" + (w.dir / "in").string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("world ((redacted))\nfile.txt\n") != std::string::npos);
  CHECK(r.out.find("s3cr3t") == std::string::npos);
  CHECK(r.out.find("skipped: puts do not run locally (resource data); it would have used the artifacts: data\n") != std::string::npos);
  CHECK(r.out.find("skipped: set_pipeline does not run locally; it would have used data/pipeline.yml (artifacts: data)\n") !=
        std::string::npos);
}

TEST_CASE("run --json: every event carries the step's id and name", "[cli][run]") {
  workspace w;
  auto r = run_taskstep({"run", "--json", "-c", w.pipeline(R"(
jobs:
- name: j
  plan:
  - in_parallel:
    - task: a
      config: {platform: linux, run: {path: echo, args: [from-a]}}
    - task: b
      config: {platform: linux, run: {path: echo, args: [from-b]}}
)"), "-j", "j"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find(R"J({"event":"step-start","step":{"id":"plan.do[0].in_parallel.steps[0].task(a)","name":"a","type":"task"})J") !=
        std::string::npos);
  CHECK(r.out.find(R"J({"event":"log","step":{"id":"plan.do[0].in_parallel.steps[1].task(b)","name":"b","type":"task"},"stream":"stdout","payload":"from-b\n")J") !=
        std::string::npos);
  CHECK(count(r.out, R"("event":"step-finish")") == 2);
  CHECK(r.out.find(R"({"event":"status","status":"succeeded")") != std::string::npos);
}

TEST_CASE("run: Ctrl-C aborts the build (exit 3), on_abort runs, nothing is left running", "[cli][run]") {
  workspace w;
  const auto pid_file = w.dir / "task.pid";
  const std::string p = w.pipeline(
      "jobs:\n- name: j\n  on_abort: {task: cleanup, config: {platform: linux, run: {path: echo, args: [cleaned up]}}}\n"
      "  plan:\n  - task: slow\n    config: {platform: linux, run: {path: sh, args: [-c, 'echo $$ > " + pid_file.string() +
      "; echo ready-$((40+2)); while true; do sleep 0.05; done']}}\n");
  const auto out_path = w.dir / "stdout";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> args{TASKSTEP_BINARY, "run", "-c", p, "-j", "j", "--grace", "2s"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  REQUIRE(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&actions);
  for (int i = 0; i < 400 && slurp(out_path).find("ready-42") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  REQUIRE(slurp(out_path).find("ready-42") != std::string::npos);
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 3);
  const std::string out = slurp(out_path);
  INFO(out);
  CHECK(out.find("task slow aborted\n") != std::string::npos);
  CHECK(out.find("cleaned up\n") != std::string::npos);
  CHECK(out.substr(out.size() - 8) == "aborted\n");
  const pid_t task_pid = std::stoi(slurp(pid_file));
  CHECK(kill(task_pid, 0) == -1);  // the task's shell is gone
}

TEST_CASE("run --worker local accepts a task's image_resource of any type and ignores it", "[cli][run]") {
  workspace w;
  auto r = run_taskstep({"run", "--worker", "local", "-c", w.pipeline(R"(
resource_types: [{name: custom, type: registry-image, source: {repository: x}}]
jobs:
- name: j
  plan:
  - task: mocked
    config:
      platform: linux
      image_resource: {type: mock, source: {mirror_self: true}}
      run: {path: echo, args: [hello]}
)"), "-j", "j"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("hello\n") != std::string::npos);
  CHECK(r.err.find("the task's image is ignored") != std::string::npos);
}
