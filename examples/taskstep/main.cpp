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

#include "cli_common.hpp"
#include "execute.hpp"
#include "taskstep/config/yaml_cpp_emit.hpp"

namespace {

using namespace taskstep_cli;

int run_validate(const std::string& task_file, const std::string& version) {
  std::string text, err;
  if (!read_file(task_file, text, err)) {
    std::cerr << "could not read file: " << err << "\n";
    return exit_invalid;
  }
  auto config = parse_task_file(version, text);
  if (!config) {
    std::cerr << config.error().message() << "\n";
    return exit_invalid;
  }
  return exit_ok;
}

template <class D>
int run_render(const CLI::App& cmd, const std::string& task_file, const var_options& o, bool env, bool as_yaml) {
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
  auto parsed = yaml::parse_task_config<D>(text);
  if (!parsed) {
    std::cerr << parsed.error().message() << "\n";
    return exit_invalid;
  }
  auto source = config::static_source(std::move(*parsed)) | config::override_params(std::move(params)) |
                config::interpolate<D>(std::move(variables)) | config::validating<D>();
  auto final_config = source.fetch();
  for (const auto& w : source.warnings()) std::cerr << "[WARNING] " << w << "\n";
  if (!final_config) {
    std::cerr << final_config.error().message() << "\n";
    return exit_invalid;
  }
  if (env) {
    for (const auto& line : environment(final_config->params)) std::cout << line << "\n";
  } else if (as_yaml) {
    auto text = config::to_yaml_text<D>(*final_config);
    if (!text) {
      std::cerr << text.error().message() << "\n";
      return exit_invalid;
    }
    std::cout << *text;
  } else {
    std::cout << yaml::to_json<D>(*final_config) << "\n";
  }
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"taskstep: run Concourse task steps locally"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");

  std::string validate_file;
  std::string validate_version = "8.2", render_version = "8.2";
  auto* validate = app.add_subcommand("validate", "Check a task file as Concourse would (--concourse picks the version)");
  validate->add_option("TASK_FILE", validate_file, "task.yml to check")->required();
  add_concourse_flag(*validate, validate_version);

  std::string render_file;
  bool render_env = false;
  bool render_yaml = false;
  var_options render_vars;
  auto* render = app.add_subcommand("render", "Print the final task config (params, vars applied) as JSON");
  render->add_option("TASK_FILE", render_file, "task.yml to render")->required();
  auto* render_env_flag =
      render->add_flag("--env", render_env, "print the process environment (NAME=VALUE lines) instead");
  render->add_flag("--yaml", render_yaml, "print the final config as YAML (same keys and order as the JSON)")
      ->excludes(render_env_flag);
  add_var_flags(*render, render_vars);
  add_concourse_flag(*render, render_version);

  execute_args exec_args;
  auto* execute = app.add_subcommand("execute", "Run a task file on a worker (like fly execute, no server)");
  add_execute_flags(*execute, exec_args);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? exit_ok : exit_usage;
  }

  if (validate->parsed()) return run_validate(validate_file, validate_version);
  if (render->parsed()) {
    int code = exit_usage;
    taskstep::with_dialect(render_version, [&]<class D>(D) {
      code = run_render<D>(*render, render_file, render_vars, render_env, render_yaml);
    });
    return code;
  }
  if (execute->parsed()) return run_execute(*execute, exec_args);
  return exit_usage;
}
