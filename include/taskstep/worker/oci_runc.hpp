#pragma once
//! \file
//! `oci_runc`: a worker that runs each task in an OCI container with runc (models `worker_client`).
//!
//! ## What a run does
//! 1. **Image.** `image_artifact` → `<dir>/rootfs` (its `metadata.json` was applied by the step);
//!    `rootfs_uri_spec` → `raw:///abs/dir` (other schemes are refused with Concourse's messages);
//!    `image_resource_spec` → the `Fetcher` (e.g. `image::registry_store`) pulls it and its
//!    metadata is applied by `apply_image_metadata`, as the step applies an image artifact's;
//!    `no_image` → the options' `default_rootfs`, else an error.
//! 2. **Bundle.** `oci::prepare_container` makes the run directory, mounts the image's rootfs as a
//!    copy-on-write overlay, stages the working directory at Concourse's `/tmp/build/<8 hex>` with
//!    inputs (overlayfs inside the container: O(1), the source never changes), outputs and caches,
//!    and resolves `run.user` (else the image's user) in the image's `/etc/passwd`.
//!    `oci::bundle_config` writes `config.json` (see bundle.hpp for namespaces, capabilities,
//!    devices and mounts in both modes). `linux.cgroupsPath` is `/taskstep/<id>`.
//! 3. **Run.** `runc --root <state_root> run [--keep] --bundle <bundle> <id>` with stdin /dev/null
//!    and stdout/stderr piped straight from the container (no TTY), streamed to `io` as they come.
//!    The task runs under `init` (tini, bind-mounted at `/dev/init`) when one is configured, so it
//!    is not pid 1: signals reach it with their default actions and zombies are reaped, as under
//!    Garden's init. The exit status is the task's (128 + N when signal N killed it).
//! 4. **Memory.** With a memory limit the container's cgroup is read after the process ends
//!    (`--keep`, used only then, keeps it until `runc delete`): when the kernel OOM-killed something in it,
//!    `run_result::oom_killed` is set and a line saying the limit was exceeded goes to `io.err`.
//! 5. **Cleanup.** `runc delete --force <id>`, the rootfs is unmounted, and everything but the
//!    outputs and caches (in the working directory) is removed. `release(result)` removes those.
//!
//! ## Keeping a failed run (`keep`)
//! With `oci_runc_options::keep`, a run whose task ran and did not succeed (non-zero exit status, or
//! stopped) is kept for `taskstep intercept` (worker/intercept.hpp): the container is deleted and
//! the rootfs unmounted as usual, but the whole run directory stays — `bundle/config.json` (made
//! 0600: it holds the environment), the rootfs overlay's `rootfs-upper`/`rootfs-work`, the inputs'
//! layers and the working directory — with `kept.json` (kept_run.hpp), which records the overlays
//! to re-create (the image's rootfs is their lower: it must still exist when the run is entered).
//! `release` and the reapers leave it alone. A succeeded run is never kept.
//!
//! ## Cancellation
//! A stop request sends SIGTERM to the container's init (`runc kill <id> TERM`; tini passes it to
//! the task), waits `grace` (10 s), then `runc kill --all <id> KILL`. The result is `stopped` with
//! valid outputs, as with the local worker. If `runc run` itself dies, the container is deleted by
//! id all the same: nothing is left in `runc list`. A request on `oci_runc_options::immediate`
//! skips the grace (`runc kill --all <id> KILL` at once). The loop is `worker::supervise`.
//!
//! ## When taskstep dies
//! Each run has a `worker::watchdog` (supervisor.hpp): should taskstep be killed (even SIGKILL)
//! during the run, it kills `runc run`, runs `runc kill --all <id> KILL` and
//! `runc delete --force <id>` (which removes the container's cgroup), unmounts the rootfs and the
//! host-side input overlays and removes the run directory. Run directories are claimed
//! (`worker::claim_run`) and the constructor reaps what a dead taskstep left in `work_root`
//! (`worker::reap_stale_runs`, which also deletes the dead run's container from `state_root`).
//!
//! Needs root (runc creates namespaces and cgroups); without it `run` fails with a message saying so.

#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/core.h>

#include "taskstep/artifact/cache_store.hpp"
#include "taskstep/core/container_spec.hpp"
#include "taskstep/core/process_io.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/core/worker_info.hpp"
#include "taskstep/image/metadata.hpp"
#include "taskstep/worker/detail/command.hpp"
#include "taskstep/worker/detail/process.hpp"
#include "taskstep/worker/detail/run_paths.hpp"
#include "taskstep/worker/oci/bundle.hpp"
#include "taskstep/worker/oci/container.hpp"
#include "taskstep/worker/reaper.hpp"
#include "taskstep/worker/supervisor.hpp"
#include "taskstep/worker/worker_client.hpp"

namespace taskstep::worker {

//! Settings of an `oci_runc` worker.
struct oci_runc_options {
  std::filesystem::path work_root;     //!< run directories; empty = `$TMPDIR/taskstep/oci-runs`
  std::filesystem::path cache_root;    //!< the cache store; empty = `$TMPDIR/taskstep/caches`
  std::filesystem::path state_root = "/run/taskstep-runc";  //!< runc's `--root` (container state)
  std::string runc = "runc";           //!< runc program (looked up in PATH)
  std::filesystem::path init = "/usr/bin/tini-static";  //!< static init for /dev/init; empty or missing = none
  std::filesystem::path default_rootfs;  //!< rootfs for tasks without an image; empty = error
  std::chrono::milliseconds grace{10000};
  std::stop_token immediate;           //!< a request here kills a running container at once (no grace)
  bool watchdog = true;                //!< per-run watchdog: the container dies with taskstep, even on SIGKILL
  bool copy_rootfs = false;            //!< copy the image and inputs instead of overlays (automatic without overlayfs)
  bool user_namespace = true;          //!< unprivileged tasks run in a user namespace (container 0..65535 → host base + n)
  bool keep = false;                   //!< keep a run that did not succeed for intercept (see the file comment)
  std::uint32_t userns_base = 0;       //!< host id of container root; 0 = `oci::user_namespace_base()` (65536 unless taken)
  std::filesystem::path cgroup_root = "/sys/fs/cgroup";
  worker_info info{"oci", "linux", {}, {}, {"registry-image", "docker-image"}, 0, 0, {}};
};

//! A fetcher for `image_resource` images: `fetch(resource, progress)` returning something with a
//! `dir` (holding `rootfs/` and `metadata.json`). `no_fetcher` refuses every image resource.
struct no_fetcher {
  struct fetched {
    std::filesystem::path dir;
  };
  template <class Progress>
  result<fetched> fetch(const image_resource& r, Progress&&) {
    return fail(errc::worker, fmt::format("image_resource of type '{}' cannot be fetched: this worker has no image store", r.type));
  }
};

namespace detail {

// Why this process cannot create a user namespace (tried in a forked child, which only calls
// unshare(2) and _exit), or empty when it can. Not cached: see user_namespace_unavailable_reason.
inline std::string probe_user_namespace() {
  const pid_t pid = ::fork();
  if (pid < 0) return fmt::format("could not fork to probe user namespaces: {}", std::strerror(errno));
  if (pid == 0) _exit(::unshare(CLONE_NEWUSER) == 0 ? 0 : (errno & 0xff));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  const int err = WIFEXITED(status) ? WEXITSTATUS(status) : EPERM;
  return fmt::format("this machine cannot create user namespaces (unshare(CLONE_NEWUSER): {}; "
                     "user.max_user_namespaces is 0, or a chroot, container or seccomp policy forbids it): run "
                     "with --no-user-namespace (oci_runc_options::user_namespace = false) to run containers "
                     "without one, where container root is host root",
                     std::strerror(err));
}

// How many OOM kills the kernel counted in the container's memory cgroup (v1 `memory.oom_control`,
// v2 `memory.events`), or -1 when unknown.
inline long oom_kills(const std::filesystem::path& cgroup_root, const std::string& cgroups_path) {
  auto read_key = [](const std::filesystem::path& file, std::string_view key) -> long {
    std::ifstream in(file);
    std::string k;
    long v = 0;
    while (in >> k >> v)
      if (k == key) return v;
    return -1;
  };
  const std::string rel = cgroups_path.front() == '/' ? cgroups_path.substr(1) : cgroups_path;
  if (long v = read_key(cgroup_root / "memory" / rel / "memory.oom_control", "oom_kill"); v >= 0) return v;
  if (long v = read_key(cgroup_root / rel / "memory.events", "oom_kill"); v >= 0) return v;
  if (long v = read_key(cgroup_root / "unified" / rel / "memory.events", "oom_kill"); v >= 0) return v;
  return -1;
}

// Deletes a runc container by id (bounded), whatever state it is in.
inline void runc_delete(const oci_runc_options& o, const std::string& id) {
  (void)run_command({o.runc, "--root", o.state_root.string(), "delete", "--force", id}, std::chrono::seconds(10));
}

}  // namespace detail

//! The runc container worker; see the file comment. `Fetcher` pulls `image_resource` images.
template <class Fetcher = no_fetcher>
class oci_runc {
 public:
  explicit oci_runc(oci_runc_options options = {}, Fetcher fetcher = {})
      : options_(std::move(options)),
        fetcher_(std::move(fetcher)),
        caches_(options_.cache_root.empty() ? detail::default_root("caches") : options_.cache_root) {
    default_work_root_ = options_.work_root.empty();
    if (options_.work_root.empty()) options_.work_root = detail::default_root("oci-runs");
    (void)reap_stale_runs(options_.work_root, {options_.state_root, options_.runc, options_.cgroup_root});
  }

  [[nodiscard]] const worker_info& info() const noexcept { return options_.info; }
  [[nodiscard]] const oci_runc_options& options() const noexcept { return options_; }
  [[nodiscard]] artifact::cache_store& caches() noexcept { return caches_; }
  [[nodiscard]] Fetcher& fetcher() noexcept { return fetcher_; }

  //! Why this machine cannot run containers (not root, no runc, or no user namespaces while
  //! `user_namespace` is on: the message then names `--no-user-namespace`), or empty when it can.
  [[nodiscard]] std::string unavailable_reason() const { return unavailable_reason(options_); }

  //! `unavailable_reason()` of a worker with `options`, without constructing one (so without
  //! reaping `work_root` or creating anything): a probe for choosing a worker.
  [[nodiscard]] static std::string unavailable_reason(const oci_runc_options& options) {
    if (auto why = runtime_unavailable_reason(options); !why.empty()) return why;
    if (options.user_namespace) return user_namespace_unavailable_reason();
    return {};
  }

  //! Why a user namespace cannot be created here, or empty when it can. Probed once per process
  //! (a forked child tries unshare(CLONE_NEWUSER)), then cached.
  [[nodiscard]] static const std::string& user_namespace_unavailable_reason() {
    static const std::string why = detail::probe_user_namespace();
    return why;
  }

  //! Nothing to predict: limits are enforced by runc.
  [[nodiscard]] std::vector<std::string> warnings_for(const container_spec&, const process_spec&) const { return {}; }

  template <process_io IO>
  result<run_result> run(const container_spec& container, const process_spec& process, IO& io, std::stop_token stop) {
    if (auto why = runtime_unavailable_reason(options_); !why.empty()) return fail(errc::worker, why);
    const bool userns = options_.user_namespace && !container.privileged;
    if (userns) {  // a clear error instead of runc's "failed to unshare user namespace"
      if (const auto& why = user_namespace_unavailable_reason(); !why.empty()) return fail(errc::worker, why);
    }

    // 1. The image (a fetched image_resource's metadata applied as for an image artifact).
    oci::image_root image;
    container_spec with_image;
    const container_spec* spec_in = &container;
    if (const auto* art = std::get_if<image_artifact>(&container.image)) {
      image.rootfs = art->dir / "rootfs";
    } else if (const auto* uri = std::get_if<rootfs_uri_spec>(&container.image)) {
      auto dir = oci::rootfs_from_uri(uri->uri);
      if (!dir) return fail(dir.error());
      image.rootfs = *dir;
    } else if (const auto* res = std::get_if<image_resource_spec>(&container.image)) {
      auto fetched = fetcher_.fetch(res->resource, [&io](std::string_view line) {
        std::string l(line);
        if (l.empty() || l.back() != '\n') l += '\n';
        io.err(l);
      });
      if (!fetched) return fail(fetched.error());
      image.rootfs = fetched->dir / "rootfs";
      auto meta = image::read_metadata(fetched->dir);
      if (!meta) return fail(meta.error());
      with_image = container;
      apply_image_metadata(with_image, *meta);
      spec_in = &with_image;
    } else if (!options_.default_rootfs.empty()) {
      image.rootfs = options_.default_rootfs;
    } else {
      return fail(errc::worker,
                  "the task has no image: the oci worker needs image_resource, rootfs_uri or an image artifact "
                  "(or a default rootfs for the worker)");
    }

    // 2. The bundle.
    if (default_work_root_)
      if (auto ready = detail::prepare_default_root(options_.work_root); !ready) return fail(ready.error());
    if (options_.cache_root.empty())
      if (auto ready = detail::prepare_default_root(detail::default_root("caches")); !ready) return fail(ready.error());
    if (userns) {
      if (auto why = unreachable_for_mapped_root(options_.work_root); !why.empty()) return fail(errc::worker, why);
    }
    static const std::uint32_t automatic_base = oci::user_namespace_base();
    const std::uint32_t base = options_.userns_base != 0 ? options_.userns_base : automatic_base;
    auto prepared = oci::prepare_container({options_.work_root, userns, base, options_.copy_rootfs}, caches_, *spec_in,
                                           process, image, stop);
    if (!prepared) return fail(prepared.error());
    oci::prepared_container& box = *prepared;
    (void)claim_run(box.root);
    const std::string id = "taskstep-" + box.root.filename().string().substr(4) + "-" + std::to_string(::getpid());
    box.spec.cgroups_path = "/taskstep/" + id;
    box.spec.memory_swap = swap_accounting();
    std::error_code ec;
    if (!options_.init.empty() && std::filesystem::is_regular_file(options_.init, ec)) {
      box.spec.mounts.insert(box.spec.mounts.begin(), oci::mount{"/dev/init", "bind", options_.init.string(), {"bind", "ro"}});
      box.spec.args.insert(box.spec.args.begin(), {"/dev/init", "-s", "--"});
    }
    if (auto written = oci::write_config(box.bundle, box.spec); !written) return fail(written.error());

    run_result out;
    out.outputs = box.outputs;
    out.caches = box.caches;
    if (stop.stop_requested() || options_.immediate.stop_requested()) {
      out.stopped = true;
      box.finish();
      return out;
    }

    // 3. Run.
    std::filesystem::create_directories(options_.state_root, ec);
    auto runc_path = detail::find_program(options_.runc, detail::default_path, "/");
    if (!runc_path) return fail(runc_path.error());
    detail::spawn_request req;
    req.program = *runc_path;
    // --keep (delete it ourselves) only when the OOM count must be read from the container's cgroup.
    const bool memory_limited = container.memory && *container.memory != 0;
    req.argv = {options_.runc, "--root", options_.state_root.string(), "run"};
    if (memory_limited) req.argv.emplace_back("--keep");
    req.argv.insert(req.argv.end(), {"--bundle", box.bundle.string(), id});
    req.env = {"PATH=" + std::string(detail::default_path)};
    req.cwd = box.root;
    watchdog dog = start_watchdog(*runc_path, id, box);
    io.starting();
    auto child = detail::spawn(req);
    if (!child) return fail(child.error());
    struct container_guard {
      const oci_runc_options& o;
      const std::string& id;
      pid_t pid;
      ~container_guard() {
        if (pid > 0) {
          (void)::kill(pid, SIGKILL);
          int st = 0;
          while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
          }
        }
        std::error_code ec;  // runc run deletes the container itself unless kept or killed
        if (std::filesystem::exists(o.state_root / id, ec)) detail::runc_delete(o, id);
      }
    } guard{options_, id, child->pid};
    dog.watch_group(child->pid);

    container_signals<IO> signals{*this, id, io};
    supervise_options so;
    so.grace = options_.grace;
    so.immediate = options_.immediate;
    const supervision ended = supervise({child->pid, child->out.get(), child->err.get()}, signals, stop, so);
    guard.pid = -1;
    out.stopped = ended.stopped;
    const int status = ended.exit_status;

    // 4. Memory.
    if (memory_limited && !out.stopped &&
        detail::oom_kills(options_.cgroup_root, box.spec.cgroups_path) > 0) {
      out.oom_killed = true;
      io.err(fmt::format("taskstep: the task exceeded its memory limit of {} bytes (container_limits.memory) and "
                         "was killed by the kernel's OOM killer\n",
                         *container.memory));
    }
    out.exit_status = status;
    if (options_.keep && (status != 0 || out.stopped)) keep_run(box, *spec_in, status, out.stopped, io);
    return out;  // guard deletes the container, box unmounts and cleans up (keeping outputs/caches)
  }

  //! Promotes the caches of a finished job build (as `local_process::commit_caches`).
  result<void> commit_caches(const container_spec& container, const run_result& ran) {
    return detail::commit_run_caches(caches_, container, ran);
  }

  //! Removes the run directory holding `ran`'s outputs and caches.
  void release(const run_result& ran) const { detail::release_run_dirs(options_.work_root, ran); }

 private:
  // Container root in a user namespace is an unprivileged host uid: runc must reach the bundle as
  // that uid, so every directory above the run directories needs the search (x) bit for others.
  static std::string unreachable_for_mapped_root(const std::filesystem::path& work_root) {
    std::error_code ec;
    std::filesystem::create_directories(work_root, ec);
    for (auto p = std::filesystem::absolute(work_root); ; p = p.parent_path()) {
      struct stat st {};
      if (::stat(p.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0)
        return fmt::format("the oci worker's work root {} is not reachable from a user namespace: {} lacks the "
                           "search permission for others (chmod o+x it, or turn user_namespace off)",
                           work_root.string(), p.string());
      if (p == p.root_path()) break;
    }
    return {};
  }

  static std::string runtime_unavailable_reason(const oci_runc_options& options) {
    if (::geteuid() != 0) return fmt::format("the oci worker needs root to run runc (running as uid {})", ::geteuid());
    if (!detail::find_program(options.runc, detail::default_path, "/"))
      return "runc was not found in PATH (install Debian's runc package)";
    return {};
  }

  // `keep`: the run directory stays with its record (see "Keeping a failed run").
  template <process_io IO>
  void keep_run(oci::prepared_container& box, const container_spec& spec, int status, bool stopped, IO& io) const {
    kept_run record;
    record.worker = "oci";
    record.task = spec.step_name;
    record.job = spec.job;
    record.exit_status = status;
    record.stopped = stopped;
    record.env = box.spec.env;
    record.dir = box.spec.cwd;
    record.user = spec.user;
    record.uid = box.spec.uid;
    record.gid = box.spec.gid;
    record.mounts = box.overlays;
    record.bundle = "bundle";
    record.runc_state_root = options_.state_root;
    record.runc = options_.runc;
    (void)::chmod((box.bundle / "config.json").c_str(), 0600);
    if (auto written = write_kept_run(box.root, std::move(record)); !written) {
      io.err("[WARNING] the run is not kept: " + written.error().message() + "\n");
      return;
    }
    box.kept = true;
  }

  bool swap_accounting() const {
    std::error_code ec;
    const auto v1 = options_.cgroup_root / "memory";
    if (std::filesystem::is_directory(v1, ec)) return std::filesystem::exists(v1 / "memory.memsw.limit_in_bytes", ec);
    return true;  // cgroup v2: memory.swap.max
  }

  void runc_kill(const std::string& id, const char* sig, bool all) const {
    std::vector<std::string> argv{options_.runc, "--root", options_.state_root.string(), "kill"};
    if (all) argv.emplace_back("--all");
    argv.push_back(id);
    argv.emplace_back(sig);
    (void)detail::run_command(argv, std::chrono::seconds(10));
  }

  // How the supervisor signals a container: through runc, by id.
  template <process_io IO>
  struct container_signals {
    const oci_runc& worker;
    const std::string& id;
    IO& io;
    void out(std::string_view b) { io.out(b); }
    void err(std::string_view b) { io.err(b); }
    void signal_graceful() { worker.runc_kill(id, "TERM", false); }  // to init; tini passes it on
    void signal_kill() { worker.runc_kill(id, "KILL", true); }
  };

  // What the watchdog does for a container when taskstep dies during its run.
  watchdog start_watchdog(const std::filesystem::path& runc, const std::string& id, const oci::prepared_container& box) const {
    if (!options_.watchdog) return {};
    watchdog_plan plan;
    const std::string root = options_.state_root.string();
    plan.commands.push_back({runc.string(), "--root", root, "kill", "--all", id, "KILL"});
    plan.commands.push_back({runc.string(), "--root", root, "delete", "--force", id});
    if (box.rootfs_mounted) plan.mounts.push_back(box.bundle / "rootfs");
    plan.mounts.insert(plan.mounts.end(), box.host_mounts.begin(), box.host_mounts.end());
    plan.remove = box.root;
    auto w = watchdog::start(plan);
    return w ? std::move(*w) : watchdog();
  }

  oci_runc_options options_;
  bool default_work_root_ = false;
  Fetcher fetcher_;
  artifact::cache_store caches_;
};

static_assert(worker_client<oci_runc<>>, "taskstep: oci_runc must model worker_client");

}  // namespace taskstep::worker
