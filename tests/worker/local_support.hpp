#pragma once
// Helpers for the local_process tests: a recording process_io, spec builders, file helpers.

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/temp_dir.hpp"
#include "taskstep/worker/local_process.hpp"

namespace taskstep::test {

// Records starting(), every chunk with its arrival time, and the two streams; `on_out` may react
// to output (e.g. request a stop once the task says it is ready).
struct recording_io {
  using clock = std::chrono::steady_clock;
  int starts = 0;
  std::string out_text, err_text;
  std::vector<std::pair<clock::time_point, std::string>> out_chunks;
  std::function<void(const std::string&)> on_out;

  void starting() { ++starts; }
  void out(std::string_view s) {
    out_text.append(s);
    out_chunks.emplace_back(clock::now(), std::string(s));
    if (on_out) on_out(out_text);
  }
  void err(std::string_view s) { err_text.append(s); }
};

// A worker whose run and cache directories live in `dir`.
inline worker::local_process make_worker(const temp_dir& dir, worker::staging_mode mode = worker::staging_mode::automatic,
                                         std::chrono::milliseconds grace = std::chrono::milliseconds(10000),
                                         bool cgroups = true) {
  worker::local_process_options o;
  o.work_root = dir.path() / "runs";
  o.cache_root = dir.path() / "caches";
  o.staging = mode;
  o.grace = grace;
  o.use_cgroups = cgroups;
  return worker::local_process(o);
}

inline container_spec spec_with(std::vector<std::string> env = {"PATH=/usr/bin:/bin"}) {
  container_spec c;
  c.team = "main";
  c.step_name = "unit";
  c.env = std::move(env);
  return c;
}

// `sh -c script` as the task's process.
inline process_spec shell(std::string script, std::string dir = "") {
  process_spec p;
  p.path = "sh";
  p.args = {"-c", std::move(script)};
  p.dir = std::move(dir);
  return p;
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// True when no process `pid` exists any more (waits up to `limit` for a reaper to collect it).
inline bool process_gone(pid_t pid, std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// True when no mount point under `dir` is listed in /proc/self/mountinfo.
inline bool nothing_mounted_under(const std::filesystem::path& dir) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.find(" " + dir.string()) != std::string::npos) return false;
  return true;
}

inline bool running_as_root() { return ::geteuid() == 0; }

}  // namespace taskstep::test
