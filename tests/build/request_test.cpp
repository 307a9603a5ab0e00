#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "build/build_support.hpp"
#include "taskstep/build/outcome.hpp"
#include "taskstep/build/request.hpp"

using namespace taskstep;

TEST_CASE("fly's NAME=PATH pairs parse into named paths, a pair without a name or = is refused", "[build][request]") {
  const std::vector<std::string> good{"src=/a/b", "out=rel/dir", "eq=a=b"};
  auto parsed = build::parse_pairs(good, "input");
  REQUIRE(parsed);
  REQUIRE(parsed->size() == 3);
  CHECK((*parsed)[0].name == "src");
  CHECK((*parsed)[0].path == "/a/b");
  CHECK((*parsed)[2].path == "a=b");
  for (const std::string bad : {"src", "=dir"}) {
    const std::vector<std::string> one{bad};
    auto r = build::parse_pairs(one, "output");
    REQUIRE_FALSE(r);
    CHECK(r.error().message() == "invalid output pair '" + bad + "' (must be name=path)");
  }
  const std::vector<std::string> mapping{"dep=library"};
  auto m = build::parse_mappings(mapping);
  REQUIRE(m);
  CHECK(m->at("dep") == "library");
  const std::vector<std::string> bad_mapping{"dep"};
  CHECK(build::parse_mappings(bad_mapping).error().message() == "invalid input mapping pair 'dep' (must be name=path)");
}

TEST_CASE("worker auto: oci for a task with an image when containers can run, else a refusal naming --worker local", "[build][request]") {
  using build::worker_choice;
  using build::worker_kind;
  CHECK(*build::choose_worker(worker_choice::automatic, false, "no runc") == worker_kind::local);
  CHECK(*build::choose_worker(worker_choice::automatic, false, "") == worker_kind::local);
  CHECK(*build::choose_worker(worker_choice::automatic, true, "") == worker_kind::oci);
  auto refused = build::choose_worker(worker_choice::automatic, true, "runc was not found");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message().find("runc was not found") != std::string::npos);
  CHECK(refused.error().message().find("--worker local") != std::string::npos);
  CHECK(*build::choose_worker(worker_choice::local, true, "no runc") == worker_kind::local);
  CHECK(*build::choose_worker(worker_choice::oci, false, "no runc") == worker_kind::oci);
  CHECK(*build::choose_worker(worker_choice::slurm, true, "") == worker_kind::slurm);
}

TEST_CASE("a task names an image through image_resource, rootfs_uri or --image", "[build][request]") {
  build::one_off_request none;
  CHECK_FALSE(build::names_image(test::config_from_yaml("platform: linux\nrun: {path: x}\n"), none));
  CHECK(build::names_image(test::config_from_yaml("platform: linux\nrootfs_uri: raw:///r\nrun: {path: x}\n"), none));
  CHECK(build::names_image(
      test::config_from_yaml("platform: linux\nimage_resource: {type: registry-image, source: {repository: b}}\nrun: {path: x}\n"),
      none));
  build::one_off_request with_image;
  with_image.image = "/img";
  CHECK(build::names_image(test::config_from_yaml("platform: linux\nrun: {path: x}\n"), with_image));
}

TEST_CASE("a step's outcome maps to fly's status words and exit codes", "[build][outcome]") {
  using build::outcome_of;
  CHECK(outcome_of(step::step_outcome{0}).exit_code == 0);
  CHECK(outcome_of(step::step_outcome{0}).status == "succeeded");
  CHECK(outcome_of(step::step_outcome{7}).exit_code == 7);
  CHECK(outcome_of(step::step_outcome{7}).status == "failed");
  const result<step::step_outcome> timed_out = fail(errc::timeout, "timeout exceeded");
  CHECK(outcome_of(timed_out).exit_code == 1);
  CHECK(outcome_of(timed_out).status == "failed");
  const result<step::step_outcome> errored = fail(errc::worker, "boom");
  CHECK(outcome_of(errored).exit_code == 2);
  CHECK(outcome_of(errored).status == "errored");
  const result<step::step_outcome> aborted = fail(errc::cancelled, "interrupted");
  CHECK(outcome_of(aborted).exit_code == 3);
  CHECK(outcome_of(aborted).status == "aborted");
  CHECK_FALSE(build::refused().started());
  CHECK(build::refused().exit_code == 1);  // fly's own checks: `error: ...`, exit 1
  CHECK(build::refused(build::exit_errored).exit_code == 2);
}
