#pragma once
//! \file
//! Outputs of a one-off build: `check_outputs` refuses an `-o` name the task does not declare and two
//! outputs whose `-o` directories are one directory or nested (one output's copy would land in the
//! other's, and a link the task left in one would be followed by the other); `copy_outputs` copies
//! each output into its directory without ever following a symlink, and on failure names the output,
//! the target and the errno and keeps the output where it is.

#include <cstdint>
#include <filesystem>
#include <iterator>
#include <map>
#include <set>
#include <stop_token>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "taskstep/artifact/staging.hpp"
#include "taskstep/build/progress.hpp"
#include "taskstep/build/request.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/core/task_config.hpp"

namespace taskstep::build {

//! Task output name → the host directory it is copied into (absolute).
using output_targets = std::map<std::string, std::filesystem::path>;

namespace detail {

// The directory a target names, for comparisons: absolute, `.`/`..` and existing links resolved.
inline std::filesystem::path comparable(const std::filesystem::path& p) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(p, ec);
  auto canon = std::filesystem::weakly_canonical(abs, ec);
  auto out = (ec ? abs : canon).lexically_normal();
  if (out.has_relative_path() && !out.has_filename()) out = out.parent_path();  // `dir/` is `dir`
  return out;
}

// True when `inner` is `outer` or lies below it (both normalised).
inline bool within(const std::filesystem::path& inner, const std::filesystem::path& outer) {
  auto o = outer.begin(), i = inner.begin();
  for (; o != outer.end(); ++o, ++i) {
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
}

}  // namespace detail

//! Checks `-o` pairs against the task's outputs and each other (see the file comment).
inline result<output_targets> check_outputs(const task_config& config, const one_off_request& request) {
  std::set<std::string> names;
  for (const auto& o : config.outputs) names.insert(o.name);
  output_targets targets;
  for (const auto& o : request.outputs) {
    if (!names.count(o.name)) return fail(errc::usage, "unknown output '" + o.name + "'");
    targets[o.name] = detail::comparable(o.path);
  }
  for (auto a = targets.begin(); a != targets.end(); ++a) {
    for (auto b = std::next(a); b != targets.end(); ++b) {
      if (a->second == b->second)
        return fail(errc::usage, "outputs `" + a->first + "` and `" + b->first + "` are both copied into " +
                                     a->second.string() + ": give each output its own -o directory");
      const bool b_in_a = detail::within(b->second, a->second);
      if (b_in_a || detail::within(a->second, b->second)) {
        const auto& [in_name, in_dir] = b_in_a ? *b : *a;
        const auto& [out_name, out_dir] = b_in_a ? *a : *b;
        return fail(errc::usage, "output `" + in_name + "` would be copied into " + in_dir.string() + ", inside " +
                                     out_dir.string() + " where output `" + out_name +
                                     "` goes: give each output its own -o directory, not nested");
      }
    }
  }
  return targets;
}

//! One output that could not be copied out; its files are still in `kept`.
struct output_failure {
  std::string name;
  std::filesystem::path target;
  std::filesystem::path kept;
  std::string message;  //!< names the output, the target, the errno and where the files are kept
};

namespace detail {
// The bytes of the regular files under `dir`, never following a link.
inline std::uint64_t tree_bytes(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code e;
    if (!it->is_symlink(e) && it->is_regular_file(e)) {
      const auto size = it->file_size(e);
      if (!e) total += size;
    }
  }
  return total;
}
}  // namespace detail

//! Copies each output the run registered (`find(name)` on `artifacts`) into its target, never
//! following a link on either side. Outputs the run did not produce are skipped. Returns the
//! failures (empty: all copied); a failed output stays where the run left it. Given a progress
//! callable (build/progress.hpp), each output is reported before its copy (0 of its size) and after.
template <class Artifacts, class OnProgress = no_progress>
std::vector<output_failure> copy_outputs(const output_targets& targets, const Artifacts& artifacts, OnProgress on = {}) {
  std::vector<output_failure> failures;
  for (const auto& [name, target] : targets) {
    const std::filesystem::path* dir = artifacts.find(name);
    if (dir == nullptr) continue;
    progress_report r{progress_kind::copying_output, name, 0, 0, false};
    if constexpr (!std::is_same_v<OnProgress, no_progress>) {
      r.total = detail::tree_bytes(*dir);
      on(std::as_const(r));
    }
    auto copied = artifact::copy_tree_into(*dir, target);
    if constexpr (!std::is_same_v<OnProgress, no_progress>) {
      r.done = copied ? r.total : 0;
      r.finished = true;
      on(std::as_const(r));
    }
    if (copied) continue;
    failures.push_back({name, target, *dir,
                        "downloading output `" + name + "` to " + target.string() + " failed: " +
                            copied.error().message() + "; the output is kept in " + dir->string()});
  }
  return failures;
}

}  // namespace taskstep::build
