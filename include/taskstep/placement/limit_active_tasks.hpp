#pragma once
//! \file
//! `limit_active_tasks`: at most `max` running tasks per worker, least loaded first (Concourse's
//! `--container-placement-strategy=limit-active-tasks` with `--max-active-tasks-per-worker`).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "taskstep/core/container_spec.hpp"
#include "taskstep/core/worker_info.hpp"
#include "taskstep/placement/concepts.hpp"
#include "taskstep/placement/detail/keep_best.hpp"

namespace taskstep::placement {

//! Models `placement_strategy`. Mirrors Concourse's `LimitActiveTasksPlacementStrategy`: drop the
//! workers already running `max` tasks or more (`worker_info::active_tasks`; `max == 0` = unlimited),
//! keep those with the fewest active tasks. None left is not an error: the step waits for a free
//! worker (`wait_for_worker`), which is why this strategy `modifies_active_tasks`.
struct limit_active_tasks {
  std::uint64_t max = 0;  //!< `--max-active-tasks-per-worker`; 0 = unlimited

  static constexpr bool modifies_active_tasks = true;

  void narrow_in_place(std::span<const worker_info> workers, std::vector<std::size_t>& candidates,
                       const container_spec&) const {
    detail::keep_best_if(
        workers, candidates, [limit = max](const worker_info& w) { return limit == 0 || w.active_tasks < limit; },
        [](const worker_info& w) { return w.active_tasks; }, std::less<>{});
  }

  [[nodiscard]] std::vector<std::size_t> narrow(std::span<const worker_info> workers,
                                                std::span<const std::size_t> candidates,
                                                const container_spec& spec) const {
    return detail::narrow_copy(*this, workers, candidates, spec);
  }
};

static_assert(in_place_placement_strategy<limit_active_tasks>);
static_assert(modifies_active_tasks_v<limit_active_tasks>);

}  // namespace taskstep::placement
