// local_process: real processes on this host — exit status, environment, args, run.dir, streaming,
// staging of inputs/outputs, path checks, users and limits.

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "worker/local_support.hpp"

using namespace taskstep;
using namespace taskstep::test;
namespace fs = std::filesystem;
using std::chrono::milliseconds;

TEST_CASE("a process's exit code becomes the run's exit status", "[worker][local]") {
  temp_dir dir;
  auto w = make_worker(dir);
  recording_io io;
  for (int code : {0, 1, 3, 255}) {
    auto r = w.run(spec_with(), shell("exit " + std::to_string(code)), io, {});
    REQUIRE(r);
    CHECK(r->exit_status == code);
    CHECK_FALSE(r->stopped);
  }
  CHECK(io.starts == 4);
}

TEST_CASE("a process killed by signal N reports 128 + N", "[worker][local]") {
  temp_dir dir;
  auto w = make_worker(dir);
  recording_io io;
  auto killed = w.run(spec_with(), shell("kill -KILL $$"), io, {});
  REQUIRE(killed);
  CHECK(killed->exit_status == 137);
  auto termed = w.run(spec_with(), shell("kill -TERM $$"), io, {});
  REQUIRE(termed);
  CHECK(termed->exit_status == 143);
}

TEST_CASE("the environment is exactly the spec's env", "[worker][local][env]") {
  temp_dir dir;
  auto w = make_worker(dir);
  recording_io io;
  process_spec env_cmd;
  env_cmd.path = "/usr/bin/env";
  auto r = w.run(spec_with({"FOO=bar baz", "PATH=/usr/bin:/bin", "EMPTY="}), env_cmd, io, {});
  REQUIRE(r);
  CHECK(io.out_text == "FOO=bar baz\nPATH=/usr/bin:/bin\nEMPTY=\n");
}

TEST_CASE("a spec without PATH gets a default PATH that finds sh", "[worker][local][env]") {
  temp_dir dir;
  auto w = make_worker(dir);
  recording_io io;
  process_spec env_cmd;
  env_cmd.path = "env";  // found through the default PATH
  auto r = w.run(spec_with({"A=1"}), env_cmd, io, {});
  REQUIRE(r);
  CHECK(io.out_text == "A=1\nPATH=" + std::string(worker::detail::default_path) + "\n");
}

TEST_CASE("args are passed unchanged and run.dir sets the working directory", "[worker][local]") {
  temp_dir dir;
  auto w = make_worker(dir);
  recording_io io;
  process_spec p;
  p.path = "sh";
  p.args = {"-c", "pwd; printf '[%s]' \"$@\"", "argv0", "a b", "", "c'd"};
  p.dir = "/sub/dir";  // absolute counts as relative to the working directory
  auto r = w.run(spec_with(), p, io, {});
  REQUIRE(r);
  const auto newline = io.out_text.find('\n');
  REQUIRE(newline != std::string::npos);
  const fs::path cwd = io.out_text.substr(0, newline);
  CHECK(cwd.filename() == "dir");
  CHECK(cwd.parent_path().filename() == "sub");
  CHECK(cwd.parent_path().parent_path().filename() == "work");
  CHECK(io.out_text.substr(newline + 1) == "[a b][][c'd]");
}

TEST_CASE("a relative run.path with a slash is found from run.dir", "[worker][local]") {
  temp_dir dir;
  const auto src = dir.mkdir("repo");
  dir.write("repo/ci/test.sh", "#!/bin/sh\necho from script \"$1\"\n");
  fs::permissions(src / "ci" / "test.sh", fs::perms::owner_all, fs::perm_options::add);
  auto w = make_worker(dir);
  auto spec = spec_with();
  spec.inputs.push_back({"repo", "repo", src, "repo"});
  process_spec p;
  p.path = "ci/test.sh";
  p.args = {"x"};
  p.dir = "repo";
  recording_io io;
  auto r = w.run(spec, p, io, {});
  REQUIRE(r);
  CHECK(r->exit_status == 0);
  CHECK(io.out_text == "from script x\n");
}

TEST_CASE("a program that is not on PATH is an error, not an exit status", "[worker][local]") {
  temp_dir dir;
  auto w = make_worker(dir);
  recording_io io;
  process_spec p;
  p.path = "no-such-program-here";
  auto r = w.run(spec_with(), p, io, {});
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::worker);
  CHECK(r.error().message() == "exec: \"no-such-program-here\": executable file not found in $PATH");
  CHECK(io.starts == 0);
}

TEST_CASE("output is streamed while the process runs", "[worker][local][stream]") {
  temp_dir dir;
  auto w = make_worker(dir);
  recording_io io;
  auto r = w.run(spec_with(), shell("printf first; sleep 0.3; printf second"), io, {});
  const auto finished = recording_io::clock::now();
  REQUIRE(r);
  REQUIRE(io.out_chunks.size() >= 2);
  CHECK(io.out_chunks.front().second == "first");
  CHECK(finished - io.out_chunks.front().first >= milliseconds(200));
  CHECK(io.out_text == "firstsecond");
}

TEST_CASE("stdout and stderr stay separate", "[worker][local][stream]") {
  temp_dir dir;
  auto w = make_worker(dir);
  recording_io io;
  auto r = w.run(spec_with(), shell("echo to-out; echo to-err >&2; echo more-out"), io, {});
  REQUIRE(r);
  CHECK(io.out_text == "to-out\nmore-out\n");
  CHECK(io.err_text == "to-err\n");
}

TEST_CASE("large output arrives complete", "[worker][local][stream]") {
  temp_dir dir;
  auto w = make_worker(dir);
  recording_io io;
  auto r = w.run(spec_with(), shell("head -c 3000000 /dev/zero; echo done >&2"), io, {});
  REQUIRE(r);
  CHECK(io.out_text.size() == 3000000);
  CHECK(io.err_text == "done\n");
}

namespace {

// Runs a task that reads and then changes its input `in`; returns the filesystem type it saw.
std::string write_to_input(worker::staging_mode mode) {
  temp_dir dir;
  const auto src = dir.mkdir("source");
  dir.write("source/a.txt", "original\n");
  dir.write("source/sub/b.txt", "keep me\n");
  auto w = make_worker(dir, mode);
  auto spec = spec_with();
  spec.inputs.push_back({"in", "in-artifact", src, "in"});
  recording_io io;
  auto r = w.run(spec,
                 shell("stat -f -c %T in; cat in/a.txt; echo changed > in/a.txt; rm -r in/sub; touch in/new; "
                       "cat in/a.txt"),
                 io, {});
  REQUIRE(r);
  CHECK(r->exit_status == 0);
  CHECK(io.err_text.empty());
  const auto type_end = io.out_text.find('\n');
  CHECK(io.out_text.substr(type_end + 1) == "original\nchanged\n");
  CHECK(slurp(src / "a.txt") == "original\n");
  CHECK(slurp(src / "sub" / "b.txt") == "keep me\n");
  CHECK_FALSE(fs::exists(src / "new"));
  CHECK(nothing_mounted_under(dir.path()));
  CHECK((!fs::exists(dir.path() / "runs") || fs::is_empty(dir.path() / "runs")));  // no outputs: run dir gone
  return io.out_text.substr(0, type_end);
}

}  // namespace

TEST_CASE("copied inputs are unchanged after the task writes to them", "[worker][local][inputs]") {
  CHECK(write_to_input(worker::staging_mode::copy) != "overlayfs");
}

TEST_CASE("overlay inputs are unchanged after the task writes to them", "[worker][local][inputs][overlay]") {
  if (!running_as_root()) {
    WARN("SKIPPED: overlay staging needs root");
    return;
  }
  CHECK(write_to_input(worker::staging_mode::overlay) == "overlayfs");
  CHECK(write_to_input(worker::staging_mode::automatic) == "overlayfs");
}

TEST_CASE("overlay staging without root is refused", "[worker][local][inputs][overlay]") {
  if (running_as_root()) {
    SUCCEED("running as root: overlay staging is available");
    return;
  }
  temp_dir dir;
  auto w = make_worker(dir, worker::staging_mode::overlay);
  recording_io io;
  auto r = w.run(spec_with(), shell("true"), io, {});
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("overlay staging needs root") == 0);
}

TEST_CASE("outputs are plain directories that outlive the run until released", "[worker][local][outputs]") {
  temp_dir dir;
  auto w = make_worker(dir);
  auto spec = spec_with();
  spec.outputs.push_back({"built", "built"});
  spec.outputs.push_back({"untouched", "some/where/untouched"});
  spec.outputs.push_back({"rooted", "/rooted"});
  recording_io io;
  auto r = w.run(spec, shell("mkdir built/sub && echo hi > built/sub/file && echo r > rooted/x && ls -a some/where/untouched"),
                 io, {});
  REQUIRE(r);
  CHECK(r->exit_status == 0);
  REQUIRE(r->outputs.size() == 3);
  CHECK(slurp(r->outputs.at("built") / "sub" / "file") == "hi\n");
  CHECK(fs::is_directory(r->outputs.at("some/where/untouched")));
  CHECK(fs::is_empty(r->outputs.at("some/where/untouched")));
  CHECK(slurp(r->outputs.at("/rooted") / "x") == "r\n");  // keyed by the cleaned path, lives under the working dir
  CHECK(r->outputs.at("/rooted").parent_path().filename() == "work");
  w.release(*r);
  CHECK_FALSE(fs::exists(r->outputs.at("built")));
  CHECK(fs::is_empty(dir.path() / "runs"));
}

TEST_CASE("an output at an input's path starts with the input's files", "[worker][local][outputs][inputs]") {
  for (auto mode : {worker::staging_mode::copy, worker::staging_mode::automatic}) {
    temp_dir dir;
    const auto src = dir.mkdir("repo");
    dir.write("repo/README", "readme\n");
    auto w = make_worker(dir, mode);
    auto spec = spec_with();
    spec.inputs.push_back({"repo", "repo", src, "repo"});
    spec.outputs.push_back({"repo-out", "repo/"});
    recording_io io;
    auto r = w.run(spec, shell("echo new > repo/added && echo edited >> repo/README"), io, {});
    REQUIRE(r);
    REQUIRE(r->outputs.count("repo") == 1);
    const auto out = r->outputs.at("repo");
    CHECK(slurp(out / "README") == "readme\nedited\n");
    CHECK(slurp(out / "added") == "new\n");
    CHECK(slurp(src / "README") == "readme\n");
    CHECK_FALSE(fs::exists(src / "added"));
    CHECK(nothing_mounted_under(dir.path()));
    w.release(*r);
  }
}

TEST_CASE("an input at the working directory itself holds the other mounts", "[worker][local][inputs]") {
  temp_dir dir;
  const auto a = dir.mkdir("a");
  const auto b = dir.mkdir("b");
  dir.write("a/top", "top\n");
  dir.write("b/inner", "inner\n");
  auto w = make_worker(dir);
  auto spec = spec_with();
  spec.inputs.push_back({"b", "b", b, "nested/b"});
  spec.inputs.push_back({"a", "a", a, "."});
  recording_io io;
  auto r = w.run(spec, shell("cat top nested/b/inner && echo x > nested/b/inner"), io, {});
  REQUIRE(r);
  CHECK(io.out_text == "top\ninner\n");
  CHECK(slurp(b / "inner") == "inner\n");
  CHECK(nothing_mounted_under(dir.path()));
}

TEST_CASE("a path that leaves the working directory is refused", "[worker][local][paths]") {
  temp_dir dir;
  const auto src = dir.mkdir("src");
  auto w = make_worker(dir);
  recording_io io;

  auto spec = spec_with();
  spec.inputs.push_back({"src", "src", src, "../x"});
  auto r = w.run(spec, shell("true"), io, {});
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "input 'src' path '../x' resolves outside the working directory");

  spec = spec_with();
  spec.outputs.push_back({"out", "a/../../x"});
  r = w.run(spec, shell("true"), io, {});
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "output 'out' path 'a/../../x' resolves outside the working directory");

  spec = spec_with();
  spec.caches.push_back({"/../cache"});
  r = w.run(spec, shell("true"), io, {});
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "cache path '/../cache' resolves outside the working directory");

  r = w.run(spec_with(), shell("true", ".."), io, {});
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "run.dir '..' resolves outside the working directory");
  CHECK(io.starts == 0);
  CHECK((!fs::exists(dir.path() / "runs") || fs::is_empty(dir.path() / "runs")));
}

TEST_CASE("an input whose artifact directory is missing is an error", "[worker][local][inputs]") {
  temp_dir dir;
  auto w = make_worker(dir);
  auto spec = spec_with();
  spec.inputs.push_back({"src", "art", dir.path() / "nope", "src"});
  recording_io io;
  auto r = w.run(spec, shell("true"), io, {});
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("input 'src': artifact 'art' directory") == 0);
}

TEST_CASE("caches are staged from and committed to the worker's store", "[worker][local][caches]") {
  temp_dir dir;
  auto w = make_worker(dir);
  auto spec = spec_with();
  spec.job = "build";
  spec.caches.push_back({"deps"});
  spec.outputs.push_back({"out", "out"});
  const auto task = shell("echo run >> deps/log; cp deps/log out/seen");
  for (int i = 1; i <= 2; ++i) {
    recording_io io;
    auto r = w.run(spec, task, io, {});
    REQUIRE(r);
    CHECK(slurp(r->outputs.at("out") / "seen") == (i == 1 ? "run\n" : "run\nrun\n"));
    REQUIRE(w.commit_caches(spec, *r));
    w.release(*r);
  }
  // a one-off build of the same step starts empty and never commits
  auto one_off = spec;
  one_off.job.clear();
  recording_io io;
  auto r = w.run(one_off, task, io, {});
  REQUIRE(r);
  CHECK(slurp(r->outputs.at("out") / "seen") == "run\n");
  REQUIRE(w.commit_caches(one_off, *r));
  w.release(*r);
  CHECK(w.caches().contains({"main", "build", "unit", "deps"}));
  CHECK_FALSE(w.caches().contains({"main", "", "unit", "deps"}));
}

TEST_CASE("a cache inside an input starts empty, hides the input's files there, and later runs see only the cache",
          "[worker][local][caches]") {
  // Concourse's testflight `task-caches` fixture: a cache at `first-task-output/blobs`.
  temp_dir dir;
  auto w = make_worker(dir);
  const auto input = dir.write("art/blobs/blob", "blob-contents-from-first-task\n").parent_path().parent_path();
  dir.write("art/not-cached", "not-cached-from-first-task\n");
  auto spec = spec_with();
  spec.job = "build";
  spec.inputs.push_back({"first-task-output", "art", input, "first-task-output"});
  spec.caches.push_back({"first-task-output/blobs"});
  const auto task = shell(
      "cat first-task-output/not-cached; echo not-cached-from-second-task >> first-task-output/not-cached;"
      " echo blob-contents-from-second-task >> first-task-output/blobs/blob; cat first-task-output/blobs/blob");
  for (int i = 1; i <= 2; ++i) {
    recording_io io;
    auto r = w.run(spec, task, io, {});
    REQUIRE(r);
    CHECK(r->exit_status == 0);
    CHECK(io.out_text == "not-cached-from-first-task\n" +
                             std::string(i == 1 ? "blob-contents-from-second-task\n"
                                                : "blob-contents-from-second-task\nblob-contents-from-second-task\n"));
    REQUIRE(w.commit_caches(spec, *r));
    w.release(*r);
  }
  CHECK(slurp(input / "blobs/blob") == "blob-contents-from-first-task\n");  // the input never changes
  CHECK(slurp(input / "not-cached") == "not-cached-from-first-task\n");
}

TEST_CASE("an unknown run.user is an error", "[worker][local][user]") {
  temp_dir dir;
  auto w = make_worker(dir);
  auto p = shell("true");
  p.user = "no-such-user-taskstep";
  recording_io io;
  auto r = w.run(spec_with(), p, io, {});
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "unable to find user no-such-user-taskstep: no matching entries in passwd file");
}

TEST_CASE("as root, run.user switches to that user", "[worker][local][user]") {
  if (!running_as_root()) {
    WARN("SKIPPED: switching users needs root");
    return;
  }
  temp_dir dir;
  ::chmod(dir.path().c_str(), 0755);
  auto w = make_worker(dir);
  auto spec = spec_with();
  spec.outputs.push_back({"out", "out"});
  auto p = shell("id -un; echo written > out/file");
  p.user = "nobody";
  recording_io io;
  auto r = w.run(spec, p, io, {});
  REQUIRE(r);
  CHECK(io.out_text == "nobody\n");
  CHECK(io.err_text.empty());
  CHECK(slurp(r->outputs.at("out") / "file") == "written\n");
  w.release(*r);
}

TEST_CASE("as root, a memory limit is enforced by the cgroup", "[worker][local][limits]") {
  if (!running_as_root()) {
    WARN("SKIPPED: cgroup limits need root");
    return;
  }
  temp_dir dir;
  auto w = make_worker(dir);
  auto spec = spec_with();
  spec.memory = 32ull << 20;
  spec.cpu = 512;
  REQUIRE(w.warnings_for(spec, shell("true")).empty());
  recording_io io;
  auto r = w.run(spec,
                 shell("cat /sys/fs/cgroup/cpu$(grep ':cpu:' /proc/self/cgroup | cut -d: -f3)/cpu.shares; "
                       "L=$(cat /sys/fs/cgroup/memory$(grep ':memory:' /proc/self/cgroup | cut -d: -f3)/memory.limit_in_bytes); "
                       "echo $L; [ \"$L\" = 33554432 ] || exit 99; "  // never eat the host's memory without the limit
                       "exec tail /dev/zero"),
                 io, {});
  REQUIRE(r);
  CHECK(io.out_text == "512\n33554432\n");
  CHECK(r->exit_status == 137);
  CHECK(io.err_text.find("[WARNING]") == std::string::npos);
}

TEST_CASE("limits that cannot be enforced are reported as warnings", "[worker][local][limits]") {
  temp_dir dir;
  auto w = make_worker(dir, worker::staging_mode::automatic, milliseconds(10000), /*cgroups=*/false);
  auto spec = spec_with();
  spec.memory = 1ull << 30;
  spec.cpu = 100;
  const auto predicted = w.warnings_for(spec, shell("true"));
  REQUIRE(predicted.size() == 2);
  CHECK(predicted[0].find("memory limit of 1073741824 bytes is not enforced") == 0);
  recording_io io;
  auto r = w.run(spec, shell("echo ran"), io, {});
  REQUIRE(r);
  CHECK(io.out_text == "ran\n");
  CHECK(io.err_text.find("[WARNING] memory limit of 1073741824 bytes is not enforced") == 0);
  CHECK(io.err_text.find("[WARNING] cpu limit of 100 shares is not enforced") != std::string::npos);
}
