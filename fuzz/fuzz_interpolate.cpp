// `((vars))` interpolation the way `taskstep render` does it: a fuzzed task file and a fuzzed vars
// file (as `-l`), split at the first NUL byte; the task is parsed, then interpolated and validated
// through config::interpolate. The raw template tree is also evaluated on its own, old-style `{{x}}`
// included. Bounded work: every input finishes quickly with a result or an error. The bounds are
// smaller than the library's defaults (1 MiB output, 4 MiB work instead of 64 / 256 MiB) so an input
// that runs into them costs milliseconds, not seconds: the same bound logic, reached sooner.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "taskstep/config/config.hpp"
#include "taskstep/vars/template.hpp"
#include "taskstep/yaml/decode.hpp"
#include "taskstep/yaml/parse.hpp"

namespace {
constexpr taskstep::vars::interpolation_limits limits{.max_bytes = std::size_t{1} << 20, .max_work = std::size_t{4} << 20};
}  // namespace

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

  // One parse serves both paths: yaml::parse_task_config(task) is parse(task, strict) + decode + validate,
  // done here on the tree already parsed (a second and third parse of the same text cost a third of
  // the time and give the same tree).
  auto tree = yaml::parse(task);
  if (!tree) return 0;
  // The render path: static source | interpolate | validating, strict and not.
  auto parsed = yaml::decode_task_config(value(*tree));
  if (parsed && validate(*parsed)) {
    auto source = config::static_source(*parsed) | config::interpolate(list, true, limits) | config::validating();
    (void)source.fetch();
    auto loose = config::static_source(std::move(*parsed)) | config::interpolate(list, false, limits);
    (void)loose.fetch();
  }
  // The bare evaluator over any YAML tree, strict about unused vars too.
  vars::evaluate_options opts;
  opts.expect_all_used = true;
  opts.allow_empty_old_style = false;
  opts.limits = limits;
  (void)vars::evaluate(*tree, list, opts);
  vars::evaluate_options defaults;
  defaults.limits = limits;
  (void)vars::evaluate(std::move(*tree), list, defaults);
  return 0;
}
