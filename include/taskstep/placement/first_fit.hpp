#pragma once
//! \file
//! `first_fit`: the trivial placement policy — the first candidate, always.

#include <cstddef>
#include <span>
#include <vector>

#include "taskstep/core/container_spec.hpp"
#include "taskstep/core/worker_info.hpp"
#include "taskstep/placement/concepts.hpp"

namespace taskstep::placement {

//! Models `placement_strategy`, as simply as possible: keeps only the first candidate (none if there
//! are none). Not a Concourse strategy; it makes placement deterministic and costs nothing, for
//! single-worker setups, tests and the zero-overhead benchmark.
struct first_fit {
  void narrow_in_place(std::span<const worker_info>, std::vector<std::size_t>& candidates,
                       const container_spec&) const noexcept {
    if (candidates.size() > 1) candidates.erase(candidates.begin() + 1, candidates.end());
  }

  [[nodiscard]] std::vector<std::size_t> narrow(std::span<const worker_info>, std::span<const std::size_t> candidates,
                                                const container_spec&) const {
    if (candidates.empty()) return {};
    return {candidates.front()};
  }
};

static_assert(in_place_placement_strategy<first_fit>);

}  // namespace taskstep::placement
