// parse_task_config on whole documents: YAML errors get sigs.k8s.io/yaml's prefix, anchors and merge
// keys work inside a task, and an empty document reaches validation.

#include <catch2/catch.hpp>

#include "task_yaml.hpp"

using taskstep::test::error_of;
using taskstep::test::json_of;
namespace yaml = taskstep::yaml;

namespace {
const std::string convert = "error converting YAML to JSON: ";
}

TEST_CASE("a YAML syntax error is reported with go-yaml's words behind the conversion prefix", "[yaml][document]") {
  CHECK(error_of("platform: [x\n") == convert + "yaml: line 1: did not find expected ',' or ']'");
  CHECK(error_of("platform: linux\nrun:\n\tpath: x\n") == convert + "yaml: line 3: found character that cannot start any token");
  CHECK(error_of("platform: linux: x\n") == convert + "yaml: mapping values are not allowed in this context");
  auto r = yaml::parse_task_config("platform: [x\n");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == taskstep::errc::yaml_syntax);
}

TEST_CASE("an empty document fails validation on platform and run path", "[yaml][document]") {
  const std::string expected = "invalid task configuration:\nmissing 'platform'\nmissing path to executable to run";
  CHECK(error_of("") == expected);
  CHECK(error_of("# nothing here\n") == expected);
  CHECK(error_of("---\n") == expected);
  CHECK(error_of("~\n") == expected);
  CHECK(error_of("{}\n") == expected);
}

TEST_CASE("a duplicate key in a task file is a conversion error", "[yaml][document]") {
  CHECK(error_of("platform: linux\nplatform: windows\nrun: {path: x}\n") ==
        convert + "yaml: unmarshal errors:\n  line 2: key \"platform\" already set in map");
  CHECK(error_of("platform: linux\nrun:\n  path: x\n  path: y\ninputs:\n- name: a\n  name: b\n") ==
        convert + "yaml: unmarshal errors:\n  line 4: key \"path\" already set in map\n"
                  "  line 7: key \"name\" already set in map");
}

TEST_CASE("duplicate keys are found before unknown fields or validation", "[yaml][document]") {
  CHECK(error_of("bogus: 1\nbogus: 2\n") == convert + "yaml: unmarshal errors:\n  line 2: key \"bogus\" already set in map");
}

TEST_CASE("two keys that differ only in case are not YAML duplicates", "[yaml][document]") {
  CHECK(error_of("platform: linux\nPLATFORM: linux\nrun: {path: x}\n") == "<no error>");
}

TEST_CASE("anchors and aliases can be used inside a task file", "[yaml][document]") {
  auto c = yaml::parse_task_config(
      "platform: &p linux\nrun: {path: *p, args: [*p]}\ninputs: [&i {name: a, path: p}, *i]\n"
      "params: {A: &v hello, B: *v}\n");
  REQUIRE(c);
  CHECK(c->run.path == "linux");
  CHECK(c->run.args == std::vector<std::string>{"linux"});
  REQUIRE(c->inputs.size() == 2);
  CHECK(c->inputs[1].name == "a");
  CHECK(c->inputs[1].path == "p");
  CHECK(c->params.at("B") == "hello");
}

TEST_CASE("merge keys extend an entry in a task file", "[yaml][document]") {
  auto c = yaml::parse_task_config(
      "platform: linux\nrun: {path: x}\ninputs:\n- &i {name: a, path: p}\n- <<: *i\n  optional: true\n");
  REQUIRE(c);
  REQUIRE(c->inputs.size() == 2);
  CHECK(c->inputs[1].name == "a");
  CHECK(c->inputs[1].path == "p");
  CHECK(c->inputs[1].optional);
}

TEST_CASE("overriding a merged key in a task file is a duplicate-key error", "[yaml][document]") {
  CHECK(error_of("platform: linux\nrun: {path: x}\ninputs:\n- &i {name: a, path: p}\n- <<: *i\n  name: b\n") ==
        convert + "yaml: unmarshal errors:\n  line 6: key \"name\" already set in map");
}

TEST_CASE("an alias to an unknown anchor in a task file is a conversion error", "[yaml][document]") {
  CHECK(error_of("platform: *x\nrun: {path: x}\n") == convert + "yaml: unknown anchor 'x' referenced");
}

TEST_CASE("a boolean-looking top-level key becomes an unknown field named true or false", "[yaml][document]") {
  CHECK(error_of("platform: linux\nrun: {path: x}\nno: 1\n") ==
        "error unmarshaling JSON: while decoding JSON: json: unknown field \"false\"");
}

TEST_CASE("a realistic task file decodes and marshals", "[yaml][document]") {
  const char* text = R"(---
platform: linux

image_resource:
  type: registry-image
  source: {repository: golang, tag: "1.15"}

inputs:
- name: repo
- name: cache
  optional: true

outputs:
- name: built
  path: out/bin

caches:
- path: .go/pkg

params:
  CGO_ENABLED: 0
  GOFLAGS: -mod=vendor
  VERBOSE: yes

run:
  path: sh
  args:
  - -exc
  - |
    cd repo
    go build -o ../out/bin ./...
)";
  CHECK(json_of(text) ==
        R"({"platform":"linux","image_resource":{"type":"registry-image","source":{"repository":"golang","tag":"1.15"}},)"
        R"("params":{"CGO_ENABLED":"0","GOFLAGS":"-mod=vendor","VERBOSE":"true"},)"
        R"("run":{"path":"sh","args":["-exc","cd repo\ngo build -o ../out/bin ./...\n"]},)"
        R"("inputs":[{"name":"repo"},{"name":"cache","optional":true}],"outputs":[{"name":"built","path":"out/bin"}],)"
        R"("caches":[{"path":".go/pkg"}]})");
}

TEST_CASE("a task file lists every validation problem in 6.7's format", "[yaml][document]") {
  CHECK(error_of("inputs: [{}, {name: x}, {}]\noutputs: [{}]\n") ==
        "invalid task configuration:\n"
        "missing 'platform'\n"
        "missing path to executable to run\n"
        "  input in position 0 is missing a name\n"
        "  input in position 2 is missing a name\n"
        "  output in position 0 is missing a name");
  auto r = yaml::parse_task_config("inputs: [{}]\n");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == taskstep::errc::invalid_config);
}

TEST_CASE("a null run leaves the path missing", "[yaml][document]") {
  CHECK(error_of("platform: linux\nrun: ~\n") == "invalid task configuration:\nmissing path to executable to run");
  CHECK(error_of("platform: linux\nrun: {}\ninputs: ~\n") ==
        "invalid task configuration:\nmissing path to executable to run");
}

TEST_CASE("CRLF line endings are accepted", "[yaml][document]") {
  auto c = yaml::parse_task_config("platform: linux\r\nrun:\r\n  path: x\r\nparams:\r\n  A: |\r\n    one\r\n    two\r\n");
  REQUIRE(c);
  CHECK(c->run.path == "x");
  CHECK(c->params.at("A") == "one\ntwo\n");
}

TEST_CASE("a quoted << key at the top level is an unknown field", "[yaml][document]") {
  CHECK(error_of("platform: linux\nrun: {path: x}\n'<<': {a: 1}\n") ==
        "error unmarshaling JSON: while decoding JSON: json: unknown field \"<<\"");
}
