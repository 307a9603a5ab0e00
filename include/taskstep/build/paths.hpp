#pragma once
//! \file
//! Where a one-off build keeps things on this host: `temp_root()` ($TMPDIR, else /tmp), private
//! directories made with `mkdtemp` (unpredictable names, mode 0700), the per-invocation run root and
//! the default cache directory (`$XDG_CACHE_HOME/taskstep`, else `~/.cache/taskstep`).
//!
//! Every private directory is claimed (`worker::claim_run`: an `owner` file holding this pid under an
//! `flock`), so `reap_stale_private_dirs()` — called when a build starts — removes what a taskstep
//! that died (even by SIGKILL) left in `$TMPDIR`: its run root with whatever its runs left (processes in
//! their cgroups, containers, mounts, files) and its staged git inputs, never a live one's. A run root
//! kept on purpose (an output that could not be copied out) gives up its claim and is left alone, and
//! so is a run root holding a run kept for `taskstep intercept` (worker/kept_run.hpp).

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "taskstep/core/result.hpp"
#include "taskstep/worker/kept_run.hpp"
#include "taskstep/worker/reaper.hpp"

namespace taskstep::build {

//! `$TMPDIR` when set and non-empty, else `/tmp` (what mktemp(1) uses).
inline std::filesystem::path temp_root() {
  if (const char* t = std::getenv("TMPDIR"); t != nullptr && *t != '\0') return t;
  return "/tmp";
}

//! A fresh directory `<parent>/<prefix>XXXXXX` made by `mkdtemp` (mode 0700, a name nobody can
//! predict or pre-create), or an error naming the parent and the errno.
inline result<std::filesystem::path> make_private_dir(const std::filesystem::path& parent, std::string_view prefix) {
  std::string pattern = (parent / (std::string(prefix) + "XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr)
    return fail(errc::io, "could not create a directory under " + parent.string() + ": " + std::strerror(errno));
  (void)worker::claim_run(pattern);  // unclaimed, it is only safe from no reaper
  return std::filesystem::path(pattern);
}

//! Gives up this process's claim on a private directory that must outlive it (a kept run root).
inline void unclaim_private_dir(const std::filesystem::path& dir) { (void)::unlink((dir / "owner").c_str()); }

//! True when a `run-*` directory directly below `dir` holds a kept-run record (worker/kept_run.hpp).
inline bool holds_kept_run(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.path().filename().string().rfind("run-", 0) == 0 && worker::is_kept_run(entry.path())) return true;
  return false;
}

//! The prefixes of the private directories a build makes in `temp_root()`.
inline constexpr std::string_view private_dir_prefixes[] = {"taskstep-runs-", "taskstep-input-"};

//! Removes the private directories in `parent` whose owner is gone (see the file comment): this user's
//! `taskstep-runs-*` / `taskstep-input-*` directories holding an `owner` file nobody has locked. The
//! runs inside a stale run root are reaped first (`worker::reap_stale_runs`: cgroup processes, runc
//! containers under `options.runc_state_root`, mounts), then every mount below it is detached and it
//! is removed. Returns how many directories were removed.
inline std::size_t reap_stale_private_dirs(const std::filesystem::path& parent = temp_root(),
                                           const worker::reap_options& options = {}) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::size_t removed = 0;
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    const std::string name = entry.path().filename().string();
    bool ours = false;
    for (auto prefix : private_dir_prefixes) ours = ours || name.rfind(prefix, 0) == 0;
    struct stat st {};
    if (!ours || ::lstat(entry.path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) continue;
    artifact::detail::unique_fd owner(::open((entry.path() / "owner").c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!owner.valid() || ::flock(owner.get(), LOCK_EX | LOCK_NB) != 0) continue;  // kept, being made, or alive
    if (holds_kept_run(entry.path())) continue;  // --keep: removed only by `intercept --rm`
    (void)worker::reap_stale_runs(entry.path(), options);
    for (const auto& m : worker::detail::mounts_under(entry.path())) (void)::umount2(m.c_str(), MNT_DETACH);
    if (artifact::remove_tree(entry.path())) ++removed;
  }
  return removed;
}

//! The run root of one invocation: `$TMPDIR/taskstep-runs-XXXXXX`, mode 0711 so that a task user
//! (or a container's mapped root) can reach its own run directory below it, but cannot list others.
inline result<std::filesystem::path> make_run_root() {
  auto dir = make_private_dir(temp_root(), "taskstep-runs-");
  if (!dir) return dir;
  if (::chmod(dir->c_str(), 0711) != 0) {
    const int err = errno;
    std::error_code ec;
    std::filesystem::remove(*dir, ec);
    return fail(errc::io, "could not chmod " + dir->string() + ": " + std::strerror(err));
  }
  return dir;
}

//! After a build whose workers had `keep` set: the run directories kept below `run_root`
//! (worker/kept_run.hpp). When there are any, the run root gives up its claim (no reaper takes it;
//! `intercept --rm` removes it) and the caller must not remove it; empty otherwise.
inline std::vector<std::filesystem::path> keep_kept_runs(const std::filesystem::path& run_root) {
  auto kept = worker::kept_runs_in(run_root);
  if (!kept.empty()) unclaim_private_dir(run_root);
  return kept;
}

//! Every kept run of this user in `parent`: the kept `run-*` directories (worker/kept_run.hpp) of the
//! `taskstep-runs-*` run roots this uid owns, sorted by path. `taskstep intercept --list` shows them.
inline std::vector<std::filesystem::path> find_kept_runs(const std::filesystem::path& parent = temp_root()) {
  namespace fs = std::filesystem;
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    struct stat st {};
    if (entry.path().filename().string().rfind("taskstep-runs-", 0) != 0 || ::lstat(entry.path().c_str(), &st) != 0 ||
        !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid())
      continue;
    for (auto& run : worker::kept_runs_in(entry.path())) out.push_back(std::move(run));
  }
  std::sort(out.begin(), out.end());
  return out;
}

//! After a kept run was removed (`worker::remove_kept_run`): removes its run root `run_root` too when
//! it is a `taskstep-runs-*` directory that nobody owns any more (no `owner` file) and that holds no
//! other kept run. True when it was removed.
inline bool remove_unused_run_root(const std::filesystem::path& run_root) {
  struct stat st {};
  if (run_root.filename().string().rfind("taskstep-runs-", 0) != 0 || holds_kept_run(run_root) ||
      ::lstat((run_root / "owner").c_str(), &st) == 0)
    return false;
  for (const auto& m : worker::detail::mounts_under(run_root)) (void)::umount2(m.c_str(), MNT_DETACH);
  return artifact::remove_tree(run_root).has_value();
}

//! Where job caches live unless `--cache-dir` says otherwise.
inline std::filesystem::path default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "taskstep";
  if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".cache" / "taskstep";
  return temp_root() / "taskstep-cache";
}

}  // namespace taskstep::build
