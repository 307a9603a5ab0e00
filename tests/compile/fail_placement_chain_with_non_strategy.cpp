// Must not compile: a chain of strategies names the part that is not a placement_strategy.
// expect: taskstep: P is not a placement_strategy: it needs narrow(std::span<const worker_info>, std::span<const std::size_t>, const container_spec&) const -> std::vector<std::size_t>
#include "taskstep/placement/placement.hpp"

struct not_a_strategy {};

int main() {
  auto c = taskstep::placement::volume_locality{} | not_a_strategy{};
  (void)c;
}
