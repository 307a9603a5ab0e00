#pragma once
// What the host-process workers (local_process, slurm) share around one run: the type-erased
// process_io, the run directory that is undone when abandoned, and the guard that kills and reaps a
// spawned process when the run loop is left early.

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <cerrno>
#include <filesystem>
#include <string_view>
#include <vector>

#include "taskstep/artifact/staging.hpp"
#include "taskstep/core/process_io.hpp"
#include "taskstep/worker/detail/cgroup.hpp"

namespace taskstep::worker::detail {

// The process_io as a pair of function pointers: keeps the run loop out of the template.
struct io_ref {
  void* self;
  void (*starting)(void*);
  void (*write)(void*, std::string_view, bool is_err);
};

template <process_io IO>
io_ref make_io_ref(IO& io) {
  return {&io, [](void* self) { static_cast<IO*>(self)->starting(); },
          [](void* self, std::string_view bytes, bool is_err) {
            if (is_err) static_cast<IO*>(self)->err(bytes);
            else static_cast<IO*>(self)->out(bytes);
          }};
}

// Where a run lives, and what must be undone if it is abandoned.
struct run_dir {
  std::filesystem::path root;                  // <work_root>/run-XXXXXX
  std::vector<std::filesystem::path> mounted;  // overlay targets, in mount order
  bool keep = false;

  run_dir() = default;
  run_dir(const run_dir&) = delete;
  run_dir& operator=(const run_dir&) = delete;
  ~run_dir() {
    unmount_all();
    if (!keep && !root.empty()) (void)artifact::remove_tree(root);
  }
  void unmount_all() {
    for (auto it = mounted.rbegin(); it != mounted.rend(); ++it) (void)artifact::unmount(*it);
    mounted.clear();
  }
};

// Kills and reaps a spawned process if the run loop is left early (e.g. the io threw).
struct child_guard {
  pid_t pid = -1;
  run_cgroups* cgroups = nullptr;
  ~child_guard() {
    if (pid <= 0) return;
    (void)::kill(-pid, SIGKILL);
    if (cgroups != nullptr) cgroups->kill_all();
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
};

}  // namespace taskstep::worker::detail
