// The runc worker's isolation (issue 10): no chown, stage or commit through a link an input or the
// task made; the user namespace maps the whole container range to unused host ids; a cgroup
// namespace shows the task its own limits; a machine without user namespaces is a clear error.

#include <catch2/catch.hpp>

#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/processes.hpp"
#include "oci/oci_support.hpp"
#include "taskstep/worker/oci_runc.hpp"

namespace fs = std::filesystem;
using namespace taskstep;
using taskstep::test::container_io;
using taskstep::test::temp_dir;

namespace {

struct iso_fixture {
  temp_dir dir;
  fs::path image = dir.path() / "image";
  worker::oci_runc_options options;

  iso_fixture() {
    fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    test::write_busybox_image(image, {"PATH=/usr/bin:/bin"});
    options.work_root = dir.path() / "runs";
    options.cache_root = dir.path() / "caches";
    options.state_root = dir.path() / "state";
  }
  worker::oci_runc<> worker() const { return worker::oci_runc<>(options); }
  container_spec spec() const {
    container_spec c;
    c.team = "main";
    c.step_name = "unit";
    c.image = image_artifact{"image", image, {}};
    c.working_dir = "/tmp/build/8e6a0d1f";
    c.env = {"PATH=/usr/bin:/bin"};
    return c;
  }
  fs::path input_with(const std::string& entry, bool link) const {
    const auto art = dir.mkdir("art");
    if (link) fs::create_symlink(dir.path() / "host", art / entry);
    else fs::create_directories(art / entry);
    return art;
  }
};

process_spec sh(std::string script, std::string dir = "", std::string user = "") {
  return process_spec{"sh", {"-c", std::move(script)}, std::move(dir), std::move(user)};
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

struct stat stat_of(const fs::path& p) {
  struct stat st {};
  (void)::lstat(p.c_str(), &st);
  return st;
}

std::string unavailable() {
  if (auto why = test::containers_unavailable(); !why.empty()) return why;
  return worker::oci_runc<>::user_namespace_unavailable_reason();
}

#define REQUIRE_USERNS_CONTAINERS()                     \
  do {                                                  \
    if (auto why = unavailable(); !why.empty()) {       \
      WARN("SKIPPED: " << why);                         \
      return;                                           \
    }                                                   \
  } while (0)

}  // namespace

TEST_CASE("oci_runc: an output or run.dir inside an input's link is refused, the host dir keeps its owner", "[oci][isolation]") {
  REQUIRE_USERNS_CONTAINERS();
  for (const bool link : {true, false}) {
    for (const bool as_run_dir : {false, true}) {
      DYNAMIC_SECTION((link ? "a link" : "positive control: a plain directory") << (as_run_dir ? " as run.dir" : " as output")) {
        iso_fixture f;
        f.dir.write("host/file", "host");
        auto w = f.worker();
        auto c = f.spec();
        c.inputs.push_back({"in", "art", f.input_with("out", link), "in"});
        if (!as_run_dir) c.outputs.push_back({"out", "in/out"});
        container_io io;
        auto r = w.run(c, sh("echo x > new; pwd", as_run_dir ? "in/out" : "in/out"), io, {});
        if (link) {
          REQUIRE_FALSE(r);
          CHECK(contains(r.error().message(), std::string(as_run_dir ? "run.dir" : "output 'out' path") +
                                                  " 'in/out': in/out is a symbolic link"));
          CHECK(io.starts == 0);
        } else {
          REQUIRE(r);
          INFO(io.err_text);
          CHECK(io.out_text == "/tmp/build/8e6a0d1f/in/out\n");
          w.release(*r);
        }
        CHECK(stat_of(f.dir.path() / "host").st_uid == 0u);
        CHECK(stat_of(f.dir.path() / "host/file").st_uid == 0u);
        CHECK_FALSE(fs::exists(f.dir.path() / "host/new"));
      }
    }
  }
}

TEST_CASE("oci_runc: caches are never staged or committed through a link", "[oci][isolation][caches]") {
  REQUIRE_USERNS_CONTAINERS();
  iso_fixture f;
  f.dir.write("host/secret", "host file");
  auto w = f.worker();
  auto c = f.spec();
  c.job = "build";
  c.caches.push_back({"deps"});

  SECTION("a cache the task replaced by a link is not committed") {
    container_io io;
    auto r = w.run(c, sh("rm -rf deps && ln -s " + (f.dir.path() / "host").string() + " deps"), io, {});
    REQUIRE(r);
    auto committed = w.commit_caches(c, *r);
    REQUIRE_FALSE(committed);
    CHECK(contains(committed.error().message(), "symbolic link"));
    w.release(*r);
    container_io io2;
    auto r2 = w.run(c, sh("ls -A deps"), io2, {});
    REQUIRE(r2);
    CHECK(io2.out_text.empty());
    w.release(*r2);
  }
  SECTION("a cache at a path an input made a link is refused") {
    c.caches = {{"in/cache"}};
    c.inputs.push_back({"in", "art", f.input_with("cache", true), "in"});
    container_io io;
    auto r = w.run(c, sh("true"), io, {});
    REQUIRE_FALSE(r);
    CHECK(contains(r.error().message(), "cache path 'in/cache': in/cache is a symbolic link"));
    CHECK(fs::exists(f.dir.path() / "host/secret"));
    CHECK(std::distance(fs::directory_iterator(f.dir.path() / "host"), fs::directory_iterator()) == 1);
  }
  SECTION("positive control: a real cache directory persists") {
    container_io io;
    auto r = w.run(c, sh("echo kept > deps/f"), io, {});
    REQUIRE(r);
    REQUIRE(w.commit_caches(c, *r));
    w.release(*r);
    container_io io2;
    auto r2 = w.run(c, sh("cat deps/f"), io2, {});
    REQUIRE(r2);
    CHECK(io2.out_text == "kept\n");
    w.release(*r2);
  }
}

TEST_CASE("oci_runc: the user namespace maps container ids 0..65535 to unused host ids", "[oci][isolation][userns]") {
  REQUIRE_USERNS_CONTAINERS();
  const std::uint32_t base = worker::oci::user_namespace_base();
  CHECK(base >= 65536u);
  for (const std::string user : {"tester", "root"}) {
    DYNAMIC_SECTION("as " << user) {
      iso_fixture f;
      auto w = f.worker();
      auto c = f.spec();
      c.outputs.push_back({"out", "out"});
      container_io io;
      auto r = w.run(c, sh("id -u; echo made > out/file; chmod 600 out/file; cat /proc/self/uid_map | tr -s ' '", "", user), io, {});
      REQUIRE(r);
      INFO(io.err_text);
      const std::uint32_t id = user == "root" ? 0 : 1000;
      CHECK(io.out_text == std::to_string(id) + "\n 0 " + std::to_string(base) + " 65536\n");
      const auto st = stat_of(r->outputs.at("out") / "file");
      CHECK(st.st_uid == base + id);  // outside 0..65535: never a host user's id
      CHECK(st.st_uid > 65535u);
      // taskstep (root) still reads and copies it
      std::ifstream in(r->outputs.at("out") / "file");
      std::string text;
      std::getline(in, text);
      CHECK(text == "made");
      CHECK(artifact::copy_tree_into(r->outputs.at("out"), f.dir.path() / "copied"));
      w.release(*r);
    }
  }
  SECTION("positive control: without a user namespace, uid 1000 is host uid 1000") {
    iso_fixture f;
    f.options.user_namespace = false;
    auto w = f.worker();
    auto c = f.spec();
    c.outputs.push_back({"out", "out"});
    container_io io;
    auto r = w.run(c, sh("echo made > out/file", "", "tester"), io, {});
    REQUIRE(r);
    CHECK(stat_of(r->outputs.at("out") / "file").st_uid == 1000u);
    w.release(*r);
  }
}

TEST_CASE("oci_runc: a user outside the mapped range is refused, not handed a host id", "[oci][isolation][userns]") {
  REQUIRE_USERNS_CONTAINERS();
  iso_fixture f;
  auto w = f.worker();
  container_io io;
  auto r = w.run(f.spec(), sh("true", "", "70000"), io, {});
  REQUIRE_FALSE(r);
  CHECK(contains(r.error().message(), "user 70000 (uid 70000, gid 70000) is outside the user namespace's ids 0..65535"));
  CHECK(io.starts == 0);
}

TEST_CASE("oci::user_namespace_base skips ranges /etc/subuid, /etc/subgid and /etc/passwd use", "[oci][isolation][userns]") {
  temp_dir etc;
  CHECK(worker::oci::user_namespace_base(etc.path()) == 65536u);
  etc.write("subuid", "alice:100000:65536\n");
  CHECK(worker::oci::user_namespace_base(etc.path()) == 196608u);  // 65536.. and 131072.. overlap 100000..165535
  etc.write("subuid", "alice:65536:65536\n");
  CHECK(worker::oci::user_namespace_base(etc.path()) == 131072u);
  etc.write("passwd", "bob:x:140000:140000::/:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n");
  CHECK(worker::oci::user_namespace_base(etc.path()) == 196608u);
}

TEST_CASE("oci_runc: a cgroup namespace shows the task its own memory limit", "[oci][isolation][cgroup]") {
  if (auto why = test::containers_unavailable(); !why.empty()) {
    WARN("SKIPPED: " << why);
    return;
  }
  for (const bool userns : {true, false}) {
    DYNAMIC_SECTION((userns ? "with" : "without") << " a user namespace") {
      if (userns && !worker::oci_runc<>::user_namespace_unavailable_reason().empty()) {
        WARN("SKIPPED: " << worker::oci_runc<>::user_namespace_unavailable_reason());
        return;
      }
      iso_fixture f;
      f.options.user_namespace = userns;
      auto w = f.worker();
      auto c = f.spec();
      c.memory = 64u << 20;
      container_io io;
      auto r = w.run(c,
                     sh("cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; "
                        "cat /proc/self/cgroup | grep -c taskstep || true"),
                     io, {});
      REQUIRE(r);
      INFO(io.err_text);
      CHECK(io.out_text == std::to_string(64u << 20) + "\n0\n");  // its own limit; no host path in /proc/self/cgroup
    }
  }
}

TEST_CASE("oci_runc: where user namespaces cannot be created the error names --no-user-namespace", "[oci][isolation][userns]") {
  // A child in its own user namespace sets that namespace's user.max_user_namespaces to 0 (the
  // host's value is untouched), then probes: nested namespaces are refused there.
  auto child = test::fork_reporting([](test::child_reporter& report) {
    if (::unshare(CLONE_NEWUSER) != 0) {
      report("SKIP:unshare");
    } else {
      std::ofstream("/proc/sys/user/max_user_namespaces") << "0\n";
      report(worker::detail::probe_user_namespace());
    }
    return 0;
  });
  REQUIRE(child.pid > 0);
  (void)test::wait_child(child.pid);
  const std::string& got = child.text;
  if (got == "SKIP:unshare") {
    WARN("SKIPPED: this machine cannot create a user namespace to nest the probe in");
    return;
  }
  CHECK(contains(got, "cannot create user namespaces"));
  CHECK(contains(got, "--no-user-namespace"));
  CHECK(contains(got, std::strerror(ENOSPC)));
  // positive control: here (the host's namespace) the probe succeeds
  if (::geteuid() == 0) CHECK(worker::detail::probe_user_namespace().empty());
}
