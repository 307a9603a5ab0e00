// Must not compile: a type without narrow() is not a placement_strategy, so it cannot choose a worker.
// expect: taskstep: P is not a placement_strategy: it needs narrow(std::span<const worker_info>, std::span<const std::size_t>, const container_spec&) const -> std::vector<std::size_t>
#include <random>
#include <vector>

#include "taskstep/placement/placement.hpp"

struct not_a_strategy {
  std::vector<std::size_t> choose(std::span<const taskstep::worker_info>) const { return {}; }
};

int main() {
  std::vector<taskstep::worker_info> workers(1);
  std::vector<std::size_t> candidates{0};
  std::mt19937_64 rng(0);
  auto chosen = taskstep::placement::choose_worker(not_a_strategy{}, workers, candidates, taskstep::container_spec{}, rng);
  (void)chosen;
}
