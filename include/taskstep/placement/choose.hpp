#pragma once
//! \file
//! `choose_worker`: narrow the candidates with a strategy, then pick uniformly among the best
//! (every Concourse strategy ends with `rand.Intn(len(best))`).

#include <cstddef>
#include <optional>
#include <random>
#include <span>
#include <vector>

#include "taskstep/core/container_spec.hpp"
#include "taskstep/core/worker_info.hpp"
#include "taskstep/placement/concepts.hpp"

namespace taskstep::placement {

//! The chosen worker (an index into `workers`), or nothing when the strategy keeps no candidate.
//! `candidates` usually comes from `satisfying_workers`. The pick draws from `rng`, so a seeded
//! engine makes placement reproducible. Allocates one vector (the narrowed set).
template <class P>
[[nodiscard]] std::optional<std::size_t> choose_worker(const P& strategy, std::span<const worker_info> workers,
                                                       std::span<const std::size_t> candidates,
                                                       const container_spec& spec, std::mt19937_64& rng) {
  require_placement_strategy<P>();
  std::vector<std::size_t> best(candidates.begin(), candidates.end());
  narrow_in_place(strategy, workers, best, spec);
  if (best.empty()) return std::nullopt;
  if (best.size() == 1) return best.front();
  std::uniform_int_distribution<std::size_t> pick(0, best.size() - 1);
  return best[pick(rng)];
}

}  // namespace taskstep::placement
