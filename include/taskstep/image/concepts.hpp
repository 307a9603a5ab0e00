#pragma once
//! \file
//! The `image_resolver` concept: decides where a task's root filesystem comes from.

#include <concepts>

#include "taskstep/core/container_spec.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/core/task_config.hpp"
#include "taskstep/core/task_plan.hpp"

namespace taskstep::image {

//! Resolves the image of a task: `r.resolve(plan, config, artifacts) -> result<image_spec>`.
template <class R, class Artifacts>
concept image_resolver = requires(const R& r, const task_plan& plan, const task_config& config, const Artifacts& a) {
  { r.resolve(plan, config, a) } -> std::same_as<result<image_spec>>;
};

}  // namespace taskstep::image
