// `taskstep execute --watch`: the real binary re-runs the task when a file of an input changes,
// ignores changes in -o directories, and ends cleanly on SIGINT with nothing left running.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/run_command.hpp"

namespace fs = std::filesystem;

namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

struct watching {
  fs::path dir = test_dir();
  fs::path tmp = dir / "tmp";
  pid_t pid = -1;

  void start(const std::vector<std::string>& args) {
    fs::create_directories(tmp);
    std::vector<std::string> argv_strings{TASKSTEP_BINARY, "execute", "--watch", "--worker", "local"};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e)
      if (std::string(*e).rfind("TMPDIR=", 0) != 0) env_strings.push_back(*e);
    env_strings.push_back("TMPDIR=" + tmp.string());
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, (dir / "stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, (dir / "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data()) == 0);
    posix_spawn_file_actions_destroy(&actions);
  }
  std::string out() const { return slurp(dir / "stdout"); }
  std::string err() const { return slurp(dir / "stderr"); }
  // Waits up to `seconds` for stdout to hold `n` copies of `marker`.
  bool wait_for(const std::string& marker, std::size_t n, double seconds = 20) const {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < until) {
      if (count(out(), marker) >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return count(out(), marker) >= n;
  }
  bool wait_for_err(const std::string& text, std::size_t n, double seconds = 20) const {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < until && count(err(), text) < n)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return count(err(), text) >= n;
  }
  int interrupt_and_wait() {
    kill(pid, SIGINT);
    int status = 0;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > until) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  ~watching() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

// Processes whose command line or working directory mentions `needle` (the test's unique
// directory: the tasks run in run roots under its TMPDIR).
int processes_mentioning(const std::string& needle) {
  int n = 0;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos || std::stoi(name) == getpid()) continue;
    std::string cmdline = slurp(e.path() / "cmdline");
    for (auto& c : cmdline)
      if (c == '\0') c = ' ';
    std::error_code ec;
    const auto cwd = fs::read_symlink(e.path() / "cwd", ec).string();
    if (cmdline.find(needle) != std::string::npos || cwd.find(needle) != std::string::npos) ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("execute --watch runs again when an input file changes and SIGINT ends it cleanly", "[cli][watch]") {
  watching w;
  const auto src = w.dir / "src";
  write_file(src / "sub" / "file.txt", "one");
  write_file(w.dir / "task.yml",
             "platform: linux\ninputs: [{name: src}]\n"
             "run: {path: sh, args: [-c, 'echo ran-$((40+2)) $(cat src/sub/file.txt)']}\n");
  w.start({"-c", (w.dir / "task.yml").string(), "-i", "src=" + src.string()});
  REQUIRE(w.wait_for("ran-42 one", 1));
  REQUIRE(w.wait_for_err("for changes (Ctrl-C to stop)", 1));
  write_file(src / "sub" / "file.txt", "two");  // a file in a subdirectory of the input
  INFO(w.out() << w.err());
  REQUIRE(w.wait_for("ran-42 two", 1));
  CHECK(count(w.out(), "ran-42") == 2);  // debounced: one write, one more run
  CHECK(w.err().find("changed: " + (src / "sub" / "file.txt").string()) != std::string::npos);
  REQUIRE(w.wait_for_err("for changes (Ctrl-C to stop)", 2));
  CHECK(w.interrupt_and_wait() == 0);  // the last build succeeded
  CHECK(processes_mentioning(w.dir.string()) == 0);
  std::error_code ec;
  CHECK(fs::is_empty(w.tmp, ec));  // no run root, no staged copy left
}

TEST_CASE("execute --watch ignores changes in -o directories, even inside an input", "[cli][watch]") {
  watching w;
  const auto src = w.dir / "src";
  write_file(src / "file.txt", "x");
  write_file(w.dir / "task.yml",
             "platform: linux\ninputs: [{name: src}]\noutputs: [{name: out}]\n"
             "run: {path: sh, args: [-c, 'echo ran-$((40+2)); date +%s%N > out/stamp']}\n");
  w.start({"-c", (w.dir / "task.yml").string(), "-i", "src=" + src.string(), "-o", "out=" + (src / "out").string()});
  REQUIRE(w.wait_for("ran-42", 1));
  REQUIRE(w.wait_for_err("for changes (Ctrl-C to stop)", 1));
  CHECK(fs::exists(src / "out" / "stamp"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  INFO(w.out() << w.err());
  CHECK(count(w.out(), "ran-42") == 1);  // copying the output into src/out triggered nothing
  CHECK(w.interrupt_and_wait() == 0);
}

TEST_CASE("execute --watch: SIGINT during a build aborts it and ends the watch with exit 3", "[cli][watch]") {
  watching w;
  const auto src = w.dir / "src";
  write_file(src / "file.txt", "x");
  write_file(w.dir / "task.yml",
             "platform: linux\ninputs: [{name: src}]\nrun: {path: sh, args: [-c, 'echo up-$((40+2)); sleep 30']}\n");
  w.start({"-c", (w.dir / "task.yml").string(), "-i", "src=" + src.string()});
  REQUIRE(w.wait_for("up-42", 1));
  CHECK(w.interrupt_and_wait() == 3);
  CHECK(processes_mentioning(w.dir.string()) == 0);
}
