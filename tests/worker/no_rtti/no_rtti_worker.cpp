// Built with -fno-rtti: the local worker, staging and cache store need no RTTI.
#include <stop_token>

#include "taskstep/artifact/cache_store.hpp"
#include "taskstep/artifact/staging.hpp"
#include "taskstep/worker/local_process.hpp"

int main() {
  using namespace taskstep;
  worker::local_process_options o;
  o.work_root = "/tmp/taskstep-no-rtti/runs";
  o.cache_root = "/tmp/taskstep-no-rtti/caches";
  worker::local_process w(o);
  container_spec c;
  c.env = {"PATH=/usr/bin:/bin"};
  process_spec p{"true", {}, "", ""};
  null_process_io io;
  auto r = w.run(c, p, io, std::stop_token{});
  (void)artifact::remove_tree("/tmp/taskstep-no-rtti");
  return r && r->exit_status == 0 ? 0 : 1;
}
