#pragma once
//! \file
//! `run_one_off`: a one-off build — what `fly execute` does around a task step, without a server.
//!
//! 1. `prepare`: fly's checks on the request against the task's (uninterpolated) config, nothing
//!    touched yet: input names, input paths, the current directory as an input, required inputs,
//!    output names and targets (distinct, not nested), the image artifact.
//! 2. A private run root under $TMPDIR (`taskstep-runs-XXXXXX`), handed to `make_worker`, which
//!    returns the one worker the step runs on (or an error: e.g. containers cannot run here).
//! 3. Inputs staged (git trees as fly uploads them), under the caller's stop token.
//! 4. The step runs (`basic_task_step` with `concourse_resolver` and `volume_locality`); it applies
//!    the plan's input_mapping itself, so this layer registers each input under its task input name.
//! 5. Outputs are copied out whatever happened to the task (no stop token: an aborted build still
//!    delivers what the task wrote); a failed copy makes the build errored and keeps the run root.
//! 6. Staged copies and the run root are removed; the outcome maps to fly's exit codes (a request
//!    refused at step 1 exits 1, as fly's own checks do; one refused at step 2 exits 2). With
//!    `one_off_request::keep`, a run the worker kept (worker/kept_run.hpp) keeps the run root and the
//!    staged copies (made inside the run root then), and `build_outcome::kept` names it.
//!
//! A delegate with `progress(const progress_report&)` (build/progress.hpp) hears steps 3 and 5.
//!
//! Errors are reported through `delegate.errored`; the returned `build_outcome` carries the status
//! word to print (none for a refused build) and the exit code.

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stop_token>
#include <string>
#include <utility>

#include "taskstep/artifact/directory_repository.hpp"
#include "taskstep/artifact/staging.hpp"
#include "taskstep/build/inputs.hpp"
#include "taskstep/build/outcome.hpp"
#include "taskstep/build/outputs.hpp"
#include "taskstep/build/paths.hpp"
#include "taskstep/build/request.hpp"
#include "taskstep/core/task_plan.hpp"
#include "taskstep/image/concourse_resolver.hpp"
#include "taskstep/placement/placement.hpp"
#include "taskstep/step/task_step.hpp"

namespace taskstep::build {

//! The artifact name an `--image` directory is registered under (the plan's `image:`).
inline constexpr const char* image_artifact_name = "taskstep-image";

//! A request that passed fly's checks: where each input comes from and each output goes.
struct prepared_build {
  input_dirs inputs;
  output_targets outputs;
  std::filesystem::path image;  //!< absolute; empty = none
  task_plan plan;               //!< one-off: name, privileged, tags, job, image
};

//! Step 1 of the file comment: checks `request` against `config` (before interpolation, as fly).
inline result<prepared_build> prepare(const one_off_request& request, const task_config& config) {
  prepared_build out;
  auto inputs = check_inputs(config, request);
  if (!inputs) return tl::unexpected(inputs.error());
  out.inputs = std::move(*inputs);
  auto outputs = check_outputs(config, request);
  if (!outputs) return tl::unexpected(outputs.error());
  out.outputs = std::move(*outputs);
  if (!request.image.empty()) {
    struct stat st {};
    if (::stat(request.image.c_str(), &st) != 0)
      return fail(errc::usage, "image " + request.image.string() + ": " + std::strerror(errno));
    if (!S_ISDIR(st.st_mode)) return fail(errc::usage, "image " + request.image.string() + " is not a directory");
    std::error_code ec;
    out.image = std::filesystem::absolute(request.image, ec);
    out.plan.image = image_artifact_name;
  }
  out.plan.name = "one-off";
  out.plan.privileged = request.privileged;
  out.plan.tags = request.tags;
  out.plan.job = request.job;
  // No input_mapping: fly applies `-m` to inputs taken from a job only, and `-i` names task inputs.
  return out;
}

namespace detail {

// Removes the run root at scope exit unless told to keep it.
struct run_root_guard {
  std::filesystem::path dir;
  bool keep = false;
  run_root_guard() = default;
  run_root_guard(const run_root_guard&) = delete;
  run_root_guard& operator=(const run_root_guard&) = delete;
  ~run_root_guard() {
    if (dir.empty()) return;
    if (keep) unclaim_private_dir(dir);  // it outlives this process: no reaper may take it
    else (void)artifact::remove_tree(dir);
  }
};

// The worker a factory made: held by value or by a unique_ptr.
template <class W>
W& worker_of(W& w) {
  return w;
}
template <class W>
W& worker_of(std::unique_ptr<W>& w) {
  return *w;
}

// The delegate's progress() as a callable, or no_progress when it has none.
template <class Delegate>
auto progress_of([[maybe_unused]] Delegate& delegate) {
  if constexpr (reports_progress<Delegate>) return [&delegate](const progress_report& r) { delegate.progress(r); };
  else return no_progress{};
}

}  // namespace detail

//! Runs a one-off build (see the file comment).
//! - `ConfigSource` models `config::config_source` (the task file with vars and params applied);
//! - `MakeWorker` is `(const std::filesystem::path& run_root) -> result<W>` (or `result<std::unique_ptr<W>>`,
//!   for a worker type `tl::expected` cannot hold) for a `worker::worker_client` W;
//! - `Delegate` models `step::task_delegate`.
template <class ConfigSource, class MakeWorker, class Delegate>
build_outcome run_one_off(const one_off_request& request, const task_config& config, ConfigSource source,
                          MakeWorker&& make_worker, Delegate& delegate, step::step_options options = {},
                          std::stop_token stop = {}) {
  auto prepared = prepare(request, config);
  if (!prepared) {
    delegate.errored(prepared.error().message());
    return refused();
  }
  // What a taskstep that died (SIGKILL, a crash) left in $TMPDIR, whatever its worker.
  worker::reap_options reap;
  reap.runc_state_root = request.runc_state_root;
  (void)reap_stale_private_dirs(temp_root(), reap);
  detail::run_root_guard root;
  auto run_root = make_run_root();
  if (!run_root) {
    delegate.errored(run_root.error().message());
    return refused(exit_errored);
  }
  root.dir = *run_root;
  auto worker = make_worker(root.dir);
  if (!worker) {
    delegate.errored(worker.error().message());
    return refused(exit_errored);
  }

  // A delegate with progress(const progress_report&) hears the long copies (build/progress.hpp).
  auto on_progress = detail::progress_of(delegate);
  auto staged = stage_inputs(prepared->inputs, request.include_ignored, stop, request.keep ? root.dir : temp_root(),
                             on_progress);
  if (!staged) {
    delegate.errored(staged.error().message());
    return outcome_of(tl::unexpected(staged.error()));
  }
  artifact::directory_repository artifacts;
  for (const auto& [name, dir] : staged->dirs) artifacts.add(name, dir);
  if (!prepared->image.empty()) artifacts.add(prepared->plan.image, prepared->image);

  step::single_worker workers(detail::worker_of(*worker));
  step::basic_task_step task(std::move(prepared->plan), std::move(source), image::concourse_resolver{},
                             placement::volume_locality{}, workers, std::move(options));
  build_outcome out = outcome_of(task.run(artifacts, delegate, stop));
  if (request.keep) {
    out.kept = keep_kept_runs(root.dir);
    if (!out.kept.empty()) {
      root.dir.clear();       // it outlives this build, unclaimed
      staged->scratch.clear();  // the kept run's overlays read them
    }
  }

  auto failures = copy_outputs(prepared->outputs, artifacts, on_progress);
  for (const auto& f : failures) delegate.errored(f.message);
  if (!failures.empty()) {
    root.keep = true;
    if (out.exit_code != exit_aborted) out = {exit_errored, "errored"};
  }
  return out;
}

}  // namespace taskstep::build
