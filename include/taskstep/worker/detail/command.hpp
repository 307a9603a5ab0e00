#pragma once
// Runs a short helper command (runc kill, runc delete, ...) to its end with a bound on the wait:
// output collected, a command that overruns its time is killed and reported.

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cerrno>
#include <string>
#include <vector>

#include "taskstep/core/result.hpp"
#include "taskstep/worker/detail/process.hpp"

namespace taskstep::worker::detail {

struct command_output {
  int status = 0;       // exit status (128 + N for signal N)
  std::string out;      // stdout
  std::string err;      // stderr
  bool timed_out = false;
};

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
  auto child = spawn(req);
  if (!child) return fail(child.error());
  command_output out;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  bool out_open = true, err_open = true;
  auto pump = [](unique_fd& fd, bool& open, std::string& to) {
    char buf[8192];
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) to.append(buf, static_cast<std::size_t>(n));
    else if (n == 0 || (errno != EAGAIN && errno != EINTR)) open = false;
  };
  while (out_open || err_open) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      out.timed_out = true;
      (void)::kill(-child->pid, SIGKILL);
      break;
    }
    pollfd fds[2];
    nfds_t n = 0;
    int oi = -1, ei = -1;
    if (out_open) { oi = static_cast<int>(n); fds[n++] = {child->out.get(), POLLIN, 0}; }
    if (err_open) { ei = static_cast<int>(n); fds[n++] = {child->err.get(), POLLIN, 0}; }
    const int ready = ::poll(fds, n, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready > 0) {
      if (oi >= 0 && fds[oi].revents != 0) pump(child->out, out_open, out.out);
      if (ei >= 0 && fds[ei].revents != 0) pump(child->err, err_open, out.err);
    }
  }
  int status = 0;
  while (::waitpid(child->pid, &status, 0) < 0 && errno == EINTR) {
  }
  out.status = exit_status(status);
  return out;
}

}  // namespace taskstep::worker::detail
