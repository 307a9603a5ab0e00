#include <catch2/catch.hpp>

#include <vector>

#include "taskstep/placement/satisfying.hpp"
#include "workers.hpp"

using namespace taskstep;
using namespace placement_test;
using taskstep::placement::satisfying_workers;

using indexes = std::vector<std::size_t>;

TEST_CASE("no workers at all is the error 'no workers'", "[placement][satisfying]") {
  std::vector<worker_info> none;
  auto r = satisfying_workers(none, task_spec());
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::no_workers);
  CHECK(r.error().message() == "no workers");
}

TEST_CASE("a worker satisfies an untagged linux task on the same platform", "[placement][satisfying]") {
  std::vector<worker_info> ws{worker("a"), worker("b")};
  auto r = satisfying_workers(ws, task_spec());
  REQUIRE(r);
  CHECK(*r == indexes{0, 1});
}

TEST_CASE("the platform must equal the worker's when the spec names one", "[placement][satisfying]") {
  std::vector<worker_info> ws{worker("linux"), worker("darwin")};
  ws[1].platform = "darwin";
  auto spec = task_spec();
  spec.platform = "darwin";
  CHECK(*satisfying_workers(ws, spec) == indexes{1});

  spec.platform = "windows";
  auto r = satisfying_workers(ws, spec);
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::no_workers);
  CHECK(r.error().message() == "no workers satisfying: platform 'windows'");
}

TEST_CASE("an empty spec platform accepts any platform", "[placement][satisfying]") {
  std::vector<worker_info> ws{worker("linux"), worker("darwin")};
  ws[1].platform = "darwin";
  auto spec = task_spec();
  spec.platform.clear();
  CHECK(*satisfying_workers(ws, spec) == indexes{0, 1});
}

TEST_CASE("every step tag must be among the worker's tags", "[placement][satisfying]") {
  std::vector<worker_info> ws{worker("gpu"), worker("gpu-big"), worker("big")};
  ws[0].tags = {"gpu"};
  ws[1].tags = {"big", "gpu"};
  ws[2].tags = {"big"};
  auto spec = task_spec();
  spec.tags = {"gpu"};
  CHECK(*satisfying_workers(ws, spec) == indexes{0, 1});
  spec.tags = {"gpu", "big"};
  CHECK(*satisfying_workers(ws, spec) == indexes{1});
}

TEST_CASE("a tagged worker only takes steps that specify a tag", "[placement][satisfying]") {
  std::vector<worker_info> ws{worker("tagged"), worker("plain")};
  ws[0].tags = {"gpu"};
  CHECK(*satisfying_workers(ws, task_spec()) == indexes{1});

  ws.pop_back();
  auto r = satisfying_workers(ws, task_spec());
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "no workers satisfying: platform 'linux'");
}

TEST_CASE("an untagged worker does not take a tagged step", "[placement][satisfying]") {
  std::vector<worker_info> ws{worker("plain")};
  auto spec = task_spec();
  spec.tags = {"gpu"};
  auto r = satisfying_workers(ws, spec);
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "no workers satisfying: platform 'linux', tag 'gpu'");
}

TEST_CASE("the resource type must be advertised when the spec names one", "[placement][satisfying]") {
  std::vector<worker_info> ws{worker("plain"), worker("git")};
  ws[1].resource_types = {"registry-image", "git"};
  auto spec = task_spec();
  spec.resource_type = "git";
  CHECK(*satisfying_workers(ws, spec) == indexes{1});
  spec.resource_type.clear();
  CHECK(*satisfying_workers(ws, spec) == indexes{0, 1});
}

TEST_CASE("a team worker takes only its own team's steps, a global worker takes any", "[placement][satisfying]") {
  std::vector<worker_info> ws{worker("global"), worker("theirs")};
  ws[1].team = "other";
  auto spec = task_spec();
  spec.team = "main";
  CHECK(*satisfying_workers(ws, spec) == indexes{0});

  ws.erase(ws.begin());
  auto r = satisfying_workers(ws, spec);
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "no workers satisfying: platform 'linux'");
}

TEST_CASE("team workers are preferred over global ones when any satisfies", "[placement][satisfying]") {
  std::vector<worker_info> ws{worker("global-1"), worker("ours-1"), worker("global-2"), worker("ours-2"),
                              worker("ours-darwin")};
  ws[1].team = ws[3].team = ws[4].team = "main";
  ws[4].platform = "darwin";
  auto spec = task_spec();
  spec.team = "main";
  CHECK(*satisfying_workers(ws, spec) == indexes{1, 3});
}

TEST_CASE("global workers are the candidates when no team worker satisfies", "[placement][satisfying]") {
  std::vector<worker_info> ws{worker("global-1"), worker("ours-darwin"), worker("global-2")};
  ws[1].team = "main";
  ws[1].platform = "darwin";
  auto spec = task_spec();
  spec.team = "main";
  CHECK(*satisfying_workers(ws, spec) == indexes{0, 2});
}

TEST_CASE("the error lists resource type, platform, then every tag", "[placement][satisfying]") {
  std::vector<worker_info> ws{worker("plain")};
  auto spec = task_spec();
  spec.resource_type = "registry-image";
  spec.tags = {"gpu", "big"};
  auto r = satisfying_workers(ws, spec);
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == errc::no_workers);
  CHECK(r.error().message() ==
        "no workers satisfying: resource type 'registry-image', platform 'linux', tag 'gpu', tag 'big'");
}

TEST_CASE("the error with nothing required ends with the colon and a space", "[placement][satisfying]") {
  std::vector<worker_info> ws{worker("theirs")};
  ws[0].team = "other";
  auto spec = task_spec();
  spec.platform.clear();
  auto r = satisfying_workers(ws, spec);
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "no workers satisfying: ");
}
