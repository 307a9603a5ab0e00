// The runc worker, for real: busybox containers with inputs, outputs, caches, users, limits,
// privileges and cancellation.

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stop_token>
#include <thread>

#include "oci/oci_support.hpp"
#include "taskstep/worker/oci_runc.hpp"

namespace fs = std::filesystem;
using namespace taskstep;
using taskstep::test::container_io;
using taskstep::test::temp_dir;

namespace {

struct fixture {
  temp_dir dir;
  fs::path image = dir.path() / "image";
  worker::oci_runc_options options;

  explicit fixture(std::chrono::milliseconds grace = std::chrono::seconds(10)) {
    // mkdtemp's 0700 would keep a user-namespaced container root (an unprivileged host uid) out.
    fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    test::write_busybox_image(image, {"PATH=/usr/bin:/bin", "IMAGE_VAR=from-image", "SHARED=image"});
    options.work_root = dir.path() / "runs";
    options.cache_root = dir.path() / "caches";
    options.state_root = dir.path() / "state";
    options.grace = grace;
  }
  worker::oci_runc<> worker() const { return worker::oci_runc<>(options); }

  container_spec spec(std::vector<std::string> env = {}) const {
    container_spec c;
    c.team = "main";
    c.step_name = "unit";
    c.image = image_artifact{"image", image, {}};
    c.working_dir = "/tmp/build/8e6a0d1f";
    c.env = {"PATH=/usr/bin:/bin", "IMAGE_VAR=from-image", "SHARED=image"};
    c.env.insert(c.env.end(), env.begin(), env.end());
    return c;
  }
};

process_spec sh(std::string script, std::string dir = "") {
  return process_spec{"sh", {"-c", std::move(script)}, std::move(dir), ""};
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

#define REQUIRE_CONTAINERS()                                         \
  do {                                                               \
    if (auto why = test::containers_unavailable(); !why.empty()) {   \
      WARN("SKIPPED: " << why);                                      \
      return;                                                        \
    }                                                                \
  } while (0)

}  // namespace

TEST_CASE("oci_runc: env from image then params, working directory at Concourse's path, run.dir", "[oci]") {
  REQUIRE_CONTAINERS();
  fixture f;
  auto w = f.worker();
  container_io io;
  auto c = f.spec({"SHARED=param", "MESSAGE=hello world"});
  auto r = w.run(c, sh("echo \"$IMAGE_VAR|$SHARED|$MESSAGE|$(pwd)|$(id -u)|$(hostname)\"", "sub/dir"), io, {});
  REQUIRE(r);
  INFO(io.err_text);
  CHECK(r->exit_status == 0);
  CHECK(io.starts == 1);
  CHECK(io.out_text.rfind("from-image|param|hello world|/tmp/build/8e6a0d1f/sub/dir|0|taskstep-", 0) == 0);
  CHECK(test::runc_list(f.options.state_root).empty());
  CHECK(fs::is_empty(f.options.work_root));  // no outputs: nothing left on disk
}

TEST_CASE("oci_runc: exit status, stderr stream and a fresh /proc, /tmp and /dev", "[oci]") {
  REQUIRE_CONTAINERS();
  fixture f;
  auto w = f.worker();
  container_io io;
  auto r = w.run(f.spec(), sh("echo oops >&2; ls /tmp; cat /proc/1/cmdline | tr '\\0' ' '; ls /dev/null && exit 7"), io, {});
  REQUIRE(r);
  CHECK(r->exit_status == 7);
  CHECK(io.err_text == "oops\n");
  CHECK(io.out_text.find("build") != std::string::npos);          // /tmp holds only the build dir
  CHECK(io.out_text.find("/dev/init") != std::string::npos);      // pid 1 is the init, not the task
  CHECK(io.out_text.find("/dev/null") != std::string::npos);
}

TEST_CASE("oci_runc: run.user, else the image's user, resolved in the image's /etc/passwd", "[oci]") {
  REQUIRE_CONTAINERS();
  fixture f;
  auto w = f.worker();
  {
    container_io io;
    auto c = f.spec();
    c.user = "tester";
    auto r = w.run(c, sh("id -u; id -g; touch /tmp/build/8e6a0d1f/mine && echo wrote"), io, {});
    REQUIRE(r);
    CHECK(io.out_text == "1000\n1000\nwrote\n");
  }
  {
    container_io io;
    auto c = f.spec();
    c.user = "nobody-here";
    auto r = w.run(c, sh("true"), io, {});
    REQUIRE_FALSE(r);
    CHECK(r.error().message() == "unable to find user nobody-here: no matching entries in passwd file");
  }
}

TEST_CASE("oci_runc: inputs are copy-on-write, outputs come back, caches persist across job runs", "[oci]") {
  REQUIRE_CONTAINERS();
  fixture f;
  auto w = f.worker();
  const fs::path src = f.dir.write("artifacts/src/file.txt", "original\n").parent_path();
  auto c = f.spec();
  c.job = "build";
  c.inputs.push_back({"src", "src", src, "src"});
  c.outputs.push_back({"out", "out"});
  c.caches.push_back({"cache"});
  const std::string script =
      "cat src/file.txt; echo changed > src/file.txt; echo new > src/added; cat src/file.txt;"
      "cp src/file.txt out/result; cat cache/count 2>/dev/null || echo none; echo run >> cache/count";
  container_io io1;
  auto r1 = w.run(c, sh(script), io1, {});
  REQUIRE(r1);
  CHECK(io1.out_text == "original\nchanged\nnone\n");
  CHECK(slurp(src / "file.txt") == "original\n");  // the source never changes
  CHECK_FALSE(fs::exists(src / "added"));
  REQUIRE(r1->outputs.count("out") == 1);
  CHECK(slurp(r1->outputs.at("out") / "result") == "changed\n");
  REQUIRE(w.commit_caches(c, *r1));
  w.release(*r1);
  CHECK(fs::is_empty(f.options.work_root));

  container_io io2;
  auto r2 = w.run(c, sh("cat cache/count"), io2, {});
  REQUIRE(r2);
  CHECK(io2.out_text == "run\n");
  w.release(*r2);
}

TEST_CASE("oci_runc: a cache inside an input starts empty, hides the input's files there, later runs see only the cache",
          "[oci][caches]") {
  REQUIRE_CONTAINERS();
  fixture f;
  auto w = f.worker();
  const fs::path input = f.dir.write("artifacts/fto/blobs/blob", "blob-contents-from-first-task\n").parent_path().parent_path();
  f.dir.write("artifacts/fto/not-cached", "not-cached-from-first-task\n");
  auto c = f.spec();
  c.job = "build";
  c.inputs.push_back({"first-task-output", "fto", input, "first-task-output"});
  c.caches.push_back({"first-task-output/blobs"});
  const auto task = sh(
      "cat first-task-output/not-cached; echo not-cached-from-second-task >> first-task-output/not-cached;"
      " echo blob-contents-from-second-task >> first-task-output/blobs/blob; cat first-task-output/blobs/blob");
  for (int i = 1; i <= 2; ++i) {
    container_io io;
    auto r = w.run(c, task, io, {});
    REQUIRE(r);
    INFO(io.err_text);
    CHECK(r->exit_status == 0);
    CHECK(io.out_text == "not-cached-from-first-task\n" +
                             std::string(i == 1 ? "blob-contents-from-second-task\n"
                                                : "blob-contents-from-second-task\nblob-contents-from-second-task\n"));
    REQUIRE(w.commit_caches(c, *r));
    w.release(*r);
  }
  CHECK(slurp(input / "blobs/blob") == "blob-contents-from-first-task\n");
  CHECK(slurp(input / "not-cached") == "not-cached-from-first-task\n");
}

TEST_CASE("oci_runc: a task over its memory limit is killed and reported", "[oci]") {
  REQUIRE_CONTAINERS();
  fixture f;
  auto w = f.worker();
  container_io io;
  auto c = f.spec();
  c.memory = 32ull << 20;
  auto r = w.run(c, sh("echo start; exec tail /dev/zero"), io, {});
  REQUIRE(r);
  CHECK(r->exit_status == 137);
  CHECK(r->oom_killed);
  CHECK(io.out_text == "start\n");
  CHECK(io.err_text.find("exceeded its memory limit of 33554432 bytes") != std::string::npos);

  container_io small;  // under the limit: nothing to report
  auto ok = w.run(c, sh("echo fine"), small, {});
  REQUIRE(ok);
  CHECK(ok->exit_status == 0);
  CHECK_FALSE(ok->oom_killed);
}

TEST_CASE("oci_runc: limits reach the container's cgroup (also without a user namespace)", "[oci]") {
  REQUIRE_CONTAINERS();
  fixture f;
  f.options.user_namespace = false;
  auto w = f.worker();
  container_io io;
  auto c = f.spec();
  c.memory = 64ull << 20;
  c.cpu = 512;
  auto r = w.run(c, sh("cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.shares 2>/dev/null || "
                       "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.weight"),
                 io, {});
  REQUIRE(r);
  if (fs::exists("/sys/fs/cgroup/memory")) CHECK(io.out_text == "67108864\n512\n");
  else CHECK(io.out_text.rfind("67108864\n", 0) == 0);
}

TEST_CASE("oci_runc: unprivileged tasks cannot see host files or mount, privileged ones can mount", "[oci]") {
  REQUIRE_CONTAINERS();
  fixture f;
  auto w = f.worker();
  const fs::path secret = f.dir.write("host-secret.txt", "top secret\n");
  const std::string script = "cat " + secret.string() + " 2>/dev/null || echo no-file; "
                             "mkdir -p /mnt/t; mount -t tmpfs none /mnt/t 2>/dev/null && echo mounted || echo no-mount; "
                             "grep CapEff /proc/self/status";
  container_io io;
  auto r = w.run(f.spec(), sh(script), io, {});
  REQUIRE(r);
  CHECK(io.out_text.find("no-file\nno-mount\n") == 0);
  CHECK(io.out_text.find("CapEff:\t00000000a80425fb") != std::string::npos);  // Concourse's 14 capabilities

  container_io pio;
  auto pc = f.spec();
  pc.privileged = true;
  auto pr = w.run(pc, sh(script), pio, {});
  REQUIRE(pr);
  CHECK(pio.out_text.find("no-file\nmounted\n") == 0);  // still no host files: only its own mounts
}

TEST_CASE("oci_runc: cancellation sends TERM, then KILL after the grace period, and leaves no container", "[oci]") {
  REQUIRE_CONTAINERS();
  SECTION("the task handles TERM") {
    fixture f;
    auto w = f.worker();
    std::stop_source stop;
    container_io io;
    io.on_out = [&](const std::string& text) {
      if (text.find("ready") != std::string::npos) stop.request_stop();
    };
    auto c = f.spec();
    c.outputs.push_back({"out", "out"});
    auto r = w.run(c, sh("trap 'echo bye > out/note; exit 3' TERM; echo ready; while true; do sleep 0.1; done"), io,
                   stop.get_token());
    REQUIRE(r);
    CHECK(r->stopped);
    CHECK(slurp(r->outputs.at("out") / "note") == "bye\n");
    CHECK(test::runc_list(f.options.state_root).empty());
    w.release(*r);
    CHECK(fs::is_empty(f.options.work_root));
  }
  SECTION("the task ignores TERM") {
    fixture f(std::chrono::milliseconds(300));
    auto w = f.worker();
    std::stop_source stop;
    container_io io;
    io.on_out = [&](const std::string& text) {
      if (text.find("ready") != std::string::npos) stop.request_stop();
    };
    const auto start = std::chrono::steady_clock::now();
    auto r = w.run(f.spec(), sh("trap '' TERM; echo ready; sleep 30"), io, stop.get_token());
    REQUIRE(r);
    CHECK(r->stopped);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
    CHECK(test::runc_list(f.options.state_root).empty());
  }
}

TEST_CASE("oci_runc: rootfs_uri raw:// runs, other schemes and missing programs are clear errors", "[oci]") {
  REQUIRE_CONTAINERS();
  fixture f;
  auto w = f.worker();
  auto c = f.spec();
  c.image = rootfs_uri_spec{"raw://" + (f.image / "rootfs").string()};
  container_io io;
  auto r = w.run(c, sh("echo raw"), io, {});
  REQUIRE(r);
  CHECK(io.out_text == "raw\n");

  c.image = rootfs_uri_spec{"docker:///busybox"};
  auto bad = w.run(c, sh("true"), io, {});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message().rfind("unsupported scheme 'docker'", 0) == 0);

  c.image = rootfs_uri_spec{"raw://relative/dir"};
  auto rel = w.run(c, sh("true"), io, {});
  REQUIRE_FALSE(rel);
  CHECK(rel.error().message() == "directory must be an absolute path");

  auto missing = w.run(f.spec(), process_spec{"no-such-tool", {}, "", ""}, io, {});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message() == "exec: \"no-such-tool\": executable file not found in $PATH");

  container_spec no_image = f.spec();
  no_image.image = taskstep::no_image{};
  auto none = w.run(no_image, sh("true"), io, {});
  REQUIRE_FALSE(none);
  CHECK(none.error().message().find("the task has no image") != std::string::npos);
}

TEST_CASE("oci_runc: paths that climb out of the working directory are refused", "[oci]") {
  REQUIRE_CONTAINERS();
  fixture f;
  auto w = f.worker();
  auto c = f.spec();
  c.outputs.push_back({"out", "../escape"});
  container_io io;
  auto r = w.run(c, sh("true"), io, {});
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "output 'out' path '../escape' resolves outside the working directory");
  CHECK(io.starts == 0);
}

TEST_CASE("oci_runc: with a user namespace, container root is an unprivileged host uid", "[oci]") {
  REQUIRE_CONTAINERS();
  fixture f;  // the default
  auto w = f.worker();
  auto c = f.spec();
  c.outputs.push_back({"out", "out"});
  container_io io;
  auto r = w.run(c, sh("id -u; echo made > out/file; mkdir -p /mnt/t; mount -t tmpfs none /mnt/t 2>/dev/null && echo mounted || "
                       "echo no-mount; cat /proc/self/uid_map | tr -s ' ' | head -1"),
                 io, {});
  REQUIRE(r);
  INFO(io.err_text);
  const auto base = worker::oci::user_namespace_base();
  CHECK(io.out_text == "0\nno-mount\n 0 " + std::to_string(base) + " 65536\n");
  struct stat st {};
  REQUIRE(::stat((r->outputs.at("out") / "file").c_str(), &st) == 0);
  CHECK(st.st_uid == base);  // what the task wrote belongs to the mapped uid on the host
  w.release(*r);
}

TEST_CASE("oci_runc: without overlays (copy_rootfs) the image and the inputs are copies the task may change", "[oci]") {
  REQUIRE_CONTAINERS();
  for (const bool userns : {true, false}) {
    fixture f;
    f.options.copy_rootfs = true;
    f.options.user_namespace = userns;
    auto w = f.worker();
    const fs::path src = f.dir.write("artifacts/src/file.txt", "original\n").parent_path();
    auto c = f.spec();
    c.inputs.push_back({"src", "src", src, "src"});
    container_io io;
    auto r = w.run(c, sh("echo changed > src/file.txt && cat src/file.txt && echo x > /etc/added && rm /bin/ls && echo ok"),
                   io, {});
    REQUIRE(r);
    INFO(io.err_text);
    CHECK(io.out_text == "changed\nok\n");
    CHECK(slurp(src / "file.txt") == "original\n");
    CHECK(fs::is_symlink(f.image / "rootfs/bin/ls"));
    CHECK_FALSE(fs::exists(f.image / "rootfs/etc/added"));
    CHECK(fs::is_empty(f.options.work_root));
  }
}
