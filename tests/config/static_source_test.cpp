#include <catch2/catch.hpp>

#include "common/config_support.hpp"
#include "taskstep/config/config.hpp"

using namespace taskstep;
using taskstep::test::config_from_yaml;
using taskstep::test::error_text;

TEST_CASE("a static source without a config yields an empty config that fails validation", "[config]") {
  auto s = config::static_source() | config::validating();
  auto r = s.fetch();
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "invalid task configuration:\nmissing 'platform'\nmissing path to executable to run");
}

TEST_CASE("a static source without a config returns an all-empty config", "[config][static]") {
  config::static_source s;
  auto r = s.fetch();
  REQUIRE(r);
  CHECK(r->platform.empty());
  CHECK(r->run.path.empty());
  CHECK(r->params.empty());
  CHECK_FALSE(r->image_resource);
  CHECK(s.warnings().empty());
}

TEST_CASE("a static source returns a copy of its config every time", "[config][static]") {
  config::static_source s(config_from_yaml("platform: linux\nrun: {path: echo, args: [hi]}\nparams: {A: x}"));
  auto first = s.fetch();
  REQUIRE(first);
  first->platform = "changed";
  auto second = s.fetch();
  REQUIRE(second);
  CHECK(second->platform == "linux");
  CHECK(second->run.path == "echo");
  CHECK(second->run.args == std::vector<std::string>{"hi"});
  CHECK(second->params.at("A") == "x");
}

TEST_CASE("a static source does not validate, validating() does, with the bare message", "[config][static]") {
  config::static_source s(config_from_yaml("run: {path: echo}\ninputs: [{}]\noutputs: [{name: o}, {}]"));
  CHECK(s.fetch());
  auto v = config::static_source(config_from_yaml("run: {path: echo}\ninputs: [{}]\noutputs: [{name: o}, {}]")) |
           config::validating();
  CHECK(error_text(v.fetch()) ==
        "invalid task configuration:\nmissing 'platform'\n  input in position 0 is missing a name\n"
        "  output in position 1 is missing a name");
}

TEST_CASE("validating() passes a valid config and the inner source's errors through", "[config][validating]") {
  auto ok = config::static_source(config_from_yaml("platform: linux\nrun: {path: echo}")) | config::validating();
  auto r = ok.fetch();
  REQUIRE(r);
  CHECK(r->platform == "linux");

  auto failing = test::canned_source(fail(errc::io, "volume not found")) | config::validating();
  CHECK(error_text(failing.fetch()) == "volume not found");
}

TEST_CASE("validating() forwards the inner source's warnings", "[config][validating]") {
  auto v = test::canned_source(config_from_yaml("platform: linux\nrun: {path: echo}"), {"w1", "w2"}) |
           config::validating();
  REQUIRE(v.fetch());
  CHECK(v.warnings() == std::vector<std::string>{"w1", "w2"});
}
