// Size baseline for embedded_example (same flags): the same observable behaviour without taskstep —
// spawn `echo <greeting>` with posix_spawnp, wait for it, return its status.
#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

int main(int argc, char** argv) {
  char echo[] = "echo";
  char greeting[] = "hello from taskstep";
  char* args[] = {echo, argc > 1 ? argv[1] : greeting, nullptr};
  pid_t pid = 0;
  if (posix_spawnp(&pid, "echo", nullptr, nullptr, args, environ) != 0) return 1;
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return 1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
