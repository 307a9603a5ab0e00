#pragma once
//! \file
//! The artifact repository contract: the build's name → artifact map that task files, inputs and
//! image artifacts are read from (Concourse's `build.Repository`).

#include <concepts>
#include <filesystem>
#include <string>
#include <string_view>

#include "taskstep/core/result.hpp"

namespace taskstep {

//! Reads a build's artifacts: where the artifact `name` lives (`find`, null when the build has none),
//! whether it exists, and a file out of it. `read_file` fails with `errc::config_not_found` when the
//! file does not exist (the text of other failures is shown to the user as is). Image resolvers and
//! `config::file_source` read through it.
template <class R>
concept artifact_reader = requires(const R& r, std::string_view name, std::string_view path) {
  { r.find(name) } -> std::convertible_to<const std::filesystem::path*>;
  { r.contains(name) } -> std::same_as<bool>;
  { r.read_file(name, path) } -> std::same_as<result<std::string>>;
};

//! An `artifact_reader` that also registers artifacts: `add(name, dir)` (a step's outputs). What
//! `basic_task_step::run` takes (e.g. `artifact::directory_repository`).
template <class R>
concept artifact_repository = artifact_reader<R> && requires(R& r, std::string name, std::filesystem::path dir) {
  r.add(std::move(name), std::move(dir));
};

//! The sentences entry points assert (`static_assert` takes a literal only).
#define TASKSTEP_ARTIFACT_READER_MESSAGE                                                                   \
  "taskstep: R is not an artifact_reader: it needs find(std::string_view) const -> const std::filesystem::path*, " \
  "contains(std::string_view) const -> bool and read_file(std::string_view name, std::string_view path) const "    \
  "-> result<std::string>"
#define TASKSTEP_ARTIFACT_REPOSITORY_MESSAGE                                                             \
  "taskstep: Artifacts is not an artifact_repository: it needs an artifact_reader's find, contains and "  \
  "read_file, and add(std::string name, std::filesystem::path dir)"

namespace detail {
//! The artifacts concepts check image resolvers against: a type the library never hands out, with
//! exactly what `artifact_repository` promises.
struct archetype_artifacts {
  archetype_artifacts() = delete;
  archetype_artifacts(const archetype_artifacts&) = delete;
  archetype_artifacts& operator=(const archetype_artifacts&) = delete;
  ~archetype_artifacts() = delete;
  [[nodiscard]] const std::filesystem::path* find(std::string_view) const { return nullptr; }
  [[nodiscard]] bool contains(std::string_view) const { return false; }
  [[nodiscard]] result<std::string> read_file(std::string_view, std::string_view) const { return std::string(); }
  void add(std::string, std::filesystem::path) {}
};
static_assert(artifact_repository<archetype_artifacts>);
}  // namespace detail

}  // namespace taskstep
