#pragma once
//! \file
//! `fewest_build_containers`: place the task on the least busy worker (Concourse's
//! `--container-placement-strategy=fewest-build-containers`).

#include <cstddef>
#include <functional>
#include <span>
#include <vector>

#include "taskstep/core/container_spec.hpp"
#include "taskstep/core/worker_info.hpp"
#include "taskstep/placement/concepts.hpp"
#include "taskstep/placement/detail/keep_best.hpp"

namespace taskstep::placement {

//! Models `placement_strategy`. Mirrors Concourse's `FewestBuildContainersPlacementStrategy`: keep
//! the candidates with the fewest build containers (`worker_info::active_containers`, containers that
//! belong to a build — check containers do not count); the pick among them is uniform.
struct fewest_build_containers {
  void narrow_in_place(std::span<const worker_info> workers, std::vector<std::size_t>& candidates,
                       const container_spec&) const {
    detail::keep_best(
        workers, candidates, [](const worker_info& w) { return w.active_containers; }, std::less<>{});
  }

  [[nodiscard]] std::vector<std::size_t> narrow(std::span<const worker_info> workers,
                                                std::span<const std::size_t> candidates,
                                                const container_spec& spec) const {
    return detail::narrow_copy(*this, workers, candidates, spec);
  }
};

static_assert(in_place_placement_strategy<fewest_build_containers>);

}  // namespace taskstep::placement
