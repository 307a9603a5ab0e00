// A placement strategy of your own: "sticky" placement keeps the candidates whose name is the one
// this step ran on last time (a warm cache there), and all of them when that worker is gone. Chained
// after the library's `limit_active_tasks`, and driven by a real `basic_task_step`. Walked through in
// docs/extending.md.
//
// It models `placement::placement_strategy`: `narrow(workers, candidates, spec) const -> std::vector<std::size_t>`.

#include <cstddef>
#include <cstdio>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "taskstep/artifact/directory_repository.hpp"
#include "taskstep/config/static_source.hpp"
#include "taskstep/image/concourse_resolver.hpp"
#include "taskstep/placement/placement.hpp"
#include "taskstep/step/task_step.hpp"
#include "taskstep/worker/pool.hpp"

namespace {

using namespace taskstep;

//! Keeps the candidate named `last`, or every candidate when none has that name.
//! Models `placement::placement_strategy` (and its optional in-place form, which `chain` prefers).
struct sticky_placement {
  std::string last;

  void narrow_in_place(std::span<const worker_info> workers, std::vector<std::size_t>& candidates,
                       const container_spec&) const {
    for (const std::size_t i : candidates) {
      if (workers[i].name == last) {
        candidates.assign(1, i);
        return;
      }
    }
  }
  [[nodiscard]] std::vector<std::size_t> narrow(std::span<const worker_info> workers,
                                                std::span<const std::size_t> candidates,
                                                const container_spec& spec) const {
    std::vector<std::size_t> out(candidates.begin(), candidates.end());
    narrow_in_place(workers, out, spec);
    return out;
  }
};

static_assert(placement::placement_strategy<sticky_placement>, TASKSTEP_PLACEMENT_STRATEGY_MESSAGE);
static_assert(placement::in_place_placement_strategy<sticky_placement>, "sticky_placement also narrows in place");

worker::null_worker named(std::string name, std::uint64_t active_tasks) {
  worker::null_worker w;
  w.description.name = std::move(name);
  w.description.active_tasks = active_tasks;
  return w;
}

int failures = 0;
void check(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what.c_str());
  if (!ok) ++failures;
}

// Runs one step on `pool` with `strategy` and returns the name of the worker it was placed on.
template <class Strategy>
std::string place_step(worker::worker_pool<worker::null_worker>& pool, Strategy strategy) {
  task_config config;
  config.platform = "linux";
  config.run.path = "true";
  task_plan plan;
  plan.config = config;
  artifact::directory_repository artifacts;
  step::recording_delegate delegate;
  step::basic_task_step step(plan, config::static_source(config), image::host_resolver{}, std::move(strategy), pool);
  auto outcome = step.run(artifacts, delegate);
  if (!outcome) return "error: " + outcome.error().message();
  for (const auto& e : delegate.events)
    if (e.rfind("selected ", 0) == 0) return e.substr(9);
  return "none";
}

}  // namespace

int main() {
  worker::worker_pool<worker::null_worker> pool({named("a", 0), named("b", 1), named("c", 5)});

  // Alone: the last worker wins whatever its load.
  const std::string alone = place_step(pool, sticky_placement{"c"});
  std::printf("sticky alone: %s\n", alone.c_str());
  check(alone == "c", "sticky placement picks the last worker");

  // After limit_active_tasks{2}: c is too busy, so the sticky choice does not apply and the least
  // loaded of what is left (a) wins. `|` builds placement::chain<limit_active_tasks, sticky_placement>.
  const std::string chained = place_step(pool, placement::limit_active_tasks{2} | sticky_placement{"c"});
  std::printf("limit_active_tasks{2} | sticky: %s\n", chained.c_str());
  check(chained == "a", "a chain narrows with each strategy in turn");

  // The strategy alone, without a step: from satisfying_workers' candidates.
  const std::vector<worker_info> infos = pool.infos();
  container_spec spec;
  spec.platform = "linux";
  auto candidates = placement::satisfying_workers(infos, spec);
  check(candidates && sticky_placement{"b"}.narrow(infos, *candidates, spec) == std::vector<std::size_t>{1},
        "narrow keeps only the sticky worker's index");
  check(sticky_placement{"gone"}.narrow(infos, *candidates, spec).size() == 3, "a missing worker keeps every candidate");

  // No worker fits: an error value, in Concourse's words.
  spec.platform = "windows";
  auto none = placement::satisfying_workers(infos, spec);
  check(!none && none.error().message() == "no workers satisfying: platform 'windows'", "no fit is Concourse's error");
  return failures == 0 ? 0 : 1;
}
