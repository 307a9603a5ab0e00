#pragma once
//! \file
//! How a one-off build ended, as `fly execute` reports it: a status word and an exit code —
//! succeeded 0, failed with the task's status, failed 1 on the step's timeout, errored 2, aborted 3.
//! A build refused by fly's own checks before it started (bad flags, the task file, input and output
//! checks) has no status word and exits 1, as fly's `error: ...` does; one that could not get a worker
//! (no run directory, the worker could not be set up) exits 2, as a build that errored.

#include <filesystem>
#include <string>
#include <vector>

#include "taskstep/core/result.hpp"
#include "taskstep/step/task_step.hpp"

namespace taskstep::build {

inline constexpr int exit_succeeded = 0;
inline constexpr int exit_timed_out = 1;  //!< the step's `timeout` fired: the build failed
inline constexpr int exit_errored = 2;
inline constexpr int exit_aborted = 3;
inline constexpr int exit_refused = 1;  //!< fly's exit for an error it finds itself, before any build
inline constexpr int exit_gave_up = 2;  //!< fly's exit on a second Ctrl-C (`exiting immediately`)

//! A finished (or refused) build.
struct build_outcome {
  int exit_code = exit_errored;
  std::string status;  //!< succeeded / failed / errored / aborted; empty when refused before starting
  std::vector<std::filesystem::path> kept{};  //!< run directories kept for `intercept` (`one_off_request::keep`)

  [[nodiscard]] bool started() const noexcept { return !status.empty(); }
};

//! A build refused before it started: by fly's checks (exit 1) unless `code` says otherwise.
inline build_outcome refused(int code = exit_refused) { return {code, {}}; }

//! The outcome of a step run, mapped as fly maps a build's status.
inline build_outcome outcome_of(const result<step::step_outcome>& ran) {
  if (!ran) {
    if (ran.error().code() == errc::cancelled) return {exit_aborted, "aborted"};
    if (ran.error().code() == errc::timeout) return {exit_timed_out, "failed"};
    return {exit_errored, "errored"};
  }
  return {ran->exit_status, ran->succeeded() ? "succeeded" : "failed"};
}

}  // namespace taskstep::build
