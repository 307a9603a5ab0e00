// config::yaml_node_source (a YAML::Node held by an embedder) against config::file_source reading the
// same text from a real file: the same configs, the same errors, word for word.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "common/temp_dir.hpp"
#include "taskstep/artifact/directory_repository.hpp"
#include "taskstep/config/config.hpp"
#include "taskstep/config/yaml_cpp_emit.hpp"
#include "taskstep/config/yaml_cpp_source.hpp"

using namespace taskstep;

namespace {

// Both sources on `text`: the file source reads ci/t.yml from a real directory, the node source
// gets YAML::Load(text) with the same origin.
struct both {
  result<task_config> from_file = fail(errc::io, "unset");
  result<task_config> from_node = fail(errc::io, "unset");
};

both fetch_both(const std::string& text) {
  test::temp_dir dir;
  dir.write("ci/t.yml", text);
  artifact::directory_repository repo;
  repo.add("ci", dir.path() / "ci");
  both out;
  out.from_file = config::file_source("ci/t.yml", repo).fetch();
  out.from_node = config::yaml_node_source(YAML::Load(text), "ci/t.yml").fetch();
  return out;
}

void check_same(const std::string& text) {
  INFO("task file:\n" << text);
  const auto r = fetch_both(text);
  REQUIRE(r.from_file.has_value() == r.from_node.has_value());
  if (r.from_file) {
    CHECK(yaml::to_json(*r.from_node) == yaml::to_json(*r.from_file));
  } else {
    CHECK(r.from_node.error().message() == r.from_file.error().message());
    CHECK(r.from_node.error().code() == r.from_file.error().code());
  }
}

}  // namespace

TEST_CASE("a YAML::Node decodes to the same config as the task file", "[config][yaml-cpp]") {
  const std::string text =
      "platform: linux\n"
      "image_resource: {type: registry-image, source: {repository: busybox, tag: '1.36'}}\n"
      "params: {A: yes, B: 'yes', C: 0x1F, D: 1e3, E: ~, F: [1, a], G: {k: v}, H: 2020-01-02, I: !!str 12}\n"
      "inputs: [{name: src, optional: no}, {name: ci, path: a/b}]\n"
      "outputs: [{name: out}]\n"
      "caches: [{path: .cache}]\n"
      "container_limits: {memory: 1KB, cpu: 512}\n"
      "run: {path: sh, args: [-c, 'echo hi'], dir: src, user: root}\n";
  const auto r = fetch_both(text);
  REQUIRE(r.from_file);
  REQUIRE(r.from_node);
  CHECK(yaml::to_json(*r.from_node) == yaml::to_json(*r.from_file));
  CHECK(r.from_node->params.at("A") == "true");
  CHECK(r.from_node->params.at("B") == "yes");
  CHECK(r.from_node->params.at("C") == "31");
  CHECK(r.from_node->params.at("I") == "12");
}

TEST_CASE("a YAML::Node with an unknown field fails with the task file's message", "[config][yaml-cpp]") {
  const std::string text = "platform: linux\nrun: {path: x}\nintputs: []\n";
  const auto r = fetch_both(text);
  REQUIRE_FALSE(r.from_node);
  CHECK(r.from_node.error().message() ==
        "failed to create task config from bytes ci/t.yml: error unmarshaling JSON: while decoding JSON: "
        "json: unknown field \"intputs\"");
  check_same(text);
}

TEST_CASE("a YAML::Node with wrong types fails with the task file's messages", "[config][yaml-cpp]") {
  check_same("platform: linux\nrun: {path: x, args: 5}\n");
  check_same("platform: linux\nrun: {path: [a]}\n");
  check_same("platform: linux\nrun: {path: x}\ninputs: {name: a}\n");
  check_same("platform: linux\nrun: {path: x}\ncontainer_limits: {memory: lots}\n");
  check_same("platform: linux\nrun: {path: x}\nparams: {A: !!int abc}\n");
  check_same("platform: linux\nrun: {path: x}\nprivileged: 'true'\n");
  check_same("{1: 2}\n");
  check_same("- a\n- b\n");
  check_same("just a string\n");
}

TEST_CASE("a YAML::Node missing its platform fails validation as the task file does", "[config][yaml-cpp]") {
  const std::string text = "run: {path: x}\ninputs: [{name: ''}]\n";
  const auto r = fetch_both(text);
  REQUIRE_FALSE(r.from_node);
  CHECK(r.from_node.error().code() == errc::invalid_config);
  CHECK(r.from_node.error().message() ==
        "failed to create task config from bytes ci/t.yml: invalid task configuration:\n"
        "missing 'platform'\n  input in position 0 is missing a name");
  check_same(text);
  check_same("");
}

TEST_CASE("a YAML::Node with merge keys and duplicate keys reads as go-yaml reads the file", "[config][yaml-cpp]") {
  check_same("base: &b {path: sh, args: [x]}\nplatform: linux\nrun: {<<: *b, dir: d}\n");
  check_same("platform: linux\nrun: {<<: [{path: a}, {path: b, user: u}]}\n");
  // go-yaml's strict mode: the second key is an error, with its line.
  const std::string dup = "platform: linux\nrun: {path: x}\nplatform: windows\n";
  const auto r = fetch_both(dup);
  REQUIRE_FALSE(r.from_node);
  CHECK(r.from_node.error().message() ==
        "failed to create task config from bytes ci/t.yml: error converting YAML to JSON: yaml: unmarshal errors:\n"
        "  line 3: key \"platform\" already set in map");
  check_same(dup);
}

TEST_CASE("a YAML::Node built in C++ is read as yaml-cpp's emitter would write it", "[config][yaml-cpp]") {
  YAML::Node node;
  node["platform"] = "linux";
  node["run"]["path"] = "echo";
  node["run"]["args"].push_back("hi");
  node["params"]["NUM"] = 3;
  node["params"]["N"] = "x";  // a plain N is YAML 1.1's false, as in a task file
  node["params"]["T"] = true;
  auto r = config::yaml_node_source(node).fetch();
  REQUIRE(r);
  CHECK(yaml::to_json(*r) == R"({"platform":"linux","params":{"NUM":"3","T":"true","false":"x"},"run":{"path":"echo","args":["hi"]}})");

  YAML::Node bad;
  bad["run"]["path"] = "echo";
  bad["platform"] = YAML::Node(YAML::NodeType::Sequence);
  auto e = config::yaml_node_source(bad).fetch();
  REQUIRE_FALSE(e);
  CHECK(e.error().message() ==
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go struct field "
        "TaskConfig.platform of type string");
}

TEST_CASE("a self-referencing YAML::Node is an error value, not a crash", "[config][yaml-cpp]") {
  YAML::Node node;
  node["platform"] = "linux";
  node["run"] = node;
  auto r = config::yaml_node_source(node).fetch();
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::yaml_syntax);
  CHECK(r.error().message() == "error converting YAML to JSON: yaml: line 0: a node contains itself");
}

TEST_CASE("a YAML::Node nested deeper than yaml-cpp parses is an error value", "[config][yaml-cpp]") {
  YAML::Node root("leaf");
  for (int i = 0; i < 2100; ++i) {
    YAML::Node parent(YAML::NodeType::Sequence);
    parent.push_back(root);
    root.reset(parent);  // rebinds (operator= would assign into the child)
  }
  auto r = config::yaml_cpp_tree(root);
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "yaml: line 0: exceeded max depth of 2000");
}

TEST_CASE("to_yaml_text writes the config with the JSON output's keys and order", "[config][yaml-cpp]") {
  auto c = config::yaml_node_source(YAML::Load(
      "run: {args: [-c, 'a: b'], path: sh}\nplatform: linux\nparams: {Z: 'true', A: '1', M: '~'}\n")).fetch();
  REQUIRE(c);
  auto text = config::to_yaml_text(*c);
  REQUIRE(text);
  CHECK(*text ==
        "platform: linux\n"
        "params:\n"
        "  A: \"1\"\n"
        "  M: \"~\"\n"
        "  Z: \"true\"\n"
        "run:\n"
        "  path: sh\n"
        "  args:\n"
        "    - -c\n"
        "    - \"a: b\"\n");
  auto back = config::yaml_node_source(YAML::Load(*text)).fetch();
  REQUIRE(back);
  CHECK(yaml::to_json(*back) == yaml::to_json(*c));
}
