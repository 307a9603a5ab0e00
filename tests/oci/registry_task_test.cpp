// task.yml files with `image_resource` run through `taskstep execute --worker oci`, end to end: a
// real registry on 127.0.0.1 (Debian's docker-registry), a busybox image built here and pushed with
// skopeo, pulled into the image store, run by runc; then the cached image without the registry.

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "cli/run_command.hpp"
#include "image/registry_support.hpp"
#include "oci/oci_support.hpp"

namespace fs = std::filesystem;
using namespace taskstep::test;

namespace {

std::string unavailable() {
  if (auto why = containers_unavailable(); !why.empty()) return why;
  return registry_tools_missing();
}

// A registry holding busybox as HOST/busybox:latest and HOST/library/busybox:latest (a mirror's name
// for Docker Hub's busybox).
struct registry_with_busybox {
  temp_dir layout_dir;
  oci_layout layout{layout_dir.path() / "layout"};
  local_registry registry;
  registry_with_busybox() {
    layout.name(layout.image({layout.layer(busybox_entries(), "gzip")}, busybox_config()), "busybox");
    skopeo_push(layout, "busybox", registry.host() + "/busybox:latest", {"--format", "v2s2"});
    skopeo_push(layout, "busybox", registry.host() + "/library/busybox:latest", {"--format", "v2s2"});
  }
};

struct workspace {
  fs::path dir = test_dir();
  workspace() { fs::permissions(dir, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec); }
  std::string task(const std::string& name, const std::string& text) const {
    write_file(dir / name, text);
    return (dir / name).string();
  }
  std::vector<std::string> execute(const std::string& task) const {
    return {"execute", "--worker", "oci", "--runc-root", (dir / "runc").string(), "--image-store", (dir / "images").string(),
            "--cache-dir", (dir / "cache").string(), "-c", task};
  }
  ~workspace() { fs::remove_all(dir); }
};

}  // namespace

TEST_CASE("image_resource from a local registry: pulled once, env and user from the image, cached for the next run",
          "[oci][registry]") {
  if (auto why = unavailable(); !why.empty()) {
    WARN("SKIPPED: " << why);
    return;
  }
  registry_with_busybox r;
  workspace w;
  const std::string host = r.registry.host();
  const auto task = w.task("task.yml", "platform: linux\n"
                                       "image_resource:\n"
                                       "  type: registry-image\n"
                                       "  source: {repository: " + host + "/busybox, tag: latest, insecure_registries: ['" + host + "']}\n"
                                       "params: {SHARED: param}\n"
                                       "outputs: [{name: out}]\n"
                                       "run: {path: sh, args: [-ec, 'echo $IMAGE_VAR $SHARED $(id -un) $(pwd); id -u > out/uid']}\n");
  auto args = w.execute(task);
  args.insert(args.end(), {"-o", "out=" + (w.dir / "got").string()});
  auto first = run_taskstep(args);
  INFO(first.err);
  CHECK(first.exit_code == 0);
  CHECK(first.out.find("from-image param tester /tmp/build/") != std::string::npos);
  CHECK(first.err.find("fetching " + host + "/busybox:latest") != std::string::npos);
  CHECK(slurp(w.dir / "got" / "uid") == "1000\n");
  CHECK(fs::is_directory(w.dir / "images" / "sha256"));

  r.registry.stop();  // the second run needs no registry: the store has the image
  auto second = run_taskstep(w.execute(task));
  INFO(second.err);
  CHECK(second.exit_code == 0);
  CHECK(second.out.find("from-image param tester") != std::string::npos);
  CHECK(second.err.find("layer ") == std::string::npos);  // nothing downloaded
  CHECK(runc_list(w.dir / "runc").empty());
}

TEST_CASE("image_resource: a Docker Hub name through registry_mirror, and errors that say what to do", "[oci][registry]") {
  if (auto why = unavailable(); !why.empty()) {
    WARN("SKIPPED: " << why);
    return;
  }
  registry_with_busybox r;
  workspace w;
  const std::string host = r.registry.host();
  const auto mirrored = w.task("mirror.yml", "platform: linux\n"
                                             "image_resource:\n"
                                             "  type: docker-image\n"
                                             "  source: {repository: busybox, registry_mirror: {host: " + host + "}}\n"
                                             "run: {path: sh, args: [-c, 'echo via-mirror']}\n");
  auto args = w.execute(mirrored);
  args.insert(args.end(), {"--insecure-registry", host});
  auto ok = run_taskstep(args);
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("via-mirror\n") != std::string::npos);

  const auto missing = w.task("missing.yml", "platform: linux\n"
                                             "image_resource:\n"
                                             "  type: registry-image\n"
                                             "  source: {repository: " + host + "/nothing-here, insecure_registries: ['" + host + "']}\n"
                                             "run: {path: \"true\"}\n");
  auto nf = run_taskstep(w.execute(missing));
  CHECK(nf.exit_code == 2);
  CHECK(nf.err.find(host + "/nothing-here") != std::string::npos);

  const auto git = w.task("git.yml", "platform: linux\nimage_resource: {type: git, source: {uri: x}}\nrun: {path: \"true\"}\n");
  auto unsupported = run_taskstep(w.execute(git));
  CHECK(unsupported.exit_code == 2);
  INFO(unsupported.err);
  // Concourse's placement would say `no workers satisfying: resource type 'git'`; the command says
  // why and what to do instead (docs/local-worker.md), before any worker is involved.
  CHECK(unsupported.err.find("image_resource type 'git' is not supported by taskstep") != std::string::npos);
  CHECK(unsupported.err.find("Use type: registry-image") != std::string::npos);
}
