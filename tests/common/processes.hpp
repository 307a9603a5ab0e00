#pragma once
// Process helpers shared by the lifetime tests: finding a test's processes by a marker in their
// argv, and forking a child that reports back (e.g. a "dead owner": a child that claims something,
// reports it and exits, or is killed later).

#include <dirent.h>
#include <fcntl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace taskstep::test {

//! Pids of processes whose argv contains `marker` (zombies have no cmdline and do not count; this
//! process never does).
inline std::vector<pid_t> marker_pids(const std::string& marker) {
  std::vector<pid_t> out;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return out;
  while (const dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0' || pid == ::getpid()) continue;
    std::ifstream in(std::filesystem::path("/proc") / e->d_name / "cmdline", std::ios::binary);
    std::string cmdline{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    for (auto& c : cmdline)
      if (c == '\0') c = ' ';
    if (cmdline.find(marker) != std::string::npos) out.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(dir);
  return out;
}

//! Hands text from a forked child to its parent, once (later calls do nothing).
class child_reporter {
 public:
  explicit child_reporter(int fd) : fd_(fd) {}
  void operator()(std::string_view text) {
    if (fd_ < 0) return;
    while (!text.empty()) {
      const ssize_t n = ::write(fd_, text.data(), text.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      text.remove_prefix(static_cast<std::size_t>(n));
    }
    ::close(std::exchange(fd_, -1));
  }

 private:
  int fd_;
};

//! A forked child (`pid`, -1 when fork failed) and what it reported.
struct reported_child {
  pid_t pid = -1;
  std::string text;
};

//! Forks a child that runs `body(report)` and `_exit`s with its int result. Returns once the child
//! reported (`report(text)`) or exited; it may still run then (wait for it, or kill it).
template <class Body>
reported_child fork_reporting(Body&& body) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return {};
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return {};
  }
  if (pid == 0) {
    ::close(fds[0]);
    child_reporter report(fds[1]);
    ::_exit(body(report));
  }
  ::close(fds[1]);
  reported_child out{pid, {}};
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  return out;
}

//! Waits for a child; its wait status.
inline int wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

}  // namespace taskstep::test
