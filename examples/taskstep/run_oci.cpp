// `taskstep run --worker oci` (and `auto` for a job with images): a job's build in runc containers,
// `registry-image` / `docker-image` gets pulled into the image store.

#include <memory>

#include "run_call.hpp"
#include "taskstep/build/paths.hpp"
#include "taskstep/image/registry.hpp"
#include "taskstep/job/build.hpp"
#include "taskstep/worker/oci_runc.hpp"

namespace taskstep_cli {

namespace {

using oci_worker = taskstep::worker::oci_runc<taskstep::image::registry_store>;

taskstep::image::registry_options store_options(const run_args& a, const std::filesystem::path& cache_root) {
  taskstep::image::registry_options r;
  r.store_root = a.image_store.empty() ? cache_root / "images" : std::filesystem::path(a.image_store);
  r.insecure_registries = a.insecure_registries;
  return r;
}

taskstep::worker::oci_runc_options oci_options(const run_args& a, const std::filesystem::path& run_root,
                                               const std::filesystem::path& cache_root, std::chrono::milliseconds grace,
                                               std::stop_token immediate = {}) {
  using namespace taskstep;
  worker::oci_runc_options o;
  o.work_root = run_root;
  o.cache_root = cache_root;
  o.grace = grace;
  o.immediate = std::move(immediate);
  o.user_namespace = !a.no_user_namespace;
  if (!a.runc_root.empty()) o.state_root = std::filesystem::absolute(a.runc_root);
  return o;
}

oci_worker make_oci(const run_args& a, const std::filesystem::path& run_root, const std::filesystem::path& cache_root,
                    std::chrono::milliseconds grace, std::stop_token immediate = {}) {
  return oci_worker(oci_options(a, run_root, cache_root, grace, std::move(immediate)),
                    taskstep::image::registry_store(store_options(a, cache_root)));
}

}  // namespace

std::string run_oci_unavailable(const run_args& a) {
  const auto cache_root = a.cache_dir.empty() ? taskstep::build::default_cache_dir() : std::filesystem::path(a.cache_dir);
  return oci_worker::unavailable_reason(oci_options(a, {}, cache_root, std::chrono::seconds(10)));  // constructs no worker
}

taskstep::build::build_outcome run_oci(run_call& call) {
  using namespace taskstep;
  // `get:` of an image resource: pulled into the store, the artifact is the stored image directory.
  auto store = std::make_shared<image::registry_store>(store_options(call.args, call.cache_root));
  call.request.fetch_image = [store](const image_resource& r, const std::function<void(const std::string&)>& progress)
      -> result<std::filesystem::path> {
    auto fetched = store->fetch(r, [&](const std::string& line) { progress(line); });
    if (!fetched) return tl::unexpected(fetched.error());
    return fetched->dir;
  };
  auto make_worker = [&](const std::filesystem::path& run_root) -> result<std::unique_ptr<oci_worker>> {
    auto oci = std::make_unique<oci_worker>(make_oci(call.args, run_root, call.cache_root, call.grace, call.immediate));
    if (auto why = oci->unavailable_reason(); !why.empty()) return fail(errc::worker, why);
    return oci;
  };
  return job::run_job(call.job, call.request, make_worker, call.events, call.stop);
}

}  // namespace taskstep_cli
