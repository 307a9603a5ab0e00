#pragma once
//! \file
//! The Concourse 6.7 task configuration (`atc.TaskConfig`), its validation and the environment
//! Concourse builds from its params. The structs are reflected with Boost.Hana so that decoding,
//! encoding and JSON output are each written once for every field (see yaml/decode.hpp).
//!
//! Member order is the Go struct's field order, so JSON output matches `json.Marshal`.

#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/hana/define_struct.hpp>

#include "taskstep/core/result.hpp"
#include "taskstep/core/value.hpp"

namespace taskstep {

//! `params:` of a task: name → environment string (`atc.TaskEnv`, decoded through CoercedString).
struct task_env : std::map<std::string, std::string> {
  using map::map;
  static constexpr std::string_view go_name = "map[string]atc.CoercedString";
};

//! `image_resource.version` (`atc.Version`, map[string]string).
struct version_map : std::map<std::string, std::string> {
  using map::map;
  static constexpr std::string_view go_name = "atc.Version";
};

//! A JSON object of arbitrary values (`atc.Source`, `atc.Params`); null when absent.
template <class Tag>
struct json_object {
  value data;  //!< null or a JSON-flavoured mapping; numbers are float64 as Go decodes them
  static constexpr std::string_view go_name = Tag::go_name;
  friend bool operator==(const json_object& a, const json_object& b) { return a.data == b.data; }
};
struct source_tag { static constexpr std::string_view go_name = "atc.Source"; };
struct params_tag { static constexpr std::string_view go_name = "atc.Params"; };
using resource_source = json_object<source_tag>;
using resource_params = json_object<params_tag>;

//! `container_limits`: cpu shares and memory bytes; absent keys stay empty (the ATC default applies).
struct container_limits {
  BOOST_HANA_DEFINE_STRUCT(container_limits,
    (std::optional<std::uint64_t>, cpu),
    (std::optional<std::uint64_t>, memory));
  static constexpr std::string_view go_name = "ContainerLimits";
  static constexpr std::array<std::string_view, 0> always_emitted{};
};

//! `image_resource`: the resource Concourse fetches to get the task's image.
struct image_resource {
  BOOST_HANA_DEFINE_STRUCT(image_resource,
    (std::string, type),
    (resource_source, source),
    (resource_params, params),
    (version_map, version));
  static constexpr std::string_view go_name = "ImageResource";
  static constexpr std::array<std::string_view, 2> always_emitted{"type", "source"};
};

//! `run`: the process to start.
struct task_run_config {
  BOOST_HANA_DEFINE_STRUCT(task_run_config,
    (std::string, path),
    (std::vector<std::string>, args),
    (std::string, dir),
    (std::string, user));
  static constexpr std::string_view go_name = "TaskRunConfig";
  static constexpr std::array<std::string_view, 1> always_emitted{"path"};
};

//! One entry of `inputs`.
struct task_input_config {
  BOOST_HANA_DEFINE_STRUCT(task_input_config,
    (std::string, name),
    (std::string, path),
    (bool, optional));
  static constexpr std::string_view go_name = "TaskInputConfig";
  static constexpr std::array<std::string_view, 1> always_emitted{"name"};
};

//! One entry of `outputs`.
struct task_output_config {
  BOOST_HANA_DEFINE_STRUCT(task_output_config,
    (std::string, name),
    (std::string, path));
  static constexpr std::string_view go_name = "TaskOutputConfig";
  static constexpr std::array<std::string_view, 1> always_emitted{"name"};
};

//! One entry of `caches`.
struct task_cache_config {
  BOOST_HANA_DEFINE_STRUCT(task_cache_config,
    (std::string, path));
  static constexpr std::string_view go_name = "TaskCacheConfig";
  static constexpr std::array<std::string_view, 0> always_emitted{};
};

//! The whole task configuration, as in a `task.yml`.
struct task_config {
  BOOST_HANA_DEFINE_STRUCT(task_config,
    (std::string, platform),
    (std::string, rootfs_uri),
    (std::optional<::taskstep::image_resource>, image_resource),
    (std::optional<::taskstep::container_limits>, container_limits),
    (task_env, params),
    (task_run_config, run),
    (std::vector<task_input_config>, inputs),
    (std::vector<task_output_config>, outputs),
    (std::vector<task_cache_config>, caches));
  static constexpr std::string_view go_name = "TaskConfig";
  static constexpr std::array<std::string_view, 0> always_emitted{};
};

//! Parses a memory limit string as Concourse does: upper-cased, then `^([0-9]+)([G|M|K|g|m|k]?[b|B])?$`
//! (the `|` inside the classes is literal); KB/MB/GB multiply by 2^10/2^20/2^30 (wrapping), any other
//! matched suffix by 1.
inline result<std::uint64_t> parse_memory_limit(std::string_view text) {
  std::string s;
  for (char c : text) s += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  std::size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  const std::string digits = s.substr(0, i);
  const std::string unit = s.substr(i);
  auto unit_ok = [&] {
    if (unit.empty()) return true;
    auto last_ok = [](char c) { return c == 'B' || c == '|'; };
    auto first_ok = [](char c) { return c == 'G' || c == 'M' || c == 'K' || c == '|'; };
    if (unit.size() == 1) return last_ok(unit[0]);
    return unit.size() == 2 && first_ok(unit[0]) && last_ok(unit[1]);
  };
  if (digits.empty() || !unit_ok()) return fail(errc::decode, "could not parse container memory limit");
  std::uint64_t n = 0;
  for (char c : digits) {
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (n > (std::numeric_limits<std::uint64_t>::max() - d) / 10)
      return fail(errc::decode, "strconv.ParseUint: parsing \"" + digits + "\": value out of range");
    n = n * 10 + d;
  }
  const unsigned shift = unit == "KB" ? 10 : unit == "MB" ? 20 : unit == "GB" ? 30 : 0;
  return n << shift;
}

//! The problems `atc.TaskConfig.Validate` reports, in its order and words (6.7: the first two lines
//! lost their indent, the input/output lines kept two spaces).
inline std::vector<std::string> validation_problems(const task_config& c) {
  std::vector<std::string> lines;
  if (c.platform.empty()) lines.emplace_back("missing 'platform'");
  if (c.run.path.empty()) lines.emplace_back("missing path to executable to run");
  for (std::size_t i = 0; i < c.inputs.size(); ++i)
    if (c.inputs[i].name.empty())
      lines.push_back("  input in position " + std::to_string(i) + " is missing a name");
  for (std::size_t i = 0; i < c.outputs.size(); ++i)
    if (c.outputs[i].name.empty())
      lines.push_back("  output in position " + std::to_string(i) + " is missing a name");
  return lines;
}

//! Validates a config: `invalid task configuration:\n<line>\n<line>...` or nothing.
inline result<void> validate(const task_config& c) {
  auto lines = validation_problems(c);
  if (lines.empty()) return {};
  std::string msg = "invalid task configuration:";
  for (const auto& l : lines) msg += "\n" + l;
  return fail(errc::invalid_config, std::move(msg));
}

//! The process environment from params: `NAME=value` entries, sorted by name.
inline std::vector<std::string> environment(const task_env& params) {
  std::vector<std::string> env;
  env.reserve(params.size());
  for (const auto& [k, v] : params) env.push_back(k + "=" + v);
  return env;
}

}  // namespace taskstep
