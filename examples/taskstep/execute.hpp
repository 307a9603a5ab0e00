#pragma once
// `taskstep execute`: run a task file on a worker, like `fly execute` without a Concourse server.

#include <CLI/CLI.hpp>

#include "args.hpp"

namespace taskstep_cli {

void add_execute_flags(CLI::App& cmd, execute_args& a);
int run_execute(const CLI::App& cmd, execute_args& a);

}  // namespace taskstep_cli
