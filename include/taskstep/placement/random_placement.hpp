#pragma once
//! \file
//! `random_placement`: any candidate will do (Concourse's `--container-placement-strategy=random`,
//! and what check containers always use).

#include <cstddef>
#include <span>
#include <vector>

#include "taskstep/core/container_spec.hpp"
#include "taskstep/core/worker_info.hpp"
#include "taskstep/placement/concepts.hpp"

namespace taskstep::placement {

//! Models `placement_strategy`. Mirrors Concourse's `RandomPlacementStrategy`: keeps every
//! candidate; the randomness comes from `choose_worker`'s uniform pick.
struct random_placement {
  void narrow_in_place(std::span<const worker_info>, std::vector<std::size_t>&, const container_spec&) const noexcept {}

  [[nodiscard]] std::vector<std::size_t> narrow(std::span<const worker_info>, std::span<const std::size_t> candidates,
                                                const container_spec&) const {
    return {candidates.begin(), candidates.end()};
  }
};

static_assert(in_place_placement_strategy<random_placement>);

}  // namespace taskstep::placement
