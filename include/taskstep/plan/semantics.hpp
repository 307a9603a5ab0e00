#pragma once
//! \file
//! The semantics of every combinator, written once as functions over "run child i" callables
//! (`run(i, stop) -> outcome`). The typed combinators (combinators.hpp) and the runtime tree
//! (tree.hpp) both call these; each function names the Concourse 6.7 file (atc/exec/) it follows.
//! "`ctx.Err() != nil`" is `stop.stop_requested()`; a hook Concourse runs with
//! `context.Background()` gets a token that never stops.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <utility>
#include <vector>

#include "taskstep/plan/outcome.hpp"

namespace taskstep::plan::detail {

//! `do:` (6.7 builds it as a chain of OnSuccess ending in IdentityStep): children in order, stopping
//! at the first that does not succeed; its outcome is the build's. No children: succeeded.
template <class Run>
outcome run_do(std::size_t n, Run&& run, const std::stop_token& stop) {
  for (std::size_t i = 0; i < n; ++i) {
    outcome o = run(i, stop);
    if (!o.succeeded()) return o;
  }
  return succeeded();
}

//! in_parallel.go: at most `limit` children at once (0 = all), each on its own thread; a child waits
//! for a free slot, and none starts once the run is stopped. With `fail_fast` a child that does not
//! succeed stops its siblings. Errors of the children (but not their aborts) are the step's error;
//! a stop from outside aborts it; otherwise it succeeded when every child ran and succeeded.
template <class Run>
outcome run_in_parallel(std::size_t n, std::size_t limit, bool fail_fast, Run&& run, std::stop_token outer) {
  if (limit == 0 || limit > n) limit = n;
  std::stop_source inner;
  std::stop_callback forward(outer, [&] { inner.request_stop(); });
  std::vector<std::optional<outcome>> results(n);
  std::mutex m;
  std::condition_variable slot_freed;
  std::size_t active = 0;
  {
    std::vector<std::jthread> threads;
    threads.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      std::unique_lock lock(m);
      slot_freed.wait(lock, [&] { return active < limit; });  // as 6.7's `sem <- true`: not interruptible
      if (inner.stop_requested()) break;
      ++active;
      lock.unlock();
      threads.emplace_back([&, i] {
        outcome o = run(i, inner.get_token());
        const bool bad = !o.succeeded();
        if (bad && fail_fast) inner.request_stop();
        std::lock_guard done(m);
        results[i] = std::move(o);
        --active;
        slot_freed.notify_all();
      });
    }
  }  // joins every thread
  std::string errors;
  bool all_succeeded = true;
  for (const auto& r : results) {
    if (!r || !r->succeeded()) all_succeeded = false;
    if (r && r->status == status::errored) append_error(errors, r->message);
  }
  if (outer.stop_requested()) return aborted();
  if (!errors.empty()) return plan::errored(std::move(errors));
  return all_succeeded ? succeeded() : failed();
}

//! try_step.go: an abort stays an abort; anything else (failure and error too) succeeds.
template <class Run>
outcome run_try(Run&& run, const std::stop_token& stop) {
  outcome o = run(stop);
  if (o.status == status::aborted) return o;
  return succeeded();
}

//! ensure_step.go: the hook always runs (with a token that never stops when the build was stopped);
//! a stop aborts; either error errors; succeeded only when both succeeded.
template <class Step, class Hook>
outcome run_ensure(Step&& step, Hook&& hook, const std::stop_token& stop) {
  outcome o = step(stop);
  outcome h = hook(stop.stop_requested() ? std::stop_token{} : stop);
  if (stop.stop_requested()) return aborted();
  std::string errors;
  if (o.is_error()) append_error(errors, o.message);
  if (h.is_error()) append_error(errors, h.message);
  if (!errors.empty()) return plan::errored(std::move(errors));
  if (o.succeeded() && h.succeeded()) return succeeded();
  return failed();
}

//! on_success.go: an error or failure of the step is the outcome (no hook); after success, the hook's.
template <class Step, class Hook>
outcome run_on_success(Step&& step, Hook&& hook, const std::stop_token& stop) {
  outcome o = step(stop);
  if (!o.succeeded()) return o;
  return hook(stop);
}

//! on_failure.go: after a failure the hook runs; its error is the outcome, else the step's failure.
template <class Step, class Hook>
outcome run_on_failure(Step&& step, Hook&& hook, const std::stop_token& stop) {
  outcome o = step(stop);
  if (o.status != status::failed) return o;
  outcome h = hook(stop);
  if (h.is_error()) return h;
  return o;
}

//! on_abort.go: after an abort the hook runs (never stopped; its outcome ignored); the step's outcome.
template <class Step, class Hook>
outcome run_on_abort(Step&& step, Hook&& hook, const std::stop_token& stop) {
  outcome o = step(stop);
  if (o.status == status::aborted) (void)hook(std::stop_token{});
  return o;
}

//! on_error.go: after an error (not an abort) the hook runs (never stopped); still errored, with the
//! hook's error appended.
template <class Step, class Hook>
outcome run_on_error(Step&& step, Hook&& hook, const std::stop_token& stop) {
  outcome o = step(stop);
  if (o.status != status::errored) return o;
  outcome h = hook(std::stop_token{});
  if (h.is_error()) append_error(o.message, h.message);
  return o;
}

//! retry_step.go: attempt i = 0..n-1, each a fresh step; a stop aborts; an error or a failure tries
//! again; the first success ends it. The outcome is the last attempt's.
template <class Run>
outcome run_attempts(std::size_t n, Run&& run, const std::stop_token& stop) {
  outcome o = failed();  // `LastAttempt == nil`: not succeeded
  for (std::size_t i = 0; i < n; ++i) {
    o = run(i, stop);
    if (stop.stop_requested()) return aborted();
    if (o.succeeded()) break;
  }
  return o;
}

//! timeout_step.go: the inner step runs with a token that also stops at the deadline. When the
//! deadline stopped it, the step fails (6.7 returns no error: `timeout exceeded` is a failure, not an
//! error); a stop from outside aborts it.
template <class Run>
outcome run_timeout(std::chrono::nanoseconds duration, Run&& run, std::stop_token outer) {
  std::stop_source inner;
  std::stop_callback forward(outer, [&] { inner.request_stop(); });
  std::mutex m;
  std::condition_variable_any cv;
  bool timed_out = false;
  std::jthread timer([&](std::stop_token done) {
    std::unique_lock lock(m);
    if (!cv.wait_for(lock, done, duration, [] { return false; }) && !done.stop_requested()) {
      timed_out = true;
      lock.unlock();
      inner.request_stop();
    }
  });
  outcome o = run(inner.get_token());
  timer.request_stop();
  timer.join();
  // Only an abort caused by the deadline becomes the failure; otherwise the inner outcome, as 6.7
  // passes the inner error (a stop from outside: `context.Canceled`) through.
  if (timed_out && !outer.stop_requested() && o.status == status::aborted) return failed("timeout exceeded");
  return o;
}

//! across_step.go + the planner (atc/engine/builder): one in_parallel per var, over its values with
//! that var's `max_in_flight` (6.7's default 1), nested in the order the vars are given; `fail_fast`
//! applies at every level. `run(flat_index, stop)` runs the combination whose values are
//! `values[k][(flat / stride_k) % size_k]` (the cartesian product, last var varying fastest).
template <class Run>
outcome run_across_level(const std::vector<std::size_t>& sizes, const std::vector<std::size_t>& limits,
                         bool fail_fast, std::size_t level, std::size_t base, Run& run, std::stop_token stop) {
  std::size_t stride = 1;
  for (std::size_t k = level + 1; k < sizes.size(); ++k) stride *= sizes[k];
  const bool last = level + 1 == sizes.size();
  return run_in_parallel(
      sizes[level], limits[level], fail_fast,
      [&](std::size_t v, std::stop_token st) {
        const std::size_t at = base + v * stride;
        if (last) return run(at, st);
        return run_across_level(sizes, limits, fail_fast, level + 1, at, run, st);
      },
      stop);
}
template <class Run>
outcome run_across(const std::vector<std::size_t>& sizes, const std::vector<std::size_t>& limits, bool fail_fast,
                   Run&& run, std::stop_token stop) {
  if (sizes.empty()) return run(std::size_t{0}, stop);
  return run_across_level(sizes, limits, fail_fast, 0, 0, run, stop);
}

}  // namespace taskstep::plan::detail
