// Hostile input through the `taskstep` command: task and vars files that are FIFOs, directories or
// unreadable, and interpolation that would grow without bound. Every run has a timeout, so a hang
// fails the test instead of hanging the suite.

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <catch2/catch.hpp>

#include "cli/run_command.hpp"

namespace {

// Runs `argv` (argv[0] a path) with stdout/stderr captured; kills it after `timeout` (exit_code -2).
command_result run_with_timeout(const std::vector<std::string>& args, std::chrono::seconds timeout = std::chrono::seconds(60)) {
  static const auto io = test_dir();
  const auto out_path = io / "stdout";
  const auto err_path = io / "stderr";
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    std::freopen(out_path.c_str(), "w", stdout);
    std::freopen(err_path.c_str(), "w", stderr);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  command_result r;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      r.exit_code = -2;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  return r;
}

command_result taskstep(std::vector<std::string> args, std::chrono::seconds timeout = std::chrono::seconds(60)) {
  args.insert(args.begin(), TASKSTEP_BINARY);
  return run_with_timeout(args, timeout);
}

const std::string valid_task = "platform: linux\nrun: {path: echo}\n";

}  // namespace

TEST_CASE("a task file that is a FIFO with no writer is refused at once, naming the file", "[cli][hostile]") {
  const auto dir = test_dir();
  const auto fifo = (dir / "task.yml").string();
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"validate", fifo}, std::vector<std::string>{"render", fifo},
        std::vector<std::string>{"execute", "-c", fifo}}) {
    INFO(args[0]);
    auto r = taskstep(args, std::chrono::seconds(20));
    CHECK(r.exit_code != -2);  // -2: it hung and was killed
    CHECK(r.exit_code != 0);
    CHECK_THAT(r.err, Catch::Contains("could not read file: read " + fifo + ": not a regular file"));
  }
  // A vars file (-l) is read the same way.
  write_file(dir / "ok.yml", valid_task);
  auto r = taskstep({"render", (dir / "ok.yml").string(), "-l", fifo}, std::chrono::seconds(20));
  CHECK(r.exit_code != -2);
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Catch::Contains("read " + fifo + ": not a regular file"));
}

TEST_CASE("a task file given by process substitution or as a /dev/fd pipe is still read", "[cli][hostile]") {
  const std::string script = std::string("exec '") + TASKSTEP_BINARY + "' validate <(printf 'platform: linux\\nrun: {path: echo}\\n')";
  auto r = run_with_timeout({"/bin/bash", "-c", script}, std::chrono::seconds(20));
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  const std::string bad = std::string("exec '") + TASKSTEP_BINARY + "' validate /dev/stdin <<< 'platform: [linux'";
  r = run_with_timeout({"/bin/bash", "-c", bad}, std::chrono::seconds(20));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("did not find expected"));
}

TEST_CASE("a task or vars file that cannot be opened reports the real error", "[cli][hostile]") {
  const auto dir = test_dir();
  write_file(dir / "plain", "x");
  write_file(dir / "ok.yml", valid_task);
  const auto under_file = (dir / "plain" / "task.yml").string();  // ENOTDIR, even for root
  auto r = taskstep({"validate", under_file});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "could not read file: open " + under_file + ": not a directory\n");
  const auto missing = (dir / "missing.yml").string();
  r = taskstep({"validate", missing});
  CHECK(r.err == "could not read file: open " + missing + ": no such file or directory\n");
  const auto loop = (dir / "loop.yml").string();
  REQUIRE(symlink(loop.c_str(), loop.c_str()) == 0);
  r = taskstep({"validate", loop});
  CHECK(r.err == "could not read file: open " + loop + ": too many levels of symbolic links\n");
  r = taskstep({"validate", dir.string()});
  CHECK(r.err == "could not read file: read " + dir.string() + ": is a directory\n");
  r = taskstep({"render", (dir / "ok.yml").string(), "-l", under_file});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "could not read template variables file (" + under_file + "): open " + under_file + ": not a directory\n");
  if (geteuid() != 0) {  // root ignores mode bits
    write_file(dir / "secret.yml", valid_task);
    chmod((dir / "secret.yml").c_str(), 0);
    r = taskstep({"validate", (dir / "secret.yml").string()});
    CHECK_THAT(r.err, Catch::Contains("permission denied"));
  }
}

TEST_CASE("render stops an exponentially growing interpolation with an error naming the bound", "[cli][hostile]") {
  const auto dir = test_dir();
  std::string refs;
  for (int i = 0; i < 20; ++i) refs += "((x))";
  write_file(dir / "task.yml", "platform: linux\nrun: {path: \"" + refs + "\"}\n");
  // Each of the 20 references doubles the string: 100 bytes * 2^20 = 100 MiB > 64 MiB.
  auto r = taskstep({"render", (dir / "task.yml").string(), "-v", "x=((x))((x))"}, std::chrono::seconds(120));
  CHECK(r.exit_code != -2);
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Catch::Contains("interpolated config exceeds 67108864 bytes"));
  // Below the bound the result is unchanged: 5 references, 25 bytes * 2^5.
  write_file(dir / "small.yml", "platform: linux\nrun: {path: \"((x))((x))((x))((x))((x))\"}\n");
  r = taskstep({"render", (dir / "small.yml").string(), "-v", "x=((x))((x))"});
  CHECK(r.exit_code == 0);
  std::string expected;
  for (int i = 0; i < 5 * 32; ++i) expected += "((x))";
  CHECK_THAT(r.out, Catch::Contains(expected));
  CHECK_THAT(r.out, !Catch::Contains(expected + "((x))"));
}

TEST_CASE("execute takes the longest Go durations for --timeout and --grace and clamps them inside", "[cli][hostile]") {
  const auto dir = test_dir();
  write_file(dir / "task.yml", "platform: linux\nrun: {path: sh, args: [-c, 'sleep 0.2; echo done-$((40+2))']}\n");
  for (const std::string& d : {std::string("2562047h"), std::string("2562047h47m16.854775807s")}) {
    INFO(d);
    auto r = taskstep({"execute", "-c", (dir / "task.yml").string(), "--timeout", d, "--grace", d});
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("done-42"));
    CHECK_THAT(r.err, !Catch::Contains("timeout exceeded"));
  }
  auto r = taskstep({"execute", "-c", (dir / "task.yml").string(), "--timeout", "2562048h"});
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.err, Catch::Contains("invalid --timeout: time: invalid duration \"2562048h\""));
}
