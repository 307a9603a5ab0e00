#pragma once
// Helpers for the --keep / intercept tests: the built `taskstep` run with TMPDIR pointing at a test's
// own directory (so its kept runs are the only ones `intercept --list` sees) and stdin /dev/null (so
// intercept never takes the terminal), and what is mounted below a directory.

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace taskstep::test {

struct taskstep_result {
  int exit_code = -1;
  std::string out, err;
};

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs TASKSTEP_BINARY with `args` in `cwd`, TMPDIR=`tmpdir`, stdin /dev/null.
inline taskstep_result run_kept_taskstep(const std::filesystem::path& cwd, const std::filesystem::path& tmpdir,
                                         const std::vector<std::string>& args) {
  const auto out_path = cwd / ".taskstep-stdout";
  const auto err_path = cwd / ".taskstep-stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  std::vector<std::string> argv_strings{TASKSTEP_BINARY};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings{"TMPDIR=" + tmpdir.string(), "NO_COLOR=1"};
  for (char** e = environ; *e != nullptr; ++e)
    if (std::string_view(*e).rfind("TMPDIR=", 0) != 0) env_strings.emplace_back(*e);
  std::vector<char*> env;
  for (auto& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);
  pid_t pid = 0;
  taskstep_result r;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), env.data()) == 0) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  posix_spawn_file_actions_destroy(&actions);
  r.out = read_text(out_path);
  r.err = read_text(err_path);
  std::error_code ec;
  std::filesystem::remove(out_path, ec);
  std::filesystem::remove(err_path, ec);
  return r;
}

// Lines of /proc/self/mountinfo whose mount point lies below `dir`.
inline std::vector<std::string> mounts_below(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  std::istringstream in(read_text("/proc/self/mountinfo"));
  std::string line;
  while (std::getline(in, line))
    if (line.find(" " + dir.string() + "/") != std::string::npos) out.push_back(line);
  return out;
}

// The `taskstep-runs-*` directories in `tmpdir`.
inline std::vector<std::filesystem::path> run_roots(const std::filesystem::path& tmpdir) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(tmpdir, ec))
    if (e.path().filename().string().rfind("taskstep-runs-", 0) == 0) out.push_back(e.path());
  return out;
}

// The id `taskstep execute --keep` printed (`kept run <id> at ...`), or empty.
inline std::string kept_id(const std::string& err) {
  const auto at = err.find("kept run ");
  if (at == std::string::npos) return {};
  const auto start = at + 9;
  return err.substr(start, err.find(' ', start) - start);
}

}  // namespace taskstep::test
