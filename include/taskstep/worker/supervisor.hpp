#pragma once
//! \file
//! The one supervision loop every worker uses, and the watchdog that keeps a run from outliving
//! taskstep. Both are for anyone writing a worker: a worker says how to start its process and how
//! to signal it; this header streams the process's output, turns stop requests into signals and
//! reaps it.
//!
//! ## `supervise(process, policy, stop, options)`
//! Watches one spawned process (its pid and our ends of its stdout/stderr pipes) until it exits:
//! - `poll()`s the two pipes, a pidfd of the process (readable when it exits) and an eventfd that
//!   the stop requests wake. With no pidfd (kernels before 5.3) it looks every 20 ms.
//! - Output goes to `policy.out(bytes)` / `policy.err(bytes)` as it arrives.
//! - A request on `stop` calls `policy.signal_graceful()` once (e.g. SIGTERM to the process group,
//!   `runc kill <id> TERM`, `scancel --signal=TERM`). When the process still runs `options.grace`
//!   later, `policy.signal_kill()` is called once (SIGKILL, `runc kill --all <id> KILL`).
//! - A request on `options.immediate` skips the grace: `signal_kill()` at once (a second Ctrl-C).
//! - Once the process has exited (still a zombie: its pid and process group id cannot be reused),
//!   `policy.exited()` runs (when the policy has it): the place to kill what the process left, such
//!   as a cgroup or a process group. Then the process is reaped, and the pipes are read to their
//!   end for at most `options.drain`: a grandchild that keeps a pipe open cannot hold the run.
//! - An optional `policy.deadline()` (a `steady_clock::time_point`) with `policy.on_deadline()`
//!   lets a worker add timers of its own (Slurm: a start timeout, a last-resort `scancel`).
//!
//! The policy is any type with those members (`supervision_policy`); the loop itself is an
//! ordinary inline function over function pointers (no virtual calls, one copy in the program).
//! If a policy member throws, the process gets `signal_kill()` and is reaped before the exception
//! leaves `supervise`.
//!
//! ## `watchdog`
//! A run's processes must die with taskstep even when taskstep is SIGKILLed, which no destructor
//! survives. `PR_SET_PDEATHSIG` reaches only the direct child (posix_spawn cannot even set it), and
//! cgroup membership alone kills nothing. So each run starts a watchdog: a small `/bin/sh` in its
//! own process group, ignoring SIGINT/SIGTERM/SIGHUP, that holds the read end of a pipe whose write
//! end only taskstep has. When the run ends normally, `disarm()` tells it so and it exits. When
//! taskstep dies, the kernel closes the write end, the watchdog reads EOF and runs the run's
//! cleanup: SIGKILL to the process groups it was told about (`watch_group`), every process of the
//! cgroups it was given (`cgroup.kill` on v2, a kill loop over `cgroup.procs` otherwise), the
//! extra commands (e.g. `runc kill --all <id> KILL`, `runc delete --force <id>`), lazy unmounts of
//! the run's mounts and `rm -rf --one-file-system` of the run directory. Every value is passed
//! single-quoted, so no path or id can inject shell syntax. The socket end is close-on-exec; a host
//! program that forks without exec keeps it open in the child, and the watchdog then waits for
//! that child too.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "taskstep/core/result.hpp"
#include "taskstep/worker/detail/process.hpp"

namespace taskstep::worker {

//! Settings of one `supervise` call.
struct supervise_options {
  std::chrono::milliseconds grace{10000};  //!< `signal_graceful` → `signal_kill` delay (Garden's 10 s)
  std::chrono::milliseconds drain{1000};   //!< how long to read the pipes after the process exited
  std::stop_token immediate;               //!< a request here calls `signal_kill` at once (no grace)
};

//! The process to supervise: its pid (a child of this process; `supervise` reaps it) and our
//! non-blocking read ends of its stdout and stderr (-1 for none). The fds stay owned by the caller.
struct supervised_process {
  pid_t pid = -1;
  int out = -1;
  int err = -1;
};

//! How the supervision ended.
struct supervision {
  int wait_status = 0;   //!< as from waitpid
  int exit_status = 0;   //!< Concourse's: the exit code, 128 + N for signal N
  bool stopped = false;  //!< a stop (or immediate stop) request reached the process
  bool killed = false;   //!< `signal_kill` was called
  bool drained = true;   //!< both pipes reached their end within the drain bound
};

//! What `supervise` needs from a worker: where the output goes and how to signal the process.
template <class P>
concept supervision_policy = requires(P& p, std::string_view bytes) {
  p.out(bytes);
  p.err(bytes);
  p.signal_graceful();
  p.signal_kill();
};

namespace detail {

// A supervision_policy as function pointers, so the loop below exists once.
struct policy_ref {
  using clock = std::chrono::steady_clock;
  void* self;
  void (*out)(void*, std::string_view);
  void (*err)(void*, std::string_view);
  void (*graceful)(void*);
  void (*kill)(void*);
  void (*exited)(void*);                    // may be null
  clock::time_point (*deadline)(void*);     // may be null
  void (*on_deadline)(void*);               // may be null
};

template <class P>
policy_ref make_policy_ref(P& p) {
  policy_ref r{&p,
               [](void* s, std::string_view b) { static_cast<P*>(s)->out(b); },
               [](void* s, std::string_view b) { static_cast<P*>(s)->err(b); },
               [](void* s) { static_cast<P*>(s)->signal_graceful(); },
               [](void* s) { static_cast<P*>(s)->signal_kill(); },
               nullptr,
               nullptr,
               nullptr};
  if constexpr (requires { p.exited(); }) r.exited = [](void* s) { static_cast<P*>(s)->exited(); };
  if constexpr (requires {
                  { p.deadline() } -> std::convertible_to<std::chrono::steady_clock::time_point>;
                  p.on_deadline();
                }) {
    r.deadline = [](void* s) -> policy_ref::clock::time_point { return static_cast<P*>(s)->deadline(); };
    r.on_deadline = [](void* s) { static_cast<P*>(s)->on_deadline(); };
  }
  return r;
}

// Reads what one pipe has now; false at its end (or on an error other than "try again").
inline bool read_pipe(int fd, void (*sink)(void*, std::string_view), void* self) {
  char buf[65536];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  if (n > 0) {
    sink(self, std::string_view(buf, static_cast<std::size_t>(n)));
    return true;
  }
  return n < 0 && (errno == EAGAIN || errno == EINTR);
}

inline int ms_until(std::chrono::steady_clock::time_point t) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(t - std::chrono::steady_clock::now()).count() + 1;
  return static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
}

// Polls the open pipes (plus `extra`) for at most `timeout` ms and feeds what is readable.
inline int poll_pipes(const supervised_process& p, bool& out_open, bool& err_open, const policy_ref& policy,
                      const int* extra, nfds_t extra_n, int timeout) {
  pollfd fds[6];
  nfds_t n = 0;
  int out_i = -1, err_i = -1;
  if (out_open) { out_i = static_cast<int>(n); fds[n++] = {p.out, POLLIN, 0}; }
  if (err_open) { err_i = static_cast<int>(n); fds[n++] = {p.err, POLLIN, 0}; }
  for (nfds_t i = 0; i < extra_n; ++i)
    if (extra[i] >= 0) fds[n++] = {extra[i], POLLIN, 0};
  const int ready = ::poll(fds, n, timeout);
  if (ready > 0) {
    if (out_i >= 0 && fds[out_i].revents != 0) out_open = read_pipe(p.out, policy.out, policy.self);
    if (err_i >= 0 && fds[err_i].revents != 0) err_open = read_pipe(p.err, policy.err, policy.self);
  }
  return ready;
}

inline void reap(pid_t pid, int& status) {
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

// The loop behind `supervise` (see the file comment).
inline supervision supervise_loop(const supervised_process& p, const policy_ref& policy, const std::stop_token& stop,
                                  const supervise_options& options) {
  using clock = std::chrono::steady_clock;
  supervision out;
  unique_fd pidfd(open_pidfd(p.pid));
  unique_fd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  auto ring = [fd = wake.get()] {
    const std::uint64_t one = 1;
    (void)!::write(fd, &one, sizeof one);
  };
  std::stop_callback on_stop(stop, ring);
  std::stop_callback on_immediate(options.immediate, ring);
  bool out_open = p.out >= 0, err_open = p.err >= 0, term_sent = false, reaped = false;
  clock::time_point kill_at{};

  // A throwing policy member must not leave the process running or unreaped.
  struct unwind_guard {
    const supervised_process& p;
    const policy_ref& policy;
    supervision& out;
    bool& reaped;
    int pending = std::uncaught_exceptions();
    ~unwind_guard() {
      if (reaped || std::uncaught_exceptions() == pending) return;
      (void)::kill(p.pid, SIGKILL);
      if (!out.killed) {
        try { policy.kill(policy.self); } catch (...) {}  // NOLINT: best effort while unwinding
      }
      int st = 0;
      reap(p.pid, st);
    }
  } guard{p, policy, out, reaped};

  for (;;) {
    int timeout = pidfd.valid() && wake.valid() ? -1 : 20;  // without them, look every 20 ms
    auto bound = [&](int ms) { timeout = timeout < 0 ? ms : std::min(timeout, ms); };
    if (term_sent && !out.killed) bound(ms_until(kill_at));
    if (policy.deadline != nullptr) {
      const auto t = policy.deadline(policy.self);
      if (t != clock::time_point::max()) bound(ms_until(t));
    }
    const int extra[2] = {wake.get(), pidfd.get()};
    const int ready = poll_pipes(p, out_open, err_open, policy, extra, 2, timeout);
    if (ready < 0 && errno != EINTR) break;
    if (wake.valid()) {
      std::uint64_t drained = 0;
      (void)!::read(wake.get(), &drained, sizeof drained);
    }
    if (stop.stop_requested() && !term_sent) {
      term_sent = out.stopped = true;
      kill_at = clock::now() + options.grace;
      policy.graceful(policy.self);
    }
    if (options.immediate.stop_requested() && !out.killed) {
      term_sent = out.stopped = out.killed = true;
      policy.kill(policy.self);
    }
    if (term_sent && !out.killed && clock::now() >= kill_at) {
      out.killed = true;
      policy.kill(policy.self);
    }
    if (policy.deadline != nullptr && clock::now() >= policy.deadline(policy.self)) policy.on_deadline(policy.self);
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(p.pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == p.pid) break;
  }

  // Exited, not yet reaped: its pid and process group id still name it.
  if (policy.exited != nullptr) policy.exited(policy.self);
  reap(p.pid, out.wait_status);
  reaped = true;
  const auto drain_until = clock::now() + options.drain;
  while ((out_open || err_open) && clock::now() < drain_until) {
    const int ready = poll_pipes(p, out_open, err_open, policy, nullptr, 0, std::min(ms_until(drain_until), 50));
    if (ready < 0 && errno != EINTR) break;
  }
  out.drained = !out_open && !err_open;
  out.exit_status = exit_status(out.wait_status);
  return out;
}

// `'text'` for sh, with every `'` closed, escaped and reopened.
inline std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

}  // namespace detail

//! Supervises `process` until it has exited, was reaped and its pipes were drained; see the file
//! comment. `stop` asks for a graceful stop; `options.immediate` for an immediate one.
template <supervision_policy Policy>
supervision supervise(const supervised_process& process, Policy& policy, std::stop_token stop,
                      const supervise_options& options = {}) {
  return detail::supervise_loop(process, detail::make_policy_ref(policy), stop, options);
}

//! What a watchdog cleans up when taskstep dies during a run (see the file comment).
struct watchdog_plan {
  std::vector<std::filesystem::path> cgroups;           //!< every process in these is killed
  std::vector<std::vector<std::string>> commands;       //!< run in order (argv; found in PATH)
  std::vector<std::filesystem::path> mounts;            //!< unmounted (lazily), last first
  std::filesystem::path remove;                         //!< removed (`rm -rf --one-file-system`); empty = none
  std::vector<std::string> env;  //!< the watchdog's environment (`NAME=value`); empty = only Garden's PATH
};

//! A per-run watchdog process (see the file comment). Movable; the destructor disarms it.
class watchdog {
 public:
  watchdog() = default;
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;
  watchdog(watchdog&& o) noexcept : pid_(std::exchange(o.pid_, -1)), pipe_(std::move(o.pipe_)) {}
  watchdog& operator=(watchdog&& o) noexcept {
    if (this != &o) {
      disarm();
      pid_ = std::exchange(o.pid_, -1);
      pipe_ = std::move(o.pipe_);
    }
    return *this;
  }
  ~watchdog() { disarm(); }

  //! Starts a watchdog for `plan`. Fails only when `/bin/sh` cannot be spawned.
  static result<watchdog> start(const watchdog_plan& plan) {
    using detail::shell_quote;
    std::string script =
        "trap '' INT TERM HUP PIPE QUIT\n"
        "pgs=\n"
        "while read -r w a; do case $w in done) exit 0;; pg) pgs=\"$pgs $a\";; esac; done\n"
        "for p in $pgs; do kill -KILL \"-$p\" 2>/dev/null; done\n";
    for (const auto& cg : plan.cgroups) {
      const std::string q = shell_quote(cg.string());
      script += "c=" + q +
                "\necho 1 > \"$c/cgroup.kill\" 2>/dev/null\n"
                "i=0; while [ $i -lt 200 ] && [ -n \"$(cat \"$c/cgroup.procs\" 2>/dev/null)\" ]; do "
                "kill -KILL $(cat \"$c/cgroup.procs\" 2>/dev/null) 2>/dev/null; sleep 0.02; i=$((i+1)); done\n"
                "i=0; while [ $i -lt 100 ] && [ -d \"$c\" ] && ! rmdir \"$c\" 2>/dev/null; do sleep 0.05; i=$((i+1)); done\n";
    }
    for (const auto& argv : plan.commands) {
      for (const auto& a : argv) script += shell_quote(a) + " ";
      script += ">/dev/null 2>&1\n";
    }
    for (auto it = plan.mounts.rbegin(); it != plan.mounts.rend(); ++it)
      script += "umount -l " + shell_quote(it->string()) + " 2>/dev/null\n";
    if (!plan.remove.empty()) script += "rm -rf --one-file-system " + shell_quote(plan.remove.string()) + " 2>/dev/null\n";
    script += "exit 0\n";

    // A socket rather than a pipe: send(MSG_NOSIGNAL) cannot raise SIGPIPE in a host program.
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
      return fail(errc::worker, fmt::format("watchdog: socketpair: {}", std::strerror(errno)));
    detail::unique_fd read_end(fds[0]), write_end(fds[1]);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, read_end.get(), 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addchdir_np(&actions, "/");
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    posix_spawnattr_t attr;
    detail::init_new_group_attributes(attr);  // its own group: a terminal's Ctrl-C goes to taskstep's, not here
    std::string sh = "/bin/sh", dash_c = "-c", name = "taskstep-watchdog";
    char* argv[] = {sh.data(), dash_c.data(), script.data(), name.data(), nullptr};
    std::vector<std::string> env = plan.env;
    if (detail::env_value(env, "PATH") == nullptr) env.push_back("PATH=" + std::string(detail::default_path));
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) return fail(errc::worker, fmt::format("watchdog: could not start /bin/sh: {}", std::strerror(rc)));
    watchdog w;
    w.pid_ = pid;
    w.pipe_ = std::move(write_end);
    return w;
  }

  //! Adds a process group to kill if taskstep dies (the run's process, once spawned).
  void watch_group(pid_t pgid) {
    if (!pipe_.valid() || pgid <= 0) return;
    const std::string line = "pg " + std::to_string(pgid) + "\n";
    (void)!::send(pipe_.get(), line.data(), line.size(), MSG_NOSIGNAL);
  }

  //! The run ended normally: the watchdog exits without cleaning up, and is reaped.
  void disarm() {
    if (pid_ <= 0) return;
    if (pipe_.valid()) (void)!::send(pipe_.get(), "done\n", 5, MSG_NOSIGNAL);
    pipe_ = detail::unique_fd();
    int st = 0;
    detail::reap(pid_, st);
    pid_ = -1;
  }

  //! The watchdog's pid (-1 when not running).
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

 private:
  pid_t pid_ = -1;
  detail::unique_fd pipe_;
};

}  // namespace taskstep::worker
