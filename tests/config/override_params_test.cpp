// Step-level params: the override source (§3.3) and 6.7's conversion of step param values (§14.3).
#include <catch2/catch.hpp>

#include <algorithm>

#include "common/catch_printers.hpp"
#include "common/config_support.hpp"
#include "taskstep/config/config.hpp"

using namespace taskstep;
using taskstep::test::config_from_yaml;
using taskstep::test::error_text;
using taskstep::test::yaml_value;

namespace {

// The env string of a step param written as YAML in a pipeline.
std::string step_param(std::string_view yaml) {
  auto r = config::step_param_string(yaml_value(yaml));
  return r ? *r : "error: " + r.error().message();
}

}  // namespace

TEST_CASE("step params override task params and add new ones", "[config][override]") {
  auto s = config::static_source(config_from_yaml("platform: linux\nrun: {path: x}\nparams: {A: task, B: keep}")) |
           config::override_params(task_env{{"A", "step"}, {"C", "new"}});
  auto r = s.fetch();
  REQUIRE(r);
  CHECK(r->params == task_env{{"A", "step"}, {"B", "keep"}, {"C", "new"}});
}

TEST_CASE("a step param the task does not declare gives a warning", "[config][override]") {
  auto s = config::static_source(config_from_yaml("platform: linux\nrun: {path: x}\nparams: {A: task}")) |
           config::override_params(task_env{{"A", "step"}, {"EXTRA_PARAM", "x"}});
  CHECK(s.warnings().empty());  // computed while fetching
  REQUIRE(s.fetch());
  CHECK(s.warnings() == std::vector<std::string>{"EXTRA_PARAM was defined in pipeline but missing from task file"});
}

TEST_CASE("a task without params gets the step params and a warning for each", "[config][override]") {
  auto s = config::static_source(config_from_yaml("platform: linux\nrun: {path: x}")) |
           config::override_params(task_env{{"A", "1"}, {"B", ""}});
  auto r = s.fetch();
  REQUIRE(r);
  CHECK(r->params == task_env{{"A", "1"}, {"B", ""}});
  auto w = s.warnings();
  std::sort(w.begin(), w.end());
  CHECK(w == std::vector<std::string>{"A was defined in pipeline but missing from task file",
                                      "B was defined in pipeline but missing from task file"});
}

TEST_CASE("a task param that is empty still counts as declared", "[config][override]") {
  auto s = config::static_source(config_from_yaml("platform: linux\nrun: {path: x}\nparams: {A: ~}")) |
           config::override_params(task_env{{"A", "set"}});
  auto r = s.fetch();
  REQUIRE(r);
  CHECK(r->params.at("A") == "set");
  CHECK(s.warnings().empty());
}

TEST_CASE("no step params change nothing", "[config][override]") {
  auto s = config::static_source(config_from_yaml("platform: linux\nrun: {path: x}\nparams: {A: a}")) |
           config::override_params(task_env{});
  auto r = s.fetch();
  REQUIRE(r);
  CHECK(r->params == task_env{{"A", "a"}});
  CHECK(s.warnings().empty());
}

TEST_CASE("the override source passes the inner error through and adds to its warnings", "[config][override]") {
  auto failing = test::canned_source(fail(errc::config_not_found, "task config 'a/t.yml' not found")) |
                 config::override_params(task_env{{"A", "x"}});
  CHECK(error_text(failing.fetch()) == "task config 'a/t.yml' not found");
  CHECK(failing.warnings().empty());

  auto warned = test::canned_source(config_from_yaml("platform: linux\nrun: {path: x}"), {"inner"}) |
                config::override_params(task_env{{"N", "x"}});
  REQUIRE(warned.fetch());
  CHECK(warned.warnings() ==
        std::vector<std::string>{"inner", "N was defined in pipeline but missing from task file"});
}

TEST_CASE("step params do not validate the config", "[config][override]") {
  auto s = config::static_source() | config::override_params(task_env{{"A", "x"}});
  auto r = s.fetch();
  REQUIRE(r);
  CHECK(r->params.at("A") == "x");
}

TEST_CASE("a null step param becomes the empty string in 6.7", "[config][override][step-params]") {
  CHECK(step_param("~") == "");
  CHECK(step_param("null") == "");
}

TEST_CASE("step param strings are kept verbatim, vars included", "[config][override][step-params]") {
  CHECK(step_param("'quoted'") == "quoted");
  CHECK(step_param("'((foo))'") == "((foo))");
  CHECK(step_param("'1.8446744e+19'") == "1.8446744e+19");
  CHECK(step_param("2001-12-14") == "2001-12-14");
  CHECK(step_param("''") == "");
}

TEST_CASE("step param bools become true and false", "[config][override][step-params]") {
  CHECK(step_param("yes") == "true");
  CHECK(step_param("true") == "true");
  CHECK(step_param("off") == "false");
}

TEST_CASE("step param numbers go through float64 and Go's JSON number text", "[config][override][step-params]") {
  CHECK(step_param("1") == "1");
  CHECK(step_param("1.0") == "1");
  CHECK(step_param("-1") == "-1");
  CHECK(step_param("0x1F") == "31");
  CHECK(step_param("1e20") == "100000000000000000000");
  CHECK(step_param("18446744073709551615") == "18446744073709552000");
  CHECK(step_param("9007199254740993") == "9007199254740992");  // exact only up to 2^53
  CHECK(step_param("123456789012345678901234567890") == "1.2345678901234568e+29");
  CHECK(step_param("1059262.987345987") == "1059262.987345987");
  CHECK(step_param("3.14159265358979") == "3.14159265358979");
  CHECK(step_param("0.000001") == "0.000001");
  CHECK(step_param("1e-7") == "1e-7");
  CHECK(step_param("1.5e-7") == "1.5e-7");
  CHECK(step_param("1e21") == "1e+21");
}

TEST_CASE("step param lists and maps become compact JSON", "[config][override][step-params]") {
  CHECK(step_param("[1, a, true, null, 1.5]") == R"([1,"a",true,null,1.5])");
  CHECK(step_param("{b: 1, a: '<&>'}") == R"({"a":"\u003c\u0026\u003e","b":1})");
  CHECK(step_param("{b: 1, a: '<&>', c: {z: [x]}}") == R"({"a":"\u003c\u0026\u003e","b":1,"c":{"z":["x"]}})");
  CHECK(step_param("{1: a, true: b}") == R"({"1":"a","true":"b"})");
  CHECK(step_param("[18446744073709551615]") == "[18446744073709552000]");
}

TEST_CASE("infinite and NaN step params are errors", "[config][override][step-params]") {
  CHECK_FALSE(config::step_param_string(yaml_value(".inf")));
  CHECK_FALSE(config::step_param_string(yaml_value("[.nan]")));
}
