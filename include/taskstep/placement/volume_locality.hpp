#pragma once
//! \file
//! `volume_locality`: place the task where most of its inputs and caches already are (Concourse's
//! default `--container-placement-strategy=volume-locality`).

#include <cstddef>
#include <string>
#include <span>
#include <vector>

#include "taskstep/core/container_spec.hpp"
#include "taskstep/core/worker_info.hpp"
#include "taskstep/placement/concepts.hpp"
#include "taskstep/placement/detail/keep_best.hpp"

namespace taskstep::placement {

//! Models `placement_strategy`. Mirrors Concourse's `VolumeLocalityPlacementStrategy`: for each
//! candidate, count the spec's inputs (by artifact name) and caches (by path) whose volume the
//! worker already holds (`worker_info::volumes`; the image is not counted), and keep the workers
//! with the highest count. All counts zero ⇒ every candidate is kept (the pick is then uniform).
struct volume_locality {
  //! How many of `spec`'s inputs and caches `worker` already holds.
  [[nodiscard]] static std::size_t local_volumes(const worker_info& worker, const container_spec& spec) {
    return local_volumes_from(worker, spec, 0);
  }

  void narrow_in_place(std::span<const worker_info> workers, std::vector<std::size_t>& candidates,
                       const container_spec& spec) const {
    if (spec.inputs.empty() && spec.caches.empty()) return;  // every count is zero
    // keep_best, but each count may stop early once it cannot reach the best so far: the lookups in
    // `volumes` (a node-based set) are the whole cost of this strategy.
    std::size_t best = 0, kept = 0;
    for (const std::size_t index : candidates) {
      const std::size_t n = local_volumes_from(workers[index], spec, best);
      if (n > best) {
        best = n;
        kept = 0;
      }
      if (n == best) candidates[kept++] = index;
    }
    candidates.resize(kept);
  }

  [[nodiscard]] std::vector<std::size_t> narrow(std::span<const worker_info> workers,
                                                std::span<const std::size_t> candidates,
                                                const container_spec& spec) const {
    return detail::narrow_copy(*this, workers, candidates, spec);
  }

 private:
  // The count when it is at least `floor`; otherwise some number below `floor` (counting stopped).
  static std::size_t local_volumes_from(const worker_info& worker, const container_spec& spec, std::size_t floor) {
    // No `volumes.size() < floor` shortcut: two inputs of the same artifact count twice, as in Concourse.
    if (worker.volumes.empty()) return 0;
    std::size_t left = spec.inputs.size() + spec.caches.size(), n = 0;
    auto count = [&](const std::string& name) {
      --left;
      n += worker.volumes.contains(name) ? 1 : 0;
      return n + left >= floor;  // false: this worker can no longer tie the best
    };
    for (const auto& input : spec.inputs)
      if (!count(input.artifact)) return n;
    for (const auto& cache : spec.caches)
      if (!count(cache.path)) return n;
    return n;
  }
};

static_assert(in_place_placement_strategy<volume_locality>);

}  // namespace taskstep::placement
