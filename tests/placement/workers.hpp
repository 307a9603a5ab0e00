#pragma once
// Small builders for worker descriptions and container specs used by the placement tests.

#include <cstddef>
#include <cstdint>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "taskstep/core/container_spec.hpp"
#include "taskstep/core/worker_info.hpp"

namespace placement_test {

inline taskstep::worker_info worker(std::string name) {
  taskstep::worker_info w;
  w.name = std::move(name);
  return w;
}

inline taskstep::worker_info worker_with_tasks(std::string name, std::uint64_t tasks) {
  auto w = worker(std::move(name));
  w.active_tasks = tasks;
  return w;
}

inline taskstep::worker_info worker_with_containers(std::string name, std::uint64_t containers) {
  auto w = worker(std::move(name));
  w.active_containers = containers;
  return w;
}

inline taskstep::worker_info worker_with_volumes(std::string name, std::set<std::string> volumes) {
  auto w = worker(std::move(name));
  w.volumes = std::move(volumes);
  return w;
}

inline taskstep::container_spec task_spec(std::vector<std::string> input_artifacts = {},
                                          std::vector<std::string> cache_paths = {}) {
  taskstep::container_spec spec;
  spec.platform = "linux";
  for (auto& a : input_artifacts) spec.inputs.push_back(taskstep::input_mount{a, a, {}, a});
  for (auto& c : cache_paths) spec.caches.push_back(taskstep::cache_mount{c});
  return spec;
}

inline std::vector<std::size_t> all_of(std::span<const taskstep::worker_info> workers) {
  std::vector<std::size_t> out(workers.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = i;
  return out;
}

// Every worker `choose` picks over `seeds` seeded engines.
template <class Choose>
std::set<std::size_t> picks_over_seeds(Choose choose, unsigned seeds = 200) {
  std::set<std::size_t> seen;
  for (unsigned seed = 0; seed < seeds; ++seed) {
    std::mt19937_64 rng(seed);
    if (auto i = choose(rng)) seen.insert(*i);
  }
  return seen;
}

}  // namespace placement_test
