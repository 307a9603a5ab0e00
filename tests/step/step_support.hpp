#pragma once
// Small in-test policies for the task step: an in-memory artifact map and a scripted worker.
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "taskstep/core/container_spec.hpp"
#include "taskstep/core/process_io.hpp"
#include "taskstep/core/result.hpp"
#include "taskstep/core/worker_info.hpp"

namespace step_test {

// The build's artifacts: name → (fake) directory.
// Models taskstep::artifact_repository; holds no files.
struct memory_artifacts {
  std::map<std::string, std::filesystem::path, std::less<>> dirs;
  const std::filesystem::path* find(std::string_view name) const {
    auto it = dirs.find(name);
    return it == dirs.end() ? nullptr : &it->second;
  }
  bool contains(std::string_view name) const { return find(name) != nullptr; }
  taskstep::result<std::string> read_file(std::string_view, std::string_view path) const {
    return taskstep::fail(taskstep::errc::config_not_found, "file not found: " + std::string(path));
  }
  void add(std::string name, std::filesystem::path dir) { dirs[std::move(name)] = std::move(dir); }
};

// Runs nothing: records the spec, writes `say` to stdout, returns `status` or waits for a stop.
struct scripted_worker {
  taskstep::worker_info description{"w1", "linux", {}, {}, {}, 0, 0, {}};
  int status = 0;
  std::string say;
  bool wait_for_stop = false;
  std::map<std::string, std::filesystem::path> outputs;  // cleaned output path → dir
  taskstep::container_spec last_spec;
  taskstep::process_spec last_process;
  int runs = 0;
  int commits = 0;

  const taskstep::worker_info& info() const { return description; }

  template <taskstep::process_io IO>
  taskstep::result<taskstep::run_result> run(const taskstep::container_spec& c, const taskstep::process_spec& p, IO& io,
                                             std::stop_token stop) {
    ++runs;
    last_spec = c;
    last_process = p;
    io.starting();
    if (!say.empty()) io.out(say);
    taskstep::run_result r;
    r.outputs = outputs;
    if (wait_for_stop) {
      std::mutex m;
      std::condition_variable_any cv;
      std::unique_lock lock(m);
      cv.wait(lock, stop, [] { return false; });
      r.stopped = true;
      return r;
    }
    r.exit_status = status;
    return r;
  }

  taskstep::result<void> commit_caches(const taskstep::container_spec&, const taskstep::run_result&) {
    ++commits;
    return {};
  }
};

}  // namespace step_test
