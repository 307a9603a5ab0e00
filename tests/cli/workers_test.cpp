// `taskstep execute --worker oci` and `--worker slurm`, end to end: real runc containers and a real
// Slurm cluster (SKIPPED, with the reason, where the machine has neither).

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "cli/run_command.hpp"
#include "common/slurm_cluster.hpp"
#include "oci/oci_support.hpp"

namespace fs = std::filesystem;

namespace {

struct container_workspace {
  fs::path dir = test_dir();
  fs::path image = dir / "image";
  fs::path runc_root = dir / "runc-state";
  container_workspace() {
    fs::permissions(dir, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    taskstep::test::write_busybox_image(image, {"PATH=/bin", "FROM_IMAGE=yes", "SHARED=image"}, "root");
  }
  std::string task(const std::string& name, const std::string& text) const {
    write_file(dir / name, text);
    return (dir / name).string();
  }
  ~container_workspace() { fs::remove_all(dir); }
};

}  // namespace

TEST_CASE("execute --worker oci runs the task in a container from an image artifact", "[cli][oci]") {
  if (auto why = taskstep::test::containers_unavailable(); !why.empty()) {
    WARN("SKIPPED: " << why);
    return;
  }
  container_workspace w;
  write_file(w.dir / "src" / "a.txt", "original\n");
  const auto task = w.task("task.yml",
                           "platform: linux\n"
                           "params: {SHARED: param}\n"
                           "inputs: [{name: src}]\n"
                           "outputs: [{name: out}]\n"
                           "run:\n"
                           "  path: sh\n"
                           "  dir: src\n"
                           "  args: [-ec, 'echo $FROM_IMAGE $SHARED $(id -un) $(pwd); echo changed > a.txt; cp a.txt ../out/']\n");
  auto r = run_taskstep({"execute", "--worker", "oci", "--runc-root", w.runc_root.string(), "--image", w.image.string(),
                         "-c", task, "-i", "src=" + (w.dir / "src").string(), "-o", "out=" + (w.dir / "got").string()});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("selected worker: oci\n") != std::string::npos);
  CHECK(r.out.find("yes param root /tmp/build/") != std::string::npos);  // image env, params, image user, Concourse's dir
  CHECK(slurp(w.dir / "src" / "a.txt") == "original\n");
  CHECK(slurp(w.dir / "got" / "a.txt") == "changed\n");
  CHECK(taskstep::test::runc_list(w.runc_root).empty());
}

TEST_CASE("execute --worker oci: rootfs_uri, exit status, timeout leaves no container", "[cli][oci]") {
  if (auto why = taskstep::test::containers_unavailable(); !why.empty()) {
    WARN("SKIPPED: " << why);
    return;
  }
  container_workspace w;
  const auto failing = w.task("fail.yml", "platform: linux\nrootfs_uri: raw://" + (w.image / "rootfs").string() +
                                              "\nrun: {path: sh, args: [-c, 'echo in-raw; exit 4']}\n");
  auto r = run_taskstep({"execute", "--worker", "oci", "--runc-root", w.runc_root.string(), "-c", failing});
  CHECK(r.exit_code == 4);
  CHECK(r.out.find("in-raw\nfailed\n") != std::string::npos);

  const auto slow = w.task("slow.yml", "platform: linux\nrootfs_uri: raw://" + (w.image / "rootfs").string() +
                                           "\nrun: {path: sh, args: [-c, 'echo started; sleep 60']}\n");
  r = run_taskstep({"execute", "--worker", "oci", "--runc-root", w.runc_root.string(), "--timeout", "1s", "--grace", "1s",
                    "-c", slow});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("timeout exceeded") != std::string::npos);
  CHECK(taskstep::test::runc_list(w.runc_root).empty());

  const auto bad = w.task("bad.yml", "platform: linux\nrootfs_uri: docker:///busybox\nrun: {path: \"true\"}\n");
  r = run_taskstep({"execute", "--worker", "oci", "--runc-root", w.runc_root.string(), "-c", bad});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("unsupported scheme 'docker'") != std::string::npos);
}

TEST_CASE("execute --worker slurm runs the task as a Slurm job step, on the host or in a container", "[cli][slurm]") {
  if (auto why = taskstep::test::slurm_cluster_missing(); !why.empty()) {
    WARN("SKIPPED: " << why);
    return;
  }
  container_workspace w;
  const auto host = w.task("host.yml", "platform: linux\nparams: {MESSAGE: 'a, b c'}\n"
                                       "run: {path: sh, args: [-c, 'echo \"$MESSAGE\"; exit 3']}\n");
  auto r = run_taskstep({"execute", "--worker", "slurm", "-c", host});
  INFO(r.err);
  CHECK(r.exit_code == 3);
  CHECK(r.out.find("selected worker: slurm\n") != std::string::npos);
  CHECK(r.out.find("a, b c\n") != std::string::npos);

  if (auto why = taskstep::test::containers_unavailable(); !why.empty()) {
    WARN("SKIPPED (container part): " << why);
    return;
  }
  const auto boxed = w.task("boxed.yml", "platform: linux\nrun: {path: sh, args: [-c, 'echo $FROM_IMAGE $(pwd)']}\n");
  r = run_taskstep({"execute", "--worker", "slurm", "--image", w.image.string(), "-c", boxed});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("yes /tmp/build/") != std::string::npos);

  r = run_taskstep({"execute", "--worker", "slurm", "--tag", "no-such-feature", "-c", host});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("no workers satisfying: platform 'linux', tag 'no-such-feature'") != std::string::npos);
}

TEST_CASE("execute: an image_resource type taskstep cannot fetch gets a message that says what to do", "[cli][execute][images]") {
  const auto dir = test_dir();
  write_file(dir / "mock.yml", "platform: linux\nimage_resource: {type: mock, source: {mirror_self: true}}\nrun: {path: 'true'}\n");
  const auto task = (dir / "mock.yml").string();
  auto local = run_taskstep({"execute", "--worker", "local", "-c", task});
  CHECK(local.exit_code == 2);
  CHECK(local.err.find("no workers satisfying") == std::string::npos);
  CHECK(local.err.find("image_resource type 'mock' is not supported by taskstep") != std::string::npos);
  CHECK(local.err.find("remove image_resource to run the task on this host") != std::string::npos);
  for (const char* worker : {"oci", "slurm", "auto"}) {
    INFO(worker);
    auto r = run_taskstep({"execute", "--worker", worker, "-c", task});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("no workers satisfying") == std::string::npos);
    // auto may refuse earlier when containers cannot run here; otherwise it names the type too.
    if (r.err.find("pass --worker local") == std::string::npos)
      CHECK(r.err.find("image_resource type 'mock' is not supported by taskstep") != std::string::npos);
  }
  // An image artifact wins over image_resource (as in Concourse): the type is not looked at.
  fs::create_directories(dir / "img" / "rootfs");
  write_file(dir / "img" / "metadata.json", R"({"env": []})");
  auto with_artifact = run_taskstep({"execute", "--worker", "local", "-c", task, "--image", (dir / "img").string()});
  CHECK(with_artifact.exit_code == 0);
}
