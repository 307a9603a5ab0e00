#include <catch2/catch.hpp>

#include <random>
#include <set>
#include <vector>

#include "taskstep/placement/choose.hpp"
#include "taskstep/placement/fewest_build_containers.hpp"
#include "taskstep/placement/first_fit.hpp"
#include "taskstep/placement/limit_active_tasks.hpp"
#include "taskstep/placement/random_placement.hpp"
#include "taskstep/placement/volume_locality.hpp"
#include "workers.hpp"

using namespace taskstep;
using namespace taskstep::placement;
using namespace placement_test;

using indexes = std::vector<std::size_t>;

static_assert(placement_strategy<volume_locality>);
static_assert(placement_strategy<fewest_build_containers>);
static_assert(placement_strategy<random_placement>);
static_assert(placement_strategy<limit_active_tasks>);
static_assert(placement_strategy<first_fit>);
static_assert(!modifies_active_tasks_v<volume_locality>);
static_assert(!modifies_active_tasks_v<first_fit>);
static_assert(modifies_active_tasks_v<limit_active_tasks>);

TEST_CASE("volume locality prefers the worker holding most inputs", "[placement][volume_locality]") {
  std::vector<worker_info> ws{worker_with_volumes("none", {}), worker_with_volumes("one", {"repo"}),
                              worker_with_volumes("two", {"repo", "deps", "unrelated"})};
  const auto spec = task_spec({"repo", "deps", "image-src"});
  CHECK(volume_locality{}.narrow(ws, all_of(ws), spec) == indexes{2});
  std::mt19937_64 rng(1);
  CHECK(choose_worker(volume_locality{}, ws, all_of(ws), spec, rng) == 2u);
}

TEST_CASE("volume locality counts caches by path alongside inputs", "[placement][volume_locality]") {
  std::vector<worker_info> ws{worker_with_volumes("input", {"repo"}),
                              worker_with_volumes("input+cache", {"repo", "node_modules"})};
  CHECK(volume_locality{}.narrow(ws, all_of(ws), task_spec({"repo"}, {"node_modules"})) == indexes{1});
}

TEST_CASE("volume locality counts the input's artifact name, not the input name", "[placement][volume_locality]") {
  std::vector<worker_info> ws{worker_with_volumes("by-name", {"source"}), worker_with_volumes("by-artifact", {"repo"})};
  auto spec = task_spec();
  spec.inputs.push_back(input_mount{"source", "repo", {}, "source"});  // input_mapping: source: repo
  CHECK(volume_locality{}.narrow(ws, all_of(ws), spec) == indexes{1});
}

TEST_CASE("volume locality keeps every worker with the highest count, in order", "[placement][volume_locality]") {
  std::vector<worker_info> ws{worker_with_volumes("a", {"repo"}), worker_with_volumes("b", {}),
                              worker_with_volumes("c", {"deps"}), worker_with_volumes("d", {"repo"})};
  const auto spec = task_spec({"repo", "deps"});
  CHECK(volume_locality{}.narrow(ws, all_of(ws), spec) == indexes{0, 2, 3});
  const auto seen = picks_over_seeds(
      [&](std::mt19937_64& rng) { return choose_worker(volume_locality{}, ws, all_of(ws), spec, rng); });
  CHECK(seen == std::set<std::size_t>{0, 2, 3});
}

TEST_CASE("volume locality counts two inputs of the same artifact twice", "[placement][volume_locality]") {
  std::vector<worker_info> ws{worker_with_volumes("two-volumes", {"repo", "deps"}), worker_with_volumes("shared", {"shared"})};
  auto spec = task_spec({"repo"});
  spec.inputs.push_back(input_mount{"a", "shared", {}, "a"});
  spec.inputs.push_back(input_mount{"b", "shared", {}, "b"});
  CHECK(volume_locality::local_volumes(ws[1], spec) == 2);
  CHECK(volume_locality{}.narrow(ws, all_of(ws), spec) == indexes{1});
}

TEST_CASE("volume locality stops counting a worker that cannot tie, without changing the answer",
          "[placement][volume_locality]") {
  std::vector<worker_info> ws{worker_with_volumes("all", {"a", "b", "c"}), worker_with_volumes("some", {"a", "b"}),
                              worker_with_volumes("all-too", {"a", "b", "c", "d"}), worker_with_volumes("c", {"c"})};
  CHECK(volume_locality{}.narrow(ws, all_of(ws), task_spec({"a", "b"}, {"c"})) == indexes{0, 2});
  CHECK(volume_locality{}.narrow(ws, indexes{3, 1}, task_spec({"a", "b"}, {"c"})) == indexes{1});
}

TEST_CASE("volume locality keeps all workers when none holds anything", "[placement][volume_locality]") {
  std::vector<worker_info> ws{worker_with_volumes("a", {"x"}), worker("b"), worker("c")};
  CHECK(volume_locality{}.narrow(ws, all_of(ws), task_spec({"repo"})) == indexes{0, 1, 2});
  CHECK(volume_locality{}.narrow(ws, all_of(ws), task_spec()) == indexes{0, 1, 2});
}

TEST_CASE("volume locality looks only at the candidates it is given", "[placement][volume_locality]") {
  std::vector<worker_info> ws{worker_with_volumes("best-but-excluded", {"repo", "deps"}),
                              worker_with_volumes("a", {"repo"}), worker("b")};
  CHECK(volume_locality{}.narrow(ws, indexes{1, 2}, task_spec({"repo", "deps"})) == indexes{1});
}

TEST_CASE("fewest build containers keeps the least busy workers", "[placement][fewest_build_containers]") {
  std::vector<worker_info> ws{worker_with_containers("a", 5), worker_with_containers("b", 2),
                              worker_with_containers("c", 9), worker_with_containers("d", 2)};
  const auto spec = task_spec();
  CHECK(fewest_build_containers{}.narrow(ws, all_of(ws), spec) == indexes{1, 3});
  const auto seen = picks_over_seeds(
      [&](std::mt19937_64& rng) { return choose_worker(fewest_build_containers{}, ws, all_of(ws), spec, rng); });
  CHECK(seen == std::set<std::size_t>{1, 3});
}

TEST_CASE("fewest build containers with a single minimum picks it", "[placement][fewest_build_containers]") {
  std::vector<worker_info> ws{worker_with_containers("a", 3), worker_with_containers("b", 0),
                              worker_with_containers("c", 1)};
  std::mt19937_64 rng(42);
  CHECK(choose_worker(fewest_build_containers{}, ws, all_of(ws), task_spec(), rng) == 1u);
}

TEST_CASE("random placement keeps every candidate and picks each over many seeds", "[placement][random]") {
  std::vector<worker_info> ws{worker("a"), worker("b"), worker("c"), worker("d")};
  const auto spec = task_spec();
  CHECK(random_placement{}.narrow(ws, indexes{3, 1, 2}, spec) == indexes{3, 1, 2});
  const auto seen = picks_over_seeds(
      [&](std::mt19937_64& rng) { return choose_worker(random_placement{}, ws, all_of(ws), spec, rng); });
  CHECK(seen == std::set<std::size_t>{0, 1, 2, 3});
}

TEST_CASE("the same seed gives the same pick", "[placement][random]") {
  std::vector<worker_info> ws(16, worker("w"));
  const auto spec = task_spec();
  std::mt19937_64 a(7), b(7);
  for (int i = 0; i < 20; ++i)
    CHECK(choose_worker(random_placement{}, ws, all_of(ws), spec, a) ==
          choose_worker(random_placement{}, ws, all_of(ws), spec, b));
}

TEST_CASE("limit active tasks keeps the workers with the fewest active tasks", "[placement][limit_active_tasks]") {
  std::vector<worker_info> ws{worker_with_tasks("a", 3), worker_with_tasks("b", 1), worker_with_tasks("c", 1),
                              worker_with_tasks("d", 2)};
  const auto spec = task_spec();
  CHECK(limit_active_tasks{}.narrow(ws, all_of(ws), spec) == indexes{1, 2});
  const auto seen = picks_over_seeds(
      [&](std::mt19937_64& rng) { return choose_worker(limit_active_tasks{2}, ws, all_of(ws), spec, rng); });
  CHECK(seen == std::set<std::size_t>{1, 2});
}

TEST_CASE("limit active tasks with max 0 is unlimited", "[placement][limit_active_tasks]") {
  std::vector<worker_info> ws{worker_with_tasks("a", 1000), worker_with_tasks("b", 999)};
  CHECK(limit_active_tasks{0}.narrow(ws, all_of(ws), task_spec()) == indexes{1});
}

TEST_CASE("limit active tasks drops workers at or over the limit", "[placement][limit_active_tasks]") {
  std::vector<worker_info> ws{worker_with_tasks("at", 2), worker_with_tasks("over", 5), worker_with_tasks("under", 1)};
  CHECK(limit_active_tasks{2}.narrow(ws, all_of(ws), task_spec()) == indexes{2});
}

TEST_CASE("limit active tasks finds no worker when all are at the limit", "[placement][limit_active_tasks]") {
  std::vector<worker_info> ws{worker_with_tasks("a", 2), worker_with_tasks("b", 3)};
  CHECK(limit_active_tasks{2}.narrow(ws, all_of(ws), task_spec()).empty());
  std::mt19937_64 rng(3);
  CHECK_FALSE(choose_worker(limit_active_tasks{2}, ws, all_of(ws), task_spec(), rng).has_value());
}

TEST_CASE("first fit keeps only the first candidate", "[placement][first_fit]") {
  std::vector<worker_info> ws{worker("a"), worker("b"), worker("c")};
  CHECK(first_fit{}.narrow(ws, indexes{2, 0, 1}, task_spec()) == indexes{2});
  CHECK(first_fit{}.narrow(ws, indexes{}, task_spec()).empty());
  std::mt19937_64 rng(0);
  CHECK(choose_worker(first_fit{}, ws, indexes{1, 2}, task_spec(), rng) == 1u);
}

TEST_CASE("every strategy finds nothing among no candidates", "[placement]") {
  std::vector<worker_info> ws{worker("a")};
  const auto spec = task_spec({"repo"});
  std::mt19937_64 rng(0);
  CHECK_FALSE(choose_worker(volume_locality{}, ws, indexes{}, spec, rng));
  CHECK_FALSE(choose_worker(fewest_build_containers{}, ws, indexes{}, spec, rng));
  CHECK_FALSE(choose_worker(random_placement{}, ws, indexes{}, spec, rng));
  CHECK_FALSE(choose_worker(limit_active_tasks{}, ws, indexes{}, spec, rng));
  CHECK_FALSE(choose_worker(first_fit{}, ws, indexes{}, spec, rng));
}

TEST_CASE("in-place and copying narrow agree", "[placement]") {
  std::vector<worker_info> ws;
  for (std::uint64_t i = 0; i < 50; ++i) {
    auto w = worker_with_tasks("w" + std::to_string(i), i % 4);
    w.active_containers = (i * 7) % 5;
    if (i % 3 == 0) w.volumes = {"repo"};
    ws.push_back(w);
  }
  const auto spec = task_spec({"repo"});
  auto check = [&](const auto& s) {
    auto in_place = all_of(ws);
    s.narrow_in_place(ws, in_place, spec);
    CHECK(in_place == s.narrow(ws, all_of(ws), spec));
  };
  check(volume_locality{});
  check(fewest_build_containers{});
  check(random_placement{});
  check(limit_active_tasks{3});
  check(first_fit{});
}
