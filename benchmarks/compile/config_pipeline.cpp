// Compile-time TU 2: the config pipeline (parse, decode, override, interpolate, validate).
#include <cstdio>

#include "taskstep/config/config.hpp"
#include "taskstep/vars/variables.hpp"
#include "taskstep/yaml/decode.hpp"

int main() {
  using namespace taskstep;
  auto parsed = yaml::parse_task_config("platform: linux\nrun: {path: ((cmd))}\nparams: {A: x}\n");
  if (!parsed) return 1;
  vars::static_vars v;
  v.set("cmd", value("echo"));
  auto source = config::static_source(*parsed) | config::override_params(task_env{{"A", "y"}}) |
                config::interpolate(v) | config::validating();
  auto config = source.fetch();
  if (!config) return 2;
  std::puts(yaml::to_json(*config).c_str());
  return 0;
}
