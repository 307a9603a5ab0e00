// local_process_options::keep: a run that did not succeed keeps its run directory and a kept.json
// record (mode 0600: the environment, run.dir, the input overlays); a succeeded run is not kept, nor
// anything without keep; release() and reap_stale_runs leave a kept run alone.

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>

#include <stop_token>
#include <thread>

#include "taskstep/worker/kept_run.hpp"
#include "taskstep/worker/reaper.hpp"
#include "worker/local_support.hpp"

using namespace taskstep;
using namespace taskstep::test;
namespace fs = std::filesystem;

namespace {

worker::local_process keeping_worker(const temp_dir& dir, bool keep = true) {
  worker::local_process_options o;
  o.work_root = dir.path() / "runs";
  o.cache_root = dir.path() / "caches";
  o.keep = keep;
  return worker::local_process(o);
}

std::vector<fs::path> runs_in(const fs::path& root) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.path().filename().string().rfind("run-", 0) == 0) out.push_back(e.path());
  return out;
}

}  // namespace

TEST_CASE("keep: a failed local run keeps its directory and a 0600 record of env, dir and overlays", "[worker][local][keep]") {
  temp_dir dir;
  auto w = keeping_worker(dir);
  fs::create_directories(dir.path() / "src");
  std::ofstream(dir.path() / "src" / "a.txt") << "a\n";
  auto spec = spec_with({"PATH=/usr/bin:/bin", "KEPT_VAR=value-" + std::to_string(40 + 2)});
  spec.inputs.push_back({"src", "src", dir.path() / "src", "src"});
  spec.outputs.push_back({"out", "out"});  // release() would remove the run directory holding it
  recording_io io;
  auto ran = w.run(spec, shell("echo left > note.txt; exit 4", "sub"), io, {});
  REQUIRE(ran);
  CHECK(ran->exit_status == 4);
  const auto kept = worker::kept_runs_in(dir.path() / "runs");
  REQUIRE(kept.size() == 1);
  CHECK(slurp(kept.front() / "work" / "sub" / "note.txt") == "left\n");
  const std::string record = slurp(kept.front() / "kept.json");
  CHECK(record.find("\"worker\":\"local\"") != std::string::npos);
  CHECK(record.find("\"task\":\"unit\"") != std::string::npos);
  CHECK(record.find("\"KEPT_VAR=value-42\"") != std::string::npos);
  CHECK(record.find("\"dir\":\"work/sub\"") != std::string::npos);
  CHECK(record.find("\"exit_status\":4") != std::string::npos);
  if (running_as_root()) CHECK(record.find("\"target\":\"work/src\"") != std::string::npos);  // the input overlay
  struct stat st {};
  REQUIRE(::stat((kept.front() / "kept.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(nothing_mounted_under(dir.path()));

  // release() of a kept run's result leaves it in place.
  REQUIRE(ran->outputs.size() == 1);
  w.release(*ran);
  CHECK(fs::exists(kept.front() / "kept.json"));
}

TEST_CASE("keep: a succeeded run is not kept, and without keep a failed one is not either", "[worker][local][keep]") {
  temp_dir dir;
  recording_io io;
  auto keeping = keeping_worker(dir);
  REQUIRE(keeping.run(spec_with(), shell("exit 0"), io, {}));
  CHECK(runs_in(dir.path() / "runs").empty());
  auto plain = keeping_worker(dir, false);
  auto failed = plain.run(spec_with(), shell("exit 1"), io, {});
  REQUIRE(failed);
  CHECK(failed->exit_status == 1);
  CHECK(runs_in(dir.path() / "runs").empty());
}

TEST_CASE("keep: a stopped run is kept and says so", "[worker][local][keep]") {
  temp_dir dir;
  auto w = keeping_worker(dir);
  std::stop_source stop;
  recording_io io;
  io.on_out = [&](const std::string& s) {
    if (s.find("ready") != std::string::npos) stop.request_stop();
  };
  auto ran = w.run(spec_with(), shell("echo ready; sleep 30"), io, stop.get_token());
  REQUIRE(ran);
  CHECK(ran->stopped);
  const auto kept = worker::kept_runs_in(dir.path() / "runs");
  REQUIRE(kept.size() == 1);
  CHECK(slurp(kept.front() / "kept.json").find("\"stopped\":true") != std::string::npos);
}

TEST_CASE("reap_stale_runs leaves a kept run whose owner died and reaps the same run without its record", "[worker][keep][reaper]") {
  temp_dir dir;
  const fs::path root = dir.path() / "runs";
  for (const char* name : {"run-kept01", "run-gone01"}) {
    fs::create_directories(root / name / "work");
    std::ofstream(root / name / "owner") << "999999\n";  // nobody holds its lock: the owner is dead
  }
  REQUIRE(worker::write_kept_run(root / "run-kept01", {}));
  CHECK(worker::reap_stale_runs(root) == 1);
  CHECK(fs::exists(root / "run-kept01" / "kept.json"));
  CHECK_FALSE(fs::exists(root / "run-gone01"));
}
