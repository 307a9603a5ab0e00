// `((vars))` interpolation the way `taskstep render` does it: a fuzzed task file and a fuzzed vars
// file (as `-l`), split at the first NUL byte; the task is parsed, then interpolated and validated
// through config::interpolate. The raw template tree is also evaluated on its own, old-style `{{x}}`
// included. Bounded work: every input finishes quickly with a result or an error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "taskstep/config/config.hpp"
#include "taskstep/vars/template.hpp"
#include "taskstep/yaml/parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace taskstep;
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const auto nul = all.find('\0');
  const std::string_view task = all.substr(0, nul);
  const std::string_view vars_text = nul == std::string_view::npos ? std::string_view() : all.substr(nul + 1);

  auto file_vars = config::load_vars_file(vars_text);
  if (!file_vars) return 0;
  vars::static_vars_list list;
  list.push_back(std::move(*file_vars));

  // The render path: static source | interpolate | validating.
  if (auto parsed = yaml::parse_task_config(task)) {
    auto source = config::static_source(std::move(*parsed)) | config::interpolate(list) | config::validating();
    (void)source.fetch();
    auto loose = config::static_source(*yaml::parse_task_config(task)) | config::interpolate(list, false);
    (void)loose.fetch();
  }
  // The bare evaluator over any YAML tree, strict about unused vars too.
  if (auto tree = yaml::parse(task)) {
    vars::evaluate_options opts;
    opts.expect_all_used = true;
    opts.allow_empty_old_style = false;
    (void)vars::evaluate(*tree, list, opts);
    (void)vars::evaluate(std::move(*tree), list);
  }
  return 0;
}
