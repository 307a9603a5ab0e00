// `taskstep execute --json`: the real binary's events for real runs (success, failure, an error
// before `initialize`, a refused build, an abort by SIGINT, warnings), each line validated against
// docs/events.schema.json with python3-jsonschema (tests/cli/validate_events.py).
#include <catch2/catch.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <fcntl.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/run_command.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<nlohmann::json> events_of(const std::string& out) {
  std::vector<nlohmann::json> events;
  std::size_t start = 0;
  while (start < out.size()) {
    const auto end = out.find('\n', start);
    events.push_back(nlohmann::json::parse(out.substr(start, end - start)));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return events;
}

std::vector<std::string> kinds(const std::vector<nlohmann::json>& events) {
  std::vector<std::string> k;
  for (const auto& e : events) k.push_back(e.at("event").get<std::string>());
  return k;
}

// Runs the validator over `files`; returns its exit code (77: python3-jsonschema missing).
int validate(const std::vector<fs::path>& files, std::string& report) {
  const auto dir = test_dir();
  std::string cmd = std::string("python3 ") + TASKSTEP_SOURCE_DIR + "/tests/cli/validate_events.py " +
                    TASKSTEP_SOURCE_DIR + "/docs/events.schema.json";
  for (const auto& f : files) cmd += " '" + f.string() + "'";
  cmd += " > '" + (dir / "report").string() + "' 2>&1";
  const int status = std::system(cmd.c_str());
  report = slurp(dir / "report");
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct json_runs {
  fs::path dir = test_dir();
  std::vector<fs::path> outputs;
  int n = 0;
  std::string task(const std::string& text) {
    const auto p = dir / ("task" + std::to_string(n++) + ".yml");
    write_file(p, text);
    return p.string();
  }
  // Runs `execute --json --worker local ARGS` and keeps its stdout for validation.
  command_result run(std::vector<std::string> args) {
    args.insert(args.begin(), {"execute", "--json", "--worker", "local"});
    const auto io = dir / ("io" + std::to_string(n++));
    fs::create_directories(io);
    auto r = run_taskstep_at({}, io, args);
    outputs.push_back(io / "stdout");
    return r;
  }
  void check_all_valid() {
    std::string report;
    const int code = validate(outputs, report);
    if (code == 77) {
      WARN("SKIPPED: schema validation: " << report);
      return;
    }
    INFO(report);
    CHECK(code == 0);
  }
};

}  // namespace

TEST_CASE("execute --json: every event of real runs is valid against docs/events.schema.json", "[cli][json]") {
  json_runs runs;

  SECTION("success and failure end with finish and status") {
    auto ok = runs.run({"-c", runs.task("platform: linux\nrun: {path: sh, args: [-c, 'echo out; echo err >&2']}\n")});
    CHECK(ok.exit_code == 0);
    auto ev = events_of(ok.out);
    CHECK(kinds(ev) == std::vector<std::string>{"initialize", "selected-worker", "start", "log", "log", "finish", "status"});
    CHECK(ev.back()["status"] == "succeeded");
    CHECK(ev.back()["elapsed"].get<double>() >= 0);
    for (const auto& e : ev) CHECK(e["version"] == 1);

    auto failed = runs.run({"-c", runs.task("platform: linux\nrun: {path: sh, args: [-c, 'exit 7']}\n")});
    CHECK(failed.exit_code == 7);
    ev = events_of(failed.out);
    REQUIRE(ev.size() >= 2);
    CHECK(ev[ev.size() - 2]["exit_status"] == 7);
    CHECK(ev.back()["status"] == "failed");
  }

  SECTION("an error before initialize still ends with a status event") {
    // An undefined ((var)): the config fetch fails, so no initialize.
    auto r = runs.run({"-c", runs.task("platform: linux\nparams: {X: ((nowhere))}\nrun: {path: 'true'}\n")});
    CHECK(r.exit_code == 2);
    CHECK(kinds(events_of(r.out)) == std::vector<std::string>{"error", "status"});
    CHECK(events_of(r.out).back()["status"] == "errored");
    // Refused by fly's checks before the step (an input that does not exist).
    r = runs.run({"-c", runs.task("platform: linux\ninputs: [{name: src}]\nrun: {path: 'true'}\n"), "-i",
                  "src=" + (runs.dir / "absent").string()});
    CHECK(r.exit_code == 1);  // fly's own checks exit 1
    CHECK(kinds(events_of(r.out)) == std::vector<std::string>{"error", "status"});
    // The task file itself cannot be read.
    r = runs.run({"-c", (runs.dir / "missing.yml").string()});
    CHECK(r.exit_code == 1);
    CHECK(kinds(events_of(r.out)) == std::vector<std::string>{"error", "status"});
  }

  SECTION("warnings are their own events, the task's own [WARNING] lines stay log") {
    auto r = runs.run({"-c",
                       runs.task("platform: linux\nimage_resource: {type: registry-image, source: {repository: busybox}}\n"
                                 "run: {path: sh, args: [-c, 'echo out; sleep 0.2; echo \"[WARNING] from the task\" >&2']}\n"),
                       "--param", "UNDECLARED=x"});
    CHECK(r.exit_code == 0);
    const auto ev = events_of(r.out);
    std::vector<std::string> warnings, stderr_logs;
    for (const auto& e : ev) {
      if (e["event"] == "warning") warnings.push_back(e["message"]);
      if (e["event"] == "log" && e["stream"] == "stderr") stderr_logs.push_back(e["payload"]);
    }
    INFO(r.out);
    REQUIRE(warnings.size() == 2);
    CHECK(warnings[0].find("UNDECLARED") != std::string::npos);
    CHECK(warnings[1].find("image is ignored") != std::string::npos);
    CHECK(stderr_logs == std::vector<std::string>{"[WARNING] from the task\n"});
  }

  SECTION("an abort by SIGINT ends with status aborted") {
    const auto io = runs.dir / "abort";
    fs::create_directories(io);
    const auto task = runs.task("platform: linux\nrun: {path: sh, args: [-c, 'echo up; sleep 30']}\n");
    std::vector<std::string> args{TASKSTEP_BINARY, "execute", "--json", "--worker", "local", "-c", task};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, (io / "stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, (io / "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = -1;
    REQUIRE(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    const auto marker = std::string("\"payload\":\"up\\n\"");
    for (int i = 0; i < 1000 && slurp(io / "stdout").find(marker) == std::string::npos; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(slurp(io / "stdout").find(marker) != std::string::npos);
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 3);
    runs.outputs.push_back(io / "stdout");
    const auto ev = events_of(slurp(io / "stdout"));
    REQUIRE(!ev.empty());
    CHECK(ev.back()["status"] == "aborted");
  }

  runs.check_all_valid();
}

TEST_CASE("docs/events.schema.json rejects an event it does not describe", "[cli][json]") {
  const auto dir = test_dir();
  std::string report;
  const std::vector<std::pair<std::string, std::string>> bad{
      {"unknown kind", R"({"event":"bogus","time":1.0,"version":1})"},
      {"no version", R"({"event":"finish","exit_status":0,"time":1.0})"},
      {"wrong version", R"({"event":"finish","exit_status":0,"time":1.0,"version":2})"},
      {"missing field", R"({"event":"status","time":1.0,"version":1,"elapsed":0})"},
      {"extra field", R"({"event":"error","message":"m","time":1.0,"version":1,"x":1})"},
      {"bad status", R"({"event":"status","status":"done","elapsed":0,"time":1.0,"version":1})"},
  };
  for (const auto& [what, line] : bad) {
    write_file(dir / "bad", line + "\n");
    const int code = validate({dir / "bad"}, report);
    if (code == 77) {
      WARN("SKIPPED: schema validation: " << report);
      return;
    }
    INFO(what << ": " << report);
    CHECK(code == 1);
  }
  write_file(dir / "good", R"({"event":"warning","message":"m","time":1.5,"version":1})" "\n");
  CHECK(validate({dir / "good"}, report) == 0);
}
