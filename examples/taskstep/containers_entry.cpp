// The containers module's one exported symbol (see containers_module.hpp); the module is built with
// hidden visibility, so nothing else of it can clash with the command's own copies of the headers.
#include "containers_module.hpp"

extern "C" __attribute__((visibility("default"))) const taskstep_cli::containers_entry taskstep_cli_containers = {
    taskstep_cli::containers_entry_version, &taskstep_cli::execute_oci, &taskstep_cli::execute_slurm,
    &taskstep_cli::oci_unavailable, &taskstep_cli::run_oci, &taskstep_cli::run_oci_unavailable};
