// Redactor inputs found by fuzz/fuzz_redact: each one finished with the right output, in a child
// process with a time and memory limit so that a regression fails instead of hanging the suite.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>

#include <catch2/catch.hpp>

#include "taskstep/vars/redact.hpp"

namespace {

// 0 if `f` returned true within 10 s and 1 GiB, else non-zero.
int in_child(const std::function<bool()>& f) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
#if !defined(__SANITIZE_ADDRESS__)
    rlimit lim{std::size_t{1} << 30, std::size_t{1} << 30};
    setrlimit(RLIMIT_AS, &lim);
#endif
    alarm(10);
    _exit(f() ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

TEST_CASE("an empty secret is ignored instead of matching forever", "[vars][redact][hostile]") {
  CHECK(in_child([] {
          taskstep::vars::redactor r({std::string(), std::string("pw")});
          std::string out = r.write("a pw b");
          out += r.flush();
          return out == "a ((redacted)) b";
        }) == 0);
  CHECK(in_child([] {
          taskstep::vars::redactor r({std::string()});
          std::string out = r.write("abc");
          out += r.flush();
          return out == "abc" && r.empty();
        }) == 0);
}
