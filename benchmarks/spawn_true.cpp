// Whole-process baseline for `taskstep execute` of a /bin/true task: a program that posix_spawns its
// arguments (default /bin/true), waits, and exits with the child's status. What any runner pays at
// least, start-up of its own process included. Used by whole_process.py.
#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

int main(int argc, char** argv) {
  char true_path[] = "/bin/true";
  char* fallback[] = {true_path, nullptr};
  char** args = argc > 1 ? argv + 1 : fallback;
  pid_t pid = 0;
  if (::posix_spawn(&pid, args[0], nullptr, nullptr, args, environ) != 0) return 127;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
