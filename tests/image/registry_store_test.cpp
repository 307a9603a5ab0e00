// registry_store against a real registry: Debian's docker-registry on a loopback port, images built here
// (an OCI layout written by hand) and pushed with skopeo.

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "common/temp_dir.hpp"
#include "image/registry_support.hpp"
#include "taskstep/image/metadata.hpp"
#include "taskstep/image/registry.hpp"

using namespace taskstep;
using namespace taskstep::test;
namespace fs = std::filesystem;

#define REQUIRE_REGISTRY_TOOLS()                             \
  if (const auto why = registry_tools_missing(); !why.empty()) { \
    WARN("SKIPPED: " << why);                                \
    return;                                                  \
  }

namespace {

// The password is "s3cret" (bcrypt, cost 4 to keep the test fast).
const std::string htpasswd_line = "tester:$2b$04$rVgSwwnILJzs5ftmxK2/AuSBxYGZRN6SnROqVmodgkVssVrd6zmii";

// The images the tests use, built once per process and pushed when first asked for: busybox (Docker
// schema 2), layered (OCI, three layers with whiteouts) and multi (an OCI index of linux/amd64 and
// linux/arm64).
struct test_images {
  temp_dir layout_dir;
  oci_layout layout{layout_dir.path() / "layout"};
  local_registry registry;
  std::vector<std::string> pushed;

  test_images() {
    using json = nlohmann::json;
    const json base = layout.layer(busybox_entries(), "gzip");
    layout.name(layout.image({base}, busybox_config()), "busybox");
    const json middle = layout.layer({dir_entry("data"), file_entry("data/gone.txt", "x"), file_entry("data/kept.txt", "v1"),
                                      dir_entry("opaque"), file_entry("opaque/old", "o"), dir_entry("opaque/olddir"),
                                      file_entry("opaque/olddir/x", "x")},
                                     "gzip");
    const json top = layout.layer({file_entry("data/.wh.gone.txt", ""), file_entry("data/kept.txt", "v2"), dir_entry("opaque"),
                                   file_entry("opaque/.wh..wh..opq", ""), file_entry("opaque/new", "n"), file_entry("bin/.wh.cat", "")},
                                  "zstd");
    layout.name(layout.image({layout.reuse(base), middle, top}, {{"Env", {"LAYERED=1"}}}), "layered");
    std::vector<json> platforms;
    for (const std::string arch : {"amd64", "arm64"}) {
      const json l = layout.layer({file_entry("arch", arch)}, "gzip");
      platforms.push_back(layout.image({l}, {{"Env", {"ARCH=" + arch}}}, arch));
    }
    layout.name(layout.index(platforms), "multi");
  }

  //! The shared registry's host, with `image` pushed to it.
  std::string host_with(const std::string& image) {
    if (std::find(pushed.begin(), pushed.end(), image) == pushed.end()) {
      if (image == "busybox") push_busybox(registry.host());
      else skopeo_push(layout, image, registry.host() + "/" + image + ":latest", image == "multi" ? std::vector<std::string>{"--all"} : std::vector<std::string>{});
      pushed.push_back(image);
    }
    return registry.host();
  }

  void push_busybox(const std::string& host, const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> args = {"--format", "v2s2"};
    args.insert(args.end(), extra.begin(), extra.end());
    skopeo_push(layout, "busybox", host + "/busybox:latest", args);
  }
};

test_images& images() {
  static test_images built;
  return built;
}

struct recorder {
  std::vector<std::string> lines;
  void operator()(const std::string& line) { lines.push_back(line); }
  [[nodiscard]] std::size_t layer_downloads() const {
    return static_cast<std::size_t>(std::count_if(lines.begin(), lines.end(), [](const std::string& l) { return l.rfind("layer ", 0) == 0; }));
  }
  [[nodiscard]] bool has(const std::string& text) const {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(text) != std::string::npos; });
  }
  [[nodiscard]] std::string all() const {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
  }
};

image::registry_options options_for(const temp_dir& store, const std::string& insecure_host) {
  image::registry_options o;
  o.store_root = store.path() / "store";
  if (!insecure_host.empty()) o.insecure_registries.push_back(insecure_host);
  o.timeout = std::chrono::seconds(10);
  return o;
}

image_resource repo(const std::string& repository, const std::string& tag = {}, version_map version = {}) {
  std::vector<std::pair<std::string, value>> source = {{"repository", value(repository)}};
  if (!tag.empty()) source.emplace_back("tag", value(tag));
  return make_resource("registry-image", std::move(source), std::move(version));
}

}  // namespace

TEST_CASE("a registry-image is fetched by tag from an insecure registry into the store", "[image][registry]") {
  REQUIRE_REGISTRY_TOOLS();
  const std::string host = images().host_with("busybox");
  temp_dir store;
  recorder progress;
  image::registry_store s(options_for(store, host));
  auto got = s.fetch(repo(host + "/busybox"), progress);
  INFO(progress.all());
  REQUIRE(got);
  CHECK_FALSE(got->cached);
  CHECK(image::is_sha256_digest(got->digest));
  CHECK(got->dir == fs::canonical(store.path() / "store") / "sha256" / image::digest_hex(got->digest));
  CHECK(progress.has("fetching " + host + "/busybox:latest"));
  CHECK(progress.layer_downloads() == 1);

  const fs::path rootfs = got->dir / "rootfs";
  CHECK(fs::file_size(rootfs / "bin/busybox") == fs::file_size(busybox_binary()));
  for (const char* applet : {"sh", "echo", "cat", "ls", "id", "env"}) {
    INFO(applet);
    CHECK(fs::is_symlink(rootfs / "bin" / applet));
    CHECK(fs::read_symlink(rootfs / "bin" / applet) == "busybox");
  }
  CHECK_THAT(read_file(rootfs / "etc/passwd"), Catch::Contains("tester:x:1000:1000"));
  CHECK((fs::status(rootfs / "tmp").permissions() & fs::perms::sticky_bit) == fs::perms::sticky_bit);
  if (::geteuid() == 0) {
    struct stat st {};
    REQUIRE(::stat((rootfs / "home/tester").c_str(), &st) == 0);
    CHECK(st.st_uid == 1000);
  }
  auto metadata = image::read_metadata(got->dir);
  REQUIRE(metadata);
  CHECK(metadata->user == "tester");
  CHECK(metadata->env == std::vector<std::string>{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                                 "IMAGE_VAR=from-image"});
  CHECK_FALSE(fs::exists(got->dir / "layer.blob"));

  SECTION("a second fetch finds the image in the store and downloads no layer") {
    recorder again;
    image::registry_store s2(options_for(store, host));
    auto second = s2.fetch(repo(host + "/busybox", "latest"), again);
    INFO(again.all());
    REQUIRE(second);
    CHECK(second->cached);
    CHECK(second->dir == got->dir);
    CHECK(second->digest == got->digest);
    CHECK(again.layer_downloads() == 0);
    CHECK(again.has("from the image store"));
  }
}

TEST_CASE("version.digest pins the manifest and wins over source.tag", "[image][registry]") {
  REQUIRE_REGISTRY_TOOLS();
  const std::string host = images().host_with("busybox");
  temp_dir first, second;
  // a progress callable taking std::string_view works as well
  auto tagged = image::registry_store(options_for(first, host)).fetch(repo(host + "/busybox"), [](std::string_view) {});
  REQUIRE(tagged);

  // insecure through source.insecure_registries this time, not the options
  auto pinned_resource = make_resource("registry-image",
                                       {{"repository", value(host + "/busybox")},
                                        {"tag", value("no-such-tag")},
                                        {"insecure_registries", value(sequence{value(host)})}},
                                       {{"digest", tagged->digest}});
  recorder progress;
  auto pinned = image::registry_store(options_for(second, "")).fetch(pinned_resource, progress);
  INFO(progress.all());
  REQUIRE(pinned);
  CHECK_FALSE(pinned->cached);
  CHECK(pinned->digest == tagged->digest);
  CHECK(progress.has("fetching " + host + "/busybox@" + tagged->digest));
}

TEST_CASE("a stored image is used while the registry is down: pinned digests and remembered tags", "[image][registry]") {
  REQUIRE_REGISTRY_TOOLS();
  auto& imgs = images();
  local_registry own;
  imgs.push_busybox(own.host());
  temp_dir store;
  const auto opts = options_for(store, own.host());
  auto got = image::registry_store(opts).fetch(repo(own.host() + "/busybox"), [](const std::string&) {});
  REQUIRE(got);
  own.stop();

  recorder pinned_progress;
  auto pinned = image::registry_store(opts).fetch(repo(own.host() + "/busybox", "", {{"digest", got->digest}}), pinned_progress);
  INFO(pinned_progress.all());
  REQUIRE(pinned);
  CHECK(pinned->cached);
  CHECK(pinned->dir == got->dir);
  CHECK(pinned_progress.layer_downloads() == 0);

  recorder tag_progress;
  auto by_tag = image::registry_store(opts).fetch(repo(own.host() + "/busybox"), tag_progress);
  INFO(tag_progress.all());
  REQUIRE(by_tag);
  CHECK(by_tag->cached);
  CHECK(by_tag->dir == got->dir);
  CHECK(tag_progress.has("the registry is unreachable: using the copy of " + own.host() + "/busybox:latest fetched before"));

  auto other = image::registry_store(opts).fetch(repo(own.host() + "/busybox", "other"), [](const std::string&) {});
  REQUIRE_FALSE(other);
  CHECK(other.error().code() == errc::io);
  CHECK_THAT(other.error().message(), Catch::Contains("cannot reach registry " + own.host()));
}

TEST_CASE("an image's layers are applied in order with whiteouts and opaque directories", "[image][registry]") {
  REQUIRE_REGISTRY_TOOLS();
  const std::string host = images().host_with("layered");
  temp_dir store;
  recorder progress;
  auto got = image::registry_store(options_for(store, host)).fetch(repo(host + "/layered"), progress);
  INFO(progress.all());
  REQUIRE(got);
  CHECK(progress.layer_downloads() == 3);
  const fs::path rootfs = got->dir / "rootfs";
  CHECK_FALSE(fs::exists(rootfs / "data/gone.txt"));
  CHECK(read_file(rootfs / "data/kept.txt") == "v2");
  CHECK_FALSE(fs::exists(rootfs / "opaque/old"));
  CHECK_FALSE(fs::exists(rootfs / "opaque/olddir"));
  CHECK(read_file(rootfs / "opaque/new") == "n");
  CHECK_FALSE(fs::exists(fs::symlink_status(rootfs / "bin/cat")));
  CHECK(fs::is_symlink(rootfs / "bin/sh"));
  auto metadata = image::read_metadata(got->dir);
  REQUIRE(metadata);
  CHECK(metadata->env == std::vector<std::string>{"LAYERED=1"});
  CHECK(metadata->user.empty());
}

TEST_CASE("a manifest list resolves to linux/amd64 unless the options ask for another platform", "[image][registry]") {
  REQUIRE_REGISTRY_TOOLS();
  const std::string host = images().host_with("multi");
  temp_dir store;
  auto opts = options_for(store, host);
  auto amd64 = image::registry_store(opts).fetch(repo(host + "/multi"), [](const std::string&) {});
  REQUIRE(amd64);
  CHECK(read_file(amd64->dir / "rootfs/arch") == "amd64");

  opts.architecture = "arm64";
  auto arm64 = image::registry_store(opts).fetch(repo(host + "/multi"), [](const std::string&) {});
  REQUIRE(arm64);
  CHECK(read_file(arm64->dir / "rootfs/arch") == "arm64");
  CHECK(arm64->digest != amd64->digest);
  auto metadata = image::read_metadata(arm64->dir);
  REQUIRE(metadata);
  CHECK(metadata->env == std::vector<std::string>{"ARCH=arm64"});

  opts.architecture = "s390x";
  auto none = image::registry_store(opts).fetch(repo(host + "/multi"), [](const std::string&) {});
  REQUIRE_FALSE(none);
  CHECK_THAT(none.error().message(), Catch::Contains("has no linux/s390x manifest") && Catch::Contains("linux/amd64, linux/arm64"));
}

TEST_CASE("two threads fetching one image download it once and both succeed", "[image][registry]") {
  REQUIRE_REGISTRY_TOOLS();
  const std::string host = images().host_with("layered");
  temp_dir store;
  const auto opts = options_for(store, host);
  recorder p1, p2;
  result<image::fetched_image> r1 = fail(errc::worker, "not run"), r2 = fail(errc::worker, "not run");
  {
    std::jthread t1([&] { r1 = image::registry_store(opts).fetch(repo(host + "/layered"), p1); });
    std::jthread t2([&] { r2 = image::registry_store(opts).fetch(repo(host + "/layered"), p2); });
  }
  INFO(p1.all() << "---\n" << p2.all());
  REQUIRE(r1);
  REQUIRE(r2);
  CHECK(r1->dir == r2->dir);
  CHECK(r1->cached != r2->cached);  // exactly one of them downloaded
  CHECK(p1.layer_downloads() + p2.layer_downloads() == 3);
  CHECK(fs::is_empty(fs::path(r1->dir).parent_path().parent_path() / "tmp"));
}

TEST_CASE("an unknown repository or tag is reported as not found with the fields to check", "[image][registry]") {
  REQUIRE_REGISTRY_TOOLS();
  const std::string host = images().host_with("busybox");
  temp_dir store;
  image::registry_store s(options_for(store, host));
  auto repo_missing = s.fetch(repo(host + "/nope"), [](const std::string&) {});
  REQUIRE_FALSE(repo_missing);
  CHECK_THAT(repo_missing.error().message(),
             Catch::StartsWith("image " + host + "/nope:latest not found: registry " + host +
                               " answered 404") &&
                 Catch::Contains("check source.repository and source.tag"));
  auto tag_missing = s.fetch(repo(host + "/busybox", "9.9"), [](const std::string&) {});
  REQUIRE_FALSE(tag_missing);
  CHECK_THAT(tag_missing.error().message(), Catch::Contains("busybox:9.9 not found") && Catch::Contains("MANIFEST_UNKNOWN"));
  auto digest_missing = s.fetch(repo(host + "/busybox", "", {{"digest", "sha256:" + std::string(64, '0')}}),
                                [](const std::string&) {});
  REQUIRE_FALSE(digest_missing);
  CHECK_THAT(digest_missing.error().message(), Catch::Contains("version.digest"));
}

TEST_CASE("a closed port or an unknown host is reported as an unreachable registry", "[image][registry]") {
  temp_dir store;
  const std::string host = "127.0.0.1:" + std::to_string(free_port());
  image::registry_store s(options_for(store, host));
  auto refused = s.fetch(repo(host + "/busybox"), [](const std::string&) {});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code() == errc::io);
  CHECK_THAT(refused.error().message(), Catch::StartsWith("cannot reach registry " + host + " to pull " + host + "/busybox:latest: ") &&
                                            Catch::Contains("Couldn't connect to server"));
  auto unknown = s.fetch(repo("no-such-registry.invalid/app"), [](const std::string&) {});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code() == errc::io);
  CHECK_THAT(unknown.error().message(), Catch::Contains("cannot reach registry no-such-registry.invalid") &&
                                            Catch::Contains("resolve"));
}

TEST_CASE("a plain-http registry not listed as insecure fails with a hint to list it", "[image][registry]") {
  REQUIRE_REGISTRY_TOOLS();
  auto& imgs = images();
  temp_dir store;
  auto r = image::registry_store(options_for(store, "")).fetch(repo(imgs.registry.host() + "/busybox"), [](const std::string&) {});
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::Contains("list it in source.insecure_registries"));
}

TEST_CASE("fetch rejects unsupported types and a missing repository before any download", "[image][registry]") {
  temp_dir store;
  image::registry_store s(options_for(store, ""));
  auto git = s.fetch(make_resource("git", {{"uri", value("https://example.com/repo.git")}}), [](const std::string&) {});
  REQUIRE_FALSE(git);
  CHECK(git.error().code() == errc::invalid_config);
  CHECK(git.error().message() ==
        "image_resource type 'git' is not supported: taskstep fetches images of type registry-image or docker-image");
  auto missing = s.fetch(make_resource("docker-image", {{"tag", value("latest")}}), [](const std::string&) {});
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error().message(), Catch::Contains("needs source.repository"));
}

TEST_CASE("a registry behind basic auth asks for source.username and source.password", "[image][registry]") {
  REQUIRE_REGISTRY_TOOLS();
  auto& imgs = images();
  local_registry secured(htpasswd_line);
  imgs.push_busybox(secured.host(), {"--dest-creds", "tester:s3cret"});
  temp_dir store;
  image::registry_store s(options_for(store, secured.host()));
  auto with = [&](const std::string& user, const std::string& password) {
    std::vector<std::pair<std::string, value>> source = {{"repository", value(secured.host() + "/busybox")}};
    if (!user.empty()) source.emplace_back("username", value(user));
    if (!password.empty()) source.emplace_back("password", value(password));
    return make_resource("registry-image", std::move(source));
  };
  auto anonymous = s.fetch(with("", ""), [](const std::string&) {});
  REQUIRE_FALSE(anonymous);
  CHECK_THAT(anonymous.error().message(),
             Catch::StartsWith("authentication required to pull " + secured.host() + "/busybox:latest from registry " +
                               secured.host()) &&
                 Catch::Contains("set source.username and source.password"));
  auto wrong = s.fetch(with("tester", "wrong"), [](const std::string&) {});
  REQUIRE_FALSE(wrong);
  CHECK_THAT(wrong.error().message(), Catch::StartsWith("registry " + secured.host() + " rejected the credentials") &&
                                          Catch::Contains("check source.username and source.password"));
  recorder progress;
  auto right = s.fetch(with("tester", "s3cret"), progress);
  INFO(progress.all());
  REQUIRE(right);
  CHECK(fs::exists(right->dir / "rootfs/bin/busybox"));
}

TEST_CASE("a blob whose bytes do not match its digest is refused", "[image][registry]") {
  REQUIRE_REGISTRY_TOOLS();
  auto& imgs = images();
  local_registry own;
  imgs.push_busybox(own.host());
  // The largest blob the registry stores is the layer: flip one byte of it on disk.
  fs::path largest;
  for (const auto& e : fs::recursive_directory_iterator(own.data()))
    if (e.is_regular_file() && e.path().filename() == "data" && (largest.empty() || e.file_size() > fs::file_size(largest)))
      largest = e.path();
  REQUIRE_FALSE(largest.empty());
  {
    std::fstream f(largest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x42');
    f.seekp(101);
    f.put('\x43');
  }
  temp_dir store;
  auto r = image::registry_store(options_for(store, own.host())).fetch(repo(own.host() + "/busybox"), [](const std::string&) {});
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::StartsWith("digest mismatch: blob sha256:") && Catch::Contains("try again"));
  CHECK(fs::is_empty(fs::canonical(store.path() / "store") / "sha256"));
  CHECK(fs::is_empty(fs::canonical(store.path() / "store") / "tmp"));
}

TEST_CASE("a Docker Hub name is pulled from source.registry_mirror when one is set", "[image][registry]") {
  REQUIRE_REGISTRY_TOOLS();
  auto& imgs = images();
  // The mirror holds Docker Hub's names: busybox is library/busybox there.
  skopeo_push(imgs.layout, "busybox", imgs.registry.host() + "/library/busybox:latest", {"--format", "v2s2"});
  temp_dir store;
  const value mirror(mapping{{value("host"), value(imgs.registry.host())}}, value::map_kind::json);
  recorder progress;
  auto got = image::registry_store(options_for(store, imgs.registry.host()))
                 .fetch(make_resource("registry-image", {{"repository", value("busybox")}, {"registry_mirror", mirror}}), progress);
  INFO(progress.all());
  REQUIRE(got);
  CHECK_FALSE(got->cached);
  CHECK(progress.has("fetching docker.io/library/busybox:latest"));
  CHECK(fs::exists(got->dir / "rootfs/bin/busybox"));
}
