#pragma once
//! \file
//! Candidate workers: the workers that *satisfy* a container spec, team workers first (Concourse's
//! `worker.Satisfies` and `pool.allSatisfying`, v6.7), with its two error texts.

#include <algorithm>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "taskstep/core/container_spec.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/core/worker_info.hpp"

namespace taskstep::placement {

//! Whether `worker` can run `spec` (Concourse's `Worker.Satisfies`):
//! - team: the worker is global (empty team) or belongs to the spec's team;
//! - resource type: when the spec names one, the worker advertises it;
//! - platform: when the spec names one, it equals the worker's;
//! - tags: every step tag is among the worker's tags, and a tagged worker only takes tagged steps.
[[nodiscard]] inline bool satisfies(const worker_info& worker, const container_spec& spec) {
  if (!worker.team.empty() && worker.team != spec.team) return false;
  if (!spec.resource_type.empty() &&
      std::find(worker.resource_types.begin(), worker.resource_types.end(), spec.resource_type) ==
          worker.resource_types.end())
    return false;
  if (!spec.platform.empty() && spec.platform != worker.platform) return false;
  if (!worker.tags.empty() && spec.tags.empty()) return false;
  for (const auto& tag : spec.tags)
    if (std::find(worker.tags.begin(), worker.tags.end(), tag) == worker.tags.end()) return false;
  return true;
}

//! Concourse's `WorkerSpec.Description()`: `resource type 'r', platform 'p', tag 'a', tag 'b'`.
[[nodiscard]] inline std::string describe_requirements(const container_spec& spec) {
  std::string out;
  auto add = [&](const char* what, const std::string& value) {
    if (!out.empty()) out += ", ";
    out += what;
    out += " '";
    out += value;
    out += '\'';
  };
  if (!spec.resource_type.empty()) add("resource type", spec.resource_type);
  if (!spec.platform.empty()) add("platform", spec.platform);
  for (const auto& tag : spec.tags) add("tag", tag);
  return out;
}

//! The candidate workers for `spec`, as indexes into `workers` in their order. If any team-owned
//! worker satisfies the spec, only team-owned workers are candidates; otherwise the global ones.
//! Errors (`errc::no_workers`), worded as Concourse's: `no workers` when there are none at all,
//! `no workers satisfying: platform 'linux', tag 'gpu'` when none fits.
[[nodiscard]] inline result<std::vector<std::size_t>> satisfying_workers(std::span<const worker_info> workers,
                                                                         const container_spec& spec) {
  if (workers.empty()) return fail(errc::no_workers, "no workers");
  std::vector<std::size_t> out;
  out.reserve(workers.size());
  bool team_owned = false;
  for (std::size_t i = 0; i < workers.size(); ++i) {
    if (!satisfies(workers[i], spec)) continue;
    // The first team worker drops the global ones kept so far; later global ones are skipped.
    if (!workers[i].team.empty() && !team_owned) {
      team_owned = true;
      out.clear();
    }
    if (team_owned && workers[i].team.empty()) continue;
    out.push_back(i);
  }
  if (out.empty()) return fail(errc::no_workers, "no workers satisfying: " + describe_requirements(spec));
  return out;
}

}  // namespace taskstep::placement
