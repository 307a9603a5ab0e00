#pragma once
//! \file
//! `concourse_resolver`: Concourse's image precedence — the step's `image:` artifact, then the config's
//! `image_resource`, then `rootfs_uri`, then no image (the worker's default). A missing image artifact
//! is `missing image artifact source: <name>` followed by a blank line and a hint, as in Concourse.
//! The artifact's `metadata.json` is read here (`read_metadata`), so the step gets it parsed.
//! `host_resolver` is the trivial policy: always no image.

#include <filesystem>
#include <string>
#include <utility>

#include <fmt/core.h>

#include "taskstep/image/concepts.hpp"
#include "taskstep/image/metadata.hpp"

namespace taskstep::image {

//! The error Concourse reports when the step's `image:` artifact is not in the build.
inline error missing_image_error(const std::string& name) {
  return error(errc::missing_image, fmt::format("missing image artifact source: {}\n\nmake sure there's a "
                                                "corresponding 'get' step, or a task that produces it as an "
                                                "output",
                                                name));
}

//! Concourse's precedence. `Artifacts` must offer `find(name) -> const std::filesystem::path*`.
struct concourse_resolver {
  template <class Artifacts>
  result<image_spec> resolve(const task_plan& plan, const task_config& config, const Artifacts& artifacts) const {
    if (!plan.image.empty()) {
      const std::filesystem::path* dir = artifacts.find(plan.image);
      if (dir == nullptr) return fail(missing_image_error(plan.image));
      auto metadata = read_metadata(*dir);
      if (!metadata) return fail(metadata.error());
      return image_spec(image_artifact{plan.image, *dir, std::move(*metadata)});
    }
    if (config.image_resource) return image_spec(image_resource_spec{*config.image_resource});
    if (!config.rootfs_uri.empty()) return image_spec(rootfs_uri_spec{config.rootfs_uri});
    return image_spec(no_image{});
  }
};

//! Ignores every image: the task runs on the worker's own root filesystem.
struct host_resolver {
  template <class Artifacts>
  result<image_spec> resolve(const task_plan&, const task_config&, const Artifacts&) const {
    return image_spec(no_image{});
  }
};

}  // namespace taskstep::image
