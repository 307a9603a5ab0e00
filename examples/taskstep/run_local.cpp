// `taskstep run --worker local`: a job's build on host processes.

#include "run_call.hpp"
#include "taskstep/job/build.hpp"
#include "taskstep/worker/local_process.hpp"

namespace taskstep_cli {

taskstep::build::build_outcome run_local(run_call& call) {
  using namespace taskstep;
  auto make_worker = [&](const std::filesystem::path& run_root) -> result<worker::local_process> {
    worker::local_process_options o;
    o.work_root = run_root;
    o.cache_root = call.cache_root;
    o.grace = call.grace;
    o.immediate = call.immediate;
    // The local worker runs on the host and ignores images (with a warning), so it accepts every image
    // resource type the pipeline could name.
    o.info.resource_types = call.resource_types;
    return worker::local_process(std::move(o));
  };
  return job::run_job(call.job, call.request, make_worker, call.events, call.stop);
}

}  // namespace taskstep_cli
