#pragma once
// TEMPORARY: replaced by artifact::copy_tree_into at integration.
//
// Thin stand-ins for `artifact::copy_tree_into` and `artifact::copy_listed_into`, which another
// branch adds to taskstep/artifact/staging.hpp with exactly these signatures. The build layer calls
// them unqualified-through-`artifact::` so deleting this header (and its include) is the whole merge.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <span>
#include <stop_token>
#include <string>
#include <system_error>

#include "taskstep/artifact/staging.hpp"

namespace taskstep::artifact {

// TEMPORARY: replaced by artifact::copy_tree_into at integration.
//! Copies the tree `from` into `to` (merging into an existing directory), never following links.
inline result<copy_stats> copy_tree_into(const std::filesystem::path& from, const std::filesystem::path& to,
                                         std::stop_token stop = {}) {
  if (stop.stop_requested()) return fail(errc::cancelled, "interrupted");
  return copy_tree(from, to);
}

// TEMPORARY: replaced by artifact::copy_listed_into at integration.
//! Copies `files` (paths relative to `from`) into `to`, keeping symlinks as links; the first
//! failure names the file and the errno.
inline result<copy_stats> copy_listed_into(const std::filesystem::path& from, std::span<const std::string> files,
                                           const std::filesystem::path& to, std::stop_token stop = {}) {
  namespace fs = std::filesystem;
  copy_stats stats;
  for (const auto& f : files) {
    if (stop.stop_requested()) return fail(errc::cancelled, "interrupted");
    const fs::path src = from / f;
    const fs::path dst = to / f;
    std::error_code ec;
    fs::create_directories(dst.parent_path(), ec);
    if (ec) return fail(errc::io, "could not create " + dst.parent_path().string() + ": " + ec.message());
    const auto st = fs::symlink_status(src, ec);
    if (ec) return fail(errc::io, "could not stat " + src.string() + ": " + ec.message());
    if (fs::is_symlink(st)) {
      fs::copy_symlink(src, dst, ec);
      ++stats.symlinks;
    } else if (fs::is_directory(st)) {
      fs::create_directories(dst, ec);  // submodule roots
      ++stats.directories;
    } else {
      // Not fs::copy_file: libstdc++ reports a full disk as EIO.
      artifact::detail::unique_fd in(::open(src.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
      if (!in.valid()) return tl::unexpected(artifact::detail::io_error("could not open", src, errno));
      struct stat st {};
      if (::fstat(in.get(), &st) != 0) return tl::unexpected(artifact::detail::io_error("could not stat", src, errno));
      if (!S_ISREG(st.st_mode)) continue;  // a FIFO or socket: nothing to copy
      (void)::unlink(dst.c_str());
      artifact::detail::unique_fd out(::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!out.valid()) return tl::unexpected(artifact::detail::io_error("could not create", dst, errno));
      if (!artifact::detail::copy_bytes(in.get(), out.get(), stats.bytes))
        return tl::unexpected(artifact::detail::io_error("could not copy " + src.string() + " to", dst, errno));
      (void)::fchmod(out.get(), st.st_mode & 07777);
      ++stats.files;
    }
    if (ec) return fail(errc::io, "could not copy " + src.string() + " to " + dst.string() + ": " + ec.message());
  }
  return stats;
}

}  // namespace taskstep::artifact
