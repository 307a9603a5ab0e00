// task.yml → parse (strict and not) → decode → validate → the JSON and YAML trees Concourse would
// build from it. Any input must give a config or an error: no crash, overflow, leak or UB.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "taskstep/core/json.hpp"
#include "taskstep/yaml/decode.hpp"
#include "taskstep/yaml/parse.hpp"

namespace {

// NaN (as a value or as a map key) makes a tree unequal to itself.
bool has_nan(const taskstep::value& v) {
  if (v.type() == taskstep::value::kind::floating) return std::get<double>(v.data) != std::get<double>(v.data);
  if (v.is_sequence())
    for (const auto& e : v.as_sequence())
      if (has_nan(e)) return true;
  if (v.is_mapping())
    for (const auto& e : v.as_mapping())
      if (has_nan(e.key) || has_nan(e.val)) return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace taskstep;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // yaml::parse_task_config(text) is parse(text, strict) + decode + validate: the strict tree parsed here
  // is decoded and validated the same way instead of parsing the text a third time (libyaml's
  // parser set-up alone, ~64 KiB of buffers, was a fifth of the time under ASan).
  std::optional<value> strict_tree;
  for (bool strict : {true, false}) {
    auto tree = yaml::parse(text, strict);
    if (tree) {
      (void)to_json(*tree);
      (void)go_sharp_v(*tree);
      // A copy equals its original (NaN aside).
      value copy = *tree;
      if (!has_nan(*tree) && !(copy == *tree)) __builtin_trap();
      if (strict) strict_tree = std::move(copy);
    }
  }
  if (!strict_tree) return 0;
  auto config = yaml::decode_task_config(std::move(*strict_tree));
  if (!config || !validate(*config)) return 0;
  (void)yaml::to_json(*config);
  (void)yaml::to_yaml_tree(*config);
  if (auto input = yaml::to_interpolation_tree(*config)) {
    auto again = yaml::decode_task_config(yaml::after_interpolation(std::move(*input)));
    if (again) (void)validate(*again);
  }
  return 0;
}
