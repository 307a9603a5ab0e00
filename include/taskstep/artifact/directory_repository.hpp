#pragma once
//! \file
//! `directory_repository`: artifacts that are directories on this host (name → path). Models
//! `artifact_reader`; reading refuses paths that leave the artifact's directory.

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "taskstep/core/artifact.hpp"

namespace taskstep::artifact {

//! A build's artifacts as host directories.
class directory_repository {
 public:
  //! Registers (or replaces) artifact `name` at `dir`.
  void add(std::string name, std::filesystem::path dir) { dirs_[std::move(name)] = std::move(dir); }

  [[nodiscard]] bool contains(std::string_view name) const { return dirs_.count(std::string(name)) != 0; }

  [[nodiscard]] const std::filesystem::path* find(std::string_view name) const {
    auto it = dirs_.find(std::string(name));
    return it == dirs_.end() ? nullptr : &it->second;
  }

  [[nodiscard]] const std::map<std::string, std::filesystem::path>& artifacts() const noexcept { return dirs_; }

  [[nodiscard]] result<std::string> read_file(std::string_view name, std::string_view path) const {
    namespace fs = std::filesystem;
    const fs::path* dir = find(name);
    if (dir == nullptr) return fail(errc::unknown_artifact, "unknown artifact '" + std::string(name) + "'");
    std::error_code ec;
    const fs::path root = fs::weakly_canonical(*dir, ec);
    const fs::path file = fs::weakly_canonical(*dir / fs::path(path).relative_path(), ec);
    auto rel = file.lexically_relative(root);
    if (ec || rel.empty() || *rel.begin() == "..")
      return fail(errc::config_not_found, "file not found: " + std::string(path));
    if (!fs::is_regular_file(file, ec)) return fail(errc::config_not_found, "file not found: " + std::string(path));
    std::ifstream in(file, std::ios::binary);
    if (!in) return fail(errc::io, "could not read " + file.string());
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }

 private:
  std::map<std::string, std::filesystem::path> dirs_;
};

static_assert(artifact_reader<directory_repository>);

}  // namespace taskstep::artifact
