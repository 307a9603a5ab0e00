#pragma once
//! \file
//! Where a one-off build keeps things on this host: `temp_root()` ($TMPDIR, else /tmp), private
//! directories made with `mkdtemp` (unpredictable names, mode 0700), the per-invocation run root and
//! the default cache directory (`$XDG_CACHE_HOME/taskstep`, else `~/.cache/taskstep`).

#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "taskstep/core/result.hpp"

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
  return std::filesystem::path(pattern);
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

//! Where job caches live unless `--cache-dir` says otherwise.
inline std::filesystem::path default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "taskstep";
  if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".cache" / "taskstep";
  return temp_root() / "taskstep-cache";
}

}  // namespace taskstep::build
