// `taskstep run --worker oci` on examples/pipelines/image.yml: a registry-image get pulled from a real
// local registry into the image store, and a task with `image:` run in it by runc.

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "cli/run_command.hpp"
#include "image/registry_support.hpp"
#include "oci/oci_support.hpp"

namespace fs = std::filesystem;
using namespace taskstep::test;

TEST_CASE("run: a pipeline's image get is pulled and its task runs in that image under runc", "[oci][registry][run]") {
  if (auto why = containers_unavailable(); !why.empty()) {
    WARN("SKIPPED: " << why);
    return;
  }
  if (auto why = registry_tools_missing(); !why.empty()) {
    WARN("SKIPPED: " << why);
    return;
  }
  temp_dir layout_dir;
  oci_layout layout{layout_dir.path() / "layout"};
  local_registry registry;
  layout.name(layout.image({layout.layer(busybox_entries(), "gzip")}, busybox_config()), "busybox");
  skopeo_push(layout, "busybox", registry.host() + "/busybox:latest", {"--format", "v2s2"});

  const fs::path dir = test_dir();
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  const fs::path pipeline = fs::path(TASKSTEP_TEST_DATA).parent_path().parent_path() / "examples/pipelines/image.yml";
  const std::string host = registry.host();
  auto r = run_taskstep({"run", "-c", pipeline.string(), "-j", "in-image", "--worker", "oci", "-v", "registry=" + host,
                         "--insecure-registry", host, "--runc-root", (dir / "runc").string(), "--image-store",
                         (dir / "images").string(), "--cache-dir", (dir / "cache").string(), "-o",
                         "greeting=" + (dir / "got").string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("get busybox\nfetching " + host + "/busybox:latest\n") == 0);
  CHECK(r.out.find("hello from BusyBox\n") != std::string::npos);
  CHECK(r.err.find("image is ignored") == std::string::npos);
  CHECK(slurp(dir / "got" / "hello.txt") == "hello from BusyBox\n");
  CHECK(runc_list(dir / "runc").empty());
  fs::remove_all(dir);
}
