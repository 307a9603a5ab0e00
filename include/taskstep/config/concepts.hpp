#pragma once
//! \file
//! The `config_source` concept: where a task step's config comes from (Concourse's
//! `exec.TaskConfigSource`). Sources compose as decorators around an inner source, e.g.
//! `validating<interpolate<override_params<file_source<R>>, V>>`, or with the pipe form
//! `file_source{...} | override_params(p) | interpolate(vars) | validating()`.

#include <concepts>
#include <string>
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

//! `source | adaptor` builds `adaptor(source)`: the decorator type wrapping the source.
template <config_source S, class Adaptor>
  requires requires(Adaptor a, S s) { { std::move(a)(std::move(s)) } -> config_source; }
auto operator|(S source, Adaptor adaptor) {
  return std::move(adaptor)(std::move(source));
}

}  // namespace taskstep::config
