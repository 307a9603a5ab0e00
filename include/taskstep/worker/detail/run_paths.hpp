#pragma once
// What every worker that stages a working directory shares: paths resolved inside it (escapes
// refused), the default roots, ownership hand-over, committing a run's caches and releasing its
// run directory. Used by local_process, oci_runc (through oci/container.hpp) and slurm.

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "taskstep/artifact/cache_store.hpp"
#include "taskstep/artifact/staging.hpp"
#include "taskstep/core/container_spec.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/core/working_dir.hpp"

namespace taskstep::worker::detail {

// `p` resolved inside the working directory (relative, cleaned, "." for the directory itself), or
// nullopt when it climbs out. An absolute path counts as relative, as in Concourse's path.Join.
inline std::optional<std::string> inside_working_dir(std::string_view p) {
  while (!p.empty() && p.front() == '/') p.remove_prefix(1);
  std::string c = clean_path(p);
  if (c == ".." || c.rfind("../", 0) == 0) return std::nullopt;
  return c;
}

// True when `a` is `b` or below it (both as returned by inside_working_dir).
inline bool at_or_below(const std::string& a, const std::string& b) {
  return b == "." || a == b || (a.size() > b.size() && a.compare(0, b.size(), b) == 0 && a[b.size()] == '/');
}

inline std::size_t depth(const std::string& rel) {
  return rel == "." ? 0 : static_cast<std::size_t>(std::count(rel.begin(), rel.end(), '/')) + 1;
}

inline std::filesystem::path under(const std::filesystem::path& dir, const std::string& rel) {
  return rel == "." ? dir : dir / rel;
}

// `$TMPDIR/taskstep/<leaf>` (or /tmp/taskstep/<leaf>).
inline std::filesystem::path default_root(const char* leaf) {
  std::error_code ec;
  auto tmp = std::filesystem::temp_directory_path(ec);
  if (ec) tmp = "/tmp";
  return tmp / "taskstep" / leaf;
}

inline void chown_tree(const std::filesystem::path& dir, uid_t uid, gid_t gid) {
  (void)::lchown(dir.c_str(), uid, gid);
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    (void)::lchown(it->path().c_str(), uid, gid);
}

// Promotes the caches of a finished job build (Concourse: after any exit status, only when the
// build has a job; never for a stopped run or a one-off build). A cache directory is moved into
// the store when no output or other cache shares it, and copied otherwise.
inline result<void> commit_run_caches(artifact::cache_store& store, const container_spec& container, const run_result& ran) {
  if (ran.stopped || container.job.empty()) return {};
  for (const auto& c : container.caches) {
    const auto rel = inside_working_dir(c.path);
    const auto it = ran.caches.find(clean_path(c.path));
    if (!rel || it == ran.caches.end()) continue;
    auto overlaps = [&](const std::string& path) {
      const auto other = inside_working_dir(path);
      return other && (at_or_below(*other, *rel) || at_or_below(*rel, *other));
    };
    bool shared = false;
    for (const auto& o : container.outputs) shared = shared || overlaps(o.path.empty() ? o.name : o.path);
    for (const auto& other : container.caches) shared = shared || (&other != &c && overlaps(other.path));
    auto committed = store.commit({container.team, container.job, container.step_name, *rel}, it->second,
                                  shared ? artifact::commit_mode::copy : artifact::commit_mode::move);
    if (!committed) return fail(committed.error().prefixed("cache '" + *rel + "': "));
  }
  return {};
}

// Removes the `run-*` directories under `root` that hold `ran`'s outputs and caches.
inline void release_run_dirs(const std::filesystem::path& root, const run_result& ran) {
  namespace fs = std::filesystem;
  const fs::path base = fs::absolute(root);
  std::vector<fs::path> dirs;
  auto note = [&](const fs::path& p) {
    const auto rel = fs::absolute(p).lexically_relative(base);
    if (rel.empty() || *rel.begin() == "..") return;
    const fs::path first = *rel.begin();
    if (first.string().rfind("run-", 0) != 0) return;
    if (std::find(dirs.begin(), dirs.end(), base / first) == dirs.end()) dirs.push_back(base / first);
  };
  for (const auto& [_, p] : ran.outputs) note(p);
  for (const auto& [_, p] : ran.caches) note(p);
  for (const auto& d : dirs) (void)artifact::remove_tree(d);
}

}  // namespace taskstep::worker::detail
