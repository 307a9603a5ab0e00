// Must not compile: a type without fetch() is not a config_source, so it cannot be decorated.
// expect: taskstep: S is not a config_source: it needs fetch() -> result<task_config> and warnings() const -> std::vector<std::string>
#include "taskstep/config/config.hpp"

struct not_a_source {
  std::vector<std::string> warnings() const { return {}; }
};

int main() {
  auto s = not_a_source{} | taskstep::config::validating();
  (void)s;
}
