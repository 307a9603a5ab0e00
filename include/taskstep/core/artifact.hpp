#pragma once
//! \file
//! The artifact repository contract: the build's name → artifact map that task files, inputs and
//! image artifacts are read from (Concourse's `build.Repository`).

#include <concepts>
#include <string>
#include <string_view>

#include "taskstep/core/result.hpp"

namespace taskstep {

//! Something that holds named artifacts and can read a file out of one.
//! `read_file` fails with `errc::config_not_found` when the file does not exist (the text of other
//! failures is shown to the user as is).
template <class R>
concept artifact_reader = requires(const R& r, std::string_view name, std::string_view path) {
  { r.contains(name) } -> std::same_as<bool>;
  { r.read_file(name, path) } -> std::same_as<result<std::string>>;
};

}  // namespace taskstep
