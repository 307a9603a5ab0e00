#pragma once
//! \file
//! `apply_layer`: unpacks one image layer (a tar, uncompressed or compressed with anything libarchive
//! reads: gzip, zstd, ...) onto a root filesystem, as containerd's applier does: entries in order,
//! OCI whiteouts (`.wh.<name>` deletes `<name>` of lower layers, `.wh..wh..opq` hides everything lower
//! layers put in its directory), nothing written outside the root (libarchive's SECURE flags, our own
//! checks on names and hard-link targets, and whiteouts removed through `openat` without following
//! symlinks), owners and xattrs kept when running as root, device nodes skipped where not permitted.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_set>
#include <vector>

#include <archive.h>
#include <archive_entry.h>
#include <fmt/core.h>

#include "taskstep/core/result.hpp"

namespace taskstep::image {

//! What applying a layer did besides writing its files.
struct layer_stats {
  std::size_t entries = 0;           //!< files, directories and links written
  std::size_t whiteouts = 0;         //!< `.wh.` entries applied
  std::size_t skipped_devices = 0;   //!< device nodes not created (not root, or mknod not permitted)
};

namespace detail {

class unique_fd {
 public:
  explicit unique_fd(int fd = -1) noexcept : fd_(fd) {}
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  unique_fd(unique_fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  unique_fd& operator=(unique_fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  ~unique_fd() { reset(); }
  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// A layer path as components: leading "/" and "./" dropped, "." skipped; nullopt when a ".." appears.
inline std::optional<std::vector<std::string>> path_components(std::string_view p) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i <= p.size()) {
    const auto slash = p.find('/', i);
    const auto part = p.substr(i, slash == std::string_view::npos ? std::string_view::npos : slash - i);
    if (part == "..") return std::nullopt;
    if (!part.empty() && part != ".") out.emplace_back(part);
    if (slash == std::string_view::npos) break;
    i = slash + 1;
  }
  return out;
}

inline std::string join_components(const std::vector<std::string>& c, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count && i < c.size(); ++i) {
    if (i > 0) out += '/';
    out += c[i];
  }
  return out;
}

// Opens the directory `c[0..count)` under `root`, never following a symlink; invalid when any component
// is missing, a symlink or not a directory.
inline unique_fd open_beneath(int root, const std::vector<std::string>& c, std::size_t count) {
  unique_fd cur(::fcntl(root, F_DUPFD_CLOEXEC, 0));
  for (std::size_t i = 0; i < count && cur.valid(); ++i)
    cur = unique_fd(::openat(cur.get(), c[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  return cur;
}

// Removes `name` in `dir` and, for a directory, everything below it, without following symlinks.
inline bool remove_tree_at(int dir, const char* name) {
  struct stat st {};
  if (::fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT;
  if (!S_ISDIR(st.st_mode)) return ::unlinkat(dir, name, 0) == 0 || errno == ENOENT;
  (void)::fchmodat(dir, name, 0700, 0);  // a read-only directory must still be emptied
  const int fd = ::openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return false;
  }
  bool ok = true;
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d))
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.emplace_back(e->d_name);
  for (const auto& n : names) ok = remove_tree_at(::dirfd(d), n.c_str()) && ok;
  ::closedir(d);
  return ::unlinkat(dir, name, AT_REMOVEDIR) == 0 && ok;
}

// The opaque whiteout: under directory `dir` (at `rel`), removes what this layer did not write.
inline bool clear_opaque(int dir, const std::string& rel, const std::unordered_set<std::string>& written) {
  const int fd = ::fcntl(dir, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return false;
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return false;
  }
  std::vector<std::pair<std::string, bool>> children;
  while (const dirent* e = ::readdir(d))
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
      children.emplace_back(e->d_name, e->d_type == DT_DIR);
  ::closedir(d);
  bool ok = true;
  for (const auto& [name, is_dir] : children) {
    const std::string child = rel.empty() ? name : fmt::format("{}/{}", rel, name);
    if (!written.contains(child)) {
      ok = remove_tree_at(dir, name.c_str()) && ok;
    } else if (is_dir) {
      unique_fd sub(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub.valid()) ok = clear_opaque(sub.get(), child, written) && ok;
    }
  }
  return ok;
}

inline std::string archive_message(archive* a) {
  const char* m = archive_error_string(a);
  return m != nullptr ? m : "unknown libarchive error";
}

struct archive_read_deleter {
  void operator()(archive* a) const noexcept { archive_read_free(a); }
};
struct archive_write_deleter {
  void operator()(archive* a) const noexcept { archive_write_free(a); }
};

}  // namespace detail

//! Applies the layer in `layer_file` onto `rootfs` (which must exist). `what` names the layer in errors.
inline result<layer_stats> apply_layer(const std::filesystem::path& layer_file, const std::filesystem::path& rootfs,
                                       std::string_view what) {
  namespace fs = std::filesystem;
  auto failure = [&](const std::string& why) { return fail(errc::worker, fmt::format("cannot unpack {}: {}", what, why)); };
  std::error_code ec;
  const fs::path root = fs::canonical(rootfs, ec);  // no symlink may sit in the prefix libarchive checks
  if (ec) return failure(fmt::format("the root filesystem {} is not there: {}", rootfs.string(), ec.message()));
  detail::unique_fd root_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) return failure(fmt::format("cannot open {}: {}", root.string(), std::strerror(errno)));

  std::unique_ptr<archive, detail::archive_read_deleter> in(archive_read_new());
  std::unique_ptr<archive, detail::archive_write_deleter> out(archive_write_disk_new());
  if (!in || !out) return failure("out of memory");
  archive_read_support_filter_all(in.get());
  archive_read_support_format_tar(in.get());
  archive_read_support_format_empty(in.get());
  const bool as_root = ::geteuid() == 0;
  int flags = ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_UNLINK |
              ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM;
  if (as_root) flags |= ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_XATTR;
  archive_write_disk_set_options(out.get(), flags);  // no standard lookup: ids stay numeric, as in the image
  if (archive_read_open_filename(in.get(), layer_file.c_str(), 1 << 16) != ARCHIVE_OK)
    return failure(fmt::format("cannot read {}: {}", layer_file.string(), detail::archive_message(in.get())));

  layer_stats stats;
  std::unordered_set<std::string> written;  // paths this layer wrote, with their parents (for opaque dirs)
  archive_entry* entry = nullptr;
  int r = ARCHIVE_OK;
  while ((r = archive_read_next_header(in.get(), &entry)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
    const char* raw = archive_entry_pathname(entry);
    auto comps = detail::path_components(raw ? raw : "");
    if (!comps) return failure(fmt::format("the entry '{}' would escape the root filesystem", raw));
    if (comps->empty()) continue;  // the root directory itself
    const std::string& base = comps->back();
    const std::string rel = detail::join_components(*comps, comps->size());

    if (base.rfind(".wh.", 0) == 0) {
      ++stats.whiteouts;
      detail::unique_fd parent = detail::open_beneath(root_fd.get(), *comps, comps->size() - 1);
      if (!parent.valid()) continue;  // nothing below to hide (or the way there is a symlink: not followed)
      bool ok = true;
      if (base == ".wh..wh..opq")
        ok = detail::clear_opaque(parent.get(), detail::join_components(*comps, comps->size() - 1), written);
      else if (base.rfind(".wh..wh.", 0) != 0)  // other .wh..wh. names are aufs bookkeeping
        // A whiteout hides lower layers only: what this layer already wrote stays.
        if (const std::string target = base.substr(4);
            !target.empty() && target != "." && target != ".." &&
            !written.contains(detail::join_components(*comps, comps->size() - 1) + (comps->size() > 1 ? "/" : "") + target))
          ok = detail::remove_tree_at(parent.get(), target.c_str());
      if (!ok) return failure(fmt::format("cannot apply the whiteout '{}': {}", rel, std::strerror(errno)));
      continue;
    }

    const auto type = archive_entry_filetype(entry);
    if ((type == AE_IFCHR || type == AE_IFBLK) && !as_root) {
      ++stats.skipped_devices;
      continue;
    }
    for (std::size_t i = 1; i <= comps->size(); ++i) written.insert(detail::join_components(*comps, i));

    // A directory in the way of a non-directory is removed whole, as a layer replacing it means.
    if (type != AE_IFDIR) {
      detail::unique_fd parent = detail::open_beneath(root_fd.get(), *comps, comps->size() - 1);
      struct stat st {};
      if (parent.valid() && ::fstatat(parent.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
        if (!detail::remove_tree_at(parent.get(), base.c_str()))
          return failure(fmt::format("cannot replace the directory '{}': {}", rel, std::strerror(errno)));
    }
    if (const char* link = archive_entry_hardlink(entry)) {
      auto target = detail::path_components(link);
      if (!target || target->empty())
        return failure(fmt::format("the hard link '{}' points outside the root filesystem ('{}')", rel, link));
      if (!detail::open_beneath(root_fd.get(), *target, target->size() - 1).valid())
        return failure(fmt::format("the hard link '{}' points to '{}', which is not below a plain directory", rel, link));
      archive_entry_set_hardlink(entry, (root / detail::join_components(*target, target->size())).c_str());
    }
    archive_entry_set_pathname(entry, (root / rel).c_str());

    r = archive_write_header(out.get(), entry);
    if (r < ARCHIVE_WARN) {
      if (type == AE_IFCHR || type == AE_IFBLK) {  // mknod not permitted here (e.g. a user namespace)
        ++stats.skipped_devices;
        continue;
      }
      return failure(fmt::format("cannot write '{}': {}", rel, detail::archive_message(out.get())));
    }
    if (archive_entry_size(entry) > 0) {
      const void* buf = nullptr;
      std::size_t size = 0;
      la_int64_t offset = 0;
      int rr = ARCHIVE_OK;
      while ((rr = archive_read_data_block(in.get(), &buf, &size, &offset)) == ARCHIVE_OK)
        if (archive_write_data_block(out.get(), buf, size, offset) < ARCHIVE_OK)
          return failure(fmt::format("cannot write '{}': {}", rel, detail::archive_message(out.get())));
      if (rr != ARCHIVE_EOF) return failure(fmt::format("cannot read '{}' from the layer: {}", rel, detail::archive_message(in.get())));
    }
    if (archive_write_finish_entry(out.get()) < ARCHIVE_WARN)
      return failure(fmt::format("cannot finish '{}': {}", rel, detail::archive_message(out.get())));
    ++stats.entries;
  }
  if (r != ARCHIVE_EOF) return failure(fmt::format("the layer is not a readable tar: {}", detail::archive_message(in.get())));
  if (archive_write_close(out.get()) < ARCHIVE_WARN)
    return failure(fmt::format("cannot set directory permissions: {}", detail::archive_message(out.get())));
  return stats;
}

}  // namespace taskstep::image
