// Placement: one decision = `satisfying_workers(workers, spec)` + `choose_worker(strategy, ...)`, as the
// step makes it, over 10, 100, 1,000 and 10,000 workers, for each strategy:
//   first_fit, random_placement, fewest_build_containers, limit_active_tasks{max=5},
//   volume_locality (every worker holds 20 volumes; the spec has 5 inputs and 1 cache, ~1 worker in 10
//   holds some of them), and the chain volume_locality | fewest_build_containers.
// Baseline, measured in the same run: `satisfying` = the filter pass alone (every strategy needs it),
// and `hand_fewest` = a hand-written loop that finds the worker with the fewest containers among the
// satisfying ones (no candidate vector): the floor of a decision that looks at every worker.
//
// Run: build/benchmarks/placement_bench [--benchmark_repetitions=5]
#include "bench_support.hpp"  // first: see the note on first_fit there

#include <benchmark/benchmark.h>

#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "taskstep/core/container_spec.hpp"
#include "taskstep/core/worker_info.hpp"
#include "taskstep/placement/placement.hpp"

using namespace taskstep;

namespace {

struct fleet {
  std::vector<worker_info> workers;
  container_spec spec;
};

const fleet& fleet_of(std::int64_t n) {
  static std::map<std::int64_t, fleet> cache;
  auto [it, inserted] = cache.try_emplace(n);
  if (!inserted) return it->second;
  fleet& f = it->second;
  std::mt19937 rng(3);
  f.workers.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    worker_info w;
    w.name = "worker-" + std::to_string(i);
    w.platform = "linux";
    w.resource_types = {"registry-image", "git", "time"};
    if (i % 10 == 9) w.tags = {"gpu"};  // tagged workers do not take untagged steps
    w.active_containers = rng() % 50;
    w.active_tasks = rng() % 8;
    for (int v = 0; v < 20; ++v) w.volumes.insert("artifact-" + std::to_string(rng() % 2000));
    if (i % 10 == 3) w.volumes.insert("source");
    if (i % 20 == 3) w.volumes.insert("ci");
    f.workers.push_back(std::move(w));
  }
  f.spec.platform = "linux";
  f.spec.team = "main";
  for (const char* in : {"source", "ci", "version", "deps", "assets"})
    f.spec.inputs.push_back(input_mount{in, in, std::string("/artifacts/") + in, in});
  f.spec.caches.push_back(cache_mount{"go/pkg/mod"});
  return f;
}

template <class Strategy>
void decide(benchmark::State& state, const Strategy& strategy) {
  const fleet& f = fleet_of(state.range(0));
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    auto candidates = placement::satisfying_workers(f.workers, f.spec);
    if (!candidates) {
      state.SkipWithError(candidates.error().message().c_str());
      break;
    }
    auto chosen = placement::choose_worker(strategy, std::span<const worker_info>(f.workers), *candidates, f.spec, rng);
    benchmark::DoNotOptimize(chosen);
  }
  state.counters["ns_per_worker"] = benchmark::Counter(
      static_cast<double>(state.iterations() * state.range(0)), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void first_fit(benchmark::State& s) { decide(s, placement::first_fit{}); }
void random_placement(benchmark::State& s) { decide(s, placement::random_placement{}); }
void fewest_build_containers(benchmark::State& s) { decide(s, placement::fewest_build_containers{}); }
void limit_active_tasks(benchmark::State& s) { decide(s, placement::limit_active_tasks{5}); }
void volume_locality(benchmark::State& s) { decide(s, placement::volume_locality{}); }
void volume_then_fewest(benchmark::State& s) {
  decide(s, placement::chain{placement::volume_locality{}, placement::fewest_build_containers{}});
}

void satisfying(benchmark::State& state) {
  const fleet& f = fleet_of(state.range(0));
  for (auto _ : state) {
    auto candidates = placement::satisfying_workers(f.workers, f.spec);
    benchmark::DoNotOptimize(candidates);
  }
  state.counters["ns_per_worker"] = benchmark::Counter(
      static_cast<double>(state.iterations() * state.range(0)), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void hand_fewest(benchmark::State& state) {
  const fleet& f = fleet_of(state.range(0));
  for (auto _ : state) {
    std::size_t best = f.workers.size();
    std::uint64_t fewest = std::numeric_limits<std::uint64_t>::max();
    for (std::size_t i = 0; i < f.workers.size(); ++i) {
      const worker_info& w = f.workers[i];
      if (!placement::satisfies(w, f.spec)) continue;
      if (w.active_containers < fewest) {
        fewest = w.active_containers;
        best = i;
      }
    }
    benchmark::DoNotOptimize(best);
  }
  state.counters["ns_per_worker"] = benchmark::Counter(
      static_cast<double>(state.iterations() * state.range(0)), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void workers(benchmark::internal::Benchmark* b) {
  b->ArgName("workers")->Arg(10)->Arg(100)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK(satisfying)->Apply(workers);
BENCHMARK(hand_fewest)->Apply(workers);
BENCHMARK(first_fit)->Apply(workers);
BENCHMARK(random_placement)->Apply(workers);
BENCHMARK(fewest_build_containers)->Apply(workers);
BENCHMARK(limit_active_tasks)->Apply(workers);
BENCHMARK(volume_locality)->Apply(workers);
BENCHMARK(volume_then_fewest)->Apply(workers);
BENCHMARK_MAIN();
