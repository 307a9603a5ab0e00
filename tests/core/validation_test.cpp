#include <catch2/catch.hpp>

#include "taskstep/core/task_config.hpp"

using namespace taskstep;

TEST_CASE("an empty config lists every problem in Concourse 6.7's order and indentation", "[core][validation]") {
  task_config c;
  c.inputs = {task_input_config{}, task_input_config{"x", "", false}, task_input_config{}};
  c.outputs = {task_output_config{}};
  auto r = validate(c);
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::invalid_config);
  CHECK(r.error().message() ==
        "invalid task configuration:\n"
        "missing 'platform'\n"
        "missing path to executable to run\n"
        "  input in position 0 is missing a name\n"
        "  input in position 2 is missing a name\n"
        "  output in position 0 is missing a name");
}

TEST_CASE("a config with platform and run path is valid", "[core][validation]") {
  task_config c;
  c.platform = "linux";
  c.run.path = "true";
  CHECK(validate(c));
}

TEST_CASE("a missing platform alone is reported without indentation", "[core][validation]") {
  task_config c;
  c.run.path = "true";
  auto r = validate(c);
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "invalid task configuration:\nmissing 'platform'");
}

TEST_CASE("a missing run path alone is reported without indentation", "[core][validation]") {
  task_config c;
  c.platform = "linux";
  auto r = validate(c);
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "invalid task configuration:\nmissing path to executable to run");
}

TEST_CASE("unnamed inputs and outputs are reported by 0-based position with two spaces", "[core][validation]") {
  task_config c;
  c.platform = "linux";
  c.run.path = "true";
  c.inputs = {task_input_config{"a", "", false}, task_input_config{"", "p", true}};
  c.outputs = {task_output_config{"", "x"}, task_output_config{"o", ""}, task_output_config{}};
  auto r = validate(c);
  REQUIRE_FALSE(r);
  CHECK(r.error().message() ==
        "invalid task configuration:\n"
        "  input in position 1 is missing a name\n"
        "  output in position 0 is missing a name\n"
        "  output in position 2 is missing a name");
}

TEST_CASE("inputs are checked before outputs whatever the order of the problems", "[core][validation]") {
  task_config c;
  c.outputs = {task_output_config{}};
  c.inputs = {task_input_config{}};
  c.run.path = "x";
  CHECK(validation_problems(c) ==
        std::vector<std::string>{"missing 'platform'", "  input in position 0 is missing a name",
                                 "  output in position 0 is missing a name"});
}

TEST_CASE("validation accepts everything else Concourse does not check", "[core][validation]") {
  task_config c;
  c.platform = "anything-goes";
  c.run.path = "../../bin/x";
  c.inputs = {task_input_config{"a", "/abs", false}, task_input_config{"a", "../up", true}};
  c.outputs = {task_output_config{"a", "/abs"}, task_output_config{"a", "."}};
  c.caches = {task_cache_config{"", ""}, task_cache_config{"/", ""}};
  c.run.dir = "/absolute";
  CHECK(validate(c));
  CHECK(validation_problems(c).empty());
}

TEST_CASE("a whitespace-only platform or run path counts as present", "[core][validation]") {
  task_config c;
  c.platform = " ";
  c.run.path = "\t";
  CHECK(validate(c));
}

TEST_CASE("environment lists NAME=value sorted by name", "[core][environment]") {
  task_env params{{"B", "2"}, {"A", "x=y"}, {"EMPTY", ""}, {"1", "one"}};
  CHECK(environment(params) == std::vector<std::string>{"1=one", "A=x=y", "B=2", "EMPTY="});
  CHECK(environment(task_env{}).empty());
}
