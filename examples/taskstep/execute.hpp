#pragma once
// `taskstep execute`: run a task file on a worker, like `fly execute` without a Concourse server.

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli_common.hpp"

namespace taskstep_cli {

struct execute_args {
  std::string config;
  std::vector<std::string> inputs, mappings, outputs, tags, secrets, secret_files, args;
  var_options vars;
  std::string image, job, cache_dir, timeout, grace = "10s", worker = "auto", image_store;
  std::vector<std::string> insecure_registries;
  std::string slurm_partition, slurm_shared_root, runc_root;
  bool slurm_copy_rootfs = false;
  bool privileged = false, include_ignored = false, json = false, no_user_namespace = false;
};

void add_execute_flags(CLI::App& cmd, execute_args& a);
int run_execute(const CLI::App& cmd, execute_args& a);

}  // namespace taskstep_cli
