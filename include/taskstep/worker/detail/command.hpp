#pragma once
// Runs a short helper command (runc kill, runc delete, sinfo, ...) to its end with a bound on the
// wait: output collected, a command that overruns its time is killed and reported. The loop is
// `worker::supervise`; the time limit is its policy's deadline.

#include <signal.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "taskstep/core/result.hpp"
#include "taskstep/worker/detail/process.hpp"
#include "taskstep/worker/supervisor.hpp"

namespace taskstep::worker::detail {

struct command_output {
  int status = 0;       // exit status (128 + N for signal N)
  std::string out;      // stdout
  std::string err;      // stderr
  bool timed_out = false;
};

// Collects a helper command's output and kills its process group at the deadline.
struct collecting_policy {
  command_output& result;
  pid_t pid;
  std::chrono::steady_clock::time_point until;
  void out(std::string_view b) { result.out.append(b); }
  void err(std::string_view b) { result.err.append(b); }
  void signal_graceful() {}
  void signal_kill() {}
  [[nodiscard]] std::chrono::steady_clock::time_point deadline() const {
    return result.timed_out ? std::chrono::steady_clock::time_point::max() : until;
  }
  void on_deadline() {
    result.timed_out = true;
    (void)::kill(-pid, SIGKILL);
  }
  void exited() { (void)::kill(-pid, SIGKILL); }  // nothing of a helper outlives it
};

// Spawns `req` and waits at most `limit` for it (plus a bounded drain of its pipes).
inline result<command_output> run_to_end(const spawn_request& req, std::chrono::milliseconds limit) {
  auto child = spawn(req);
  if (!child) return fail(child.error());
  command_output out;
  collecting_policy policy{out, child->pid, std::chrono::steady_clock::now() + limit};
  supervise_options so;
  so.drain = std::min(so.drain, limit);
  const supervision ended = supervise({child->pid, child->out.get(), child->err.get()}, policy, std::stop_token{}, so);
  out.status = ended.exit_status;
  return out;
}

// Runs `argv` (argv[0] looked up in the default PATH) and waits at most `limit`.
inline result<command_output> run_command(const std::vector<std::string>& argv, std::chrono::milliseconds limit,
                                          const std::vector<std::string>& env = {}) {
  if (argv.empty()) return fail(errc::worker, "run_command: no program");
  auto program = find_program(argv[0], default_path, "/");
  if (!program) return fail(program.error());
  spawn_request req;
  req.program = *program;
  req.argv = argv;
  req.env = env.empty() ? std::vector<std::string>{"PATH=" + std::string(default_path)} : env;
  req.cwd = "/";
  return run_to_end(req, limit);
}

}  // namespace taskstep::worker::detail
