// The `taskstep` command: validate, render and (later) execute Concourse task files locally.
// A thin shell over the library: parse flags (CLI11), build the config chain, print, map to an exit code.

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli_common.hpp"
#include "execute.hpp"
#include "intercept.hpp"
#include "run.hpp"
#include "taskstep/config/yaml_cpp_emit.hpp"
#include "taskstep/version.hpp"

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

// The Concourse version whose behaviour the command follows unless told otherwise (`--concourse`).
constexpr std::string_view default_concourse = taskstep::dialect::concourse_default::name;
// The worker types this command was built with (execute_<worker>.cpp), as `--worker` names them.
constexpr std::string_view compiled_workers = "local oci slurm";

// `taskstep --version`: the version, then the default dialect and the workers, one fact a line.
std::string version_text() {
  return std::string("taskstep ") + taskstep::version_string + "\nconcourse " + std::string(default_concourse) +
         "\nworkers " + std::string(compiled_workers) + "\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"taskstep: run Concourse task steps locally"};
  app.require_subcommand(0, 1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  bool show_version = false;
  app.add_flag("-V,--version", show_version, "print the version, the default Concourse version and the workers");

  std::string validate_file;
  std::string validate_version(default_concourse), render_version(default_concourse);
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
  auto* intercept = add_intercept_command(app);

  run_args run_flags;
  auto* run = app.add_subcommand("run", "Run a pipeline's job on this machine (gets from local dirs, puts skipped)");
  add_run_flags(*run, run_flags);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    if (code == 0) return exit_ok;
    // fly reports a bad flag of execute like any other error it finds itself: exit 1.
    return argc > 1 && std::string_view(argv[1]) == "execute" ? exit_invalid : exit_usage;
  }

  if (show_version) {
    std::cout << version_text();
    return exit_ok;
  }
  // Nothing to do: the help on stdout and the usage exit code, as `git` with no arguments does.
  if (app.get_subcommands().empty()) {
    std::cout << app.help();
    return exit_usage;
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
  if (intercept->parsed()) return run_intercept_command();
  if (run->parsed()) return run_run(*run, run_flags);
  return exit_usage;
}
