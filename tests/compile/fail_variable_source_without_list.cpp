// Must not compile: a variable source must also list() what it holds.
// expect: taskstep: V is not a variable_source: it needs get(const var_reference&) const -> lookup_result and list() const -> std::vector<var_reference>
#include "taskstep/vars/template.hpp"

struct only_get {
  taskstep::vars::lookup_result get(const taskstep::vars::var_reference&) const { return std::nullopt; }
};

int main() {
  auto r = taskstep::vars::evaluate(taskstep::value("((x))"), only_get{});
  (void)r;
}
