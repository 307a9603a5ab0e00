// Built with -fno-exceptions -fno-rtti: core/, yaml/, vars/ and config/ need neither.
#include "taskstep/config/config.hpp"
#include "taskstep/core/task_config.hpp"
#include "taskstep/vars/redact.hpp"

int main() {
  using namespace taskstep;
  auto bad = yaml::parse_task_config("run: {path: x}\n");
  if (bad || bad.error().code() != errc::invalid_config) return 1;
  if (bad.error().message() != "invalid task configuration:\nmissing 'platform'") return 2;
  vars::redactor r({"hunter2"});
  std::string shown = r.write("pass: hunt");
  shown += r.write("er2\n");
  if (shown != "pass: ((redacted))\n") return 3;
  auto mem = parse_memory_limit("1gb");
  if (!mem || *mem != 1073741824u) return 4;
  return 0;
}
