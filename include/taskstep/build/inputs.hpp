#pragma once
//! \file
//! Inputs of a one-off build, as `fly execute` treats them:
//! - `check_input_paths`: what fly does when it parses each `-i NAME=PATH` flag, before it reads the
//!   task file: the path is a glob (`filepath.Glob`), which must match exactly one entry
//!   (`path 'x' does not exist`, `path 'x*' resolves to multiple entries: x1, x2`); the pair then
//!   holds the match. So a path that does not exist is reported before an unknown input name.
//! - `check_inputs`: every `-i` name must be a task input (`unknown input \`x\``, checked for all
//!   pairs before any path is looked at), then each path must exist and be a directory; the current
//!   directory provides the input named like it unless `-i` does; a required input nobody provides
//!   is `missing required input \`x\``.
//! - `git_files`: for a git working tree, the files fly uploads (tracked, minus deleted, plus
//!   untracked-but-not-ignored).
//! - `stage_inputs`: git trees are copied (listed files only) into private `mkdtemp` directories
//!   under $TMPDIR; other directories are used in place (the worker gives the task a copy-on-write
//!   view). Staging stops on the build's stop token (`interrupted`) and removes what it made. The
//!   copies go to `parent` ($TMPDIR by default; the run root when runs may be kept, so that a kept
//!   run's inputs stay with it).
//!   Given a progress callable (build/progress.hpp), a git tree is copied in batches of about 4 MiB
//!   and each batch reported; without one it is copied in one call.

#include <glob.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <span>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "taskstep/artifact/staging.hpp"
#include "taskstep/build/detail/capture.hpp"
#include "taskstep/build/paths.hpp"
#include "taskstep/build/progress.hpp"
#include "taskstep/build/request.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/core/task_config.hpp"

namespace taskstep::build {

//! Task input name → the host directory that provides it (absolute).
using input_dirs = std::map<std::string, std::filesystem::path>;

namespace detail {

// True when `pattern` holds a character filepath.Glob treats as special on Unix.
inline bool has_glob_meta(const std::string& pattern) { return pattern.find_first_of("*?[\\") != std::string::npos; }

}  // namespace detail

//! fly's `-i` flag parsing (see the file comment): expands each path in place, in command-line order.
inline result<void> check_input_paths(std::vector<named_path>& inputs) {
  for (auto& i : inputs) {
    const std::string pattern = i.path.string();
    if (!detail::has_glob_meta(pattern)) {
      struct stat st {};
      if (::lstat(pattern.c_str(), &st) != 0) return fail(errc::usage, "path '" + pattern + "' does not exist");
      continue;
    }
    ::glob_t g{};
    const int rc = ::glob(pattern.c_str(), GLOB_PERIOD, nullptr, &g);  // Go's `*` matches dot files too
    std::vector<std::string> matches;
    if (rc == 0)
      for (std::size_t n = 0; n < g.gl_pathc; ++n) matches.emplace_back(g.gl_pathv[n]);
    ::globfree(&g);
    std::erase_if(matches, [](const std::string& m) {  // GLOB_PERIOD also lets `*` match `.` and `..`
      const auto leaf = std::filesystem::path(m).filename();
      return leaf == "." || leaf == "..";
    });
    if (matches.empty()) return fail(errc::usage, "path '" + pattern + "' does not exist");
    if (matches.size() > 1) {
      std::string list;
      for (const auto& m : matches) list += (list.empty() ? "" : ", ") + m;
      return fail(errc::usage, "path '" + pattern + "' resolves to multiple entries: " + list);
    }
    i.path = matches.front();
  }
  return {};
}

//! fly's input checks (see the file comment); returns the directory for each provided input.
inline result<input_dirs> check_inputs(const task_config& config, const one_off_request& request) {
  namespace fs = std::filesystem;
  std::set<std::string> names;
  for (const auto& in : config.inputs) names.insert(in.name);
  for (const auto& i : request.inputs)
    if (!names.count(i.name)) return fail(errc::usage, "unknown input `" + i.name + "`");
  input_dirs provided;
  for (const auto& i : request.inputs) {
    std::error_code ec;
    const auto st = fs::status(i.path, ec);
    if (!fs::exists(st)) return fail(errc::usage, "path '" + i.path.string() + "' does not exist");
    if (!fs::is_directory(st)) return fail(errc::usage, i.path.string() + " not a folder");
    provided[i.name] = fs::absolute(i.path, ec);
  }
  if (!request.cwd.empty()) {
    const std::string here = request.cwd.filename().string();
    if (names.count(here) && !provided.count(here)) provided[here] = request.cwd;
  }
  for (const auto& in : config.inputs)
    if (!provided.count(in.name) && !in.optional) return fail(errc::missing_inputs, "missing required input `" + in.name + "`");
  return provided;
}

//! Whether `git` could see `dir` as part of a repository: false only when no `.git` entry exists in
//! `dir` or any parent and no `GIT_DIR`/`GIT_WORK_TREE` is set, so that a plain directory costs a few
//! `lstat`s instead of a `git ls-files` child (one per input: 1,000 inputs took seconds). When it may
//! be, `git` itself decides.
inline bool may_be_in_git_repository(const std::filesystem::path& dir) {
  if (std::getenv("GIT_DIR") != nullptr || std::getenv("GIT_WORK_TREE") != nullptr) return true;
  std::error_code ec;
  auto at = std::filesystem::absolute(dir, ec);
  if (ec) return true;
  for (;;) {
    if (std::filesystem::symlink_status(at / ".git", ec).type() != std::filesystem::file_type::not_found) return true;
    if (ec && ec != std::errc::no_such_file_or_directory) return true;  // cannot tell: ask git
    if (!at.has_relative_path()) return false;
    at = at.parent_path();
  }
}

//! The files fly would upload from `dir` when it is in a git working tree (paths relative to
//! `dir`); nullopt when it is not, or when `include_ignored` is set (then the whole directory is used).
inline std::optional<std::vector<std::string>> git_files(const std::filesystem::path& dir, bool include_ignored) {
  if (include_ignored || !may_be_in_git_repository(dir)) return std::nullopt;
  auto out = detail::capture({"git", "-C", dir.string(), "ls-files", "-z", "--cached", "--others", "--exclude-standard"});
  if (!out) return std::nullopt;
  std::vector<std::string> files;
  std::size_t start = 0;
  while (start < out->size()) {
    auto end = out->find('\0', start);
    if (end == std::string::npos) end = out->size();
    std::string f = out->substr(start, end - start);
    std::error_code ec;
    if (!f.empty() && std::filesystem::symlink_status(dir / f, ec).type() != std::filesystem::file_type::not_found)
      files.push_back(std::move(f));  // deleted tracked files are listed too
    start = end + 1;
  }
  return files;
}

//! Inputs ready for the step: task input name → directory, and the private copies made for them.
//! Removes those copies when destroyed.
class staged_inputs {
 public:
  staged_inputs() = default;
  staged_inputs(staged_inputs&& o) noexcept : dirs(std::move(o.dirs)), scratch(std::exchange(o.scratch, {})) {}
  staged_inputs& operator=(staged_inputs&&) = delete;
  staged_inputs(const staged_inputs&) = delete;
  ~staged_inputs() {
    for (const auto& d : scratch) (void)artifact::remove_tree(d);
  }

  input_dirs dirs;                                //!< what the step gets, per task input name
  std::vector<std::filesystem::path> scratch;     //!< private copies (git trees), removed at the end
};

//! Stages `inputs` (see the file comment). A failed copy names the file and the errno; a stop
//! request gives `interrupted` (errc::cancelled). Either way nothing staged is left behind.
namespace detail {

// Copies the listed files in batches of about `batch_bytes` (or 1024 files), reporting each batch.
template <class OnProgress>
result<void> copy_listed_reporting(const std::filesystem::path& from, const std::vector<std::string>& files,
                                   const std::filesystem::path& to, const std::string& name, std::stop_token stop,
                                   OnProgress& on) {
  namespace fs = std::filesystem;
  constexpr std::uint64_t batch_bytes = std::uint64_t{4} << 20;
  std::vector<std::uint64_t> sizes;
  sizes.reserve(files.size());
  std::uint64_t total = 0;
  for (const auto& f : files) {
    std::error_code ec;
    const auto st = fs::symlink_status(from / f, ec);
    const std::uint64_t size = !ec && fs::is_regular_file(st) ? fs::file_size(from / f, ec) : 0;
    sizes.push_back(ec ? 0 : size);
    total += sizes.back();
  }
  progress_report r{progress_kind::staging_input, name, 0, total, false};
  on(std::as_const(r));
  std::size_t begin = 0;
  while (begin < files.size()) {
    std::size_t end = begin;
    std::uint64_t bytes = 0;
    while (end < files.size() && (end == begin || (bytes < batch_bytes && end - begin < 1024))) bytes += sizes[end++];
    auto copied = artifact::copy_listed_into(from, std::span<const std::string>(files.data() + begin, end - begin), to, stop);
    if (!copied) {
      r.finished = true;
      on(std::as_const(r));
      return tl::unexpected(copied.error());
    }
    r.done += bytes;
    r.finished = end == files.size();
    on(std::as_const(r));
    begin = end;
  }
  if (files.empty()) {
    r.finished = true;
    on(std::as_const(r));
  }
  return {};
}

}  // namespace detail

template <class OnProgress = no_progress>
result<staged_inputs> stage_inputs(const input_dirs& inputs, bool include_ignored, std::stop_token stop = {},
                                   const std::filesystem::path& parent = temp_root(), OnProgress on = {}) {
  namespace fs = std::filesystem;
  staged_inputs out;
  for (const auto& [name, dir] : inputs) {
    if (stop.stop_requested()) return fail(errc::cancelled, "interrupted");
    auto files = git_files(dir, include_ignored);
    if (!files) {
      out.dirs[name] = dir;
      continue;
    }
    auto scratch = make_private_dir(parent, "taskstep-input-");
    if (!scratch) return tl::unexpected(scratch.error());
    out.scratch.push_back(*scratch);
    // The private parent keeps others out; the tree itself gets the source's mode, as a copy would.
    const fs::path tree = *scratch / "tree";
    std::error_code ec;
    fs::create_directory(tree, ec);
    if (ec) return fail(errc::io, "could not create " + tree.string() + ": " + ec.message());
    fs::permissions(tree, fs::status(dir, ec).permissions(), ec);
    result<void> copied;  // (no lambda: clang 14 cannot capture the structured bindings)
    if constexpr (std::is_same_v<OnProgress, no_progress>) {
      if (auto c = artifact::copy_listed_into(dir, *files, tree, stop); !c) copied = tl::unexpected(c.error());
    } else {
      copied = detail::copy_listed_reporting(dir, *files, tree, name, stop, on);
    }
    if (!copied) {
      if (copied.error().code() == errc::cancelled) return tl::unexpected(copied.error());
      return tl::unexpected(copied.error().prefixed("staging input `" + name + "` failed: "));
    }
    out.dirs[name] = tree;
  }
  return out;
}

}  // namespace taskstep::build
