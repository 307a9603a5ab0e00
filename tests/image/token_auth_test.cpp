// The Bearer-token flow (and manifest checks) against the in-test token_registry: Debian's
// docker-registry only offers htpasswd basic auth, which registry_store_test.cpp covers.

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/temp_dir.hpp"
#include "image/registry_support.hpp"
#include "image/token_registry.hpp"
#include "taskstep/image/registry.hpp"

using namespace taskstep;
using namespace taskstep::test;

namespace {

struct token_fixture {
  std::string manifest;
  std::string manifest_digest;
  token_registry server;

  static std::map<std::string, token_registry::object> objects(std::string& manifest, std::string& digest) {
    using json = nlohmann::json;
    const std::string layer = make_tar({file_entry("hello", "from a token registry")}, "gzip");
    const std::string config = json{{"architecture", "amd64"}, {"os", "linux"}, {"config", {{"Env", {"A=1"}}, {"User", "1000"}}}}.dump();
    const auto config_digest = image::sha256_digest(config);
    const auto layer_digest = image::sha256_digest(layer);
    manifest = json{{"schemaVersion", 2},
                    {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                    {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"}, {"digest", config_digest}, {"size", config.size()}}},
                    {"layers", {{{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"}, {"digest", layer_digest}, {"size", layer.size()}}}}}
                   .dump();
    digest = image::sha256_digest(manifest);
    const std::string oci = "application/vnd.oci.image.manifest.v1+json";
    return {{"/v2/app/manifests/latest", {oci, manifest}},
            {"/v2/app/manifests/sha256:" + std::string(64, 'b'), {oci, manifest}},  // served under the wrong digest
            {"/v2/app/manifests/schema1", {"application/vnd.docker.distribution.manifest.v1+prettyjws", "{}"}},
            {"/v2/app/blobs/" + config_digest, {"application/octet-stream", config}},
            {"/v2/app/blobs/" + layer_digest, {"application/octet-stream", layer}}};
  }

  token_fixture() : server(objects(manifest, manifest_digest)) {}

  image_resource resource(const std::string& tag, const std::string& user = {}, const std::string& password = {},
                          version_map version = {}) const {
    std::vector<std::pair<std::string, value>> source = {{"repository", value(server.host() + "/app")}, {"tag", value(tag)}};
    if (!user.empty()) source.emplace_back("username", value(user));
    if (!password.empty()) source.emplace_back("password", value(password));
    return make_resource("registry-image", std::move(source), std::move(version));
  }
};

image::registry_options insecure(const temp_dir& store, const std::string& host) {
  image::registry_options o;
  o.store_root = store.path() / "store";
  o.insecure_registries = {host};
  o.timeout = std::chrono::seconds(10);
  return o;
}

}  // namespace

TEST_CASE("a Bearer challenge is answered with a token fetched with the source credentials", "[image][registry][auth]") {
  token_fixture f;
  temp_dir store;
  image::registry_store s(insecure(store, f.server.host()));
  auto got = s.fetch(f.resource("latest", "tester", "s3cret"), [](const std::string&) {});
  REQUIRE(got);
  CHECK(got->digest == f.manifest_digest);
  CHECK(read_file(got->dir / "rootfs/hello") == "from a token registry");
  CHECK_THAT(read_file(got->dir / "metadata.json"), Catch::Contains("\"user\":\"1000\"") && Catch::Contains("\"A=1\""));

  const auto log = f.server.log();
  const auto token_request = std::find_if(log.begin(), log.end(), [](const std::string& l) { return l.rfind("GET /token?", 0) == 0; });
  REQUIRE(token_request != log.end());
  CHECK_THAT(*token_request, Catch::Contains("scope=repository%3Aapp%3Apull") && Catch::Contains("service=test") &&
                                 Catch::EndsWith("| Basic dGVzdGVyOnMzY3JldA=="));
  // one challenge, one token, then every request carries it
  CHECK(std::count_if(log.begin(), log.end(), [](const std::string& l) { return l.rfind("GET /token?", 0) == 0; }) == 1);
  CHECK(std::count_if(log.begin(), log.end(), [](const std::string& l) { return l.find("Bearer good-token") != std::string::npos; }) == 3);
}

TEST_CASE("a token registry without or with wrong credentials says which source fields to set", "[image][registry][auth]") {
  token_fixture f;
  temp_dir store;
  image::registry_store s(insecure(store, f.server.host()));
  auto anonymous = s.fetch(f.resource("latest"), [](const std::string&) {});
  REQUIRE_FALSE(anonymous);
  CHECK_THAT(anonymous.error().message(),
             Catch::StartsWith("authentication required to pull " + f.server.host() + "/app:latest from registry " + f.server.host()) &&
                 Catch::Contains("set source.username and source.password"));
  auto wrong = s.fetch(f.resource("latest", "tester", "nope"), [](const std::string&) {});
  REQUIRE_FALSE(wrong);
  CHECK_THAT(wrong.error().message(), Catch::StartsWith("registry " + f.server.host() + " rejected the credentials for " +
                                                        f.server.host() + "/app:latest (the token service http://") &&
                                          Catch::Contains("check source.username and source.password"));
}

TEST_CASE("a manifest that does not match the pinned digest is refused", "[image][registry]") {
  token_fixture f;
  temp_dir store;
  const std::string wrong = "sha256:" + std::string(64, 'b');
  auto r = image::registry_store(insecure(store, f.server.host()))
               .fetch(f.resource("latest", "tester", "s3cret", {{"digest", wrong}}), [](const std::string&) {});
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::StartsWith("digest mismatch: the manifest of " + f.server.host() + "/app@" + wrong) &&
                                      Catch::Contains("but has " + f.manifest_digest));
}

TEST_CASE("a schema 1 manifest is refused as an unsupported media type", "[image][registry]") {
  token_fixture f;
  temp_dir store;
  auto r = image::registry_store(insecure(store, f.server.host())).fetch(f.resource("schema1", "tester", "s3cret"), [](const std::string&) {});
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::Contains("media type 'application/vnd.docker.distribution.manifest.v1+prettyjws'") &&
                                      Catch::Contains("does not support"));
}
