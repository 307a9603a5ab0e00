#include <catch2/catch.hpp>

#include "taskstep/vars/reference.hpp"

using namespace taskstep::vars;

TEST_CASE("a reference splits into source, path with quotes removed, and verbatim fields", "[vars]") {
  auto r = parse_reference(R"(foo:"with.dot:colon".buzz)");
  CHECK(r.source == "foo");
  CHECK(r.path == "with.dot:colon");
  CHECK(r.fields == std::vector<std::string>{"buzz"});
}
