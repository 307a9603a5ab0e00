#include <catch2/catch.hpp>

#include <random>
#include <set>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "taskstep/placement/placement.hpp"
#include "workers.hpp"

using namespace taskstep;
using namespace placement_test;
namespace tp = taskstep::placement;

using indexes = std::vector<std::size_t>;

// A strategy written by a user in one file against the concept: it only needs `narrow`.
namespace user {
//! Prefers workers whose name starts with `prefix` (e.g. the fast machines); keeps all if none does.
struct prefer_name_prefix {
  std::string prefix;

  [[nodiscard]] std::vector<std::size_t> narrow(std::span<const worker_info> workers,
                                                std::span<const std::size_t> candidates,
                                                const container_spec&) const {
    std::vector<std::size_t> out;
    for (auto i : candidates)
      if (workers[i].name.starts_with(prefix)) out.push_back(i);
    if (out.empty()) out.assign(candidates.begin(), candidates.end());
    return out;
  }
};
}  // namespace user

static_assert(tp::placement_strategy<user::prefer_name_prefix>);
static_assert(!tp::in_place_placement_strategy<user::prefer_name_prefix>);

TEST_CASE("a user strategy written against the concept chooses with choose_worker", "[placement][custom]") {
  std::vector<worker_info> ws{worker("slow-1"), worker("fast-1"), worker("slow-2"), worker("fast-2")};
  const auto spec = task_spec();
  const user::prefer_name_prefix fast{"fast-"};
  CHECK(fast.narrow(ws, all_of(ws), spec) == indexes{1, 3});
  const auto seen =
      picks_over_seeds([&](std::mt19937_64& rng) { return tp::choose_worker(fast, ws, all_of(ws), spec, rng); });
  CHECK(seen == std::set<std::size_t>{1, 3});
  CHECK(user::prefer_name_prefix{"gpu-"}.narrow(ws, all_of(ws), spec) == indexes{0, 1, 2, 3});
}

TEST_CASE("a chain narrows with the first strategy, then the next", "[placement][chain]") {
  std::vector<worker_info> ws{worker_with_volumes("a", {"repo"}), worker_with_volumes("b", {"repo"}),
                              worker_with_volumes("c", {}), worker_with_volumes("d", {"repo"})};
  ws[0].active_containers = 4;
  ws[1].active_containers = 1;
  ws[2].active_containers = 0;  // least busy, but holds nothing
  ws[3].active_containers = 1;
  const auto spec = task_spec({"repo"});
  const tp::chain<tp::volume_locality, tp::fewest_build_containers> s;
  CHECK(s.narrow(ws, all_of(ws), spec) == indexes{1, 3});
  // The other order answers a different question.
  CHECK(tp::chain<tp::fewest_build_containers, tp::volume_locality>{}.narrow(ws, all_of(ws), spec) == indexes{2});
  const auto seen =
      picks_over_seeds([&](std::mt19937_64& rng) { return tp::choose_worker(s, ws, all_of(ws), spec, rng); });
  CHECK(seen == std::set<std::size_t>{1, 3});
}

TEST_CASE("the pipe form builds a flat chain of the strategies", "[placement][chain]") {
  auto s = tp::volume_locality{} | tp::fewest_build_containers{} | tp::limit_active_tasks{3};
  STATIC_REQUIRE(
      std::is_same_v<decltype(s), tp::chain<tp::volume_locality, tp::fewest_build_containers, tp::limit_active_tasks>>);
  CHECK(std::get<2>(s.strategies()).max == 3);
  auto t = tp::first_fit{} | (tp::random_placement{} | tp::first_fit{});
  STATIC_REQUIRE(std::is_same_v<decltype(t), tp::chain<tp::first_fit, tp::random_placement, tp::first_fit>>);
}

TEST_CASE("the function form deduces the chain from its strategies", "[placement][chain]") {
  tp::chain s{tp::volume_locality{}, tp::limit_active_tasks{2}};
  STATIC_REQUIRE(std::is_same_v<decltype(s), tp::chain<tp::volume_locality, tp::limit_active_tasks>>);
  CHECK(std::get<1>(s.strategies()).max == 2);
}

TEST_CASE("a chain waits for workers when one of its strategies limits active tasks", "[placement][chain]") {
  STATIC_REQUIRE(tp::modifies_active_tasks_v<tp::chain<tp::volume_locality, tp::limit_active_tasks>>);
  STATIC_REQUIRE_FALSE(tp::modifies_active_tasks_v<tp::chain<tp::volume_locality, tp::fewest_build_containers>>);
}

TEST_CASE("a chain with limit active tasks finds no worker when all are busy", "[placement][chain]") {
  std::vector<worker_info> ws{worker_with_tasks("a", 2), worker_with_tasks("b", 2)};
  ws[0].volumes = {"repo"};
  const auto s = tp::volume_locality{} | tp::limit_active_tasks{2};
  CHECK(s.narrow(ws, all_of(ws), task_spec({"repo"})).empty());
  std::mt19937_64 rng(5);
  CHECK_FALSE(tp::choose_worker(s, ws, all_of(ws), task_spec({"repo"}), rng));
}

TEST_CASE("a user strategy chains with the built-in ones both ways", "[placement][chain][custom]") {
  std::vector<worker_info> ws{worker_with_containers("slow-1", 0), worker_with_containers("fast-1", 3),
                              worker_with_containers("fast-2", 1), worker_with_containers("fast-3", 1)};
  const auto spec = task_spec();
  const auto fast_then_idle = user::prefer_name_prefix{"fast-"} | tp::fewest_build_containers{};
  CHECK(fast_then_idle.narrow(ws, all_of(ws), spec) == indexes{2, 3});
  const auto idle_then_fast = tp::fewest_build_containers{} | user::prefer_name_prefix{"fast-"};
  CHECK(idle_then_fast.narrow(ws, all_of(ws), spec) == indexes{0});
  const auto seen = picks_over_seeds(
      [&](std::mt19937_64& rng) { return tp::choose_worker(fast_then_idle, ws, all_of(ws), spec, rng); });
  CHECK(seen == std::set<std::size_t>{2, 3});
}

TEST_CASE("satisfying workers then a strategy is the whole placement decision", "[placement]") {
  std::vector<worker_info> ws{worker_with_tasks("global", 0), worker_with_tasks("ours-busy", 4),
                              worker_with_tasks("ours-idle", 1), worker_with_tasks("darwin", 0)};
  ws[1].team = ws[2].team = "main";
  ws[3].platform = "darwin";
  auto spec = task_spec();
  spec.team = "main";
  auto candidates = tp::satisfying_workers(ws, spec);
  REQUIRE(candidates);
  CHECK(*candidates == indexes{1, 2});
  std::mt19937_64 rng(11);
  CHECK(tp::choose_worker(tp::limit_active_tasks{4}, ws, *candidates, spec, rng) == 2u);
}
