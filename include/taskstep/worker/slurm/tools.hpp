#pragma once
//! \file
//! Plain helpers of the Slurm worker: how the Slurm client tools are invoked (command prefix,
//! environment, hard timeouts) and how srun's own diagnostics are told apart from the task's stderr.

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "taskstep/core/result.hpp"
#include "taskstep/worker/detail/command.hpp"
#include "taskstep/worker/detail/process.hpp"

extern char** environ;

namespace taskstep::worker::slurm_detail {

//! How a Slurm client tool is started: an optional prefix (e.g. `nsenter --net=...`) and the
//! client environment.
struct tool_launcher {
  std::vector<std::string> prefix;     //!< argv prepended to every tool call
  std::vector<std::string> extra_env;  //!< `NAME=value` added to (or replacing in) the client env
};

// The client tools' environment: ours without SLURM_* / SRUN_* / SALLOC_* / SBATCH_* (a taskstep
// that itself runs inside a Slurm job must not turn its srun into a step of that job, nor inherit
// option variables), except SLURM_CONF; then `extra`.
inline std::vector<std::string> client_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view v(*e);
    const bool slurm = v.rfind("SLURM_", 0) == 0 || v.rfind("SRUN_", 0) == 0 || v.rfind("SALLOC_", 0) == 0 ||
                       v.rfind("SBATCH_", 0) == 0;
    if (slurm && v.rfind("SLURM_CONF=", 0) != 0) continue;
    env.emplace_back(v);
  }
  for (const auto& x : extra) {
    const auto name = x.substr(0, x.find('=') + 1);
    env.erase(std::remove_if(env.begin(), env.end(), [&](const std::string& e) { return e.rfind(name, 0) == 0; }),
              env.end());
    env.push_back(x);
  }
  return env;
}

// A spawn request for `tool args...` behind the launcher's prefix; `cwd` must exist on this host.
inline result<detail::spawn_request> tool_request(const tool_launcher& launcher, const std::string& tool,
                                                  const std::vector<std::string>& args, const std::filesystem::path& cwd) {
  detail::spawn_request req;
  std::vector<std::string> argv = launcher.prefix;
  argv.push_back(tool);
  argv.insert(argv.end(), args.begin(), args.end());
  req.env = client_environment(launcher.extra_env);
  std::string host_path(detail::default_path);
  if (const std::string* p = detail::env_value(req.env, "PATH")) host_path = p->substr(5);
  auto program = detail::find_program(argv.front(), host_path, cwd);
  if (!program) return fail(errc::worker, "Slurm client tool " + argv.front() + " was not found on this host");
  req.program = *program;
  req.argv = std::move(argv);
  req.cwd = cwd;
  return req;
}

//! What a finished tool call printed.
struct tool_output {
  int status = 0;
  std::string out;
  std::string err;
};

// Runs a short Slurm command (sinfo, squeue, scancel) to its end, killing it after `timeout`.
inline result<tool_output> run_tool(const tool_launcher& launcher, const std::string& tool,
                                    const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  auto req = tool_request(launcher, tool, args, "/");
  if (!req) return fail(req.error());
  auto ran = detail::run_to_end(*req, timeout);
  if (!ran) return fail(ran.error().prefixed("Slurm client tool: "));
  if (ran->timed_out)
    return fail(errc::worker, tool + " did not answer within " + std::to_string(timeout.count()) +
                                  " ms: the Slurm controller is not reachable");
  return tool_output{ran->status, std::move(ran->out), std::move(ran->err)};
}

// The first line of `text` that mentions `needle`, without its trailing newline ("" when none).
inline std::string line_with(const std::string& text, std::string_view needle) {
  const auto at = text.find(needle);
  if (at == std::string::npos) return {};
  const auto begin = text.rfind('\n', at);
  const auto end = text.find('\n', at);
  return text.substr(begin == std::string::npos ? 0 : begin + 1,
                     (end == std::string::npos ? text.size() : end) - (begin == std::string::npos ? 0 : begin + 1));
}

//! Splits srun's stderr: whole lines that srun or slurmstepd wrote (`srun: ...`,
//! `slurmstepd...: ...`) are held back for classification; everything else is passed on at once
//! (a partial line only waits while it could still become such a line).
class diagnostics_filter {
 public:
  //! Feeds a chunk; `forward(bytes)` receives what belongs to the task.
  template <class Forward>
  void feed(std::string_view chunk, Forward&& forward) {
    pending_.append(chunk);
    std::size_t pos = 0;
    while (pos < pending_.size()) {
      const auto nl = pending_.find('\n', pos);
      if (!at_line_start_) {
        const auto end = nl == std::string::npos ? pending_.size() : nl + 1;
        forward(std::string_view(pending_).substr(pos, end - pos));
        pos = end;
        at_line_start_ = nl != std::string::npos;
        continue;
      }
      if (nl == std::string::npos) {
        const std::string_view rest = std::string_view(pending_).substr(pos);
        if (could_be_diagnostic(rest)) break;  // wait for the rest of the line
        forward(rest);
        pos = pending_.size();
        at_line_start_ = false;
        break;
      }
      const std::string_view line = std::string_view(pending_).substr(pos, nl + 1 - pos);
      if (is_diagnostic(line)) held_.append(line);
      else forward(line);
      pos = nl + 1;
    }
    pending_.erase(0, pos);
  }

  //! At the end of the stream: a held partial line is classified like a whole one.
  template <class Forward>
  void finish(Forward&& forward) {
    if (pending_.empty()) return;
    if (at_line_start_ && is_diagnostic(pending_)) held_.append(pending_ + "\n");
    else forward(std::string_view(pending_));
    pending_.clear();
  }

  //! The held srun/slurmstepd lines.
  [[nodiscard]] const std::string& diagnostics() const noexcept { return held_; }

  static bool is_diagnostic(std::string_view line) {
    return line.rfind("srun: ", 0) == 0 || line.rfind("slurmstepd", 0) == 0;
  }

 private:
  static bool could_be_diagnostic(std::string_view partial) {
    for (std::string_view p : {std::string_view("srun: "), std::string_view("slurmstepd")}) {
      const auto n = std::min(partial.size(), p.size());
      if (partial.substr(0, n) == p.substr(0, n)) return true;
    }
    return false;
  }

  std::string pending_;
  std::string held_;
  bool at_line_start_ = true;
};

}  // namespace taskstep::worker::slurm_detail
