// build::reap_stale_private_dirs: what a dead taskstep left in $TMPDIR goes at the next build's start;
// a live one's directories, and a run root kept for an output, stay.

#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "build/build_support.hpp"
#include "common/processes.hpp"
#include "taskstep/build/paths.hpp"

namespace fs = std::filesystem;
using namespace taskstep;

namespace {

// Makes a private dir in a child process that then exits: its claim dies with it, as with SIGKILL.
fs::path made_by_dead_process(const fs::path& parent, std::string_view prefix) {
  auto child = test::fork_reporting([&](test::child_reporter& report) {
    auto dir = build::make_private_dir(parent, prefix);
    report(dir ? dir->string() : std::string());
    return dir ? 0 : 1;
  });
  REQUIRE(child.pid > 0);
  const int status = test::wait_child(child.pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  return fs::path(child.text);
}

}  // namespace

TEST_CASE("the start-up reaper removes a dead build's run root and staged inputs, with what is mounted in them", "[build][reap]") {
  test::temp_dir t;
  const fs::path root = made_by_dead_process(t.path(), "taskstep-runs-");
  const fs::path input = made_by_dead_process(t.path(), "taskstep-input-");
  REQUIRE(fs::exists(root / "owner"));
  fs::create_directories(root / "run-abc123" / "work");
  fs::create_directories(input / "tree");
  // A mount the dead run left (an overlay in real life): a tmpfs where root can mount one.
  const bool mounted = ::geteuid() == 0 && ::mount("tmpfs", (root / "run-abc123" / "work").c_str(), "tmpfs", 0, "size=1m") == 0;
  if (!mounted) WARN("SKIPPED the mount part: cannot mount a tmpfs here (not root?)");

  CHECK(build::reap_stale_private_dirs(t.path()) == 2);
  CHECK_FALSE(fs::exists(root));
  CHECK_FALSE(fs::exists(input));
  if (mounted) {
    std::string mountinfo = test::slurp_file("/proc/self/mountinfo");
    CHECK(mountinfo.find(root.string()) == std::string::npos);
  }
}

TEST_CASE("the start-up reaper leaves a live build's directories, a kept run root and others' names alone", "[build][reap]") {
  test::temp_dir t;
  auto live = build::make_private_dir(t.path(), "taskstep-runs-");  // claimed by this live process
  REQUIRE(live);
  const fs::path kept = made_by_dead_process(t.path(), "taskstep-runs-");
  build::unclaim_private_dir(kept);                 // what a build keeping an output does before it exits
  const fs::path other = made_by_dead_process(t.path(), "something-else-");
  const fs::path half_made = t.path() / "taskstep-input-zzzzzz";  // no owner file yet: being made
  fs::create_directories(half_made);

  CHECK(build::reap_stale_private_dirs(t.path()) == 0);
  CHECK(fs::exists(*live));
  CHECK(fs::exists(kept));
  CHECK(fs::exists(other));
  CHECK(fs::exists(half_made));
}
