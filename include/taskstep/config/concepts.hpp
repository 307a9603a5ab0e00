#pragma once
//! \file
//! The `config_source` concept: where a task step's config comes from (Concourse's
//! `exec.TaskConfigSource`). Sources compose as decorators around an inner source, e.g.
//! `validating<interpolate<override_params<file_source<R>>, V>>`, or with the pipe form
//! `file_source{...} | override_params(p) | interpolate(vars) | validating()`.

#include <concepts>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "taskstep/core/result.hpp"
#include "taskstep/core/task_config.hpp"

namespace taskstep::config {

//! A policy that produces a task config and the warnings met on the way.
template <class S>
concept config_source = requires(S& s, const S& cs) {
  { s.fetch() } -> std::same_as<result<task_config>>;
  { cs.warnings() } -> std::convertible_to<std::vector<std::string>>;
};

//! The sentence every entry point taking a config source asserts (`static_assert` takes a literal only).
#define TASKSTEP_CONFIG_SOURCE_MESSAGE                                                                 \
  "taskstep: S is not a config_source: it needs fetch() -> result<task_config> and warnings() const " \
  "-> std::vector<std::string>"

//! `source | adaptor` builds `adaptor(source)`: the decorator type wrapping the source. The library's
//! adaptors accept any type and assert `config_source` on it, so a source missing a member is named
//! in one sentence rather than as "no match for operator|".
template <class S, class Adaptor>
  requires std::invocable<Adaptor, S>
auto operator|(S source, Adaptor adaptor) {
  static_assert(config_source<S>, TASKSTEP_CONFIG_SOURCE_MESSAGE);
  static_assert(config_source<std::invoke_result_t<Adaptor, S>>,
                "taskstep: a config adaptor must return a config_source (the decorator wrapping the source)");
  return std::move(adaptor)(std::move(source));
}

}  // namespace taskstep::config
