#pragma once
//! \file
//! The `placement_strategy` concept: how a task step picks among the workers that can run its
//! container (Concourse's `worker.ContainerPlacementStrategy`). A strategy only *narrows* the
//! candidates to the best ones; the final pick among those is random (`choose_worker`).

#include <concepts>
#include <cstddef>
#include <span>
#include <vector>

#include "taskstep/core/container_spec.hpp"
#include "taskstep/core/worker_info.hpp"

namespace taskstep::placement {

//! Narrows candidate workers to the best ones: `p.narrow(workers, candidates, spec) -> std::vector<std::size_t>`
//! (indexes into `workers`, a subset of `candidates` in their order, ties kept; empty = none fits).
template <class P>
concept placement_strategy = requires(const P& p, std::span<const worker_info> workers,
                                      std::span<const std::size_t> candidates, const container_spec& spec) {
  { p.narrow(workers, candidates, spec) } -> std::same_as<std::vector<std::size_t>>;
};

//! Optional speed-up a strategy may offer: narrow `candidates` in place (no allocation), with the same
//! result as `narrow`. `chain` and `choose_worker` use it when present.
template <class P>
concept in_place_placement_strategy =
    placement_strategy<P> && requires(const P& p, std::span<const worker_info> workers,
                                      std::vector<std::size_t>& candidates, const container_spec& spec) {
      p.narrow_in_place(workers, candidates, spec);
    };

//! The sentence every entry point taking a strategy asserts (`static_assert` takes a literal only).
#define TASKSTEP_PLACEMENT_STRATEGY_MESSAGE                                                           \
  "taskstep: P is not a placement_strategy: it needs narrow(std::span<const worker_info>, "           \
  "std::span<const std::size_t>, const container_spec&) const -> std::vector<std::size_t>"

//! Checks the contract, with a sentence instead of a page of template errors.
template <class P>
constexpr void require_placement_strategy() noexcept {
  static_assert(placement_strategy<P>, TASKSTEP_PLACEMENT_STRATEGY_MESSAGE);
}

//! True when `P` (or any strategy of a chain) counts active tasks, so that finding no worker means
//! "wait for one" rather than "fail" (Concourse's `ModifiesActiveTasks()`; only limit-active-tasks).
template <class P>
inline constexpr bool modifies_active_tasks_v = [] {
  if constexpr (requires { P::modifies_active_tasks; })
    return static_cast<bool>(P::modifies_active_tasks);
  else
    return false;
}();

//! Narrows `candidates` in place with `strategy`, through `narrow_in_place` when it exists.
template <class P>
void narrow_in_place(const P& strategy, std::span<const worker_info> workers, std::vector<std::size_t>& candidates,
                     const container_spec& spec) {
  require_placement_strategy<P>();
  if constexpr (in_place_placement_strategy<P>) {
    strategy.narrow_in_place(workers, candidates, spec);
  } else if constexpr (placement_strategy<P>) {  // else: only the assertion above reports
    candidates = strategy.narrow(workers, std::span<const std::size_t>(candidates), spec);
  }
}

}  // namespace taskstep::placement
