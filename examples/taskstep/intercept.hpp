#pragma once
// `taskstep intercept`: enter, list and remove runs kept by `--keep` (taskstep/worker/intercept.hpp).

#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

namespace taskstep_cli {

// Registers the `intercept` subcommand on `app`; `run_intercept_command()` runs it once parsed.
CLI::App* add_intercept_command(CLI::App& app);
int run_intercept_command();

// What a build prints for a run it kept (`--keep`): where it is and how to enter and remove it.
std::string kept_hint(const std::filesystem::path& run_dir);

}  // namespace taskstep_cli
