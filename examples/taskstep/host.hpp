#pragma once
// Host helpers for the `taskstep` command: running a helper program and capturing its output, and
// staging a local directory as fly does (a git working tree → tracked + untracked-but-not-ignored files).

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

extern char** environ;

namespace taskstep_cli {

// Runs argv (PATH lookup), returns its stdout if it exits 0.
inline std::optional<std::string> capture(const std::vector<std::string>& args) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return std::nullopt;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  std::string out;
  if (rc == 0) {
    char buf[65536];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  if (rc != 0) return std::nullopt;
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return out;
}

// The files fly would upload from `dir`: for a git working tree, tracked files (minus deleted ones)
// plus untracked files that are not ignored; nullopt when `dir` is not in a git working tree or
// `include_ignored` is set (then the whole directory is used).
inline std::optional<std::vector<std::string>> git_files(const std::filesystem::path& dir, bool include_ignored) {
  if (include_ignored) return std::nullopt;
  auto out = capture({"git", "-C", dir.string(), "ls-files", "-z", "--cached", "--others", "--exclude-standard"});
  if (!out) return std::nullopt;
  std::vector<std::string> files;
  std::size_t start = 0;
  while (start < out->size()) {
    auto end = out->find('\0', start);
    if (end == std::string::npos) end = out->size();
    std::string f = out->substr(start, end - start);
    std::error_code ec;
    if (!f.empty() && std::filesystem::symlink_status(dir / f, ec).type() != std::filesystem::file_type::not_found)
      files.push_back(std::move(f));
    start = end + 1;
  }
  return files;
}

// Copies `files` (relative to `from`) into `to`, keeping symlinks as links.
inline void copy_listed(const std::filesystem::path& from, const std::vector<std::string>& files,
                        const std::filesystem::path& to) {
  namespace fs = std::filesystem;
  for (const auto& f : files) {
    const fs::path src = from / f;
    const fs::path dst = to / f;
    fs::create_directories(dst.parent_path());
    std::error_code ec;
    const auto st = fs::symlink_status(src, ec);
    if (fs::is_symlink(st)) fs::copy_symlink(src, dst, ec);
    else if (fs::is_directory(st)) fs::create_directories(dst, ec);  // submodule roots
    else fs::copy_file(src, dst, fs::copy_options::overwrite_existing, ec);
  }
}

}  // namespace taskstep_cli
