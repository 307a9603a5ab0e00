// Task files read out of artifacts (§3.2, §3.6, §14.2.1, §14.4.4), with real directories on disk.
#include <catch2/catch.hpp>

#include "common/config_support.hpp"
#include "common/temp_dir.hpp"
#include "taskstep/artifact/directory_repository.hpp"
#include "taskstep/config/config.hpp"

using namespace taskstep;
using taskstep::test::error_text;

namespace {

struct fixture {
  test::temp_dir dir;
  artifact::directory_repository repo;

  fixture() {
    repo.add("a", dir.mkdir("artifact-a"));
    repo.add("empty", dir.mkdir("artifact-empty"));
  }
  void write(std::string_view file, std::string_view text) const { dir.write("artifact-a/" + std::string(file), text); }
  result<task_config> fetch(std::string path) const {
    config::file_source<artifact::directory_repository> source(std::move(path), repo);
    return source.fetch();
  }
};

}  // namespace

TEST_CASE("a task file is read from its artifact, decoded and validated", "[config][file]") {
  fixture f;
  f.write("t.yml", "platform: linux\nrun:\n  path: sh\n  args: [-c, 'echo hi']\nparams:\n  A: 1\ninputs:\n- name: src\n");
  auto r = f.fetch("a/t.yml");
  REQUIRE(r);
  CHECK(r->platform == "linux");
  CHECK(r->run.path == "sh");
  CHECK(r->run.args == std::vector<std::string>{"-c", "echo hi"});
  CHECK(r->params.at("A") == "1");
  REQUIRE(r->inputs.size() == 1);
  CHECK(r->inputs[0].name == "src");
}

TEST_CASE("the path is split at the first slash only", "[config][file]") {
  fixture f;
  f.write("ci/tasks/t.yml", "platform: linux\nrun: {path: x}\n");
  auto r = f.fetch("a/ci/tasks/t.yml");
  REQUIRE(r);
  CHECK(r->run.path == "x");
}

TEST_CASE("a file source has no warnings", "[config][file]") {
  fixture f;
  f.write("t.yml", "platform: linux\nrun: {path: x}\n");
  config::file_source<artifact::directory_repository> source("a/t.yml", f.repo);
  REQUIRE(source.fetch());
  CHECK(source.warnings().empty());
}

TEST_CASE("a path without a slash does not say where the file lives", "[config][file]") {
  fixture f;
  auto r = f.fetch("x.yml");
  CHECK(error_text(r) == "config path 'x.yml' does not specify where the file lives");
  CHECK(error_text(f.fetch("foo-bar.yml")) == "config path 'foo-bar.yml' does not specify where the file lives");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::config_path);
}

TEST_CASE("an unknown artifact names the artifact and the whole path", "[config][file]") {
  fixture f;
  auto r = f.fetch("some/build.yml");
  CHECK(error_text(r) == "unknown artifact source: 'some' in task config file path 'some/build.yml'");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::unknown_artifact);
}

TEST_CASE("a missing task file is not found", "[config][file]") {
  fixture f;
  auto r = f.fetch("a/t.yml");
  CHECK(error_text(r) == "task config 'a/t.yml' not found");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::config_not_found);
  CHECK(error_text(f.fetch("a/sub/dir/t.yml")) == "task config 'a/sub/dir/t.yml' not found");
  CHECK(error_text(f.fetch("empty/t.yml")) == "task config 'empty/t.yml' not found");
}

TEST_CASE("an invalid task file fails with the path and the 6.7 validation text", "[config][file]") {
  fixture f;
  f.write("t.yml", "run: {path: x}\n");
  CHECK(error_text(f.fetch("a/t.yml")) ==
        "failed to create task config from bytes a/t.yml: invalid task configuration:\nmissing 'platform'");
}

TEST_CASE("an empty task file fails validation with every message", "[config][file]") {
  fixture f;
  f.write("t.yml", "");
  CHECK(error_text(f.fetch("a/t.yml")) ==
        "failed to create task config from bytes a/t.yml: invalid task configuration:\n"
        "missing 'platform'\nmissing path to executable to run");
}

TEST_CASE("a task file with unnamed inputs and outputs lists them with their indent", "[config][file]") {
  fixture f;
  f.write("t.yml", "inputs: [{}, {name: x}, {}]\noutputs: [{}]\n");
  CHECK(error_text(f.fetch("a/t.yml")) ==
        "failed to create task config from bytes a/t.yml: invalid task configuration:\n"
        "missing 'platform'\nmissing path to executable to run\n"
        "  input in position 0 is missing a name\n  input in position 2 is missing a name\n"
        "  output in position 0 is missing a name");
}

TEST_CASE("an unknown key in a task file is a decode error", "[config][file]") {
  fixture f;
  f.write("t.yml", "platform: linux\nrun: {path: x}\nintputs: [{name: a}]\n");
  CHECK(error_text(f.fetch("a/t.yml")) ==
        "failed to create task config from bytes a/t.yml: error unmarshaling JSON: while decoding JSON: "
        "json: unknown field \"intputs\"");
}

TEST_CASE("a duplicate key in a task file is a strict YAML error", "[config][file]") {
  fixture f;
  f.write("t.yml", "platform: linux\nplatform: linux\nrun: {path: x}\n");
  CHECK(error_text(f.fetch("a/t.yml")) ==
        "failed to create task config from bytes a/t.yml: error converting YAML to JSON: yaml: unmarshal errors:\n"
        "  line 2: key \"platform\" already set in map");
}

TEST_CASE("a task file that is not YAML reports go-yaml's syntax error", "[config][file]") {
  fixture f;
  f.write("t.yml", "platform: [linux\n");
  CHECK(error_text(f.fetch("a/t.yml")) ==
        "failed to create task config from bytes a/t.yml: error converting YAML to JSON: "
        "yaml: line 1: did not find expected ',' or ']'");
}

TEST_CASE("a task file that is not a mapping cannot be decoded", "[config][file]") {
  fixture f;
  f.write("t.yml", "- a\n");
  CHECK(error_text(f.fetch("a/t.yml")) ==
        "failed to create task config from bytes a/t.yml: error unmarshaling JSON: while decoding JSON: "
        "json: cannot unmarshal array into Go value of type atc.TaskConfig");
}

TEST_CASE("a task file is validated before interpolation, so a var in platform passes", "[config][file]") {
  fixture f;
  f.write("t.yml", "platform: ((p))\nrun: {path: ((path))}\n");
  auto r = f.fetch("a/t.yml");
  REQUIRE(r);
  CHECK(r->platform == "((p))");
  CHECK(r->run.path == "((path))");
}

TEST_CASE("a task file keeps ((vars)) in params and args as text", "[config][file]") {
  fixture f;
  f.write("t.yml", "platform: linux\nrun: {path: x, args: ['((a))', 'x((b))']}\nparams: {P: ((p))}\n");
  auto r = f.fetch("a/t.yml");
  REQUIRE(r);
  CHECK(r->run.args == std::vector<std::string>{"((a))", "x((b))"});
  CHECK(r->params.at("P") == "((p))");
}
