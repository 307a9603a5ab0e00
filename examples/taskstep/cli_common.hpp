#pragma once
// Pieces shared by the `taskstep` subcommands: file reading, exit codes and the fly-style var flags.

#include <fcntl.h>
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

// An errno as Go's syscall.Errno prints it (strerror in lower case: "no such file or directory").
inline std::string go_errno(int err) {
  std::string s = std::strerror(err);
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

inline bool read_file(const std::string& path, std::string& out, std::string& err) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    err = "read " + path + ": is a directory";
    return false;
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    err = "open " + path + ": " + go_errno(errno);
    return false;
  }
  out.clear();
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = "read " + path + ": " + go_errno(errno);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return true;
}


struct usage_error {
  std::string message;
};

inline taskstep::vars::static_vars_list collect_vars(const CLI::App& app, const var_options& o) {
  using namespace taskstep;
  vars::static_vars flags;
  std::size_t vi = 0, yi = 0;
  for (const CLI::Option* opt : app.parse_order()) {
    if (opt->get_name() == "--var") {
      auto pair = config::parse_var_pair(o.strings.at(vi++));
      if (!pair) throw usage_error{pair.error().message()};
      flags.set(pair->name, pair->val);
    } else if (opt->get_name() == "--yaml-var") {
      auto pair = config::parse_yaml_var_pair(o.yamls.at(yi++));
      if (!pair) throw usage_error{pair.error().message()};
      flags.set(pair->name, pair->val);
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

inline void add_var_flags(CLI::App& cmd, var_options& o) {
  cmd.add_option("-v,--var", o.strings, "NAME=STRING: a string variable for ((NAME))")->take_all();
  cmd.add_option("-y,--yaml-var", o.yamls, "NAME=YAML: a YAML-typed variable for ((NAME))")->take_all();
  cmd.add_option("-l,--load-vars-from", o.files, "FILE: a YAML file of variables (later files win)")->take_all();
  cmd.add_option("--param", o.params, "NAME=YAML: override or add a param, as a step's params: would")->take_all();
}


}  // namespace taskstep_cli
