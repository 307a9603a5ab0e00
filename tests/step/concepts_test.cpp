// The optional hooks of a worker are concepts, and a decorator forwards every hook its inner worker
// has (and no other), so wrapping a worker never drops its caches.
#include <catch2/catch.hpp>

#include "step/step_support.hpp"
#include "taskstep/config/config.hpp"
#include "taskstep/image/concourse_resolver.hpp"
#include "taskstep/placement/placement.hpp"
#include "taskstep/step/task_step.hpp"
#include "taskstep/worker/pool.hpp"
#include "taskstep/worker/with_images.hpp"
#include "taskstep/yaml/decode.hpp"

using namespace taskstep;
using step_test::memory_artifacts;
using step_test::scripted_worker;

namespace {

// A fetcher that is never asked (the tasks here name no image_resource).
struct unused_fetcher {
  struct image {
    std::filesystem::path dir;
  };
  template <class Log>
  result<image> fetch(const image_resource&, Log&&) {
    return fail(errc::worker, "no images here");
  }
};

// A worker with every optional hook, counting the calls.
struct hooked_worker : scripted_worker {
  int releases = 0;
  int refreshes = 0;
  void release(const run_result&) { ++releases; }
  [[nodiscard]] std::string unavailable_reason() const { return "not here"; }
  result<int> refresh() { return ++refreshes; }
};

using wrapped = worker::with_images<hooked_worker, unused_fetcher>;
using wrapped_null = worker::with_images<worker::null_worker, unused_fetcher>;

static_assert(worker::worker_client<wrapped>);
static_assert(worker::commits_caches<wrapped> && worker::releases_runs<wrapped> &&
              worker::reports_unavailability<wrapped> && worker::refreshes<wrapped>);
static_assert(!worker::commits_caches<wrapped_null> && !worker::releases_runs<wrapped_null> &&
              !worker::reports_unavailability<wrapped_null> && !worker::refreshes<wrapped_null>);
static_assert(worker::commits_caches<scripted_worker> && !worker::commits_caches<worker::null_worker>);
static_assert(step::commits_caches_at<step::single_worker<worker::null_worker>>);
static_assert(step::reports_selected_worker<step::recording_delegate> && !step::reports_selected_worker<step::null_delegate>);
// The concepts hold for any io and any artifacts (private archetypes), and for the library's own.
static_assert(step::worker_set<worker::worker_pool<scripted_worker, worker::null_worker>>);
static_assert(image::image_resolver<image::concourse_resolver> && image::image_resolver<image::host_resolver>);
static_assert(artifact_repository<memory_artifacts> && artifact_reader<memory_artifacts>);

}  // namespace

TEST_CASE("a worker wrapped by with_images keeps its caches, release, refresh and availability", "[step][concepts]") {
  hooked_worker inner;
  wrapped w(inner, unused_fetcher{});
  CHECK(w.unavailable_reason() == "not here");
  REQUIRE(w.refresh());
  CHECK(w.inner().refreshes == 1);
  w.release(run_result{});
  CHECK(w.inner().releases == 1);

  step::single_worker set(w);
  task_plan p;
  p.job = "unit";
  p.config = *yaml::parse_task_config("platform: linux\nrun: {path: x}\ncaches: [{path: c}]\n");
  auto source = config::static_source(p.config) | config::validating();
  step::basic_task_step s(p, std::move(source), image::concourse_resolver{}, placement::first_fit{}, set);
  memory_artifacts a;
  step::recording_delegate d;
  REQUIRE(s.run(a, d));
  CHECK(w.inner().runs == 1);
  CHECK(w.inner().commits == 1);  // the job's caches reached the inner worker
}
