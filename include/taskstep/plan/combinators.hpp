#pragma once
//! \file
//! Step combinators as class templates over plan steps, each with a factory function:
//! `auto plan = do_(get_src, in_parallel(unit, lint), ensure(deploy, cleanup));`
//! Every combinator models `plan::step` and calls the semantics of semantics.hpp (the same functions
//! the runtime tree uses). Children are held by value; no RTTI, no virtual calls. A combinator's
//! children share the state and the delegate it was given: under `in_parallel` and `across` they run
//! on several threads, so give those a thread-safe delegate (e.g. `locked_delegate`).

#include <chrono>
#include <cstddef>
#include <stop_token>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "taskstep/core/value.hpp"
#include "taskstep/plan/outcome.hpp"
#include "taskstep/plan/semantics.hpp"
#include "taskstep/plan/state.hpp"
#include "taskstep/plan/step.hpp"

namespace taskstep::plan {

namespace detail {
// Runs child `i` of a tuple: a chain of index tests the optimiser folds into direct calls.
template <std::size_t I, class Tuple, class State, class D>
outcome run_nth(Tuple& t, std::size_t i, State& state, D& d, const std::stop_token& stop) {
  if constexpr (I >= std::tuple_size_v<Tuple>) {
    return succeeded();  // no children (`do: []`): never called by the semantics
  } else {
    if constexpr (I + 1 < std::tuple_size_v<Tuple>) {
      if (i != I) return run_nth<I + 1>(t, i, state, d, stop);
    }
    return std::get<I>(t).run(state, d, stop);
  }
}
template <class State, class D, class... S>
void assert_children() {
  static_assert(plan_state<State>, TASKSTEP_PLAN_STATE_MESSAGE);
  static_assert(taskstep::step::task_delegate<D>, TASKSTEP_TASK_DELEGATE_MESSAGE);
  static_assert((step_for<S, State, D> && ...), TASKSTEP_PLAN_STEP_MESSAGE);
}
}  // namespace detail

//! `do:` — models `plan::step`; see `detail::run_do`.
template <class... S>
class basic_do {
  static_assert((step<S> && ...), TASKSTEP_PLAN_STEP_MESSAGE);

 public:
  explicit basic_do(S... s) : steps_(std::move(s)...) {}
  template <class State, class D>
  outcome run(State& state, D& d, std::stop_token stop) {
    detail::assert_children<State, D, S...>();
    return detail::run_do(
        sizeof...(S),
        [&](std::size_t i, const std::stop_token& st) {
          return detail::run_nth<0>(steps_, i, state, d, st);
        },
        stop);
  }

 private:
  std::tuple<S...> steps_;
};

//! `in_parallel:` with `limit` (0 = all at once) and `fail_fast` — see `detail::run_in_parallel`.
template <class... S>
class basic_in_parallel {
  static_assert((step<S> && ...), TASKSTEP_PLAN_STEP_MESSAGE);

 public:
  explicit basic_in_parallel(S... s) : steps_(std::move(s)...) {}
  basic_in_parallel(std::size_t limit, bool fail_fast, S... s)
      : steps_(std::move(s)...), limit_(limit), fail_fast_(fail_fast) {}
  //! The same step with `limit:` set.
  basic_in_parallel limit(std::size_t n) && { limit_ = n; return std::move(*this); }
  //! The same step with `fail_fast:` set.
  basic_in_parallel fail_fast(bool on = true) && { fail_fast_ = on; return std::move(*this); }

  template <class State, class D>
  outcome run(State& state, D& d, std::stop_token stop) {
    detail::assert_children<State, D, S...>();
    return detail::run_in_parallel(
        sizeof...(S), limit_, fail_fast_,
        [&](std::size_t i, const std::stop_token& st) {
          return detail::run_nth<0>(steps_, i, state, d, st);
        },
        stop);
  }

 private:
  std::tuple<S...> steps_;
  std::size_t limit_ = 0;
  bool fail_fast_ = false;
};

//! `try:` — see `detail::run_try`.
template <class S>
class basic_try {
  static_assert(step<S>, TASKSTEP_PLAN_STEP_MESSAGE);

 public:
  explicit basic_try(S s) : step_(std::move(s)) {}
  template <class State, class D>
  outcome run(State& state, D& d, std::stop_token stop) {
    detail::assert_children<State, D, S>();
    return detail::run_try([&](const std::stop_token& st) { return step_.run(state, d, st); }, stop);
  }

 private:
  S step_;
};

//! The hooks, as tags naming the semantics function each uses.
enum class hook_kind { ensure, on_success, on_failure, on_abort, on_error };

//! A step with a hook (`ensure:`, `on_success:`, `on_failure:`, `on_abort:`, `on_error:`).
template <hook_kind K, class S, class H>
class basic_hooked {
  static_assert(step<S>, TASKSTEP_PLAN_STEP_MESSAGE);
  static_assert(step<H>, TASKSTEP_PLAN_STEP_MESSAGE);

 public:
  basic_hooked(S s, H h) : step_(std::move(s)), hook_(std::move(h)) {}
  template <class State, class D>
  outcome run(State& state, D& d, std::stop_token stop) {
    detail::assert_children<State, D, S, H>();
    auto s = [&](const std::stop_token& st) { return step_.run(state, d, st); };
    auto h = [&](const std::stop_token& st) { return hook_.run(state, d, st); };
    if constexpr (K == hook_kind::ensure) return detail::run_ensure(s, h, stop);
    else if constexpr (K == hook_kind::on_success) return detail::run_on_success(s, h, stop);
    else if constexpr (K == hook_kind::on_failure) return detail::run_on_failure(s, h, stop);
    else if constexpr (K == hook_kind::on_abort) return detail::run_on_abort(s, h, stop);
    else return detail::run_on_error(s, h, stop);
  }

 private:
  S step_;
  H hook_;
};

//! `attempts:` — each attempt runs a fresh copy of the step (6.7 builds one step per attempt).
template <class S>
class basic_attempts {
  static_assert(step<S>, TASKSTEP_PLAN_STEP_MESSAGE);
  static_assert(std::copy_constructible<S>, "taskstep: attempts copies its step for every attempt: S must be copy-constructible");

 public:
  basic_attempts(std::size_t n, S s) : n_(n), step_(std::move(s)) {}
  template <class State, class D>
  outcome run(State& state, D& d, std::stop_token stop) {
    detail::assert_children<State, D, S>();
    return detail::run_attempts(
        n_,
        [&](std::size_t, std::stop_token st) {
          S fresh = step_;
          return fresh.run(state, d, st);
        },
        stop);
  }

 private:
  std::size_t n_;
  S step_;
};

//! `timeout:` — see `detail::run_timeout`.
template <class S>
class basic_timeout {
  static_assert(step<S>, TASKSTEP_PLAN_STEP_MESSAGE);

 public:
  basic_timeout(std::chrono::nanoseconds duration, S s) : duration_(duration), step_(std::move(s)) {}
  template <class State, class D>
  outcome run(State& state, D& d, std::stop_token stop) {
    detail::assert_children<State, D, S>();
    return detail::run_timeout(duration_, [&](const std::stop_token& st) { return step_.run(state, d, st); }, stop);
  }

 private:
  std::chrono::nanoseconds duration_;
  S step_;
};

//! One `across:` var: its name (read as `((.:name))`), its values, and how many run at once.
struct across_var {
  std::string name;
  std::vector<value> values;
  std::size_t max_in_flight = 1;  //!< 6.7's default; 0 = all (`max_in_flight: all`)
};

namespace detail {
inline void across_limits(const std::vector<across_var>& vars, std::vector<std::size_t>& sizes,
                          std::vector<std::size_t>& limits) {
  for (const auto& v : vars) {
    sizes.push_back(v.values.size());
    limits.push_back(v.max_in_flight == 0 ? v.values.size() : v.max_in_flight);
  }
}
// The state for combination `flat` (a child scope holding each var's value), with 6.7's warnings.
template <class State>
State across_scope(const State& state, const std::vector<across_var>& vars, std::size_t flat) {
  State scoped = state.scoped();
  for (std::size_t k = vars.size(); k-- > 0;) {
    const std::size_t n = vars[k].values.size();
    scoped.locals().set(vars[k].name, vars[k].values[flat % n]);
    flat /= n;
  }
  return scoped;
}
template <class State, class D>
void across_warnings(State& state, D& d, const std::vector<across_var>& vars) {
  d.err("WARNING: the across step is experimental and subject to change!\n\n"
        "follow RFC #29 for updates: https://github.com/concourse/rfcs/pull/29\n\n");
  for (const auto& v : vars)
    if (state.locals().find(v.name)) d.err("WARNING: across step shadows local var '" + v.name + "'\n");
}
}  // namespace detail

//! `across:` — the step once per combination of the vars' values (a fresh copy each, in its own
//! scope of local vars), see `detail::run_across`.
template <class S>
class basic_across {
  static_assert(step<S>, TASKSTEP_PLAN_STEP_MESSAGE);
  static_assert(std::copy_constructible<S>, "taskstep: across copies its step for every combination: S must be copy-constructible");

 public:
  basic_across(std::vector<across_var> vars, bool fail_fast, S s)
      : vars_(std::move(vars)), fail_fast_(fail_fast), step_(std::move(s)) {}
  template <class State, class D>
  outcome run(State& state, D& d, std::stop_token stop) {
    detail::assert_children<State, D, S>();
    detail::across_warnings(state, d, vars_);
    std::vector<std::size_t> sizes, limits;
    detail::across_limits(vars_, sizes, limits);
    return detail::run_across(
        sizes, limits, fail_fast_,
        [&](std::size_t flat, std::stop_token st) {
          State scoped = detail::across_scope(state, vars_, flat);
          S fresh = step_;
          return fresh.run(scoped, d, st);
        },
        stop);
  }

 private:
  std::vector<across_var> vars_;
  bool fail_fast_;
  S step_;
};

// Factories: each argument may be a plan step, a basic_task_step or a callable (see as_step).
template <class... X>
auto do_(X&&... x) { return basic_do<as_step_t<X>...>(as_step(std::forward<X>(x))...); }
template <class... X>
auto in_parallel(X&&... x) { return basic_in_parallel<as_step_t<X>...>(as_step(std::forward<X>(x))...); }
template <class X>
auto try_(X&& x) { return basic_try<as_step_t<X>>(as_step(std::forward<X>(x))); }
template <class X, class H>
auto ensure(X&& x, H&& h) {
  return basic_hooked<hook_kind::ensure, as_step_t<X>, as_step_t<H>>(as_step(std::forward<X>(x)), as_step(std::forward<H>(h)));
}
template <class X, class H>
auto on_success(X&& x, H&& h) {
  return basic_hooked<hook_kind::on_success, as_step_t<X>, as_step_t<H>>(as_step(std::forward<X>(x)), as_step(std::forward<H>(h)));
}
template <class X, class H>
auto on_failure(X&& x, H&& h) {
  return basic_hooked<hook_kind::on_failure, as_step_t<X>, as_step_t<H>>(as_step(std::forward<X>(x)), as_step(std::forward<H>(h)));
}
template <class X, class H>
auto on_abort(X&& x, H&& h) {
  return basic_hooked<hook_kind::on_abort, as_step_t<X>, as_step_t<H>>(as_step(std::forward<X>(x)), as_step(std::forward<H>(h)));
}
template <class X, class H>
auto on_error(X&& x, H&& h) {
  return basic_hooked<hook_kind::on_error, as_step_t<X>, as_step_t<H>>(as_step(std::forward<X>(x)), as_step(std::forward<H>(h)));
}
template <class X>
auto attempts(std::size_t n, X&& x) { return basic_attempts<as_step_t<X>>(n, as_step(std::forward<X>(x))); }
template <class X>
auto timeout(std::chrono::nanoseconds d, X&& x) { return basic_timeout<as_step_t<X>>(d, as_step(std::forward<X>(x))); }
template <class X>
auto across(std::vector<across_var> vars, bool fail_fast, X&& x) {
  return basic_across<as_step_t<X>>(std::move(vars), fail_fast, as_step(std::forward<X>(x)));
}

}  // namespace taskstep::plan
