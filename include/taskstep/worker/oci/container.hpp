#pragma once
//! \file
//! Turns a `container_spec` + `process_spec` into an OCI bundle on disk: the run directory, the
//! image's root filesystem as a copy-on-write overlay, the task's working directory with its inputs,
//! outputs and caches, and `config.json`. Shared by the runc worker and the Slurm worker
//! (`srun --container=BUNDLE`).
//!
//! Layout of one run (`<work_root>/run-XXXXXX/`):
//! - `bundle/config.json`, `bundle/rootfs` — the image's rootfs mounted as overlayfs (lower = the
//!   image, upper = `rootfs-upper/`), so the task may write anywhere and the image stays unchanged;
//! - `work/` — the working directory, bind-mounted at `/tmp/build/<8 hex>` (Concourse's path);
//!   outputs and caches are plain directories inside it, so they are on the host when the run ends;
//! - `layers/<i>/{upper,work}` — the writable layers of the inputs: each input is an overlayfs
//!   mount **inside the container** (O(1), torn down with the container's mount namespace; the
//!   source directory never changes). An input with an output or cache at or below its path is
//!   copied instead, because those must be plain directories that outlive the run; so is an input
//!   whose path overlayfs cannot take (`,` `:` `\`).
//!
//! Where overlayfs is missing (not in /proc/filesystems) or the rootfs mount fails (e.g. an upper
//! directory on a filesystem overlayfs refuses), the rootfs and the inputs are copied instead: the
//! same isolation, at the cost of a copy per run. `prepare_options::copy_rootfs` asks for that.
//!
//! Paths are checked as the local worker checks them: an input, output, cache or `run.dir` that
//! climbs out of the working directory is refused.

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "taskstep/artifact/cache_store.hpp"
#include "taskstep/artifact/staging.hpp"
#include "taskstep/core/container_spec.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/core/working_dir.hpp"
#include "taskstep/worker/detail/run_paths.hpp"
#include "taskstep/worker/kept_run.hpp"
#include "taskstep/worker/oci/bundle.hpp"

namespace taskstep::worker::oci {

//! A resolved image: its root filesystem. Its metadata is already in the container spec
//! (`apply_image_metadata`).
struct image_root {
  std::filesystem::path rootfs;
};

//! A prepared run. Owns the run directory: the destructor unmounts the rootfs and removes the
//! directory unless `keep` is set (outputs or caches to hand back).
struct prepared_container {
  std::filesystem::path root;    //!< `<work_root>/run-XXXXXX`
  std::filesystem::path bundle;  //!< `root/bundle` (holds config.json and rootfs)
  std::filesystem::path work;    //!< the working directory on the host
  bundle_spec spec;              //!< what config.json says (callers may adjust, then write_config)
  std::map<std::string, std::filesystem::path> outputs;  //!< output path (cleaned) → host dir
  std::map<std::string, std::filesystem::path> caches;   //!< cache path (cleaned) → host dir
  std::vector<std::filesystem::path> host_mounts;  //!< input overlays mounted on the host (user namespace)
  bool rootfs_mounted = false;
  bool keep = false;
  //! The host-side overlays (the rootfs, user-namespaced inputs) as a kept run records them.
  std::vector<worker::kept_mount> overlays;
  //! Kept for intercept (worker/kept_run.hpp): `finish` unmounts but removes nothing.
  bool kept = false;

  prepared_container() = default;
  prepared_container(const prepared_container&) = delete;
  prepared_container& operator=(const prepared_container&) = delete;
  prepared_container(prepared_container&& o) noexcept { *this = std::move(o); }
  prepared_container& operator=(prepared_container&& o) noexcept {
    if (this != &o) {
      cleanup();
      root = std::exchange(o.root, {});
      bundle = std::move(o.bundle);
      work = std::move(o.work);
      spec = std::move(o.spec);
      outputs = std::move(o.outputs);
      caches = std::move(o.caches);
      host_mounts = std::exchange(o.host_mounts, {});
      rootfs_mounted = std::exchange(o.rootfs_mounted, false);
      keep = o.keep;
      overlays = std::move(o.overlays);
      kept = std::exchange(o.kept, false);
    }
    return *this;
  }
  ~prepared_container() { cleanup(); }

  //! Unmounts the rootfs and removes everything but the working directory (when `keep`).
  void finish() {
    for (auto it = host_mounts.rbegin(); it != host_mounts.rend(); ++it) (void)artifact::unmount(*it);
    host_mounts.clear();
    if (rootfs_mounted) (void)artifact::unmount(bundle / "rootfs");
    rootfs_mounted = false;
    if (root.empty() || kept) return;
    if (!keep) {
      (void)artifact::remove_tree(root);
      root.clear();
      return;
    }
    for (const char* leaf : {"bundle", "rootfs-upper", "rootfs-work", "layers"}) (void)artifact::remove_tree(root / leaf);
  }

 private:
  void cleanup() {
    keep = keep && !root.empty();
    finish();
  }
};

//! Settings for `prepare_container`.
struct prepare_options {
  std::filesystem::path work_root;  //!< where run directories are made
  bool user_namespace = false;      //!< see bundle_spec::user_namespace
  std::uint32_t userns_root = 65536;  //!< host id of container id 0; container n is host `userns_root + n`
  bool copy_rootfs = false;         //!< copy the image into `bundle/rootfs` instead of an overlay mount
                                    //!< (a mount on this host is invisible to other nodes of a cluster)
};

namespace detail {

// `rel` (from inside_working_dir) as an absolute path inside the container.
inline std::string inside(const std::string& working_dir, const std::string& rel) {
  return rel == "." ? working_dir : working_dir + "/" + rel;
}

// True when `program` exists in the rootfs along `path_value` (symlinks count; they may be
// absolute inside the image, so they are not followed).
inline bool in_image_path(const std::filesystem::path& rootfs, const std::string& program, std::string_view path_value) {
  std::size_t start = 0;
  while (start <= path_value.size()) {
    const auto end = std::min(path_value.find(':', start), path_value.size());
    std::string dir(path_value.substr(start, end - start));
    if (dir.empty()) dir = ".";
    struct stat st {};
    if (dir.front() == '/' && ::lstat((rootfs.string() + dir + "/" + program).c_str(), &st) == 0) return true;
    start = end + 1;
  }
  return false;
}

// Shifts the ids of the directory open at `fd` and everything below it into the user namespace's
// range: an id n below 65536 becomes `base + n` (container n), never following a link. Ids already
// outside 0..65535 (shifted before) stay.
inline void shift_tree_at(int fd, std::uint32_t base) {
  auto shifted = [&](const struct stat& st, uid_t& uid, gid_t& gid) {
    uid = st.st_uid < 65536 ? static_cast<uid_t>(base + st.st_uid) : static_cast<uid_t>(-1);
    gid = st.st_gid < 65536 ? static_cast<gid_t>(base + st.st_gid) : static_cast<gid_t>(-1);
    return uid != static_cast<uid_t>(-1) || gid != static_cast<gid_t>(-1);
  };
  struct stat st {};
  uid_t uid = 0;
  gid_t gid = 0;
  if (::fstat(fd, &st) == 0 && shifted(st, uid, gid)) (void)::fchown(fd, uid, gid);
  const int iter = ::dup(fd);
  DIR* dir = iter < 0 ? nullptr : ::fdopendir(iter);
  if (dir == nullptr) {
    if (iter >= 0) ::close(iter);
    return;
  }
  ::rewinddir(dir);
  while (const dirent* e = ::readdir(dir)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    if (::fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      artifact::detail::unique_fd sub(::openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub.valid()) shift_tree_at(sub.get(), base);
    } else if (shifted(st, uid, gid)) {
      const mode_t mode = st.st_mode & 07777;
      (void)::fchownat(fd, e->d_name, uid, gid, AT_SYMLINK_NOFOLLOW);
      // chown clears set-id bits; an image's setuid binaries (su, ping) keep them in the container
      if ((mode & (S_ISUID | S_ISGID)) != 0 && S_ISREG(st.st_mode)) (void)::fchmodat(fd, e->d_name, mode, AT_SYMLINK_NOFOLLOW);
    }
  }
  ::closedir(dir);
}

// shift_tree_at for the directory `dir` (opened O_NOFOLLOW).
inline void shift_tree(const std::filesystem::path& dir, std::uint32_t base) {
  artifact::detail::unique_fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.valid()) shift_tree_at(fd.get(), base);
}

// The rootfs for a user-namespaced container: the overlay (with metacopy where the kernel has it,
// so a chown copies metadata only) and every file's ids shifted into the container's range
// (`shift_tree`: host n → `root_id + n`, so container n sees its own ids). The image itself is not touched; the shifted inodes live in the upper
// layer. Without metacopy each shifted file is copied up whole: fine for small images, costly for
// large ones (docs/oci-worker.md).
inline result<void> mount_shifted_overlay(const std::filesystem::path& image_rootfs, const std::filesystem::path& run_root,
                                         const std::filesystem::path& target, std::uint32_t root_id) {
  namespace fs = std::filesystem;
  const fs::path upper = run_root / "rootfs-upper", work = run_root / "rootfs-work";
  std::error_code ec;
  for (const auto* p : {&upper, &work, &target}) fs::create_directories(*p, ec);
  if (!artifact::overlay_safe_path(image_rootfs) || !artifact::overlay_safe_path(run_root))
    return fail(errc::io, "cannot mount overlay: a path contains ',', ':' or '\\'");
  const std::string base = "lowerdir=" + image_rootfs.string() + ",upperdir=" + upper.string() + ",workdir=" + work.string();
  if (::mount("overlay", target.c_str(), "overlay", 0, (base + ",metacopy=on").c_str()) != 0 &&
      ::mount("overlay", target.c_str(), "overlay", 0, base.c_str()) != 0)
    return fail(errc::io, "could not mount overlay at " + target.string() + ": " + std::strerror(errno));
  shift_tree(target, root_id);
  return {};
}

}  // namespace detail

//! Creates the run directory and the bundle for `container`/`process` on `image`; see the file
//! comment. `config.json` is not written yet: adjust `spec` (args, init, cgroups) and call
//! `write_config(prepared.bundle, prepared.spec)`. `spec.args` is `[run.path, run.args...]`.
//! A stop request while inputs are copied gives `errc::cancelled` ("interrupted"); the partial run
//! directory is removed.
inline result<prepared_container> prepare_container(const prepare_options& options, artifact::cache_store& caches,
                                                    const container_spec& container, const process_spec& process,
                                                    const image_root& image, std::stop_token stop = {}) {
  namespace fs = std::filesystem;
  using worker::detail::staged;
  auto planned = worker::detail::plan_staging(container, process);
  if (!planned) return fail(planned.error());
  const std::vector<staged>& plan = planned->paths;
  const std::optional<std::string> dir_rel = planned->dir;

  std::error_code ec;
  if (!fs::is_directory(image.rootfs, ec))
    return fail(errc::worker, "image root filesystem " + image.rootfs.string() + " is not a directory");
  const std::string user_name = process.user.empty() ? container.user : process.user;
  auto user = resolve_user(image.rootfs, user_name);
  if (!user) return fail(user.error());

  fs::create_directories(options.work_root, ec);
  if (ec) return fail(errc::worker, "could not create " + options.work_root.string() + ": " + ec.message());
  std::string templ = (fs::absolute(options.work_root) / "run-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr)
    return fail(errc::worker, "could not create a run directory in " + options.work_root.string() + ": " +
                                  std::strerror(errno));
  prepared_container out;
  out.root = templ;
  (void)::chmod(out.root.c_str(), 0711);
  out.bundle = out.root / "bundle";
  out.work = out.root / "work";
  for (const auto& d : {out.bundle, out.work}) {
    fs::create_directories(d, ec);
    if (ec) return fail(errc::worker, "could not create " + d.string() + ": " + ec.message());
  }

  // The image's rootfs, copy-on-write.
  const fs::path rootfs = out.bundle / "rootfs";
  const fs::path image_rootfs = fs::canonical(image.rootfs, ec);
  if (ec) return fail(errc::worker, "image root filesystem " + image.rootfs.string() + ": " + ec.message());
  const bool userns = options.user_namespace && !container.privileged;
  // Overlays where the kernel has overlayfs and the mount works; copies otherwise (the same
  // decision then holds for the inputs, which live on the same filesystems).
  bool overlays = !options.copy_rootfs && artifact::overlay_available();
  if (overlays) {
    auto mounted = userns ? detail::mount_shifted_overlay(image_rootfs, out.root, rootfs, options.userns_root)
                          : artifact::mount_overlay(image_rootfs, out.root / "rootfs-upper", out.root / "rootfs-work", rootfs);
    if (mounted) {
      out.rootfs_mounted = true;
      out.overlays.push_back({"bundle/rootfs", image_rootfs, out.root / "rootfs-upper", out.root / "rootfs-work", userns});
    } else {
      overlays = false;
    }
  }
  if (!overlays) {
    auto copied = artifact::copy_tree(image_rootfs, rootfs);
    if (!copied) return fail(copied.error().prefixed("image root filesystem: "));
    if (userns) detail::shift_tree(rootfs, options.userns_root);
  }

  bundle_spec& spec = out.spec;
  spec.rootfs = rootfs;
  spec.hostname = "taskstep-" + out.root.filename().string().substr(4);
  spec.privileged = container.privileged;
  spec.user_namespace = userns;
  spec.userns_root = options.userns_root;
  spec.uid = user->uid;
  spec.gid = user->gid;
  spec.memory = container.memory;
  spec.cpu_shares = container.cpu;
  spec.env = container.env;
  const std::string working_dir = container.working_dir.empty() ? "/tmp/build/taskstep" : container.working_dir;
  spec.cwd = detail::inside(working_dir, *dir_rel);
  spec.args.push_back(process.path);
  spec.args.insert(spec.args.end(), process.args.begin(), process.args.end());
  if (process.path.find('/') == std::string::npos) {
    std::string path_value = spec.privileged ? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
                                             : "/usr/local/bin:/usr/bin:/bin";
    for (const auto& e : spec.env)
      if (e.rfind("PATH=", 0) == 0) path_value = e.substr(5);
    if (!detail::in_image_path(image_rootfs, process.path, path_value))
      return fail(errc::worker, "exec: \"" + process.path + "\": executable file not found in $PATH");
  }

  // The working directory and what lives in it.
  spec.mounts.push_back(bind_mount(working_dir, out.work));
  if (userns && (user->uid >= oci::userns_size || user->gid >= oci::userns_size))
    return fail(errc::worker, "user " + user_name + " (uid " + std::to_string(user->uid) + ", gid " + std::to_string(user->gid) +
                                  ") is outside the user namespace's ids 0..65535 (run it with --no-user-namespace)");
  const uid_t owner_uid = userns ? options.userns_root + user->uid : user->uid;
  const gid_t owner_gid = userns ? options.userns_root + user->gid : user->gid;
  for (const auto& s : plan) {
    const fs::path target = worker::detail::under(out.work, s.rel);
    // One level at a time, never through a link an input staged earlier holds.
    const std::string what = s.kind == staged::input    ? "input '" + container.inputs[s.index].name + "' path"
                             : s.kind == staged::output ? "output '" + container.outputs[s.index].name + "' path"
                                                        : std::string("cache path");
    auto made = worker::detail::open_inside(out.work, s.rel, true, what);
    if (!made) return fail(made.error());
    if (s.kind == staged::input) {
      const auto& in = container.inputs[s.index];
      const bool holds_plain_dirs = worker::detail::holds_plain_dirs(*planned, s);
      const fs::path source = fs::absolute(in.source);
      const fs::path layer = out.root / "layers" / std::to_string(s.index);
      if (overlays && userns && !holds_plain_dirs) {
        // Mounted here, on the host, so that its files can be handed to container root (the
        // work directory's bind mount carries it into the container).
        auto shifted = detail::mount_shifted_overlay(source, layer, target, options.userns_root);
        if (shifted) {
          out.host_mounts.push_back(target);
          out.overlays.push_back({"work/" + s.rel, source, layer / "rootfs-upper", layer / "rootfs-work", true});
          continue;
        }
      }
      if (overlays && !userns && !holds_plain_dirs && s.rel != "." && artifact::overlay_safe_path(source) &&
          artifact::overlay_safe_path(layer)) {
        fs::create_directories(layer / "upper", ec);
        fs::create_directories(layer / "work", ec);
        fs::create_directories(target, ec);
        if (ec) return fail(errc::worker, "could not create " + layer.string() + ": " + ec.message());
        spec.mounts.push_back(overlay_mount(detail::inside(working_dir, s.rel), source, layer / "upper", layer / "work"));
        continue;
      }
      auto copied = artifact::copy_tree_into(source, target, stop);  // interrupted: the run dir goes
      if (!copied && copied.error().code() == errc::cancelled) return fail(copied.error());
      if (!copied) return fail(copied.error().prefixed("input '" + in.name + "': "));
      if (userns) detail::shift_tree_at(made->get(), options.userns_root);
    } else if (s.kind == staged::output) {
      if (owner_uid != 0 || owner_gid != 0)
        if (auto owned = worker::detail::chown_tree_at(made->get(), target, owner_uid, owner_gid); !owned)
          return fail(owned.error());
      const auto& o = container.outputs[s.index];
      out.outputs[clean_path(o.path.empty() ? o.name : o.path)] = target;
    } else {
      auto staged_cache = caches.stage({container.team, container.job, container.step_name, s.rel}, target);
      if (!staged_cache) return fail(staged_cache.error().prefixed("cache '" + s.rel + "': "));
      if (owner_uid != 0 || owner_gid != 0)
        if (auto owned = worker::detail::chown_tree_at(made->get(), target, owner_uid, owner_gid); !owned)
          return fail(owned.error());
      out.caches[clean_path(container.caches[s.index].path)] = target;
    }
  }
  auto cwd = worker::detail::open_inside(out.work, *dir_rel, true, "run.dir");
  if (!cwd) return fail(cwd.error());
  if (owner_uid != 0 || owner_gid != 0) {
    auto top = worker::detail::open_inside(out.work, ".", false, "working directory");
    if (!top) return fail(top.error());
    if (::fchown(top->get(), owner_uid, owner_gid) != 0 || ::fchown(cwd->get(), owner_uid, owner_gid) != 0)
      return fail(errc::worker, "could not chown the working directory " + out.work.string() + ": " + std::strerror(errno));
  }
  out.keep = !out.outputs.empty() || !out.caches.empty();
  return out;
}

}  // namespace taskstep::worker::oci
