#pragma once
//! \file
//! The `task_delegate` concept: how a task step reports its life to the outside (Concourse's
//! `TaskDelegate` + build events): `initializing` (initialize-task), `starting` (start-task),
//! `finished(exit status)` (finish-task), `errored(message)` (error), and the stdout/stderr sinks.
//! A delegate may also have `selected_worker(name)` (6.7's selected-worker event).

#include <concepts>
#include <string>
#include <string_view>
#include <vector>

#include "taskstep/core/task_config.hpp"

namespace taskstep::step {

//! Receives a task step's events and output.
template <class D>
concept task_delegate = requires(D& d, const task_config& c, int status, std::string_view text) {
  d.initializing(c);
  d.starting(c);
  d.finished(status);
  d.errored(text);
  d.out(text);
  d.err(text);
};

//! The sentence every entry point taking a delegate asserts (`static_assert` takes a literal only).
#define TASKSTEP_TASK_DELEGATE_MESSAGE                                                                  \
  "taskstep: D is not a task_delegate: it needs initializing(const task_config&), "                    \
  "starting(const task_config&), finished(int), errored(std::string_view), out(std::string_view) and " \
  "err(std::string_view)"

//! Optional: told the chosen worker's name before `starting` (6.7's selected-worker event).
template <class D>
concept reports_selected_worker = requires(D& d, std::string_view name) { d.selected_worker(name); };

//! Ignores everything (the trivial delegate).
struct null_delegate {
  void initializing(const task_config&) {}
  void starting(const task_config&) {}
  void finished(int) {}
  void errored(std::string_view) {}
  void out(std::string_view) {}
  void err(std::string_view) {}
};

//! Records every event as a line (`initializing`, `starting`, `finished 0`, `errored <msg>`,
//! `selected <worker>`) and the output streams; for tests and examples.
struct recording_delegate {
  std::vector<std::string> events;
  std::string stdout_text;
  std::string stderr_text;

  void initializing(const task_config&) { events.emplace_back("initializing"); }
  void starting(const task_config&) { events.emplace_back("starting"); }
  void finished(int status) { events.push_back("finished " + std::to_string(status)); }
  void errored(std::string_view message) { events.push_back("errored " + std::string(message)); }
  void selected_worker(std::string_view name) { events.push_back("selected " + std::string(name)); }
  void out(std::string_view text) { stdout_text.append(text); }
  void err(std::string_view text) { stderr_text.append(text); }
};

static_assert(task_delegate<null_delegate>);
static_assert(task_delegate<recording_delegate>);

}  // namespace taskstep::step
