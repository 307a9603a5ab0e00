#pragma once
// `taskstep execute --watch`: which files to watch (the input directories, recursively, minus the -o
// directories and `.git`; the task file) and the wait for a change (inotify, debounced) or for
// Ctrl-C / SIGTERM (a signalfd; the caller keeps both signals blocked for the whole watch).

#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace taskstep_cli {

struct watch_set {
  std::vector<std::filesystem::path> dirs;    // input directories, watched with all their subdirectories
  std::vector<std::filesystem::path> files;   // single files (the task file)
  std::vector<std::filesystem::path> ignored; // never watched, nor anything below (the -o directories)
};

// Reads every signal pending on `signal_fd` (a poll only says one is there; it stays pending until read).
inline void consume_signals(int signal_fd) {
  signalfd_siginfo info{};
  while (::read(signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
  }
}

// What ended a wait.
enum class watch_wake { changed, signalled, failed };

class watcher {
 public:
  explicit watcher(int signal_fd) : signal_fd_(signal_fd) {}
  watcher(const watcher&) = delete;
  watcher& operator=(const watcher&) = delete;
  ~watcher() { close_inotify(); }

  // Starts watching `set` afresh (new directories made since the last call are included).
  // Returns the number of directories watched, or an error text.
  std::optional<std::string> arm(const watch_set& set, std::size_t& watched) {
    namespace fs = std::filesystem;
    close_inotify();
    fd_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (fd_ < 0) return std::string("inotify_init1: ") + std::strerror(errno);
    ignored_ = set.ignored;
    constexpr std::uint32_t dir_mask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM |
                                       IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW | IN_ONLYDIR;
    watched = 0;
    for (const auto& top : set.dirs) {
      add(top, dir_mask, watched);
      std::error_code ec;
      for (auto it = fs::recursive_directory_iterator(top, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code e;
        if (!it->is_directory(e) || it->is_symlink(e)) continue;
        if (skipped(it->path())) {
          it.disable_recursion_pending();
          continue;
        }
        add(it->path(), dir_mask, watched);
      }
    }
    for (const auto& f : set.files) {
      const int wd = ::inotify_add_watch(fd_, f.c_str(), IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF);
      if (wd >= 0) paths_[wd] = f;
    }
    return std::nullopt;
  }

  // Waits for a relevant change, then for `quiet` without another (debounce); `changed` names the
  // first changed path. A signal on the signalfd ends the wait at once.
  watch_wake wait(std::chrono::milliseconds quiet, std::filesystem::path& changed) {
    bool seen = false;
    while (true) {
      pollfd fds[2] = {{fd_, POLLIN, 0}, {signal_fd_, POLLIN, 0}};
      const int n = ::poll(fds, 2, seen ? static_cast<int>(quiet.count()) : -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        return watch_wake::failed;
      }
      if (fds[1].revents != 0) {
        consume_signals(signal_fd_);  // else it stays pending and kills us when the mask is restored
        return watch_wake::signalled;
      }
      if (n == 0) return watch_wake::changed;  // quiet for `quiet` after a change
      if (fds[0].revents != 0 && drain(seen ? nullptr : &changed)) seen = true;
    }
  }

  // True when a relevant change is already queued (made while the build ran).
  bool pending(std::filesystem::path& changed) {
    return drain(&changed);
  }

 private:
  bool skipped(const std::filesystem::path& p) const {
    if (p.filename() == ".git") return true;
    for (const auto& i : ignored_) {
      auto o = i.begin(), x = p.begin();
      bool inside = true;
      for (; o != i.end(); ++o, ++x)
        if (x == p.end() || *x != *o) {
          inside = false;
          break;
        }
      if (inside) return true;
    }
    return false;
  }
  void add(const std::filesystem::path& dir, std::uint32_t mask, std::size_t& watched) {
    if (skipped(dir)) return;
    const int wd = ::inotify_add_watch(fd_, dir.c_str(), mask);
    if (wd < 0) return;
    paths_[wd] = dir;
    ++watched;
  }
  // Reads every queued event; true when one concerns a watched, not ignored path.
  bool drain(std::filesystem::path* first) {
    alignas(inotify_event) char buf[16384];
    bool relevant = false;
    while (true) {
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) return relevant;
      for (char* p = buf; p < buf + n;) {
        const auto* e = reinterpret_cast<const inotify_event*>(p);
        p += sizeof(inotify_event) + e->len;
        const auto where = paths_.find(e->wd);
        if (where == paths_.end() || (e->mask & IN_IGNORED) != 0) continue;
        const auto path = e->len > 0 ? where->second / e->name : where->second;
        if (skipped(path)) continue;
        if (!relevant && first != nullptr) *first = path;
        relevant = true;
      }
    }
  }
  void close_inotify() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    paths_.clear();
  }
  int fd_ = -1;
  int signal_fd_;
  std::map<int, std::filesystem::path> paths_;
  std::vector<std::filesystem::path> ignored_;
};

}  // namespace taskstep_cli
