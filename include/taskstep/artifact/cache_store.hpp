#pragma once
//! \file
//! `cache_store`: task caches on this host, keyed like Concourse's task caches (§6.3): team, job,
//! step name and cache path. A worker owns one store (caches are per worker and never streamed).
//!
//! - `stage(key, dest)` gives a run its private working copy (a copy: the run's writes never reach
//!   the stored cache, and concurrent runs never see each other's writes).
//! - `commit(key, dir)` replaces the stored cache atomically: the new tree is first written (or
//!   renamed) under a temporary name beside the cache, then swapped in with one
//!   `renameat2(RENAME_EXCHANGE)` (or `rename` when there is no cache yet). A commit that is killed or
//!   fails half-way therefore leaves the previous cache visible and intact; its temporary tree is
//!   removed by the next commit of that key. Readers (`stage`) hold a shared `flock` while they copy,
//!   the swap takes it exclusively, so a stage never copies a tree being swapped out.
//! - One-off builds (empty `job`) never commit, and stage an empty directory (Concourse's job id 0).
//!
//! Layout: `<root>/<team>/<job>/<step>/<path>/{data, .lock, tmp-<pid>-<n>, old-<pid>-<n>}`, each key
//! part percent-encoded into one path component. Not power-loss durable (no fsync): atomic with
//! respect to processes being killed, which is what Concourse's volume promotion gives.

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "taskstep/artifact/staging.hpp"
#include "taskstep/core/result.hpp"

namespace taskstep::artifact {

//! Identifies one cache: Concourse's (team, job, step name, cache path).
struct cache_key {
  std::string team;
  std::string job;   //!< empty for one-off builds (never committed)
  std::string step;
  std::string path;  //!< the cache path as the task config names it (cleaned)
};

//! How `commit` takes the run's directory.
enum class commit_mode {
  copy,  //!< copy it (the run's directory stays as it is)
  move,  //!< rename it into the store when on the same filesystem (O(1)); copy otherwise
};

namespace detail {

// Percent-encodes a key part into one safe path component ("" → "%", "." and ".." impossible).
inline std::string encode_component(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  if (s.empty()) return "%";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// A unique name for a temporary entry of this process: `<prefix>-<pid>-<n>`.
inline std::string temp_name(std::string_view prefix) {
  static std::atomic<unsigned long> counter{0};
  return std::string(prefix) + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

// Holds an flock on `<dir>/.lock` for its lifetime.
class dir_lock {
 public:
  dir_lock(const std::filesystem::path& dir, int operation)
      : fd_(::open((dir / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
    if (fd_.valid()) {
      while (::flock(fd_.get(), operation) != 0 && errno == EINTR) {
      }
    }
  }
  [[nodiscard]] bool locked() const noexcept { return fd_.valid(); }

 private:
  unique_fd fd_;
};

// Removes `tmp-<pid>-*` / `old-<pid>-*` entries whose process is gone (killed commits).
inline void remove_stale(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("tmp-", 0) != 0 && name.rfind("old-", 0) != 0) continue;
    const auto dash = name.find('-', 4);
    const long pid = std::strtol(name.c_str() + 4, nullptr, 10);
    if (dash == std::string::npos || pid <= 0) continue;
    if (pid != ::getpid() && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) (void)remove_tree(entry.path());
  }
}

}  // namespace detail

//! Task caches on this host under one root directory (see the file comment for the guarantees).
class cache_store {
 public:
  explicit cache_store(std::filesystem::path root) : root_(std::move(root)) {}

  [[nodiscard]] const std::filesystem::path& root() const noexcept { return root_; }

  //! The directory holding `key`'s cache and its bookkeeping (the cache itself is `location/data`).
  [[nodiscard]] std::filesystem::path location(const cache_key& key) const {
    return root_ / detail::encode_component(key.team) / detail::encode_component(key.job) /
           detail::encode_component(key.step) / detail::encode_component(key.path);
  }

  //! True when a committed cache exists for `key`.
  [[nodiscard]] bool contains(const cache_key& key) const {
    std::error_code ec;
    return !key.job.empty() && std::filesystem::is_directory(location(key) / "data", ec);
  }

  //! Fills `dest` (created if missing) with a private copy of `key`'s cache; leaves it empty when
  //! there is none or the build is one-off. Whatever `dest` held before is removed first: a cache
  //! whose path lies inside an input hides the input's files there, as Concourse mounts the cache
  //! volume over the input's (testflight's `task-caches`).
  [[nodiscard]] result<void> stage(const cache_key& key, const std::filesystem::path& dest) const {
    namespace fs = std::filesystem;
    std::error_code ec;
    const auto type = fs::symlink_status(dest, ec).type();
    if (type == fs::file_type::directory) {
      // Emptied in place: the directory stays the same inode, so a caller's descriptor of it
      // (to chown it, say) still names what the run gets.
      std::vector<fs::path> entries;
      for (fs::directory_iterator it(dest, ec), end; !ec && it != end; it.increment(ec)) entries.push_back(it->path());
      if (ec) return fail(errc::io, "could not empty " + dest.string() + ": " + ec.message());
      for (const auto& e : entries)
        if (auto cleared = remove_tree(e); !cleared) return cleared;
    } else if (type != fs::file_type::not_found) {
      if (auto cleared = remove_tree(dest); !cleared) return cleared;  // a link or a file: itself, never followed
    }
    ec.clear();
    std::filesystem::create_directories(dest, ec);
    if (ec) return fail(errc::io, "could not create " + dest.string() + ": " + ec.message());
    if (!contains(key)) return {};
    const auto dir = location(key);
    detail::dir_lock lock(dir, LOCK_SH);
    if (!lock.locked()) return fail(errc::io, "could not lock cache " + dir.string() + ": " + std::strerror(errno));
    // `data` is only ever a directory this store made (commit refuses anything else); it is
    // opened O_NOFOLLOW all the same, and so is every level beneath it and beneath `dest`.
    detail::unique_fd src(::open((dir / "data").c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!src.valid()) return fail(errc::io, "could not open cache " + (dir / "data").string() + ": " + std::strerror(errno));
    detail::unique_fd dst(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dst.valid()) return fail(errc::io, "could not open " + dest.string() + ": " + std::strerror(errno));
    auto copied = detail::copy_tree_fd(src.get(), dst.get(), dir / "data", dest, {});
    if (!copied) return tl::unexpected(copied.error());
    return {};
  }

  //! Makes `from` the new cache for `key`, atomically (see the file comment). Does nothing for
  //! one-off builds (empty `key.job`).
  [[nodiscard]] result<void> commit(const cache_key& key, const std::filesystem::path& from,
                                    commit_mode mode = commit_mode::copy) {
    namespace fs = std::filesystem;
    if (key.job.empty()) return {};
    const auto dir = location(key);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return fail(errc::io, "could not create " + dir.string() + ": " + ec.message());
    detail::remove_stale(dir);

    // Only a real directory is committed: a task that replaced its cache by a link (to a host
    // directory, say) must not have the link, or what it points to, staged into the next run.
    struct stat st {};
    if (::lstat(from.c_str(), &st) != 0)
      return fail(errc::io, "cache not committed: could not stat " + from.string() + ": " + std::strerror(errno));
    if (!S_ISDIR(st.st_mode))
      return fail(errc::io, "cache not committed: " + from.string() + " is " +
                                (S_ISLNK(st.st_mode) ? "a symbolic link" : "not a directory") +
                                ", not a directory the task filled (links are never followed)");
    const auto tmp = dir / detail::temp_name("tmp");
    bool ready = false;
    if (mode == commit_mode::move && same_filesystem(from, dir) && ::rename(from.c_str(), tmp.c_str()) == 0) {
      ready = ::lstat(tmp.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
      if (!ready) {  // swapped for something else after the check: drop it, never follow it
        (void)::unlink(tmp.c_str());
        return fail(errc::io, "cache not committed: " + from.string() + " is not a directory");
      }
    }
    if (!ready) {
      detail::unique_fd src(::open(from.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!src.valid()) return fail(errc::io, "cache not committed: could not open " + from.string() + ": " + std::strerror(errno));
      if (::mkdir(tmp.c_str(), 0700) != 0) return fail(errc::io, "could not create " + tmp.string() + ": " + std::strerror(errno));
      detail::unique_fd dst(::open(tmp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      auto copied = dst.valid() ? detail::copy_tree_fd(src.get(), dst.get(), from, tmp, {})
                                : result<copy_stats>(fail(errc::io, "could not open " + tmp.string() + ": " + std::strerror(errno)));
      if (!copied) {
        (void)remove_tree(tmp);
        return tl::unexpected(copied.error());
      }
    }

    const auto data = dir / "data";
    const auto old = dir / detail::temp_name("old");
    {
      detail::dir_lock lock(dir, LOCK_EX);
      if (!lock.locked()) {
        (void)remove_tree(tmp);
        return fail(errc::io, "could not lock cache " + dir.string() + ": " + std::strerror(errno));
      }
      if (::rename(tmp.c_str(), data.c_str()) != 0) {  // only succeeds when there is no cache yet
        if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, data.c_str(), RENAME_EXCHANGE) == 0) {
          (void)::rename(tmp.c_str(), old.c_str());  // tmp now holds the previous cache
        } else if (errno == EINVAL || errno == ENOSYS) {
          // No RENAME_EXCHANGE on this filesystem: two renames; readers hold the lock, so they
          // only ever see the old or the new tree.
          if (::rename(data.c_str(), old.c_str()) != 0 || ::rename(tmp.c_str(), data.c_str()) != 0) {
            const int err = errno;
            (void)remove_tree(tmp);
            return fail(errc::io, "could not commit cache " + dir.string() + ": " + std::strerror(err));
          }
        } else {
          const int err = errno;
          (void)remove_tree(tmp);
          return fail(errc::io, "could not commit cache " + dir.string() + ": " + std::strerror(err));
        }
      }
    }
    (void)remove_tree(old);
    return {};
  }

  //! Forgets `key`'s cache (Concourse's `fly clear-task-cache`).
  [[nodiscard]] result<void> remove(const cache_key& key) {
    const auto dir = location(key);
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) return {};
    const auto old = dir / detail::temp_name("old");
    {
      detail::dir_lock lock(dir, LOCK_EX);
      if (::rename((dir / "data").c_str(), old.c_str()) != 0 && errno != ENOENT)
        return fail(errc::io, "could not remove cache " + dir.string() + ": " + std::strerror(errno));
    }
    return remove_tree(old);
  }

 private:
  std::filesystem::path root_;
};

}  // namespace taskstep::artifact
