#pragma once
//! \file
//! `one_off_request`: what `fly execute` is asked to do around a task step, as typed values — local
//! directories for inputs (`-i`), input mappings (`-m`), directories to copy outputs into (`-o`), an
//! image artifact (`--image`), the current directory (fly's rule: it is the input named like it) —
//! and the parsing of fly's `NAME=PATH` pairs into it. Plain inline functions, no templates.

#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "taskstep/core/result.hpp"
#include "taskstep/core/task_config.hpp"

namespace taskstep::build {

//! One `NAME=PATH` pair, the path as given (relative paths are resolved against the process's
//! current directory when the build is prepared).
struct named_path {
  std::string name;
  std::filesystem::path path;
};

//! A one-off build: the task's config comes separately (a config source); this is everything else.
struct one_off_request {
  std::vector<named_path> inputs;   //!< `-i NAME=DIR`, in command-line order (a later pair for a name wins)
  std::map<std::string, std::string> input_mapping;  //!< `-m INPUT=ARTIFACT`: fly applies it to inputs from a job only
  std::vector<named_path> outputs;  //!< `-o NAME=DIR`: copied out after the run, whatever its outcome
  std::filesystem::path image;      //!< `--image DIR`: an image artifact (rootfs/ + metadata.json)
  std::filesystem::path cwd;        //!< the current directory: the input named like its last component; empty = none
  bool include_ignored = false;     //!< stage git-ignored files of inputs too
  bool privileged = false;
  std::vector<std::string> tags;
  std::string job;                  //!< run as a build of this job (enables caches)
  //! runc's state root, where the start-up reaper deletes a dead build's containers (`--runc-root`)
  std::filesystem::path runc_state_root = "/run/taskstep-runc";
  //! `--keep`: keep the run of a step that did not succeed, for `taskstep intercept`. The build layer
  //! only keeps what the worker kept: a worker factory passes this on as the worker's own `keep`
  //! option (`local_process_options::keep`, `oci_runc_options::keep`; `keep_supported` says which
  //! workers can), and `run_one_off` then keeps the run root and staged inputs the kept run needs and
  //! reports the kept run directories in `build_outcome::kept`. A job build (`taskstep run`) does the
  //! same with `keep_kept_runs` (paths.hpp).
  bool keep = false;
};

//! Parses fly's `NAME=PATH` pairs; `what` names the flag in the error ("input", "output"):
//! `invalid input pair 'src' (must be name=path)`.
inline result<std::vector<named_path>> parse_pairs(std::span<const std::string> pairs, std::string_view what) {
  std::vector<named_path> out;
  for (const auto& s : pairs) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      return fail(errc::usage, "invalid " + std::string(what) + " pair '" + s + "' (must be name=path)");
    out.push_back({s.substr(0, eq), s.substr(eq + 1)});
  }
  return out;
}

//! Parses `-m INPUT=ARTIFACT` pairs: `invalid input mapping pair 'x' (must be name=path)`.
inline result<std::map<std::string, std::string>> parse_mappings(std::span<const std::string> pairs) {
  auto parsed = parse_pairs(pairs, "input mapping");
  if (!parsed) return tl::unexpected(parsed.error());
  std::map<std::string, std::string> out;
  for (auto& p : *parsed) out[p.name] = p.path.string();
  return out;
}

//! True when the task runs in an image: `image_resource`, `rootfs_uri` or an `--image` artifact.
inline bool names_image(const task_config& config, const one_off_request& request) {
  return config.image_resource.has_value() || !config.rootfs_uri.empty() || !request.image.empty();
}

//! The worker kinds a one-off build can run on.
enum class worker_kind { local, oci, slurm };

//! What `--worker` asked for: a kind, or `automatic` (the default).
enum class worker_choice { automatic, local, oci, slurm };

//! Resolves `--worker auto`: a task with an image runs in a container when the oci worker can run
//! here (`oci_unavailable` empty), else the build is refused with how to run it on the host anyway; a
//! task without an image runs on the local worker. An explicit choice is kept as it is.
inline result<worker_kind> choose_worker(worker_choice requested, bool has_image, std::string_view oci_unavailable) {
  switch (requested) {
    case worker_choice::local: return worker_kind::local;
    case worker_choice::oci: return worker_kind::oci;
    case worker_choice::slurm: return worker_kind::slurm;
    case worker_choice::automatic: break;
  }
  if (!has_image) return worker_kind::local;
  if (oci_unavailable.empty()) return worker_kind::oci;
  return fail(errc::worker, "the task names an image, but containers cannot run here: " + std::string(oci_unavailable) +
                                "\nto run it on this host without its image (as this user, with the host's files), "
                                "pass --worker local");
}

//! Whether runs on a `kind` worker can be kept for `intercept` (`--keep`): local and oci can; slurm
//! cannot (its runs live on the cluster's nodes), which is a usage error naming the worker.
inline result<void> keep_supported(worker_kind kind) {
  if (kind != worker_kind::slurm) return {};
  return fail(errc::usage,
              "--keep is not supported on the slurm worker: its runs live on the cluster's nodes (use --worker local or oci)");
}

}  // namespace taskstep::build
