#pragma once
// The values of `taskstep`'s flags, as plain structs (no CLI11): the worker-specific translation units
// of `execute` read them without parsing CLI11 or the config chain.

#include <string>
#include <vector>

namespace taskstep_cli {

// Variables from -v/-y (in command-line order, later wins) and -l files (later files first).
struct var_options {
  std::vector<std::string> strings, yamls, files, params;
};

struct execute_args {
  std::string config;
  std::vector<std::string> inputs, mappings, outputs, tags, secrets, secret_files, args;
  var_options vars;
  std::string image, job, cache_dir, timeout, grace = "10s", worker = "auto", image_store;
  std::string color = "auto";  // --color: auto, always or never
  std::string concourse = "8.2";  // --concourse: the dialect, 6.7, 7.14 or 8.2
  std::vector<std::string> insecure_registries;
  std::string slurm_partition, slurm_shared_root, runc_root;
  bool slurm_copy_rootfs = false;
  bool privileged = false, include_ignored = false, json = false, no_user_namespace = false;
};

}  // namespace taskstep_cli
