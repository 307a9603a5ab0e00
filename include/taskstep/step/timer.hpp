#pragma once
//! \file
//! The step's `Timer` policy: what makes a step's `timeout:` fire. `basic_task_step` owns no thread
//! or clock of its own; it arms its timer with the timeout and a stop source, hands the stop
//! source's token to placement and to the worker, and asks the timer afterwards whether the
//! deadline was what stopped the run (`timeout exceeded`) or the caller's stop (`interrupted`).
//!
//! `thread_timer` (the default) waits on a thread of its own; an embedder with an event loop can
//! arm a timer there instead and request the stop from it.

#include <atomic>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>
#include <utility>

namespace taskstep::step {

//! Arms a deadline: `t.start(duration, stop_source)` returns a handle that requests a stop on
//! `stop_source` once `duration` has passed; `handle.fired()` says whether it did, and destroying
//! the handle disarms it (after which the timer must not touch the stop source).
template <class T>
concept step_timer = requires(T& t, std::chrono::milliseconds d, std::stop_source s) {
  { t.start(d, s).fired() } -> std::same_as<bool>;
};

//! The sentence `basic_task_step` asserts for its `Timer` (`static_assert` takes a literal only).
#define TASKSTEP_STEP_TIMER_MESSAGE                                                                  \
  "taskstep: Timer is not a step_timer: it needs start(std::chrono::milliseconds, std::stop_source) " \
  "returning a handle with fired() const -> bool that disarms the timer when destroyed"

//! The default timer: one thread per armed deadline, waiting on a condition variable until the
//! deadline passes or the handle is destroyed.
struct thread_timer {
  //! An armed deadline; movable, disarmed (the thread stopped and joined) on destruction.
  class armed {
   public:
    armed() = default;
    armed(std::chrono::milliseconds duration, std::stop_source target) : state_(std::make_unique<state>()) {
      thread_ = std::jthread([s = state_.get(), duration, target](std::stop_token disarmed) mutable {
        std::unique_lock lock(s->m);
        if (!s->cv.wait_for(lock, disarmed, duration, [] { return false; }) && !disarmed.stop_requested()) {
          s->fired.store(true);  // before the stop: whoever sees the stop sees `fired`
          lock.unlock();
          target.request_stop();
        }
      });
    }
    armed(armed&&) noexcept = default;
    armed& operator=(armed&&) = delete;  // a member-wise move would free the state before joining
    ~armed() = default;

    //! Whether the deadline passed and requested the stop.
    [[nodiscard]] bool fired() const noexcept { return state_ && state_->fired.load(); }

   private:
    struct state {
      std::mutex m;
      std::condition_variable_any cv;
      std::atomic<bool> fired{false};
    };
    std::unique_ptr<state> state_;  // on the heap: the thread's pointer survives a move of the handle
    std::jthread thread_;           // declared last: stopped and joined before `state_` goes
  };

  [[nodiscard]] armed start(std::chrono::milliseconds duration, std::stop_source target) const {
    return armed(duration, std::move(target));
  }
};

static_assert(step_timer<thread_timer>, "taskstep: thread_timer must model step_timer");

}  // namespace taskstep::step
