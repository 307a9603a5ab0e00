// Built with -fno-rtti: the whole config half (core, yaml, vars, config, artifact) works without RTTI.
#include <cstdio>
#include <string>

#include "taskstep/taskstep.hpp"

int main() {
  using namespace taskstep;
  auto parsed = yaml::parse_task_config("platform: linux\nrun: {path: ((cmd))}\nparams: {NUM: 1.5}\n");
  if (!parsed) return 1;
  vars::static_vars v;
  v.set("cmd", value("echo"));
  auto source = config::static_source(*parsed) | config::interpolate(v) | config::validating();
  auto config = source.fetch();
  if (!config || config->run.path != "echo" || config->params.at("NUM") != "1.5") return 2;
  const std::string json = yaml::to_json(*config);
  if (json != R"({"platform":"linux","params":{"NUM":"1.5"},"run":{"path":"echo"}})") {
    std::fprintf(stderr, "unexpected JSON: %s\n", json.c_str());
    return 3;
  }
  return 0;
}
