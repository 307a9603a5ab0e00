#pragma once
//! \file
//! The `process_io` concept: what a worker reports while it runs a task's process. The step passes
//! its delegate (wrapped with redaction) as the io; workers call `starting()` right before the process
//! is spawned and stream output through `out()` / `err()` as it arrives.

#include <concepts>
#include <string_view>

namespace taskstep {

//! Receives a running process's events and output.
template <class IO>
concept process_io = requires(IO& io, std::string_view bytes) {
  io.starting();   //!< the process is about to be spawned (Concourse's `start-task`)
  io.out(bytes);   //!< bytes the process wrote to stdout
  io.err(bytes);   //!< bytes the process wrote to stderr
};

//! The sentence every entry point taking a process io asserts (`static_assert` takes a literal only).
#define TASKSTEP_PROCESS_IO_MESSAGE \
  "taskstep: IO is not a process_io: it needs starting(), out(std::string_view) and err(std::string_view)"

namespace detail {
//! The process io concepts check workers against: a type the library never hands out, with exactly
//! what `process_io` promises, so a worker that accepts only one io type (say `null_process_io&`)
//! fails its concept instead of failing deep inside the step.
struct archetype_process_io {
  archetype_process_io() = delete;
  archetype_process_io(const archetype_process_io&) = delete;
  archetype_process_io& operator=(const archetype_process_io&) = delete;
  ~archetype_process_io() = delete;
  void starting() {}
  void out(std::string_view) {}
  void err(std::string_view) {}
};
static_assert(process_io<archetype_process_io>);
}  // namespace detail

//! A process_io that drops everything (the trivial policy, for tests and benchmarks).
struct null_process_io {
  void starting() {}
  void out(std::string_view) {}
  void err(std::string_view) {}
};

static_assert(process_io<null_process_io>);

}  // namespace taskstep
