#pragma once
//! \file
//! The `step` concept of the plan layer and the adapters that make a `step::basic_task_step`, or any
//! callable, a plan step. A plan step is Concourse's `exec.Step`: run against the build's state, a
//! delegate and a stop token (the `ctx`), it ends as an `outcome`.

#include <concepts>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "taskstep/plan/outcome.hpp"
#include "taskstep/plan/state.hpp"
#include "taskstep/step/delegate.hpp"
#include "taskstep/step/task_step.hpp"

namespace taskstep::plan {

//! `s.run(state, delegate, stop) -> outcome` for this State and Delegate.
template <class S, class State, class D>
concept step_for = requires(S& s, State& state, D& d, std::stop_token stop) {
  { s.run(state, d, stop) } -> std::same_as<outcome>;
};

//! A plan step: runs against any `plan_state` and any `task_delegate` (checked with archetypes, which
//! instantiates only the declaration of `run`).
template <class S>
concept step = std::move_constructible<S> && step_for<S, detail::archetype_state, taskstep::step::null_delegate>;

#define TASKSTEP_PLAN_STEP_MESSAGE                                                                        \
  "taskstep: S is not a plan step: it needs run(State&, Delegate&, std::stop_token) -> plan::outcome "   \
  "for any plan_state State and task_delegate Delegate (wrap a basic_task_step or a callable with "      \
  "plan::as_step)"

//! A `basic_task_step` as a plan step: exit 0 succeeded, another exit failed, `interrupted` aborted,
//! the step's own `timeout exceeded` failed (as 6.7's timeout step), any other error errored.
template <class T>
class task {
 public:
  explicit task(T t) : task_(std::move(t)) {}
  template <class State, class D>
  outcome run(State& state, D& d, std::stop_token stop) {
    static_assert(plan_state<State>, TASKSTEP_PLAN_STATE_MESSAGE);
    static_assert(taskstep::step::task_delegate<D>, TASKSTEP_TASK_DELEGATE_MESSAGE);
    auto r = task_.run(state.artifacts(), d, stop);
    if (!r) {
      if (r.error().code() == errc::cancelled) return aborted();
      if (r.error().code() == errc::timeout) return failed(r.error().message());
      return errored(r.error().message());
    }
    if (r->succeeded()) return succeeded();
    return failed("exit status " + std::to_string(r->exit_status));
  }
  T& get() noexcept { return task_; }

 private:
  T task_;
};

//! A callable as a plan step: `f(state, delegate, stop) -> outcome`, or `f() -> outcome`.
template <class F>
class callable_step {
 public:
  explicit callable_step(F f) : f_(std::move(f)) {}
  template <class State, class D>
  outcome run(State& state, D& d, std::stop_token stop) {
    if constexpr (std::is_invocable_v<F&, State&, D&, std::stop_token>) return f_(state, d, stop);
    else return f_();
  }

 private:
  F f_;
};

namespace detail {
template <class T>
struct is_task_step : std::false_type {};
template <class C, class I, class P, class W, class T>
struct is_task_step<taskstep::step::basic_task_step<C, I, P, W, T>> : std::true_type {};
}  // namespace detail

//! What the factories do with each argument: a plan step as it is, a `basic_task_step` in `task`,
//! any other callable in `callable_step`.
template <class X>
auto as_step(X&& x) {
  using T = std::remove_cvref_t<X>;
  if constexpr (detail::is_task_step<T>::value) return task<T>(std::forward<X>(x));
  else if constexpr (step<T>) return T(std::forward<X>(x));
  else return callable_step<T>(std::forward<X>(x));
}
template <class X>
using as_step_t = decltype(as_step(std::declval<X>()));

//! Serialises every call to a delegate, so the steps of an `in_parallel` or `across` (which run on
//! several threads and share the delegate they were given) may use it. Models `task_delegate`.
template <class D>
class locked_delegate {
  static_assert(taskstep::step::task_delegate<D>, TASKSTEP_TASK_DELEGATE_MESSAGE);

 public:
  explicit locked_delegate(D& d) : d_(d) {}
  void initializing(const task_config& c) { call([&] { d_.initializing(c); }); }
  void starting(const task_config& c) { call([&] { d_.starting(c); }); }
  void finished(int status) { call([&] { d_.finished(status); }); }
  void errored(std::string_view m) { call([&] { d_.errored(m); }); }
  void out(std::string_view t) { call([&] { d_.out(t); }); }
  void err(std::string_view t) { call([&] { d_.err(t); }); }
  void selected_worker(std::string_view name) {
    if constexpr (taskstep::step::reports_selected_worker<D>) call([&] { d_.selected_worker(name); });
  }

 private:
  template <class F>
  void call(F f) {
    std::lock_guard lock(mutex_);
    f();
  }
  D& d_;
  std::mutex mutex_;
};

}  // namespace taskstep::plan
