#pragma once
//! \file
//! `local_process`: the embedded default worker. It runs a task as a process on this host, with a
//! fresh working directory laid out as Concourse's, and models `worker_client`.
//!
//! ## What a run does
//! 1. It checks every input, output and cache path and `run.dir`. Each resolves against the working
//!    directory as Concourse joins them: `/abs` becomes `<dir>/abs`, and anything that climbs out
//!    (`../x`, `a/../../x`) is refused with `errc::worker`, e.g.
//!    `output 'out' path '../x' resolves outside the working directory`.
//!    This check is lexical. The process itself is not sandboxed (next point).
//! 2. It creates `<work_root>/run-XXXXXX/work` as the working directory. Concourse's
//!    `/tmp/build/<hash>` exists only inside containers, so the process gets this host directory.
//!    Mounts are staged parents-first:
//!    - **Inputs** at `<dir>/<path>` are writable and copy-on-write, so the source directory never
//!      changes through them. As root (or with `staging_mode::overlay`) an input gets an overlayfs
//!      mount (mount(2) in the host mount namespace, lower = the source, upper/work under the run
//!      directory), unmounted when the process has ended. Without root, or when the mount fails in
//!      `automatic` mode, the input is copied (`artifact::copy_tree`). Non-root overlays are not
//!      attempted: an unprivileged user+mount namespace would run the task as mapped root in a
//!      private mount namespace, which changes what the task sees. An input with an output or cache
//!      at or below its path is always copied, because those must be plain directories that outlive
//!      the run. So an **output at an input's path** starts with the input's files, as Concourse
//!      reuses the input volume.
//!    - **Outputs** are plain (empty) directories at `<dir>/<path>`.
//!    - **Caches** are private copies of the worker's `artifact::cache_store` entry for
//!      (team, job, step, path). They are empty for one-off builds.
//!    The process is not isolated: it runs with the worker's uid and can reach any host path that
//!    uid can, including an input's source by its absolute path. The guarantee covers the staged view.
//! 3. It spawns `run.path` with posix_spawn in a new process group. The cwd is `<dir>/<run.dir>`,
//!    created if missing. stdin is /dev/null and stdout/stderr are separate pipes (no TTY). Bytes go
//!    to `io.out` / `io.err` as they arrive, through a poll loop. `io.starting()` is called right
//!    before the spawn.
//!    - **Environment**: exactly `container_spec::env`. Nothing from the host leaks in, except that
//!      `PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` (Garden's default) is
//!      added when the spec has no `PATH`. A bare `run.path` is looked up in that PATH, and
//!      `exec: "x": executable file not found in $PATH` is an error, not an exit status. A
//!      `run.path` containing a `/` is relative to the cwd.
//!    - **Exit status**: the exit code; a process killed by signal N reports `128 + N` (SIGKILL → 137),
//!      as a shell and Garden do.
//! 4. When the process ends (exit or stop), whatever is left of the run's processes is SIGKILLed and
//!    reaped. Concourse would kill them when the container is destroyed. Overlays are then
//!    unmounted.
//!
//! ## Cancellation and outputs (the contract with the step)
//! The loop is `worker::supervise` (supervisor.hpp); `local_signals` is its policy.
//! When `stop` is requested, the whole process group gets SIGTERM, plus every process in the run's
//! cgroup (or, without cgroups, every descendant found in /proc). After `grace` (default 10 s, as
//! Garden) everything left gets SIGKILL. `run` then returns a **successful `result`** with
//! `run_result::stopped = true`: `exit_status` is what the process reported (meaningless to
//! Concourse), and `outputs`/`caches` are valid. The step registers the outputs and reports
//! `errc::cancelled` / `interrupted` (or `timeout exceeded`). Caches are not committed.
//! A request on `local_process_options::immediate` skips the grace (SIGKILL at once).
//! Concourse does the same (§8.3): it registers the outputs of a stopped container and returns the
//! context's error. `run` returns an error (`errc::worker`) only when nothing ran: a bad path, a
//! missing program, a staging failure. If `stop` was already requested before the spawn, nothing is
//! spawned and the result is `stopped` with the staged outputs. A stop while an input is being
//! copied ends the copy: `run` returns `errc::cancelled` ("interrupted") and removes the run directory.
//!
//! ## Ownership of outputs and caches
//! The `run_result`'s output and cache directories live under the run directory. They stay until
//! `release(result)` removes it, so the caller can register, copy or stream them first. A run with
//! neither outputs nor caches removes its directory itself. `commit_caches(spec, result)` promotes
//! the caches of a finished (not stopped) job build: it moves them when nothing else lives in them,
//! and copies them otherwise. Call it before `release`.
//!
//! ## Keeping a failed run (`keep`)
//! With `local_process_options::keep`, a run whose process ran and did not succeed (non-zero exit
//! status, or stopped) keeps its run directory for `taskstep intercept` (worker/intercept.hpp): the
//! working directory as the task left it, the input overlays' writable layers, and `kept.json`
//! (kept_run.hpp: the environment, `run.dir`, the user and the overlays to re-create, mode 0600).
//! The overlays are unmounted as usual; nothing stays mounted. `release` and the reapers leave the
//! kept directory alone. A succeeded run is never kept.
//!
//! ## When taskstep dies
//! Each run has a `worker::watchdog` (supervisor.hpp, option `watchdog`): when taskstep dies during
//! the run, even by SIGKILL, it SIGKILLs the run's process group and cgroup (so `setsid`'d
//! grandchildren too), unmounts the input overlays and removes the run directory. Every run
//! directory holds an `owner` file locked by its taskstep (`worker::claim_run`, reaper.hpp); the
//! constructor calls `worker::reap_stale_runs(work_root)`, which removes what a dead owner left
//! (kept output directories, or a run whose watchdog died too: its cgroups' processes are killed,
//! its mounts unmounted), and never touches a run whose owner lives. Without cgroups a process of
//! a run whose watchdog died is not found again.
//! `PR_SET_PDEATHSIG` is not used: posix_spawn cannot set it, it reaches only the direct child, and
//! it fires when the spawning *thread* exits.
//!
//! ## Killing the whole tree
//! As root, every run gets a cgroup on the unified v2 hierarchy (`/sys/fs/cgroup/unified` on this
//! cgroup v1 hybrid machine, `/sys/fs/cgroup` on a pure v2 one). Its `cgroup.kill` (kernel ≥ 5.14,
//! else a kill loop over `cgroup.procs`) also catches grandchildren that called `setsid`. The child
//! joins its cgroups **before it execs**. posix_spawn's first file action opens a FIFO in the run
//! directory, which blocks the child. Meanwhile a helper thread finds the new child in
//! `/proc/<pid>/task/<tid>/children`, writes it into the cgroups and then opens the FIFO's other
//! end. Without CONFIG_PROC_CHILDREN, the child joins right after posix_spawn returns. Its first
//! forks may then escape: cgroup migration takes milliseconds, and a shell forks sooner than that.
//! A cgroup whose last process is a zombie still waiting for init cannot be removed at once. Such a
//! cgroup is left behind, named `taskstep-<pid>-run-XXXXXX`, and a later run removes it once `<pid>`
//! is gone.
//! Without a writable cgroup, the process group is signalled, and each
//! descendant found in /proc at stop time is signalled by pid (checked against its start time). A
//! daemon that double-forked away before the stop, or any `setsid` escapee after a normal exit,
//! survives in that mode. PR_SET_CHILD_SUBREAPER is not used: it is process-wide, so a library
//! that set it would adopt, and would have to reap, the orphans of every other child of the host
//! program.
//!
//! ## Limits and users (what is enforced)
//! - `memory` (bytes) → cgroup v1 `memory.limit_in_bytes` (and `memsw` when present). The process
//!   is OOM-killed (137) beyond it.
//! - `cpu` (shares) → cgroup v1 `cpu.shares`. This is a relative weight under contention, as in
//!   Garden; it is not a cap.
//! - Both need writable v1 controllers (root). Otherwise the limit is **not enforced**, and a warning
//!   (`memory limit of N bytes is not enforced: ...`) is written to `io.err` as `[WARNING] ...` before
//!   `starting()` (unless `print_warnings` is false). `warnings_for()` predicts these warnings
//!   without running anything. There is no pids limit.
//! - `run.user` (else `container_spec::user`): when it is empty or names the current user, nothing
//!   happens. As root, with the user in /etc/passwd, the process runs through `setpriv --reuid
//!   --regid --init-groups` (util-linux), and the working directory's top level, outputs and caches
//!   are chowned to that user; input copies keep their owners. Then argv[0] is the resolved program
//!   path. An unknown user is an error (`unable to find user x: no matching entries in passwd file`,
//!   as Garden reports it). When the worker is not root, the user is ignored with a warning.
//! - `image` other than `no_image`, `privileged`, and Concourse's TTY and `/scratch` volume do not
//!   apply: the process runs on the host's root filesystem with the worker's privileges. A non-host
//!   image gets a warning.
//!
//! `info().active_tasks` / `active_containers` are not updated by runs (`run` may be called from
//! several threads while placement reads `info()`).

#include <pwd.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "taskstep/artifact/cache_store.hpp"
#include "taskstep/artifact/staging.hpp"
#include "taskstep/core/container_spec.hpp"
#include "taskstep/core/process_io.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/core/worker_info.hpp"
#include "taskstep/core/working_dir.hpp"
#include "taskstep/worker/detail/cgroup.hpp"
#include "taskstep/worker/detail/process.hpp"
#include "taskstep/worker/detail/run.hpp"
#include "taskstep/worker/detail/run_paths.hpp"
#include "taskstep/worker/kept_run.hpp"
#include "taskstep/worker/reaper.hpp"
#include "taskstep/worker/supervisor.hpp"
#include "taskstep/worker/worker_client.hpp"

namespace taskstep::worker {

//! How inputs are given to the task (all modes leave the source untouched).
enum class staging_mode {
  automatic,  //!< overlayfs when root and the mount works, else a copy
  overlay,    //!< overlayfs or an error (needs root)
  copy,       //!< always a copy
};

//! Settings of a `local_process` worker.
struct local_process_options {
  std::filesystem::path work_root;   //!< per-run directories (`run-XXXXXX`); empty = `$TMPDIR/taskstep/runs`
  std::filesystem::path cache_root;  //!< the cache store; empty = `$TMPDIR/taskstep/caches`
  std::chrono::milliseconds grace{10000};  //!< SIGTERM → SIGKILL delay on stop (Garden's 10 s)
  staging_mode staging = staging_mode::automatic;
  bool use_cgroups = true;           //!< per-run cgroups when writable (tree kill, limits)
  std::filesystem::path cgroup_root = "/sys/fs/cgroup";
  bool print_warnings = true;        //!< write `[WARNING] ...` lines to io.err before starting
  //! A request here stops a running task at once (SIGKILL, no grace), e.g. on a second Ctrl-C.
  std::stop_token immediate;
  //! Per-run watchdog process: the task dies with taskstep even when taskstep is SIGKILLed.
  bool watchdog = true;
  //! Keep a run that did not succeed (its directory and a `kept.json` record) for `intercept`;
  //! see "Keeping a failed run" in the file comment.
  bool keep = false;
  worker_info info{"local", "linux", {}, {}, {}, 0, 0, {}};
};

namespace detail {

// The user to run as: nullopt = as the worker; else (uid, gid, name).
struct run_as {
  uid_t uid;
  gid_t gid;
  std::string name;
};

inline result<std::optional<run_as>> resolve_user(const std::string& user, std::vector<std::string>& warnings) {
  if (user.empty()) return std::optional<run_as>{};
  std::vector<char> buf(16384);
  struct passwd pw {};
  struct passwd* found = nullptr;
  if (::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr)
    return fail(errc::worker, "unable to find user " + user + ": no matching entries in passwd file");
  if (pw.pw_uid == ::geteuid()) return std::optional<run_as>{};
  if (::geteuid() != 0) {
    warnings.push_back("run.user '" + user + "' is ignored: the local worker is not root and runs tasks as uid " +
                       std::to_string(::geteuid()));
    return std::optional<run_as>{};
  }
  return std::optional<run_as>{run_as{pw.pw_uid, pw.pw_gid, user}};
}

// One local run's state, filled stage by stage by the functions below.
struct local_run {
  staging_plan planned;
  std::vector<std::string> warnings;
  std::optional<run_as> user;
  bool overlay_possible = false;
  run_dir dir;
  std::filesystem::path work, cwd;
  unique_fd cwd_fd;  // run.dir, opened without following links
  spawn_request req;
  run_cgroups cgroups;
  std::vector<kept_mount> overlays;  // the input overlays, for a kept run's record
  bool kept = false;
};

// 1. Paths, user and staging mode are checked before anything is created.
inline result<void> check_local_run(const local_process_options& options, const container_spec& spec,
                                    const process_spec& process, local_run& run) {
  auto planned = plan_staging(spec, process);
  if (!planned) return fail(planned.error());
  run.planned = std::move(*planned);
  if (!std::holds_alternative<no_image>(spec.image))
    run.warnings.emplace_back("the local worker runs tasks on the host's root filesystem; the task's image is ignored");
  auto user = resolve_user(process.user.empty() ? spec.user : process.user, run.warnings);
  if (!user) return fail(user.error());
  run.user = *user;
  run.overlay_possible = options.staging != staging_mode::copy && artifact::overlay_available();
  if (options.staging == staging_mode::overlay && !run.overlay_possible)
    return fail(errc::worker, "overlay staging needs root and overlayfs (running as uid " + std::to_string(::geteuid()) + ")");
  return {};
}

// 2. The run directory and the staged inputs (overlays or copies), outputs and caches.
inline result<void> stage_local_run(const local_process_options& options, artifact::cache_store& caches,
                                    const container_spec& spec, local_run& run, const std::stop_token& stop) {
  namespace fs = std::filesystem;
  const fs::path work_root = options.work_root.empty() ? default_root("runs") : options.work_root;
  for (const auto& [given, leaf] : {std::pair{&options.work_root, "runs"}, std::pair{&options.cache_root, "caches"}})
    if (given->empty())
      if (auto ready = prepare_default_root(default_root(leaf)); !ready) return fail(ready.error());
  std::error_code ec;
  fs::create_directories(work_root, ec);
  if (ec) return fail(errc::worker, "could not create " + work_root.string() + ": " + ec.message());
  std::string templ = (work_root / "run-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr)
    return fail(errc::worker, "could not create a run directory in " + work_root.string() + ": " + std::strerror(errno));
  run.dir.root = templ;
  (void)claim_run(run.dir.root);  // a later reaper leaves it alone while we live
  run.work = run.dir.root / "work";
  fs::create_directory(run.work, ec);
  if (ec) return fail(errc::worker, "could not create " + run.work.string() + ": " + ec.message());

  bool try_overlay = run.overlay_possible;
  for (const auto& s : run.planned.paths) {
    const fs::path target = under(run.work, s.rel);
    // Created one level at a time without following links: an input staged earlier may hold a
    // link where a later input, output or cache goes.
    const std::string what = s.kind == staged::input    ? "input '" + spec.inputs[s.index].name + "' path"
                             : s.kind == staged::output ? "output '" + spec.outputs[s.index].name + "' path"
                                                        : std::string("cache path");
    auto made = open_inside(run.work, s.rel, true, what);
    if (!made) return fail(made.error());
    if (s.kind == staged::input) {
      const auto& in = spec.inputs[s.index];
      if (try_overlay && !holds_plain_dirs(run.planned, s)) {
        const fs::path layer = run.dir.root / "overlay" / std::to_string(s.index);
        auto mounted = artifact::mount_overlay(in.source, layer / "upper", layer / "work", target);
        if (mounted) {
          run.dir.mounted.push_back(target);
          run.overlays.push_back({"work/" + s.rel, in.source, layer / "upper", layer / "work", false});
          continue;
        }
        if (options.staging == staging_mode::overlay) return fail(mounted.error().prefixed("input '" + in.name + "': "));
        try_overlay = false;  // automatic: copy this and the remaining inputs
      }
      auto copied = artifact::copy_tree_into(in.source, target, stop);  // interrupted: run's destructor removes it
      if (!copied && copied.error().code() == errc::cancelled) return fail(copied.error());
      if (!copied) return fail(copied.error().prefixed("input '" + in.name + "': "));
    } else if (s.kind == staged::output) {
      // made above
    } else {
      auto staged_cache = caches.stage({spec.team, spec.job, spec.step_name, s.rel}, target);
      if (!staged_cache) return fail(staged_cache.error().prefixed("cache '" + s.rel + "': "));
    }
  }
  run.cwd = under(run.work, run.planned.dir);
  auto cwd_fd = open_inside(run.work, run.planned.dir, true, "run.dir");
  if (!cwd_fd) return fail(cwd_fd.error());
  run.cwd_fd = std::move(*cwd_fd);
  return {};
}

// 3. The environment, the program and (as root) the user to run as.
inline result<void> prepare_local_command(const container_spec& spec, const process_spec& process, local_run& run) {
  std::vector<std::string> env = spec.env;
  std::string path_value(default_path);
  if (const std::string* p = env_value(env, "PATH")) path_value = p->substr(5);
  else env.push_back("PATH=" + path_value);
  auto program = find_program(process.path, path_value, run.cwd);
  if (!program) return fail(program.error());
  spawn_request& req = run.req;
  req.program = *program;
  req.env = std::move(env);
  req.cwd = run.cwd;
  req.argv.push_back(process.path);
  for (const auto& a : process.args) req.argv.push_back(a);
  if (!run.user) return {};
  const run_as& user = *run.user;
  auto setpriv = find_program("setpriv", default_path, run.cwd);
  if (!setpriv) {
    run.warnings.push_back("run.user '" + user.name + "' is ignored: setpriv (util-linux) was not found");
    return {};
  }
  std::vector<std::string> argv{"setpriv", "--reuid=" + std::to_string(user.uid), "--regid=" + std::to_string(user.gid),
                                "--init-groups", "--", req.program.string()};
  argv.insert(argv.end(), process.args.begin(), process.args.end());
  req.program = *setpriv;
  req.argv = std::move(argv);
  (void)::chmod(run.dir.root.c_str(), 0711);  // mkdtemp's 0700 would keep the user out
  // fchown on descriptors opened O_NOFOLLOW at every level: a link an input holds is refused,
  // never handed to the user.
  auto top = open_inside(run.work, ".", false, "working directory");
  if (!top) return fail(top.error());
  if (::fchown(top->get(), user.uid, user.gid) != 0 || ::fchown(run.cwd_fd.get(), user.uid, user.gid) != 0)
    return fail(errc::worker, "could not chown the working directory to " + user.name + ": " + std::strerror(errno));
  for (const auto& s : run.planned.paths) {
    if (s.kind == staged::input) continue;
    auto fd = open_inside(run.work, s.rel, false, s.kind == staged::output ? "output path" : "cache path");
    if (!fd) return fail(fd.error());
    if (auto owned = chown_tree_at(fd->get(), under(run.work, s.rel), user.uid, user.gid); !owned) return fail(owned.error());
  }
  return {};
}

// 4. Cgroups for the limits and the tree kill (root only; warnings otherwise).
inline void make_local_cgroups(const local_process_options& options, const container_spec& spec, local_run& run) {
  if (options.use_cgroups && ::geteuid() == 0) {
    run.cgroups.create(options.cgroup_root, "taskstep-" + std::to_string(::getpid()) + "-" + run.dir.root.filename().string(),
                       true, spec.memory, spec.cpu, run.warnings);
    return;
  }
  if (spec.memory && *spec.memory != 0)
    run.warnings.push_back("memory limit of " + std::to_string(*spec.memory) +
                           " bytes is not enforced: the local worker needs root for cgroup limits");
  if (spec.cpu && *spec.cpu != 0)
    run.warnings.push_back("cpu limit of " + std::to_string(*spec.cpu) +
                           " shares is not enforced: the local worker needs root for cgroup limits");
}

// How the supervisor signals a local run: its process group, plus its cgroup (or, without one,
// each descendant found in /proc).
struct local_signals {
  pid_t pid;
  run_cgroups& cgroups;
  io_ref io;
  std::vector<proc_entry> tree;  // descendants seen when signalled (no-cgroup mode)
  bool signalled = false;

  void out(std::string_view b) { io.write(io.self, b, false); }
  void err(std::string_view b) { io.write(io.self, b, true); }
  void signal(int sig) {
    signalled = true;
    if (!cgroups.tracking()) {  // look before signalling: a dying parent hands its children to init
      auto now_tree = descendants(pid);
      tree.insert(tree.end(), now_tree.begin(), now_tree.end());
    }
    (void)::kill(-pid, sig);  // the group once; below only those that left it (setsid)
    if (cgroups.tracking()) cgroups.signal_all(sig, pid);
    else signal_entries(tree, sig, pid);
  }
  void signal_graceful() { signal(SIGTERM); }
  void signal_kill() {
    signal(SIGKILL);
    if (cgroups.tracking()) cgroups.kill_all();
  }
  // The task has ended: nothing of the run may outlive it (Concourse destroys the container).
  void exited() {
    (void)::kill(-pid, SIGKILL);
    if (cgroups.tracking()) cgroups.kill_all();
    else if (signalled) signal_entries(tree, SIGKILL);
  }
};

// 5. Spawns the process (joining its cgroups before it execs), under a watchdog, and supervises it.
inline result<supervision> spawn_local(const local_process_options& options, local_run& run, io_ref io,
                                       const std::stop_token& stop, const std::function<void()>& print_warnings) {
  // With cgroups, the child joins them before it execs (a gate FIFO held by posix_spawn's file
  // actions), so nothing it forks can start outside them.
  struct join_context {
    run_cgroups* cgroups;
    std::vector<std::string>* warnings;
  } join{&run.cgroups, &run.warnings};
  spawn_request& req = run.req;
  const bool use_gate = run.cgroups.active() &&
                        thread_children(static_cast<pid_t>(::syscall(SYS_gettid))).has_value() &&
                        ::mkfifo((run.dir.root / "gate").c_str(), 0600) == 0;
  if (use_gate) {
    req.gate = run.dir.root / "gate";
    req.context = &join;
    req.before_exec = [](void* ctx, pid_t child_pid) {
      auto* j = static_cast<join_context*>(ctx);
      (void)j->cgroups->add(child_pid, *j->warnings);
    };
  }
  watchdog guard_dog;
  if (options.watchdog) {
    watchdog_plan plan;
    if (run.cgroups.tracking()) plan.cgroups.push_back(run.cgroups.unified());
    plan.mounts = run.dir.mounted;
    plan.remove = run.dir.root;
    if (auto w = watchdog::start(plan)) guard_dog = std::move(*w);
    else run.warnings.push_back(w.error().message() + ": the task may outlive a killed taskstep");
  }
  io.starting(io.self);
  auto child = spawn(req);
  if (!child) return fail(child.error());
  child_guard guard{child->pid, &run.cgroups};
  guard_dog.watch_group(child->pid);
  if (!use_gate) (void)run.cgroups.add(child->pid, run.warnings);  // joins after exec: see "Killing the whole tree"
  print_warnings();

  local_signals signals{child->pid, run.cgroups, io, {}, false};
  supervise_options so;
  so.grace = options.grace;
  so.immediate = options.immediate;
  const supervision ended = supervise({child->pid, child->out.get(), child->err.get()}, signals, stop, so);
  guard.pid = -1;
  run.cgroups.destroy();
  run.dir.unmount_all();
  return ended;
}

// The outputs and caches of a run, as the step registers them; the run directory stays when any.
inline void collect_local_outputs(const container_spec& spec, local_run& run, run_result& out) {
  for (const auto& s : run.planned.paths) {
    if (s.kind == staged::output) {
      const auto& o = spec.outputs[s.index];
      out.outputs[clean_path(o.path.empty() ? o.name : o.path)] = under(run.work, s.rel);
    } else if (s.kind == staged::cache) {
      out.caches[clean_path(spec.caches[s.index].path)] = under(run.work, s.rel);
    }
  }
  run.dir.unmount_all();
  run.dir.keep = run.kept || !out.outputs.empty() || !out.caches.empty();
}

// `keep`: a run that did not succeed stays, with its record (see "Keeping a failed run").
inline void keep_local_run(const local_process_options& options, const container_spec& spec, const supervision& ended,
                           local_run& run, io_ref io) {
  if (!options.keep || (ended.exit_status == 0 && !ended.stopped)) return;
  kept_run record;
  record.worker = "local";
  record.task = spec.step_name;
  record.job = spec.job;
  record.exit_status = ended.exit_status;
  record.stopped = ended.stopped;
  record.env = run.req.env;
  record.dir = run.planned.dir == "." ? std::string("work") : "work/" + run.planned.dir;
  if (run.user) {
    record.user = run.user->name;
    record.uid = run.user->uid;
    record.gid = run.user->gid;
  }
  record.mounts = run.overlays;
  if (auto written = write_kept_run(run.dir.root, std::move(record)); !written) {
    io.write(io.self, "[WARNING] the run is not kept: " + written.error().message() + "\n", true);
    return;
  }
  run.kept = true;
}

// The whole run, outside the template (see the file comment of local_process.hpp).
inline result<run_result> run_local(const local_process_options& options, artifact::cache_store& caches,
                                    const container_spec& spec, const process_spec& process, io_ref io,
                                    std::stop_token stop) {
  local_run run;
  if (auto checked = check_local_run(options, spec, process, run); !checked) return fail(checked.error());
  if (auto staged_ok = stage_local_run(options, caches, spec, run, stop); !staged_ok) return fail(staged_ok.error());
  if (auto prepared = prepare_local_command(spec, process, run); !prepared) return fail(prepared.error());
  make_local_cgroups(options, spec, run);

  const std::function<void()> print_warnings = [&] {
    if (options.print_warnings)
      for (const auto& w : run.warnings) io.write(io.self, "[WARNING] " + w + "\n", true);
    run.warnings.clear();
  };
  run_result out;
  if (stop.stop_requested() || options.immediate.stop_requested()) {
    print_warnings();
    out.stopped = true;
    collect_local_outputs(spec, run, out);
    return out;
  }
  print_warnings();
  auto ended = spawn_local(options, run, io, stop, print_warnings);
  if (!ended) return fail(ended.error());
  out.exit_status = ended->exit_status;
  out.stopped = ended->stopped;
  keep_local_run(options, spec, *ended, run, io);
  collect_local_outputs(spec, run, out);
  return out;
}

// Warnings `run_local` would print for `spec`, predicted without creating anything.
inline std::vector<std::string> predicted_warnings(const local_process_options& options, const container_spec& spec,
                                                   const process_spec& process) {
  std::vector<std::string> out;
  if (!std::holds_alternative<no_image>(spec.image))
    out.emplace_back("the local worker runs tasks on the host's root filesystem; the task's image is ignored");
  const std::string user = process.user.empty() ? spec.user : process.user;
  if (!user.empty() && ::geteuid() != 0) {
    std::vector<std::string> w;
    if (auto r = resolve_user(user, w); r) out.insert(out.end(), w.begin(), w.end());
  }
  const bool cgroups = options.use_cgroups && ::geteuid() == 0;
  auto writable = [&](const char* controller) {
    return cgroups && ::access((options.cgroup_root / controller).c_str(), W_OK) == 0;
  };
  if (spec.memory && *spec.memory != 0 && !writable("memory"))
    out.push_back("memory limit of " + std::to_string(*spec.memory) + " bytes is not enforced: " +
                  (cgroups ? "the cgroup v1 memory controller is not writable" : "the local worker needs root for cgroup limits"));
  if (spec.cpu && *spec.cpu != 0 && !writable("cpu"))
    out.push_back("cpu limit of " + std::to_string(*spec.cpu) + " shares is not enforced: " +
                  (cgroups ? "the cgroup v1 cpu controller is not writable" : "the local worker needs root for cgroup limits"));
  return out;
}

}  // namespace detail

//! The local process worker (models `worker_client`); see the file comment for the full behaviour.
//! Copyable and movable; one instance may run several tasks at once from different threads.
class local_process {
 public:
  explicit local_process(local_process_options options = {})
      : options_(std::move(options)),
        caches_(options_.cache_root.empty() ? detail::default_root("caches") : options_.cache_root) {
    if (options_.info.name.empty()) options_.info.name = "local";
    (void)reap_stale_runs(options_.work_root.empty() ? detail::default_root("runs") : options_.work_root,
                          {{}, "runc", options_.cgroup_root});
  }

  //! How this worker describes itself to placement.
  [[nodiscard]] const worker_info& info() const noexcept { return options_.info; }
  [[nodiscard]] const local_process_options& options() const noexcept { return options_; }
  //! The worker's cache store (caches are per worker, as in Concourse).
  [[nodiscard]] artifact::cache_store& caches() noexcept { return caches_; }

  //! Runs `process` in a fresh working directory described by `container`, streaming its output to
  //! `io`. A stop request gives `run_result::stopped = true` (outputs valid); errors mean nothing ran.
  template <process_io IO>
  result<run_result> run(const container_spec& container, const process_spec& process, IO& io, std::stop_token stop) {
    return detail::run_local(options_, caches_, container, process, detail::make_io_ref(io), std::move(stop));
  }

  //! The warnings `run` would print for this spec (limits not enforced, user or image ignored),
  //! without running anything, for a step that prefers to print them itself (`print_warnings = false`).
  [[nodiscard]] std::vector<std::string> warnings_for(const container_spec& container, const process_spec& process) const {
    return detail::predicted_warnings(options_, container, process);
  }

  //! Promotes the caches of a finished job build (Concourse: after any exit status, only when the
  //! build has a job). Does nothing for a stopped run or a one-off build. Moves a cache directory
  //! into the store when no output or other cache shares it, and copies it otherwise. Call it
  //! before `release`.
  result<void> commit_caches(const container_spec& container, const run_result& ran) {
    return detail::commit_run_caches(caches_, container, ran);
  }

  //! Removes the run directory holding `ran`'s outputs and caches. Call it when the build no longer
  //! needs them (after registering/copying the outputs and committing the caches).
  void release(const run_result& ran) const {
    detail::release_run_dirs(options_.work_root.empty() ? detail::default_root("runs") : options_.work_root, ran);
  }

 private:
  local_process_options options_;
  artifact::cache_store caches_;
};

static_assert(worker_client<local_process>,
              "taskstep: local_process must model worker_client (info() and run(container, process, io, stop))");

}  // namespace taskstep::worker
