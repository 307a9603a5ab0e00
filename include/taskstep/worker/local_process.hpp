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
//! When `stop` is requested, the whole process group gets SIGTERM, plus every process in the run's
//! cgroup (or, without cgroups, every descendant found in /proc). After `grace` (default 10 s, as
//! Garden) everything left gets SIGKILL. `run` then returns a **successful `result`** with
//! `run_result::stopped = true`: `exit_status` is what the process reported (meaningless to
//! Concourse), and `outputs`/`caches` are valid. The step registers the outputs and reports
//! `errc::cancelled` / `interrupted` (or `timeout exceeded`). Caches are not committed.
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
//! and copies them otherwise. Call it before `release`. A crash leaves `run-*` directories (and, as
//! root, overlay mounts) behind; they are not cleaned at start-up, because other processes may share
//! `work_root`.
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
#include "taskstep/worker/detail/run_paths.hpp"
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
  worker_info info{"local", "linux", {}, {}, {}, 0, 0, {}};
};

namespace detail {

// The process_io as a pair of function pointers: keeps the run loop out of the template.
struct io_ref {
  void* self;
  void (*starting)(void*);
  void (*write)(void*, std::string_view, bool is_err);
};

template <process_io IO>
io_ref make_io_ref(IO& io) {
  return {&io, [](void* self) { static_cast<IO*>(self)->starting(); },
          [](void* self, std::string_view bytes, bool is_err) {
            if (is_err) static_cast<IO*>(self)->err(bytes);
            else static_cast<IO*>(self)->out(bytes);
          }};
}

// Where a run lives, and what must be undone if it is abandoned.
struct run_dir {
  std::filesystem::path root;                  // <work_root>/run-XXXXXX
  std::vector<std::filesystem::path> mounted;  // overlay targets, in mount order
  bool keep = false;

  run_dir() = default;
  run_dir(const run_dir&) = delete;
  run_dir& operator=(const run_dir&) = delete;
  ~run_dir() {
    unmount_all();
    if (!keep && !root.empty()) (void)artifact::remove_tree(root);
  }
  void unmount_all() {
    for (auto it = mounted.rbegin(); it != mounted.rend(); ++it) (void)artifact::unmount(*it);
    mounted.clear();
  }
};

// Kills and reaps a spawned process if the run loop is left early (e.g. the io threw).
struct child_guard {
  pid_t pid = -1;
  run_cgroups* cgroups = nullptr;
  ~child_guard() {
    if (pid <= 0) return;
    (void)::kill(-pid, SIGKILL);
    if (cgroups != nullptr) cgroups->kill_all();
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
};

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

// The whole run, outside the template (see the file comment of local_process.hpp).
inline result<run_result> run_local(const local_process_options& options, artifact::cache_store& caches,
                                    const container_spec& spec, const process_spec& process, io_ref io,
                                    std::stop_token stop) {
  namespace fs = std::filesystem;
  using clock = std::chrono::steady_clock;
  // 1. Paths.
  auto planned = plan_staging(spec, process);
  if (!planned) return fail(planned.error());
  const std::vector<staged>& plan = planned->paths;
  const std::optional<std::string> dir_rel = planned->dir;

  std::vector<std::string> warnings;
  if (!std::holds_alternative<no_image>(spec.image))
    warnings.emplace_back("the local worker runs tasks on the host's root filesystem; the task's image is ignored");
  auto user = resolve_user(process.user.empty() ? spec.user : process.user, warnings);
  if (!user) return fail(user.error());

  const bool overlay_possible = options.staging != staging_mode::copy && artifact::overlay_available();
  if (options.staging == staging_mode::overlay && !overlay_possible)
    return fail(errc::worker, "overlay staging needs root and overlayfs (running as uid " + std::to_string(::geteuid()) + ")");

  // 2. The run directory and the staged mounts.
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
  run_dir run;
  run.root = templ;
  const fs::path work = run.root / "work";
  fs::create_directory(work, ec);
  if (ec) return fail(errc::worker, "could not create " + work.string() + ": " + ec.message());

  bool try_overlay = overlay_possible;
  for (const auto& s : plan) {
    const fs::path target = under(work, s.rel);
    // Created one level at a time without following links: an input staged earlier may hold a
    // link where a later input, output or cache goes.
    const std::string what = s.kind == staged::input    ? "input '" + spec.inputs[s.index].name + "' path"
                             : s.kind == staged::output ? "output '" + spec.outputs[s.index].name + "' path"
                                                        : std::string("cache path");
    auto made = open_inside(work, s.rel, true, what);
    if (!made) return fail(made.error());
    if (s.kind == staged::input) {
      const auto& in = spec.inputs[s.index];
      if (try_overlay && !holds_plain_dirs(*planned, s)) {
        const fs::path layer = run.root / "overlay" / std::to_string(s.index);
        auto mounted = artifact::mount_overlay(in.source, layer / "upper", layer / "work", target);
        if (mounted) {
          run.mounted.push_back(target);
          continue;
        }
        if (options.staging == staging_mode::overlay)
          return fail(mounted.error().prefixed("input '" + in.name + "': "));
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
  const fs::path cwd = under(work, *dir_rel);
  auto cwd_fd = open_inside(work, *dir_rel, true, "run.dir");
  if (!cwd_fd) return fail(cwd_fd.error());

  // 3. Environment, program, user.
  std::vector<std::string> env = spec.env;
  std::string path_value(default_path);
  if (const std::string* p = env_value(env, "PATH")) path_value = p->substr(5);
  else env.push_back("PATH=" + path_value);
  auto program = find_program(process.path, path_value, cwd);
  if (!program) return fail(program.error());
  spawn_request req;
  req.program = *program;
  req.env = std::move(env);
  req.cwd = cwd;
  req.argv.push_back(process.path);
  for (const auto& a : process.args) req.argv.push_back(a);
  if (*user) {
    auto setpriv = find_program("setpriv", default_path, cwd);
    if (!setpriv) {
      warnings.push_back("run.user '" + (*user)->name + "' is ignored: setpriv (util-linux) was not found");
    } else {
      std::vector<std::string> argv{"setpriv", "--reuid=" + std::to_string((*user)->uid),
                                    "--regid=" + std::to_string((*user)->gid), "--init-groups", "--",
                                    req.program.string()};
      argv.insert(argv.end(), process.args.begin(), process.args.end());
      req.program = *setpriv;
      req.argv = std::move(argv);
      (void)::chmod(run.root.c_str(), 0711);  // mkdtemp's 0700 would keep the user out
      // fchown on descriptors opened O_NOFOLLOW at every level: a link an input holds is refused,
      // never handed to the user.
      auto top = open_inside(work, ".", false, "working directory");
      if (!top) return fail(top.error());
      if (::fchown(top->get(), (*user)->uid, (*user)->gid) != 0 || ::fchown(cwd_fd->get(), (*user)->uid, (*user)->gid) != 0)
        return fail(errc::worker, "could not chown the working directory to " + (*user)->name + ": " + std::strerror(errno));
      for (const auto& s : plan) {
        if (s.kind == staged::input) continue;
        auto fd = open_inside(work, s.rel, false, s.kind == staged::output ? "output path" : "cache path");
        if (!fd) return fail(fd.error());
        if (auto owned = chown_tree_at(fd->get(), under(work, s.rel), (*user)->uid, (*user)->gid); !owned)
          return fail(owned.error());
      }
    }
  }

  // 4. Cgroups (limits and tree kill).
  run_cgroups cgroups;
  const bool want_limits = (spec.memory && *spec.memory != 0) || (spec.cpu && *spec.cpu != 0);
  if (options.use_cgroups && ::geteuid() == 0) {
    cgroups.create(options.cgroup_root, "taskstep-" + std::to_string(::getpid()) + "-" + run.root.filename().string(),
                   true, spec.memory, spec.cpu, warnings);
  } else if (want_limits) {
    if (spec.memory && *spec.memory != 0)
      warnings.push_back("memory limit of " + std::to_string(*spec.memory) +
                         " bytes is not enforced: the local worker needs root for cgroup limits");
    if (spec.cpu && *spec.cpu != 0)
      warnings.push_back("cpu limit of " + std::to_string(*spec.cpu) +
                         " shares is not enforced: the local worker needs root for cgroup limits");
  }

  run_result out;
  auto collect = [&] {
    for (const auto& s : plan) {
      if (s.kind == staged::output) {
        const auto& o = spec.outputs[s.index];
        out.outputs[clean_path(o.path.empty() ? o.name : o.path)] = under(work, s.rel);
      } else if (s.kind == staged::cache) {
        out.caches[clean_path(spec.caches[s.index].path)] = under(work, s.rel);
      }
    }
    run.unmount_all();
    run.keep = !out.outputs.empty() || !out.caches.empty();
  };
  auto print_warnings = [&] {
    if (!options.print_warnings) return;
    for (const auto& w : warnings) io.write(io.self, "[WARNING] " + w + "\n", true);
    warnings.clear();
  };

  if (stop.stop_requested()) {
    print_warnings();
    out.stopped = true;
    collect();
    return out;
  }

  // 5. Spawn and stream.
  print_warnings();
  // With cgroups, the child joins them before it execs (a gate FIFO held by posix_spawn's file
  // actions), so nothing it forks can start outside them.
  struct join_context {
    run_cgroups* cgroups;
    std::vector<std::string>* warnings;
  } join{&cgroups, &warnings};
  const bool use_gate = cgroups.active() && thread_children(static_cast<pid_t>(::syscall(SYS_gettid))).has_value() &&
                        ::mkfifo((run.root / "gate").c_str(), 0600) == 0;
  if (use_gate) {
    req.gate = run.root / "gate";
    req.context = &join;
    req.before_exec = [](void* ctx, pid_t child_pid) {
      auto* j = static_cast<join_context*>(ctx);
      (void)j->cgroups->add(child_pid, *j->warnings);
    };
  }
  io.starting(io.self);
  auto child = spawn(req);
  if (!child) return fail(child.error());
  child_guard guard{child->pid, &cgroups};
  const pid_t pid = child->pid;
  if (!use_gate) (void)cgroups.add(pid, warnings);  // joins after exec: see "Killing the whole tree"
  print_warnings();

  unique_fd pidfd(open_pidfd(pid));
  unique_fd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  std::stop_callback on_stop(stop, [fd = wake.get()] {
    const std::uint64_t one = 1;
    (void)!::write(fd, &one, sizeof one);
  });

  bool out_open = true, err_open = true;
  auto pump = [&](unique_fd& fd, bool& open, bool is_err) {
    char buf[65536];
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) io.write(io.self, std::string_view(buf, static_cast<std::size_t>(n)), is_err);
    else if (n == 0 || (errno != EAGAIN && errno != EINTR)) open = false;
  };

  bool term_sent = false, kill_sent = false;
  clock::time_point deadline{};
  std::vector<proc_entry> tree;  // descendants seen at stop time (no-cgroup mode)
  auto signal_tree = [&](int sig) {
    if (!cgroups.tracking()) {  // look before signalling: a dying parent hands its children to init
      auto now_tree = descendants(pid);
      tree.insert(tree.end(), now_tree.begin(), now_tree.end());
    }
    (void)::kill(-pid, sig);
    if (cgroups.tracking()) cgroups.signal_all(sig);
    else signal_entries(tree, sig);
  };

  for (;;) {
    pollfd fds[4];
    nfds_t n = 0;
    int out_i = -1, err_i = -1;
    if (out_open) { out_i = static_cast<int>(n); fds[n++] = {child->out.get(), POLLIN, 0}; }
    if (err_open) { err_i = static_cast<int>(n); fds[n++] = {child->err.get(), POLLIN, 0}; }
    if (wake.valid()) fds[n++] = {wake.get(), POLLIN, 0};
    if (pidfd.valid()) fds[n++] = {pidfd.get(), POLLIN, 0};
    int timeout = pidfd.valid() && wake.valid() ? -1 : 20;  // without them, look every 20 ms
    if (term_sent && !kill_sent) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count() + 1;
      const int ms = static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
      timeout = timeout < 0 ? ms : std::min(timeout, ms);
    }
    const int ready = ::poll(fds, n, timeout);
    if (ready < 0 && errno != EINTR) break;
    if (ready > 0) {
      if (out_i >= 0 && fds[out_i].revents != 0) pump(child->out, out_open, false);
      if (err_i >= 0 && fds[err_i].revents != 0) pump(child->err, err_open, true);
    }
    if (stop.stop_requested() && !term_sent) {
      std::uint64_t drained = 0;
      (void)!::read(wake.get(), &drained, sizeof drained);
      term_sent = true;
      deadline = clock::now() + options.grace;
      signal_tree(SIGTERM);
    }
    if (term_sent && !kill_sent && clock::now() >= deadline) {
      kill_sent = true;
      signal_tree(SIGKILL);
      if (cgroups.tracking()) cgroups.kill_all();
    }
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) break;
  }

  // 6. The process has ended (still a zombie, so its pid and group id are not reused yet): kill
  // what is left of the run, reap it, and read the pipes to their end.
  (void)::kill(-pid, SIGKILL);
  if (cgroups.tracking()) cgroups.kill_all();
  else if (term_sent) signal_entries(tree, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  guard.pid = -1;
  const auto drain_deadline = clock::now() + std::chrono::seconds(1);
  while ((out_open || err_open) && clock::now() < drain_deadline) {
    pollfd fds[2];
    nfds_t n = 0;
    int out_i = -1, err_i = -1;
    if (out_open) { out_i = static_cast<int>(n); fds[n++] = {child->out.get(), POLLIN, 0}; }
    if (err_open) { err_i = static_cast<int>(n); fds[n++] = {child->err.get(), POLLIN, 0}; }
    const int ready = ::poll(fds, n, 50);
    if (ready < 0 && errno != EINTR) break;
    if (ready > 0) {
      if (out_i >= 0 && fds[out_i].revents != 0) pump(child->out, out_open, false);
      if (err_i >= 0 && fds[err_i].revents != 0) pump(child->err, err_open, true);
    }
  }
  cgroups.destroy();

  out.exit_status = exit_status(status);
  out.stopped = term_sent;
  collect();
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
