#pragma once
// The part of the command that runs containers (the oci and slurm workers: image pulls over libcurl,
// layers unpacked by libarchive, digests by libcrypto) is a module, `taskstep-containers.so`, loaded
// with dlopen only when a build needs one of those workers. A local run then never maps the ~40
// shared libraries of the registry stack, which cost more than the rest of a run's start-up
// (benchmarks/README.md, docs/dependencies.md). `taskstep run --worker oci` goes through it too. The command and its module come from one build:
// the table below passes C++ types across, so both must agree on every type.

#include <string>

#include "execute_call.hpp"
#include "run_call.hpp"

namespace taskstep_cli {

// What the module provides; its one exported symbol, `taskstep_cli_containers`, is this table.
struct containers_entry {
  int version;  // containers_entry_version when built with this header
  taskstep::build::build_outcome (*execute_oci)(execute_call& call, task_source source);
  taskstep::build::build_outcome (*execute_slurm)(execute_call& call, task_source source);
  std::string (*oci_unavailable)(const execute_args& args);
  taskstep::build::build_outcome (*run_oci)(run_call& call);
  std::string (*run_oci_unavailable)(const run_args& args);
};

inline constexpr int containers_entry_version = 2;
inline constexpr const char* containers_module_name = "taskstep-containers.so";
inline constexpr const char* containers_symbol = "taskstep_cli_containers";

}  // namespace taskstep_cli
