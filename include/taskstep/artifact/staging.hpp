#pragma once
//! \file
//! Input staging helpers: ordinary inline functions (no templates) that give a task a private,
//! writable view of a directory without ever changing the directory itself (Concourse mounts inputs
//! as copy-on-write child volumes, §6.2 of the semantics notes).
//!
//! - `copy_tree_into(from, to, stop)` (and `copy_tree`, the same without a stop token): a real,
//!   merging copy (mode, mtime, symlinks, FIFOs; owners when running as root) that never follows a
//!   link below the two tops, on either side (openat(O_NOFOLLOW) at every level; a link in the
//!   target where a directory must go is an error naming it). O(size); ~300 ms for 10k small files
//!   on this machine. Hardlinks are deliberately not used: an in-place write through a hardlink
//!   would change the source.
//! - `copy_listed_into(from, files, to, stop)`: the same for a list of paths (git-listed inputs).
//! - `mount_overlay(lower, upper, work, target)`: overlayfs with the source as the read-only lower
//!   layer; O(1). Needs CAP_SYS_ADMIN in the host mount namespace (root), mounts there, and must be
//!   undone with `unmount(target)`.
//! - `remove_tree(path)`: `rm -rf` that also copes with read-only directories a task left behind.
//!
//! Reflinks are not attempted: the filesystems this project targets (ext4, tmpfs) lack them, and on
//! XFS they gave no gain for trees of small files.

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <span>
#include <stop_token>
#include <string_view>
#include <system_error>

#include "taskstep/core/result.hpp"

namespace taskstep::artifact {

//! What `copy_tree` copied.
struct copy_stats {
  std::uint64_t files = 0;
  std::uint64_t directories = 0;
  std::uint64_t symlinks = 0;
  std::uint64_t bytes = 0;
};

namespace detail {

// Closes a file descriptor at scope exit.
class unique_fd {
 public:
  explicit unique_fd(int fd = -1) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(o.release()) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }
  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

inline error io_error(std::string_view what, const std::filesystem::path& p, int err) {
  return error(errc::io, std::string(what) + " " + p.string() + ": " + std::strerror(err));
}

// Copies the bytes of `in` to `out` (copy_file_range, then read/write when the kernel refuses).
// Returns 0, or the errno of the failure.
inline int copy_bytes(int in, int out, std::uint64_t& bytes) {
  bool use_range = true;
  for (;;) {
    ssize_t n = -1;
    if (use_range) {
      n = ::copy_file_range(in, nullptr, out, nullptr, 1 << 30, 0);
      if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
        use_range = false;
        continue;
      }
    } else {
      char buf[1 << 16];
      n = ::read(in, buf, sizeof buf);
      if (n > 0) {
        ssize_t done = 0;
        while (done < n) {
          const ssize_t w = ::write(out, buf + done, static_cast<std::size_t>(n - done));
          if (w < 0) {
            if (errno == EINTR) continue;
            return errno;
          }
          done += w;
        }
      }
    }
    if (n == 0) return 0;
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    bytes += static_cast<std::uint64_t>(n);
  }
}

// Applies owner (root only), mode and times of `st` to the open file `fd` (never a path, so no
// link can redirect it).
inline void copy_metadata_fd(int fd, const struct stat& st) {
  if (::geteuid() == 0) (void)::fchown(fd, st.st_uid, st.st_gid);
  (void)::fchmod(fd, st.st_mode & 07777);
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  (void)::futimens(fd, times);
}

// Applies owner (root only), mode and times of `st` to `name` in `dirfd`, never following a link.
inline void copy_metadata(int dirfd, const char* name, const struct stat& st, bool is_link) {
  if (::geteuid() == 0) (void)::fchownat(dirfd, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
  if (!is_link) (void)::fchmodat(dirfd, name, st.st_mode & 07777, AT_SYMLINK_NOFOLLOW);
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  (void)::utimensat(dirfd, name, times, AT_SYMLINK_NOFOLLOW);
}

inline error interrupted() { return error(errc::cancelled, "interrupted"); }

// Opens the directory `name` in `dirfd` without following a link. A link or a non-directory there
// is an error naming `path` (ENOTDIR, with what it is).
inline result<unique_fd> open_dir_nofollow(int dirfd, const char* name, const std::filesystem::path& path) {
  unique_fd fd(::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.valid()) return fd;
  const int err = errno;
  struct stat st {};
  if ((err == ELOOP || err == ENOTDIR) && ::fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(st.st_mode))
      return fail(errc::io, "could not open " + path.string() + ": " + std::strerror(ENOTDIR) +
                                " (it is a symbolic link, which taskstep does not follow)");
    return fail(errc::io, "could not open " + path.string() + ": " + std::strerror(ENOTDIR));
  }
  return tl::unexpected(io_error("could not open", path, err));
}

// Makes `name` in `dst` a directory (kept when it already is one; a link or a file there is an
// error, never followed nor replaced) and opens it.
inline result<unique_fd> make_dir_nofollow(int dst, const char* name, const std::filesystem::path& path) {
  if (::mkdirat(dst, name, 0700) != 0 && errno != EEXIST) return tl::unexpected(io_error("could not create", path, errno));
  return open_dir_nofollow(dst, name, path);
}

inline result<void> copy_dir_contents(int src, int dst, const std::filesystem::path& from,
                                      const std::filesystem::path& to, copy_stats& stats, const std::stop_token& stop);

// Copies the entry `name` of directory `src` (described by `st`, from fstatat without following)
// to `name` in `dst`. Directories are copied whole when `recurse`, else made empty.
inline result<void> copy_entry(int src, int dst, const char* name, const struct stat& st,
                               const std::filesystem::path& from, const std::filesystem::path& to, copy_stats& stats,
                               const std::stop_token& stop, bool recurse = true) {
  if (stop.stop_requested()) return tl::unexpected(interrupted());
  // Replaces a non-directory in the target (unlinkat never follows a link). A directory where a
  // file must go is an error.
  auto clear = [&]() -> result<void> {
    if (::unlinkat(dst, name, 0) == 0 || errno == ENOENT) return {};
    const int err = errno == EPERM ? EISDIR : errno;  // EISDIR is what Linux says; EPERM elsewhere
    return tl::unexpected(io_error("could not replace", to, err));
  };
  if (S_ISDIR(st.st_mode)) {
    auto target = make_dir_nofollow(dst, name, to);
    if (!target) return tl::unexpected(target.error());
    ++stats.directories;
    if (recurse) {
      auto source = open_dir_nofollow(src, name, from);
      if (!source) return tl::unexpected(source.error());
      auto copied = copy_dir_contents(source->get(), target->get(), from, to, stats, stop);
      if (!copied) return copied;
    }
    copy_metadata_fd(target->get(), st);  // after the contents, so read-only dirs can be filled
    return {};
  }
  if (S_ISREG(st.st_mode)) {
    unique_fd in(::openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!in.valid()) return tl::unexpected(io_error("could not open", from, errno));
    if (auto cleared = clear(); !cleared) return cleared;
    unique_fd out(::openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out.valid()) return tl::unexpected(io_error("could not create", to, errno));
    if (const int err = copy_bytes(in.get(), out.get(), stats.bytes); err != 0)
      return fail(errc::io, "could not copy " + from.string() + " to " + to.string() + ": " + std::strerror(err));
    copy_metadata_fd(out.get(), st);
    if (::close(out.release()) != 0) return tl::unexpected(io_error("could not write", to, errno));
    ++stats.files;
    return {};
  }
  if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 255) + 1, '\0');
    const ssize_t n = ::readlinkat(src, name, target.data(), target.size());
    if (n < 0) return tl::unexpected(io_error("could not read link", from, errno));
    target.resize(static_cast<std::size_t>(n));
    if (auto cleared = clear(); !cleared) return cleared;
    if (::symlinkat(target.c_str(), dst, name) != 0) return tl::unexpected(io_error("could not create link", to, errno));
    ++stats.symlinks;
    copy_metadata(dst, name, st, true);
    return {};
  }
  if (S_ISFIFO(st.st_mode) || ((S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) && ::geteuid() == 0)) {
    if (auto cleared = clear(); !cleared) return cleared;
    const int made = S_ISFIFO(st.st_mode) ? ::mkfifoat(dst, name, 0600) : ::mknodat(dst, name, st.st_mode & ~07777u, st.st_rdev);
    if (made != 0) return tl::unexpected(io_error("could not create", to, errno));
    copy_metadata(dst, name, st, false);
  }
  return {};  // sockets (and devices without root) are skipped: they cannot be copied
}

// Copies the contents of directory `src` into directory `dst` (both open), recursively. `from` and
// `to` are their paths, for messages.
inline result<void> copy_dir_contents(int src, int dst, const std::filesystem::path& from,
                                      const std::filesystem::path& to, copy_stats& stats, const std::stop_token& stop) {
  const int iter_fd = ::dup(src);
  if (iter_fd < 0) return tl::unexpected(io_error("could not read", from, errno));
  DIR* dir = ::fdopendir(iter_fd);
  if (dir == nullptr) {
    const int err = errno;
    ::close(iter_fd);
    return tl::unexpected(io_error("could not read", from, err));
  }
  ::rewinddir(dir);
  result<void> out{};
  while (out) {
    errno = 0;
    const dirent* entry = ::readdir(dir);
    if (entry == nullptr) {
      if (errno != 0) out = tl::unexpected(io_error("could not read", from, errno));
      break;
    }
    const char* name = entry->d_name;
    if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
    struct stat st {};
    if (::fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      out = tl::unexpected(io_error("could not stat", from / name, errno));
      break;
    }
    out = copy_entry(src, dst, name, st, from / name, to / name, stats, stop);
  }
  ::closedir(dir);
  return out;
}

// Copies the tree open at `src` into the directory open at `dst`, the top's metadata included.
inline result<copy_stats> copy_tree_fd(int src, int dst, const std::filesystem::path& from, const std::filesystem::path& to,
                                       const std::stop_token& stop) {
  struct stat st {};
  if (::fstat(src, &st) != 0) return tl::unexpected(io_error("could not stat", from, errno));
  copy_stats stats;
  auto copied = copy_dir_contents(src, dst, from, to, stats, stop);
  if (!copied) return tl::unexpected(copied.error());
  copy_metadata_fd(dst, st);
  return stats;
}

// Opens the directory `to`, creating it (and its parents) when missing.
inline result<unique_fd> open_target(const std::filesystem::path& to) {
  std::error_code ec;
  std::filesystem::create_directories(to, ec);
  if (ec) return fail(errc::io, "could not create " + to.string() + ": " + ec.message());
  unique_fd dst(::open(to.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dst.valid()) return tl::unexpected(io_error("could not open", to, errno));
  return dst;
}

// True when `rel` is a plain relative path: no leading `/`, no empty, `.` or `..` component.
inline bool plain_relative(std::string_view rel) {
  if (rel.empty() || rel.front() == '/') return false;
  std::size_t start = 0;
  while (start <= rel.size()) {
    const auto end = std::min(rel.find('/', start), rel.size());
    const auto part = rel.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

}  // namespace detail

//! Copies the tree `from` into the directory `to`, merging: `to` (created with its parents when
//! missing) may already hold files; an entry of `from` overwrites the entry of the same name
//! (a file, link or FIFO there is replaced), others are kept.
//!
//! **No symbolic link is ever followed below the two tops** (`from` and `to` themselves are opened
//! as the caller names them): every level is opened with `openat(O_NOFOLLOW)`, a link in `from` is
//! copied as a link, and where `to` holds a link (or a file) where a directory must go, the copy
//! fails naming that path (`Not a directory`); the link is neither followed nor replaced, so
//! nothing outside `to` is ever written. Files are created `O_EXCL` after the old entry is
//! unlinked. Mode and times are kept, owners too when running as root; sockets are skipped.
//!
//! Errors are `errc::io` naming the path and the real errno (`No space left on device`,
//! `Permission denied`, `Not a directory`). `stop` is checked before every entry: a stop request
//! gives `errc::cancelled` ("interrupted"); what was copied so far stays for the caller to remove.
inline result<copy_stats> copy_tree_into(const std::filesystem::path& from, const std::filesystem::path& to,
                                         std::stop_token stop = {}) {
  detail::unique_fd src(::open(from.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!src.valid()) return tl::unexpected(detail::io_error("could not open", from, errno));
  auto dst = detail::open_target(to);
  if (!dst) return tl::unexpected(dst.error());
  return detail::copy_tree_fd(src.get(), dst->get(), from, to, stop);
}

//! Copies the tree `from` into `to` (created if missing; existing entries are overwritten, others
//! kept): `copy_tree_into` without a stop token. Symlinks are copied as links, never followed.
inline result<copy_stats> copy_tree(const std::filesystem::path& from, const std::filesystem::path& to) {
  return copy_tree_into(from, to);
}

//! Copies the entries `files` (paths relative to `from`, as `git ls-files` lists them) into `to`,
//! with the guarantees of `copy_tree_into`: no link is followed in `from` below its top nor in `to`
//! below its top; a listed link is copied as a link; a listed directory (a submodule's root) is
//! made empty. Intermediate directories are created with their source's mode. A listed path that
//! is missing from `from` (deleted in the working tree) is skipped; one that is absolute or has an
//! empty, `.` or `..` component is refused, as is one that reaches through a link in `from`.
//! Errors name the path and the errno; `stop` is checked before every file (`interrupted`).
inline result<copy_stats> copy_listed_into(const std::filesystem::path& from, std::span<const std::string> files,
                                           const std::filesystem::path& to, std::stop_token stop = {}) {
  detail::unique_fd src_top(::open(from.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!src_top.valid()) return tl::unexpected(detail::io_error("could not open", from, errno));
  auto dst_top = detail::open_target(to);
  if (!dst_top) return tl::unexpected(dst_top.error());
  copy_stats stats;
  for (const auto& file : files) {
    if (stop.stop_requested()) return tl::unexpected(detail::interrupted());
    if (!detail::plain_relative(file))
      return fail(errc::io, "could not copy " + (from / file).string() + ": the listed path '" + file +
                                "' is not a plain relative path");
    // Walk the parents on both sides, one openat(O_NOFOLLOW) per level.
    detail::unique_fd src, dst;
    int src_at = src_top.get(), dst_at = dst_top->get();
    std::filesystem::path src_path = from, dst_path = to;
    std::string_view rest = file;
    bool missing = false;
    for (auto slash = rest.find('/'); slash != std::string_view::npos; slash = rest.find('/')) {
      const std::string part(rest.substr(0, slash));
      rest.remove_prefix(slash + 1);
      src_path /= part;
      dst_path /= part;
      struct stat st {};
      if (::fstatat(src_at, part.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT) {
        missing = true;
        break;
      }
      auto next_src = detail::open_dir_nofollow(src_at, part.c_str(), src_path);
      if (!next_src) return tl::unexpected(next_src.error());
      const bool made = ::mkdirat(dst_at, part.c_str(), 0700) == 0;
      if (!made && errno != EEXIST) return tl::unexpected(detail::io_error("could not create", dst_path, errno));
      auto next_dst = detail::open_dir_nofollow(dst_at, part.c_str(), dst_path);
      if (!next_dst) return tl::unexpected(next_dst.error());
      if (made) {
        ++stats.directories;
        detail::copy_metadata_fd(next_dst->get(), st);
        if ((st.st_mode & S_IWUSR) == 0) (void)::fchmod(next_dst->get(), (st.st_mode & 07777) | S_IRWXU);
      }
      src = std::move(*next_src);
      dst = std::move(*next_dst);
      src_at = src.get();
      dst_at = dst.get();
    }
    if (missing) continue;
    const std::string leaf(rest);
    struct stat st {};
    if (::fstatat(src_at, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      return tl::unexpected(detail::io_error("could not stat", src_path / leaf, errno));
    }
    auto copied = detail::copy_entry(src_at, dst_at, leaf.c_str(), st, src_path / leaf, dst_path / leaf, stats, stop, false);
    if (!copied) return tl::unexpected(copied.error());
  }
  return stats;
}

//! Removes `path` and everything under it, first making directories writable if a plain removal
//! fails (tasks leave read-only trees behind, e.g. Go's module cache). A missing path is fine.
inline result<void> remove_tree(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::remove_all(path, ec);
  if (!ec) return {};
  for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code ignored;
    if (it->is_directory(ignored) && !it->is_symlink(ignored))
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ignored);
  }
  std::error_code ignored;
  fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ignored);
  ec.clear();
  fs::remove_all(path, ec);
  if (ec) return fail(errc::io, "could not remove " + path.string() + ": " + ec.message());
  return {};
}

//! True when this process may mount overlayfs in the host mount namespace: it is root (effective
//! uid 0) and the kernel lists `overlay` in /proc/filesystems. A mount may still fail (e.g. an
//! upper directory on a filesystem overlayfs refuses); callers fall back to `copy_tree`.
inline bool overlay_available() {
  if (::geteuid() != 0) return false;
  std::ifstream in("/proc/filesystems");
  std::string line;
  while (std::getline(in, line))
    if (line.size() >= 7 && line.compare(line.size() - 7, 7, "overlay") == 0) return true;
  return false;
}

//! True when `p` can be given to overlayfs as a mount option (no `,`, `:` or `\`, which it would
//! read as separators or escapes).
inline bool overlay_safe_path(const std::filesystem::path& p) {
  return p.native().find_first_of(",:\\") == std::string::npos;
}

//! Mounts overlayfs at `target` with `lower` as the read-only layer and `upper`/`work` (empty
//! directories on one filesystem, created if missing) taking the writes. `lower` is never changed.
inline result<void> mount_overlay(const std::filesystem::path& lower, const std::filesystem::path& upper,
                                  const std::filesystem::path& work, const std::filesystem::path& target) {
  namespace fs = std::filesystem;
  for (const auto* p : {&lower, &upper, &work, &target})
    if (!overlay_safe_path(*p))
      return fail(errc::io, "cannot mount overlay: path " + p->string() + " contains ',', ':' or '\\'");
  std::error_code ec;
  for (const auto* p : {&upper, &work, &target}) {
    fs::create_directories(*p, ec);
    if (ec) return fail(errc::io, "could not create " + p->string() + ": " + ec.message());
  }
  const std::string options =
      "lowerdir=" + lower.string() + ",upperdir=" + upper.string() + ",workdir=" + work.string();
  if (::mount("overlay", target.c_str(), "overlay", 0, options.c_str()) != 0)
    return tl::unexpected(detail::io_error("could not mount overlay at", target, errno));
  return {};
}

//! Unmounts `target`; lazily (MNT_DETACH) when it is still busy.
inline result<void> unmount(const std::filesystem::path& target) {
  if (::umount2(target.c_str(), 0) == 0) return {};
  if (errno == EBUSY && ::umount2(target.c_str(), MNT_DETACH) == 0) return {};
  return tl::unexpected(detail::io_error("could not unmount", target, errno));
}

//! True when `a` and `b` (existing paths) live on one filesystem, so `rename` between them works.
inline bool same_filesystem(const std::filesystem::path& a, const std::filesystem::path& b) {
  struct stat sa {}, sb {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev;
}

}  // namespace taskstep::artifact
