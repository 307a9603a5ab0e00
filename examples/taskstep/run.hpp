#pragma once
// `taskstep run`: a whole Concourse pipeline job on this machine.

#include <CLI/CLI.hpp>

#include "args.hpp"

namespace taskstep_cli {

void add_run_flags(CLI::App& cmd, run_args& a);
int run_run(const CLI::App& cmd, run_args& a);

}  // namespace taskstep_cli
