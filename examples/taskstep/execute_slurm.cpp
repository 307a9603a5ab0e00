// `taskstep execute --worker slurm`: the one-off build as a Slurm job step (srun), images pulled
// into the image store.

#include "execute_call.hpp"
#include "taskstep/build/one_off.hpp"
#include "taskstep/image/registry.hpp"
#include "taskstep/worker/slurm.hpp"
#include "taskstep/worker/with_images.hpp"

namespace taskstep_cli {

taskstep::build::build_outcome execute_slurm(execute_call& call, task_source source) {
  using namespace taskstep;
  using slurm_worker = worker::with_images<worker::slurm, image::registry_store>;
  const execute_args& a = call.args;
  auto make_worker = [&](const std::filesystem::path& run_root) -> result<slurm_worker> {
    worker::slurm_options s;
    s.partition = a.slurm_partition;
    s.shared_root = a.slurm_shared_root.empty() ? run_root : std::filesystem::path(a.slurm_shared_root);
    s.cache_root = call.cache_root;
    s.grace = call.grace;
    s.immediate = call.immediate;
    s.copy_rootfs = a.slurm_copy_rootfs;
    // The cluster was chosen explicitly: untagged tasks run there; --tag picks node features.
    s.advertise_features = !a.tags.empty();
    worker::slurm cluster(s);
    if (auto state = cluster.refresh(); !state) return tl::unexpected(state.error());
    image::registry_options r;
    r.store_root = a.image_store.empty() ? call.cache_root / "images" : std::filesystem::path(a.image_store);
    r.insecure_registries = a.insecure_registries;
    return slurm_worker(std::move(cluster), image::registry_store(std::move(r)));
  };
  return build::run_one_off(call.request, call.config, std::move(source), make_worker, call.delegate, call.options,
                            call.stop);
}

}  // namespace taskstep_cli
