#pragma once
//! \file
//! The runtime plan tree: what a pipeline job's `plan:` is loaded into when the plan is only known at
//! run time (`taskstep run`). A node is a `std::variant` of the node kinds — not a class hierarchy —
//! and `evaluate` runs it with the same semantics functions (semantics.hpp) as the typed combinators.
//!
//! `Leaf` is the caller's step kind (a task, a get…; e.g. its own variant): it must have
//! `run(State&, D&, std::stop_token) const -> outcome`. Leaves are const and may run concurrently
//! (an `across` child, an attempt): a leaf builds whatever it needs afresh on every run.

#include <chrono>
#include <cstddef>
#include <stop_token>
#include <utility>
#include <variant>
#include <vector>

#include "taskstep/plan/combinators.hpp"
#include "taskstep/plan/load_var.hpp"
#include "taskstep/plan/outcome.hpp"
#include "taskstep/plan/semantics.hpp"

namespace taskstep::plan {

template <class Leaf>
struct basic_node;

//! The node kinds. Hooks and single-child modifiers keep their child in a one-element vector (a
//! vector may hold the node type before it is complete).
template <class Leaf>
struct node_kinds {
  using node = basic_node<Leaf>;
  struct do_node { std::vector<node> steps; };
  struct in_parallel_node {
    std::vector<node> steps;
    std::size_t limit = 0;
    bool fail_fast = false;
  };
  struct try_node { std::vector<node> step; };
  struct hook_node {
    hook_kind kind;
    std::vector<node> step;  //!< [0] the step, [1] the hook
  };
  struct attempts_node {
    std::size_t count;
    std::vector<node> step;
  };
  struct timeout_node {
    std::chrono::nanoseconds duration;
    std::vector<node> step;
  };
  struct across_node {
    std::vector<across_var> vars;
    bool fail_fast = false;
    std::vector<node> step;
  };
  struct load_var_node { load_var_spec spec; };
  using variant = std::variant<Leaf, do_node, in_parallel_node, try_node, hook_node, attempts_node, timeout_node,
                               across_node, load_var_node>;
};

//! One node of a runtime plan.
template <class Leaf>
struct basic_node {
  using kinds = node_kinds<Leaf>;
  typename kinds::variant kind;
};

// Builders, reading like the typed factories.
template <class Leaf>
basic_node<Leaf> leaf_node(Leaf l) { return {std::move(l)}; }
template <class Leaf>
basic_node<Leaf> do_node(std::vector<basic_node<Leaf>> steps) { return {typename node_kinds<Leaf>::do_node{std::move(steps)}}; }
template <class Leaf>
basic_node<Leaf> in_parallel_node(std::vector<basic_node<Leaf>> steps, std::size_t limit = 0, bool fail_fast = false) {
  return {typename node_kinds<Leaf>::in_parallel_node{std::move(steps), limit, fail_fast}};
}
template <class Leaf>
basic_node<Leaf> try_node(basic_node<Leaf> s) { return {typename node_kinds<Leaf>::try_node{{std::move(s)}}}; }
template <class Leaf>
basic_node<Leaf> hook_node(hook_kind k, basic_node<Leaf> s, basic_node<Leaf> h) {
  std::vector<basic_node<Leaf>> both;
  both.push_back(std::move(s));
  both.push_back(std::move(h));
  return {typename node_kinds<Leaf>::hook_node{k, std::move(both)}};
}
template <class Leaf>
basic_node<Leaf> attempts_node(std::size_t n, basic_node<Leaf> s) { return {typename node_kinds<Leaf>::attempts_node{n, {std::move(s)}}}; }
template <class Leaf>
basic_node<Leaf> timeout_node(std::chrono::nanoseconds d, basic_node<Leaf> s) {
  return {typename node_kinds<Leaf>::timeout_node{d, {std::move(s)}}};
}
template <class Leaf>
basic_node<Leaf> across_node(std::vector<across_var> vars, bool fail_fast, basic_node<Leaf> s) {
  return {typename node_kinds<Leaf>::across_node{std::move(vars), fail_fast, {std::move(s)}}};
}
template <class Leaf>
basic_node<Leaf> load_var_node(load_var_spec spec) { return {typename node_kinds<Leaf>::load_var_node{std::move(spec)}}; }

//! Runs `n` against `state` (a `plan_state`) with the delegate `d`; the semantics of each kind are
//! those of the typed combinator of the same name.
template <class Leaf, class State, class D>
outcome evaluate(const basic_node<Leaf>& n, State& state, D& d, std::stop_token stop) {
  static_assert(plan_state<State>, TASKSTEP_PLAN_STATE_MESSAGE);
  static_assert(taskstep::step::task_delegate<D>, TASKSTEP_TASK_DELEGATE_MESSAGE);
  using k = node_kinds<Leaf>;
  auto child = [&](const basic_node<Leaf>& c) {
    return [&c, &state, &d](std::stop_token st) { return evaluate(c, state, d, st); };
  };
  auto nth = [&](const std::vector<basic_node<Leaf>>& v) {
    return [&v, &state, &d](std::size_t i, std::stop_token st) { return evaluate(v[i], state, d, st); };
  };
  return std::visit(
      [&](const auto& x) -> outcome {
        using X = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<X, Leaf>) {
          return x.run(state, d, stop);
        } else if constexpr (std::is_same_v<X, typename k::do_node>) {
          return detail::run_do(x.steps.size(), nth(x.steps), stop);
        } else if constexpr (std::is_same_v<X, typename k::in_parallel_node>) {
          return detail::run_in_parallel(x.steps.size(), x.limit, x.fail_fast, nth(x.steps), stop);
        } else if constexpr (std::is_same_v<X, typename k::try_node>) {
          return detail::run_try(child(x.step[0]), stop);
        } else if constexpr (std::is_same_v<X, typename k::hook_node>) {
          auto s = child(x.step[0]);
          auto h = child(x.step[1]);
          switch (x.kind) {
            case hook_kind::ensure: return detail::run_ensure(s, h, stop);
            case hook_kind::on_success: return detail::run_on_success(s, h, stop);
            case hook_kind::on_failure: return detail::run_on_failure(s, h, stop);
            case hook_kind::on_abort: return detail::run_on_abort(s, h, stop);
            case hook_kind::on_error: return detail::run_on_error(s, h, stop);
          }
          return errored("unknown hook");
        } else if constexpr (std::is_same_v<X, typename k::attempts_node>) {
          return detail::run_attempts(x.count, [&](std::size_t, std::stop_token st) { return evaluate(x.step[0], state, d, st); }, stop);
        } else if constexpr (std::is_same_v<X, typename k::timeout_node>) {
          return detail::run_timeout(x.duration, child(x.step[0]), stop);
        } else if constexpr (std::is_same_v<X, typename k::across_node>) {
          detail::across_warnings(state, d, x.vars);
          std::vector<std::size_t> sizes, limits;
          detail::across_limits(x.vars, sizes, limits);
          return detail::run_across(
              sizes, limits, x.fail_fast,
              [&](std::size_t flat, std::stop_token st) {
                State scoped = detail::across_scope(state, x.vars, flat);
                return evaluate(x.step[0], scoped, d, st);
              },
              stop);
        } else {
          load_var step(x.spec);
          return step.run(state, d, stop);
        }
      },
      n.kind);
}

}  // namespace taskstep::plan
