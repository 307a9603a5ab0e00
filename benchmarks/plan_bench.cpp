// The plan layer's cost: `do_(a, b, c)` of three trivial steps against the same three calls and
// checks written by hand (goal: ≤ 1.05× the hand-written time; docs/plan.md has the measured ratio).
// A trivial step bumps a counter the optimiser cannot see through and succeeds.
//
// Run: build/benchmarks/plan_bench [--benchmark_repetitions=9 --benchmark_enable_random_interleaving=true]
#include "bench_support.hpp"  // first: see the note on first_fit there

#include <benchmark/benchmark.h>

#include <stop_token>

#include "taskstep/plan/combinators.hpp"
#include "taskstep/plan/state.hpp"
#include "taskstep/step/delegate.hpp"

using namespace taskstep;

namespace {

struct trivial {
  long* counter;
  template <class State, class D>
  plan::outcome run(State&, D&, std::stop_token) {
    ++*counter;
    benchmark::DoNotOptimize(*counter);
    return plan::succeeded();
  }
};

void plan_do(benchmark::State& st) {
  bench::memory_artifacts artifacts;
  plan::basic_state<bench::memory_artifacts> state(artifacts);
  step::null_delegate d;
  std::stop_source stop;
  long counter = 0;
  auto p = plan::do_(trivial{&counter}, trivial{&counter}, trivial{&counter});
  for (auto _ : st) {
    plan::outcome o = p.run(state, d, stop.get_token());
    benchmark::DoNotOptimize(o);
  }
}

// The same calls, in order, stopping at the first step that does not succeed.
template <class State, class D>
plan::outcome by_hand(trivial& a, trivial& b, trivial& c, State& state, D& d, std::stop_token stop) {
  plan::outcome o = a.run(state, d, stop);
  if (!o.succeeded()) return o;
  o = b.run(state, d, stop);
  if (!o.succeeded()) return o;
  o = c.run(state, d, stop);
  if (!o.succeeded()) return o;
  return plan::succeeded();
}

void hand_written(benchmark::State& st) {
  bench::memory_artifacts artifacts;
  plan::basic_state<bench::memory_artifacts> state(artifacts);
  step::null_delegate d;
  std::stop_source stop;
  long counter = 0;
  trivial a{&counter}, b{&counter}, c{&counter};
  for (auto _ : st) {
    plan::outcome o = by_hand(a, b, c, state, d, stop.get_token());
    benchmark::DoNotOptimize(o);
  }
}

}  // namespace

BENCHMARK(plan_do);
BENCHMARK(hand_written);
BENCHMARK_MAIN();
