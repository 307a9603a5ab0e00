#include <catch2/catch.hpp>

#include "cli/run_command.hpp"

namespace {
std::string task(const std::string& text) {
  static const auto dir = test_dir();
  static int n = 0;
  auto path = dir / ("task" + std::to_string(n++) + ".yml");
  write_file(path, text);
  return path.string();
}
}  // namespace

TEST_CASE("taskstep validate accepts a minimal task file silently", "[cli][validate]") {
  auto r = run_taskstep({"validate", task("platform: linux\nrun: {path: echo}\n")});
  CHECK(r.exit_code == 0);
  CHECK(r.out.empty());
  CHECK(r.err.empty());
}

TEST_CASE("taskstep validate prints Concourse's validation block and exits 1", "[cli][validate]") {
  auto r = run_taskstep({"validate", task("inputs: [{}, {name: a}]\noutputs: [{path: x}]\n"), "--concourse", "6.7"});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "invalid task configuration:\n"
        "missing 'platform'\n"
        "missing path to executable to run\n"
        "  input in position 0 is missing a name\n"
        "  output in position 0 is missing a name\n");
}

TEST_CASE("taskstep validate reports unknown fields, duplicate keys and type errors", "[cli][validate]") {
  CHECK(run_taskstep({"validate", task("platform: linux\nrun: {path: x}\nintputs: []\n"), "--concourse", "7.14"}).err ==
        "error unmarshaling JSON: while decoding JSON: json: unknown field \"intputs\"\n");
  CHECK(run_taskstep({"validate", task("platform: linux\nplatform: x\nrun: {path: x}\n"), "--concourse", "6.7"}).err ==
        "error converting YAML to JSON: yaml: unmarshal errors:\n  line 2: key \"platform\" already set in map\n");
  auto r = run_taskstep({"validate", task("platform: linux\nrun: {path: x, args: foo}\n")});
  CHECK(r.exit_code == 1);
  CHECK(r.err ==
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go struct field "
        "TaskRunConfig.run.args of type []string\n");
}

TEST_CASE("taskstep validate follows Concourse 8.2 unless --concourse names another version", "[cli][validate]") {
  const auto t = task("platform: linux\nplatform: x\nintputs: []\n");
  auto r = run_taskstep({"validate", t});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "unknown fields: [intputs]\n");
  CHECK(run_taskstep({"validate", t, "--concourse", "8.2"}).err == r.err);
  CHECK(run_taskstep({"validate", t, "--concourse", "7.14"}).err ==
        "error converting YAML to JSON: yaml: unmarshal errors:\n  line 2: key \"platform\" already set in map\n");
  auto bad = run_taskstep({"validate", t, "--concourse", "7.0"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("--concourse") != std::string::npos);
  auto render = run_taskstep({"render", task("platform: linux\n")});
  CHECK(render.exit_code == 0);
  CHECK(render.out == "{\"platform\":\"linux\"}\n");
  CHECK(run_taskstep({"render", task("platform: linux\n"), "--concourse", "7.14"}).exit_code == 1);
}

TEST_CASE("taskstep validate reports YAML syntax errors with go-yaml's line numbers", "[cli][validate]") {
  auto r = run_taskstep({"validate", task("platform: [linux\n")});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "error converting YAML to JSON: yaml: line 1: did not find expected ',' or ']'\n");
}

TEST_CASE("taskstep validate names a file it cannot read", "[cli][validate]") {
  auto r = run_taskstep({"validate", "/nonexistent/task.yml"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("/nonexistent/task.yml") != std::string::npos);
}

TEST_CASE("taskstep exits 2 on usage errors", "[cli]") {
  CHECK(run_taskstep({}).exit_code == 2);
  CHECK(run_taskstep({"validate"}).exit_code == 2);
  CHECK(run_taskstep({"frobnicate"}).exit_code == 2);
  CHECK(run_taskstep({"render", "--no-such-flag", "x.yml"}).exit_code == 2);
  CHECK(run_taskstep({"--help"}).exit_code == 0);
}
