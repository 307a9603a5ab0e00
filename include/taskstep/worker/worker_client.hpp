#pragma once
//! \file
//! The `worker_client` concept: a worker that describes itself and runs a container's process.
//! `run` streams output to a `process_io` and honours a `std::stop_token`; a stopped run returns a
//! `run_result` with `stopped = true` (its outputs are still registered, as Concourse does).
//! The optional hooks a worker may have are concepts too (`commits_caches`, `releases_runs`,
//! `reports_unavailability`, `refreshes`), and `worker_decorator` forwards every one of them, so a
//! wrapper worker cannot drop one by forgetting it.

#include <concepts>
#include <stop_token>
#include <string>
#include <utility>

#include "taskstep/core/container_spec.hpp"
#include "taskstep/core/process_io.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/core/worker_info.hpp"

namespace taskstep::worker {

//! A worker client: `info()` for placement, `run(container, process, io, stop)` to run the task with
//! any `process_io` (checked against a private archetype, not an io type the library hands out).
template <class W>
concept worker_client = requires(W& w, const W& cw, const container_spec& c, const process_spec& p,
                                 taskstep::detail::archetype_process_io& io, std::stop_token stop) {
  { cw.info() } -> std::convertible_to<const worker_info&>;
  { w.run(c, p, io, stop) } -> std::same_as<result<run_result>>;
};

//! The sentence every entry point taking a worker client asserts (`static_assert` takes a literal only).
#define TASKSTEP_WORKER_CLIENT_MESSAGE                                                                \
  "taskstep: W is not a worker_client: it needs info() const -> const worker_info& and "              \
  "run(const container_spec&, const process_spec&, IO&, std::stop_token) -> result<run_result> for any " \
  "process_io IO"

//! Optional: keeps job caches, committed after a successful run of a job's build.
template <class W>
concept commits_caches = requires(W& w, const container_spec& c, const run_result& r) {
  { w.commit_caches(c, r) } -> std::same_as<result<void>>;
};

//! Optional: frees what a run left (its run directories) once its outputs are no longer needed.
template <class W>
concept releases_runs = requires(W& w, const run_result& r) { w.release(r); };

//! Optional: says why it cannot run here (empty when it can), e.g. no runc.
template <class W>
concept reports_unavailability = requires(const W& w) {
  { w.unavailable_reason() } -> std::convertible_to<std::string>;
};

//! Optional: refreshes what `info()` says from its backend (e.g. Slurm's `sinfo`).
template <class W>
concept refreshes = requires(W& w) { w.refresh(); };

//! Base of a worker that wraps another (`Inner`): forwards `info`, `run` and every optional hook
//! `Inner` has (and only those), so a decorator overrides what it changes and nothing is lost.
//! Models `worker_client` when `Inner` does.
template <class Inner>
class worker_decorator {
  static_assert(worker_client<Inner>, TASKSTEP_WORKER_CLIENT_MESSAGE);

 public:
  explicit worker_decorator(Inner inner) : inner_(std::move(inner)) {}

  [[nodiscard]] decltype(auto) info() const { return inner_.info(); }
  template <class IO>
  result<run_result> run(const container_spec& c, const process_spec& p, IO& io, std::stop_token stop) {
    static_assert(process_io<IO>, TASKSTEP_PROCESS_IO_MESSAGE);
    return inner_.run(c, p, io, std::move(stop));
  }
  result<void> commit_caches(const container_spec& c, const run_result& r)
    requires commits_caches<Inner>
  {
    return inner_.commit_caches(c, r);
  }
  void release(const run_result& r)
    requires releases_runs<Inner>
  {
    inner_.release(r);
  }
  [[nodiscard]] std::string unavailable_reason() const
    requires reports_unavailability<Inner>
  {
    return inner_.unavailable_reason();
  }
  decltype(auto) refresh()
    requires refreshes<Inner>
  {
    return inner_.refresh();
  }

  [[nodiscard]] Inner& inner() noexcept { return inner_; }
  [[nodiscard]] const Inner& inner() const noexcept { return inner_; }

 protected:
  Inner inner_;
};

//! The trivial worker: reports exit status `status` at once without running anything.
struct null_worker {
  worker_info description{"null", "linux", {}, {}, {}, 0, 0, {}};
  int status = 0;

  [[nodiscard]] const worker_info& info() const noexcept { return description; }
  template <class IO>
  result<run_result> run(const container_spec&, const process_spec&, IO& io, std::stop_token) {
    static_assert(process_io<IO>, TASKSTEP_PROCESS_IO_MESSAGE);
    io.starting();
    run_result r;
    r.exit_status = status;
    return r;
  }
};

static_assert(worker_client<null_worker>);
static_assert(worker_client<worker_decorator<null_worker>>);

}  // namespace taskstep::worker
