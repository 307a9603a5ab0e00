#pragma once
//! \file
//! How a worker describes itself to placement (Concourse's `atc.Worker` fields that matter here).

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace taskstep {

//! A worker's description: identity, what it can run, and how loaded it is.
struct worker_info {
  std::string name;
  std::string platform = "linux";
  std::vector<std::string> tags;
  std::string team;                         //!< empty = global worker
  std::vector<std::string> resource_types;  //!< base resource types it supports
  std::uint64_t active_containers = 0;      //!< build containers (fewest-build-containers)
  std::uint64_t active_tasks = 0;           //!< running tasks (limit-active-tasks)
  std::set<std::string> volumes;            //!< artifact names it already holds (volume-locality)
};

}  // namespace taskstep
