#pragma once
//! \file
//! An image artifact's `metadata.json` (`{"env": ["K=V", ...], "user": "name"}`; other keys ignored),
//! as Concourse reads it. Invalid JSON is `malformed image metadata: <error>`.

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "taskstep/core/result.hpp"
#include "taskstep/yaml/parse.hpp"

namespace taskstep::image {

//! What an image contributes to the container.
struct image_metadata {
  std::vector<std::string> env;
  std::string user;
};

//! Reads `<dir>/metadata.json`; a missing file gives empty metadata.
inline result<image_metadata> read_metadata(const std::filesystem::path& dir) {
  image_metadata out;
  std::ifstream in(dir / "metadata.json", std::ios::binary);
  if (!in) return out;
  std::ostringstream ss;
  ss << in.rdbuf();
  auto tree = yaml::parse(ss.str(), false);  // JSON is YAML; libyaml reads it
  if (!tree) return fail(errc::worker, fmt::format("malformed image metadata: {}", tree.error().message()));
  if (tree->is_null()) return out;
  if (!tree->is_mapping()) return fail(errc::worker, "malformed image metadata: not a JSON object");
  if (const value* env = tree->find(value("env")); env && env->is_sequence())
    for (const auto& e : env->as_sequence())
      if (e.is_string()) out.env.push_back(e.as_string());
  if (const value* user = tree->find(value("user")); user && user->is_string()) out.user = user->as_string();
  return out;
}

}  // namespace taskstep::image
