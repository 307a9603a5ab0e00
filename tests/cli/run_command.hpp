#pragma once
// Runs the built `taskstep` binary and captures its exit code, stdout and stderr.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

struct command_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

//! A fresh, empty directory under the system temp dir, removed when the test program exits.
inline std::filesystem::path test_dir() {
  struct registry {
    std::vector<std::filesystem::path> dirs;
    ~registry() {
      std::error_code ec;
      for (const auto& d : dirs) std::filesystem::remove_all(d, ec);
    }
  };
  static registry created;
  static std::mt19937_64 rng{std::random_device{}()};
  auto dir = std::filesystem::temp_directory_path() / ("taskstep-test-" + std::to_string(rng()));
  std::filesystem::create_directories(dir);
  created.dirs.push_back(dir);
  return dir;
}

//! Runs taskstep with `args` in `cwd` (empty: this process's), capturing stdout/stderr through files
//! in `io_dir`.
inline command_result run_taskstep_at(const std::filesystem::path& cwd, const std::filesystem::path& io_dir,
                                      const std::vector<std::string>& args) {
  const auto out_path = io_dir / "stdout";
  const auto err_path = io_dir / "stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  std::vector<std::string> argv_strings{TASKSTEP_BINARY};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  command_result r;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  posix_spawn_file_actions_destroy(&actions);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  return r;
}

inline command_result run_taskstep(const std::vector<std::string>& args) {
  const auto dir = test_dir();
  auto r = run_taskstep_at({}, dir, args);
  std::filesystem::remove_all(dir);
  return r;
}
