#include <catch2/catch.hpp>

#include "cli/run_command.hpp"

TEST_CASE("taskstep validate accepts a minimal task file", "[cli]") {
  auto dir = test_dir();
  write_file(dir / "task.yml", "platform: linux\nrun: {path: echo}\n");
  auto r = run_taskstep({"validate", (dir / "task.yml").string()});
  CHECK(r.exit_code == 0);
  CHECK(r.out.empty());
}
