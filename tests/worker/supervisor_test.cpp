// worker::supervise and worker::watchdog with real child processes: output streamed as it comes,
// exit status, SIGTERM handled, SIGTERM ignored → SIGKILL after the grace, an immediate stop, a
// drain bounded when a grandchild keeps the pipe open, and a watchdog that cleans up after a dead
// parent (and does nothing once disarmed).

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <chrono>
#include <stdexcept>
#include <stop_token>
#include <thread>

#include "common/temp_dir.hpp"
#include "taskstep/worker/supervisor.hpp"
#include "worker/local_support.hpp"

using namespace taskstep;
using namespace taskstep::test;
using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

namespace {

// `sh -c script` in its own process group, with stdout/stderr piped to us.
worker::detail::spawned_process start_shell(const std::string& script) {
  worker::detail::spawn_request req;
  req.program = "/bin/sh";
  req.argv = {"sh", "-c", script};
  req.env = {"PATH=/usr/bin:/bin"};
  req.cwd = "/";
  auto child = worker::detail::spawn(req);
  REQUIRE(child);
  return std::move(*child);
}

// A policy that signals the process group and records everything.
struct test_policy {
  explicit test_policy(pid_t p) : pid(p) {}
  pid_t pid;
  std::string out_text, err_text;
  std::vector<std::pair<clock_type::time_point, std::string>> chunks;
  int graceful = 0, kills = 0, exits = 0;
  std::function<void(const std::string&)> on_out;

  void out(std::string_view b) {
    out_text.append(b);
    chunks.emplace_back(clock_type::now(), std::string(b));
    if (on_out) on_out(out_text);
  }
  void err(std::string_view b) { err_text.append(b); }
  void signal_graceful() {
    ++graceful;
    (void)::kill(-pid, SIGTERM);
  }
  void signal_kill() {
    ++kills;
    (void)::kill(-pid, SIGKILL);
  }
  void exited() { ++exits; }
};

static_assert(worker::supervision_policy<test_policy>);
struct missing_kill {
  void out(std::string_view);
  void err(std::string_view);
  void signal_graceful();
};
static_assert(!worker::supervision_policy<missing_kill>, "a policy without signal_kill() is refused");

}  // namespace

TEST_CASE("supervise streams output as it comes and reports the exit status", "[worker][supervisor]") {
  auto child = start_shell("echo first; sleep 0.4; echo second >&2; exit 3");
  test_policy p(child.pid);
  const auto ended = worker::supervise({child.pid, child.out.get(), child.err.get()}, p, std::stop_token{});
  const auto done = clock_type::now();
  CHECK(ended.exit_status == 3);
  CHECK_FALSE(ended.stopped);
  CHECK_FALSE(ended.killed);
  CHECK(ended.drained);
  CHECK(p.out_text == "first\n");
  CHECK(p.err_text == "second\n");
  CHECK(p.exits == 1);
  CHECK(p.graceful == 0);
  REQUIRE(p.chunks.size() >= 1);
  CHECK(done - p.chunks.front().first >= milliseconds(300));  // streamed, not collected at the end
  CHECK(::kill(child.pid, 0) == -1);                          // reaped
}

TEST_CASE("supervise reports death by a signal as 128 + N", "[worker][supervisor]") {
  auto child = start_shell("kill -KILL $$");
  test_policy p(child.pid);
  CHECK(worker::supervise({child.pid, child.out.get(), child.err.get()}, p, std::stop_token{}).exit_status == 137);
}

TEST_CASE("a stop request calls signal_graceful, and a TERM trap decides the exit status", "[worker][supervisor]") {
  auto child = start_shell("trap 'echo got-TERM; exit 7' TERM; echo ready; while :; do sleep 0.05; done");
  test_policy p(child.pid);
  std::stop_source stop;
  p.on_out = [&](const std::string& all) {
    if (all.find("ready\n") != std::string::npos) stop.request_stop();
  };
  worker::supervise_options o;
  o.grace = milliseconds(5000);
  const auto ended = worker::supervise({child.pid, child.out.get(), child.err.get()}, p, stop.get_token(), o);
  CHECK(ended.stopped);
  CHECK_FALSE(ended.killed);
  CHECK(ended.exit_status == 7);
  CHECK(p.graceful == 1);
  CHECK(p.kills == 0);
  CHECK(p.out_text == "ready\ngot-TERM\n");
}

TEST_CASE("a process that ignores SIGTERM gets signal_kill after the grace", "[worker][supervisor]") {
  auto child = start_shell("trap '' TERM; echo ready; while :; do sleep 0.05; done");
  test_policy p(child.pid);
  std::stop_source stop;
  clock_type::time_point asked{};
  p.on_out = [&](const std::string& all) {
    if (all.find("ready\n") != std::string::npos && !stop.stop_requested()) {
      asked = clock_type::now();
      stop.request_stop();
    }
  };
  worker::supervise_options o;
  o.grace = milliseconds(300);
  const auto ended = worker::supervise({child.pid, child.out.get(), child.err.get()}, p, stop.get_token(), o);
  const auto took = clock_type::now() - asked;
  CHECK(ended.stopped);
  CHECK(ended.killed);
  CHECK(ended.exit_status == 137);
  CHECK(p.graceful == 1);
  CHECK(p.kills == 1);
  CHECK(took >= milliseconds(300));
  CHECK(took < milliseconds(3000));
}

TEST_CASE("an immediate stop skips the grace", "[worker][supervisor]") {
  auto child = start_shell("trap '' TERM; echo ready; while :; do sleep 0.05; done");
  test_policy p(child.pid);
  std::stop_source stop, now;
  clock_type::time_point asked{};
  p.on_out = [&](const std::string& all) {
    if (all.find("ready\n") != std::string::npos && !stop.stop_requested()) {
      asked = clock_type::now();
      stop.request_stop();
      now.request_stop();
    }
  };
  worker::supervise_options o;
  o.grace = milliseconds(20000);
  o.immediate = now.get_token();
  const auto ended = worker::supervise({child.pid, child.out.get(), child.err.get()}, p, stop.get_token(), o);
  CHECK(ended.stopped);
  CHECK(ended.killed);
  CHECK(ended.exit_status == 137);
  CHECK(clock_type::now() - asked < milliseconds(2000));
}

TEST_CASE("an immediate stop from another thread wakes the loop at once", "[worker][supervisor]") {
  auto child = start_shell("trap '' TERM; sleep 30");
  test_policy p(child.pid);
  std::stop_source now;
  worker::supervise_options o;
  o.immediate = now.get_token();
  std::thread later([&] {
    std::this_thread::sleep_for(milliseconds(200));
    now.request_stop();
  });
  const auto started = clock_type::now();
  const auto ended = worker::supervise({child.pid, child.out.get(), child.err.get()}, p, std::stop_token{}, o);
  later.join();
  CHECK(ended.killed);
  CHECK(ended.exit_status == 137);
  CHECK(clock_type::now() - started < milliseconds(2000));
}

TEST_CASE("the drain is bounded when a grandchild keeps the pipe open", "[worker][supervisor]") {
  // The grandchild leaves the process group (setsid), so nothing here kills it: only the bound ends the drain.
  temp_dir tmp;
  const auto pid_file = tmp.path() / "gpid";
  auto child = start_shell("setsid sh -c 'echo $$ > " + pid_file.string() +
                           ".tmp; mv " + pid_file.string() + ".tmp " + pid_file.string() +
                           "; exec sleep 5' & while [ ! -s " + pid_file.string() + " ]; do sleep 0.01; done; echo parent-done");
  test_policy p(child.pid);
  worker::supervise_options o;
  o.drain = milliseconds(300);
  const auto started = clock_type::now();
  const auto ended = worker::supervise({child.pid, child.out.get(), child.err.get()}, p, std::stop_token{}, o);
  const auto took = clock_type::now() - started;
  CHECK(ended.exit_status == 0);
  CHECK_FALSE(ended.drained);
  CHECK(p.out_text == "parent-done\n");
  CHECK(took >= milliseconds(250));
  CHECK(took < milliseconds(3000));
  const pid_t grandchild = static_cast<pid_t>(std::stol(slurp(pid_file)));
  CHECK(::kill(grandchild, 0) == 0);  // it really held the pipe
  (void)::kill(grandchild, SIGKILL);
}

TEST_CASE("a throwing policy leaves no process behind", "[worker][supervisor]") {
  auto child = start_shell("echo boom; sleep 30");
  struct throwing : test_policy {
    using test_policy::test_policy;
    void out(std::string_view) { throw std::runtime_error("sink failed"); }
  } p(child.pid);
  const pid_t pid = child.pid;
  CHECK_THROWS_AS(worker::supervise({pid, child.out.get(), child.err.get()}, p, std::stop_token{}), std::runtime_error);
  CHECK(::kill(pid, 0) == -1);  // killed and reaped
}

namespace {

// Forks a "taskstep" that starts `sleep 1000` in its own group under a watchdog (cleaning `dir`),
// reports the sleep's pid through a pipe and dies without disarming (or disarms first).
pid_t orphaned_sleep(const std::filesystem::path& dir, bool disarm) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t parent = ::fork();
  REQUIRE(parent >= 0);
  if (parent == 0) {
    ::close(fds[0]);
    worker::detail::spawn_request req;
    req.program = "/bin/sleep";
    req.argv = {"sleep", "1000"};
    req.env = {"PATH=/usr/bin:/bin"};
    req.cwd = "/";
    worker::watchdog_plan plan;
    plan.remove = dir;
    auto dog = worker::watchdog::start(plan);
    auto child = worker::detail::spawn(req);
    if (!dog || !child) ::_exit(1);
    dog->watch_group(child->pid);
    const pid_t pid = child->pid;
    (void)!::write(fds[1], &pid, sizeof pid);
    if (disarm) dog->disarm();
    ::_exit(0);  // no destructor runs: as if SIGKILLed
  }
  ::close(fds[1]);
  pid_t pid = -1;
  REQUIRE(::read(fds[0], &pid, sizeof pid) == static_cast<ssize_t>(sizeof pid));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(parent, &status, 0);
  return pid;
}

}  // namespace

TEST_CASE("a watchdog kills the run's process group and removes its directory when the parent dies",
          "[worker][supervisor][watchdog]") {
  temp_dir tmp;
  const auto dir = tmp.path() / "run-x";
  std::filesystem::create_directories(dir / "work");
  tmp.write("run-x/work/f", "x");
  const pid_t sleeper = orphaned_sleep(dir, false);
  CHECK(process_gone(sleeper, milliseconds(5000)));
  for (int i = 0; i < 250 && std::filesystem::exists(dir); ++i) std::this_thread::sleep_for(milliseconds(20));
  CHECK_FALSE(std::filesystem::exists(dir));
}

TEST_CASE("a disarmed watchdog leaves the run alone", "[worker][supervisor][watchdog]") {
  temp_dir tmp;
  const auto dir = tmp.path() / "run-y";
  std::filesystem::create_directories(dir);
  const pid_t sleeper = orphaned_sleep(dir, true);
  std::this_thread::sleep_for(milliseconds(300));
  CHECK(::kill(sleeper, 0) == 0);
  CHECK(std::filesystem::exists(dir));
  (void)::kill(sleeper, SIGKILL);
}

TEST_CASE("a watchdog's cleanup quotes every value", "[worker][supervisor][watchdog]") {
  CHECK(worker::detail::shell_quote("a'b $(x)") == "'a'\\''b $(x)'");
}
