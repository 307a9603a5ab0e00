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
