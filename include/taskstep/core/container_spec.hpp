#pragma once
//! \file
//! What the step asks a worker to create and run: the container (image, limits, mounts, environment)
//! and the process in it; and what comes back (`run_result`).

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "taskstep/core/task_config.hpp"

namespace taskstep {

//! No image: the worker's default root filesystem (the host, for the local worker).
struct no_image {};
//! What an image adds to its container (its `metadata.json`): environment and default user.
struct image_metadata {
  std::vector<std::string> env;  //!< `NAME=value`, put before the task's params
  std::string user;              //!< the user when the task names none (`run.user`)
};
//! An image artifact: a directory with `rootfs/` and `metadata.json`, and that file's content as
//! whoever produced the artifact read it (`image::read_metadata`; the image resolver for a step's
//! `image:`, the fetcher's caller for an `image_resource`). Workers never read the file again.
struct image_artifact {
  std::string name;
  std::filesystem::path dir;
  image_metadata metadata{};  // defaulted: `image_artifact{name, dir}` stays valid under -Wextra
};
//! An image to fetch from a resource (`image_resource`).
struct image_resource_spec {
  image_resource resource;
};
//! A root filesystem given by URI (`rootfs_uri`, e.g. `raw:///path`).
struct rootfs_uri_spec {
  std::string uri;
};
//! Where the container's root filesystem comes from, in Concourse's precedence order.
using image_spec = std::variant<no_image, image_artifact, image_resource_spec, rootfs_uri_spec>;

//! An input mounted into the container: the artifact's directory at `path` (relative to the working dir).
struct input_mount {
  std::string name;                 //!< task input name
  std::string artifact;             //!< artifact name (after input_mapping)
  std::filesystem::path source;     //!< where the artifact lives on this host
  std::string path;                 //!< mount path relative to the working directory
};

//! An output directory the task fills (`path` relative to the working directory).
struct output_mount {
  std::string name;
  std::string path;
};

//! A cache directory (`path` relative to the working directory).
struct cache_mount {
  std::string path;
};

//! Everything a worker needs to create the task's container.
struct container_spec {
  std::string platform;
  std::vector<std::string> tags;
  std::string team;
  std::string resource_type;        //!< base type a worker must support (image_resource), or empty
  image_spec image;
  bool privileged = false;
  std::string user;                 //!< `run.user`, else the image's user, else the worker's default
  std::optional<std::uint64_t> cpu;     //!< cpu shares; 0 = unlimited
  std::optional<std::uint64_t> memory;  //!< bytes; 0 = unlimited
  std::string working_dir;          //!< `/tmp/build/<8 hex>` inside the container
  std::vector<std::string> env;     //!< image env, then params (`NAME=value`)
  std::vector<input_mount> inputs;
  std::vector<output_mount> outputs;
  std::vector<cache_mount> caches;
  std::string step_name;
  std::string job;                  //!< cache key part; empty for one-off builds
};

//! The one place an image's metadata meets the task's settings, as Concourse builds the container
//! spec: the image's env first, then the task's (`spec.env`, from params); the task's user
//! (`spec.user`, from `run.user`), else the image's. The step applies a step's image artifact, and
//! `worker::with_images` / `worker::oci_runc` an `image_resource` they fetched, through this.
inline void apply_image_metadata(container_spec& spec, const image_metadata& image) {
  spec.env.insert(spec.env.begin(), image.env.begin(), image.env.end());
  if (spec.user.empty()) spec.user = image.user;
}

//! The process to start in the container.
struct process_spec {
  std::string path;
  std::vector<std::string> args;
  std::string dir;                  //!< relative to the working directory (`run.dir`)
  std::string user;
};

//! What a finished (or stopped) run leaves behind.
struct run_result {
  int exit_status = 0;
  bool stopped = false;  //!< stopped by a stop request (cancel/timeout): no exit status, outputs still valid
  bool oom_killed = false;  //!< the kernel killed the task for exceeding its memory limit (where the worker can tell)
  std::map<std::string, std::filesystem::path> outputs;  //!< output path (cleaned) → host directory
  std::map<std::string, std::filesystem::path> caches;   //!< cache path (cleaned) → host directory
};

}  // namespace taskstep
