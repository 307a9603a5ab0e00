#pragma once
//! \file
//! The `worker_client` concept: a worker that describes itself and runs a container's process.
//! `run` streams output to a `process_io` and honours a `std::stop_token`; a stopped run returns a
//! `run_result` with `stopped = true` (its outputs are still registered, as Concourse does).

#include <concepts>
#include <stop_token>

#include "taskstep/core/container_spec.hpp"
#include "taskstep/core/process_io.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/core/worker_info.hpp"

namespace taskstep::worker {

//! A worker client: `info()` for placement, `run(container, process, io, stop)` to run the task.
template <class W>
concept worker_client = requires(W& w, const W& cw, const container_spec& c, const process_spec& p,
                                 null_process_io& io, std::stop_token stop) {
  { cw.info() } -> std::convertible_to<const worker_info&>;
  { w.run(c, p, io, stop) } -> std::same_as<result<run_result>>;
};

//! The trivial worker: reports exit status `status` at once without running anything.
struct null_worker {
  worker_info description{"null", "linux", {}, {}, {}, 0, 0, {}};
  int status = 0;

  [[nodiscard]] const worker_info& info() const noexcept { return description; }
  template <process_io IO>
  result<run_result> run(const container_spec&, const process_spec&, IO& io, std::stop_token) {
    io.starting();
    run_result r;
    r.exit_status = status;
    return r;
  }
};

static_assert(worker_client<null_worker>);

}  // namespace taskstep::worker
