#include <catch2/catch.hpp>

#include "taskstep/config/config.hpp"

using namespace taskstep;

TEST_CASE("a static source without a config yields an empty config that fails validation", "[config]") {
  auto s = config::static_source() | config::validating();
  auto r = s.fetch();
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "invalid task configuration:\nmissing 'platform'\nmissing path to executable to run");
}
