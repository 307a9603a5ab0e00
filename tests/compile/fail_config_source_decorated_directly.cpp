// Must not compile: a decorator named as a type checks its inner source too.
// expect: taskstep: S is not a config_source: it needs fetch() -> result<task_config> and warnings() const -> std::vector<std::string>
#include "taskstep/config/config.hpp"

struct not_a_source {
  taskstep::result<taskstep::task_config> fetch() { return taskstep::task_config{}; }
};

int main() {
  taskstep::config::validating_source<not_a_source> s{not_a_source{}};
  (void)s;
}
