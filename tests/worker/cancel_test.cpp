// local_process cancellation: SIGTERM to the group, SIGKILL after the grace period, no process of
// the run survives (setsid'd grandchildren included), and a stopped run still returns its outputs.

#include <catch2/catch.hpp>

#include <stop_token>

#include "worker/local_support.hpp"

using namespace taskstep;
using namespace taskstep::test;
namespace fs = std::filesystem;
using std::chrono::milliseconds;

namespace {

// Requests `stop` once the task has printed "ready".
void stop_when_ready(recording_io& io, std::stop_source& stop) {
  io.on_out = [&stop](const std::string& all) {
    if (all.find("ready\n") != std::string::npos) stop.request_stop();
  };
}

}  // namespace

TEST_CASE("a stop request sends SIGTERM, which a trap can handle", "[worker][local][cancel]") {
  temp_dir dir;
  auto w = make_worker(dir);
  auto spec = spec_with();
  spec.outputs.push_back({"out", "out"});
  recording_io io;
  std::stop_source stop;
  stop_when_ready(io, stop);
  const auto started = std::chrono::steady_clock::now();
  auto r = w.run(spec,
                 shell("trap 'echo got TERM; echo partial > out/file; exit 7' TERM; echo ready; "
                       "while :; do sleep 0.05; done"),
                 io, stop.get_token());
  REQUIRE(r);
  CHECK(r->stopped);
  CHECK(r->exit_status == 7);
  CHECK(io.out_text == "ready\ngot TERM\n");
  CHECK(std::chrono::steady_clock::now() - started < milliseconds(5000));
  // a stopped run's outputs are still there for the step to register
  REQUIRE(r->outputs.count("out") == 1);
  CHECK(slurp(r->outputs.at("out") / "file") == "partial\n");
  w.release(*r);
}

TEST_CASE("a process that ignores SIGTERM is killed after the grace period", "[worker][local][cancel]") {
  temp_dir dir;
  auto w = make_worker(dir, worker::staging_mode::automatic, milliseconds(300));
  recording_io io;
  std::stop_source stop;
  stop_when_ready(io, stop);
  std::chrono::steady_clock::time_point asked{};
  io.on_out = [&](const std::string& all) {
    if (all.find("ready\n") != std::string::npos && !stop.stop_requested()) {
      asked = std::chrono::steady_clock::now();
      stop.request_stop();
    }
  };
  auto r = w.run(spec_with(), shell("trap '' TERM; echo ready; while :; do sleep 0.05; done"), io, stop.get_token());
  const auto took = std::chrono::steady_clock::now() - asked;
  REQUIRE(r);
  CHECK(r->stopped);
  CHECK(r->exit_status == 137);
  CHECK(took >= milliseconds(300));
  CHECK(took < milliseconds(3000));
}

namespace {

// A task whose setsid'd grandchild ignores SIGTERM and writes its pid to out/gpid.
constexpr const char* escapee_task =
    "setsid sh -c 'trap \"\" TERM; echo $$ > out/gpid.tmp; mv out/gpid.tmp out/gpid; exec sleep 1000' & "
    "while [ ! -s out/gpid ]; do sleep 0.01; done; echo ready; wait";

pid_t grandchild_of(const run_result& r) {
  const std::string text = slurp(r.outputs.at("out") / "gpid");
  return static_cast<pid_t>(std::stol(text));
}

void stop_kills_escapee(bool cgroups) {
  temp_dir dir;
  auto w = make_worker(dir, worker::staging_mode::automatic, milliseconds(200), cgroups);
  auto spec = spec_with();
  spec.outputs.push_back({"out", "out"});
  recording_io io;
  std::stop_source stop;
  stop_when_ready(io, stop);
  auto r = w.run(spec, shell(escapee_task), io, stop.get_token());
  REQUIRE(r);
  CHECK(r->stopped);
  const pid_t gpid = grandchild_of(*r);
  CHECK(gpid > 0);
  CHECK(process_gone(gpid));
  w.release(*r);
}

}  // namespace

TEST_CASE("a stop leaves no setsid'd grandchild behind (cgroup.kill)", "[worker][local][cancel][cgroup]") {
  if (!running_as_root()) {
    WARN("SKIPPED: per-run cgroups need root");
    return;
  }
  stop_kills_escapee(true);
}

TEST_CASE("a stop leaves no setsid'd grandchild behind (process tree, no cgroups)", "[worker][local][cancel]") {
  stop_kills_escapee(false);
}

TEST_CASE("as root, a setsid'd grandchild left running after a normal exit is killed", "[worker][local][cgroup]") {
  if (!running_as_root()) {
    WARN("SKIPPED: per-run cgroups need root");
    return;
  }
  temp_dir dir;
  auto w = make_worker(dir);
  auto spec = spec_with();
  spec.outputs.push_back({"out", "out"});
  recording_io io;
  const auto started = std::chrono::steady_clock::now();
  auto r = w.run(spec,
                 shell("setsid sh -c 'echo $$ > out/gpid.tmp; mv out/gpid.tmp out/gpid; exec sleep 1000' "
                       ">/dev/null 2>&1 & while [ ! -s out/gpid ]; do sleep 0.01; done; exit 0"),
                 io, {});
  REQUIRE(r);
  CHECK_FALSE(r->stopped);
  CHECK(r->exit_status == 0);
  CHECK(std::chrono::steady_clock::now() - started < milliseconds(3000));
  CHECK(process_gone(grandchild_of(*r)));
  w.release(*r);
}

TEST_CASE("a background job holding stdout does not keep the run alive", "[worker][local][cancel]") {
  temp_dir dir;
  auto w = make_worker(dir, worker::staging_mode::automatic, milliseconds(10000), /*cgroups=*/false);
  recording_io io;
  const auto started = std::chrono::steady_clock::now();
  auto r = w.run(spec_with(), shell("sleep 1000 & echo bye"), io, {});
  REQUIRE(r);
  CHECK(r->exit_status == 0);
  CHECK(io.out_text == "bye\n");
  CHECK(std::chrono::steady_clock::now() - started < milliseconds(2000));
}

TEST_CASE("a stop requested before the run starts spawns nothing but returns the outputs", "[worker][local][cancel]") {
  temp_dir dir;
  auto w = make_worker(dir);
  auto spec = spec_with();
  spec.outputs.push_back({"out", "out"});
  recording_io io;
  std::stop_source stop;
  stop.request_stop();
  auto r = w.run(spec, shell("echo should not run"), io, stop.get_token());
  REQUIRE(r);
  CHECK(r->stopped);
  CHECK(io.starts == 0);
  CHECK(io.out_text.empty());
  CHECK(fs::is_directory(r->outputs.at("out")));
  w.release(*r);
}

TEST_CASE("a run stopped mid-way leaves the previous cache intact", "[worker][local][cancel][caches]") {
  temp_dir dir;
  auto w = make_worker(dir, worker::staging_mode::automatic, milliseconds(200));
  auto spec = spec_with();
  spec.job = "build";
  spec.caches.push_back({"cache"});
  {
    recording_io io;
    auto r = w.run(spec, shell("echo good > cache/state"), io, {});
    REQUIRE(r);
    REQUIRE(w.commit_caches(spec, *r));
    w.release(*r);
  }
  {
    recording_io io;
    std::stop_source stop;
    stop_when_ready(io, stop);
    auto r = w.run(spec, shell("echo bad > cache/state; echo half > cache/new; echo ready; sleep 1000"), io,
                   stop.get_token());
    REQUIRE(r);
    CHECK(r->stopped);
    CHECK(slurp(r->caches.at("cache") / "state") == "bad\n");
    REQUIRE(w.commit_caches(spec, *r));  // a stopped run commits nothing
    w.release(*r);
  }
  recording_io io;
  auto r = w.run(spec, shell("cat cache/state; ls cache"), io, {});
  REQUIRE(r);
  CHECK(io.out_text == "good\nstate\n");
  w.release(*r);
}
