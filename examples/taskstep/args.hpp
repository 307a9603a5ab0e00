#pragma once
// The values of `taskstep`'s flags, as plain structs (no CLI11): the worker-specific translation units
// of `execute` read them without parsing CLI11 or the config chain.

#include <string>
#include <vector>

#include "taskstep/core/dialect.hpp"

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
  std::string concourse{taskstep::dialect::concourse_default::name};  // --concourse: 6.7, 7.14 or 8.2
  std::vector<std::string> insecure_registries;
  std::string slurm_partition, slurm_shared_root, runc_root;
  bool slurm_copy_rootfs = false;
  bool privileged = false, include_ignored = false, json = false, no_user_namespace = false;
  bool keep = false;  // --keep: keep a failed run for `taskstep intercept`
  bool watch = false;  // --watch: run again whenever a file of an input changes
};

}  // namespace taskstep_cli

namespace taskstep_cli {

// `taskstep run`'s flags.
struct run_args {
  std::string config, job;
  std::vector<std::string> inputs, outputs, secrets, secret_files;
  var_options vars;
  std::string cache_dir, timeout, grace = "10s", worker = "auto", image_store;
  std::string color = "auto";
  std::vector<std::string> insecure_registries;
  std::string runc_root;
  bool include_ignored = false, json = false, no_user_namespace = false;
  // TODO(keep): `--keep` (keep a failed step's run for `taskstep intercept`) is wired here when it lands.
};

}  // namespace taskstep_cli
