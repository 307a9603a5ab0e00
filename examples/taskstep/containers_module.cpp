// In the command: execute_oci, execute_slurm, oci_unavailable, run_oci and run_oci_unavailable forward to the containers module,
// loaded on first use from beside the executable (the build tree) or from ../lib/taskstep (an
// installed layout). See containers_module.hpp.
#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

#include "containers_module.hpp"

namespace taskstep_cli {

namespace {

struct loaded {
  const containers_entry* entry = nullptr;
  std::string why;  // when entry is null: the paths tried and dlerror's words
};

loaded load_module() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {nullptr, "cannot find the containers module: /proc/self/exe: " + ec.message()};
  std::string why;
  for (const fs::path& candidate : {exe.parent_path() / containers_module_name,
                                    exe.parent_path().parent_path() / "lib" / "taskstep" / containers_module_name}) {
    if (::access(candidate.c_str(), F_OK) != 0) {
      why += (why.empty() ? "" : "; ") + candidate.string() + ": " + std::strerror(errno);
      continue;
    }
    void* handle = ::dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) return {nullptr, "cannot load the containers module: " + std::string(::dlerror())};
    const auto* entry = static_cast<const containers_entry*>(::dlsym(handle, containers_symbol));
    if (entry == nullptr || entry->version != containers_entry_version)
      return {nullptr, "cannot load the containers module: " + candidate.string() +
                           " is not the one built with this taskstep (no matching " + containers_symbol + ")"};
    return {entry, {}};  // never unloaded: a module's code may still run in threads it started
  }
  return {nullptr, "the oci and slurm workers need the containers module, which is missing (" + why + ")"};
}

const loaded& module() {
  static const loaded m = load_module();
  return m;
}

}  // namespace

taskstep::build::build_outcome execute_oci(execute_call& call, task_source source) {
  if (!module().entry) {
    call.delegate.errored(module().why);
    return taskstep::build::refused(taskstep::build::exit_errored);
  }
  return module().entry->execute_oci(call, std::move(source));
}

taskstep::build::build_outcome execute_slurm(execute_call& call, task_source source) {
  if (!module().entry) {
    call.delegate.errored(module().why);
    return taskstep::build::refused(taskstep::build::exit_errored);
  }
  return module().entry->execute_slurm(call, std::move(source));
}

std::string oci_unavailable(const execute_args& args) {
  return module().entry ? module().entry->oci_unavailable(args) : module().why;
}

taskstep::build::build_outcome run_oci(run_call& call) {
  if (!module().entry) {
    call.events.errored(taskstep::job::step_info{}, module().why);
    return taskstep::build::refused(taskstep::build::exit_errored);
  }
  return module().entry->run_oci(call);
}

std::string run_oci_unavailable(const run_args& args) {
  return module().entry ? module().entry->run_oci_unavailable(args) : module().why;
}

}  // namespace taskstep_cli
