#pragma once
//! \file
//! `file_source`: a task file inside an artifact, `artifact-name/path/in/artifact.yml`
//! (Concourse's `FileConfigSource`), read through an `artifact_reader`, decoded and validated.

#include <string>
#include <utility>
#include <vector>

#include "taskstep/config/concepts.hpp"
#include "taskstep/core/artifact.hpp"
#include "taskstep/yaml/decode.hpp"

namespace taskstep::config {

//! Reads `path` from the repository. Errors, in Concourse's words:
//! `config path 'x.yml' does not specify where the file lives`,
//! `unknown artifact source: 'a' in task config file path 'a/t.yml'`, `task config 'a/t.yml' not found`,
//! `failed to create task config from bytes a/t.yml: \<decode or validation error>`.
template <class Repository, class D = dialect::concourse_6_7>
class file_source {
  static_assert(artifact_reader<Repository>, TASKSTEP_ARTIFACT_READER_MESSAGE);

 public:
  file_source(std::string path, const Repository& repository)
      : path_(std::move(path)), repository_(&repository) {}

  result<task_config> fetch() {
    const auto slash = path_.find('/');
    if (slash == std::string::npos)
      return fail(errc::config_path, "config path '" + path_ + "' does not specify where the file lives");
    const std::string artifact = path_.substr(0, slash);
    const std::string file = path_.substr(slash + 1);
    if (!repository_->contains(artifact))
      return fail(errc::unknown_artifact,
                  "unknown artifact source: '" + artifact + "' in task config file path '" + path_ + "'");
    auto bytes = repository_->read_file(artifact, file);
    if (!bytes) {
      if (bytes.error().code() == errc::config_not_found)
        return fail(errc::config_not_found, "task config '" + artifact + "/" + file + "' not found");
      return fail(bytes.error());
    }
    auto config = yaml::parse_task_config<D>(*bytes);
    if (!config) return fail(config.error().prefixed("failed to create task config from bytes " + path_ + ": "));
    return config;
  }
  [[nodiscard]] std::vector<std::string> warnings() const { return {}; }

 private:
  std::string path_;
  const Repository* repository_;
};

}  // namespace taskstep::config
