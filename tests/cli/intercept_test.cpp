// `taskstep execute --keep` and `taskstep intercept` on the local worker, through the real binary:
// a failed run is kept and entered (its files, its environment, its input overlay again), listed and
// removed with nothing left mounted; nothing is kept without --keep or for a run that succeeded; a
// kept run survives the next build's reaper; slurm refuses --keep.

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/kept_support.hpp"
#include "common/temp_dir.hpp"

using namespace taskstep::test;
namespace fs = std::filesystem;

namespace {

// A task dir with input `src` (a.txt = hello) and a task that writes out.txt and src/a.txt, then fails.
struct kept_fixture {
  temp_dir dir;
  fs::path tmp = dir.path() / "tmp";
  fs::path work = dir.path() / "here";
  kept_fixture() {
    fs::create_directories(tmp);
    fs::create_directories(work / "src");
    std::ofstream(work / "src" / "a.txt") << "hello\n";
    std::ofstream(work / "fail.yml") << "platform: linux\n"
                                        "inputs: [{name: src}]\n"
                                        "params: {KEPT_PARAM: from-the-task}\n"
                                        "run:\n  path: sh\n"
                                        "  args: [-c, 'echo written-by-task > out.txt; echo changed >> src/a.txt; exit 3']\n";
    std::ofstream(work / "pass.yml") << "platform: linux\nrun: {path: 'true'}\n";
  }
  taskstep_result run(const std::vector<std::string>& args) const { return run_kept_taskstep(work, tmp, args); }
  taskstep_result fail_kept() const {
    return run({"execute", "-c", "fail.yml", "-i", "src=src", "--worker", "local", "--keep"});
  }
};

}  // namespace

TEST_CASE("execute --keep keeps a failed local run and intercept enters it with its files and env", "[intercept]") {
  kept_fixture f;
  auto ran = f.fail_kept();
  REQUIRE(ran.exit_code == 3);
  const std::string id = kept_id(ran.err);
  REQUIRE_FALSE(id.empty());
  CHECK(ran.err.find("taskstep intercept " + id) != std::string::npos);
  CHECK(ran.err.find("taskstep intercept --rm " + id) != std::string::npos);

  auto list = f.run({"intercept", "--list"});
  REQUIRE(list.exit_code == 0);
  CHECK(list.out.find(id) != std::string::npos);
  CHECK(list.out.find("one-off") != std::string::npos);
  CHECK(list.out.find("local") != std::string::npos);

  // The task's files, its param, its working directory; the input as the task left it (overlay
  // mounted again), the source untouched.
  auto seen = f.run({"intercept", "--", "sh", "-c", "cat out.txt src/a.txt; echo \"param=$KEPT_PARAM\"; pwd"});
  REQUIRE(seen.exit_code == 0);
  CHECK(seen.out.find("written-by-task\nhello\nchanged\nparam=from-the-task\n") == 0);
  CHECK(seen.out.find("/run-" + id + "/work\n") != std::string::npos);
  CHECK(read_text(f.work / "src" / "a.txt") == "hello\n");
  CHECK(mounts_below(f.tmp).empty());

  // RUN named, and the command's exit status is intercept's.
  CHECK(f.run({"intercept", id, "--", "sh", "-c", "exit 7"}).exit_code == 7);
  auto missing = f.run({"intercept", id, "--", "no-such-program-here"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("no-such-program-here") != std::string::npos);

  // The record holds the environment: owner-only.
  const auto roots = run_roots(f.tmp);
  REQUIRE(roots.size() == 1);
  struct stat st {};
  REQUIRE(::stat((roots.front() / ("run-" + id) / "kept.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  auto removed = f.run({"intercept", "--rm", id});
  CHECK(removed.exit_code == 0);
  CHECK(f.run({"intercept", "--list"}).out.find(id) == std::string::npos);
  CHECK(run_roots(f.tmp).empty());
  CHECK(mounts_below(f.tmp).empty());
  CHECK(f.run({"intercept", "--", "true"}).exit_code == 2);  // nothing left to enter
}

TEST_CASE("nothing is kept without --keep, nor for a task that succeeded", "[intercept]") {
  kept_fixture f;
  CHECK(f.run({"execute", "-c", "fail.yml", "-i", "src=src", "--worker", "local"}).exit_code == 3);
  auto passed = f.run({"execute", "-c", "pass.yml", "--worker", "local", "--keep"});
  CHECK(passed.exit_code == 0);
  CHECK(passed.err.find("kept run") == std::string::npos);
  CHECK(run_roots(f.tmp).empty());
  auto list = f.run({"intercept", "--list"});
  CHECK(list.exit_code == 0);
  CHECK(list.out.empty());
  CHECK(list.err.find("no kept runs") != std::string::npos);
}

TEST_CASE("a kept run survives the next build's reaper and --rm --all removes every kept run", "[intercept]") {
  kept_fixture f;
  const std::string first = kept_id(f.fail_kept().err);
  REQUIRE_FALSE(first.empty());
  // The next build reaps $TMPDIR at its start (reap_stale_private_dirs): the kept run stays.
  CHECK(f.run({"execute", "-c", "pass.yml", "--worker", "local"}).exit_code == 0);
  const std::string second = kept_id(f.fail_kept().err);
  REQUIRE_FALSE(second.empty());
  auto list = f.run({"intercept", "--list"});
  CHECK(list.out.find(first) != std::string::npos);
  CHECK(list.out.find(second) != std::string::npos);
  CHECK(f.run({"intercept", first, "--", "cat", "out.txt"}).out == "written-by-task\n");

  // Two kept runs: RUN must be named.
  auto ambiguous = f.run({"intercept", "--", "true"});
  CHECK(ambiguous.exit_code == 2);
  CHECK(ambiguous.err.find("2 kept runs") != std::string::npos);

  CHECK(f.run({"intercept", "--rm", "--all"}).exit_code == 0);
  CHECK(run_roots(f.tmp).empty());
  CHECK(mounts_below(f.tmp).empty());
}

TEST_CASE("execute --keep on the slurm worker is refused with a clear error", "[intercept]") {
  kept_fixture f;
  auto r = f.run({"execute", "-c", "pass.yml", "--worker", "slurm", "--keep"});
  CHECK(r.exit_code == 1);  // a flag fly-style checks refuse before any build
  CHECK(r.err.find("--keep is not supported on the slurm worker") != std::string::npos);
}
