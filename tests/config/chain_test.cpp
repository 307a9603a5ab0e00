// The whole config-source chain in 6.7's order (§14.4): file → [step vars] → defaults → step params →
// build vars → validate, and config → defaults → step params → build vars → validate.
#include <catch2/catch.hpp>

#include <memory>
#include <set>

#include "common/catch_printers.hpp"
#include "common/config_support.hpp"
#include "common/temp_dir.hpp"
#include "taskstep/artifact/directory_repository.hpp"
#include "taskstep/config/config.hpp"

using namespace taskstep;
using taskstep::test::config_from_yaml;
using taskstep::test::error_text;
using taskstep::test::static_from_yaml;

namespace {

using creds_t = vars::tracked_vars<vars::static_vars>;

struct step {
  test::temp_dir dir;
  artifact::directory_repository repo;
  vars::static_vars step_vars;  // the step's `vars:` (JSON-decoded in a pipeline)
  task_env params;              // the step's `params:`, already strings
  config::resource_type_defaults defaults;
  std::shared_ptr<vars::credential_tracker> tracker = std::make_shared<vars::credential_tracker>();
  vars::static_vars credentials;

  explicit step(std::string_view task_file) {
    repo.add("a", dir.mkdir("a"));
    dir.write("a/t.yml", task_file);
  }

  // The `file:` chain, with the first phase only when the step has vars (as task_step.go does).
  result<task_config> run_file(std::vector<std::string>* warnings = nullptr) const {
    config::file_source<artifact::directory_repository> file("a/t.yml", repo);
    creds_t creds(credentials, tracker);
    if (step_vars.values().empty()) {
      auto chain = std::move(file) | config::resource_defaults(defaults) | config::override_params(params) |
                   config::interpolate(creds) | config::validating();
      auto r = chain.fetch();
      if (warnings) *warnings = chain.warnings();
      return r;
    }
    auto chain = std::move(file) | config::interpolate(step_vars, false) | config::resource_defaults(defaults) |
                 config::override_params(params) | config::interpolate(creds) | config::validating();
    auto r = chain.fetch();
    if (warnings) *warnings = chain.warnings();
    return r;
  }
};

// The embedded `config:` chain.
template <class Vars>
result<task_config> run_embedded(std::string_view config_yaml, task_env params, Vars creds,
                                 config::resource_type_defaults defaults = {},
                                 std::vector<std::string>* warnings = nullptr) {
  auto chain = config::static_source(config_from_yaml(config_yaml)) | config::resource_defaults(std::move(defaults)) |
               config::override_params(std::move(params)) | config::interpolate(std::move(creds)) |
               config::validating();
  auto r = chain.fetch();
  if (warnings) *warnings = chain.warnings();
  return r;
}

}  // namespace

TEST_CASE("step vars fill the task file first and credentials fill the rest", "[config][chain]") {
  step s("platform: linux\nrun: {path: ((path)), args: ['((a))', '((cred))']}\n");
  s.step_vars = static_from_yaml("path: /bin/sh\na: from-step");
  s.credentials = static_from_yaml("a: from-cred\ncred: C");
  auto r = s.run_file();
  REQUIRE(r);
  CHECK(r->run.path == "/bin/sh");
  CHECK(r->run.args == std::vector<std::string>{"from-step", "C"});
}

TEST_CASE("step vars may themselves refer to credentials", "[config][chain]") {
  step s("platform: linux\nrun: {path: x, args: ['((a))']}\n");
  s.step_vars = static_from_yaml("a: '((b))'");
  s.credentials = static_from_yaml("b: B");
  auto r = s.run_file();
  REQUIRE(r);
  CHECK(r->run.args == std::vector<std::string>{"B"});
}

TEST_CASE("step vars satisfy references with any source prefix", "[config][chain]") {
  step s("platform: linux\nrun: {path: x, args: ['((vault:x))', '((.:x))']}\n");
  s.step_vars = static_from_yaml("x: X");
  auto r = s.run_file();
  REQUIRE(r);
  CHECK(r->run.args == std::vector<std::string>{"X", "X"});
}

TEST_CASE("step params cannot use step vars", "[config][chain]") {
  step s("platform: linux\nrun: {path: x}\n");
  s.step_vars = static_from_yaml("a: from-step");
  s.params = task_env{{"Q", "((a))"}};
  CHECK(error_text(s.run_file()) == "failed to interpolate task config: undefined vars: a");

  s.credentials = static_from_yaml("a: from-cred");
  auto r = s.run_file();
  REQUIRE(r);
  CHECK(r->params.at("Q") == "from-cred");
}

TEST_CASE("step params override the task file's params and are then interpolated", "[config][chain]") {
  step s("platform: linux\nrun: {path: x}\nparams: {P: from-task, KEEP: ((k))}\n");
  s.params = task_env{{"P", "((cred))"}, {"NEW", "plain"}};
  s.credentials = static_from_yaml("cred: C\nk: K");
  auto r = s.run_file();
  REQUIRE(r);
  CHECK(r->params == task_env{{"KEEP", "K"}, {"NEW", "plain"}, {"P", "C"}});
}

TEST_CASE("a step var number used inline fails in the first phase", "[config][chain]") {
  step s("platform: linux\nrun: {path: x, args: ['host:((port))']}\n");
  s.step_vars.set("port", value(8080.0));
  CHECK(error_text(s.run_file()) ==
        "failed to interpolate task config: cannot interpolate non-primitive value (float64) from var: port");
}

TEST_CASE("old-style vars in a task file are resolved from the step vars", "[config][chain]") {
  step s("platform: linux\nrun: {path: x, args: ['{{x}}', 'a{{missing}}']}\n");
  s.step_vars = static_from_yaml("x: v");
  auto r = s.run_file();
  REQUIRE(r);
  CHECK(r->run.args == std::vector<std::string>{"\"v\"", "anull"});
}

TEST_CASE("old-style vars are not answered by credentials", "[config][chain]") {
  step s("platform: linux\nrun: {path: x, args: ['{{x}}']}\n");
  s.credentials = static_from_yaml("x: secret");
  auto r = s.run_file();
  REQUIRE(r);
  CHECK(r->run.args == std::vector<std::string>{"null"});
}

TEST_CASE("vars in image defaults are resolved with the build's variables, not the step's", "[config][chain]") {
  step s("platform: linux\nrun: {path: x}\nimage_resource: {type: registry-image, source: {repository: r}}\n");
  s.defaults = {{"registry-image", test::yaml_value("{password: ((pw))}")}};
  s.step_vars = static_from_yaml("pw: from-step");
  s.credentials = static_from_yaml("pw: from-cred");
  auto r = s.run_file();
  REQUIRE(r);
  REQUIRE(r->image_resource);
  CHECK(test::json_of(r->image_resource->source.data) == R"({"password":"from-cred","repository":"r"})");
}

TEST_CASE("a task file is validated before any interpolation could fill it", "[config][chain]") {
  step s("run: {path: x}\n");
  s.step_vars = static_from_yaml("platform: linux");
  s.params = task_env{{"A", "x"}};
  CHECK(error_text(s.run_file()) ==
        "failed to create task config from bytes a/t.yml: invalid task configuration:\nmissing 'platform'");
}

TEST_CASE("file errors come out of the whole chain unchanged", "[config][chain]") {
  test::temp_dir dir;
  artifact::directory_repository repo;
  repo.add("a", dir.mkdir("a"));
  auto chain = [&](std::string path) {
    return config::file_source<artifact::directory_repository>(std::move(path), repo) |
           config::interpolate(static_from_yaml("x: 1"), false) | config::resource_defaults({}) |
           config::override_params(task_env{{"A", "b"}}) | config::interpolate(vars::no_vars{}) | config::validating();
  };
  CHECK(error_text(chain("x.yml").fetch()) == "config path 'x.yml' does not specify where the file lives");
  CHECK(error_text(chain("b/t.yml").fetch()) == "unknown artifact source: 'b' in task config file path 'b/t.yml'");
  CHECK(error_text(chain("a/t.yml").fetch()) == "task config 'a/t.yml' not found");
}

TEST_CASE("vars missing from both phases are reported by the second", "[config][chain]") {
  step s("platform: linux\nrun: {path: ((nope.sub)), args: ['((nope2))', '((a))']}\n");
  s.step_vars = static_from_yaml("a: A");
  CHECK(error_text(s.run_file()) == "failed to interpolate task config: undefined vars: nope.sub, nope2");
}

TEST_CASE("the first phase does not validate what it left for the second", "[config][chain]") {
  step s("platform: ((p))\nrun: {path: x}\n");
  s.step_vars = static_from_yaml("unrelated: u");
  s.credentials = static_from_yaml("p: linux");
  auto r = s.run_file();
  REQUIRE(r);
  CHECK(r->platform == "linux");
}

TEST_CASE("a config that becomes invalid in the first phase fails there", "[config][chain]") {
  step s("platform: ((p))\nrun: {path: x}\n");
  s.step_vars = static_from_yaml("p: ''");
  s.credentials = static_from_yaml("p: linux");
  CHECK(error_text(s.run_file()) ==
        "failed to create task config from bytes: invalid task configuration:\nmissing 'platform'");
}

TEST_CASE("credentials are tracked through the chain but step vars are not", "[config][chain]") {
  step s("platform: linux\nrun: {path: x, args: ['((a))', '((secret))']}\n");
  s.step_vars = static_from_yaml("a: step-value");
  s.credentials = static_from_yaml("secret: hunter2\na: cred-a");
  REQUIRE(s.run_file());
  CHECK(s.tracker->values() == std::map<std::string, std::string>{{"secret", "hunter2"}});
}

TEST_CASE("the override warning is forwarded through the whole chain", "[config][chain]") {
  step s("platform: linux\nrun: {path: x}\nparams: {DECLARED: x}\n");
  s.step_vars = static_from_yaml("a: A");
  s.params = task_env{{"DECLARED", "y"}, {"EXTRA_PARAM", "z"}};
  std::vector<std::string> warnings;
  REQUIRE(s.run_file(&warnings));
  CHECK(warnings == std::vector<std::string>{"EXTRA_PARAM was defined in pipeline but missing from task file"});
}

TEST_CASE("an embedded config goes through defaults, params, build vars and validation", "[config][chain]") {
  std::vector<std::string> warnings;
  auto r = run_embedded(
      "platform: linux\nrun: {path: ((path))}\nimage_resource: {type: registry-image, source: {repository: r}}",
      task_env{{"P", "((p))"}}, static_from_yaml("path: /bin/sh\np: resolved\ntag: T"),
      {{"registry-image", test::yaml_value("{tag: ((tag))}")}}, &warnings);
  REQUIRE(r);
  CHECK(r->run.path == "/bin/sh");
  CHECK(r->params == task_env{{"P", "resolved"}});
  CHECK(test::json_of(r->image_resource->source.data) == R"({"repository":"r","tag":"T"})");
  CHECK(warnings == std::vector<std::string>{"P was defined in pipeline but missing from task file"});
}

TEST_CASE("an embedded config that is invalid fails with the interpolation's prefix", "[config][chain]") {
  CHECK(error_text(run_embedded("run: {path: x}", {}, vars::no_vars{})) ==
        "failed to create task config from bytes: invalid task configuration:\nmissing 'platform'");
  CHECK(error_text(run_embedded("platform: ((p))\nrun: {path: x}", {}, static_from_yaml("p: ''"))) ==
        "failed to create task config from bytes: invalid task configuration:\nmissing 'platform'");
}

TEST_CASE("an embedded config with undefined vars fails", "[config][chain]") {
  CHECK(error_text(run_embedded("platform: linux\nrun: {path: x}", task_env{{"P", "((nope))"}}, vars::no_vars{})) ==
        "failed to interpolate task config: undefined vars: nope");
}

TEST_CASE("named var sources come first and an unknown source stops the lookup", "[config][chain]") {
  vars::named_vars<vars::static_vars> named;
  named.add("src", static_from_yaml("key: from-src"));
  auto tracker = std::make_shared<vars::credential_tracker>();
  using pipeline_vars = vars::multi_vars<vars::named_vars<vars::static_vars>, creds_t>;
  pipeline_vars pv(named, creds_t(static_from_yaml("key: global\nx: X"), tracker));

  auto ok = run_embedded("platform: linux\nrun: {path: x, args: ['((src:key))', '((key))', '((other:x))']}", {},
                         pipeline_vars(named, creds_t(static_from_yaml("key: global"), tracker)));
  CHECK(error_text(ok) == "failed to interpolate task config: missing source 'other' in var: other:x");

  auto r = run_embedded("platform: linux\nrun: {path: x, args: ['((src:key))', '((key))']}", {}, pv);
  REQUIRE(r);
  CHECK(r->run.args == std::vector<std::string>{"from-src", "global"});
}

TEST_CASE("step params converted by 6.7's rules reach the env through the chain", "[config][chain]") {
  task_env params;
  for (const auto& [name, yaml] : std::vector<std::pair<std::string, std::string>>{
           {"NIL", "~"}, {"BIG", "1e20"}, {"U64", "18446744073709551615"}, {"SMALL", "1e-7"}, {"L", "[1, a]"}}) {
    auto s = config::step_param_string(test::yaml_value(yaml));
    REQUIRE(s);
    params[name] = *s;
  }
  auto r = run_embedded("platform: linux\nrun: {path: x}", params, vars::no_vars{});
  REQUIRE(r);
  CHECK(r->params == task_env{{"BIG", "100000000000000000000"},
                              {"L", R"([1,"a"])"},
                              {"NIL", ""},
                              {"SMALL", "1e-7"},
                              {"U64", "18446744073709552000"}});
}
