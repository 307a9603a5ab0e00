// yaml/convert.hpp: the Go conversions config/ shares with the task-file decoder, as a public API.
#include <catch2/catch.hpp>

#include "taskstep/core/json.hpp"
#include "taskstep/yaml/convert.hpp"

using namespace taskstep;

TEST_CASE("resolve_scalar types plain scalars as go-yaml does and keeps quoted ones strings", "[yaml][convert]") {
  auto yes = yaml::resolve_scalar("yes", true);
  REQUIRE(yes);
  CHECK(yes->type() == value::kind::boolean);
  auto quoted = yaml::resolve_scalar("yes", false);
  REQUIRE(quoted);
  CHECK(*quoted == value("yes"));
  auto hex = yaml::resolve_scalar("0x1F", true);
  REQUIRE(hex);
  CHECK(*hex == value(std::int64_t{31}));
  auto str = yaml::resolve_scalar("12", false, "tag:yaml.org,2002:str");
  REQUIRE(str);
  CHECK(*str == value("12"));
  auto bad = yaml::resolve_scalar("abc", false, "tag:yaml.org,2002:int");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message() == "cannot decode !!str `abc` as a !!int");
}

TEST_CASE("stringify_keys, to_go_interface and coerced_string give a param's environment string", "[yaml][convert]") {
  auto tree = yaml::parse("{1: a, true: [2, -0.0]}", false);
  REQUIRE(tree);
  REQUIRE(yaml::stringify_keys(*tree));
  CHECK(yaml::json_kind(*tree) == "object");
  value go = yaml::to_go_interface(*tree);
  REQUIRE(yaml::json_to_yaml_roundtrip(go));
  CHECK(yaml::coerced_string(go) == R"({"1":"a","true":[2,0]})");
  CHECK(yaml::coerced_string(value()) == "");
  CHECK(yaml::coerced_string(value("x")) == "x");
}
