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

// One staged path: an input, an output or a cache, with its place inside the working directory.
struct staged {
  enum kind_t { input, output, cache } kind;
  std::size_t index;  // into container_spec::inputs / outputs / caches
  std::string rel;    // as inside_working_dir returns it
};

// Where everything of a run goes inside the working directory, parents first, and `run.dir`.
struct staging_plan {
  std::vector<staged> paths;
  std::string dir;
};

// Checks every input, output and cache path and `run.dir` (each must stay inside the working
// directory; an input's source must exist) and orders them parents first. The messages name the
// field and the value, e.g. `output 'out' path '../x' resolves outside the working directory`.
inline result<staging_plan> plan_staging(const container_spec& spec, const process_spec& process) {
  auto refuse = [](const std::string& what, const std::string& value) {
    return fail(errc::worker, what + " '" + value + "' resolves outside the working directory");
  };
  staging_plan plan;
  for (std::size_t i = 0; i < spec.inputs.size(); ++i) {
    const auto& in = spec.inputs[i];
    const std::string& p = in.path.empty() ? in.name : in.path;
    auto rel = inside_working_dir(p);
    if (!rel) return refuse("input '" + in.name + "' path", p);
    std::error_code ec;
    if (!std::filesystem::is_directory(in.source, ec))
      return fail(errc::worker, "input '" + in.name + "': artifact '" + in.artifact + "' directory " +
                                    in.source.string() + " does not exist");
    plan.paths.push_back({staged::input, i, *rel});
  }
  for (std::size_t i = 0; i < spec.outputs.size(); ++i) {
    const auto& out = spec.outputs[i];
    const std::string& p = out.path.empty() ? out.name : out.path;
    auto rel = inside_working_dir(p);
    if (!rel) return refuse("output '" + out.name + "' path", p);
    plan.paths.push_back({staged::output, i, *rel});
  }
  for (std::size_t i = 0; i < spec.caches.size(); ++i) {
    auto rel = inside_working_dir(spec.caches[i].path);
    if (!rel) return refuse("cache path", spec.caches[i].path);
    plan.paths.push_back({staged::cache, i, *rel});
  }
  auto dir = inside_working_dir(process.dir);
  if (!dir) return refuse("run.dir", process.dir);
  plan.dir = *dir;
  std::stable_sort(plan.paths.begin(), plan.paths.end(),
                   [](const staged& a, const staged& b) { return depth(a.rel) < depth(b.rel); });
  return plan;
}

// True when an output or cache lies at or below `input`: the input must then be a plain copy,
// because those directories must outlive the run.
inline bool holds_plain_dirs(const staging_plan& plan, const staged& input) {
  return std::any_of(plan.paths.begin(), plan.paths.end(),
                     [&](const staged& o) { return o.kind != staged::input && at_or_below(o.rel, input.rel); });
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
