// `taskstep execute --worker oci` (and `auto` for a task with an image): the one-off build in runc
// containers, images pulled into the image store.

#include <memory>
#include <utility>

#include "execute_call.hpp"
#include "taskstep/build/one_off.hpp"
#include "taskstep/build/paths.hpp"
#include "taskstep/image/registry.hpp"
#include "taskstep/worker/oci_runc.hpp"

namespace taskstep_cli {

namespace {

using oci_worker = taskstep::worker::oci_runc<taskstep::image::registry_store>;

taskstep::worker::oci_runc_options oci_options(const execute_args& a, const std::filesystem::path& run_root,
                                               const std::filesystem::path& cache_root, std::chrono::milliseconds grace,
                                               std::stop_token immediate = {}) {
  using namespace taskstep;
  worker::oci_runc_options o;
  o.work_root = run_root;
  o.cache_root = cache_root;
  o.grace = grace;
  o.immediate = std::move(immediate);
  o.user_namespace = !a.no_user_namespace;
  o.keep = a.keep;
  if (!a.runc_root.empty()) o.state_root = std::filesystem::absolute(a.runc_root);
  return o;
}

oci_worker make_oci(const execute_args& a, const std::filesystem::path& run_root, const std::filesystem::path& cache_root,
                    std::chrono::milliseconds grace, std::stop_token immediate = {}) {
  using namespace taskstep;
  worker::oci_runc_options o = oci_options(a, run_root, cache_root, grace, std::move(immediate));
  image::registry_options r;
  r.store_root = a.image_store.empty() ? cache_root / "images" : std::filesystem::path(a.image_store);
  r.insecure_registries = a.insecure_registries;
  return oci_worker(std::move(o), image::registry_store(std::move(r)));
}

}  // namespace

std::string oci_unavailable(const execute_args& a) {
  // A static probe: no worker is constructed, so nothing is reaped or created only to ask.
  return oci_worker::unavailable_reason(oci_options(a, {}, {}, std::chrono::seconds(10)));
}

taskstep::build::build_outcome execute_oci(execute_call& call, task_source source) {
  using namespace taskstep;
  // By pointer: oci_runc's `Fetcher fetcher = {}` default argument cannot be copy-initialised for
  // registry_store, which clang trips over when tl::expected asks whether oci_runc is default-constructible.
  auto make_worker = [&](const std::filesystem::path& run_root) -> result<std::unique_ptr<oci_worker>> {
    auto oci = std::make_unique<oci_worker>(make_oci(call.args, run_root, call.cache_root, call.grace, call.immediate));
    if (auto why = oci->unavailable_reason(); !why.empty()) return fail(errc::worker, why);
    return oci;
  };
  return build::run_one_off(call.request, call.config, std::move(source), make_worker, call.delegate, call.options,
                            call.stop);
}

}  // namespace taskstep_cli
