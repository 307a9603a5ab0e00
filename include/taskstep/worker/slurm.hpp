#pragma once
//! \file
//! `slurm`: a worker that runs each task step as a Slurm job step with `srun` (models
//! `worker_client`). See docs/slurm.md for the mapping, the cluster set-up and the Kubernetes sketch.
//!
//! ## What a run does
//! 1. **Checks.** Paths (inputs, outputs, caches, `run.dir`) are resolved as the local worker resolves
//!    them; an escape (`../x`) is refused with `errc::worker`. A platform other than `linux` and a
//!    tag that is not a plain Slurm feature name (`[A-Za-z0-9_.+-]`) are refused.
//! 2. **Staging** under `shared_root` (a directory the nodes see at the same path):
//!    `run-XXXXXX/work` is the working directory. Inputs are **copied** (`artifact::copy_tree`;
//!    an overlay mount on this host would be invisible to the nodes), outputs are empty
//!    directories, caches are private copies of the worker's `artifact::cache_store` entry (same
//!    keys as `local_process`).
//!    With an image (`image_artifact` or `rootfs_uri` `raw:///dir`), `oci::prepare_container` builds
//!    the OCI bundle in the run directory (the same bundle the runc worker uses); its inputs are then
//!    copied as well, and `srun --container=<bundle>` runs the task through the cluster's oci.conf.
//! 3. **srun** `--quiet --export=NONE --job-name=<job>/<step> --comment=taskstep:<run dir>`
//!    `--chdir=<cwd> --immediate=<allocation_wait> [--partition] [--constraint=a&b] [--mem=MiB]`
//!    `[--cpus-per-task=N] [--container=B] /usr/bin/env -- NAME=value... <program> <args...>`.
//!    - The environment is `container_spec::env` (+ Garden's `PATH` when it has none) on top of
//!      Slurm's job context: `SLURM_JOB_ID`, `SLURM_STEP_ID`, `SLURM_JOB_NODELIST`, `SLURM_NTASKS`,
//!      `SLURM_CPUS_PER_TASK` (with a cpu limit), ... whatever srun and slurmstepd set (also `TMPDIR`),
//!      as a job step has them. `--export=NONE` keeps the submitting process's own environment out.
//!      `--export=NAME=V,...` splits values on commas, so the task's variables travel as `env`
//!      arguments instead (they win over Slurm's of the same name). A bare `run.path` is
//!      resolved on this host in the task's PATH (the nodes are expected to look the same) because
//!      `--export=NONE` needs an absolute program. In a container the image's PATH resolves it, and
//!      `env` sets the task's variables when the image has `/usr/bin/env` or `/bin/env` (Slurm adds
//!      its `SLURM_*` variables to the bundle's environment either way).
//!    - `memory` (bytes) → `--mem` in MiB, rounded up; `cpu` shares → `--cpus-per-task` =
//!      ceil(shares / 1024), at least 1 (Garden gives 1024 shares per CPU); 0 or unset → the
//!      partition's defaults. Enforcement is the cluster's (cgroup task plugin).
//!    - stdout/stderr are streamed live; srun's own lines (`srun: ...`, `slurmstepd...`) are held
//!      back and turned into errors, or passed on at the end when they mean nothing special.
//!    - The exit status is srun's, which is the task's (137 for a task killed by SIGKILL).
//! 4. **Slurm errors** become `errc::worker` errors naming the cause: an unknown partition, an
//!    unsatisfiable constraint, an unreachable controller, no allocation within `allocation_wait`,
//!    the memory limit exceeded (`memory limit of N bytes was exceeded`), a job cancelled or
//!    preempted by someone else, a failed exec. Every wait is bounded: srun's allocation by
//!    `--immediate`, srun as a whole by `start_timeout` until the job is seen running, each
//!    sinfo/squeue/scancel call by `tool_timeout`.
//!
//! ## Cancellation
//! srun turns a SIGTERM into an immediate SIGKILL of the step, so the worker signals the step
//! itself: on a stop request it finds the job by its comment (`squeue`) and sends
//! `scancel --signal=TERM <job>` (the task can trap it); after `grace` it sends srun SIGTERM
//! (srun then SIGKILLs the step and ends the job at once); should srun still run 5 s later, it
//! runs `scancel <job>` and SIGKILLs srun. A job still waiting for its allocation is cancelled at once. Before returning, it
//! waits (bounded) until the job has left `squeue`. The result is `stopped = true` with valid
//! outputs, as for `local_process`. A request on `slurm_options::immediate` skips the grace: srun
//! gets SIGTERM at once. The loop is `worker::supervise` (supervisor.hpp); these steps are its policy.
//!
//! ## When taskstep dies
//! Each run has a `worker::watchdog`: should taskstep be killed (even SIGKILL) during the run, it
//! SIGKILLs srun, runs `scancel` on the job found by its comment (through `command_prefix` and
//! `client_env`) and removes the run directory. Run directories are claimed (`worker::claim_run`)
//! and the constructor reaps the run directories of dead owners in `shared_root`
//! (`worker::reap_stale_runs`; a job whose watchdog died too is not cancelled by it).
//!
//! ## Ownership
//! Like `local_process`: outputs and caches stay under `shared_root` until `release(result)`;
//! `commit_caches` promotes the caches of a finished job build.
//!
//! `info()` is what `refresh()` last learnt from `sinfo`/`squeue` (partition, node features as
//! tags, running jobs); `refresh()` must not run concurrently with `info()` or `run()`.

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
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
#include "taskstep/worker/detail/process.hpp"
#include "taskstep/worker/detail/run.hpp"
#include "taskstep/worker/detail/run_paths.hpp"
#include "taskstep/worker/oci/container.hpp"
#include "taskstep/worker/slurm/tools.hpp"
#include "taskstep/worker/reaper.hpp"
#include "taskstep/worker/supervisor.hpp"
#include "taskstep/worker/worker_client.hpp"

namespace taskstep::worker {

//! Settings of a `slurm` worker.
struct slurm_options {
  std::string partition;                  //!< `--partition`; empty = the cluster's default partition
  std::filesystem::path shared_root;      //!< run directories, on a filesystem the nodes share; empty = `$TMPDIR/taskstep/slurm-runs`
  std::filesystem::path cache_root;       //!< the cache store; empty = `$TMPDIR/taskstep/caches`
  std::chrono::milliseconds grace{10000};  //!< `scancel --signal=TERM` → `scancel` delay on stop
  std::chrono::seconds allocation_wait{300};     //!< `--immediate`: give up when no allocation comes sooner
  std::chrono::seconds start_timeout{0};         //!< srun must be running by then; 0 = allocation_wait + 30 s
  std::chrono::milliseconds tool_timeout{15000};  //!< each sinfo/squeue/scancel call
  std::vector<std::string> command_prefix;  //!< before every client tool, e.g. `{"nsenter", "--net=/run/netns/x"}`
  std::vector<std::string> client_env;      //!< `NAME=value` for the client tools (e.g. `SLURM_CONF=...`)
  std::string srun = "srun";
  std::string sinfo = "sinfo";
  std::string squeue = "squeue";
  std::string scancel = "scancel";
  std::string env_program = "/usr/bin/env";  //!< on the nodes: sets the task's variables over Slurm's
  bool copy_rootfs = false;  //!< images: copy the rootfs into the bundle (needed when the nodes are other hosts)
  //! `refresh()` adds the partition's node features to `info().tags`. As in Concourse, a tagged
  //! worker then takes only tagged steps; turn it off to let untagged steps reach the cluster too.
  bool advertise_features = true;
  bool print_warnings = true;                //!< write `[WARNING] ...` lines to io.err before starting
  std::stop_token immediate;  //!< a request here ends a running step at once (srun SIGTERM: the step is SIGKILLed)
  bool watchdog = true;       //!< per-run watchdog: the job is cancelled when taskstep dies, even on SIGKILL
  worker_info info{"slurm", "linux", {}, {}, {}, 0, 0, {}};
};

//! What `refresh()` learnt about the worker's partition.
struct slurm_cluster_state {
  std::string partition;             //!< the partition used (the default one when none is configured)
  std::vector<std::string> features;  //!< node features of the partition (sorted, unique)
  std::uint64_t idle_cpus = 0;
  std::uint64_t total_cpus = 0;
  std::uint64_t running_jobs = 0;
  std::uint64_t pending_jobs = 0;
};

namespace slurm_detail {

using io_ref = detail::io_ref;

// `--mem` in MiB (rounded up, at least 1) for a limit in bytes.
inline std::uint64_t memory_mib(std::uint64_t bytes) { return std::max<std::uint64_t>(1, (bytes + (1u << 20) - 1) >> 20); }

// `--cpus-per-task` for cpu shares: ceil(shares / 1024), at least 1.
inline std::uint64_t cpus_for_shares(std::uint64_t shares) { return std::max<std::uint64_t>(1, (shares + 1023) / 1024); }

inline bool feature_name(std::string_view tag) {
  return !tag.empty() && std::all_of(tag.begin(), tag.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.' || c == '+';
  });
}

inline std::string job_name(const container_spec& spec) {
  std::string step = spec.step_name.empty() ? "taskstep" : spec.step_name;
  return spec.job.empty() ? step : spec.job + "/" + step;
}

inline std::string constraint(const std::vector<std::string>& tags) {
  std::string out;
  for (const auto& t : tags) out += (out.empty() ? "" : "&") + t;
  return out;
}

// Turns srun's held diagnostics into an error when they explain a failure; nullopt otherwise.
inline std::optional<error> classify(const std::string& diag, int status, const slurm_options& options,
                                     const container_spec& spec, std::chrono::seconds wait) {
  auto has = [&](std::string_view s) { return diag.find(s) != std::string::npos; };
  const std::string partition = options.partition.empty() ? "the default partition" : "partition '" + options.partition + "'";
  if (has("Out Of Memory") || has("oom-kill") || has("OUT_OF_MEMORY")) {
    if (status == 0) return std::nullopt;
    if (spec.memory && *spec.memory != 0)
      return error(errc::worker, "memory limit of " + std::to_string(*spec.memory) +
                                     " bytes was exceeded: Slurm killed the task (" + line_with(diag, "Out Of Memory") + ")");
    return error(errc::worker, "the task ran out of memory in its Slurm allocation (" + line_with(diag, "oom") + ")");
  }
  if (status == 0) return std::nullopt;
  if (has("Invalid partition name") || has("invalid partition specified"))
    return error(errc::worker, "Slurm has no partition '" + options.partition + "' (" +
                                   line_with(diag, "Unable to allocate resources") + ")");
  if (has("Requested node configuration is not available") || has("Invalid feature specification"))
    return error(errc::worker, "no Slurm node in " + partition + " satisfies the step's tags (--constraint=" +
                                   constraint(spec.tags) + "): " + line_with(diag, "Unable to allocate resources"));
  if (has("Unable to contact slurm controller") || has("Unable to establish Slurm connection") ||
      has("Socket timed out") || has("Zero Bytes were transmitted"))
    return error(errc::worker, "the Slurm controller is not reachable: " + line_with(diag, "srun: error"));
  if (has("Requested nodes are busy") || has("Immediate execution impossible") || has("Job allocation") ||
      has("Unable to allocate resources"))
    return error(errc::worker, "Slurm gave no allocation within " + std::to_string(wait.count()) + " s: " +
                                   line_with(diag, "srun: error"));
  if (has("PREEMPTED") || has("CANCELLED") || has("DUE TO TIME LIMIT") || has("DUE TO NODE FAILURE"))
    return error(errc::worker, "the Slurm job was cancelled, preempted or killed by Slurm: " + line_with(diag, "***"));
  if (has("execve()"))
    return error(errc::worker, "exec on the Slurm node failed: " + line_with(diag, "execve()"));
  return std::nullopt;
}

// srun's lines that carry no information beyond the exit status.
inline bool routine_line(std::string_view line, bool stopped) {
  if (line.find("Exited with exit code") != std::string_view::npos) return true;
  if (line.find(": Killed") != std::string_view::npos && line.find("task ") != std::string_view::npos) return true;
  if (line.find("JSON parsing error") != std::string_view::npos) return true;  // harmless oci noise (22.05)
  return stopped && (line.find("CANCELLED") != std::string_view::npos || line.find("Terminated") != std::string_view::npos ||
                     line.find("revoked") != std::string_view::npos || line.find("Force Terminated") != std::string_view::npos);
}

// The id of the job carrying `comment` ("" when none: not submitted yet, or already gone), or
// why squeue could not say.
inline result<std::string> query_job(const tool_launcher& l, const slurm_options& o, const std::string& comment) {
  auto q = run_tool(l, o.squeue, {"-h", "--all", "-o", "%i|%k"}, o.tool_timeout);
  if (!q) return fail(q.error());
  if (q->status != 0) return fail(errc::worker, "squeue failed: " + q->err.substr(0, q->err.find('\n')));
  std::istringstream in(q->out);
  std::string line;
  while (std::getline(in, line)) {
    const auto bar = line.find('|');
    if (bar != std::string::npos && line.substr(bar + 1) == comment) return line.substr(0, bar);
  }
  return std::string();
}

inline std::string find_job(const tool_launcher& l, const slurm_options& o, const std::string& comment) {
  return query_job(l, o, comment).value_or(std::string());
}

// Waits (bounded) until no job with `comment` is left in squeue, cancelling it when needed.
inline void ensure_gone(const tool_launcher& l, const slurm_options& o, const std::string& comment) {
  const auto until = std::chrono::steady_clock::now() + std::max(o.tool_timeout, std::chrono::milliseconds(10000));
  bool cancelled = false;
  while (std::chrono::steady_clock::now() < until) {
    const std::string job = find_job(l, o, comment);
    if (job.empty()) return;
    if (!cancelled) {
      (void)run_tool(l, o.scancel, {job}, o.tool_timeout);
      cancelled = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// The staged run: the run directory (host path) or the prepared bundle.
struct staged_run {
  detail::run_dir dir;                      // host runs
  std::optional<oci::prepared_container> box;  // container runs
  std::filesystem::path root;
  std::map<std::string, std::filesystem::path> outputs, caches;
};

// Stages a run without an image under `shared_root` (inputs copied). Returns the cwd.
inline result<std::filesystem::path> stage_host(const std::filesystem::path& shared_root, artifact::cache_store& caches,
                                                const container_spec& spec, const process_spec& process, staged_run& run) {
  namespace fs = std::filesystem;
  using detail::staged;
  auto planned = detail::plan_staging(spec, process);
  if (!planned) return fail(planned.error());
  const std::vector<staged>& plan = planned->paths;
  const std::optional<std::string> dir_rel = planned->dir;

  std::error_code ec;
  fs::create_directories(shared_root, ec);
  if (ec) return fail(errc::worker, "could not create " + shared_root.string() + ": " + ec.message());
  std::string templ = (fs::absolute(shared_root) / "run-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr)
    return fail(errc::worker, "could not create a run directory in " + shared_root.string() + ": " + std::strerror(errno));
  run.dir.root = templ;
  run.root = templ;
  (void)::chmod(run.root.c_str(), 0711);
  const fs::path work = run.root / "work";
  fs::create_directory(work, ec);
  if (ec) return fail(errc::worker, "could not create " + work.string() + ": " + ec.message());
  for (const auto& s : plan) {
    const fs::path target = detail::under(work, s.rel);
    if (s.kind == staged::input) {
      const auto& in = spec.inputs[s.index];
      auto copied = artifact::copy_tree(in.source, target);
      if (!copied) return fail(copied.error().prefixed("input '" + in.name + "': "));
    } else if (s.kind == staged::output) {
      fs::create_directories(target, ec);
      if (ec) return fail(errc::worker, "could not create output " + target.string() + ": " + ec.message());
      const auto& o = spec.outputs[s.index];
      run.outputs[clean_path(o.path.empty() ? o.name : o.path)] = target;
    } else {
      auto staged_cache = caches.stage({spec.team, spec.job, spec.step_name, s.rel}, target);
      if (!staged_cache) return fail(staged_cache.error().prefixed("cache '" + s.rel + "': "));
      run.caches[clean_path(spec.caches[s.index].path)] = target;
    }
  }
  const fs::path cwd = detail::under(work, *dir_rel);
  fs::create_directories(cwd, ec);
  if (ec) return fail(errc::worker, "could not create run.dir " + cwd.string() + ": " + ec.message());
  return cwd;
}

// The image root of a container spec, or nullopt for `no_image`.
inline result<std::optional<oci::image_root>> image_of(const container_spec& spec) {
  if (std::holds_alternative<no_image>(spec.image)) return std::optional<oci::image_root>{};
  oci::image_root image;
  if (const auto* art = std::get_if<image_artifact>(&spec.image)) {
    image.rootfs = art->dir / "rootfs";  // its metadata.json was applied by the step
  } else if (const auto* uri = std::get_if<rootfs_uri_spec>(&spec.image)) {
    auto dir = oci::rootfs_from_uri(uri->uri);
    if (!dir) return fail(dir.error());
    image.rootfs = *dir;
  } else {
    return fail(errc::worker,
                "the Slurm worker cannot fetch image_resource images; give the task an image artifact (a directory "
                "with rootfs/ and metadata.json) or rootfs_uri raw:///dir");
  }
  return std::optional<oci::image_root>{std::move(image)};
}

// Stages a container run: the OCI bundle under `shared_root`, with inputs copied (not overlays).
inline result<void> stage_container(const std::filesystem::path& shared_root, artifact::cache_store& caches,
                                    const container_spec& spec, const process_spec& process,
                                    const oci::image_root& image, staged_run& run, bool copy_rootfs) {
  namespace fs = std::filesystem;
  auto prepared = oci::prepare_container({shared_root, false, 65535, copy_rootfs}, caches, spec, process, image);
  if (!prepared) return fail(prepared.error());
  oci::prepared_container& box = run.box.emplace(std::move(*prepared));
  // Inputs as overlays inside the container would need the sources on the nodes: copy them.
  auto& mounts = box.spec.mounts;
  for (auto it = mounts.begin(); it != mounts.end();) {
    if (it->type != "overlay") {
      ++it;
      continue;
    }
    std::string lower;
    for (const auto& opt : it->options)
      if (opt.rfind("lowerdir=", 0) == 0) lower = opt.substr(9);
    const std::string working_dir = spec.working_dir.empty() ? "/tmp/build/taskstep" : spec.working_dir;
    const std::string rel = it->destination.substr(std::min(it->destination.size(), working_dir.size() + 1));
    auto copied = artifact::copy_tree(lower, box.work / rel);
    if (!copied) return fail(copied.error().prefixed("input at " + rel + ": "));
    it = mounts.erase(it);
  }
  (void)artifact::remove_tree(box.root / "layers");
  std::error_code ec;
  box.spec.memory_swap = fs::exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", ec);
  run.root = box.root;
  run.outputs = box.outputs;
  run.caches = box.caches;
  return {};
}

// What srun runs (after its options) and where, for a staged run.
struct srun_command {
  std::vector<std::string> argv;
  std::string chdir;
};

// 1. Checks the spec and stages the run: a host run directory, or an OCI bundle for an image.
inline result<srun_command> stage_slurm_run(const slurm_options& options, artifact::cache_store& caches,
                                            const container_spec& spec, const process_spec& process, staged_run& run,
                                            std::vector<std::string>& warnings) {
  namespace fs = std::filesystem;
  if (!spec.platform.empty() && spec.platform != "linux")
    return fail(errc::worker, "the Slurm worker runs linux tasks; the task asks for platform '" + spec.platform + "'");
  for (const auto& t : spec.tags)
    if (!feature_name(t))
      return fail(errc::worker, "tag '" + t + "' cannot be a Slurm node feature (letters, digits, _ . + - only)");
  auto image = image_of(spec);
  if (!image) return fail(image.error());
  const fs::path shared_root = options.shared_root.empty() ? detail::default_root("slurm-runs") : options.shared_root;
  srun_command cmd;
  if (!*image) {
    auto cwd = stage_host(shared_root, caches, spec, process, run);
    if (!cwd) return fail(cwd.error());
    cmd.chdir = cwd->string();
    std::vector<std::string> env = spec.env;
    std::string path_value(detail::default_path);
    if (const std::string* p = detail::env_value(env, "PATH")) path_value = p->substr(5);
    else env.push_back("PATH=" + path_value);
    auto program = detail::find_program(process.path, path_value, *cwd);
    if (!program) return fail(program.error());
    cmd.argv = {options.env_program, "--"};  // over Slurm's job context (--export=NONE: nothing of ours)
    cmd.argv.insert(cmd.argv.end(), env.begin(), env.end());
    cmd.argv.push_back(fs::absolute(*program).lexically_normal().string());
    cmd.argv.insert(cmd.argv.end(), process.args.begin(), process.args.end());
    const std::string user = process.user.empty() ? spec.user : process.user;
    if (!user.empty()) warnings.push_back("run.user '" + user + "' is ignored: Slurm runs the task as the submitting user");
    if (spec.privileged) warnings.emplace_back("privileged is ignored: without an image the task runs on the node's host");
    return cmd;
  }
  auto staged = stage_container(shared_root, caches, spec, process, **image, run, options.copy_rootfs);
  if (!staged) return fail(staged.error());
  auto& box = *run.box;
  cmd.chdir = box.spec.cwd;
  const bool has_env = [&] {
    struct stat st {};
    for (const char* p : {"/usr/bin/env", "/bin/env"})
      if (::lstat((box.spec.rootfs.string() + p).c_str(), &st) == 0) return true;
    return false;
  }();
  if (has_env) {
    std::vector<std::string> cenv = box.spec.env;
    if (!detail::env_value(cenv, "PATH"))
      cenv.emplace_back(box.spec.privileged ? "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
                                            : "PATH=/usr/local/bin:/usr/bin:/bin");
    cmd.argv = {"env", "--"};
    cmd.argv.insert(cmd.argv.end(), cenv.begin(), cenv.end());
  }
  cmd.argv.insert(cmd.argv.end(), box.spec.args.begin(), box.spec.args.end());
  auto written = oci::write_config(box.bundle, box.spec);
  if (!written) return fail(written.error());
  return cmd;
}

// 2. srun's own options, then the command.
inline std::vector<std::string> srun_arguments(const slurm_options& options, const container_spec& spec,
                                               const staged_run& run, const std::string& comment, const srun_command& cmd) {
  std::vector<std::string> args{"--quiet", "--export=NONE", "--job-name=" + job_name(spec), "--comment=" + comment,
                                "--chdir=" + cmd.chdir, "--ntasks=1", "--nodes=1",
                                "--immediate=" + std::to_string(std::max<long long>(1, options.allocation_wait.count()))};
  if (!options.partition.empty()) args.push_back("--partition=" + options.partition);
  if (!spec.tags.empty()) args.push_back("--constraint=" + constraint(spec.tags));
  if (spec.memory && *spec.memory != 0) args.push_back("--mem=" + std::to_string(memory_mib(*spec.memory)));
  if (spec.cpu && *spec.cpu != 0) args.push_back("--cpus-per-task=" + std::to_string(cpus_for_shares(*spec.cpu)));
  if (run.box) args.push_back("--container=" + run.box->bundle.string());
  args.insert(args.end(), cmd.argv.begin(), cmd.argv.end());
  return args;
}

// True when squeue says the job is RUNNING (`why` gets squeue's failure, when asked).
inline bool job_running(const tool_launcher& l, const slurm_options& o, const std::string& job_id,
                        std::string* why = nullptr) {
  if (job_id.empty()) return false;
  auto state = run_tool(l, o.squeue, {"-h", "-j", job_id, "-o", "%T"}, o.tool_timeout);
  if (!state && why != nullptr && why->empty()) *why = state.error().message();
  return state && state->out.rfind("RUNNING", 0) == 0;
}

// How the supervisor signals srun (see "Cancellation" in the file comment): the step with
// `scancel --signal=TERM`, then srun with SIGTERM, then `scancel` and SIGKILL; plus the start timeout.
struct srun_signals {
  using clock = std::chrono::steady_clock;
  srun_signals(const tool_launcher& l, const slurm_options& o, const std::string& c, io_ref i, diagnostics_filter& f,
               pid_t p, clock::time_point by)
      : launcher(l), options(o), comment(c), io(i), filter(f), pid(p), start_by(by) {}
  const tool_launcher& launcher;
  const slurm_options& options;
  const std::string& comment;
  io_ref io;
  diagnostics_filter& filter;
  pid_t pid;
  clock::time_point start_by;
  bool running_seen = false, term_sent = false, kill_sent = false, hard_sent = false, start_failed = false;
  std::string job_id, start_why;
  clock::time_point hard_at{};

  void out(std::string_view b) { io.write(io.self, b, false); }
  void err(std::string_view b) {
    filter.feed(b, [this](std::string_view x) { io.write(io.self, x, true); });
  }
  void signal_graceful() {
    if (start_failed) return;
    term_sent = true;
    job_id = find_job(launcher, options, comment);
    if (job_running(launcher, options, job_id)) (void)run_tool(launcher, options.scancel, {"--signal=TERM", job_id}, options.tool_timeout);
    else (void)::kill(-pid, SIGTERM);  // still waiting for its allocation: srun withdraws it
  }
  // srun answers SIGTERM by killing the step at once (SIGKILL) and ending the job, which is faster
  // than scancel (the job would stay COMPLETING for KillWait).
  void signal_kill() {
    if (start_failed) return;
    term_sent = kill_sent = true;
    (void)::kill(pid, SIGTERM);
    hard_at = clock::now() + std::chrono::seconds(5);
  }
  [[nodiscard]] clock::time_point deadline() const {
    if (kill_sent && !hard_sent) return hard_at;
    if (!running_seen && !term_sent) return start_by;
    return clock::time_point::max();
  }
  void on_deadline() {
    if (kill_sent && !hard_sent) {
      hard_sent = true;
      if (job_id.empty()) job_id = find_job(launcher, options, comment);
      if (!job_id.empty()) (void)run_tool(launcher, options.scancel, {job_id}, options.tool_timeout);
      (void)::kill(-pid, SIGKILL);
    } else if (!running_seen && !term_sent) {
      check_started();
    }
  }
  // The start timeout: srun must be running a job by now, or the run fails (job cancelled).
  void check_started() {
    auto job = query_job(launcher, options, comment);
    if (!job) start_why = job.error().message();
    job_id = job.value_or(std::string());
    if (job_running(launcher, options, job_id, &start_why)) {
      running_seen = true;
      return;
    }
    start_failed = true;
    if (!job_id.empty()) (void)run_tool(launcher, options.scancel, {job_id}, options.tool_timeout);
    (void)::kill(-pid, SIGKILL);
    term_sent = kill_sent = hard_sent = true;
  }
  void exited() { (void)::kill(-pid, SIGKILL); }  // srun's helpers, if any
};

// What the watchdog runs (in the client environment) when taskstep dies during a run: `scancel`
// of the job found by its comment.
inline std::vector<std::string> scancel_by_comment(const slurm_options& o, const std::string& comment) {
  std::vector<std::string> argv = o.command_prefix;
  argv.insert(argv.end(), {"/bin/sh", "-c",
                           "\"$1\" -h --all -o '%i|%k' | C=\"$3\" awk -F'|' '$2 == ENVIRON[\"C\"] {print $1}' | "
                           "while read -r j; do \"$2\" \"$j\"; done",
                           "sh", o.squeue, o.scancel, comment});
  return argv;
}

// Turns what srun left (status, held diagnostics) into the run's result or a Slurm error.
inline result<void> srun_outcome(const slurm_options& options, const container_spec& spec, const srun_signals& s,
                                 const std::string& diag, int srun_status) {
  if (s.start_failed) {
    if (auto e = classify(diag, 1, options, spec, options.allocation_wait)) return fail(*e);
    const long long secs = options.start_timeout.count() > 0 ? options.start_timeout.count()
                                                             : options.allocation_wait.count() + 30;
    if (!s.start_why.empty())
      return fail(errc::worker, "the Slurm controller is not reachable: srun had no allocation after " +
                                    std::to_string(secs) + " s and " + s.start_why);
    return fail(errc::worker, "Slurm did not start the job within " + std::to_string(secs) +
                                  " s (srun was killed; the job is cancelled)" +
                                  (diag.empty() ? std::string() : ": " + line_with(diag, "srun")));
  }
  if (!s.term_sent) {
    if (auto e = classify(diag, srun_status, options, spec, options.allocation_wait)) return fail(*e);
  }
  return {};
}

// The whole run, outside the template.
inline result<run_result> run_slurm(const slurm_options& options, artifact::cache_store& caches,
                                    const container_spec& spec, const process_spec& process, io_ref io,
                                    std::stop_token stop) {
  using clock = std::chrono::steady_clock;
  const tool_launcher launcher{options.command_prefix, options.client_env};
  std::vector<std::string> warnings;
  staged_run run;
  auto cmd = stage_slurm_run(options, caches, spec, process, run, warnings);
  if (!cmd) return fail(cmd.error());
  (void)claim_run(run.root);

  run_result out;
  auto collect = [&] {
    out.outputs = run.outputs;
    out.caches = run.caches;
    const bool keep = !out.outputs.empty() || !out.caches.empty();
    if (run.box) {
      run.box->keep = keep;
      run.box->finish();
    } else {
      run.dir.keep = keep;
    }
  };
  if (options.print_warnings)
    for (const auto& w : warnings) io.write(io.self, "[WARNING] " + w + "\n", true);
  if (stop.stop_requested() || options.immediate.stop_requested()) {
    out.stopped = true;
    collect();
    return out;
  }

  const std::string comment = "taskstep:" + run.root.string();
  auto req = tool_request(launcher, options.srun, srun_arguments(options, spec, run, comment, *cmd), run.root);
  if (!req) return fail(req.error());
  watchdog dog;
  if (options.watchdog) {
    watchdog_plan plan;
    plan.commands.push_back(scancel_by_comment(options, comment));
    plan.env = client_environment(options.client_env);  // SLURM_CONF and the like
    if (run.box && run.box->rootfs_mounted) plan.mounts.push_back(run.box->bundle / "rootfs");
    plan.remove = run.root;
    if (auto w = watchdog::start(plan)) dog = std::move(*w);
  }
  io.starting(io.self);
  auto child = detail::spawn(*req);
  if (!child) return fail(child.error().prefixed("srun: "));
  detail::child_guard guard{child->pid, nullptr};
  dog.watch_group(child->pid);

  diagnostics_filter filter;
  const auto start_limit = options.start_timeout.count() > 0
                               ? std::chrono::duration_cast<clock::duration>(options.start_timeout)
                               : std::chrono::duration_cast<clock::duration>(options.allocation_wait + std::chrono::seconds(30));
  srun_signals signals(launcher, options, comment, io, filter, child->pid, clock::now() + start_limit);
  supervise_options so;
  so.grace = options.grace;
  so.immediate = options.immediate;
  const supervision ended = supervise({child->pid, child->out.get(), child->err.get()}, signals, stop, so);
  guard.pid = -1;
  filter.finish([&](std::string_view x) { io.write(io.self, x, true); });
  const bool stopped = signals.term_sent && !signals.start_failed;
  if (signals.term_sent && signals.start_why.empty()) ensure_gone(launcher, options, comment);
  dog.disarm();

  const std::string& diag = filter.diagnostics();
  if (auto failed = srun_outcome(options, spec, signals, diag, ended.exit_status); !failed) return fail(failed.error());
  std::istringstream lines(diag);
  std::string line;
  while (std::getline(lines, line))
    if (!routine_line(line, stopped)) io.write(io.self, line + "\n", true);
  out.exit_status = ended.exit_status;
  out.stopped = stopped;
  collect();
  return out;
}

// Parses `sinfo -h -o %P|%f|%C` and `squeue -h -o %T` into a state.
inline result<slurm_cluster_state> query_state(const slurm_options& options) {
  const tool_launcher launcher{options.command_prefix, options.client_env};
  std::vector<std::string> args{"-h", "-o", "%P|%f|%C"};
  if (!options.partition.empty()) args.push_back("--partition=" + options.partition);
  auto info = run_tool(launcher, options.sinfo, args, options.tool_timeout);
  if (!info) return fail(info.error());
  if (info->status != 0) {
    const std::string why = info->err.empty() ? "exit status " + std::to_string(info->status) : info->err.substr(0, info->err.find('\n'));
    if (why.find("Unable to contact") != std::string::npos)
      return fail(errc::worker, "the Slurm controller is not reachable: " + why);
    return fail(errc::worker, "sinfo failed: " + why);
  }
  slurm_cluster_state state;
  std::set<std::string> features;
  std::istringstream in(info->out);
  std::string line;
  bool any = false;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::size_t i = 0;
    while (i <= line.size()) {
      auto j = line.find('|', i);
      if (j == std::string::npos) j = line.size();
      f.push_back(line.substr(i, j - i));
      i = j + 1;
    }
    if (f.size() < 3) continue;
    std::string part = f[0];
    const bool is_default = !part.empty() && part.back() == '*';
    if (is_default) part.pop_back();
    if (options.partition.empty() ? !is_default : part != options.partition) continue;
    any = true;
    state.partition = part;
    std::size_t a = 0;
    while (a <= f[1].size()) {
      auto b = f[1].find(',', a);
      if (b == std::string::npos) b = f[1].size();
      const auto feature = f[1].substr(a, b - a);
      if (!feature.empty() && feature != "(null)") features.insert(feature);
      a = b + 1;
    }
    std::uint64_t cpus[4] = {0, 0, 0, 0};  // allocated/idle/other/total
    std::istringstream c(f[2]);
    for (auto& v : cpus) {
      std::string part_c;
      if (!std::getline(c, part_c, '/')) break;
      v = std::strtoull(part_c.c_str(), nullptr, 10);
    }
    state.idle_cpus += cpus[1];
    state.total_cpus += cpus[3];
  }
  if (!any)
    return fail(errc::worker, options.partition.empty() ? std::string("Slurm has no default partition")
                                                        : "Slurm has no partition '" + options.partition + "'");
  state.features.assign(features.begin(), features.end());
  auto jobs = run_tool(launcher, options.squeue, {"-h", "--partition=" + state.partition, "-o", "%T"}, options.tool_timeout);
  if (!jobs) return fail(jobs.error());
  if (jobs->status != 0) return fail(errc::worker, "squeue failed: " + jobs->err.substr(0, jobs->err.find('\n')));
  std::istringstream js(jobs->out);
  while (std::getline(js, line)) {
    if (line == "RUNNING" || line == "COMPLETING") ++state.running_jobs;
    else if (line == "PENDING") ++state.pending_jobs;
  }
  return state;
}

}  // namespace slurm_detail

//! The Slurm worker (models `worker_client`); see the file comment for the full behaviour.
//! One instance may run several tasks at once from different threads (not while `refresh()` runs).
class slurm {
 public:
  explicit slurm(slurm_options options = {})
      : options_(std::move(options)),
        caches_(options_.cache_root.empty() ? detail::default_root("caches") : options_.cache_root),
        info_(options_.info) {
    if (info_.name.empty()) info_.name = "slurm";
    if (info_.platform.empty()) info_.platform = "linux";
    (void)reap_stale_runs(options_.shared_root.empty() ? detail::default_root("slurm-runs") : options_.shared_root);
  }

  //! How this worker describes itself to placement (as of the last `refresh()`).
  [[nodiscard]] const worker_info& info() const noexcept { return info_; }
  [[nodiscard]] const slurm_options& options() const noexcept { return options_; }
  //! What the last successful `refresh()` learnt (empty before the first).
  [[nodiscard]] const slurm_cluster_state& state() const noexcept { return state_; }
  //! The worker's cache store.
  [[nodiscard]] artifact::cache_store& caches() noexcept { return caches_; }

  //! Asks `sinfo`/`squeue` (each bounded by `tool_timeout`) for the partition's features, CPUs and
  //! jobs. `info()` then has the configured tags plus the node features as `tags`,
  //! `active_tasks` = running jobs and `active_containers` = running + pending jobs.
  result<slurm_cluster_state> refresh() {
    auto s = slurm_detail::query_state(options_);
    if (!s) return s;
    state_ = *s;
    info_ = options_.info;
    if (info_.name.empty()) info_.name = "slurm";
    info_.platform = "linux";
    if (options_.advertise_features)
      for (const auto& f : state_.features)
        if (std::find(info_.tags.begin(), info_.tags.end(), f) == info_.tags.end()) info_.tags.push_back(f);
    info_.active_tasks = state_.running_jobs;
    info_.active_containers = state_.running_jobs + state_.pending_jobs;
    return state_;
  }

  //! Runs `process` as a Slurm job step, streaming its output to `io`. A stop request gives
  //! `run_result::stopped = true` (outputs valid); errors mean it did not run to an exit status.
  template <process_io IO>
  result<run_result> run(const container_spec& container, const process_spec& process, IO& io, std::stop_token stop) {
    return slurm_detail::run_slurm(options_, caches_, container, process, detail::make_io_ref(io), std::move(stop));
  }

  //! The warnings `run` would print (a user or `privileged` ignored without an image).
  [[nodiscard]] std::vector<std::string> warnings_for(const container_spec& container, const process_spec& process) const {
    std::vector<std::string> out;
    if (!std::holds_alternative<no_image>(container.image)) return out;
    const std::string user = process.user.empty() ? container.user : process.user;
    if (!user.empty()) out.push_back("run.user '" + user + "' is ignored: Slurm runs the task as the submitting user");
    if (container.privileged) out.emplace_back("privileged is ignored: without an image the task runs on the node's host");
    return out;
  }

  //! Promotes the caches of a finished job build, as `local_process::commit_caches` does.
  result<void> commit_caches(const container_spec& container, const run_result& ran) {
    return detail::commit_run_caches(caches_, container, ran);
  }

  //! Removes the run directory holding `ran`'s outputs and caches.
  void release(const run_result& ran) const {
    detail::release_run_dirs(options_.shared_root.empty() ? detail::default_root("slurm-runs") : options_.shared_root, ran);
  }

 private:
  slurm_options options_;
  artifact::cache_store caches_;
  worker_info info_;
  slurm_cluster_state state_;
};

static_assert(worker_client<slurm>,
              "taskstep: slurm must model worker_client (info() and run(container, process, io, stop))");

}  // namespace taskstep::worker
