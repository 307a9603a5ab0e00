// Fault tests of the real `taskstep` binary: nothing a run starts outlives taskstep, and nothing is
// left mounted or on disk, when taskstep is SIGKILLed mid-run, gets a second Ctrl-C, or finds its
// stdout closed (`taskstep execute ... | head -1`); plus the signal component itself.
//
// Each task process carries a random marker in its argv (`sh -c '...' <marker>`); the test looks
// for it in /proc/*/cmdline. The marker is not in taskstep's own argv (only the task file is), and
// "ready" lines are computed by the shell (`ready-$((40+2))`) so the echoed command line cannot match.

#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <random>
#include <sstream>
#include <stop_token>
#include <thread>

#include "cli/run_command.hpp"
#include "common/processes.hpp"
#include "taskstep/build/interrupts.hpp"
#include "taskstep/worker/detail/command.hpp"
#include "taskstep/worker/detail/process.hpp"

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using taskstep::test::marker_pids;
using clock_type = std::chrono::steady_clock;

namespace {

std::string new_marker() {
  static std::mt19937_64 rng{std::random_device{}()};
  return "lifetime-marker-" + std::to_string(rng());
}

bool eventually(const std::function<bool()>& ok, milliseconds limit) {
  const auto until = clock_type::now() + limit;
  while (clock_type::now() < until) {
    if (ok()) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return ok();
}

bool nothing_mounted_under(const fs::path& dir) {
  const std::string text = slurp("/proc/self/mountinfo");
  return text.find(" " + dir.string() + "/") == std::string::npos && text.find(" " + dir.string() + " ") == std::string::npos;
}

// No run-* directory is left in `run_root` (the root itself may be gone too).
bool no_run_dirs(const fs::path& run_root) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(run_root, ec))
    if (e.path().filename().string().rfind("run-", 0) == 0) return false;
  return true;
}

// A taskstep started in the background, stdout to a file (or a pipe we hold), stderr to a file.
struct background_taskstep {
  pid_t pid = -1;
  fs::path out_file, err_file;
  int out_pipe = -1;  // our read end, when piped
  int exit_code = -1;

  int wait() {
    int status = 0;
    ::waitpid(pid, &status, 0);
    exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exit_code;
  }
  std::string out() const { return slurp(out_file); }
};

background_taskstep start_taskstep(const fs::path& io_dir, const std::vector<std::string>& args, bool pipe_stdout = false) {
  background_taskstep t;
  t.out_file = io_dir / "stdout";
  t.err_file = io_dir / "stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  int fds[2] = {-1, -1};
  if (pipe_stdout) {
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    t.out_pipe = fds[0];
  } else {
    posix_spawn_file_actions_addopen(&actions, 1, t.out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  }
  posix_spawn_file_actions_addopen(&actions, 2, t.err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> argv_strings{TASKSTEP_BINARY};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  REQUIRE(posix_spawn(&t.pid, argv[0], &actions, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&actions);
  if (pipe_stdout) ::close(fds[1]);
  return t;
}

// Waits until the task printed `ready-42`; false after 20 s.
bool wait_ready(const background_taskstep& t) {
  return eventually([&] { return t.out().find("ready-42") != std::string::npos; }, milliseconds(20000));
}

// The run directory (`<run root>/run-XXXXXX`) of the task process carrying `marker`, from its cwd
// (`.../run-XXXXXX/work`).
fs::path run_dir_of(const std::string& marker) {
  for (pid_t p : marker_pids(marker)) {
    std::error_code ec;
    const auto cwd = fs::read_symlink("/proc/" + std::to_string(p) + "/cwd", ec);
    for (auto d = cwd; !ec && !d.empty() && d != d.root_path(); d = d.parent_path())
      if (d.filename().string().rfind("run-", 0) == 0) return d;
  }
  return {};
}

struct workspace {
  fs::path dir = test_dir();
  std::string task(const std::string& text) const {
    const auto path = dir / "task.yml";
    write_file(path, text);
    return path.string();
  }
  ~workspace() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

// A task with an input (an overlay mount when root) whose shell and a setsid'd grandchild both
// ignore SIGTERM and carry `marker`.
std::string stubborn_task(const std::string& marker) {
  return "platform: linux\ninputs: [{name: src}]\n"
         "run: {path: sh, args: [-c, 'trap \"\" TERM; "
         "setsid sh -c \"trap \\\"\\\" TERM; while :; do sleep 0.1; done\" \"$0\" & "
         "echo ready-$((40+2)); while :; do sleep 0.1; done', " + marker + "]}\n";
}

void check_nothing_left(const std::string& marker, const fs::path& run_dir) {
  CHECK(eventually([&] { return marker_pids(marker).empty(); }, milliseconds(10000)));
  CHECK(eventually([&] { return !fs::exists(run_dir); }, milliseconds(10000)));
  CHECK(nothing_mounted_under(run_dir));
  CHECK(no_run_dirs(run_dir.parent_path()));
}

// The killed command's own run root (now empty, its claim dead) goes at the next build's start.
void check_next_build_reaps(const workspace& w, const fs::path& run_root) {
  REQUIRE(fs::exists(run_root / "owner"));
  auto next = start_taskstep(w.dir, {"execute", "-c", w.task("platform: linux\nrun: {path: 'true'}\n")});
  CHECK(next.wait() == 0);
  CHECK_FALSE(fs::exists(run_root));
  std::error_code ec;
  fs::remove_all(run_root, ec);
}

}  // namespace

TEST_CASE("SIGKILL of taskstep mid-run leaves no task process, mount or run dir (local worker)", "[cli][lifetime]") {
  workspace w;
  write_file(w.dir / "src" / "f", "input\n");
  const std::string marker = new_marker();
  auto t = start_taskstep(w.dir, {"execute", "-c", w.task(stubborn_task(marker)), "-i", "src=" + (w.dir / "src").string()});
  REQUIRE(wait_ready(t));
  const fs::path run_dir = run_dir_of(marker);
  REQUIRE(!run_dir.empty());
  CHECK(marker_pids(marker).size() >= 2);  // the task's shell and its setsid'd grandchild
  ::kill(t.pid, SIGKILL);
  CHECK(t.wait() == 128 + SIGKILL);
  check_nothing_left(marker, run_dir);
  check_next_build_reaps(w, run_dir.parent_path());
}

TEST_CASE("a second SIGINT kills a task that ignores SIGTERM at once and exits 2, as fly's second Ctrl-C", "[cli][lifetime]") {
  workspace w;
  write_file(w.dir / "src" / "f", "input\n");
  const std::string marker = new_marker();
  auto t = start_taskstep(w.dir, {"execute", "-c", w.task(stubborn_task(marker)), "-i", "src=" + (w.dir / "src").string(),
                                  "--grace", "60s"});
  REQUIRE(wait_ready(t));
  const fs::path run_dir = run_dir_of(marker);
  REQUIRE(!run_dir.empty());
  ::kill(t.pid, SIGINT);
  std::this_thread::sleep_for(milliseconds(300));
  CHECK(!marker_pids(marker).empty());  // TERM is ignored: the grace (60 s) is running
  const auto second = clock_type::now();
  ::kill(t.pid, SIGINT);
  CHECK(t.wait() == 2);
  CHECK(clock_type::now() - second < milliseconds(5000));
  CHECK(marker_pids(marker).empty());  // already gone when taskstep has exited
  CHECK(!fs::exists(run_dir));
  CHECK(nothing_mounted_under(run_dir.parent_path()));
  CHECK(t.out().find("aborted") != std::string::npos);
}

TEST_CASE("Ctrl-C during a long task whose grandchild ignores SIGTERM leaves nothing running, exit 3", "[cli][lifetime]") {
  workspace w;
  write_file(w.dir / "src" / "f", "input\n");
  const std::string marker = new_marker();
  const std::string task = "platform: linux\ninputs: [{name: src}]\n"
                           "run: {path: sh, args: [-c, 'sh -c \"trap \\\"\\\" TERM; while :; do sleep 0.1; done\" \"$0\" & "
                           "echo ready-$((40+2)); wait', " + marker + "]}\n";
  auto t = start_taskstep(w.dir, {"execute", "-c", w.task(task), "-i", "src=" + (w.dir / "src").string(), "--grace", "1s"});
  REQUIRE(wait_ready(t));
  const fs::path run_dir = run_dir_of(marker);
  REQUIRE(!run_dir.empty());
  const auto asked = clock_type::now();
  ::kill(t.pid, SIGINT);
  CHECK(t.wait() == 3);
  // The task's shell dies of the TERM; its grandchild (ignoring TERM) goes with the run's group/cgroup.
  CHECK(clock_type::now() - asked < milliseconds(10000));
  CHECK(marker_pids(marker).empty());
  CHECK(!fs::exists(run_dir));
  CHECK(nothing_mounted_under(run_dir.parent_path()));
}

TEST_CASE("a closed stdout pipe (taskstep execute | head -1) aborts the run, stops the task and exits 3", "[cli][lifetime]") {
  workspace w;
  write_file(w.dir / "src" / "f", "input\n");
  const std::string marker = new_marker();
  const std::string task = "platform: linux\ninputs: [{name: src}]\n"
                           "run: {path: sh, args: [-c, 'echo ready-$((40+2)); while :; do echo tick; sleep 0.05; done', " +
                           marker + "]}\n";
  auto t = start_taskstep(w.dir, {"execute", "-c", w.task(task), "-i", "src=" + (w.dir / "src").string(), "--grace", "2s"},
                          true);
  std::string seen;
  char buf[4096];
  while (seen.find("ready-42") == std::string::npos) {
    const ssize_t n = ::read(t.out_pipe, buf, sizeof buf);
    if (n <= 0) break;
    seen.append(buf, static_cast<std::size_t>(n));
  }
  REQUIRE(seen.find("ready-42") != std::string::npos);
  const fs::path run_dir = run_dir_of(marker);
  REQUIRE(!run_dir.empty());
  ::close(t.out_pipe);  // as `head -1` exits
  CHECK(t.wait() == 3);  // not 141 (SIGPIPE)
  CHECK(marker_pids(marker).empty());
  CHECK(!fs::exists(run_dir));
  CHECK(nothing_mounted_under(run_dir.parent_path()));
  CHECK(slurp(t.err_file).find("aborting") != std::string::npos);
}

TEST_CASE("interrupts: the first signal is a graceful stop, the second an immediate one", "[cli][interrupts]") {
  std::stop_source graceful, immediate;
  std::vector<int> seen;
  taskstep::build::interrupt_options o;
  o.on_signal = [&](int n) { seen.push_back(n); };
  taskstep::build::interrupts guard(graceful, immediate, o);
  ::kill(::getpid(), SIGTERM);
  CHECK(eventually([&] { return graceful.stop_requested(); }, milliseconds(2000)));
  CHECK_FALSE(immediate.stop_requested());
  ::kill(::getpid(), SIGINT);
  CHECK(eventually([&] { return immediate.stop_requested(); }, milliseconds(2000)));
  CHECK(guard.count() == 2);
  CHECK(seen == std::vector<int>{1, 2});
}

TEST_CASE("interrupts: destruction is immediate, not a polling tick", "[cli][interrupts]") {
  std::stop_source graceful, immediate;
  const auto started = clock_type::now();
  for (int i = 0; i < 20; ++i) taskstep::build::interrupts guard(graceful, immediate);
  CHECK(clock_type::now() - started < milliseconds(200));  // 20 × a 100 ms tick would be 2 s
  CHECK_FALSE(graceful.stop_requested());
}

TEST_CASE("interrupts: give_up runs when the build does not return after the second signal", "[cli][interrupts]") {
  std::stop_source graceful, immediate;
  std::atomic<bool> gave_up{false};
  taskstep::build::interrupt_options o;
  o.give_up_after = milliseconds(200);
  o.give_up = [&] { gave_up = true; };
  taskstep::build::interrupts guard(graceful, immediate, o);
  guard.abort();
  guard.abort();
  CHECK(immediate.stop_requested());
  CHECK_FALSE(gave_up.load());
  CHECK(eventually([&] { return gave_up.load(); }, milliseconds(3000)));
}

namespace {

// The run directory of a new oci run: the one whose `bundle/rootfs` was mounted since `before`.
fs::path new_bundle_run_dir(const std::string& before) {
  std::istringstream in(slurp("/proc/self/mountinfo"));
  std::string line;
  while (std::getline(in, line)) {
    if (before.find(line) != std::string::npos) continue;
    std::istringstream fields(line);
    std::string f, mount_point;
    for (int i = 0; i < 5 && fields >> f; ++i) mount_point = f;
    const fs::path p(mount_point);
    if (p.filename() == "rootfs" && p.parent_path().filename() == "bundle") return p.parent_path().parent_path();
  }
  return {};
}

std::string containers_unavailable_here() {
  if (::geteuid() != 0) return "containers need root";
  if (!taskstep::worker::detail::find_program("runc", taskstep::worker::detail::default_path, "/")) return "runc is not installed";
  if (!fs::exists("/bin/busybox")) return "busybox-static is not installed (/bin/busybox)";
  return {};
}

// A busybox image artifact (rootfs/ with the applets linked, metadata.json).
void write_busybox(const fs::path& dir) {
  const fs::path root = dir / "rootfs";
  for (const char* d : {"bin", "etc", "tmp", "root", "proc", "sys", "dev"}) fs::create_directories(root / d);
  fs::copy_file("/bin/busybox", root / "bin/busybox");
  for (const char* applet : {"sh", "sleep", "setsid", "echo"}) fs::create_symlink("busybox", root / "bin" / applet);
  write_file(root / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
  write_file(dir / "metadata.json", "{\"env\":[\"PATH=/bin\"],\"user\":\"\"}");
}

}  // namespace

TEST_CASE("SIGKILL of taskstep mid-run leaves no container, process, mount or run dir (oci worker)", "[cli][lifetime][oci]") {
  if (auto why = containers_unavailable_here(); !why.empty()) {
    WARN("SKIPPED: " + why);
    return;
  }
  workspace w;
  write_file(w.dir / "src" / "f", "input\n");
  write_busybox(w.dir / "image");
  const std::string marker = new_marker();
  const std::string before = slurp("/proc/self/mountinfo");
  const fs::path runc_root = w.dir / "runc";
  auto t = start_taskstep(w.dir, {"execute", "-c", w.task(stubborn_task(marker)), "-i", "src=" + (w.dir / "src").string(),
                                  "--worker", "oci", "--image", (w.dir / "image").string(), "--runc-root", runc_root.string()});
  REQUIRE(wait_ready(t));
  const fs::path run_dir = new_bundle_run_dir(before);
  REQUIRE(!run_dir.empty());
  CHECK(marker_pids(marker).size() >= 2);
  auto listed = [&] {
    auto r = taskstep::worker::detail::run_command({"runc", "--root", runc_root.string(), "list", "-q"}, std::chrono::seconds(10));
    return r ? r->out : std::string("runc list failed");
  };
  CHECK(!listed().empty());
  ::kill(t.pid, SIGKILL);
  CHECK(t.wait() == 128 + SIGKILL);
  check_nothing_left(marker, run_dir);
  CHECK(eventually([&] { return listed().empty(); }, milliseconds(10000)));
  check_next_build_reaps(w, run_dir.parent_path());
}

TEST_CASE("a second SIGINT kills a container that ignores SIGTERM at once and exits 2 (oci worker)", "[cli][lifetime][oci]") {
  if (auto why = containers_unavailable_here(); !why.empty()) {
    WARN("SKIPPED: " + why);
    return;
  }
  workspace w;
  write_file(w.dir / "src" / "f", "input\n");
  write_busybox(w.dir / "image");
  const std::string marker = new_marker();
  const std::string before = slurp("/proc/self/mountinfo");
  const fs::path runc_root = w.dir / "runc";
  auto t = start_taskstep(w.dir, {"execute", "-c", w.task(stubborn_task(marker)), "-i", "src=" + (w.dir / "src").string(),
                                  "--worker", "oci", "--image", (w.dir / "image").string(), "--runc-root", runc_root.string(),
                                  "--grace", "60s"});
  REQUIRE(wait_ready(t));
  const fs::path run_dir = new_bundle_run_dir(before);
  REQUIRE(!run_dir.empty());
  ::kill(t.pid, SIGINT);
  std::this_thread::sleep_for(milliseconds(300));
  CHECK(!marker_pids(marker).empty());  // init passed TERM on; the task ignores it
  const auto second = clock_type::now();
  ::kill(t.pid, SIGINT);
  CHECK(t.wait() == 2);
  CHECK(clock_type::now() - second < milliseconds(10000));
  CHECK(marker_pids(marker).empty());
  CHECK(!fs::exists(run_dir));
  CHECK(nothing_mounted_under(run_dir));
  auto listed = taskstep::worker::detail::run_command({"runc", "--root", runc_root.string(), "list", "-q"}, std::chrono::seconds(10));
  REQUIRE(listed);
  CHECK(listed->out.empty());
}
