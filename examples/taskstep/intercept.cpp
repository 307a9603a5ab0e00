// `taskstep intercept [RUN] [-- CMD ARGS...]`, `--list`, `--rm RUN` / `--rm --all`: a thin shell over
// the library's kept runs (taskstep/worker/kept_run.hpp, intercept.hpp; build/paths.hpp finds them).

#include "intercept.hpp"

#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "taskstep/build/paths.hpp"
#include "taskstep/worker/intercept.hpp"

namespace taskstep_cli {

namespace {

namespace fs = std::filesystem;

struct intercept_args {
  std::string run;                 // RUN, or the command's first word when no RUN was given
  std::vector<std::string> words;  // the rest of the command
  bool list = false, remove = false, all = false;
};

intercept_args& args() {
  static intercept_args a;
  return a;
}

// A kept run's id: its run directory's name without `run-`.
std::string id_of(const fs::path& run_dir) { return run_dir.filename().string().substr(4); }

std::string when(std::int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::localtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// The kept run `word` names (an id, or the path of a kept run directory), or nothing.
std::vector<fs::path> matching(const std::vector<fs::path>& kept, const std::string& word) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (word.find('/') != std::string::npos && taskstep::worker::is_kept_run(word)) return {fs::absolute(word, ec)};
  for (const auto& k : kept)
    if (id_of(k) == word) out.push_back(k);
  return out;
}

int list(const std::vector<fs::path>& kept) {
  if (kept.empty()) {
    std::cerr << "no kept runs (run a task with --keep)\n";
    return exit_ok;
  }
  std::printf("%-8s %-16s %-6s %-19s %s\n", "ID", "TASK", "WORKER", "WHEN", "PATH");
  for (const auto& k : kept) {
    auto r = taskstep::worker::read_kept_run(k);
    if (!r) {
      std::printf("%-8s %-16s %-6s %-19s %s\n", id_of(k).c_str(), "?", "?", "?", k.c_str());
      continue;
    }
    const std::string task = r->job.empty() ? r->task : r->job + "/" + r->task;
    std::printf("%-8s %-16s %-6s %-19s %s\n", id_of(k).c_str(), task.c_str(), r->worker.c_str(), when(r->created).c_str(),
                k.c_str());
  }
  return exit_ok;
}

int remove_one(const fs::path& run_dir) {
  if (auto removed = taskstep::worker::remove_kept_run(run_dir); !removed) {
    std::cerr << removed.error().message() << "\n";
    return exit_usage;
  }
  (void)taskstep::build::remove_unused_run_root(run_dir.parent_path());
  std::cerr << "removed kept run " << id_of(run_dir) << " (" << run_dir.string() << ")\n";
  return exit_ok;
}

}  // namespace

std::string kept_hint(const fs::path& run_dir) {
  const std::string id = id_of(run_dir);
  return "kept run " + id + " at " + run_dir.string() + "\n  enter it:  taskstep intercept " + id +
         "\n  remove it: taskstep intercept --rm " + id;
}

CLI::App* add_intercept_command(CLI::App& app) {
  intercept_args& a = args();
  auto* cmd = app.add_subcommand("intercept", "Open a shell in a run kept by --keep (like fly intercept)");
  // Two positionals, so that CLI11 still has room after `--` once RUN is given; the words are
  // joined again and split by what names a kept run (run_intercept_command).
  cmd->add_option("RUN", a.run, "the kept run: its id or path (optional when there is exactly one)");
  cmd->add_option("COMMAND", a.words, "after --: the command to run (with its args) instead of a shell");
  cmd->add_flag("--list", a.list, "list the kept runs (id, task, worker, when, path)");
  cmd->add_flag("--rm", a.remove, "remove the kept run RUN (or every kept run with --all), unmounting everything");
  cmd->add_flag("--all", a.all, "with --rm: every kept run");
  return cmd;
}

int run_intercept_command() {
  intercept_args& a = args();
  const auto kept = taskstep::build::find_kept_runs();
  if (a.list) return list(kept);
  if (a.all && !a.remove) {
    std::cerr << "--all goes with --rm\n";
    return exit_usage;
  }
  if (a.remove && a.all) {
    int code = exit_ok;
    for (const auto& k : kept)
      if (remove_one(k) != exit_ok) code = exit_usage;
    return code;
  }
  // RUN is the first word when it names a kept run; otherwise every word is the command (RUN is then
  // the one kept run there is).
  std::vector<std::string> command = a.words;
  if (!a.run.empty()) command.insert(command.begin(), a.run);
  fs::path run;
  if (!command.empty()) {
    auto found = matching(kept, command.front());
    if (found.size() > 1) {
      std::cerr << "kept run id " << command.front() << " is ambiguous: name its path (taskstep intercept --list)\n";
      return exit_usage;
    }
    if (found.size() == 1) {
      run = found.front();
      command.erase(command.begin());
    } else if (a.remove || kept.empty()) {
      std::cerr << "no kept run " << command.front() << " (taskstep intercept --list shows them)\n";
      return exit_usage;
    } else if (kept.size() > 1) {
      std::cerr << "'" << command.front() << "' names no kept run, and there are " << kept.size()
                << " kept runs: name one (taskstep intercept --list shows them)\n";
      return exit_usage;
    }
  }
  if (run.empty()) {
    if (kept.empty()) {
      std::cerr << "no kept runs (run a task with --keep)\n";
      return exit_usage;
    }
    if (kept.size() > 1) {
      std::cerr << kept.size() << " kept runs: name one (taskstep intercept --list shows them)\n";
      return exit_usage;
    }
    run = kept.front();
  }
  if (a.remove) {
    if (!command.empty()) {
      std::cerr << "--rm takes only the run\n";
      return exit_usage;
    }
    return remove_one(run);
  }
  taskstep::worker::enter_options options;
  options.command = command;
  auto status = taskstep::worker::enter_kept_run(run, options);
  if (!status) {
    std::cerr << "intercept: " << status.error().message() << "\n";
    return exit_usage;
  }
  return *status;
}

}  // namespace taskstep_cli
