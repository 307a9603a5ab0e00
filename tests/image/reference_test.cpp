#include <catch2/catch.hpp>

#include "image/registry_support.hpp"
#include "taskstep/image/registry/reference.hpp"

using namespace taskstep;
using taskstep::test::make_resource;

TEST_CASE("Docker Hub names get the library prefix and the default registry", "[image][registry]") {
  auto spec = image::parse_pull_spec(make_resource("registry-image", {{"repository", value("busybox")}}), {});
  REQUIRE(spec);
  CHECK(spec->ref.registry == "registry-1.docker.io");
  CHECK(spec->ref.path == "library/busybox");
  CHECK(spec->ref.tag == "latest");
  CHECK(spec->ref.docker_hub);
  CHECK(spec->primary.base_url() == "https://registry-1.docker.io");
  CHECK(spec->ref.display() == "docker.io/library/busybox:latest");

  auto team = image::parse_pull_spec(make_resource("docker-image", {{"repository", value("concourse/oci-build-task")}}), {});
  REQUIRE(team);
  CHECK(team->ref.path == "concourse/oci-build-task");
}

TEST_CASE("a registry host prefix, tag, credentials and insecure registries are read from source", "[image][registry]") {
  auto spec = image::parse_pull_spec(
      make_resource("registry-image", {{"repository", value("127.0.0.1:5000/team/app")},
                                       {"tag", value(1.5)},
                                       {"username", value("u")},
                                       {"password", value("p")},
                                       {"insecure_registries", value(sequence{value("127.0.0.1:5000")})}}),
      {});
  REQUIRE(spec);
  CHECK(spec->ref.registry == "127.0.0.1:5000");
  CHECK(spec->ref.path == "team/app");
  CHECK(spec->ref.tag == "1.5");  // YAML made a float of it; the resource accepts it as a tag
  CHECK(spec->primary.insecure);
  CHECK(spec->primary.base_url() == "http://127.0.0.1:5000");
  CHECK(spec->primary.credentials.username == "u");
  CHECK(spec->primary.credentials.password == "p");
  CHECK_FALSE(spec->mirror);

  auto secure = image::parse_pull_spec(make_resource("registry-image", {{"repository", value("localhost/app")}}), {});
  REQUIRE(secure);
  CHECK(secure->ref.registry == "localhost");
  CHECK_FALSE(secure->primary.insecure);
  auto by_option = image::parse_pull_spec(make_resource("registry-image", {{"repository", value("localhost/app")}}), {"localhost"});
  REQUIRE(by_option);
  CHECK(by_option->primary.insecure);
}

TEST_CASE("version.digest pins the manifest and wins over the tag", "[image][registry]") {
  const std::string digest = "sha256:" + std::string(64, 'a');
  auto spec = image::parse_pull_spec(
      make_resource("registry-image", {{"repository", value("busybox")}, {"tag", value("1.36")}}, {{"digest", digest}}), {});
  REQUIRE(spec);
  CHECK(spec->ref.manifest_ref() == digest);
  CHECK(spec->ref.display() == "docker.io/library/busybox@" + digest);

  auto bad = image::parse_pull_spec(make_resource("registry-image", {{"repository", value("busybox")}}, {{"digest", "nope"}}), {});
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message(), Catch::Contains("version.digest 'nope'"));
}

TEST_CASE("registry_mirror is used only for Docker Hub names", "[image][registry]") {
  const value mirror(mapping{{value("host"), value("mirror.example.com:5000")}, {value("username"), value("m")}},
                     value::map_kind::json);
  auto hub = image::parse_pull_spec(make_resource("registry-image", {{"repository", value("busybox")}, {"registry_mirror", mirror}}), {});
  REQUIRE(hub);
  REQUIRE(hub->mirror);
  CHECK(hub->mirror->host == "mirror.example.com:5000");
  CHECK(hub->mirror->credentials.username == "m");
  auto own = image::parse_pull_spec(
      make_resource("registry-image", {{"repository", value("registry.example.com/app")}, {"registry_mirror", mirror}}), {});
  REQUIRE(own);
  CHECK_FALSE(own->mirror);
  const value plain(mapping{{value("host"), value("http://mirror.local:5000/")}}, value::map_kind::json);
  auto http = image::parse_pull_spec(make_resource("registry-image", {{"repository", value("busybox")}, {"registry_mirror", plain}}), {});
  REQUIRE(http);
  REQUIRE(http->mirror);
  CHECK(http->mirror->base_url() == "http://mirror.local:5000");
}

TEST_CASE("image_resource types other than registry-image and docker-image are rejected", "[image][registry]") {
  auto spec = image::parse_pull_spec(make_resource("git", {{"repository", value("busybox")}}), {});
  REQUIRE_FALSE(spec);
  CHECK(spec.error().message() ==
        "image_resource type 'git' is not supported: taskstep fetches images of type registry-image or docker-image");
}

TEST_CASE("a missing or malformed source.repository is named in the error", "[image][registry]") {
  auto missing = image::parse_pull_spec(make_resource("registry-image", {{"tag", value("1")}}), {});
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error().message(), Catch::Contains("source.repository"));
  image_resource no_source;
  no_source.type = "registry-image";
  CHECK_FALSE(image::parse_pull_spec(no_source, {}));
  auto upper = image::parse_pull_spec(make_resource("registry-image", {{"repository", value("Team/App")}}), {});
  REQUIRE_FALSE(upper);
  CHECK_THAT(upper.error().message(), Catch::Contains("lowercase"));
  auto number = image::parse_pull_spec(make_resource("registry-image", {{"repository", value(sequence{})}}), {});
  REQUIRE_FALSE(number);
  CHECK_THAT(number.error().message(), Catch::Contains("source.repository must be a string"));
}
