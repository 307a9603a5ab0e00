#pragma once
// TEMPORARY: replaced by artifact::copy_tree_into at integration.
//
// Thin stand-ins for `artifact::copy_tree_into` and `artifact::copy_listed_into`, which another
// branch adds to taskstep/artifact/staging.hpp with exactly these signatures. The build layer calls
// them unqualified-through-`artifact::` so deleting this header (and its include) is the whole merge.

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
      fs::copy_file(src, dst, fs::copy_options::overwrite_existing, ec);
      ++stats.files;
    }
    if (ec) return fail(errc::io, "could not copy " + src.string() + " to " + dst.string() + ": " + ec.message());
  }
  return stats;
}

}  // namespace taskstep::artifact
