// §2.2 layer 3: encoding/json with DisallowUnknownFields — unknown keys, case-insensitive keys,
// Go 1.19 type-mismatch wording, and which error wins when there are several.

#include <catch2/catch.hpp>

#include "task_yaml.hpp"

using taskstep::test::error_of;
using taskstep::test::with_base;
namespace yaml = taskstep::yaml;

namespace {
const std::string unknown = "error unmarshaling JSON: while decoding JSON: json: unknown field ";
const std::string cannot = "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ";
}  // namespace

TEST_CASE("an unknown key is rejected at every level of the config", "[yaml][strict]") {
  CHECK(error_of(with_base("intputs: []\n")) == unknown + "\"intputs\"");
  CHECK(error_of(with_base("limits: {cpu: 1}\n")) == unknown + "\"limits\"");
  CHECK(error_of(with_base("image: foo\n")) == unknown + "\"image\"");
  CHECK(error_of("platform: linux\nrun: {path: x, env: y}\n") == unknown + "\"env\"");
  CHECK(error_of(with_base("image_resource: {type: t, source: {}, tag: latest}\n")) == unknown + "\"tag\"");
  CHECK(error_of(with_base("inputs: [{name: a, optinal: true}]\n")) == unknown + "\"optinal\"");
  CHECK(error_of(with_base("outputs: [{name: a, optional: true}]\n")) == unknown + "\"optional\"");
  CHECK(error_of(with_base("caches: [{path: a, name: b}]\n")) == unknown + "\"name\"");
}

TEST_CASE("an unknown key keeps its spelling and quoting in the message", "[yaml][strict]") {
  CHECK(error_of(with_base("Bogus: 1\n")) == unknown + "\"Bogus\"");
  CHECK(error_of(with_base("\"we\\\"ird\": 1\n")) == unknown + "\"we\\\"ird\"");
  CHECK(error_of(with_base("y: 1\n")) == unknown + "\"true\"");
  CHECK(error_of(with_base("12: 1\n")) == unknown + "\"12\"");
}

TEST_CASE("keys inside image_resource source and params are free-form", "[yaml][strict]") {
  auto c = yaml::parse_task_config(with_base("image_resource:\n  type: t\n  source: {anything: 1}\n  params: {whatever: x}\n"));
  REQUIRE(c);
  CHECK(c->image_resource->source.data.find(taskstep::value("anything")) != nullptr);
}

TEST_CASE("keys match fields case-insensitively, as Go's encoding/json does", "[yaml][strict]") {
  auto c = yaml::parse_task_config("Platform: linux\nRUN: {PATH: x, Args: [a]}\nInputs: [{NAME: i, Optional: true}]\n");
  REQUIRE(c);
  CHECK(c->platform == "linux");
  CHECK(c->run.path == "x");
  CHECK(c->run.args == std::vector<std::string>{"a"});
  REQUIRE(c->inputs.size() == 1);
  CHECK(c->inputs[0].name == "i");
  CHECK(c->inputs[0].optional);
  auto limits = yaml::parse_task_config(with_base("CONTAINER_LIMITS: {cpu: 2}\nRootFS_URI: r\n"));
  REQUIRE(limits);
  REQUIRE(limits->container_limits);
  CHECK(limits->container_limits->cpu == 2u);
  CHECK(limits->rootfs_uri == "r");
}

TEST_CASE("an exact key and a differently-cased one both land in the field, the later in JSON order winning",
          "[yaml][strict]") {
  // JSON object keys are sorted bytewise: "Platform" comes before "platform".
  auto c = yaml::parse_task_config("platform: lower\nPlatform: upper\nrun: {path: x}\n");
  REQUIRE(c);
  CHECK(c->platform == "lower");
}

TEST_CASE("Go's case folding also matches the long s (U+017F) to s", "[yaml][strict][unicode]") {
  // encoding/json (Go 1.19) compares names with equalFoldRight for fields holding 's' or 'k':
  // U+017F LATIN SMALL LETTER LONG S folds to 's'. Not spelled out in the spec (§2.2 says "Go's json rule").
  auto c = yaml::parse_task_config(with_base("input\xC5\xBF: [{name: a}]\n"));
  REQUIRE(c);
  CHECK(c->inputs.size() == 1);
}

TEST_CASE("a value of the wrong JSON type names the Go struct field and type", "[yaml][strict]") {
  CHECK(error_of(with_base("inputs: [{name: a, optional: \"true\"}]\n")) ==
        cannot + "string into Go struct field TaskInputConfig.inputs.optional of type bool");
  CHECK(error_of(with_base("inputs: [{name: a, optional: 1}]\n")) ==
        cannot + "number into Go struct field TaskInputConfig.inputs.optional of type bool");
  CHECK(error_of(with_base("inputs: {name: a}\n")) ==
        cannot + "object into Go struct field TaskConfig.inputs of type []atc.TaskInputConfig");
  CHECK(error_of(with_base("inputs: [x]\n")) ==
        cannot + "string into Go struct field TaskConfig.inputs of type atc.TaskInputConfig");
  CHECK(error_of(with_base("outputs: [{name: {a: b}}]\n")) ==
        cannot + "object into Go struct field TaskOutputConfig.outputs.name of type string");
  CHECK(error_of(with_base("caches: [{path: [a]}]\n")) ==
        cannot + "array into Go struct field TaskCacheConfig.caches.path of type string");
  CHECK(error_of(with_base("caches: x\n")) ==
        cannot + "string into Go struct field TaskConfig.caches of type []atc.TaskCacheConfig");
}

TEST_CASE("run and its args report TaskRunConfig type errors", "[yaml][strict]") {
  CHECK(error_of("platform: linux\nrun: x\n") ==
        cannot + "string into Go struct field TaskConfig.run of type atc.TaskRunConfig");
  CHECK(error_of("platform: linux\nrun: [x]\n") ==
        cannot + "array into Go struct field TaskConfig.run of type atc.TaskRunConfig");
  CHECK(error_of("platform: linux\nrun: {path: x, args: [{a: b}]}\n") ==
        cannot + "object into Go struct field TaskRunConfig.run.args of type string");
  CHECK(error_of("platform: linux\nrun: {path: x, args: [[a]]}\n") ==
        cannot + "array into Go struct field TaskRunConfig.run.args of type string");
  CHECK(error_of("platform: linux\nrun: {path: x, args: foo}\n") ==
        cannot + "string into Go struct field TaskRunConfig.run.args of type []string");
  CHECK(error_of("platform: linux\nrun: {path: [x]}\n") ==
        cannot + "array into Go struct field TaskRunConfig.run.path of type string");
}

TEST_CASE("type errors use the Go field name even when the key was spelled in another case", "[yaml][strict]") {
  CHECK(error_of("platform: linux\nRUN: {PATH: x, ARGS: foo}\n") ==
        cannot + "string into Go struct field TaskRunConfig.run.args of type []string");
}

TEST_CASE("image_resource fields report ImageResource type errors", "[yaml][strict]") {
  CHECK(error_of(with_base("image_resource: 5\n")) ==
        cannot + "number into Go struct field TaskConfig.image_resource of type atc.ImageResource");
  CHECK(error_of(with_base("image_resource: {type: t, source: 5}\n")) ==
        cannot + "number into Go struct field ImageResource.image_resource.source of type atc.Source");
  CHECK(error_of(with_base("image_resource: {type: t, source: {}, params: [a]}\n")) ==
        cannot + "array into Go struct field ImageResource.image_resource.params of type atc.Params");
  CHECK(error_of(with_base("image_resource: {type: t, source: {}, version: [a]}\n")) ==
        cannot + "array into Go struct field ImageResource.image_resource.version of type atc.Version");
  CHECK(error_of(with_base("image_resource: {type: t, source: {}, version: {a: [b]}}\n")) ==
        cannot + "array into Go struct field ImageResource.image_resource.version of type string");
  CHECK(error_of(with_base("image_resource: {type: [t], source: {}}\n")) ==
        cannot + "array into Go struct field ImageResource.image_resource.type of type string");
}

TEST_CASE("a document that is not a map cannot become a TaskConfig", "[yaml][strict]") {
  CHECK(error_of("- a\n") == cannot + "array into Go value of type atc.TaskConfig");
  CHECK(error_of("foo\n") == cannot + "string into Go value of type atc.TaskConfig");
  CHECK(error_of("5\n") == cannot + "number into Go value of type atc.TaskConfig");
  CHECK(error_of("true\n") == cannot + "bool into Go value of type atc.TaskConfig");
}

TEST_CASE("optional accepts YAML 1.1 booleans and null", "[yaml][strict]") {
  auto c = yaml::parse_task_config(with_base("inputs: [{name: a, optional: yes}, {name: b, optional: ~}, {name: c, optional: off}]\n"));
  REQUIRE(c);
  CHECK(c->inputs[0].optional);
  CHECK_FALSE(c->inputs[1].optional);
  CHECK_FALSE(c->inputs[2].optional);
}

TEST_CASE("of two decoding errors the one under the first key in sorted order wins", "[yaml][strict]") {
  // "inputs" < "platform" < "zzz": the saved error is the first one met.
  CHECK(error_of("zzz: 1\nplatform: [a]\nrun: {path: x}\ninputs: [{optional: x}]\n") ==
        cannot + "string into Go struct field TaskInputConfig.inputs.optional of type bool");
  CHECK(error_of("platform: [a]\nrun: {path: x}\naaa: 1\n") == unknown + "\"aaa\"");
  CHECK(error_of("platform: [a]\nrun: {path: x}\nzzz: 1\n") ==
        cannot + "array into Go struct field TaskConfig.platform of type string");
  // Upper-case keys sort before lower-case ones.
  CHECK(error_of("platform: [a]\nrun: {path: x}\nZzz: 1\n") == unknown + "\"Zzz\"");
  // Inside one list the first element's error wins.
  CHECK(error_of(with_base("inputs: [{name: a, optional: x}, {bogus: 1}]\n")) ==
        cannot + "string into Go struct field TaskInputConfig.inputs.optional of type bool");
  CHECK(error_of(with_base("inputs: [{bogus: 1}, {name: a, optional: x}]\n")) == unknown + "\"bogus\"");
}

TEST_CASE("an error from params or container_limits ends decoding even after an earlier error", "[yaml][strict]") {
  CHECK(error_of(with_base("caches: x\ncontainer_limits: {cpu: '1'}\n")) ==
        "error unmarshaling JSON: while decoding JSON: cpu limit must be an integer");
  CHECK(error_of(with_base("aaa: 1\nparams: [a]\n")) ==
        cannot + "array into Go struct field TaskConfig.params of type map[string]atc.CoercedString");
  CHECK(error_of(with_base("inputs: x\nparams: 5\n")) ==
        cannot + "number into Go struct field TaskConfig.params of type map[string]atc.CoercedString");
  // ...but an error under a later key does not displace it.
  CHECK(error_of(with_base("params: [a]\nzzz: 1\n")) ==
        cannot + "array into Go struct field TaskConfig.params of type map[string]atc.CoercedString");
}

TEST_CASE("decode errors are reported before validation runs", "[yaml][strict]") {
  CHECK(error_of("intputs: []\n") == unknown + "\"intputs\"");
  auto r = yaml::parse_task_config("intputs: []\n");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == taskstep::errc::decode);
}

TEST_CASE("decode_task_config decodes without validating", "[yaml][strict]") {
  auto tree = yaml::parse("inputs: [{}]\n");
  REQUIRE(tree);
  auto c = yaml::decode_task_config(*tree);
  REQUIRE(c);
  CHECK(c->platform.empty());
  CHECK(c->inputs.size() == 1);
  auto bad = yaml::decode_task_config(taskstep::value(taskstep::sequence{taskstep::value("a")}));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message() == cannot + "array into Go value of type atc.TaskConfig");
}

TEST_CASE("inside a nested struct the first key in sorted order wins too", "[yaml][strict]") {
  CHECK(error_of("platform: linux\nrun: {path: x, dir: [d], args: foo}\n") ==
        cannot + "string into Go struct field TaskRunConfig.run.args of type []string");
  CHECK(error_of("platform: linux\nrun: {path: x, user: [u], dir: [d]}\n") ==
        cannot + "array into Go struct field TaskRunConfig.run.dir of type string");
}
