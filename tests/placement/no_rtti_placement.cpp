// Built with -fno-rtti: placement (satisfying workers, strategies, chains, the waiting loop) needs no RTTI.
#include <optional>
#include <random>
#include <stop_token>
#include <string_view>
#include <vector>

#include "taskstep/placement/placement.hpp"

int main() {
  using namespace taskstep;
  std::vector<worker_info> workers(3);
  workers[1].volumes = {"repo"};
  container_spec spec;
  spec.platform = "linux";
  spec.inputs.push_back(input_mount{"repo", "repo", {}, "repo"});
  auto candidates = placement::satisfying_workers(workers, spec);
  if (!candidates || candidates->size() != 3) return 1;
  std::mt19937_64 rng(1);
  const auto strategy = placement::volume_locality{} | placement::limit_active_tasks{2} | placement::first_fit{};
  auto chosen = placement::choose_worker(strategy, workers, *candidates, spec, rng);
  if (chosen != 1u) return 2;
  auto waited = placement::wait_for_worker([&] { return chosen; }, std::stop_token{}, [](std::string_view) {});
  return waited && *waited == 1u ? 0 : 3;
}
