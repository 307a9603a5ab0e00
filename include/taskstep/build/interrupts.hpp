#pragma once
//! \file
//! `build::interrupts`: what Ctrl-C and SIGTERM mean to a one-off build (`taskstep execute`), as
//! fly execute has them: the first signal aborts the build gracefully, the second stops it now.
//!
//! - The first SIGINT or SIGTERM requests a stop on `graceful`: the worker sends the task SIGTERM
//!   and waits its grace (10 s) before SIGKILL; the step registers the outputs and reports
//!   `interrupted`, and the command exits 3 (aborted).
//! - The second requests a stop on `immediate` (and on `graceful`, if it was not yet): give that
//!   token to the worker's options (`local_process_options::immediate`, `oci_runc_options::immediate`,
//!   `slurm_options::immediate`), and the supervisor skips the grace: SIGKILL to the run's process
//!   group and cgroup, `runc kill --all <id> KILL`, or srun's SIGTERM (the step is killed). The run
//!   then returns promptly with the aborted result and the worker removes what it mounted and made.
//!   The worker's `run()` signature is unchanged: the immediate stop travels in the options.
//! - Should the build still not have returned `give_up_after` later (it was in a phase no token
//!   reaches, such as staging a large input), `give_up()` runs; the command passes one that exits
//!   with 3 at once. What a run had started is then cleaned up by its `worker::watchdog`.
//!
//! Signals are read from a `signalfd` by one thread that also polls an eventfd, so destruction
//! wakes it at once (no polling tick) and joins it. SIGINT/SIGTERM are blocked in the constructing
//! thread; construct it before starting other threads (they inherit the mask), as a signal
//! delivered to a thread that does not block it would kill the process. The destructor consumes
//! what is still pending and restores the mask. Spawned tasks get a clean mask from the worker.
//!
//! `ignore_sigpipe()` makes a write to a closed pipe (`taskstep execute ... | head -1`) fail with
//! EPIPE instead of killing the process, so the command can stop the task and clean up; it stays
//! in effect for the rest of the process. Tasks get SIGPIPE's default action back (the workers
//! reset every signal disposition in the child).

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <thread>
#include <utility>

namespace taskstep::build {

//! Makes writes to a closed pipe return EPIPE (SIGPIPE ignored for the whole process).
inline void ignore_sigpipe() noexcept { (void)::signal(SIGPIPE, SIG_IGN); }

//! What `interrupts` does besides the stop requests.
struct interrupt_options {
  //! Called on the signal thread with 1 for the first signal, 2 for the second (e.g. to print
  //! `aborting...`); later signals are counted but call nothing.
  std::function<void(int count)> on_signal;
  //! How long after the second signal the build may take to return before `give_up` runs.
  std::chrono::milliseconds give_up_after{5000};
  //! Runs on the signal thread when the build did not return in time; empty = nothing.
  std::function<void()> give_up;
};

//! Turns SIGINT/SIGTERM into a graceful then an immediate stop (see the file comment).
class interrupts {
 public:
  interrupts(std::stop_source graceful, std::stop_source immediate, interrupt_options options = {})
      : graceful_(std::move(graceful)), immediate_(std::move(immediate)), options_(std::move(options)) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    (void)::pthread_sigmask(SIG_BLOCK, &set, &previous_);
    signal_fd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    thread_ = std::thread([this] { loop(); });
  }
  interrupts(const interrupts&) = delete;
  interrupts& operator=(const interrupts&) = delete;

  //! Wakes the signal thread at once, joins it and restores the signal mask.
  ~interrupts() {
    closing_.store(true);
    const std::uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
    thread_.join();
    consume();  // pending now would otherwise be delivered, with its default action, on unblock
    (void)::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
    if (signal_fd_ >= 0) ::close(signal_fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }

  //! Acts as if a signal arrived (e.g. EPIPE on the command's stdout): the first call is a graceful
  //! stop, the next an immediate one. Safe from any thread.
  void abort() { received(); }

  //! How many signals (and `abort` calls) arrived so far.
  [[nodiscard]] int count() const noexcept { return count_.load(); }

 private:
  void received() {
    const int n = ++count_;
    if (n == 1) {
      if (options_.on_signal) options_.on_signal(1);
      graceful_.request_stop();
    } else if (n == 2) {
      if (options_.on_signal) options_.on_signal(2);
      immediate_.request_stop();
      graceful_.request_stop();
      give_up_at_.store(std::chrono::steady_clock::now() + options_.give_up_after);
      const std::uint64_t one = 1;
      (void)!::write(wake_fd_, &one, sizeof one);  // arm the give-up timer in the loop
    }
  }

  // Reads every pending signal; returns how many.
  int consume() {
    int n = 0;
    signalfd_siginfo info{};
    while (signal_fd_ >= 0 && ::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) ++n;
    return n;
  }

  void loop() {
    using clock = std::chrono::steady_clock;
    for (;;) {
      int timeout = -1;
      const auto give_up = give_up_at_.load();
      if (give_up != clock::time_point::max()) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - clock::now()).count() + 1;
        timeout = static_cast<int>(left < 0 ? 0 : left);
      }
      pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      const int ready = ::poll(fds, 2, timeout);
      if (ready < 0 && errno != EINTR) return;
      if (fds[1].revents != 0) {
        std::uint64_t v = 0;
        (void)!::read(wake_fd_, &v, sizeof v);
        if (closing_.load()) return;  // the destructor rang (else: the give-up timer was armed)
      }
      for (int n = consume(); n > 0; --n) received();
      if (give_up_at_.load() != clock::time_point::max() && clock::now() >= give_up_at_.load() && !gave_up_) {
        gave_up_ = true;
        if (options_.give_up) options_.give_up();
      }
    }
  }

  std::stop_source graceful_;
  std::stop_source immediate_;
  interrupt_options options_;
  sigset_t previous_{};
  int signal_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<int> count_{0};
  std::atomic<std::chrono::steady_clock::time_point> give_up_at_{std::chrono::steady_clock::time_point::max()};
  std::atomic<bool> closing_{false};
  bool gave_up_ = false;
  std::thread thread_;
};

}  // namespace taskstep::build
