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

#include "taskstep/core/dialect.hpp"
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

//! `image_resource.tags` (`atc.Tags`, 7.0): non-empty tags choose the workers that fetch the image.
struct tag_list : std::vector<std::string> {
  using vector::vector;
  static constexpr std::string_view go_name = "atc.Tags";
};

//! `container_limits`: cpu shares and memory bytes; absent keys stay empty (the ATC default applies).
struct container_limits {
  BOOST_HANA_DEFINE_STRUCT(container_limits,
    (std::optional<std::uint64_t>, cpu),
    (std::optional<std::uint64_t>, memory));
  static constexpr std::string_view go_name = "ContainerLimits";
  static constexpr std::array<std::string_view, 0> always_emitted{};
};

//! `image_resource`: the resource Concourse fetches to get the task's image.
//! Members in 7.0's Go order; a dialect lists which exist and their order (6.7: type, source, params,
//! version). For a task `name` is always empty (rendered `"name":""`).
struct image_resource {
  BOOST_HANA_DEFINE_STRUCT(image_resource,
    (std::string, name),
    (std::string, type),
    (resource_source, source),
    (version_map, version),
    (resource_params, params),
    (tag_list, tags));
  static constexpr std::string_view go_name = "ImageResource";
  static constexpr std::array<std::string_view, 3> always_emitted{"name", "type", "source"};
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

//! One entry of `caches`; `ttl` (8.2) is a Go duration of at least 1s, empty for none.
struct task_cache_config {
  BOOST_HANA_DEFINE_STRUCT(task_cache_config,
    (std::string, path),
    (std::string, ttl));
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

//! The problems `atc.TaskConfig.Validate` reports, in its order and words (6.7: the first two lines
//! lost their indent, the input/output lines kept two spaces). `D` is the Concourse dialect.
template <class D = dialect::concourse_6_7>
std::vector<std::string> validation_problems(const task_config& c) {
  std::vector<std::string> lines;
  if (c.platform.empty()) lines.emplace_back("missing 'platform'");
  if constexpr (D::run_path_required)
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
template <class D = dialect::concourse_6_7>
result<void> validate(const task_config& c) {
  auto lines = validation_problems<D>(c);
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
