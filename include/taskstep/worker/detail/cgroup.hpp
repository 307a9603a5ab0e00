#pragma once
// Per-run cgroups for the local worker (plain inline functions):
// - a cgroup on the unified v2 hierarchy (`/sys/fs/cgroup/unified` on a v1 hybrid machine, or
//   `/sys/fs/cgroup` on a pure v2 one) to find and kill every process of a run, `setsid`'d ones
//   included (`cgroup.kill`, or a kill loop over `cgroup.procs` on kernels before 5.14);
// - cgroup v1 `memory` and `cpu` cgroups for the limits (`memory.limit_in_bytes`, `cpu.shares`).
// Each is created under the caller's own cgroup (as runc does) and only when writable (root);
// otherwise the run goes without and the caller reports a warning. Names are
// `taskstep-<pid>-run-XXXXXX`; empty ones left by dead processes are swept by the next run.

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

namespace taskstep::worker::detail {

// The caller's cgroup path in a hierarchy: "" for the unified one ("0::/x"), else a v1 controller.
inline std::optional<std::string> own_cgroup(std::string_view controller) {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    const auto a = line.find(':');
    const auto b = line.find(':', a == std::string::npos ? a : a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    const std::string path = line.substr(b + 1);
    if (controller.empty()) {
      if (line.compare(0, 3, "0::") == 0) return path;
      continue;
    }
    std::stringstream list(controllers);
    std::string c;
    while (std::getline(list, c, ','))
      if (c == controller) return path;
  }
  return std::nullopt;
}

inline bool write_file(const std::filesystem::path& file, const std::string& text) {
  std::ofstream out(file);
  out << text;
  out.flush();
  return static_cast<bool>(out);
}

inline std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The cgroups of one run. Empty paths mean "not used".
class run_cgroups {
 public:
  run_cgroups() = default;
  run_cgroups(const run_cgroups&) = delete;
  run_cgroups& operator=(const run_cgroups&) = delete;
  ~run_cgroups() { destroy(); }

  // Creates the cgroups named `name` below `root` (normally /sys/fs/cgroup). `tracking` asks for the
  // unified cgroup; the v1 ones are made only for the limits asked for. Appends to `warnings` what
  // could not be set up.
  void create(const std::filesystem::path& root, const std::string& name, bool tracking,
              std::optional<std::uint64_t> memory, std::optional<std::uint64_t> cpu,
              std::vector<std::string>& warnings) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (tracking) {
      fs::path unified;
      if (fs::exists(root / "unified" / "cgroup.procs", ec)) unified = root / "unified";
      else if (fs::exists(root / "cgroup.controllers", ec)) unified = root;
      if (auto own = own_cgroup(""); own && !unified.empty()) {
        sweep(unified / fs::path(*own).relative_path());
        const auto dir = unified / fs::path(*own).relative_path() / name;
        if (fs::create_directory(dir, ec)) unified_ = dir;
      }
    }
    if (memory && *memory != 0) {
      memory_ = make_v1(root, "memory", name);
      if (memory_.empty() || !write_file(memory_ / "memory.limit_in_bytes", std::to_string(*memory))) {
        warnings.push_back("memory limit of " + std::to_string(*memory) +
                           " bytes is not enforced: the cgroup v1 memory controller is not writable");
        remove_dir(memory_);
      } else if (fs::exists(memory_ / "memory.memsw.limit_in_bytes", ec)) {
        (void)write_file(memory_ / "memory.memsw.limit_in_bytes", std::to_string(*memory));
      }
    }
    if (cpu && *cpu != 0) {
      cpu_ = make_v1(root, "cpu", name);
      if (cpu_.empty() || !write_file(cpu_ / "cpu.shares", std::to_string(*cpu < 2 ? 2 : *cpu))) {
        warnings.push_back("cpu limit of " + std::to_string(*cpu) +
                           " shares is not enforced: the cgroup v1 cpu controller is not writable");
        remove_dir(cpu_);
      }
    }
  }

  // Moves `pid` into every cgroup of the run. False when the unified one refused it (then it is
  // dropped and the caller falls back to the process group).
  bool add(pid_t pid, std::vector<std::string>& warnings) {
    const std::string text = std::to_string(pid);
    bool ok = true;
    if (!unified_.empty() && !write_file(unified_ / "cgroup.procs", text)) {
      remove_dir(unified_);
      ok = false;
    }
    if (!memory_.empty() && !write_file(memory_ / "cgroup.procs", text)) {
      warnings.push_back("memory limit is not enforced: could not join the memory cgroup");
      remove_dir(memory_);
    }
    if (!cpu_.empty() && !write_file(cpu_ / "cgroup.procs", text)) {
      warnings.push_back("cpu limit is not enforced: could not join the cpu cgroup");
      remove_dir(cpu_);
    }
    return ok;
  }

  [[nodiscard]] bool tracking() const noexcept { return !unified_.empty(); }
  [[nodiscard]] bool active() const noexcept { return !unified_.empty() || !memory_.empty() || !cpu_.empty(); }
  [[nodiscard]] const std::filesystem::path& unified() const noexcept { return unified_; }

  // Every process in the run's cgroup (the unified one, else the memory one).
  [[nodiscard]] std::vector<pid_t> members() const {
    const auto& dir = !unified_.empty() ? unified_ : memory_;
    std::vector<pid_t> out;
    if (dir.empty()) return out;
    std::stringstream in(read_file(dir / "cgroup.procs"));
    long pid = 0;
    while (in >> pid) out.push_back(static_cast<pid_t>(pid));
    return out;
  }

  // Sends `sig` to every process in the run's cgroups, except members of process group
  // `signalled_group` (already signalled with `kill(-group)`: a second SIGTERM would run a task's
  // trap twice).
  void signal_all(int sig, pid_t signalled_group = 0) const {
    for (pid_t pid : members())
      if (signalled_group == 0 || ::getpgid(pid) != signalled_group) (void)::kill(pid, sig);
  }

  // SIGKILLs everything in the run's cgroup: `cgroup.kill` when the kernel has it (atomic, catches
  // processes forking right now), else a loop over `cgroup.procs`.
  void kill_all() const {
    if (!unified_.empty() && write_file(unified_ / "cgroup.kill", "1")) return;
    for (int round = 0; round < 100; ++round) {
      const auto pids = members();
      if (pids.empty()) return;
      for (pid_t pid : pids) (void)::kill(pid, SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  // Waits (up to `limit`) until no process is left in the run's cgroups.
  [[nodiscard]] bool wait_empty(std::chrono::milliseconds limit) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      bool empty = members().empty();
      if (empty && !unified_.empty()) empty = read_file(unified_ / "cgroup.events").find("populated 1") == std::string::npos;
      if (empty) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  // Removes the cgroups (they must be empty; killed processes leave within milliseconds).
  void destroy() {
    if (unified_.empty() && memory_.empty() && cpu_.empty()) return;
    kill_all();
    (void)wait_empty(std::chrono::milliseconds(2000));
    remove_dir(unified_);
    remove_dir(memory_);
    remove_dir(cpu_);
  }

 private:
  static std::filesystem::path make_v1(const std::filesystem::path& root, const char* controller,
                                       const std::string& name) {
    namespace fs = std::filesystem;
    auto own = own_cgroup(controller);
    std::error_code ec;
    const auto mount = root / controller;
    if (!own || !fs::exists(mount / "cgroup.procs", ec)) return {};
    sweep(mount / fs::path(*own).relative_path());
    const auto dir = mount / fs::path(*own).relative_path() / name;
    return fs::create_directory(dir, ec) ? dir : fs::path{};
  }

  // Removes `taskstep-<pid>-*` cgroups left by processes that are gone. A cgroup cannot be removed
  // while a zombie of it waits for a slow reaper (init), so a run can leave one behind.
  static void sweep(const std::filesystem::path& parent) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(parent, ec)) {
      const std::string leaf = entry.path().filename().string();
      if (leaf.rfind("taskstep-", 0) != 0) continue;
      const long pid = std::strtol(leaf.c_str() + 9, nullptr, 10);
      if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) (void)::rmdir(entry.path().c_str());
    }
  }

  static void remove_dir(std::filesystem::path& dir) {
    if (dir.empty()) return;
    for (int i = 0; i < 100 && ::rmdir(dir.c_str()) != 0 && errno == EBUSY; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    dir.clear();
  }

  std::filesystem::path unified_;
  std::filesystem::path memory_;
  std::filesystem::path cpu_;
};

}  // namespace taskstep::worker::detail
