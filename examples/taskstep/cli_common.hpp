#pragma once
// Pieces shared by the `taskstep` subcommands: file reading, exit codes and the fly-style var flags.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "args.hpp"
#include "taskstep/config/config.hpp"

namespace taskstep_cli {

constexpr int exit_ok = 0;
constexpr int exit_invalid = 1;
constexpr int exit_usage = 2;

// Go's wording of an errno (`permission denied`): strerror with a lower-case first letter.
inline std::string errno_text(int e) {
  std::string s = std::strerror(e);
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

// Reads a task or vars file. Opened non-blocking, so a FIFO with no writer cannot hang us; anything
// but a regular file is refused unless it was named as a file descriptor (`/dev/fd/N`,
// `/proc/self/fd/N`, `/dev/stdin`: process substitution, pipes), which is then read blocking.
// Errors carry the real errno, as Go's os.ReadFile: `open x: permission denied`.
inline bool read_file(const std::string& path, std::string& out, std::string& err) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    err = "open " + path + ": " + errno_text(errno);
    return false;
  }
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } guard{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    err = "stat " + path + ": " + errno_text(errno);
    return false;
  }
  if (S_ISDIR(st.st_mode)) {
    err = "read " + path + ": is a directory";
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    const std::string_view p = path;
    if (!(p.starts_with("/dev/fd/") || p.starts_with("/proc/self/fd/") || p == "/dev/stdin")) {
      err = "read " + path + ": not a regular file";
      return false;
    }
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  }
  out.clear();
  char buf[65536];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      err = "read " + path + ": " + errno_text(errno);
      return false;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  return true;
}


struct usage_error {
  std::string message;
};

// How `-v` and `-y` flags naming the same variable are ordered.
enum class flag_order {
  command_line,  // a later flag wins (`render`, as the compat corpus records it)
  fly,           // fly's templatehelpers: every -v is applied, then every -y, so a -y always wins
};

inline taskstep::vars::static_vars_list collect_vars(const CLI::App& app, const var_options& o,
                                                     flag_order order = flag_order::command_line) {
  using namespace taskstep;
  vars::static_vars flags;
  auto set_var = [&](const std::string& arg) {
    auto pair = config::parse_var_pair(arg);
    if (!pair) throw usage_error{pair.error().message()};
    flags.set(pair->name, pair->val);
  };
  auto set_yaml_var = [&](const std::string& arg) {
    auto pair = config::parse_yaml_var_pair(arg);
    if (!pair) throw usage_error{pair.error().message()};
    flags.set(pair->name, pair->val);
  };
  if (order == flag_order::fly) {
    for (const auto& s : o.strings) set_var(s);
    for (const auto& y : o.yamls) set_yaml_var(y);
  } else {
    std::size_t vi = 0, yi = 0;
    for (const CLI::Option* opt : app.parse_order()) {
      if (opt->get_name() == "--var") set_var(o.strings.at(vi++));
      else if (opt->get_name() == "--yaml-var") set_yaml_var(o.yamls.at(yi++));
    }
  }
  vars::static_vars_list list;
  list.push_back(std::move(flags));
  for (auto it = o.files.rbegin(); it != o.files.rend(); ++it) {
    std::string text, err;
    if (!read_file(*it, text, err))
      throw usage_error{"could not read template variables file (" + *it + "): " + err};
    auto file_vars = config::load_vars_file(text);
    if (!file_vars) throw usage_error{"could not unmarshal template variables (" + *it + "): " + file_vars.error().message()};
    list.push_back(std::move(*file_vars));
  }
  return list;
}

inline taskstep::task_env collect_params(const var_options& o) {
  using namespace taskstep;
  task_env params;
  for (const auto& p : o.params) {
    auto pair = config::parse_yaml_var_pair(p);
    if (!pair) throw usage_error{pair.error().message()};
    auto text = config::step_param_string(pair->val);
    if (!text) throw usage_error{"invalid param '" + p + "': " + text.error().message()};
    params[pair->name] = *text;
  }
  return params;
}

//! `--concourse 6.7|7.14|8.2`: the Concourse version whose behaviour taskstep follows (core/dialect.hpp).
inline void add_concourse_flag(CLI::App& cmd, std::string& version) {
  cmd.add_option("--concourse", version, "VERSION: behave as Concourse 6.7, 7.14 or 8.2 (default 8.2, the newest)")
      ->check(CLI::IsMember({"6.7", "7.14", "8.2"}));
}

//! `atc.NewTaskConfig` in the dialect named `version` (checked by the flag).
inline taskstep::result<taskstep::task_config> parse_task_file(const std::string& version, std::string_view text) {
  taskstep::result<taskstep::task_config> out = taskstep::task_config{};
  taskstep::with_dialect(version, [&]<class D>(D) { out = taskstep::yaml::parse_task_config<D>(text); });
  return out;
}

inline void add_var_flags(CLI::App& cmd, var_options& o) {
  cmd.add_option("-v,--var", o.strings, "NAME=STRING: a string variable for ((NAME))")->take_all();
  cmd.add_option("-y,--yaml-var", o.yamls, "NAME=YAML: a YAML-typed variable for ((NAME))")->take_all();
  cmd.add_option("-l,--load-vars-from", o.files, "FILE: a YAML file of variables (later files win)")->take_all();
  cmd.add_option("--param", o.params, "NAME=YAML: override or add a param, as a step's params: would")->take_all();
}


}  // namespace taskstep_cli
