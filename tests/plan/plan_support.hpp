#pragma once
// Test steps for the plan layer: a scripted step that logs its name and ends as told, and helpers.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "taskstep/artifact/directory_repository.hpp"
#include "taskstep/plan/plan.hpp"
#include "taskstep/step/delegate.hpp"

namespace plan_test {

using namespace taskstep;
using plan::status;

// Thread-safe record of which steps ran, in order, and how each saw its stop token.
struct run_log {
  std::mutex m;
  std::vector<std::string> lines;
  void add(std::string s) {
    std::lock_guard lock(m);
    lines.push_back(std::move(s));
  }
  std::vector<std::string> get() {
    std::lock_guard lock(m);
    return lines;
  }
  bool has(const std::string& s) {
    auto l = get();
    return std::find(l.begin(), l.end(), s) != l.end();
  }
};

// Ends as `end` says. `aborted` stands for a Ctrl-C during the step: it stops the build's stop source
// (`abort`), then returns aborted, as a step whose ctx was cancelled does. `block` waits for a stop
// (at most `cap`) and returns aborted when stopped, else `end`.
struct scripted {
  std::string name;
  run_log* log;
  status end = status::succeeded;
  std::stop_source* abort = nullptr;
  bool block = false;
  std::chrono::milliseconds cap{5000};

  template <class State, class D>
  plan::outcome run(State&, D&, std::stop_token stop) const {
    log->add(name);
    if (block) {
      std::mutex m;
      std::condition_variable_any cv;
      std::unique_lock lock(m);
      (void)cv.wait_for(lock, stop, cap, [] { return false; });
      if (stop.stop_requested()) {
        log->add(name + " stopped");
        return plan::aborted();
      }
    }
    switch (end) {
      case status::succeeded: return plan::succeeded();
      case status::failed: return plan::failed();
      case status::errored: return plan::errored(name + " broke");
      case status::aborted:
        if (abort) abort->request_stop();
        return plan::aborted();
    }
    return plan::succeeded();
  }
};
static_assert(plan::step<scripted>);

inline const status all_statuses[] = {status::succeeded, status::failed, status::errored, status::aborted};

using repo = artifact::directory_repository;
using state_t = plan::basic_state<repo>;
using delegate_t = plan::locked_delegate<step::null_delegate>;

// Runs `p` on a fresh state with `stop` and returns the outcome.
template <class P>
plan::outcome run_plan(P& p, std::stop_source& stop) {
  repo artifacts;
  state_t state(artifacts);
  step::null_delegate nd;
  delegate_t d(nd);
  return p.run(state, d, stop.get_token());
}

using tree_node = plan::basic_node<scripted>;

template <class Node>
plan::outcome run_tree(const Node& n, std::stop_source& stop) {
  repo artifacts;
  state_t state(artifacts);
  step::null_delegate nd;
  delegate_t d(nd);
  return plan::evaluate(n, state, d, stop.get_token());
}

}  // namespace plan_test
