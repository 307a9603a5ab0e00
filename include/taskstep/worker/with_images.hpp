#pragma once
//! \file
//! `with_images<W, Fetcher>`: gives any worker `image_resource` support. Before the run it pulls
//! the image with `Fetcher` (e.g. `image::registry_store`) and hands the inner worker an image
//! artifact instead: the fetched directory (`rootfs/` + `metadata.json`), its metadata applied by
//! `apply_image_metadata` (the image's `env` before the task's, its `user` when the task names
//! none), as the step applies a step's image artifact. Everything else (info, caches, release,
//! refresh) is the inner worker's.
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

//! A worker `W` whose `image_resource` images come from `Fetcher`; see the file comment. Every
//! other member (info, optional hooks) is `W`'s, forwarded by `worker_decorator`.
template <class W, class Fetcher>
class with_images : public worker_decorator<W> {
 public:
  with_images(W worker, Fetcher fetcher) : worker_decorator<W>(std::move(worker)), fetcher_(std::move(fetcher)) {}

  [[nodiscard]] Fetcher& fetcher() noexcept { return fetcher_; }

  template <class IO>
  result<run_result> run(const container_spec& container, const process_spec& process, IO& io, std::stop_token stop) {
    static_assert(process_io<IO>, TASKSTEP_PROCESS_IO_MESSAGE);
    const auto* res = std::get_if<image_resource_spec>(&container.image);
    if (res == nullptr) return this->inner_.run(container, process, io, std::move(stop));
    auto fetched = fetcher_.fetch(res->resource, [&io](std::string_view line) {
      std::string l(line);
      if (l.empty() || l.back() != '\n') l += '\n';
      io.err(l);
    });
    if (!fetched) return fail(fetched.error());
    auto meta = image::read_metadata(fetched->dir);
    if (!meta) return fail(meta.error());
    container_spec with_image = container;
    apply_image_metadata(with_image, *meta);
    with_image.image = image_artifact{"image_resource", fetched->dir, std::move(*meta)};
    return this->inner_.run(with_image, process, io, std::move(stop));
  }

 private:
  Fetcher fetcher_;
};

}  // namespace taskstep::worker
