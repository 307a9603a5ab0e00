#pragma once
// Whether the Slurm test cluster (.ci/slurm-up) answers from here: the tests that need it say
// SKIPPED with this reason when it does not.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "taskstep/worker/detail/command.hpp"

namespace taskstep::test {

// Empty when `sinfo` reaches the controller of $SLURM_CONF within a few seconds, else why not.
inline std::string slurm_cluster_missing() {
  const char* conf = std::getenv("SLURM_CONF");
  if (conf == nullptr || *conf == '\0') return "SLURM_CONF is not set (start a cluster with .ci/slurm-up and source its env file)";
  if (!std::filesystem::exists(conf)) return std::string("SLURM_CONF names a missing file: ") + conf;
  auto r = worker::detail::run_command({"sinfo", "-h", "-o", "%T"}, std::chrono::seconds(5),
                                       {"PATH=/usr/bin:/bin", std::string("SLURM_CONF=") + conf});
  if (!r || r->timed_out || r->status != 0)
    return "the Slurm controller of " + std::string(conf) + " does not answer (run the tests inside its network namespace)";
  return {};
}

}  // namespace taskstep::test
