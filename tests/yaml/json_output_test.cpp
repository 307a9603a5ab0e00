// `yaml::to_json(task_config)` = Go's json.Marshal(atc.TaskConfig): field order of the Go struct,
// omitempty where the struct has it, `run` always present, image_resource.source numbers as float64.

#include <catch2/catch.hpp>

#include "task_yaml.hpp"

using taskstep::test::json_of;
using taskstep::test::with_base;
namespace yaml = taskstep::yaml;

namespace {

// json.Marshal of a config that was decoded but not validated.
std::string unvalidated_json_of(std::string_view text) {
  auto tree = yaml::parse(text);
  REQUIRE(tree);
  auto c = yaml::decode_task_config(*tree);
  REQUIRE(c);
  return yaml::to_json(*c);
}

}  // namespace

TEST_CASE("a minimal config marshals platform and run only", "[yaml][json]") {
  CHECK(json_of("platform: linux\nrun: {path: x}\n") == R"({"platform":"linux","run":{"path":"x"}})");
}

TEST_CASE("every field marshals in the Go struct's order", "[yaml][json]") {
  // Keys written in reverse order on purpose.
  const char* text =
      "caches: [{path: c}, {}]\n"
      "outputs: [{name: o, path: q}]\n"
      "inputs: [{name: a, path: p, optional: true}, {name: b}]\n"
      "run: {user: root, dir: d, args: [-c, echo], path: sh}\n"
      "params: {B: 2, A: \"<&>\"}\n"
      "container_limits: {memory: 1GB, cpu: 512}\n"
      "image_resource:\n"
      "  version: {digest: sha}\n"
      "  params: {format: oci}\n"
      "  source: {repository: busybox, big: 18446744073709551615}\n"
      "  type: registry-image\n"
      "rootfs_uri: docker:///busybox\n"
      "platform: linux\n";
  CHECK(json_of(text) ==
        R"({"platform":"linux","rootfs_uri":"docker:///busybox",)"
        R"("image_resource":{"type":"registry-image","source":{"big":18446744073709552000,"repository":"busybox"},)"
        R"("params":{"format":"oci"},"version":{"digest":"sha"}},)"
        R"("container_limits":{"cpu":512,"memory":1073741824},)"
        R"("params":{"A":"\u003c\u0026\u003e","B":"2"},)"
        R"("run":{"path":"sh","args":["-c","echo"],"dir":"d","user":"root"},)"
        R"("inputs":[{"name":"a","path":"p","optional":true},{"name":"b"}],)"
        R"("outputs":[{"name":"o","path":"q"}],)"
        R"("caches":[{"path":"c"},{}]})");
}

TEST_CASE("run, run.path, input names and output names are emitted even when empty", "[yaml][json]") {
  CHECK(unvalidated_json_of("") == R"({"run":{"path":""}})");
  CHECK(unvalidated_json_of("platform: linux\n") == R"({"platform":"linux","run":{"path":""}})");
  CHECK(unvalidated_json_of("inputs: [{}]\noutputs: [{path: p}]\n") ==
        R"({"run":{"path":""},"inputs":[{"name":""}],"outputs":[{"name":"","path":"p"}]})");
}

TEST_CASE("optional is emitted only when true", "[yaml][json]") {
  CHECK(json_of(with_base("inputs: [{name: a, optional: false}, {name: b, optional: true}]\n")) ==
        R"({"platform":"linux","run":{"path":"x"},"inputs":[{"name":"a"},{"name":"b","optional":true}]})");
}

TEST_CASE("empty lists, maps and strings are omitted", "[yaml][json]") {
  CHECK(json_of(with_base("rootfs_uri: ''\nparams: {}\ninputs: []\noutputs: []\ncaches: []\n"
                          "image_resource: ~\n")) == R"({"platform":"linux","run":{"path":"x"}})");
  CHECK(json_of("platform: linux\nrun: {path: x, args: [], dir: '', user: ~}\n") ==
        R"({"platform":"linux","run":{"path":"x"}})");
}

TEST_CASE("an empty cache marshals as an empty object", "[yaml][json]") {
  CHECK(json_of(with_base("caches: [{}, {path: ''}]\n")) == R"({"platform":"linux","run":{"path":"x"},"caches":[{},{}]})");
}

TEST_CASE("image_resource always carries type and source, source null when absent", "[yaml][json]") {
  CHECK(json_of(with_base("image_resource: {type: t}\n")) ==
        R"({"platform":"linux","image_resource":{"type":"t","source":null},"run":{"path":"x"}})");
  CHECK(json_of(with_base("image_resource: {type: t, source: ~}\n")) ==
        R"({"platform":"linux","image_resource":{"type":"t","source":null},"run":{"path":"x"}})");
  CHECK(json_of(with_base("image_resource: {}\n")) ==
        R"({"platform":"linux","image_resource":{"type":"","source":null},"run":{"path":"x"}})");
  CHECK(json_of(with_base("image_resource: {type: t, source: {}, params: {}, version: {}}\n")) ==
        R"({"platform":"linux","image_resource":{"type":"t","source":{}},"run":{"path":"x"}})");
}

TEST_CASE("image_resource source numbers go through float64", "[yaml][json]") {
  CHECK(json_of(with_base("image_resource:\n  type: t\n  source:\n    big: 18446744073709551615\n"
                          "    neg: -9223372036854775808\n    int: 10\n    f: 1.50\n    e: 1e21\n    tiny: 1e-7\n"
                          "    hex: 0x1F\n    nested: {list: [1, 2.0, true, ~]}\n    s: '01'\n")) ==
        R"({"platform":"linux","image_resource":{"type":"t","source":{"big":18446744073709552000,"e":1e+21,)"
        R"("f":1.5,"hex":31,"int":10,"neg":-9223372036854776000,"nested":{"list":[1,2,true,null]},"s":"01","tiny":1e-7}},)"
        R"("run":{"path":"x"}})");
}

TEST_CASE("image_resource source keys are stringified and sorted", "[yaml][json]") {
  CHECK(json_of(with_base("image_resource: {type: t, source: {b: 1, 2: x, true: v, a: {z: 1, w: 2}}}\n")) ==
        R"({"platform":"linux","image_resource":{"type":"t","source":{"2":"x","a":{"w":2,"z":1},"b":1,"true":"v"}},)"
        R"("run":{"path":"x"}})");
}

TEST_CASE("container_limits marshals only the keys that are set, zero included", "[yaml][json]") {
  CHECK(json_of(with_base("container_limits: {cpu: 0}\n")) ==
        R"({"platform":"linux","container_limits":{"cpu":0},"run":{"path":"x"}})");
  CHECK(json_of(with_base("container_limits: {}\n")) ==
        R"({"platform":"linux","container_limits":{},"run":{"path":"x"}})");
  CHECK(json_of(with_base("container_limits: {cpu: -1}\n")) ==
        R"({"platform":"linux","container_limits":{"cpu":18446744073709551615},"run":{"path":"x"}})");
}

TEST_CASE("params marshal as sorted strings with HTML-safe escaping", "[yaml][json]") {
  CHECK(json_of(with_base("params: {Z: 1.0, a: \"x\\ny\", M: [1], E: ~}\n")) ==
        R"({"platform":"linux","params":{"E":"","M":"[1]","Z":"1","a":"x\ny"},"run":{"path":"x"}})");
}

TEST_CASE("to_yaml_tree gives a YAML-flavoured tree that decodes back to the same config", "[yaml][json]") {
  auto c = yaml::parse_task_config(with_base(
      "image_resource: {type: t, source: {n: 1}}\ncontainer_limits: {cpu: 2}\nparams: {A: b}\n"
      "inputs: [{name: i, optional: true}]\ncaches: [{}]\n"));
  REQUIRE(c);
  auto tree = yaml::to_yaml_tree(*c);
  REQUIRE(tree.is_mapping());
  CHECK(tree.origin == taskstep::value::map_kind::yaml);
  REQUIRE(tree.as_mapping().size() == 7);
  CHECK(tree.as_mapping()[0].key == taskstep::value("platform"));
  CHECK(tree.as_mapping()[1].key == taskstep::value("image_resource"));
  CHECK(tree.as_mapping()[2].key == taskstep::value("container_limits"));
  const taskstep::value* ir = tree.find(taskstep::value("image_resource"));
  REQUIRE(ir);
  CHECK(ir->origin == taskstep::value::map_kind::yaml);
  auto again = yaml::decode_task_config(tree);
  REQUIRE(again);
  CHECK(yaml::to_json(*again) == yaml::to_json(*c));
}
