#pragma once
// What every worker that stages a working directory shares: paths resolved inside it (escapes
// refused), the default roots, ownership hand-over, committing a run's caches and releasing its
// run directory. Used by local_process, oci_runc (through oci/container.hpp) and slurm.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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
#include "taskstep/worker/reaper.hpp"

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

// Creates a default root (`$TMPDIR/taskstep` and `<leaf>` below it) for this user: each level is
// made 0711 (others may traverse, never list: a run.user or a user-namespaced container root must
// reach its own run directory, which mkdtemp makes 0700 unless it is handed over) and must be a
// real directory owned by this uid and not writable by group or others; otherwise the run is
// refused, so nobody can pre-create /tmp/taskstep (or link it elsewhere) to receive the runs.
inline result<void> prepare_default_root(const std::filesystem::path& root) {
  for (const auto& dir : {root.parent_path(), root}) {
    if (::mkdir(dir.c_str(), 0711) == 0) (void)::chmod(dir.c_str(), 0711);  // whatever the umask
    else if (errno != EEXIST) return fail(errc::worker, "could not create " + dir.string() + ": " + std::strerror(errno));
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) return fail(errc::worker, "could not stat " + dir.string() + ": " + std::strerror(errno));
    std::string why;
    if (S_ISLNK(st.st_mode)) why = "is a symbolic link";
    else if (!S_ISDIR(st.st_mode)) why = "is not a directory";
    else if (st.st_uid != ::geteuid()) why = "is owned by uid " + std::to_string(st.st_uid) + ", not " + std::to_string(::geteuid());
    else if ((st.st_mode & 022) != 0) why = "is writable by group or others";
    if (!why.empty())
      return fail(errc::worker, "refusing to use " + dir.string() + " for taskstep's runs: it " + why +
                                    " (set TMPDIR to a private directory, or choose the work and cache roots)");
  }
  return {};
}

// Opens the directory `rel` (from inside_working_dir) inside `work`, one openat(O_NOFOLLOW) per
// component, creating missing ones when `create`. A component that is a symbolic link (an input
// may contain one) or not a directory is refused, naming `what` (e.g. `output 'out' path`), the
// value and the component: nothing is ever created, chowned or staged through a link.
inline result<artifact::detail::unique_fd> open_inside(const std::filesystem::path& work, const std::string& rel,
                                                       bool create, const std::string& what) {
  using artifact::detail::unique_fd;
  unique_fd fd(::open(work.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return fail(errc::worker, "could not open " + work.string() + ": " + std::strerror(errno));
  if (rel == ".") return fd;
  std::string done;
  std::size_t start = 0;
  while (start < rel.size()) {
    const auto end = std::min(rel.find('/', start), rel.size());
    const std::string part = rel.substr(start, end - start);
    start = end + 1;
    done += (done.empty() ? "" : "/") + part;
    if (create && ::mkdirat(fd.get(), part.c_str(), 0755) != 0 && errno != EEXIST)
      return fail(errc::worker, what + " '" + rel + "': could not create " + (work / done).string() + ": " + std::strerror(errno));
    unique_fd next(::openat(fd.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) {
      const int err = errno;
      struct stat st {};
      if (::fstatat(fd.get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
        return fail(errc::worker, what + " '" + rel + "': " + done +
                                      " is a symbolic link inside the working directory (taskstep does not follow links "
                                      "there: an input may not redirect outputs, caches or run.dir)");
      return fail(errc::worker, what + " '" + rel + "': could not open " + (work / done).string() + ": " + std::strerror(err));
    }
    fd = std::move(next);
  }
  return fd;
}

// Hands the directory open at `fd` and everything below it to uid/gid, never following a link
// (fchownat AT_SYMLINK_NOFOLLOW, each level opened O_NOFOLLOW). `where` names it in errors.
inline result<void> chown_tree_at(int fd, const std::filesystem::path& where, uid_t uid, gid_t gid) {
  if (::fchown(fd, uid, gid) != 0) return fail(errc::worker, "could not chown " + where.string() + ": " + std::strerror(errno));
  const int iter = ::dup(fd);
  DIR* dir = iter < 0 ? nullptr : ::fdopendir(iter);
  if (dir == nullptr) {
    const int err = errno;
    if (iter >= 0) ::close(iter);
    return fail(errc::worker, "could not read " + where.string() + ": " + std::strerror(err));
  }
  ::rewinddir(dir);
  result<void> out{};
  while (out) {
    errno = 0;
    const dirent* e = ::readdir(dir);
    if (e == nullptr) break;
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    const auto path = where / e->d_name;
    struct stat st {};
    if (::fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone meanwhile
    if (S_ISDIR(st.st_mode)) {
      artifact::detail::unique_fd sub(::openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub.valid()) out = chown_tree_at(sub.get(), path, uid, gid);
    } else if (::fchownat(fd, e->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0 && errno != ENOENT) {
      out = fail(errc::worker, "could not chown " + path.string() + ": " + std::strerror(errno));
    }
  }
  ::closedir(dir);
  return out;
}

// chown_tree_at for the directory `dir` itself (opened O_NOFOLLOW: a link there is refused).
inline result<void> chown_tree(const std::filesystem::path& dir, uid_t uid, gid_t gid) {
  artifact::detail::unique_fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return fail(errc::worker, "could not open " + dir.string() + ": " + std::strerror(errno));
  return chown_tree_at(fd.get(), dir, uid, gid);
}

// Promotes the caches of a finished job build (Concourse: after any exit status, only when the
// build has a job; never for a stopped run or a one-off build). A cache directory is moved into
// the store when no output or other cache shares it, and copied otherwise. A cache the task turned
// into a link (or that lies under one) is not committed: the first such error is returned after
// the other caches are committed.
inline result<void> commit_run_caches(artifact::cache_store& store, const container_spec& container, const run_result& ran) {
  if (ran.stopped || container.job.empty()) return {};
  std::optional<result<void>> first_error;  // the others are still committed
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
    // The cache's host directory is `<work>/<rel>`: every component below the working directory
    // must still be a real directory (the task may have replaced one by a link).
    std::filesystem::path work = it->second;
    for (std::size_t i = 0; i < depth(*rel); ++i) work = work.parent_path();
    if (auto checked = open_inside(work, *rel, false, "cache path"); !checked) {
      if (!first_error) first_error = fail(checked.error().prefixed("cache not committed: "));
      continue;
    }
    auto committed = store.commit({container.team, container.job, container.step_name, *rel}, it->second,
                                  shared ? artifact::commit_mode::copy : artifact::commit_mode::move);
    if (!committed && !first_error) first_error = fail(committed.error().prefixed("cache '" + *rel + "': "));
  }
  if (first_error) return *first_error;
  return {};
}

// Removes the `run-*` directories under `root` that hold `ran`'s outputs and caches (not a run kept
// for intercept: kept_run.hpp).
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
  for (const auto& d : dirs)
    if (!is_kept_run(d)) (void)artifact::remove_tree(d);
}

}  // namespace taskstep::worker::detail
