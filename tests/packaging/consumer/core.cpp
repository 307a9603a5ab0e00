// A core-only consumer: parses a task config and prints the library's version.
#include <cstdio>
#include <cstring>

#include "taskstep/version.hpp"
#include "taskstep/yaml/decode.hpp"

static_assert(TASKSTEP_VERSION == TASKSTEP_VERSION_MAJOR * 10000 + TASKSTEP_VERSION_MINOR * 100 + TASKSTEP_VERSION_PATCH);

int main() {
  auto config = taskstep::yaml::parse_task_config("platform: linux\nrun: {path: echo}\n");
  if (!config || config->run.path != "echo") {
    std::puts("consumer: parse_task_config failed");
    return 1;
  }
  std::printf("consumer core ok, taskstep %s\n", taskstep::version_string);
  return std::strcmp(taskstep::version_string, TASKSTEP_EXPECTED_VERSION) == 0 ? 0 : 2;
}
