// build::reap_stale_private_dirs respects a run kept for intercept: a dead build's run root that holds
// a kept run stays (even with its owner file still there), the same root without one is reaped;
// find_kept_runs lists it, remove_unused_run_root removes the root once its kept run is gone.

#include <catch2/catch.hpp>

#include <fstream>

#include "build/build_support.hpp"
#include "taskstep/build/paths.hpp"
#include "taskstep/worker/kept_run.hpp"

namespace fs = std::filesystem;
using namespace taskstep;

TEST_CASE("the start-up reaper leaves a dead build's run root that holds a kept run", "[build][keep]") {
  test::temp_dir tmp;
  for (const char* name : {"taskstep-runs-kept01", "taskstep-runs-gone01"}) {
    fs::create_directories(tmp.path() / name / "run-abc123" / "work");
    std::ofstream(tmp.path() / name / "owner") << "999999\n";  // unlocked: its taskstep is gone
  }
  worker::kept_run record;
  record.worker = "local";
  record.task = "one-off";
  REQUIRE(worker::write_kept_run(tmp.path() / "taskstep-runs-kept01" / "run-abc123", record));
  CHECK(build::reap_stale_private_dirs(tmp.path()) == 1);
  CHECK(fs::exists(tmp.path() / "taskstep-runs-kept01" / "run-abc123" / "kept.json"));
  CHECK_FALSE(fs::exists(tmp.path() / "taskstep-runs-gone01"));

  const auto kept = build::find_kept_runs(tmp.path());
  REQUIRE(kept.size() == 1);
  CHECK(kept.front() == tmp.path() / "taskstep-runs-kept01" / "run-abc123");

  // keep_kept_runs gives up the claim; once the kept run is removed, its root goes too.
  CHECK(build::keep_kept_runs(tmp.path() / "taskstep-runs-kept01").size() == 1);
  CHECK_FALSE(fs::exists(tmp.path() / "taskstep-runs-kept01" / "owner"));
  CHECK_FALSE(build::remove_unused_run_root(tmp.path() / "taskstep-runs-kept01"));  // still holds it
  fs::remove_all(kept.front());
  CHECK(build::remove_unused_run_root(tmp.path() / "taskstep-runs-kept01"));
  CHECK_FALSE(fs::exists(tmp.path() / "taskstep-runs-kept01"));
}
