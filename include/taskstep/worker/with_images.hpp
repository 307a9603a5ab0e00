#pragma once
//! \file
//! `with_images<W, Fetcher>`: gives any worker `image_resource` support. Before the run it pulls
//! the image with `Fetcher` (e.g. `image::registry_store`) and hands the inner worker an image
//! artifact instead: the fetched directory (`rootfs/` + `metadata.json`), the image's `env` put
//! before the task's, and its `user` used when the task names none — what the step does for an
//! image artifact. Everything else (info, caches, release) is the inner worker's.
//! Used for the Slurm worker; `oci_runc` takes a fetcher itself.

#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "taskstep/core/container_spec.hpp"
#include "taskstep/core/process_io.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/image/metadata.hpp"
#include "taskstep/worker/worker_client.hpp"

namespace taskstep::worker {

//! A worker `W` whose `image_resource` images come from `Fetcher`; see the file comment.
template <worker_client W, class Fetcher>
class with_images {
 public:
  with_images(W worker, Fetcher fetcher) : worker_(std::move(worker)), fetcher_(std::move(fetcher)) {}

  [[nodiscard]] const worker_info& info() const noexcept { return worker_.info(); }
  [[nodiscard]] W& inner() noexcept { return worker_; }
  [[nodiscard]] Fetcher& fetcher() noexcept { return fetcher_; }

  template <process_io IO>
  result<run_result> run(const container_spec& container, const process_spec& process, IO& io, std::stop_token stop) {
    const auto* res = std::get_if<image_resource_spec>(&container.image);
    if (res == nullptr) return worker_.run(container, process, io, std::move(stop));
    auto fetched = fetcher_.fetch(res->resource, [&io](std::string_view line) {
      std::string l(line);
      if (l.empty() || l.back() != '\n') l += '\n';
      io.err(l);
    });
    if (!fetched) return fail(fetched.error());
    auto meta = image::read_metadata(fetched->dir);
    if (!meta) return fail(meta.error());
    container_spec with_image = container;
    with_image.image = image_artifact{"image_resource", fetched->dir};
    with_image.env = std::move(meta->env);
    with_image.env.insert(with_image.env.end(), container.env.begin(), container.env.end());
    if (with_image.user.empty()) with_image.user = meta->user;
    return worker_.run(with_image, process, io, std::move(stop));
  }

  //! Forwarded to the inner worker when it has them.
  result<void> commit_caches(const container_spec& c, const run_result& r) {
    if constexpr (requires { worker_.commit_caches(c, r); }) return worker_.commit_caches(c, r);
    else return {};
  }
  void release(const run_result& r) {
    if constexpr (requires { worker_.release(r); }) worker_.release(r);
  }

 private:
  W worker_;
  Fetcher fetcher_;
};

}  // namespace taskstep::worker
