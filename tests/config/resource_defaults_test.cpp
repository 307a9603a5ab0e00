// image_resource.source defaults by resource type (§14.4.3).
#include <catch2/catch.hpp>

#include "common/config_support.hpp"
#include "taskstep/config/config.hpp"

using namespace taskstep;
using taskstep::test::config_from_yaml;
using taskstep::test::json_of;
using taskstep::test::yaml_value;

namespace {

config::resource_type_defaults registry_defaults() {
  return {{"registry-image", yaml_value("{registry_mirror: {host: mirror}, tag: def}")}};
}

result<task_config> with_defaults(std::string_view config_yaml, config::resource_type_defaults d) {
  auto s = config::static_source(config_from_yaml(config_yaml)) | config::resource_defaults(std::move(d));
  return s.fetch();
}

}  // namespace

TEST_CASE("defaults merge into image_resource.source and the task's keys win", "[config][defaults]") {
  auto r = with_defaults(
      "platform: linux\nrun: {path: x}\n"
      "image_resource: {type: registry-image, source: {repository: busybox, tag: mine}}",
      registry_defaults());
  REQUIRE(r);
  REQUIRE(r->image_resource);
  CHECK(json_of(r->image_resource->source.data) ==
        R"({"registry_mirror":{"host":"mirror"},"repository":"busybox","tag":"mine"})");
}

TEST_CASE("the merge is shallow: a task's nested map replaces the default's", "[config][defaults]") {
  auto r = with_defaults(
      "platform: linux\nrun: {path: x}\n"
      "image_resource: {type: registry-image, source: {registry_mirror: {username: u}}}",
      registry_defaults());
  REQUIRE(r);
  CHECK(json_of(r->image_resource->source.data) == R"({"registry_mirror":{"username":"u"},"tag":"def"})");
}

TEST_CASE("a missing source becomes the defaults", "[config][defaults]") {
  auto r = with_defaults("platform: linux\nrun: {path: x}\nimage_resource: {type: registry-image}", registry_defaults());
  REQUIRE(r);
  CHECK(json_of(r->image_resource->source.data) == R"({"registry_mirror":{"host":"mirror"},"tag":"def"})");
}

TEST_CASE("a type without defaults is left alone", "[config][defaults]") {
  auto r = with_defaults(
      "platform: linux\nrun: {path: x}\nimage_resource: {type: docker-image, source: {repository: busybox}}",
      registry_defaults());
  REQUIRE(r);
  CHECK(json_of(r->image_resource->source.data) == R"({"repository":"busybox"})");
}

TEST_CASE("a config without image_resource is left alone", "[config][defaults]") {
  auto r = with_defaults("platform: linux\nrun: {path: x}", registry_defaults());
  REQUIRE(r);
  CHECK_FALSE(r->image_resource);
}

TEST_CASE("no defaults at all change nothing", "[config][defaults]") {
  auto r = with_defaults("platform: linux\nrun: {path: x}\nimage_resource: {type: registry-image, source: {a: b}}", {});
  REQUIRE(r);
  CHECK(json_of(r->image_resource->source.data) == R"({"a":"b"})");
}

TEST_CASE("defaults do not touch the image's params or version", "[config][defaults]") {
  auto r = with_defaults(
      "platform: linux\nrun: {path: x}\n"
      "image_resource: {type: registry-image, source: {}, params: {format: oci}, version: {digest: sha}}",
      registry_defaults());
  REQUIRE(r);
  CHECK(json_of(r->image_resource->source.data) == R"({"registry_mirror":{"host":"mirror"},"tag":"def"})");
  CHECK(json_of(r->image_resource->params.data) == R"({"format":"oci"})");
  CHECK(r->image_resource->version == version_map{{"digest", "sha"}});
}

TEST_CASE("the defaults source passes errors and warnings of its inner source through", "[config][defaults]") {
  auto failing = test::canned_source(fail(errc::io, "volume not found"), {"w"}) |
                 config::resource_defaults(registry_defaults());
  auto r = failing.fetch();
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "volume not found");
  CHECK(failing.warnings() == std::vector<std::string>{"w"});
}
