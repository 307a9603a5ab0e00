// The `taskstep` command: validate, render and (later) execute Concourse task files locally.
// A thin shell over the library: parse flags (CLI11), build the config chain, print, map to an exit code.

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "taskstep/config/config.hpp"

namespace {

constexpr int exit_ok = 0;
constexpr int exit_invalid = 1;
constexpr int exit_usage = 2;

bool read_file(const std::string& path, std::string& out, std::string& err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err = "open " + path + ": no such file or directory";
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

// Variables from -v/-y (in command-line order, later wins) and -l files (later files first).
struct var_options {
  std::vector<std::string> strings, yamls, files, params;
};

struct usage_error {
  std::string message;
};

taskstep::vars::static_vars_list collect_vars(const CLI::App& app, const var_options& o) {
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

taskstep::task_env collect_params(const var_options& o) {
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

void add_var_flags(CLI::App& cmd, var_options& o) {
  cmd.add_option("-v,--var", o.strings, "NAME=STRING: a string variable for ((NAME))")->take_all();
  cmd.add_option("-y,--yaml-var", o.yamls, "NAME=YAML: a YAML-typed variable for ((NAME))")->take_all();
  cmd.add_option("-l,--load-vars-from", o.files, "FILE: a YAML file of variables (later files win)")->take_all();
  cmd.add_option("--param", o.params, "NAME=YAML: override or add a param, as a step's params: would")->take_all();
}

int run_validate(const std::string& task_file) {
  std::string text, err;
  if (!read_file(task_file, text, err)) {
    std::cerr << "could not read file: " << err << "\n";
    return exit_invalid;
  }
  auto config = taskstep::yaml::parse_task_config(text);
  if (!config) {
    std::cerr << config.error().message() << "\n";
    return exit_invalid;
  }
  return exit_ok;
}

int run_render(const CLI::App& cmd, const std::string& task_file, const var_options& o, bool env) {
  using namespace taskstep;
  std::string text, err;
  if (!read_file(task_file, text, err)) {
    std::cerr << "could not read file: " << err << "\n";
    return exit_invalid;
  }
  vars::static_vars_list variables;
  task_env params;
  try {
    variables = collect_vars(cmd, o);
    params = collect_params(o);
  } catch (const usage_error& e) {
    std::cerr << e.message << "\n";
    return exit_usage;
  }
  auto parsed = yaml::parse_task_config(text);
  if (!parsed) {
    std::cerr << parsed.error().message() << "\n";
    return exit_invalid;
  }
  auto source = config::static_source(std::move(*parsed)) | config::override_params(std::move(params)) |
                config::interpolate(std::move(variables)) | config::validating();
  auto final_config = source.fetch();
  for (const auto& w : source.warnings()) std::cerr << "[WARNING] " << w << "\n";
  if (!final_config) {
    std::cerr << final_config.error().message() << "\n";
    return exit_invalid;
  }
  if (env) {
    for (const auto& line : environment(final_config->params)) std::cout << line << "\n";
  } else {
    std::cout << yaml::to_json(*final_config) << "\n";
  }
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"taskstep: run Concourse task steps locally"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");

  std::string validate_file;
  auto* validate = app.add_subcommand("validate", "Check a task file as Concourse 6.7 would");
  validate->add_option("TASK_FILE", validate_file, "task.yml to check")->required();

  std::string render_file;
  bool render_env = false;
  var_options render_vars;
  auto* render = app.add_subcommand("render", "Print the final task config (params, vars applied) as JSON");
  render->add_option("TASK_FILE", render_file, "task.yml to render")->required();
  render->add_flag("--env", render_env, "print the process environment (NAME=VALUE lines) instead");
  add_var_flags(*render, render_vars);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? exit_ok : exit_usage;
  }

  if (validate->parsed()) return run_validate(validate_file);
  if (render->parsed()) return run_render(*render, render_file, render_vars, render_env);
  return exit_usage;
}
