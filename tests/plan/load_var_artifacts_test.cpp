// load_var (atc/exec/load_var_step.go) on real files in a directory_repository, and artifacts flowing
// between two real task steps on the local worker through one plan.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "common/temp_dir.hpp"
#include "plan_support.hpp"
#include "taskstep/config/static_source.hpp"
#include "taskstep/image/concourse_resolver.hpp"
#include "taskstep/placement/first_fit.hpp"
#include "taskstep/step/task_step.hpp"
#include "taskstep/worker/local_process.hpp"

using namespace plan_test;

namespace {

struct fixture {
  test::temp_dir dir;
  repo artifacts;
  std::shared_ptr<vars::credential_tracker> tracker = std::make_shared<vars::credential_tracker>();
  state_t state{artifacts, tracker};
  step::recording_delegate d;
  fixture() {
    dir.write("src/v.json", R"({"version": "1.2.3", "n": 3, "list": [1, "a"]})");
    dir.write("src/v.yml", "version: 1.2.3\ncount: 3\n");
    dir.write("src/v.txt", "  1.2.3\n\n");
    dir.write("src/bad.json", "{\"a\": [");
    artifacts.add("src", dir.path() / "src");
  }
  plan::outcome load(std::string file, std::string format = {}, bool reveal = false) {
    plan::load_var step("v", std::move(file), std::move(format), reveal);
    std::stop_source stop;
    return step.run(state, d, stop.get_token());
  }
  value get(std::string path = "v", std::vector<std::string> fields = {}) {
    auto r = state.locals_ref().get(vars::var_reference{".:" + path, ".", path, std::move(fields)});
    REQUIRE(r);
    REQUIRE(r->has_value());
    return **r;
  }
};

}  // namespace

TEST_CASE("load_var reads json, yaml, trim and raw, taking the format from the extension by default", "[plan][load_var]") {
  fixture f;
  REQUIRE(f.load("src/v.json").succeeded());
  CHECK(f.get("v", {"version"}) == value("1.2.3"));
  CHECK(f.get("v", {"n"}) == value(3.0));  // encoding/json: every number is a float64
  CHECK(f.get().origin == value::map_kind::json);
  CHECK(f.d.stdout_text == "var v fetched.\nadded var v to build.\n");

  REQUIRE(f.load("src/v.yml").succeeded());
  CHECK(f.get("v", {"count"}) == value(3));  // go-yaml: an int (and a plain `n:` key would be the bool false)
  REQUIRE(f.load("src/v.txt").succeeded());  // unknown extension: trim
  CHECK(f.get() == value("1.2.3"));
  REQUIRE(f.load("src/v.txt", "raw").succeeded());
  CHECK(f.get() == value("  1.2.3\n\n"));
  REQUIRE(f.load("src/v.json", "trim").succeeded());  // an explicit format wins over the extension
  CHECK(f.get().is_string());
  REQUIRE(f.load("src/v.yml", "json").succeeded());  // YAML text read as json: parsed, floats
  CHECK(f.get("v", {"count"}) == value(3.0));
}

TEST_CASE("load_var errors in Concourse 6.7's words", "[plan][load_var]") {
  fixture f;
  auto check = [&](plan::outcome o, const std::string& message) {
    CHECK(o.status == status::errored);
    CHECK(o.message == message);
  };
  check(f.load("v.json"), "file 'v.json' does not specify where the file lives");
  check(f.load("src/v.json", "toml"), "invalid format toml");
  check(f.load("nope/v.json"), "unknown artifact source: 'nope' in file path 'v.json'");
  check(f.load("src/missing.yml"), "file 'missing.yml' not found within artifact 'src'");
  check(f.load("src/../../etc/passwd", "raw"), "file '../../etc/passwd' not found within artifact 'src'");
  const auto bad = f.load("src/bad.json");
  CHECK(bad.status == status::errored);
  CHECK(bad.message.rfind("failed to parse src/bad.json in format json: yaml: ", 0) == 0);
  CHECK(f.d.events.back() == "errored " + bad.message);
}

TEST_CASE("load_var's value is redacted unless reveal, and a later step reads it as ((.:name))", "[plan][load_var]") {
  fixture f;
  REQUIRE(f.load("src/v.txt").succeeded());
  CHECK(f.tracker->values().at(".:v") == "1.2.3");
  fixture g;
  REQUIRE(g.load("src/v.txt", "", true).succeeded());
  CHECK(g.tracker->values().empty());

  std::string seen;
  auto p = plan::do_(plan::load_var("version", "src/v.txt"), [&](auto& state, auto&, std::stop_token) {
    auto r = state.locals().get(vars::var_reference{".:version", ".", "version", {}});
    seen = r && *r ? (*r)->as_string() : "?";
    return plan::succeeded();
  });
  std::stop_source stop;
  REQUIRE(p.run(f.state, f.d, stop.get_token()).succeeded());
  CHECK(seen == "1.2.3");
}

TEST_CASE("an output registered by one task step is an input of a later one, on the local worker", "[plan][artifacts][local]") {
  test::temp_dir dir;
  worker::local_process_options o;
  o.work_root = dir.path() / "runs";
  o.cache_root = dir.path() / "caches";
  o.print_warnings = false;
  worker::local_process local(o);
  step::single_worker workers(local);

  auto make = [&](std::string name, std::string script, std::vector<task_input_config> in, std::vector<task_output_config> out) {
    task_plan p;
    p.name = std::move(name);
    task_config c;
    c.platform = "linux";
    c.run.path = "sh";
    c.run.args = {"-c", std::move(script)};
    c.inputs = std::move(in);
    c.outputs = std::move(out);
    p.config = c;
    return step::basic_task_step(p, config::static_source(p.config), image::concourse_resolver{}, placement::first_fit{}, workers);
  };
  auto produce = make("produce", "printf 'built %s' $((40+2)) > out/artifact.txt", {}, {{"out", ""}});
  auto consume = make("consume", "cat out/artifact.txt", {{"out", "", false}}, {});
  auto p = plan::do_(produce, consume);

  repo artifacts;
  state_t state(artifacts);
  step::recording_delegate d;
  std::stop_source stop;
  const auto result = p.run(state, d, stop.get_token());
  INFO(d.stderr_text);
  for (const auto& e : d.events) INFO(e);
  CHECK(result.succeeded());
  CHECK(artifacts.contains("out"));
  CHECK(d.stdout_text.find("built 42") != std::string::npos);

  // without the producer, the consumer is missing its input: an error, as Concourse reports it
  repo empty;
  state_t bare(empty);
  auto alone = plan::do_(make("consume", "cat out/artifact.txt", {{"out", "", false}}, {}));
  const auto missing = alone.run(bare, d, stop.get_token());
  CHECK(missing.status == status::errored);
  CHECK(missing.message == "missing inputs: out");

  auto failing = plan::do_(make("fail", "exit 3", {}, {}), make("never", "echo never-$((1+1))", {}, {}));
  const auto f = failing.run(bare, d, stop.get_token());
  CHECK(f.status == status::failed);
  CHECK(f.message == "exit status 3");
  CHECK(d.stdout_text.find("never-2") == std::string::npos);
}
