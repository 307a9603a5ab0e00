// The interpolate source: serialise, resolve ((vars)), decode and validate again (§3.4, §4.3, §14.4).
#include <catch2/catch.hpp>

#include <initializer_list>
#include <memory>
#include <set>
#include <string>

#include "common/catch_printers.hpp"
#include "common/config_support.hpp"
#include "taskstep/config/config.hpp"

using namespace taskstep;
using taskstep::test::config_from_yaml;
using taskstep::test::error_text;
using taskstep::test::static_from_yaml;

namespace {

template <class Vars>
result<task_config> interpolated(std::string_view config_yaml, Vars vars, bool expect_all_keys = true) {
  auto s = config::static_source(config_from_yaml(config_yaml)) | config::interpolate(std::move(vars), expect_all_keys);
  return s.fetch();
}

// Pipeline `vars:` are JSON-decoded: numbers are float64 and maps are map[string]interface {}.
vars::static_vars pipeline_vars(std::initializer_list<std::pair<const char*, value>> entries) {
  vars::static_vars v;
  for (const auto& [k, val] : entries) v.set(k, val);
  return v;
}

}  // namespace

TEST_CASE("vars are resolved in every field of the config", "[config][interpolate]") {
  auto r = interpolated(
      "platform: ((p))\n"
      "rootfs_uri: ((rootfs))\n"
      "image_resource: {type: ((t)), source: {repository: ((repo)), tag: x-((tag))}}\n"
      "run: {path: ((path)), args: ['--port=((port))', ((whole))], dir: ((dir)), user: ((user))}\n"
      "params: {A: ((a)), ((k)): v}\n"
      "inputs: [{name: ((in)), path: ((in))-path}]\n"
      "outputs: [{name: ((out))}]\n"
      "caches: [{path: ((cache))}]\n",
      static_from_yaml("p: linux\nrootfs: docker:///busybox\nt: registry-image\nrepo: busybox\ntag: 1\n"
                       "path: /bin/sh\nport: 8080\nwhole: w\ndir: d\nuser: root\na: A\nk: KEY\nin: src\n"
                       "out: dist\ncache: c"));
  REQUIRE(r);
  CHECK(r->platform == "linux");
  CHECK(r->rootfs_uri == "docker:///busybox");
  REQUIRE(r->image_resource);
  CHECK(r->image_resource->type == "registry-image");
  CHECK(test::json_of(r->image_resource->source.data) == R"({"repository":"busybox","tag":"x-1"})");
  CHECK(r->run.path == "/bin/sh");
  CHECK(r->run.args == std::vector<std::string>{"--port=8080", "w"});
  CHECK(r->run.dir == "d");
  CHECK(r->run.user == "root");
  CHECK(r->params == task_env{{"A", "A"}, {"KEY", "v"}});
  REQUIRE(r->inputs.size() == 1);
  CHECK(r->inputs[0].name == "src");
  CHECK(r->inputs[0].path == "src-path");
  REQUIRE(r->outputs.size() == 1);
  CHECK(r->outputs[0].name == "dist");
  REQUIRE(r->caches.size() == 1);
  CHECK(r->caches[0].path == "c");
}

TEST_CASE("fields without vars survive the round trip", "[config][interpolate]") {
  auto r = interpolated(
      "platform: linux\nrun: {path: x, args: ['true', '1', '']}\ncontainer_limits: {cpu: 512, memory: 1GB}\n"
      "inputs: [{name: a, optional: true}]\nparams: {NUM: '1', E: ''}\n",
      vars::no_vars{});
  REQUIRE(r);
  CHECK(r->run.args == std::vector<std::string>{"true", "1", ""});
  REQUIRE(r->container_limits);
  CHECK(r->container_limits->cpu == std::optional<std::uint64_t>(512));
  CHECK(r->container_limits->memory == std::optional<std::uint64_t>(1073741824));
  REQUIRE(r->inputs.size() == 1);
  CHECK(r->inputs[0].optional);
  CHECK(r->params == task_env{{"E", ""}, {"NUM", "1"}});
}

TEST_CASE("undefined vars are reported with the interpolation prefix", "[config][interpolate]") {
  CHECK(error_text(interpolated("platform: ((nope.sub))\nrun: {path: ((nope2))}", vars::no_vars{})) ==
        "failed to interpolate task config: undefined vars: nope.sub, nope2");
}

TEST_CASE("a var lookup error is reported without a lookup prefix", "[config][interpolate]") {
  CHECK(error_text(interpolated("platform: ((m.missing))\nrun: {path: x}", static_from_yaml("m: {a: b}"))) ==
        "failed to interpolate task config: missing field 'missing' in var: m.missing");
}

TEST_CASE("a pipeline number used inline is a non-primitive float64", "[config][interpolate]") {
  CHECK(error_text(interpolated("platform: linux\nrun: {path: x, args: ['host:((port))']}",
                                pipeline_vars({{"port", value(8080.0)}}))) ==
        "failed to interpolate task config: cannot interpolate non-primitive value (float64) from var: port");
  CHECK(error_text(interpolated("platform: linux\nrun: {path: x, args: ['on=((b))']}",
                                pipeline_vars({{"b", value(true)}}))) ==
        "failed to interpolate task config: cannot interpolate non-primitive value (bool) from var: b");
}

TEST_CASE("a map var in run.args is a decode error after interpolation", "[config][interpolate]") {
  CHECK(error_text(interpolated("platform: linux\nrun: {path: x, args: [((m))]}", static_from_yaml("m: {k: v}"))) ==
        "failed to create task config from bytes: error unmarshaling JSON: while decoding JSON: "
        "json: cannot unmarshal object into Go struct field TaskRunConfig.run.args of type string");
}

TEST_CASE("a config that becomes invalid after interpolation fails with the bytes prefix", "[config][interpolate]") {
  CHECK(error_text(interpolated("platform: ((p))\nrun: {path: x}", static_from_yaml("p: ''"))) ==
        "failed to create task config from bytes: invalid task configuration:\nmissing 'platform'");
}

TEST_CASE("an embedded config that was invalid already fails in interpolation", "[config][interpolate]") {
  auto s = config::static_source(config_from_yaml("run: {path: ''}")) | config::interpolate(vars::no_vars{}) |
           config::validating();
  CHECK(error_text(s.fetch()) ==
        "failed to create task config from bytes: invalid task configuration:\n"
        "missing 'platform'\nmissing path to executable to run");
}

TEST_CASE("whole-value vars keep their type and then decode into string fields", "[config][interpolate]") {
  auto r = interpolated("platform: ((n))\nrun: {path: ((b)), args: [((i)), ((f)), ((big)), ((pi)), ((small))]}",
                        pipeline_vars({{"n", value(1000000.0)},
                                       {"b", value(true)},
                                       {"i", value(8080.0)},
                                       {"f", value(1.5)},
                                       {"big", value(12345678.0)},
                                       {"pi", value(3.14159265358979)},
                                       {"small", value(1e21)}}));
  REQUIRE(r);
  CHECK(r->platform == "1e+06");  // float32 %g in string fields
  CHECK(r->run.path == "true");
  CHECK(r->run.args == std::vector<std::string>{"8080", "1.5", "1.2345678e+07", "3.1415927", "1e+21"});
}

TEST_CASE("whole-value vars in params follow the JSON rules", "[config][interpolate]") {
  vars::static_vars v = pipeline_vars({{"n", value(1000000.0)},
                                       {"big", value(12345678.0)},
                                       {"pi", value(3.14159265358979)},
                                       {"nil", value()},
                                       {"b", value(false)},
                                       {"u", value(std::uint64_t{18446744073709551615ULL})}});
  v.set("m", test::yaml_value("{b: 1, a: '<&>', c: {z: [x]}}"));
  v.set("l", test::yaml_value("[1, a, true, null, 1.5]"));
  auto r = interpolated(
      "platform: linux\nrun: {path: x}\n"
      "params: {NUM: ((n)), BIG: ((big)), PI: ((pi)), NIL: ((nil)), B: ((b)), U: ((u)), M: ((m)), L: ((l))}",
      v);
  REQUIRE(r);
  CHECK(r->params == task_env{{"NUM", "1000000"},
                              {"BIG", "12345678"},
                              {"PI", "3.14159265358979"},
                              {"NIL", ""},
                              {"B", "false"},
                              {"U", "18446744073709551615"},
                              {"M", R"({"a":"\u003c\u0026\u003e","b":1,"c":{"z":["x"]}})"},
                              {"L", R"([1,"a",true,null,1.5])"}});
}

TEST_CASE("YAML-typed integers work inline", "[config][interpolate]") {
  auto r = interpolated("platform: linux\nrun: {path: x, args: ['host:((port))']}", static_from_yaml("port: 8080"));
  REQUIRE(r);
  CHECK(r->run.args == std::vector<std::string>{"host:8080"});
}

TEST_CASE("without expect_all_keys undefined vars are left for a later phase", "[config][interpolate]") {
  auto r = interpolated("platform: ((p))\nrun: {path: x, args: ['((cred))', 'a-((cred))-((p))']}",
                        static_from_yaml("p: linux"), false);
  REQUIRE(r);
  CHECK(r->platform == "linux");
  CHECK(r->run.args == std::vector<std::string>{"((cred))", "a-((cred))-linux"});
}

TEST_CASE("without expect_all_keys a var that is missing in platform stays and validates", "[config][interpolate]") {
  auto r = interpolated("platform: ((p))\nrun: {path: x}", vars::no_vars{}, false);
  REQUIRE(r);
  CHECK(r->platform == "((p))");
}

TEST_CASE("old-style vars become null when no static source has them", "[config][interpolate]") {
  auto r = interpolated("platform: linux\nrun: {path: x, args: ['{{foo}}', 'x{{foo}}']}", vars::no_vars{});
  REQUIRE(r);
  CHECK(r->run.args == std::vector<std::string>{"null", "xnull"});
}

TEST_CASE("old-style vars take the JSON text of a static var", "[config][interpolate]") {
  auto r = interpolated("platform: linux\nrun: {path: x, args: ['{{foo}}']}", static_from_yaml("foo: bar"));
  REQUIRE(r);
  CHECK(r->run.args == std::vector<std::string>{"\"bar\""});
}

TEST_CASE("credential values used in the config are tracked", "[config][interpolate]") {
  auto tracker = std::make_shared<vars::credential_tracker>();
  auto r = interpolated("platform: linux\nrun: {path: x}\nparams: {PW: ((pw)), U: ((m.user))}",
                        vars::tracked_vars<vars::static_vars>(static_from_yaml("pw: hunter2\nm: {user: bob}"), tracker));
  REQUIRE(r);
  CHECK(r->params == task_env{{"PW", "hunter2"}, {"U", "bob"}});
  std::set<std::string> recorded;
  for (const auto& [name, v] : tracker->values()) recorded.insert(v);
  CHECK(recorded == std::set<std::string>{"hunter2", "bob"});
}

TEST_CASE("the interpolate source passes inner errors through unprefixed", "[config][interpolate]") {
  auto s = test::canned_source(fail(errc::unknown_artifact, "unknown artifact source: 'a' in task config file path 'a/t.yml'")) |
           config::interpolate(vars::no_vars{});
  CHECK(error_text(s.fetch()) == "unknown artifact source: 'a' in task config file path 'a/t.yml'");
}

TEST_CASE("the interpolate source forwards the inner warnings", "[config][interpolate]") {
  auto s = test::canned_source(config_from_yaml("platform: linux\nrun: {path: x}"), {"w"}) |
           config::interpolate(vars::no_vars{});
  REQUIRE(s.fetch());
  CHECK(s.warnings() == std::vector<std::string>{"w"});
}

TEST_CASE("interpolation errors carry their kind", "[config][interpolate]") {
  auto undefined = interpolated("platform: ((x))\nrun: {path: x}", vars::no_vars{});
  REQUIRE_FALSE(undefined);
  CHECK(undefined.error().code() == errc::undefined_vars);
  auto invalid = interpolated("platform: ((p))\nrun: {path: x}", static_from_yaml("p: ''"));
  REQUIRE_FALSE(invalid);
  CHECK(invalid.error().code() == errc::invalid_config);
}

TEST_CASE("interpolate passes its limits to the evaluation", "[config][interpolate][hostile]") {
  vars::static_vars v;
  v.set("x", value("((x))((x))"));
  const std::string yaml = "platform: linux\nrun: {path: ((x))((x))((x))((x))((x))((x))((x))((x))}\n";  // 40 B * 2^8
  CHECK(interpolated(yaml, v));
  auto s = config::static_source(config_from_yaml(yaml)) |
           config::interpolate(v, true, vars::interpolation_limits{.max_bytes = 4096, .max_work = 1 << 20});
  CHECK(error_text(s.fetch()) == "failed to interpolate task config: interpolated config exceeds 4096 bytes");
}
