#pragma once
//! \file
//! Run ownership and the start-up reaper: what a dead taskstep left behind is removed by the next
//! worker that uses the same work root, and never what a live taskstep still uses.
//!
//! - `claim_run(run_dir)` writes this process's pid into `<run_dir>/owner` and holds an exclusive
//!   `flock` on it for as long as the directory exists (the lock fd is kept in a process-wide
//!   table and closed once the directory is gone). The kernel drops the lock when the process
//!   dies, however it dies.
//! - `reap_stale_runs(work_root)` (every worker calls it when constructed) takes a `flock` on the
//!   `work_root` directory itself (no lock file is left) so two reapers do not race, then, for each `run-*` directory whose
//!   `owner` lock it can take (the owner is gone): kills every process of the run's cgroups
//!   (`taskstep-<pid>-run-XXXXXX`: `cgroup.kill`, else `cgroup.procs`) and removes them, deletes
//!   the run's runc container (`taskstep-XXXXXX-<pid>`) when a runc state root is given, lazily
//!   unmounts every mount below the directory (deepest first, from /proc/self/mountinfo) and
//!   removes it. A `run-*` directory without an `owner` file is left alone: it is either being
//!   created right now or not ours. A run directory holding a kept-run record (`kept.json`,
//!   kept_run.hpp: a run kept for `taskstep intercept`) is never reaped.
//!
//! Normally the per-run `watchdog` (supervisor.hpp) has cleaned up already; the reaper covers a
//! watchdog that died too, and run directories kept for outputs when taskstep died afterwards.

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "taskstep/artifact/staging.hpp"
#include "taskstep/worker/detail/cgroup.hpp"
#include "taskstep/worker/detail/command.hpp"

namespace taskstep::worker {

namespace detail {

// The owner locks this process holds: run directory → lock fd.
struct claim_table {
  std::mutex mutex;
  std::vector<std::pair<std::filesystem::path, int>> held;
};

inline claim_table& claims() {
  static claim_table table;
  return table;
}

// Mount points in /proc/self/mountinfo at or below `dir` (octal escapes decoded), deepest first.
inline std::vector<std::filesystem::path> mounts_under(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  std::istringstream in(read_file("/proc/self/mountinfo"));
  const std::string base = dir.string();
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string f, point;
    for (int i = 0; i < 5 && fields >> f; ++i) point = f;
    std::string decoded;
    for (std::size_t i = 0; i < point.size(); ++i) {
      if (point[i] == '\\' && i + 3 < point.size()) {
        decoded += static_cast<char>(std::strtol(point.substr(i + 1, 3).c_str(), nullptr, 8));
        i += 3;
      } else {
        decoded += point[i];
      }
    }
    if (decoded == base || decoded.rfind(base + "/", 0) == 0) out.emplace_back(decoded);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.string().size() > b.string().size(); });
  return out;
}

// Kills every process in the cgroup directory `dir` and removes it (bounded).
inline void kill_cgroup(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return;
  (void)write_file(dir / "cgroup.kill", "1");
  for (int round = 0; round < 200; ++round) {
    std::istringstream procs(read_file(dir / "cgroup.procs"));
    long pid = 0;
    bool any = false;
    while (procs >> pid) {
      any = true;
      (void)::kill(static_cast<pid_t>(pid), SIGKILL);
    }
    if (!any && ::rmdir(dir.c_str()) == 0) return;
    if (!any && errno != EBUSY) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace detail

//! The record's file name inside a run directory kept for `intercept` (kept_run.hpp).
inline constexpr const char* kept_record_name = "kept.json";

//! True when `run_dir` holds a kept-run record (a regular file, not a link): the reapers and the
//! workers' `release` leave such a directory alone until it is removed on purpose.
inline bool is_kept_run(const std::filesystem::path& run_dir) {
  struct stat st {};
  return ::lstat((run_dir / kept_record_name).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

//! Marks `run_dir` as owned by this process (see the file comment). False when the owner file
//! could not be written or locked; the run then goes on, only unprotected from no reaper.
inline bool claim_run(const std::filesystem::path& run_dir) {
  auto& table = detail::claims();
  std::lock_guard<std::mutex> lock(table.mutex);
  std::error_code ec;
  auto& held = table.held;
  held.erase(std::remove_if(held.begin(), held.end(),
                            [&](const auto& c) {
                              if (std::filesystem::exists(c.first, ec)) return false;
                              ::close(c.second);
                              return true;
                            }),
             held.end());
  const int fd = ::open((run_dir / "owner").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return false;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return false;
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  (void)!::write(fd, pid.data(), pid.size());
  held.emplace_back(run_dir, fd);
  return true;
}

//! Where the reaper also looks (runc's state root: delete the dead run's container by id).
struct reap_options {
  std::filesystem::path runc_state_root;  //!< empty = no containers to delete
  std::string runc = "runc";
  std::filesystem::path cgroup_root = "/sys/fs/cgroup";
};

//! Removes what dead owners left in `work_root` (see the file comment). Returns how many run
//! directories were reaped.
inline std::size_t reap_stale_runs(const std::filesystem::path& work_root, const reap_options& options = {}) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(work_root, ec)) return 0;
  detail::unique_fd guard(::open(work_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!guard.valid() || ::flock(guard.get(), LOCK_EX) != 0) return 0;
  std::size_t reaped = 0;
  for (const auto& entry : fs::directory_iterator(work_root, ec)) {
    const fs::path dir = entry.path();
    const std::string name = dir.filename().string();
    if (name.rfind("run-", 0) != 0 || !entry.is_directory(ec) || entry.is_symlink(ec)) continue;
    if (is_kept_run(dir)) continue;  // kept for intercept: removed only on purpose
    detail::unique_fd owner(::open((dir / "owner").c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!owner.valid() || ::flock(owner.get(), LOCK_EX | LOCK_NB) != 0) continue;  // not ours, or alive
    const std::string pid = [&] {
      std::string text = detail::read_file(dir / "owner");
      while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
      return text.find_first_not_of("0123456789") == std::string::npos ? text : std::string();
    }();
    if (!pid.empty()) {
      const std::string cgroup = "taskstep-" + pid + "-" + name;
      for (const char* hierarchy : {"", "memory", "cpu"}) {
        const fs::path mount = *hierarchy == '\0'
                                   ? (fs::exists(options.cgroup_root / "unified" / "cgroup.procs", ec) ? options.cgroup_root / "unified"
                                                                                                        : options.cgroup_root)
                                   : options.cgroup_root / hierarchy;
        if (auto own = detail::own_cgroup(hierarchy)) detail::kill_cgroup(mount / fs::path(*own).relative_path() / cgroup);
      }
      const std::string id = "taskstep-" + name.substr(4) + "-" + pid;
      if (!options.runc_state_root.empty() && fs::exists(options.runc_state_root / id, ec))
        (void)detail::run_command({options.runc, "--root", options.runc_state_root.string(), "delete", "--force", id},
                                  std::chrono::seconds(10));
    }
    for (const auto& m : detail::mounts_under(dir)) (void)::umount2(m.c_str(), MNT_DETACH);
    owner = detail::unique_fd();
    if (artifact::remove_tree(dir)) ++reaped;
  }
  return reaped;
}

}  // namespace taskstep::worker
