// `taskstep` with no arguments and `taskstep --version`: the real binary.
#include <catch2/catch.hpp>

#include <string>

#include "cli/run_command.hpp"

TEST_CASE("taskstep with no arguments prints its help on stdout and exits with the usage code", "[cli][help]") {
  const auto r = run_taskstep({});
  CHECK(r.exit_code == 2);
  CHECK(r.err.empty());
  CHECK(r.out.find("Usage:") != std::string::npos);
  for (const char* sub : {"execute", "validate", "render"}) CHECK(r.out.find(sub) != std::string::npos);
}

TEST_CASE("taskstep --version prints the version, the default Concourse version and the workers", "[cli][help]") {
  for (const char* flag : {"--version", "-V"}) {
    const auto r = run_taskstep({flag});
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out == std::string("taskstep ") + TASKSTEP_PROJECT_VERSION + "\nconcourse 8.2\nworkers local oci slurm\n");
  }
}

TEST_CASE("taskstep --help still prints help and exits 0", "[cli][help]") {
  const auto r = run_taskstep({"--help"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("--version") != std::string::npos);
}
