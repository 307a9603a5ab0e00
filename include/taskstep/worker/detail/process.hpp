#pragma once
// Host process helpers for the local worker (plain inline functions): finding the program on the
// task's PATH, posix_spawn in a new process group with stdout/stderr pipes (optionally gated so the
// child joins its cgroups before it execs), listing a process's descendants (for hosts without
// cgroups), and turning a wait status into Concourse's exit status.

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "taskstep/artifact/staging.hpp"
#include <fmt/core.h>

#include "taskstep/core/result.hpp"

namespace taskstep::worker::detail {

using artifact::detail::unique_fd;

//! The PATH given to a task whose environment has none (Garden's default for root).
inline constexpr std::string_view default_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The value of `name` in a `NAME=value` list (the last one wins, as for execve), or nullopt.
inline const std::string* env_value(const std::vector<std::string>& env, std::string_view name) {
  const std::string* found = nullptr;
  for (const auto& e : env)
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=') found = &e;
  return found;
}

inline bool executable_file(const std::filesystem::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
}

// Finds `program` as the task's shell would: a name with a `/` is taken relative to `cwd`; a bare
// name is searched in `path` (the task's PATH; relative entries are relative to `cwd`).
inline result<std::filesystem::path> find_program(const std::string& program, std::string_view path,
                                                  const std::filesystem::path& cwd) {
  if (program.empty()) return fail(errc::worker, "exec: \"\": executable file not found in $PATH");
  if (program.find('/') != std::string::npos) return program.front() == '/' ? std::filesystem::path(program) : cwd / program;
  std::size_t i = 0;
  while (i <= path.size()) {
    auto j = path.find(':', i);
    if (j == std::string_view::npos) j = path.size();
    std::filesystem::path dir(std::string(path.substr(i, j - i)));
    if (dir.empty()) dir = ".";
    if (dir.is_relative()) dir = cwd / dir;
    if (executable_file(dir / program)) return dir / program;
    i = j + 1;
  }
  return fail(errc::worker, "exec: \"" + program + "\": executable file not found in $PATH");
}

// What to spawn.
struct spawn_request {
  std::filesystem::path program;   // resolved path
  std::vector<std::string> argv;   // argv[0] included
  std::vector<std::string> env;    // exactly the environment
  std::filesystem::path cwd;
  // Optional gate: when set, the child blocks (opening the FIFO `gate`) before it execs, until
  // `before_exec(context, pid)` has run on a helper thread, e.g. to move it into cgroups.
  std::filesystem::path gate;
  void (*before_exec)(void*, pid_t) = nullptr;
  void* context = nullptr;
};

// The children of thread `tid` of this process (/proc/<pid>/task/<tid>/children), or nullopt when
// the kernel lacks CONFIG_PROC_CHILDREN.
inline std::optional<std::vector<pid_t>> thread_children(pid_t tid) {
  std::ifstream in("/proc/" + std::to_string(::getpid()) + "/task/" + std::to_string(tid) + "/children");
  if (!in) return std::nullopt;
  std::vector<pid_t> out;
  long pid = 0;
  while (in >> pid) out.push_back(static_cast<pid_t>(pid));
  return out;
}

// Runs on a helper thread while the spawning thread is inside posix_spawn: finds the new child of
// thread `tid` (not in `before`), calls `req.before_exec` for it, then opens the gate for writing,
// which lets the child's blocking open (and so its exec) proceed. Gives up when `abandon` is set.
inline void open_gate(const spawn_request& req, pid_t tid, const std::vector<pid_t>& before,
                      const std::atomic<bool>& abandon) {
  pid_t child = -1;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (child < 0 && !abandon.load() && std::chrono::steady_clock::now() < give_up) {
    if (auto now = thread_children(tid)) {
      for (pid_t p : *now)
        if (std::find(before.begin(), before.end(), p) == before.end()) child = p;
    }
    if (child < 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  if (child >= 0) req.before_exec(req.context, child);  // never found: open the gate anyway
  while (!abandon.load()) {
    const int fd = ::open(req.gate.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
      ::close(fd);
      return;
    }
    if (errno != ENXIO && errno != EINTR) return;  // ENXIO: the child has not opened it yet
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

// A spawned process: its pid (also its process group id) and our ends of its stdout/stderr pipes.
struct spawned_process {
  pid_t pid = -1;
  unique_fd out;
  unique_fd err;
};

// posix_spawn attributes for a child in a new process group of its own, with an empty signal mask
// and every signal's disposition reset to default (a parent ignoring SIGTERM must not pass that on).
// The caller destroys `attr` (posix_spawnattr_destroy).
inline void init_new_group_attributes(posix_spawnattr_t& attr) {
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

// posix_spawn in a new process group: stdin from /dev/null, stdout/stderr into pipes (our ends
// non-blocking), cwd set in the child, every other fd closed, signal mask emptied and every signal's
// disposition reset to default (a parent ignoring SIGTERM must not pass that on).
inline result<spawned_process> spawn(const spawn_request& req) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return fail(errc::worker, fmt::format("pipe: {}", std::strerror(errno)));
  unique_fd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return fail(errc::worker, fmt::format("pipe: {}", std::strerror(errno)));
  unique_fd err_r(err_pipe[0]), err_w(err_pipe[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addchdir_np(&actions, req.cwd.c_str());
  const bool gated = req.before_exec != nullptr && !req.gate.empty();
  if (gated) {  // blocks in the child until open_gate opens the FIFO for writing
    posix_spawn_file_actions_addopen(&actions, 0, req.gate.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addclose(&actions, 0);
  }
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_w.get(), 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);

  posix_spawnattr_t attr;
  init_new_group_attributes(attr);

  std::vector<std::string> args = req.argv, env = req.env;
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = -1;
  int rc = 0;
  if (gated) {
    const pid_t tid = static_cast<pid_t>(::syscall(SYS_gettid));
    const auto before = thread_children(tid).value_or(std::vector<pid_t>{});
    std::atomic<bool> abandon{false};
    std::thread helper([&] { open_gate(req, tid, before, abandon); });
    rc = ::posix_spawn(&pid, req.program.c_str(), &actions, &attr, argv.data(), envp.data());
    abandon = true;  // the child has exec'd or failed: the helper is done or must stop looking
    helper.join();
  } else {
    rc = ::posix_spawn(&pid, req.program.c_str(), &actions, &attr, argv.data(), envp.data());
  }
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    std::string why = std::strerror(rc);
    if (!why.empty()) why[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(why[0])));
    return fail(errc::worker, "exec: \"" + (req.argv.empty() ? req.program.string() : req.argv.front()) + "\": " + why);
  }
  (void)::fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
  (void)::fcntl(err_r.get(), F_SETFL, O_NONBLOCK);
  spawned_process p;
  p.pid = pid;
  p.out = std::move(out_r);
  p.err = std::move(err_r);
  return p;
}

// A pidfd for `pid` (poll()able: readable once it exits), or -1 on kernels without pidfd_open.
inline int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  return -1;
#endif
}

// Concourse's exit status: the code when the process exited, 128 + N when signal N killed it.
inline int exit_status(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

// A process as seen in /proc: its pid and start time (so a reused pid is never mistaken for it).
struct proc_entry {
  pid_t pid = 0;
  std::uint64_t start = 0;
  friend bool operator<(const proc_entry& a, const proc_entry& b) { return a.pid < b.pid; }
};

// Parses /proc/<pid>/stat: parent pid and start time. False when the process is gone.
inline bool read_stat(pid_t pid, pid_t& parent, std::uint64_t& start) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(in, text)) return false;
  const auto close = text.rfind(')');
  if (close == std::string::npos) return false;
  // fields after the command: state(3) ppid(4) ... starttime(22)
  std::size_t field = 3, i = close + 2;
  long long ppid = 0;
  unsigned long long st = 0;
  while (i < text.size() && field <= 22) {
    auto j = text.find(' ', i);
    if (j == std::string::npos) j = text.size();
    if (field == 4) ppid = std::strtoll(text.c_str() + i, nullptr, 10);
    if (field == 22) st = std::strtoull(text.c_str() + i, nullptr, 10);
    ++field;
    i = j + 1;
  }
  parent = static_cast<pid_t>(ppid);
  start = st;
  return true;
}

// Every live descendant of `root` (children, their children, ...), found by scanning /proc.
inline std::vector<proc_entry> descendants(pid_t root) {
  std::multimap<pid_t, proc_entry> children;
  if (DIR* dir = ::opendir("/proc")) {
    while (const dirent* e = ::readdir(dir)) {
      char* end = nullptr;
      const long pid = std::strtol(e->d_name, &end, 10);
      if (pid <= 0 || *end != '\0') continue;
      pid_t parent = 0;
      std::uint64_t start = 0;
      if (read_stat(static_cast<pid_t>(pid), parent, start))
        children.emplace(parent, proc_entry{static_cast<pid_t>(pid), start});
    }
    ::closedir(dir);
  }
  std::vector<proc_entry> out;
  std::vector<pid_t> todo{root};
  while (!todo.empty()) {
    const pid_t p = todo.back();
    todo.pop_back();
    auto [a, b] = children.equal_range(p);
    for (auto it = a; it != b; ++it) {
      out.push_back(it->second);
      todo.push_back(it->second.pid);
    }
  }
  return out;
}

// Sends `sig` to each process that is still the one recorded (same start time).
// Sends `sig` to each of `procs` still running (same start time), except members of process group
// `signalled_group` (already signalled with `kill(-group)`: a signal must arrive once).
inline void signal_entries(const std::vector<proc_entry>& procs, int sig, pid_t signalled_group = 0) {
  for (const auto& p : procs) {
    pid_t parent = 0;
    std::uint64_t start = 0;
    if (!read_stat(p.pid, parent, start) || start != p.start) continue;
    if (signalled_group != 0 && ::getpgid(p.pid) == signalled_group) continue;
    (void)::kill(p.pid, sig);
  }
}

}  // namespace taskstep::worker::detail
