#pragma once
//! \file
//! The `image_resolver` concept: decides where a task's root filesystem comes from.

#include <concepts>

#include "taskstep/core/artifact.hpp"
#include "taskstep/core/container_spec.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/core/task_config.hpp"
#include "taskstep/core/task_plan.hpp"

namespace taskstep::image {

//! Resolves the image of a task: `r.resolve(plan, config, artifacts) -> result<image_spec>`, for any
//! `artifact_reader` (checked against a private archetype unless `Artifacts` is given).
template <class R, class Artifacts = taskstep::detail::archetype_artifacts>
concept image_resolver = requires(const R& r, const task_plan& plan, const task_config& config, const Artifacts& a) {
  { r.resolve(plan, config, a) } -> std::same_as<result<image_spec>>;
};

//! The sentence every entry point taking an image resolver asserts (`static_assert` takes a literal only).
#define TASKSTEP_IMAGE_RESOLVER_MESSAGE                                                                   \
  "taskstep: R is not an image_resolver: it needs resolve(const task_plan&, const task_config&, const " \
  "Artifacts&) const -> result<image_spec> for any artifact_reader Artifacts"

}  // namespace taskstep::image
