// §2.2 layer 2: wherever the Go field is a string (platform, rootfs_uri, run.*, run.args elements,
// image_resource.type and version values, input/output/cache fields), sigs.k8s.io/yaml turns YAML
// ints, bools and floats into text; floats at float32 precision (strconv.FormatFloat(f,'g',-1,32)).

#include <catch2/catch.hpp>

#include "task_yaml.hpp"

using taskstep::test::error_of;
using taskstep::test::platform_of;
using taskstep::test::with_base;
namespace yaml = taskstep::yaml;

TEST_CASE("an integer in a string field becomes its decimal text", "[yaml][strings]") {
  CHECK(platform_of("12345678") == "12345678");
  CHECK(platform_of("-42") == "-42");
  CHECK(platform_of("0x1F") == "31");
  CHECK(platform_of("017") == "15");
  CHECK(platform_of("18446744073709551615") == "18446744073709551615");
  CHECK(platform_of("-9223372036854775808") == "-9223372036854775808");
}

TEST_CASE("a boolean in a string field becomes true or false", "[yaml][strings]") {
  CHECK(platform_of("yes") == "true");
  CHECK(platform_of("Y") == "true");
  CHECK(platform_of("off") == "false");
  CHECK(platform_of("n") == "false");
}

TEST_CASE("a float in a string field is printed at float32 precision with %g", "[yaml][strings]") {
  CHECK(platform_of("3.14159265358979") == "3.1415927");
  CHECK(platform_of("1000000.0") == "1e+06");
  CHECK(platform_of("100000.0") == "100000");
  CHECK(platform_of("1e21") == "1e+21");
  CHECK(platform_of("1.0") == "1");
  CHECK(platform_of("0.1") == "0.1");
  CHECK(platform_of("1.5e-7") == "1.5e-07");
  CHECK(platform_of("0.0001") == "0.0001");
  CHECK(platform_of("0.00001") == "1e-05");
  CHECK(platform_of("123456789.0") == "1.2345679e+08");
  CHECK(platform_of("08") == "8");
  CHECK(platform_of("18446744073709551616") == "1.8446744e+19");
}

TEST_CASE("infinities and NaN in a string field are spelled the way Go formats them", "[yaml][strings]") {
  CHECK(platform_of(".inf") == "+Inf");
  CHECK(platform_of("-.inf") == "-Inf");
  CHECK(platform_of(".nan") == "NaN");
}

TEST_CASE("a quoted value in a string field is taken as written", "[yaml][strings]") {
  CHECK(platform_of("'1.0'") == "1.0");
  CHECK(platform_of("\"yes\"") == "yes");
  CHECK(platform_of("2001-12-14") == "2001-12-14");
}

TEST_CASE("null in a string field leaves it empty", "[yaml][strings]") {
  auto c = yaml::parse_task_config(with_base("rootfs_uri: ~\n"));
  REQUIRE(c);
  CHECK(c->rootfs_uri.empty());
  CHECK(error_of("platform: ~\nrun: {path: x}\n") == "invalid task configuration:\nmissing 'platform'");
  CHECK(error_of("platform: linux\nrun: {path: null}\n") ==
        "invalid task configuration:\nmissing path to executable to run");
}

TEST_CASE("run fields and args elements are stringified one by one", "[yaml][strings]") {
  auto c = yaml::parse_task_config(
      "platform: linux\nrun:\n  path: 1.5\n  dir: 0x10\n  user: 1000\n"
      "  args: [1, true, 1.5, ~, 3.14159265358979, 1000000.0, no, '08', 08]\n");
  REQUIRE(c);
  CHECK(c->run.path == "1.5");
  CHECK(c->run.dir == "16");
  CHECK(c->run.user == "1000");
  CHECK(c->run.args == std::vector<std::string>{"1", "true", "1.5", "", "3.1415927", "1e+06", "false", "08", "8"});
}

TEST_CASE("image_resource type and version values are stringified", "[yaml][strings]") {
  auto c = yaml::parse_task_config(with_base(
      "image_resource:\n  type: 12\n  source: {}\n"
      "  version: {a: 1, b: 3.14159265358979, c: true, d: ~, e: 18446744073709551615, 1: x}\n"));
  REQUIRE(c);
  REQUIRE(c->image_resource);
  CHECK(c->image_resource->type == "12");
  CHECK(c->image_resource->version ==
        taskstep::version_map{{"1", "x"}, {"a", "1"}, {"b", "3.1415927"}, {"c", "true"}, {"d", ""},
                              {"e", "18446744073709551615"}});
}

TEST_CASE("input, output and cache fields are stringified", "[yaml][strings]") {
  auto c = yaml::parse_task_config(with_base(
      "inputs: [{name: 1, path: 2.5}]\noutputs: [{name: true, path: 0o17}]\ncaches: [{path: 1e21}]\n"));
  REQUIRE(c);
  REQUIRE(c->inputs.size() == 1);
  CHECK(c->inputs[0].name == "1");
  CHECK(c->inputs[0].path == "2.5");
  REQUIRE(c->outputs.size() == 1);
  CHECK(c->outputs[0].name == "true");
  CHECK(c->outputs[0].path == "15");
  REQUIRE(c->caches.size() == 1);
  CHECK(c->caches[0].path == "1e+21");
}

TEST_CASE("a string field refuses lists and maps", "[yaml][strings]") {
  const std::string prefix = "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ";
  CHECK(error_of("platform: [a]\nrun: {path: x}\n") ==
        prefix + "array into Go struct field TaskConfig.platform of type string");
  CHECK(error_of("platform: {a: b}\nrun: {path: x}\n") ==
        prefix + "object into Go struct field TaskConfig.platform of type string");
  CHECK(error_of(with_base("rootfs_uri: []\n")) ==
        prefix + "array into Go struct field TaskConfig.rootfs_uri of type string");
}
