#pragma once
//! \file
//! `wait_for_worker`: Concourse 6.7's limit-active-tasks waiting loop (`chooseTaskWorker`, PR #5448):
//! when no worker is free, poll again every 5 s, say `All workers are busy at the moment, please
//! stand-by.` once a minute (first after one minute, not at once), and on success say
//! `Found a free worker after waiting 1m5s.` if any time was waited.

#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <fmt/core.h>

#include "taskstep/core/duration.hpp"
#include "taskstep/core/result.hpp"

namespace taskstep::placement {

//! Concourse's polling interval (`workerPollingInterval`).
inline constexpr std::chrono::nanoseconds default_poll_interval = std::chrono::seconds(5);
//! Concourse's status interval (`workerStatusPublishInterval`).
inline constexpr std::chrono::nanoseconds default_status_interval = std::chrono::minutes(1);

//! The stdout line written on each status tick while waiting.
inline constexpr std::string_view busy_message = "All workers are busy at the moment, please stand-by.\n";

//! The stdout line written when a worker was found after waiting `waited` (Go's
//! `Duration.Round(time.Second).String()`: `0s`, `5s`, `1m0s`, `1m5s`, `1h0m0s`).
[[nodiscard]] inline std::string found_worker_message(std::chrono::nanoseconds waited) {
  // Go's Round: halves go away from zero (std::chrono::round would go to even).
  const auto ns = waited.count() < 0 ? 0 : waited.count();
  const std::chrono::seconds whole((ns + 500'000'000) / 1'000'000'000);
  return fmt::format("Found a free worker after waiting {}.\n", format_duration_seconds(whole));
}

namespace detail {
// A `choose` may return the index or nothing, or a `result` of that (an error ends the wait at once).
template <class R>
inline constexpr bool is_result_v = false;
template <class T>
inline constexpr bool is_result_v<result<T>> = true;

// The first tick of a ticker started at `start` with period `every` that comes after `now`;
// missed ticks are dropped, as a Go ticker drops them for a slow receiver.
template <class TimePoint>
TimePoint next_tick(TimePoint start, std::chrono::nanoseconds every, TimePoint now) {
  return start + ((now - start) / every + 1) * every;
}
}  // namespace detail

//! Waits until `choose()` yields a worker, mirroring Concourse 6.7's limit-active-tasks loop:
//! 1. call `choose()` (returns `std::optional<std::size_t>`, or `result<std::optional<std::size_t>>`
//!    whose error is returned at once, like `no workers satisfying: ...`);
//! 2. if `stop` was requested → `errc::cancelled` (`interrupted`);
//! 3. a worker → if time was waited, write `found_worker_message(elapsed)` to `out`; return it;
//! 4. none → sleep until the next tick of two tickers started with the loop (`poll_interval`, 5 s,
//!    and `status_interval`, 1 min); on a status tick write `busy_message` to `out`; go to 1.
//! `out` is called with `std::string_view` (the step's stdout). Unlike Concourse, which notices a
//! cancellation only on its next poll, a stop request wakes the sleep at once (it waits on a
//! `std::condition_variable_any` with the stop token), so tests use millisecond intervals.
template <class Choose, class Sink>
  requires std::invocable<Choose&> && std::invocable<Sink&, std::string_view>
[[nodiscard]] result<std::size_t> wait_for_worker(Choose&& choose, std::stop_token stop, Sink&& out,
                                                  std::chrono::nanoseconds poll_interval = default_poll_interval,
                                                  std::chrono::nanoseconds status_interval = default_status_interval) {
  using clock = std::chrono::steady_clock;
  using choice = std::remove_cvref_t<std::invoke_result_t<Choose&>>;
  static_assert(std::same_as<choice, std::optional<std::size_t>> || std::same_as<choice, result<std::optional<std::size_t>>>,
                "taskstep: wait_for_worker's choose() must return std::optional<std::size_t> "
                "or result<std::optional<std::size_t>>");
  constexpr std::chrono::nanoseconds shortest(1);
  if (poll_interval < shortest) poll_interval = shortest;
  if (status_interval < shortest) status_interval = shortest;

  const auto started = clock::now();
  auto next_poll = started + poll_interval;
  auto next_status = started + status_interval;
  bool waited = false;
  std::mutex mutex;
  std::condition_variable_any wake;  // nobody notifies it: only the stop token's callback wakes it early

  for (;;) {
    std::optional<std::size_t> chosen;
    if constexpr (detail::is_result_v<choice>) {
      auto r = choose();
      if (!r) return fail(std::move(r).error());
      chosen = *r;
    } else {
      chosen = choose();
    }
    if (stop.stop_requested()) return fail(errc::cancelled, "interrupted");
    if (chosen) {
      if (waited) out(std::string_view(found_worker_message(clock::now() - started)));
      return *chosen;
    }

    // Ties go to the poll tick, so a worker freed exactly at a status tick is not announced as busy;
    // the status tick, already due, follows on the next turn (Go keeps one pending tick per ticker).
    const bool status_tick = next_status < next_poll;
    {
      std::unique_lock lock(mutex);
      wake.wait_until(lock, stop, status_tick ? next_status : next_poll, [] { return false; });
    }
    if (stop.stop_requested()) return fail(errc::cancelled, "interrupted");
    waited = true;
    const auto now = clock::now();
    if (status_tick) {
      out(busy_message);
      next_status = detail::next_tick(started, status_interval, now);
    } else {
      next_poll = detail::next_tick(started, poll_interval, now);
    }
  }
}

}  // namespace taskstep::placement
