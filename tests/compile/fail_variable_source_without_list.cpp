// Must not compile: a variable source must also list() what it holds.
#include "taskstep/vars/template.hpp"

struct only_get {
  taskstep::vars::lookup_result get(const taskstep::vars::var_reference&) const { return std::nullopt; }
};

int main() {
  auto r = taskstep::vars::evaluate(taskstep::value("((x))"), only_get{});
  (void)r;
}
