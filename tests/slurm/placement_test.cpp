// Placement between a local worker and the Slurm cluster in one worker_pool: the cluster's node
// features are its tags (Concourse: a tagged worker takes only tagged steps), and its load comes
// from squeue, so the step's strategies choose between the two like between any workers.

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "common/slurm_cluster.hpp"
#include "common/temp_dir.hpp"
#include "taskstep/artifact/directory_repository.hpp"
#include "taskstep/config/static_source.hpp"
#include "taskstep/image/concourse_resolver.hpp"
#include "taskstep/placement/placement.hpp"
#include "taskstep/step/delegate.hpp"
#include "taskstep/step/task_step.hpp"
#include "taskstep/worker/local_process.hpp"
#include "taskstep/worker/pool.hpp"
#include "taskstep/worker/slurm.hpp"

using namespace taskstep;
using taskstep::test::temp_dir;

namespace {

struct mixed_pool {
  temp_dir dir;
  worker::worker_pool<worker::local_process, worker::slurm> pool;
  mixed_pool() {
    worker::local_process_options l;
    l.work_root = dir.path() / "local-runs";
    l.cache_root = dir.path() / "caches";
    pool.add(worker::local_process(l));
    worker::slurm_options s;
    s.shared_root = dir.path() / "shared";
    s.cache_root = dir.path() / "caches";
    s.tool_timeout = std::chrono::seconds(5);
    s.allocation_wait = std::chrono::seconds(30);
    worker::slurm cluster(s);
    REQUIRE(cluster.refresh());  // node features (fast, ssd) become its tags
    pool.add(std::move(cluster));
  }
  // Runs `echo $SLURM_JOB_ID-ish marker` with `tags` and returns the delegate's record.
  step::recording_delegate run(std::vector<std::string> tags) {
    task_plan plan;
    plan.name = "placed";
    plan.tags = std::move(tags);
    task_config c;
    c.platform = "linux";
    c.run.path = "sh";
    c.run.args = {"-c", "echo ran"};
    plan.config = c;
    step::basic_task_step step(plan, config::static_source(plan.config), image::concourse_resolver{},
                               placement::fewest_build_containers{}, pool);
    artifact::directory_repository artifacts;
    step::recording_delegate d;
    auto r = step.run(artifacts, d);
    if (!r) d.events.push_back("error " + r.error().message());
    return d;
  }
};

}  // namespace

TEST_CASE("placement chooses between a local worker and the Slurm cluster by tags", "[slurm][placement]") {
  if (auto why = taskstep::test::slurm_cluster_missing(); !why.empty()) {
    WARN("SKIPPED: " << why);
    return;
  }
  mixed_pool p;
  const auto infos = p.pool.infos();
  REQUIRE(infos.size() == 2);
  CHECK(infos[1].name == "slurm");
  CHECK(std::find(infos[1].tags.begin(), infos[1].tags.end(), "fast") != infos[1].tags.end());

  auto untagged = p.run({});
  CHECK(std::find(untagged.events.begin(), untagged.events.end(), "selected local") != untagged.events.end());
  CHECK(untagged.stdout_text == "ran\n");

  auto tagged = p.run({"fast"});
  INFO(tagged.stderr_text);
  CHECK(std::find(tagged.events.begin(), tagged.events.end(), "selected slurm") != tagged.events.end());
  CHECK(tagged.stdout_text == "ran\n");

  auto impossible = p.run({"gpu"});
  REQUIRE_FALSE(impossible.events.empty());
  CHECK(impossible.events.back() == "error no workers satisfying: platform 'linux', tag 'gpu'");
}
