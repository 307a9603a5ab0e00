// `taskstep execute --worker local`: the one-off build on host processes.

#include "execute_call.hpp"
#include "taskstep/build/one_off.hpp"
#include "taskstep/worker/local_process.hpp"

namespace taskstep_cli {

taskstep::build::build_outcome execute_local(execute_call& call, task_source source) {
  using namespace taskstep;
  auto make_worker = [&](const std::filesystem::path& run_root) -> result<worker::local_process> {
    worker::local_process_options o;
    o.work_root = run_root;
    o.cache_root = call.cache_root;
    o.grace = call.grace;
    o.immediate = call.immediate;
    o.keep = call.request.keep;
    // The local worker runs on the host and ignores images (with a warning), so it accepts the image
    // resource types Concourse ships.
    o.info.resource_types = {"registry-image", "docker-image"};
    return worker::local_process(std::move(o));
  };
  return build::run_one_off(call.request, call.config, std::move(source), make_worker, call.delegate, call.options,
                            call.stop);
}

}  // namespace taskstep_cli
